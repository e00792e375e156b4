"""The regularization scene's UI-thread costs and its worker job, per preset.

Per preset: one step (a resample: draw, fit, frame; or one epoch) and one ``Step ×10`` on the UI
thread, the view's ``show`` of that frame, and the ``prepare`` job (path, CV error curves, learning
curves) that runs in a worker. Also the worst corner: Lasso at degree 20 and alpha 1e-6 (coordinate
descent runs to its 2,000-iteration limit). Medians; prints a table.

    QT_QPA_PLATFORM=offscreen python bench/bench_regularization.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from scenes.regularization import SCENE  # noqa: E402


def median_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    from PySide6 import QtWidgets
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    cases = [(p.name, dict(p.values)) for p in SCENE.presets]
    cases.append(("Lasso, degree 20, alpha 1e-6", {"penalty": "lasso", "degree": 20, "alpha": 1e-6}))
    import sklearn.linear_model  # noqa: F401 - imported once, outside the timings
    print("| case | step ms | Step ×10 ms | show ms | prepare s |")
    print("|---|---|---|---|---|")
    for name, values in cases:
        params = SCENE.resolve(values)
        sim = SCENE.simulation(params, 0)
        step = median_ms(sim.step, 15)
        coarse = median_ms(lambda: sim.step(coarse=True), 5)
        sim = SCENE.simulation(params, 0)
        frames = [sim.step() for _ in range(20)]
        view = SCENE.view_class()(SCENE, params)
        view.widget.resize(1280, 800)
        view.widget.show()
        start = time.perf_counter()
        prepared = view.prepare(params, 0)
        prepare_s = time.perf_counter() - start
        view.apply_prepared(prepared)
        index = iter(range(10 ** 9))
        show = median_ms(lambda: view.show(frames[next(index) % len(frames)]), 20)
        app.processEvents()
        view.close()
        print(f"| {name} | {step:.2f} | {coarse:.1f} | {show:.2f} | {prepare_s:.2f} |")


if __name__ == "__main__":
    main()
