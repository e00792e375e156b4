"""K-Means scene: frames per second of one half-step + the view's redraw + its real repaint, at
10,000 points, against matplotlib drawing the same points (scatter) and Voronoi shading (imshow).

One frame = what one playback tick does at one half-step per frame: ``session.forward()`` (an assign
or an update on 10,000 points), ``view.show(frame)`` (points per cluster when the labels changed,
the GRID² Voronoi image of the centroids, centroids, arrows, the inertia curve, the silhouette plot
of a 300-point subsample after an assign), then ``viewport().repaint()`` (a synchronous paint of the
whole view, in a shown 1280 x 800 widget). A run that converges starts again (restart, not timed).

Peer: matplotlib (Agg) at the same pixel size: the same half-step, then the same Voronoi labels as
an ``imshow`` image and the points as one ``scatter`` coloured by label (``set_array`` /
``set_offsets``), ``canvas.draw()``. Ratio = ours / matplotlib (< 1: faster).

Run: python bench/bench_kmeans_view.py [frames]
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from explorer.session import Session  # noqa: E402
from scenes.kmeans import SCENE  # noqa: E402
from scenes.kmeans import view as km_view  # noqa: E402

WIDTH, HEIGHT = 1280, 800
FRAMES = int(sys.argv[1]) if len(sys.argv) > 1 else 200
CASES = [  # name, parameters
    ("10,000 points, k = 8, blobs", {"n_samples": 10000, "true_clusters": 8, "k": 8, "cluster_std": 1.5}),
    ("10,000 points, k = 12, uniform", {"n_samples": 10000, "dataset": "uniform", "k": 12}),
    ("500 points, k = 3 (default)", {}),
]


def _params(values: dict) -> dict:
    return SCENE.resolve({"max_iter": 300, "init": "random_points", **values})


def _forward(session: Session):
    if session.done:
        session.restart()
    return session.forward()


def view_frames(values: dict) -> dict[str, list[float]]:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    session = Session(SCENE, _params(values))
    view = SCENE.view_class()(SCENE, session.params)
    view.widget.resize(WIDTH, HEIGHT)
    view.widget.show()
    view.set_params(session.params)
    view.apply_prepared(view.prepare(session.params, session.seed))
    view.cache_axes()
    view.show(session.frame)
    app.processEvents()
    step, show, paint, total = [], [], [], []
    for _ in range(FRAMES):
        if session.done:
            session.restart()
        t0 = time.perf_counter()
        frame = session.forward()
        t1 = time.perf_counter()
        view.show(frame)
        t2 = time.perf_counter()
        view.widget.viewport().repaint()
        t3 = time.perf_counter()
        step.append(1e3 * (t1 - t0))
        show.append(1e3 * (t2 - t1))
        paint.append(1e3 * (t3 - t2))
        total.append(1e3 * (t3 - t0))
    view.close()
    app.processEvents()
    return {"half-step": step, "show": show, "paint": paint, "total": total}


def matplotlib_frames(values: dict) -> list[float] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    session = Session(SCENE, _params(values))
    points = np.asarray(session.frame.data["points"])
    extent = km_view.extent_of(points)
    grid = km_view.grid_points(extent)
    grid_sq = (grid * grid).sum(axis=1)
    figure, axes = plt.subplots(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    x0, y0, w, h = extent
    image = axes.imshow(np.zeros((km_view.GRID, km_view.GRID)), extent=(x0, x0 + w, y0, y0 + h), origin="lower",
                        cmap="tab20", vmin=0, vmax=19, interpolation="nearest", alpha=0.3)
    scatter = axes.scatter(points[:, 0], points[:, 1], c=np.zeros(len(points)), s=4, cmap="tab20", vmin=0, vmax=19)
    times = []
    for _ in range(FRAMES):
        if session.done:
            session.restart()
        t0 = time.perf_counter()
        frame = session.forward()
        centroids = np.asarray(frame.data["centroids"])
        image.set_data(km_view.nearest_centroid(grid, grid_sq, centroids).reshape(km_view.GRID, km_view.GRID))
        scatter.set_offsets(frame.data["points"])
        scatter.set_array(np.asarray(frame.data["labels"], dtype=float))
        figure.canvas.draw()
        times.append(1e3 * (time.perf_counter() - t0))
    plt.close(figure)
    return times


def main() -> None:
    print(f"K-Means view: {FRAMES} frames per case, view {WIDTH} x {HEIGHT} (median ms; fps = 1000 / median total)")
    print(f"{'case':34} {'half-step':>9} {'show':>7} {'paint':>7} {'total':>7} {'fps':>6} {'matplotlib':>10} {'ratio':>6}")
    for name, values in CASES:
        ours = view_frames(values)
        peer = matplotlib_frames(values)
        med = {key: statistics.median(v) for key, v in ours.items()}
        peer_med = statistics.median(peer) if peer else float("nan")
        print(f"{name:34} {med['half-step']:9.2f} {med['show']:7.2f} {med['paint']:7.2f} {med['total']:7.2f} "
              f"{1000 / med['total']:6.1f} {peer_med:10.2f} {med['total'] / peer_med:6.2f}")
        worst = sorted(ours["total"])[int(0.95 * (len(ours["total"]) - 1))]
        print(f"{'':34} 95th percentile total {worst:.2f} ms")


if __name__ == "__main__":
    main()
