"""Frame cost with four runs drawing at 1280x800, measured the way the window does it: one
step (or epoch), one ``view.show(frame)``, then one repaint (processEvents). Medians, since this
2-core machine is shared and single frames are noisy.

Second table: the work done off the UI thread when a structural parameter changes (building the
run, which includes the learning-rate range test, and the view's ``prepare``) at the slider
extremes, and the cost of a live learning-rate change (which must redo neither). Issue 16's case
(double well, 5,000 samples, 500 epochs) took 81 s to prepare before.

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
    ("double well, n=5000, epoch", {"model": "double_well", "init_w": -1.3, "n_samples": 5000}, True, 8),
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


EXTREMES = [
    (model, n, epochs, batches)
    for model in ("linear", "logistic", "double_well")
    for n in (50, 5000)
    for epochs in (1, 500)
    for batches in ((1, 8, 32, 5000), (5000, 2000, 1000, 500))
]


def bench_preparation() -> None:
    """Run build + prepare at the extremes (caches cleared: a first build), and a live change."""
    import scenes.learning_rate_batch.sim as sim_module

    view_class = SCENE.view_class()
    print("\nStructural work at the slider extremes (s, caches cleared) and a live learning-rate change (ms)")
    print(f"{'model':12} {'n':>5} {'epochs':>6} {'batches':22} {'build':>6} {'prepare':>8} {'live':>6}")
    worst_build = worst_prepare = worst_live = 0.0
    for model, n, epochs, batches in EXTREMES:
        values = {"model": model, "n_samples": n, "epochs": epochs, "learning_rate": 10.0,
                  **{f"run{i + 1}_batch_size": b for i, b in enumerate(batches)}}
        sim_module._range_test_cached.cache_clear()
        sim_module.cached_model.cache_clear()
        t0 = time.perf_counter()
        session = Session(SCENE, values, seed=0)
        t1 = time.perf_counter()
        view_class.prepare(session.params, session.seed)
        t2 = time.perf_counter()
        key = view_class.prepare_key(session.params, session.seed)
        session.set_params({"learning_rate": 1e-4})  # live: no new run
        assert view_class.prepare_key(session.params, session.seed) == key  # and nothing to re-prepare
        t3 = time.perf_counter()
        worst_build, worst_prepare, worst_live = max(worst_build, t1 - t0), max(worst_prepare, t2 - t1), \
            max(worst_live, t3 - t2)
        print(f"{model:12} {n:5} {epochs:6} {str(batches):22} {t1 - t0:6.2f} {t2 - t1:8.3f} {1e3 * (t3 - t2):6.2f}")
    print(f"worst: build {worst_build:.2f} s, prepare {worst_prepare:.3f} s, live change {1e3 * worst_live:.2f} ms")


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
    bench_preparation()
