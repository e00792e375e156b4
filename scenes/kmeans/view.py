"""pyqtgraph view of the K-Means scene: the points coloured by cluster over the Voronoi regions of the
current centroids, the centroids (drag one to move it; with manual init a click places one), arrows
old → new on update frames, D² pick probabilities on k-means++ init frames, responsibilities and 2σ
ellipses for the Gaussian mixture; side plots: inertia per iteration, the elbow (inertia vs k),
mean silhouette vs k and the silhouette plot of the current clustering.

The Voronoi shading is one uint8 RGBA ImageItem: the nearest centroid of every cell of a GRID² grid
over the shown square (exact float32 differences, colours by table lookup in NumPy; the Gaussian
mixture: each cell's most likely component). Mini-batch: the iteration's batch points are ringed. Up to
DENSE_POINTS points are one ScatterPlotItem per cluster (one brush each), redrawn only when the labels
change; above it (3-px dots) they are splatted in NumPy into one RGBA image at the plot's own pixel
resolution (``splat_points``): 12 scatters of 10,000 points cost 8-13 ms a frame to update and repaint. Elbow and
silhouette vs k come from ``prepare`` (a worker, scenes.kmeans.analysis); the silhouette plot of
the shown clustering is computed here on a fixed subsample of SILHOUETTE_SAMPLE points (~1-3 ms).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import datasets
from explorer.jobs import JobRunner
from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, ToolStrip, UniformScatter, cache_static, corner_text, nice_ceiling, \
    place_cells, same_values, square_main_plot

#: Voronoi grid cells per side, over the square the main plot shows (the data's and beside it).
GRID = 256
#: Most clusters (the k parameter's maximum).
MAX_K = 12
#: Above this many points the points are one image drawn in NumPy (``splat_points``), not scatters.
DENSE_POINTS = 3000
#: Points of the current clustering's silhouette plot (a fixed random subsample above it).
SILHOUETTE_SAMPLE = 300
#: Strength of a Voronoi region's colour (share of the cluster colour; the points are full strength).
REGION_STRENGTH = 0.22
#: Centroid marker size and the press distance that picks one up (pixels).
CENTROID_SIZE = 18
PICK_PIXELS = 14
#: Below this view width x height ratio the four side plots go in a row under the main plot.
TALL_RATIO = 1.05
TITLE_SIZE = "9pt"
#: Cluster colours beyond the eight of theme.CLASS_COLORS (k goes to 12): Paul Tol's muted set.
EXTRA_COLORS = ("#882255", "#44AA99", "#999933", "#AA4499")
UNASSIGNED = "#9a9a9a"
PHASE_NAMES = {"init_pick": "init pick", "assign": "assign", "update": "update", "e_step": "E-step",
               "m_step": "M-step", "init": "init", "done": "converged"}


def cluster_color(index: int) -> str:
    colors = tuple(theme.CLASS_COLORS) + EXTRA_COLORS
    return colors[int(index) % len(colors)]


def _rgb(color: str) -> np.ndarray:
    c = QtGui.QColor(color)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float32)


CLUSTER_RGB = np.stack([_rgb(cluster_color(i)) for i in range(MAX_K)])


def _region_table() -> np.ndarray:
    table = np.empty((MAX_K + 1, 4), dtype=np.uint8)
    table[:MAX_K, :3] = np.round(255.0 - (255.0 - CLUSTER_RGB) * REGION_STRENGTH)
    table[:, 3] = 255
    table[MAX_K, :3] = 255  # no centroid: white
    table.flags.writeable = False
    return table


#: Voronoi region colours by cluster (row MAX_K: white, no centroid).
REGION_RGBA = _region_table()


# -- pure NumPy -----------------------------------------------------------------------------------------
def extent_of(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, width, height) of a square around the points with a 8 % margin (the unit square
    around the origin when there are none)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if not len(points):
        return (-1.0, -1.0, 2.0, 2.0)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    side = float(max(high - low)) * 1.16
    if not side > 0:
        side = 2.0
    return (float(centre[0] - side / 2), float(centre[1] - side / 2), side, side)


def grid_points(extent: tuple[float, float, float, float], n: int = GRID) -> np.ndarray:
    """(n², 2) float32 cell centres of the extent, row-major, row 0 at the bottom."""
    x0, y0, w, h = extent
    xs = x0 + (np.arange(n) + 0.5) * (w / n)
    ys = y0 + (np.arange(n) + 0.5) * (h / n)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)


def nearest_centroid(grid: np.ndarray, grid_sq: np.ndarray | None, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid of every grid point (the first of equals), by exact float32
    differences one centroid at a time (0.6 ms for 220² cells and 8 centroids; the GEMM form took 1.4).
    ``grid_sq`` is unused (kept for callers that pass it)."""
    c = np.asarray(centroids, dtype=np.float32).reshape(-1, 2)
    gx, gy = grid[:, 0], grid[:, 1]
    best = np.zeros(len(grid), dtype=np.intp)
    if not len(c):
        return best
    low = (gx - c[0, 0]) ** 2
    low += (gy - c[0, 1]) ** 2
    d = np.empty_like(low)
    for j in range(1, len(c)):
        np.subtract(gx, c[j, 0], out=d)
        np.square(d, out=d)
        e = (gy - c[j, 1]) ** 2
        d += e
        closer = d < low
        np.copyto(low, d, where=closer)
        best[closer] = j
    return best


def voronoi_rgba(grid: np.ndarray, grid_sq: np.ndarray, centroids: np.ndarray, n: int = GRID) -> np.ndarray:
    """(n, n, 4) uint8: each cell in the light colour of its nearest centroid (white without any)."""
    c = np.asarray(centroids, dtype=float).reshape(-1, 2)
    good = np.isfinite(c).all(axis=1)
    if not good.any():
        return np.full((n, n, 4), 255, dtype=np.uint8)
    index = np.flatnonzero(good)[nearest_centroid(grid, grid_sq, c[good])]
    return REGION_RGBA[np.minimum(index, MAX_K - 1)].reshape(n, n, 4)


def pack_rgba(rgb: np.ndarray, alpha: int = 255) -> np.ndarray:
    """(n, 3) colours 0..255 -> (n,) uint32 RGBA words (R in the lowest byte: the bytes of an RGBA image)."""
    c = np.clip(np.rint(np.asarray(rgb, dtype=np.float32)), 0, 255).astype(np.uint32).reshape(-1, 3)
    return c[:, 0] | (c[:, 1] << 8) | (c[:, 2] << 16) | (np.uint32(alpha) << 24)


#: Dot colours by cluster as RGBA words (row MAX_K: unassigned grey).
CLUSTER_WORDS = pack_rgba(np.vstack([CLUSTER_RGB, _rgb(UNASSIGNED)]))


def splat_points(points: np.ndarray, words: np.ndarray, rect: tuple[float, float, float, float],
                 resolution: int, radius: int = 1) -> np.ndarray:
    """(resolution, resolution, 4) uint8 RGBA: each point a (2 radius + 1)-pixel square in its colour word
    over transparency, later points over earlier; row 0 at the bottom of ``rect`` (x0, y0, w, h)."""
    n = int(resolution)
    image = np.zeros(n * n, dtype=np.uint32)
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    words = np.asarray(words, dtype=np.uint32).reshape(-1)
    x0, y0, w, h = rect
    if len(points) and w > 0 and h > 0:
        with np.errstate(invalid="ignore"):
            col = np.floor((points[:, 0] - x0) * (n / w))
            row = np.floor((points[:, 1] - y0) * (n / h))
        good = np.isfinite(col) & np.isfinite(row)
        col, row, words = col[good].astype(np.int64), row[good].astype(np.int64), words[good]
        offsets = np.arange(-radius, radius + 1)
        r, c = np.broadcast_arrays(row[:, None, None] + offsets[None, :, None],
                                   col[:, None, None] + offsets[None, None, :])
        r, c = r.reshape(len(row), -1), c.reshape(len(col), -1)
        inside = (r >= 0) & (r < n) & (c >= 0) & (c < n)
        # Point-major order: a later point's pixels are written after an earlier one's (the last wins).
        image[(r * n + c)[inside]] = np.broadcast_to(words[:, None], r.shape)[inside]
    return image.view(np.uint8).reshape(n, n, 4)


