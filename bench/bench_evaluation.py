"""Longest UI-thread stall of the evaluation scene's grid search: each playback tick runs one cell's
K-fold SVM fits (Simulation.step) and the view's redraw on the UI thread, so the longest step + show
is the longest stall. Also the threshold redraw (one drag event).

Run: QT_QPA_PLATFORM=offscreen python3 bench/bench_evaluation.py
"""
from __future__ import annotations

import time

import numpy as np


def run() -> dict[str, float]:
    from PySide6 import QtWidgets

    from explorer.export import build_view
    from explorer.session import Session
    from scenes.evaluation import SCENE

    QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    results = {}
    for grid_size, folds in ((5, 5), (8, 10)):
        params = SCENE.resolve({"lesson": "grid_search", "grid_size": grid_size, "k_folds": folds, "n_samples": 600})
        session = Session(SCENE, params, seed=0)
        view = build_view(session)
        stalls = []
        while not session.done:
            start = time.perf_counter()
            session.forward()
            view.show(session.frame)
            QtWidgets.QApplication.processEvents()
            stalls.append(time.perf_counter() - start)
        results[f"grid {grid_size}x{grid_size}, {folds}-fold, 300 points: longest stall ms"] = 1000 * max(stalls)
        results[f"grid {grid_size}x{grid_size}, {folds}-fold: median stall ms"] = 1000 * float(np.median(stalls))
        view.close()
    params = SCENE.resolve({"lesson": "threshold", "n_samples": 600})
    session = Session(SCENE, params, seed=0)
    view = build_view(session)
    times = []
    for t in np.linspace(0.05, 0.95, 50):
        start = time.perf_counter()
        view.set_params({**params, "threshold": float(t)})
        QtWidgets.QApplication.processEvents()
        times.append(time.perf_counter() - start)
    results["threshold redraw, 600 scores: longest ms"] = 1000 * max(times)
    results["threshold redraw, 600 scores: median ms"] = 1000 * float(np.median(times))
    view.close()
    return results


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:60s} {value:8.1f}")
