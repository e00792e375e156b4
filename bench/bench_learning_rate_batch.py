"""Mini-batch updates per second with four runs drawing (view.show every frame, offscreen).

Run: python bench/bench_learning_rate_batch.py
"""
from __future__ import annotations

import os
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
    ("linear, n=5000, epoch", {"model": "linear", "n_samples": 5000}, True, 5),
    ("logistic, n=5000, epoch", {"model": "logistic", "n_samples": 5000}, True, 5),
]


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    print(f"{'case':28} {'frames/s':>9} {'ms/frame':>9} {'sim ms':>7} {'show ms':>8} {'updates/s':>10}")
    for name, values, coarse, frames in CASES:
        session = Session(SCENE, values, seed=0)
        view = SCENE.view_class()(SCENE, session.params)
        view.widget.resize(1280, 800)
        view.widget.show()
        view.apply_prepared(view.prepare(session.params, session.seed))
        app.processEvents()
        sim_time = show_time = 0.0
        start_updates = int(session.frame.data["updates"].sum())
        for _ in range(frames):
            t0 = time.perf_counter()
            frame = session.forward(coarse=coarse)
            t1 = time.perf_counter()
            view.show(frame)
            app.processEvents()  # includes the repaint
            show_time += time.perf_counter() - t1
            sim_time += t1 - t0
        total = sim_time + show_time
        updates = int(session.frame.data["updates"].sum()) - start_updates
        print(f"{name:28} {frames / total:9.1f} {1e3 * total / frames:9.2f} {1e3 * sim_time / frames:7.2f} "
              f"{1e3 * show_time / frames:8.2f} {updates / total:10.0f}")
        view.close()
        app.processEvents()


if __name__ == "__main__":
    main()