def blend_rgb(responsibilities: np.ndarray, k: int) -> np.ndarray:
    """(n, 3) float colours: each point's cluster colours weighted by its responsibilities (grey without any)."""
    r = np.nan_to_num(np.asarray(responsibilities, dtype=np.float32))
    kk = min(r.shape[1], k)
    total = r[:, :kk].sum(axis=1, keepdims=True)
    rgb = (r[:, :kk] @ CLUSTER_RGB[:kk]) / np.where(total > 0, total, 1)
    return np.where(total > 0, rgb, _rgb(UNASSIGNED))


def steady_range(shown: tuple[float, float] | None, low: float, high: float,
                 slack: float = 0.3) -> tuple[float, float]:
    """The y range for data from ``low`` to ``high``: the ``shown`` one while it holds them and they fill
    at least 1 - ``slack`` of it, else a new one padded by ``slack`` / 4 a side. A range that moves
    every frame makes pyqtgraph redraw the axis (2-5 ms) every frame."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return shown if shown is not None else (0.0, 1.0)
    if high < low:
        low, high = high, low
    if shown is not None:
        bottom, top = shown
        if bottom <= low and high <= top and (high - low) >= (1 - slack) * (top - bottom):
            return shown
    span = high - low if high > low else max(abs(high) * 0.1, 1e-12 if high else 1.0)
    pad = span * slack / 4
    return (low - pad, high + pad)


def gmm_regions(grid: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """Index of the most likely component of every grid point: argmax of log w_j + log N(g | mean_j, cov_j)
    (closed-form 2 x 2 inverse); -1 where no component is usable."""
    w = np.asarray(weights, float).reshape(-1)
    m = np.asarray(means, float).reshape(-1, 2)
    cov = np.asarray(covariances, float).reshape(-1, 2, 2)
    a, b, d = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
    det = a * d - b * b
    usable = np.isfinite(det) & (det > 0) & (w > 0) & np.isfinite(m).all(axis=1)
    if not usable.any() or not (len(w) == len(m) == len(cov)):
        return np.full(len(grid), -1, dtype=np.intp)
    dx = grid[:, 0:1] - m[None, usable, 0].astype(np.float32)
    dy = grid[:, 1:2] - m[None, usable, 1].astype(np.float32)
    au, bu, du = (v[usable].astype(np.float32) for v in (a, b, d))
    score = (du * dx * dx - 2 * bu * dx * dy + au * dy * dy) / det[usable].astype(np.float32)
    score = np.float32(-0.5) * (score + np.log(det[usable]).astype(np.float32)) + np.log(w[usable]).astype(np.float32)
    return np.flatnonzero(usable)[np.argmax(score, axis=1)]


def ellipse_lines(means: np.ndarray, covariances: np.ndarray, sigmas: float = 2.0,
                  segments: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The ``sigmas``-σ ellipses of 2-D Gaussians as one x, y polyline with NaN breaks."""
    t = np.linspace(0, 2 * np.pi, segments + 1)
    circle = np.stack([np.cos(t), np.sin(t)])
    xs, ys = [], []
    for mean, cov in zip(np.asarray(means, float).reshape(-1, 2), np.asarray(covariances, float).reshape(-1, 2, 2)):
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            continue
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        shape = vectors @ np.diag(sigmas * np.sqrt(np.maximum(values, 0)))
        curve = mean[:, None] + shape @ circle
        xs += [curve[0], [np.nan]]
        ys += [curve[1], [np.nan]]
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def arrow_lines(start: np.ndarray, end: np.ndarray, head: float) -> np.ndarray:
    """Segments (pairs of rows) of arrows start → end, each with a two-stroke head of length ``head``;
    arrows shorter than a tenth of the head are left out."""
    start = np.asarray(start, float).reshape(-1, 2)
    end = np.asarray(end, float).reshape(-1, 2)
    segments = []
    for a, b in zip(start, end):
        d = b - a
        length = float(np.hypot(*d))
        if not (np.isfinite(length) and length > head * 0.1):
            continue
        u = d / length
        h = min(head, 0.6 * length)
        for angle in (0.45, -0.45):
            rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
            segments += [b, b - h * (rot @ u)]
        segments += [a, b]
    return np.array(segments).reshape(-1, 2)


def silhouette_bars(values: np.ndarray, labels: np.ndarray, gap: int = 3) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The silhouette plot's bars: per cluster present (cluster, y positions, values sorted high to
    low), clusters stacked from the bottom with ``gap`` empty rows between them."""
    bars = []
    y = 0
    for cluster in np.unique(labels):
        if cluster < 0:
            continue
        mine = np.sort(values[labels == cluster])[::-1]
        bars.append((int(cluster), y + np.arange(len(mine), dtype=float), mine))
        y += len(mine) + gap
    return bars


def bars_path(rows: np.ndarray, values: np.ndarray) -> QtGui.QPainterPath:
    """One closed outline of horizontal bars from x = 0 to each value, row i spanning [rows[i], rows[i] + 1]."""
    path = QtGui.QPainterPath()
    if not len(values):
        return path
    x = np.repeat(np.asarray(values, dtype=float), 2)
    y = np.empty(len(x))
    y[0::2], y[1::2] = rows, np.asarray(rows, dtype=float) + 1
    polygon = QtGui.QPolygonF([QtCore.QPointF(0.0, float(y[0])),
                               *(QtCore.QPointF(float(a), float(b)) for a, b in zip(x, y)),
                               QtCore.QPointF(0.0, float(y[-1]))])
    path.addPolygon(polygon)
    path.closeSubpath()
    return path


def subsample_index(n: int, size: int = SILHOUETTE_SAMPLE) -> np.ndarray:
    """A fixed (seeded, depends only on n) sorted subsample of ``size`` of range(n)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(n).choice(n, size, replace=False))


