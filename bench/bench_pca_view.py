"""PCA scene: what a live drag costs on the UI thread, and the analysis against scikit-learn.

1. Dragging *Components kept* on digits (1797 x 64): each value k = 1 … 64 in turn, the time of
   ``view.set_params`` + ``view.show(frame)`` (8 reconstructions, the atlas image, the scree and error
   markers) + ``viewport().repaint()`` in a shown 1280 x 800 widget.
2. Dragging your own axis on a 2,000-point 2-D cloud: 90 angles, the same three calls.
3. Turning the 3-D view of a 2,000-point cloud: 90 azimuths.
4. The analysis of each data set (the Simulation's covariance + eigh) against
   ``sklearn.decomposition.PCA(svd_solver="full").fit`` on the same standardised data.
   Ratio = ours / scikit-learn (< 1: faster).

Run: python bench/bench_pca_view.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the app (explorer/__init__.py), before NumPy loads

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from scenes.pca import SCENE  # noqa: E402
from scenes.pca import sim as pca_sim  # noqa: E402

WIDTH, HEIGHT = 1280, 800


def drag_times(values: dict, name: str, sweep) -> list[tuple[float, float]]:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    params = SCENE.resolve(values)
    simulation = SCENE.simulation(params, 0)
    while not simulation.done:
        simulation.step()
    frame = simulation.frame()
    view = SCENE.view_class()(SCENE, params)
    view.widget.resize(WIDTH, HEIGHT)
    view.widget.show()
    view.show(frame)
    app.processEvents()
    times = []
    for value in sweep:
        params = dict(params, **{name: value})
        start = time.perf_counter()
        view.set_params(params)
        view.show(frame)
        shown = time.perf_counter()
        view.widget.viewport().repaint()
        times.append((shown - start, time.perf_counter() - shown))
    view.close()
    return times


def analysis_ratio(dataset: str, repeats: int = 20) -> tuple[float, float]:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    x = pca_sim.generate(SCENE.resolve({"dataset": dataset}))[0]

    def ours():
        mean, scale = pca_sim.scaling(x, True)
        pca_sim.principal_components(pca_sim.covariance((x - mean) / scale))

    def theirs():
        PCA(svd_solver="full").fit(StandardScaler().fit_transform(x))

    best = {}
    for label, function in (("ours", ours), ("sklearn", theirs)):
        function()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
        best[label] = min(samples)
    return best["ours"], best["sklearn"]


def main() -> None:
    rows = [
        ("digits: Components kept 1…64", drag_times({"dataset": "digits"}, "components", range(1, 65))),
        ("2-D cloud, 2,000 points: your axis", drag_times({"dataset": "cloud_2d", "n_samples": 2000}, "axis_angle",
                                                          np.linspace(-89, 89, 90))),
        ("3-D cloud, 2,000 points: azimuth", drag_times({"dataset": "cloud_3d", "n_samples": 2000}, "azimuth",
                                                        np.linspace(-179, 179, 90))),
    ]
    print(f"{'live drag':36} {'show ms':>8} {'repaint ms':>11} {'total ms':>9} {'max ms':>7}  (medians)")
    for label, times in rows:
        total = [a + b for a, b in times]
        print(f"{label:36} {1000 * statistics.median(a for a, _ in times):8.2f} "
              f"{1000 * statistics.median(b for _, b in times):11.2f} {1000 * statistics.median(total):9.2f} "
              f"{1000 * max(total):7.2f}")
    print()
    print(f"{'analysis (standardised)':24} {'ours ms':>8} {'sklearn ms':>11} {'ratio':>6}")
    for dataset in ("iris", "wine", "breast_cancer", "digits"):
        ours, theirs = analysis_ratio(dataset)
        print(f"{dataset:24} {1000 * ours:8.3f} {1000 * theirs:11.3f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
