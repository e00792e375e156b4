"""Frame cost with four runs drawing at 1280x800, measured the way the window does it: one
step (or epoch), one ``view.show(frame)``, then one repaint (processEvents). Medians, since this
2-core machine is shared and single frames are noisy.

Run: python bench/bench_learning_rate_batch.py [repeats]
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets  # noqa: E402

from explorer.session import Session  # noqa: E402
from scenes.learning_rate_batch import SCENE  # noqa: E402

CASES = [
    ("linear, n=200, step", {"model": "linear"}, False, 300),
    ("linear, n=5000, step", {"model": "linear", "n_samples": 5000}, False, 300),
    ("logistic, n=200, step", {"model": "logistic"}, False, 300),
    ("double well, n=200, step", {"model": "double_well", "init_w": -1.3}, False, 300),
    ("linear, n=5000, epoch", {"model": "linear", "n_samples": 5000}, True, 8),
    ("logistic, n=5000, epoch", {"model": "logistic", "n_samples": 5000}, True, 8),
]
SIZE = (1280, 800)


def run_case(app, values: dict, coarse: bool, frames: int) -> dict[str, float]:
    session = Session(SCENE, values, seed=0)
    view = SCENE.view_class()(SCENE, session.params)
    view.widget.resize(*SIZE)
    view.widget.show()
    if hasattr(view, "cache_axes"):
        view.cache_axes()  # as the window does after set_params
    view.apply_prepared(view.prepare(session.params, session.seed))
    view.show(session.frame)
    app.processEvents()
    sim, show, paint = [], [], []
    start_updates = int(session.frame.data["updates"].sum())
    elapsed = 0.0
    for _ in range(frames):
        t0 = time.perf_counter()
        frame = session.forward(coarse=coarse)
        t1 = time.perf_counter()
        view.show(frame)
        t2 = time.perf_counter()
        app.processEvents()  # the repaint
        t3 = time.perf_counter()
        sim.append(t1 - t0)
        show.append(t2 - t1)
        paint.append(t3 - t2)
        elapsed += t3 - t0
    updates = int(session.frame.data["updates"].sum()) - start_updates
    view.close()
    app.processEvents()
    total = [a + b + c for a, b, c in zip(sim, show, paint)]
    return {"frame": statistics.median(total), "sim": statistics.median(sim), "show": statistics.median(show),
            "paint": statistics.median(paint), "p90": sorted(total)[int(0.9 * (len(total) - 1))],
            "updates/s": updates / elapsed}


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    print(f"{SIZE[0]}x{SIZE[1]}, medians in ms over the frames (median of {repeats} repeat(s))")
    print(f"{'case':26} {'frame':>7} {'sim':>6} {'show':>6} {'paint':>6} {'p90':>6} {'fps':>6} {'updates/s':>10}")
    for name, values, coarse, frames in CASES:
        results = [run_case(app, values, coarse, frames) for _ in range(repeats)]
        row = {key: statistics.median(r[key] for r in results) for key in results[0]}
        print(f"{name:26} {1e3 * row['frame']:7.2f} {1e3 * row['sim']:6.2f} {1e3 * row['show']:6.2f} "
              f"{1e3 * row['paint']:6.2f} {1e3 * row['p90']:6.2f} {1 / row['frame']:6.1f} {row['updates/s']:10.0f}")


if __name__ == "__main__":
    main()