def fingerprint(points: np.ndarray) -> tuple:
    """A cheap identity of a point set (count, sums, a few points) to match prepared analysis to the frame."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    if not len(p):
        return (0,)
    return (len(p), float(p.sum()), float((p * p).sum()), *p[:: max(1, len(p) // 7)].ravel().round(12).tolist())


def centroids_document(step: int, centroids: np.ndarray) -> str:
    """The centroids_set string: centroids placed or dragged at frame ``step``."""
    rows = [[float(x), float(y)] for x, y in np.asarray(centroids, float).reshape(-1, 2)]
    return json.dumps({"step": int(step), "centroids": rows}, separators=(",", ":"))


def parse_centroids(text: str) -> tuple[int, np.ndarray] | None:
    """(step, (m, 2) centroids) of a centroids_set string, None when empty or unreadable."""
    if not text:
        return None
    try:
        document = json.loads(text)
        step = int(document["step"])
        centroids = np.asarray(document["centroids"], dtype=float).reshape(-1, 2)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not np.isfinite(centroids).all():
        return None
    return step, centroids


def analyse(points: np.ndarray, seed: int) -> dict[str, Any]:
    """Elbow (inertia vs k = 1..10, best of 3 inits) and mean silhouette vs k = 2..10 of the points."""
    from scenes.kmeans import analysis

    x = np.asarray(points, dtype=float).reshape(-1, 2)
    result: dict[str, Any] = {"fingerprint": fingerprint(x), "ks": np.zeros(0), "inertia": np.zeros(0),
                              "silhouette_ks": np.zeros(0), "silhouette": np.zeros(0)}
    ks = [k for k in range(1, 11) if k <= len(x)]
    if ks:
        result["ks"] = np.array(ks, dtype=float)
        result["inertia"] = np.asarray(analysis.elbow(x, ks=ks, n_init=3, seed=seed), dtype=float).reshape(-1)
    sks = [k for k in range(2, 11) if k < len(x)]
    if sks:
        result["silhouette_ks"] = np.array(sks, dtype=float)
        result["silhouette"] = np.asarray(analysis.silhouette_vs_k(x, ks=sks, seed=seed), dtype=float).reshape(-1)
    return result


def data_params(params: Mapping[str, Any]) -> tuple:
    """The parameters the generated points depend on."""
    return tuple(params.get(n) for n in ("dataset", "n_samples", "true_clusters", "cluster_std", "data_seed"))


def _analyse_job(points: np.ndarray, seed: int) -> dict[str, Any]:
    return analyse(points, seed)


def _read_csv_job(path: str) -> tuple[str, Any]:
    """Read a CSV in a worker: ("ok", user data) or ("error", the message to show)."""
    try:
        data = datasets.read_csv(path)
    except ValueError as error:  # CSVError: a message, never a traceback
        return "error", str(error)
    return "ok", data


# -- items ----------------------------------------------------------------------------------------------
def _plot(title: str) -> pg.PlotItem:
    plot = pg.PlotItem()
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    plot.setTitle(title, size=TITLE_SIZE)
    return plot


def _curve(pen) -> pg.PlotCurveItem:
    return pg.PlotCurveItem(pen=pen, antialias=False, skipFiniteCheck=True)


def _set_points(item: pg.ScatterPlotItem, points: np.ndarray, **style) -> None:
    if len(points):
        item.setData(points[:, 0], points[:, 1], **style)
        item.setVisible(True)
    elif item.isVisible() or len(item.data):
        item.clear()
        item.setVisible(False)


class CentroidItem(pg.ScatterPlotItem):
    """The centroid markers; a left-button drag that starts on one moves it (signals in data coordinates)."""

    dragMoved = QtCore.Signal(int, float, float)
    dragFinished = QtCore.Signal(int, float, float)

    def __init__(self) -> None:
        super().__init__(size=CENTROID_SIZE, symbol="o", pen=pg.mkPen(theme.FOREGROUND, width=2.5), antialias=True)
        self.positions = np.zeros((0, 2))
        self.dragging: int | None = None

    def nearest(self, pos: QtCore.QPointF) -> int | None:
        """The centroid within PICK_PIXELS of a point (item coordinates), if any."""
        if not len(self.positions):
            return None
        vb = self.getViewBox()
        if vb is None:
            return None
        px, py = vb.viewPixelSize()
        d = np.hypot((self.positions[:, 0] - pos.x()) / max(px, 1e-300), (self.positions[:, 1] - pos.y()) / max(py, 1e-300))
        d = np.where(np.isfinite(d), d, np.inf)
        best = int(np.argmin(d))
        return best if d[best] <= PICK_PIXELS else None

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph's name
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            self.dragging = self.nearest(ev.buttonDownPos())
            if self.dragging is None:
                ev.ignore()
                return
        elif self.dragging is None:
            ev.ignore()
            return
        ev.accept()
        pos = ev.pos()
        if ev.isFinish():
            index, self.dragging = self.dragging, None
            self.dragFinished.emit(index, float(pos.x()), float(pos.y()))
        else:
            self.dragMoved.emit(self.dragging, float(pos.x()), float(pos.y()))


class KMeansView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.frame: Frame | None = None
        self.prepared: dict[str, Any] | None = None
        #: User data asked for and not yet replaced (None: generated data).
        self.user_data: dict[str, Any] | None = None
        #: Centroids drawn now (the frame's, or a drag's / placement's at this step).
        self.shown_centroids = np.zeros((0, 2))
        self.silhouette_values = np.zeros(0)
        self.silhouette_labels = np.zeros(0, dtype=np.int64)
        self._last: dict[str, Any] = {}
        self._cells: dict = {}
        self._layout_mode: str | None = None
        #: Side plot titles (wide layout, tall layout).
        self._titles: dict[str, tuple[str, str]] = {
            "inertia": ("Inertia per iteration", "Inertia"), "elbow": ("Elbow: inertia vs k", "Elbow"),
            "silhouette_k": ("Mean silhouette vs k", "Silhouette vs k"),
            "silhouette": ("Silhouette of this clustering", "Silhouette")}
        self._extent: tuple | None = None
        self._grid: np.ndarray | None = None
        self._shaded: tuple | None = None
        self._ranges: dict[str, tuple[float, float]] = {}  # y ranges kept steady (see steady_range)
        self._grid_sq: np.ndarray | None = None
        self._tools: QtWidgets.QWidget | None = None
        self._runner: JobRunner | None = None
        self._import_path: str | None = None
        self._analysis_pending: tuple | None = None
        #: (points, labels) the cluster scatters show (None: not hard labels).
        self._hard_labels: tuple | None = None
        self.error_box: QtWidgets.QMessageBox | None = None
        self._build()
        self.cache_axes()
        self.widget.installEventFilter(self)
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        self._arrange(self.widget.width(), self.widget.height())

    # -- building (once) -------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = self.widget.ci
        layout.setContentsMargins(2, 2, 2, 2)
        plot = _plot("Clusters")
        plot.setAspectLocked(True)
        plot.vb.sigRangeChanged.connect(self._regrid)
        self.plots["main"] = plot
        self.voronoi = pg.ImageItem(axisOrder="row-major")
        self.voronoi.setImage(np.full((GRID, GRID, 4), 255, dtype=np.uint8), levels=None, autoLevels=False)
        self.voronoi.setZValue(-10)
        plot.addItem(self.voronoi)
        cache_static(self.voronoi)  # an assign frame changes the points over it, not the regions
        # More than DENSE_POINTS points: all of them as one image at the plot's pixel resolution.
        self.points_image = pg.ImageItem(axisOrder="row-major")
        self.points_image.setZValue(-5)
        self.points_image.setVisible(False)
        plot.addItem(self.points_image)
        self._dense_resolution = 0
        self.cluster_items: list[pg.ScatterPlotItem] = []
        for c in range(MAX_K):
            item = UniformScatter(size=5, symbol="o", brush=pg.mkBrush(cluster_color(c)), pen=None,
                                  antialias=False)
            item.setVisible(False)
            plot.addItem(item)
            cache_static(item)  # repainted from a pixmap while the shading and centroids move
            self.cluster_items.append(item)
        self.unassigned_item = pg.ScatterPlotItem(size=5, symbol="o", brush=pg.mkBrush(UNASSIGNED), pen=None,
                                                  antialias=False)
        self.unassigned_item.setVisible(False)
        plot.addItem(self.unassigned_item)
        cache_static(self.unassigned_item)
        # Gaussian mixture: one scatter with per-point blended brushes (the responsibilities).
        self.blend_item = pg.ScatterPlotItem(size=5, symbol="o", pen=None, antialias=False)
        self.blend_item.setVisible(False)
        plot.addItem(self.blend_item)
        cache_static(self.blend_item)
        # Mini-batch: the batch of this iteration as rings around its points.
        self.batch_item = UniformScatter(size=9, symbol="o", brush=None, pen=pg.mkPen(theme.FOREGROUND, width=1.2),
                                         antialias=False)
        self.batch_item.setZValue(5)
        self.batch_item.setVisible(False)
        plot.addItem(self.batch_item)
        self.ellipses = _curve(pg.mkPen(theme.FOREGROUND, width=1.5))
        self.ellipses.setZValue(15)
        plot.addItem(self.ellipses)
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen(theme.FOREGROUND, width=2), connect="pairs", antialias=True)
        self.arrows.setZValue(18)
        plot.addItem(self.arrows)
        self.centroid_item = CentroidItem()
        self.centroid_item.setZValue(20)
        self.centroid_item.dragMoved.connect(self._drag_moved)
        self.centroid_item.dragFinished.connect(self._drag_finished)
        plot.addItem(self.centroid_item)
        small = QtGui.QFont()
        small.setPointSizeF(8.5)
        self.corner = corner_text(plot, alpha=210)
        self.notice = pg.TextItem(anchor=(0, 1), color=theme.DIVERGED, fill=pg.mkBrush(255, 255, 255, 220))
        self.notice.setParentItem(plot.vb)
        self.notice.setFont(small)
        self.notice.setZValue(30)
        self.notice.hide()
        self.overlay = pg.TextItem(anchor=(0.5, 0.5), color=theme.DIVERGED, fill=pg.mkBrush(255, 255, 255, 230),
                                   border=pg.mkPen(theme.DIVERGED, width=1))
        font = QtGui.QFont()
        font.setPointSize(12)
        font.setBold(True)
        self.overlay.setFont(font)
        self.overlay.setParentItem(plot.vb)
        self.overlay.setZValue(40)
        self.overlay.hide()

        # Inertia as log10 on a log axis (the fast first drop and the slow tail both readable);
        # a log-likelihood (gmm, negative) on a linear one.
        inertia = pg.PlotItem(axisItems={"left": theme.LogAxis(orientation="left")})
        inertia.setMenuEnabled(False)
        inertia.hideButtons()
        inertia.setMouseEnabled(False, False)
        inertia.setTitle("Inertia per iteration", size=TITLE_SIZE)
        inertia.getAxis("left").setLogMode(True)
        inertia.setLabel("bottom", "iteration")
        inertia.showGrid(y=True, alpha=0.25)
        self.inertia_curve = _curve(pg.mkPen(theme.SERIES[0], width=1))
        self.inertia_dots = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(theme.SERIES[0]), pen=None, antialias=False)
        inertia.addItem(self.inertia_curve)
        inertia.addItem(self.inertia_dots)
        self.plots["inertia"] = inertia

        elbow = _plot("Elbow: inertia vs k")
        elbow.setLabel("bottom", "k")
        elbow.showGrid(y=True, alpha=0.25)
        self.elbow_curve = _curve(pg.mkPen(theme.SERIES[0], width=1))
        self.elbow_dots = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(theme.SERIES[0]), pen=None, antialias=False)
        self.elbow_mark = pg.ScatterPlotItem(size=11, brush=None, pen=pg.mkPen(theme.SERIES[1], width=2))
        self.elbow_k = pg.InfiniteLine(angle=90, movable=False,
                                       pen=pg.mkPen(theme.SERIES[1], width=1, style=QtCore.Qt.PenStyle.DashLine))
        # This run's inertia at its k (a cross): above the ring when the run sits in a worse optimum.
        self.elbow_run = pg.ScatterPlotItem(size=10, symbol="x", brush=pg.mkBrush(theme.DIVERGED), pen=None)
        self.elbow_run.setVisible(False)
        for item in (self.elbow_curve, self.elbow_dots, self.elbow_mark, self.elbow_run):
            elbow.addItem(item)
        elbow.addItem(self.elbow_k, ignoreBounds=True)
        self.plots["elbow"] = elbow

        silhouette_k = _plot("Mean silhouette vs k")
        silhouette_k.setLabel("bottom", "k")
        silhouette_k.showGrid(y=True, alpha=0.25)
        self.silhouette_k_curve = _curve(pg.mkPen(theme.SERIES[2], width=1))
        self.silhouette_k_dots = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(theme.SERIES[2]), pen=None,
                                                    antialias=False)
        self.silhouette_k_mark = pg.ScatterPlotItem(size=11, brush=None, pen=pg.mkPen(theme.SERIES[1], width=2))
        self.silhouette_k_line = pg.InfiniteLine(angle=90, movable=False,
                                                 pen=pg.mkPen(theme.SERIES[1], width=1,
                                                              style=QtCore.Qt.PenStyle.DashLine))
        for item in (self.silhouette_k_curve, self.silhouette_k_dots, self.silhouette_k_mark):
            silhouette_k.addItem(item)
        silhouette_k.addItem(self.silhouette_k_line, ignoreBounds=True)
        self.plots["silhouette_k"] = silhouette_k

        silhouette = _plot("Silhouette of this clustering")
        silhouette.setLabel("bottom", "silhouette")
        silhouette.hideAxis("left")
        # Each cluster's bars as one filled outline (crisp, unlike hundreds of antialiased 1-row bars).
        self.silhouette_bars: list[QtWidgets.QGraphicsPathItem] = []
        #: Per cluster drawn: (row positions, silhouette values sorted high to low).
        self.silhouette_shown: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for c in range(MAX_K):
            bars = QtWidgets.QGraphicsPathItem()
            bars.setBrush(pg.mkBrush(cluster_color(c)))
            bars.setPen(pg.mkPen(None))
            bars.setVisible(False)
            silhouette.addItem(bars)
            self.silhouette_bars.append(bars)
        self.silhouette_mean = pg.InfiniteLine(angle=90, movable=False, label="mean {value:.2f}",
                                               labelOpts={"position": 0.95, "color": theme.FOREGROUND,
                                                          "fill": (255, 255, 255, 200)},
                                               pen=pg.mkPen(theme.DIVERGED, width=1, style=QtCore.Qt.PenStyle.DashLine))
        self.silhouette_mean.hide()
        silhouette.addItem(self.silhouette_mean, ignoreBounds=True)
        self.silhouette_text = pg.TextItem(anchor=(0.5, 0.5), color=theme.MUTED)
        silhouette.addItem(self.silhouette_text, ignoreBounds=True)
        self.plots["silhouette"] = silhouette

        for name in ("inertia", "elbow", "silhouette_k", "silhouette"):
            self.plots[name].setPreferredSize(150, 120)
            self.plots[name].setMinimumSize(60, 60)
        plot.setMinimumSize(120, 120)

    def cache_axes(self) -> None:
        """Axes and every text item as pixmaps (most are unchanged from frame to frame)."""
        super().cache_axes()
        cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        for item in self.widget.scene().items():
            if isinstance(item, QtWidgets.QGraphicsTextItem) and item.cacheMode() != cached:
                item.setCacheMode(cached)

    # -- layout ------------------------------------------------------------------------------------------
    def resized(self, width: float, height: float) -> None:
        self._arrange(width, height)

    def _arrange(self, width: float, height: float) -> None:
        """The square main plot on the left with the four side plots 2 x 2 beside it; in a tall view
        (width < TALL_RATIO x height) the main plot on top and the side plots in a row below."""
        main = self.plots["main"]
        side = [self.plots[n] for n in ("inertia", "elbow", "silhouette_k", "silhouette")]
        mode = "wide" if width >= TALL_RATIO * height else "tall"
        grid = self.widget.ci.layout
        if mode != self._layout_mode:
            if mode == "wide":
                cells = {main: (0, 0, 2, 1), side[0]: (0, 1, 1, 1), side[1]: (0, 2, 1, 1),
                         side[2]: (1, 1, 1, 1), side[3]: (1, 2, 1, 1)}
            else:
                cells = {main: (0, 0, 1, 4), side[0]: (1, 0, 1, 1), side[1]: (1, 1, 1, 1),
                         side[2]: (1, 2, 1, 1), side[3]: (1, 3, 1, 1)}
            place_cells(self.widget.ci, cells, self._cells)
            for index in range(4):
                grid.setColumnStretchFactor(index, 0 if mode == "wide" and index == 0 else 1)
            for index in range(2):
                grid.setRowStretchFactor(index, 1)
            self._layout_mode = mode
            for name in ("inertia", "elbow", "silhouette_k", "silhouette"):  # tall: the titles say it
                self.plots[name].getAxis("bottom").showLabel(mode == "wide")
            self._set_titles()
        square_main_plot(main, mode == "wide", width, height, 0.56, 0.62)

    # -- tool strip ----------------------------------------------------------------------------------------
    def tools(self) -> QtWidgets.QWidget:
        if self._tools is not None:
            return self._tools
        strip = ToolStrip()
        row, button = strip.row, strip.button
        self.tool_buttons: dict[str, QtWidgets.QToolButton] = strip.buttons

        button("Regenerate", "A new random draw of the data set (back to generated data)", self.regenerate)
        button("Draw points", "Click on the plot to add points, shift-click or right-click to remove the "
                              "nearest (your own data; Regenerate returns to generated data)",
               self._update_tools, checkable=True)
        limits = f"at most {datasets.MAX_IMPORT_ROWS:,} rows, values within ±{datasets.MAX_ABS_VALUE:g}"
        button("Import CSV…", f"Load x, y rows (a label column is read and ignored) from a CSV file ({limits})",
               self.import_csv_dialog)
        self.data_label = QtWidgets.QLabel()
        self.data_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.data_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        row.addWidget(self.data_label, 1)
        self._tools = strip
        self._update_tools()
        return strip

    @property
    def drawing(self) -> bool:
        return self._tools is not None and self.tool_buttons["Draw points"].isChecked()

    def _update_tools(self, *_args) -> None:
        if self._tools is None:
            return
        if self.user_data is not None:
            n = len(np.asarray(self.user_data["x"]).reshape(-1, 2))
            text = f"Your points: {n}"
            if self.user_data.get("file"):
                text = f"Imported: {self.user_data['file']} ({n} points)"
        else:
            text = ""
        self.data_label.setText(text)
        self.data_label.setToolTip(text)

    # -- user data ------------------------------------------------------------------------------------------
    def request_data(self, data: dict[str, Any] | None) -> None:
        self.user_data = data
        self._update_tools()
        self.dataRequested.emit(data)

    def _editable_points(self) -> np.ndarray:
        if self.user_data is not None:
            return np.asarray(self.user_data["x"], dtype=float).reshape(-1, 2)
        if self.frame is None:
            return np.zeros((0, 2))
        return np.asarray(self.frame.data["points"], dtype=float).reshape(-1, 2)

    def _request_points(self, points: np.ndarray) -> None:
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        self.request_data({"x": points.tolist(), "labels": [0] * len(points)})

    def add_point(self, x: float, y: float) -> None:
        """Add a point to the user's points (the shown points become the user's on the first one)."""
        self._request_points(np.vstack([self._editable_points(), [[x, y]]]))

    def remove_nearest(self, x: float, y: float) -> bool:
        points = self._editable_points()
        if not len(points):
            return False
        nearest = int(np.argmin(np.hypot(points[:, 0] - x, points[:, 1] - y)))
        self._request_points(np.delete(points, nearest, axis=0))
        return True

    def regenerate(self) -> None:
        """Back to generated data with a new data seed."""
        self.user_data = None
        self._update_tools()
        self.dataRequested.emit(None)
        seed = (int(self.params.get("data_seed", 0)) + 1) % 100000
        self.paramsRequested.emit({"data_seed": seed})

    def import_csv(self, path: str) -> bool:
        """Read a CSV now and ask for it as the data; a problem is a status message and changes nothing."""
        return self._use_import(str(path), *_read_csv_job(str(path)))

    def _jobs(self) -> JobRunner:
        if self._runner is None:
            self._runner = JobRunner(self, start_workers=False)
            self._runner.finished.connect(self._job_finished)
            self._runner.failed.connect(self._job_failed)
        return self._runner

    def start_import(self, path: str) -> None:
        """Read a CSV in a worker process; the result arrives as for import_csv."""
        self._import_path = str(path)
        self._jobs().submit("import", _read_csv_job, str(path))

    @property
    def importing(self) -> bool:
        return self._import_path is not None

    def _job_finished(self, key: str, result) -> None:
        if key == "import" and self._import_path is not None:
            path, self._import_path = self._import_path, None
            if not self._use_import(path, *result):
                self._show_error("Cannot import CSV", f"CSV import of {Path(path).name}: {result[1]}")
        elif key == "analysis" and isinstance(result, dict) and result.get("fingerprint") == self._analysis_pending:
            self._analysis_pending = None
            self.apply_prepared(result)

    def _job_failed(self, key: str, message: str) -> None:
        if key == "import":
            self._job_finished(key, ("error", message))
        elif key == "analysis":
            self._analysis_pending = None
            self.messageRequested.emit(f"Elbow and silhouette could not be computed: {message}")

    def _use_import(self, path: str, outcome: str, result) -> bool:
        name = Path(path).name
        if outcome != "ok":
            self.messageRequested.emit(f"CSV import of {name}: {result}")
            return False
        x = np.asarray(result["x"], dtype=float).reshape(-1, 2)
        self.request_data({"x": x.tolist(), "labels": [0] * len(x), "file": name})
        self.messageRequested.emit(f"Imported {name}: {len(x):,} points (labels ignored)")
        return True

    # -- centroids: drag, manual placement -------------------------------------------------------------
    def _drag_moved(self, index: int, x: float, y: float) -> None:
        if index < len(self.shown_centroids):
            moved = self.shown_centroids.copy()
            moved[index] = (x, y)
            self._draw_centroids(moved, arrows=False)

    def _drag_finished(self, index: int, x: float, y: float) -> None:
        if self.frame is None or index >= len(self.shown_centroids):
            return
        moved = self.shown_centroids.copy()
        moved[index] = (x, y)
        step = int(self.frame.step)
        self.paramsRequested.emit({"centroids_set": centroids_document(step, moved)})
        self.messageRequested.emit(f"centroid {index} moved to ({x:.3g}, {y:.3g}) at step {step}: "
                                   "the run continues from there at the next step")

    def place_centroid(self, x: float, y: float) -> None:
        """Manual init: add a centroid at (x, y) to those placed at step 0 (the run starts once k are placed)."""
        k = int(self.params.get("k", 0))
        placed = parse_centroids(self.params.get("centroids_set", ""))
        centroids = placed[1] if placed is not None and placed[0] == 0 else np.zeros((0, 2))
        if self.frame is not None and int(self.frame.step) != 0 or len(centroids) >= k:
            self.messageRequested.emit(f"all {k} centroids are placed: drag one to move it")
            return
        centroids = np.vstack([centroids, [[x, y]]])
        self.paramsRequested.emit({"centroids_set": centroids_document(0, centroids)})
        self.messageRequested.emit(f"centroid {len(centroids)} of {k} placed at ({x:.3g}, {y:.3g})")

    def _clicked(self, event) -> None:
        vb = self.plots["main"].vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        point = vb.mapSceneToView(event.scenePos())
        if self.drawing:
            remove = (event.button() == QtCore.Qt.MouseButton.RightButton
                      or bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))
            if remove:
                self.remove_nearest(point.x(), point.y())
            elif event.button() == QtCore.Qt.MouseButton.LeftButton:
                self.add_point(point.x(), point.y())
            event.accept()
        elif (self.params.get("init") == "manual" and event.button() == QtCore.Qt.MouseButton.LeftButton
              and self.centroid_item.nearest(self.centroid_item.mapFromScene(event.scenePos())) is None):
            self.place_centroid(point.x(), point.y())
            event.accept()

    # -- prepared analysis ------------------------------------------------------------------------------
    @staticmethod
    def prepare_key(params: Mapping[str, Any], seed: int) -> Any:
        return ("kmeans-analysis", int(seed), *data_params(params))

    @staticmethod
    def prepare(params: Mapping[str, Any], seed: int) -> Any:
        """Elbow and silhouette vs k of the generated data for these parameters (a worker)."""
        from scenes.kmeans import data as km_data

        points = km_data.generate(params["dataset"], int(params["n_samples"]), int(params["true_clusters"]),
                                  float(params["cluster_std"]), int(params["data_seed"]))
        result = analyse(points, seed)
        result["data_params"] = data_params(params)
        return result

    def apply_prepared(self, data: Any) -> None:
        if isinstance(data, dict) and "fingerprint" in data:
            self.prepared = data
            self._last.pop("analysis", None)
            if self.frame is not None:
                self._show_analysis(self.frame)

    def _request_analysis(self, points: np.ndarray) -> None:
        """The shown points are not those prepared (the user's): analyse them in the view's own worker."""
        key = fingerprint(points)
        if key == self._analysis_pending:
            return
        self._analysis_pending = key
        self._jobs().submit("analysis", _analyse_job, np.asarray(points, dtype=float), 0)

    def settle(self) -> None:
        if self._analysis_pending is not None and self.frame is not None:
            self._analysis_pending = None
            self.apply_prepared(analyse(self.frame.data["points"], 0))

    # -- showing -----------------------------------------------------------------------------------------
    def _changed(self, name: str, *values) -> bool:
        """True (and remember ``values``) unless they equal what ``name`` last showed."""
        if same_values(self._last.get(name), values):
            return False
        self._last[name] = values
        return True

    def frame_centroids(self, frame: Frame) -> np.ndarray:
        """The centroids drawn for a frame: its own, or those dragged or placed at its step."""
        centroids = np.asarray(frame.data["centroids"], dtype=float).reshape(-1, 2)
        edit = parse_centroids(self.params.get("centroids_set", ""))
        if edit is not None and edit[0] == int(frame.step) and (len(edit[1]) == len(centroids) or frame.step == 0):
            return edit[1]
        return centroids

    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)

    def show(self, frame: Frame) -> None:
        self.frame = frame
        data = frame.data
        points = np.asarray(data["points"], dtype=float).reshape(-1, 2)
        if self._changed("extent_points", points):
            extent = extent_of(points)
            if extent != self._extent:
                self._extent = extent
                self.plots["main"].setRange(QtCore.QRectF(*extent), padding=0)
                self._regrid()
            size = 5 if len(points) <= 3000 else 3
            for item in (*self.cluster_items, self.unassigned_item, self.blend_item):
                item.setSize(size)
            self._point_size = size
        self._show_points(frame, points)
        self._draw_centroids(self.frame_centroids(frame), arrows=True)
        self._show_gmm(frame)
        self._show_batch(frame, points)
        self._show_inertia(frame)
        self._show_analysis(frame)
        self._show_run_inertia(frame)
        self._show_silhouette(frame, points)
        self._show_state(frame)

    def _regrid(self, *_args) -> None:
        """Shade the plotted square and whatever the locked aspect shows beside it (the view range)."""
        if self._extent is None:
            return
        (vx0, vx1), (vy0, vy1) = self.plots["main"].vb.viewRange()
        x0, y0, w, h = self._extent
        left, bottom = min(x0, vx0), min(y0, vy0)
        side = max(x0 + w, vx1) - left, max(y0 + h, vy1) - bottom
        side = max(side) * 1.02
        shaded = (left - 0.01 * side, bottom - 0.01 * side, side, side)
        resolution = self._pixels_across(shaded[2])
        if shaded == self._shaded:
            if resolution != self._dense_resolution:
                self._dense_resolution = resolution
                self._redraw_points()
            return
        self._shaded = shaded
        self._dense_resolution = resolution
        self._redraw_points()
        self._grid = grid_points(shaded)
        self._grid_sq = (self._grid * self._grid).sum(axis=1)
        self.voronoi.setRect(QtCore.QRectF(*shaded))
        self._last.pop("voronoi", None)
        if self._last.get("centroids") is not None:
            self._draw_centroids(self.shown_centroids, arrows=True)

    def _pixels_across(self, side: float) -> int:
        """Device pixels across ``side`` data units of the main plot (the dense points image's size)."""
        vb = self.plots["main"].vb
        (vx0, vx1), _ = vb.viewRange()
        ratio = self.widget.devicePixelRatioF() if hasattr(self.widget, "devicePixelRatioF") else 1.0
        across = side * float(vb.width()) / (vx1 - vx0) * ratio if vx1 > vx0 else 0.0
        return int(min(2048, max(64, math.ceil(across)))) if math.isfinite(across) else 64

    def _redraw_points(self) -> None:
        """Draw the shown frame's points again (the dense image's square or pixel size changed)."""
        if self.frame is not None and self.points_image.isVisible():
            self._last.pop("points", None)
            self._show_points(self.frame, np.asarray(self.frame.data["points"], dtype=float).reshape(-1, 2))

    def _show_dense(self, points: np.ndarray, labels: np.ndarray, rgb: np.ndarray | None) -> None:
        """All points as one image: hard labels in cluster order (higher clusters on top, as the
        scatters), or the responsibility blend in point order."""
        if rgb is not None:
            words, order = pack_rgba(rgb), None
        else:
            index = np.where((labels >= 0) & (labels < MAX_K), labels, MAX_K) if len(labels) == len(points) \
                else np.full(len(points), MAX_K)
            order = np.argsort(index, kind="stable")
            words = CLUSTER_WORDS[index[order]]
        if self._shaded is None or not self._dense_resolution:
            return
        dots = points[order] if order is not None else points
        radius = max(1, round(self.widget.devicePixelRatioF()))  # 3-px dots on a 1x screen
        image = splat_points(dots, words, self._shaded, self._dense_resolution, radius=radius)
        self.points_image.setImage(image, levels=None, autoLevels=False)
        self.points_image.setRect(QtCore.QRectF(*self._shaded))
        self.points_image.setVisible(True)

    def _show_points(self, frame: Frame, points: np.ndarray) -> None:
        data = frame.data
        labels = np.asarray(data["labels"]).reshape(-1)
        phase = str(data["phase"])
        gmm = str(data.get("algorithm", "")) == "gmm" and "responsibilities" in data and phase != "init_pick"
        probabilities = np.asarray(data.get("pick_probabilities", np.zeros(0)), dtype=float).reshape(-1)
        picking = phase == "init_pick" and len(probabilities) == len(points) and len(points) > 0
        responsibilities = np.asarray(data["responsibilities"]) if gmm else None
        if not self._changed("points", points, labels, picking, probabilities if picking else None,
                             responsibilities):
            return
        blended = gmm and responsibilities is not None and responsibilities.ndim == 2 \
            and len(responsibilities) == len(points) and responsibilities.shape[1] > 0
        if len(points) > DENSE_POINTS and not picking:
            self._hard_labels = None
            for item in (*self.cluster_items, self.unassigned_item, self.blend_item):
                if item.isVisible():
                    _set_points(item, np.zeros((0, 2)))
            self._show_dense(points, labels, blend_rgb(responsibilities, MAX_K) if blended else None)
            return
        if self.points_image.isVisible():
            self.points_image.setVisible(False)
        # Only the clusters that gained or lost points are redrawn (late iterations move a few points).
        hard = not blended and not picking
        previous = self._hard_labels
        raw = data["points"]  # one array shared by every frame of a run
        if hard and previous is not None and previous[0] is raw and len(previous[1]) == len(labels):
            moved = previous[1] != labels
            redraw = set(np.unique(previous[1][moved]).tolist()) | set(np.unique(labels[moved]).tolist())
        else:
            redraw = set(range(MAX_K))
        self._hard_labels = (raw, labels) if hard else None
        for c, item in enumerate(self.cluster_items):
            if c in redraw:
                _set_points(item, points[labels == c] if hard else np.zeros((0, 2)))
        if blended:
            rgb = blend_rgb(responsibilities, MAX_K)
            codes = (np.clip(rgb, 0, 255).astype(np.int32) >> 3)  # 5 bits a channel: at most 32,768 brushes
            keys = (codes[:, 0] << 10) | (codes[:, 1] << 5) | codes[:, 2]
            unique, inverse = np.unique(keys, return_inverse=True)
            brushes = [pg.mkBrush(int((u >> 10) & 31) * 8 + 4, int((u >> 5) & 31) * 8 + 4, int(u & 31) * 8 + 4)
                       for u in unique]
            _set_points(self.blend_item, points, brush=[brushes[i] for i in inverse.reshape(-1)])
        else:
            _set_points(self.blend_item, np.zeros((0, 2)))
        if picking:
            top = probabilities.max() if probabilities.max() > 0 else 1.0
            # Whole-pixel sizes: pyqtgraph renders one symbol per distinct size (500 sizes took 40 ms).
            sizes = np.round(2.0 + 12.0 * np.sqrt(np.clip(probabilities / top, 0, 1)))
            _set_points(self.unassigned_item, points, size=sizes)
        else:
            rest = points[labels < 0] if not blended else np.zeros((0, 2))
            _set_points(self.unassigned_item, rest, size=getattr(self, "_point_size", 5))

    def _draw_centroids(self, centroids: np.ndarray, arrows: bool) -> None:
        centroids = np.asarray(centroids, dtype=float).reshape(-1, 2)
        self.shown_centroids = centroids
        finite = np.isfinite(centroids).all(axis=1)
        if self._changed("centroids", centroids):
            self.centroid_item.positions = centroids
            index = np.flatnonzero(finite)
            if len(index):
                self.centroid_item.setData(centroids[index, 0], centroids[index, 1],
                                           brush=[pg.mkBrush(cluster_color(i)) for i in index])
                self.centroid_item.setVisible(True)
            else:
                self.centroid_item.clear()
                self.centroid_item.setVisible(False)
        frame = self.frame
        data = frame.data if frame is not None else {}
        gmm = str(data.get("algorithm", "")) == "gmm" and "covariances" in data
        if gmm:  # regions of the most likely component
            weights, covariances = np.asarray(data["mixture_weights"]), np.asarray(data["covariances"])
            if self._grid is not None and self._changed("voronoi", "gmm", centroids, weights, covariances):
                index = gmm_regions(self._grid, weights, centroids, covariances) \
                    if len(covariances) == len(centroids) and len(weights) == len(centroids) \
                    else np.full(len(self._grid), -1)
                rgba = REGION_RGBA[np.where(index < 0, MAX_K, np.minimum(index, MAX_K - 1))]
                self.voronoi.setImage(rgba.reshape(GRID, GRID, 4), levels=None, autoLevels=False)
        elif self._grid is not None and self._changed("voronoi", "voronoi", centroids):
            self.voronoi.setImage(voronoi_rgba(self._grid, self._grid_sq, centroids), levels=None, autoLevels=False)
        segments = np.zeros((0, 2))
        if arrows and frame is not None and str(frame.data["phase"]) in ("update", "m_step"):
            previous = np.asarray(frame.data.get("previous_centroids", np.zeros((0, 2))), dtype=float).reshape(-1, 2)
            if len(previous) == len(centroids) and self._extent is not None:
                segments = arrow_lines(previous, centroids, head=0.03 * self._extent[2])
        if not arrows:
            segments = np.zeros((0, 2))
        if self._changed("arrows", segments):
            if len(segments):
                self.arrows.setData(segments[:, 0], segments[:, 1])
                self.arrows.setVisible(True)
            else:
                self.arrows.setData([], [])
                self.arrows.setVisible(False)

    def _show_batch(self, frame: Frame, points: np.ndarray) -> None:
        data = frame.data
        on = str(data.get("algorithm", "")) == "minibatch" and str(data["phase"]) in ("assign", "update")
        index = np.asarray(data.get("batch_indices", np.zeros(0, dtype=int)), dtype=np.intp).reshape(-1) if on \
            else np.zeros(0, dtype=np.intp)
        index = index[(index >= 0) & (index < len(points))]
        if self._changed("batch", data["points"] if on else None, index):
            _set_points(self.batch_item, points[np.unique(index)])

    def _show_gmm(self, frame: Frame) -> None:
        data = frame.data
        on = str(data.get("algorithm", "")) == "gmm" and "covariances" in data
        covariances = np.asarray(data["covariances"]) if on else np.zeros((0, 2, 2))
        means = self.shown_centroids
        if not self._changed("ellipses", means, covariances):
            return
        x, y = ellipse_lines(means, covariances) if on and len(covariances) == len(means) else (np.zeros(0), np.zeros(0))
        if len(x):
            self.ellipses.setData(x, y, connect="finite")
            self.ellipses.setVisible(True)
        else:
            self.ellipses.setData([], [])
            self.ellipses.setVisible(False)

    def _show_inertia(self, frame: Frame) -> None:
        data = frame.data
        gmm = str(data.get("algorithm", "")) == "gmm" and "log_likelihood_history" in data
        values = np.asarray(data["log_likelihood_history"] if gmm else data["inertia_history"], dtype=float).reshape(-1)
        x = np.arange(1, len(values) + 1, dtype=float)
        if not self._changed("inertia", gmm, values):
            return
        if not gmm:
            good = np.isfinite(values) & (values > 0)  # inertia 0 (a centroid on every point) is off the log axis
            values = np.log10(np.where(good, values, 1.0))
        else:
            good = np.isfinite(values)
        axis = self.plots["inertia"].getAxis("left")
        if axis.logMode == gmm:
            axis.setLogMode(not gmm)
        self._titles["inertia"] = (("Log-likelihood per iteration", "Log-likelihood") if gmm
                                   else ("Inertia per iteration", "Inertia"))
        self._set_titles()
        if good.any():
            self.inertia_curve.setData(x[good], values[good])
            self.inertia_dots.setData(x[good], values[good])
            self.inertia_curve.setVisible(True)
            self.inertia_dots.setVisible(True)
            low, high = float(values[good].min()), float(values[good].max())
            if high - low < 1e-9 * max(abs(high), 1.0):  # one value (or all equal): a band around it
                pad = 0.05 if not gmm else max(abs(high) * 0.05, 1.0)
                low, high = low - pad, high + pad
            key = "inertia_y_log" if not gmm else "inertia_y_gmm"
            shown = steady_range(self._ranges.get(key), low, high)
            if shown != self._ranges.get(key):
                self._ranges[key] = shown
                self.plots["inertia"].setYRange(*shown, padding=0)
            self.plots["inertia"].setXRange(0.5, max(5.0, nice_ceiling(len(values))) + 0.5, padding=0)
        else:
            self.inertia_curve.setData([], [])
            self.inertia_dots.setData([], [])
            self.inertia_curve.setVisible(False)
            self.inertia_dots.setVisible(False)

    def _show_analysis(self, frame: Frame) -> None:
        points = frame.data["points"]
        k = int(frame.data["k"])
        prepared = self.prepared
        current = fingerprint(points)
        matches = prepared is not None and prepared.get("fingerprint") == current
        # Points other than those prepared for these parameters are the user's: analysed here.
        generated_ready = prepared is not None and prepared.get("data_params") == data_params(self.params)
        if not matches and len(np.asarray(points).reshape(-1, 2)) and (self.user_data is not None or generated_ready):
            self._request_analysis(points)
        if not self._changed("analysis", matches, id(prepared), k):
            return
        for curve, dots, mark, line, xs, ys in (
                (self.elbow_curve, self.elbow_dots, self.elbow_mark, self.elbow_k, "ks", "inertia"),
                (self.silhouette_k_curve, self.silhouette_k_dots, self.silhouette_k_mark, self.silhouette_k_line,
                 "silhouette_ks", "silhouette")):
            kx = np.asarray(prepared[xs], dtype=float) if matches else np.zeros(0)
            ky = np.asarray(prepared[ys], dtype=float) if matches else np.zeros(0)
            good = np.isfinite(ky)
            if good.any():
                curve.setData(kx[good], ky[good])
                dots.setData(kx[good], ky[good])
                at = np.flatnonzero((kx == k) & good)
                mark.setData(kx[at], ky[at])
                for item in (curve, dots, mark):
                    item.setVisible(True)
            else:
                for item in (curve, dots, mark):
                    item.setData([], []) if item is curve else item.clear()
                    item.setVisible(False)
            line.setValue(k)
        plot = self.plots["elbow"]
        plot.setXRange(0.5, 10.5, padding=0)
        self._fit_elbow_range()
        self.plots["silhouette_k"].setXRange(1.5, 10.5, padding=0)
        self._titles["elbow"] = ("Elbow: inertia vs k", "Elbow") if matches else ("Elbow: computing…", "Elbow…")
        self._titles["silhouette_k"] = (("Mean silhouette vs k", "Silhouette vs k") if matches
                                        else ("Silhouette vs k: computing…", "Silhouette vs k…"))
        self._set_titles()

    def _show_run_inertia(self, frame: Frame) -> None:
        k, inertia = int(frame.data["k"]), float(frame.data["inertia"])
        if not self._changed("elbow_run", k, inertia):
            return
        if math.isfinite(inertia):
            self.elbow_run.setData([float(k)], [inertia])
            self.elbow_run.setVisible(True)
        else:
            self.elbow_run.clear()
            self.elbow_run.setVisible(False)
        self._fit_elbow_range()

    def _fit_elbow_range(self) -> None:
        """The elbow's y range: its curve and this run's cross, changed only when they leave it."""
        values = [np.asarray(item.getData()[1] if isinstance(item, pg.PlotCurveItem) else item.data["y"], dtype=float)
                  for item in (self.elbow_curve, self.elbow_run) if item.isVisible()]
        values = np.concatenate(values) if values else np.zeros(0)
        values = values[np.isfinite(values)]
        if not len(values):
            return
        low, high = float(values.min()), float(values.max())
        shown = steady_range(self._ranges.get("elbow_y"), min(low, 0.0), high)
        if shown != self._ranges.get("elbow_y"):
            self._ranges["elbow_y"] = shown
            self.plots["elbow"].setYRange(*shown, padding=0)

    def _show_silhouette(self, frame: Frame, points: np.ndarray) -> None:
        labels = np.asarray(frame.data["labels"]).reshape(-1)
        if not self._changed("silhouette", points, labels):
            return
        index = subsample_index(len(points))
        x, y = points[index], labels[index] if len(labels) == len(points) else np.zeros(0, dtype=int)
        present = np.unique(y[y >= 0]) if len(y) else np.zeros(0)
        message = ""
        if len(present) < 2 or (y < 0).any():
            values = np.zeros(0)
            message = "no clusters yet" if len(present) == 0 or (y < 0).any() else "one cluster:\nno silhouette"
        else:
            from scenes.kmeans import analysis

            values = np.asarray(analysis.silhouette_samples(x, y), dtype=float).reshape(-1)
            if not np.isfinite(values).all():  # undefined (e.g. one point per cluster)
                values, message = np.zeros(0), "silhouette\nnot defined"
        self.silhouette_values, self.silhouette_labels = values, (y if len(values) else np.zeros(0, dtype=int))
        bars = silhouette_bars(values, y) if len(values) else []
        shown = {cluster: (ys, vs) for cluster, ys, vs in bars if cluster < MAX_K}
        self.silhouette_shown = shown
        for c, item in enumerate(self.silhouette_bars):
            if c in shown:
                item.setPath(bars_path(*shown[c]))
                item.setVisible(True)
            elif item.isVisible():
                item.setPath(QtGui.QPainterPath())
                item.setVisible(False)
        plot = self.plots["silhouette"]
        top = max((ys[-1] + 1 for _, ys, _ in bars if len(ys)), default=1.0)
        plot.setYRange(0, top, padding=0.02)
        plot.setXRange(-0.4, 1.0, padding=0.02)
        if len(values):
            self.silhouette_mean.show()  # before the value: a hidden line's label ignores it
            self.silhouette_mean.setValue(float(values.mean()))
            self.silhouette_mean.label.valueChanged()
        else:
            self.silhouette_mean.hide()
        self.silhouette_text.setText(message)
        self.silhouette_text.setPos(0.3, top / 2)
        self.silhouette_text.setVisible(bool(message))
        n = len(index)
        self._titles["silhouette"] = ((f"Silhouette ({n:,} of {len(points):,} points)" if n < len(points)
                                       else "Silhouette of this clustering"), "Silhouette")
        self._set_titles()

    def _set_titles(self) -> None:
        """Each side plot's long title in a wide layout, its short one in a tall layout (narrow plots)."""
        short = self._layout_mode == "tall"
        for name, (long_title, short_title) in self._titles.items():
            title = short_title if short else long_title
            if self._changed(f"title_{name}", title):
                self.plots[name].setTitle(title, size=TITLE_SIZE)

    def _show_state(self, frame: Frame) -> None:
        data = frame.data
        phase = str(data["phase"])
        iteration = int(data["iteration"])
        name = PHASE_NAMES.get(phase, phase.replace("_", " "))
        lines = [f"iteration {iteration} · {name}"]
        if phase == "init_pick":
            lines = [f"k-means++ init · pick {len(self.shown_centroids) + 1}"]
        inertia = float(data["inertia"])
        if math.isfinite(inertia):
            lines.append(f"inertia {inertia:.4g}")
        if bool(data["converged"]):
            lines.append(f"converged after {iteration} iterations")
        elif frame.done:
            lines.append("finished")
        text = "\n".join(lines)
        if self._changed("corner", text):
            self.corner.setText(text)
        points = np.asarray(data["points"]).reshape(-1, 2)
        k = int(data["k"])
        if not len(points):
            overlay = frame.message or "no points: draw or import some"
        elif k > len(points):
            overlay = frame.message or f"k = {k} is more than the {len(points)} points"
        elif not len(self.shown_centroids):
            overlay = frame.message or ("click to place centroids" if self.params.get("init") == "manual"
                                        else "no centroids")
        else:
            overlay = ""
        vb = self.plots["main"].vb
        width, height = float(vb.width()), float(vb.height())
        if self._changed("overlay", overlay, width, height):
            self.overlay.setText(overlay)
            self.overlay.setTextWidth(-1)
            room = max(120.0, 0.85 * width)
            if self.overlay.textItem.boundingRect().width() > room:
                self.overlay.setTextWidth(room)
            self.overlay.setPos(width / 2, height / 2)
            self.overlay.setVisible(bool(overlay))
        empty = np.asarray(data.get("empty_clusters", np.zeros(0, dtype=int))).reshape(-1)
        if len(empty):
            which = ", ".join(str(int(c)) for c in empty[:6])  # numbered from 0, as the status line
            notice = (f"empty cluster{'s' if len(empty) > 1 else ''} {which}: moved to the point"
                      f"{'s' if len(empty) > 1 else ''} farthest from its centroid (as scikit-learn)")
        else:
            notice = ""
        if self._changed("notice", notice, width, height):
            self.notice.setText(notice)
            self.notice.setTextWidth(-1)
            if self.notice.textItem.boundingRect().width() > width - 8:
                self.notice.setTextWidth(max(80.0, width - 8))
            self.notice.setPos(4, height - 4)
            self.notice.setVisible(bool(notice))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.shutdown()
        super().close()
