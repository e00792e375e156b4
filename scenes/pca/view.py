"""pyqtgraph view of the PCA scene.

Main plot: the data (2-D as they are; 3-D by a NumPy orthographic projection onto the plot, turned by
dragging, so it needs no OpenGL and works offscreen and in exports; the real data sets as scores on two
chosen components, coloured by class, with the original features' loadings as biplot arrows), the
mean, the 2σ covariance ellipse, the power iteration's candidate direction, the principal axes as
arrows of length 2√eigenvalue, your own axis (drag to turn it) and, while projecting, the
reconstruction segments. Side plots, by data set: the projection (1-D strips on PC1 and on your axis;
the PC1-PC2 scores in 3-D), the scree plot (explained-variance ratio and its running total, the kept
number of components marked), kernel PCA of the circles, the loadings of one component, and for the
digits the originals, their reconstructions from k components, the mean and the first
"eigendigits" (one atlas image) with the reconstruction error against k.

Everything is derived from the frame and the live parameters with a few small matrix products
(the digits' 8 reconstructions: 8 x k x 64), so dragging k, the axis or the view redraws in one frame.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.projection import orthographic, turned
from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, UniformScatter, cache_static, corner_text, place_cells, same_values, \
    square_main_plot
from scenes.pca import sim as pca_sim

TITLE_SIZE = "9pt"
#: Below this view width x height ratio the side plots go in a row under the main plot.
TALL_RATIO = 1.05
#: Class colours (digits have 10 classes; theme.CLASS_COLORS has 8): Paul Tol's muted extras.
COLORS = tuple(theme.CLASS_COLORS) + ("#882255", "#44AA99")
COMPONENT_COLORS = (theme.SERIES[1], theme.SERIES[2], theme.SERIES[3])
CANDIDATE_COLOR = theme.SERIES[4]
AXIS_COLOR = theme.SERIES[3]
#: At most this many features get a biplot label, and the loadings plot shows at most this many bars.
BIPLOT_LABELS = 6
LOADING_BARS = 15
#: Drag sensitivity of the 3-D view (degrees per pixel).
DEGREES_PER_PIXEL = 0.5
SIDE_PLOTS = ("projection", "scree", "kernel", "loadings", "digits", "error")
LAYOUTS = {
    "cloud_2d": ("projection", "scree"), "cloud_3d": ("projection", "scree"), "circles": ("kernel", "projection"),
    "iris": ("scree", "loadings"), "wine": ("scree", "loadings"), "breast_cancer": ("scree", "loadings"),
    "digits": ("digits", "scree", "error"),
}
STAGE_NAMES = {"data": "the data", "centre": "centred", "covariance": "covariance", "power_pc1": "power iteration → PC1",
               "pc1": "PC1", "power_pc2": "power iteration → PC2", "pc2": "PC2", "pc3": "PC3",
               "project": "projecting", "projected": "projected", "analysed": "PCA"}


# -- NumPy helpers (tested) -----------------------------------------------------------------------------
def arrow_segments(origin: np.ndarray, tips: np.ndarray, head: float) -> np.ndarray:
    """Segments (pairs of rows) of arrows from ``origin`` (2,) to each tip, with two head strokes of
    length ``head`` (data units) each."""
    segments = []
    for tip in np.asarray(tips, dtype=float).reshape(-1, 2):
        d = tip - origin
        length = float(np.hypot(*d))
        if not length > 0:
            continue
        u = d / length
        h = min(head, 0.4 * length)
        for angle in (0.45, -0.45):
            c, s = math.cos(angle), math.sin(angle)
            back = np.array([u[0] * c - u[1] * s, u[0] * s + u[1] * c])
            segments += [tip, tip - h * back]
        segments[-4:-4] = [origin, tip]
    return np.asarray(segments).reshape(-1, 2) if segments else np.zeros((0, 2))


def ellipse(cov: np.ndarray, centre: np.ndarray, sigmas: float = 2.0, points: int = 97) -> np.ndarray:
    """The ``sigmas``-σ ellipse of a 2 x 2 covariance around ``centre``, as a closed polyline."""
    values, vectors = np.linalg.eigh(np.asarray(cov, dtype=float))
    t = np.linspace(0.0, 2.0 * math.pi, points)
    circle = np.column_stack([np.cos(t), np.sin(t)]) * sigmas * np.sqrt(np.clip(values, 0.0, None))
    return circle @ vectors.T + centre


def digit_atlas(rows: list[np.ndarray], signed: list[bool], gap: int = 1) -> np.ndarray:
    """One RGBA image of 8 x 8 digit images: a list of rows, each (m, 64); unsigned rows in grey
    (0 white … 16 black, clipped), signed rows blue (−) / white (0) / orange (+) scaled by their largest |value|."""
    columns = max(len(r) for r in rows)
    height, width = len(rows) * (8 + gap) - gap, columns * (8 + gap) - gap
    image = np.full((height, width, 4), 255, dtype=np.uint8)
    blue, orange = np.array([33, 102, 172], dtype=float), np.array([230, 97, 1], dtype=float)
    for r, (row, is_signed) in enumerate(zip(rows, signed)):
        for c, values in enumerate(np.asarray(row, dtype=float).reshape(-1, 64)):
            cell = values.reshape(8, 8)
            if is_signed:
                scale = float(np.max(np.abs(cell))) or 1.0
                t = np.clip(cell / scale, -1.0, 1.0)[..., None]
                rgb = np.where(t >= 0, 255 - (255 - orange) * t, 255 - (255 - blue) * (-t))
            else:
                ink = np.clip(cell / 16.0, 0.0, 1.0)[..., None]
                rgb = np.repeat(255.0 * (1.0 - ink), 3, axis=2)
            top, left = r * (8 + gap), c * (8 + gap)
            image[top:top + 8, left:left + 8, :3] = np.round(rgb).astype(np.uint8)
    return image


def fold_angle(degrees: float) -> float:
    """A line's direction in [−90, 90] degrees."""
    folded = (degrees + 90.0) % 180.0 - 90.0
    return 90.0 if folded == -90.0 and degrees > 0 else folded


# -- items -------------------------------------------------------------------------------------------------
class DragViewBox(pg.ViewBox):
    """A view box whose left-button drags go to ``drag_handler(phase, pos, delta_pixels)`` (data
    coordinates; phase 'start' / 'move' / 'finish') instead of panning."""

    def __init__(self) -> None:
        super().__init__()
        self.drag_handler = None

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph's name
        if self.drag_handler is None or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        phase = "start" if ev.isStart() else "finish" if ev.isFinish() else "move"
        delta = ev.screenPos() - ev.lastScreenPos()
        self.drag_handler(phase, self.mapSceneToView(ev.scenePos()), (float(delta.x()), float(delta.y())))


def _plot(title: str, view_box: pg.ViewBox | None = None) -> pg.PlotItem:
    plot = pg.PlotItem(viewBox=view_box) if view_box is not None else pg.PlotItem()
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    plot.setTitle(title, size=TITLE_SIZE)
    return plot


def _scatter(color: str, size: float = 5, alpha: int = 200) -> pg.ScatterPlotItem:
    c = QtGui.QColor(color)
    c.setAlpha(alpha)
    return UniformScatter(size=size, symbol="o", pen=None, brush=pg.mkBrush(c), antialias=False)


def _pairs(color: str, width: float = 2.0, style=QtCore.Qt.PenStyle.SolidLine, antialias: bool = True) -> pg.PlotCurveItem:
    return pg.PlotCurveItem(pen=pg.mkPen(color, width=width, style=style), connect="pairs", antialias=antialias)


def _set_xy(item, xy: np.ndarray) -> None:
    """Show these points (hide the item when there are none); nothing happens when the item already
    shows exactly them (a drag redraws only what moved)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    shown = getattr(item, "_shown_xy", None)
    if shown is not None and shown.shape == xy.shape and np.array_equal(shown, xy):
        return
    item._shown_xy = xy
    if len(xy):
        item.setData(xy[:, 0], xy[:, 1])
        item.setVisible(True)
    else:
        item.setData([], [])
        item.setVisible(False)


def _place(label: pg.TextItem, text: str | None = None, pos=None, visible: bool = True) -> None:
    """Set a text item's text, position and visibility, touching only what changed."""
    if text is not None and label.textItem.toPlainText() != text:
        label.setText(text)
    if pos is not None:
        x, y = float(pos[0]), float(pos[1])
        if label.pos().x() != x or label.pos().y() != y:
            label.setPos(x, y)
    if label.isVisible() != visible:
        label.setVisible(visible)


class PCAView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.frame: Frame | None = None
        self._last: dict[str, Any] = {}
        self._cells: dict = {}
        self._layout_key: tuple | None = None
        #: While dragging: the live value shown before the window has it (axis angle or view angles).
        self._dragging: dict[str, float] = {}
        self.shown: dict[str, Any] = {}  # derived numbers drawn now (tests and the corner read them)
        self._build()
        self.widget.installEventFilter(self)
        self._arrange(self.widget.width(), self.widget.height())  # puts the plots in the scene, then caches their axes

    # -- building (once) ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.widget.ci.setContentsMargins(2, 2, 2, 2)
        self.view_box = DragViewBox()
        main = _plot("Data", self.view_box)
        main.setAspectLocked(True)
        main.showGrid(x=True, y=True, alpha=0.15)
        self.plots["main"] = main
        self.frame_lines = _pairs(theme.MUTED, 1.0)  # 3-D: the x, y, z axes
        main.addItem(self.frame_lines)
        self.frame_labels = [pg.TextItem(name, color=theme.MUTED, anchor=(0.5, 0.5)) for name in ("x₁", "x₂", "x₃")]
        for label in self.frame_labels:
            main.addItem(label, ignoreBounds=True)
        self.segments = _pairs("#b0b0b0", 1.0, antialias=False)  # up to 2,000 thin lines
        main.addItem(self.segments)
        self.class_items = [_scatter(color) for color in COLORS]
        for item in self.class_items:
            main.addItem(item)
            cache_static(item)  # repainted from a pixmap while k, your axis or the labels change
        self.ellipse_curve = pg.PlotCurveItem(pen=pg.mkPen(theme.FOREGROUND, width=1.2,
                                                           style=QtCore.Qt.PenStyle.DashLine))
        main.addItem(self.ellipse_curve)
        self.mean_item = pg.ScatterPlotItem(size=14, symbol="+", pen=pg.mkPen(theme.FOREGROUND, width=2), brush=None)
        self.mean_item.setZValue(12)
        main.addItem(self.mean_item)
        self.axis_line = pg.PlotCurveItem(pen=pg.mkPen(AXIS_COLOR, width=2, style=QtCore.Qt.PenStyle.DashDotLine))
        self.axis_line.setZValue(14)
        main.addItem(self.axis_line, ignoreBounds=True)
        self.candidate = _pairs(CANDIDATE_COLOR, 2.5, QtCore.Qt.PenStyle.DashLine)
        self.candidate.setZValue(16)
        main.addItem(self.candidate)
        self.component_arrows = [_pairs(color, 3.0) for color in COMPONENT_COLORS]
        self.component_labels = []
        for arrow, color in zip(self.component_arrows, COMPONENT_COLORS):
            arrow.setZValue(18)
            main.addItem(arrow)
            label = pg.TextItem("", color=color, anchor=(0.5, 0.5))
            label.setZValue(19)
            main.addItem(label, ignoreBounds=True)
            self.component_labels.append(label)
        self.biplot = _pairs(theme.DIVERGED, 1.5)
        self.biplot.setZValue(17)
        main.addItem(self.biplot)
        self.biplot_labels = [pg.TextItem("", color=theme.DIVERGED, anchor=(0.5, 0.5)) for _ in range(BIPLOT_LABELS)]
        for label in self.biplot_labels:
            label.setZValue(19)
            main.addItem(label, ignoreBounds=True)
        small = QtGui.QFont()
        small.setPointSizeF(8.5)
        self.corner = corner_text(main)

        projection = _plot("Projection")
        projection.showGrid(x=True, alpha=0.2)
        self.strip_items = [[_scatter(color, 6, 150) for color in COLORS[:2]] for _ in range(3)]
        for row in self.strip_items:
            for item in row:
                projection.addItem(item)
                cache_static(item)
        self.projection_items = [_scatter(color, 5) for color in COLORS[:1]]
        for item in self.projection_items:
            projection.addItem(item)
        self.projection_text = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        projection.addItem(self.projection_text, ignoreBounds=True)
        self.plots["projection"] = projection

        scree = _plot("Scree: explained variance ratio")
        scree.setLabel("bottom", "component")
        scree.showGrid(y=True, alpha=0.25)
        self.scree_bars = pg.BarGraphItem(x=[1], height=[0], width=0.8, brush=pg.mkBrush(theme.SERIES[0]), pen=None)
        scree.addItem(self.scree_bars)
        self.cumulative = pg.PlotCurveItem(pen=pg.mkPen(theme.SERIES[1], width=1.5))
        self.cumulative_dots = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(theme.SERIES[1]), pen=None)
        scree.addItem(self.cumulative)
        scree.addItem(self.cumulative_dots)
        self.kept_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.DIVERGED, width=1,
                                                                                style=QtCore.Qt.PenStyle.DashLine),
                                         label="k = {value:.0f}", labelOpts={"position": 0.6, "color": theme.DIVERGED,
                                                                            "fill": (255, 255, 255, 200)})
        scree.addItem(self.kept_line, ignoreBounds=True)
        scree.setYRange(0, 1.05, padding=0)
        self.plots["scree"] = scree

        kernel = _plot("Kernel PCA (RBF)")
        kernel.setLabel("bottom", "kernel PC1")
        kernel.setLabel("left", "kernel PC2")
        self.kernel_items = [_scatter(color) for color in COLORS[:2]]
        for item in self.kernel_items:
            kernel.addItem(item)
        self.plots["kernel"] = kernel

        loadings = _plot("Loadings")
        self.loading_bars = pg.BarGraphItem(x0=[0], y=[0], width=[0], height=0.7, brushes=[theme.SERIES[0]], pen=None)
        loadings.addItem(self.loading_bars)
        loadings.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(theme.MUTED, width=1)), ignoreBounds=True)
        loadings.getAxis("left").setStyle(tickFont=small)
        self.plots["loadings"] = loadings

        digits = _plot("Digits")
        digits.setAspectLocked(True)
        digits.invertY(True)
        digits.hideAxis("bottom")
        digits.getAxis("left").setStyle(tickFont=small, tickLength=0)
        self.digit_image = pg.ImageItem(axisOrder="row-major")
        digits.addItem(self.digit_image)
        self.plots["digits"] = digits

        error = _plot("Reconstruction error vs k")
        error.setLabel("bottom", "components kept k")
        error.showGrid(y=True, alpha=0.25)
        self.error_curve = pg.PlotCurveItem(pen=pg.mkPen(theme.SERIES[0], width=1.5))
        self.error_mark = pg.ScatterPlotItem(size=11, brush=None, pen=pg.mkPen(theme.DIVERGED, width=2))
        error.addItem(self.error_curve)
        error.addItem(self.error_mark)
        self.error_text = pg.TextItem("", color=theme.DIVERGED, anchor=(-0.05, 1.1))
        error.addItem(self.error_text, ignoreBounds=True)
        self.plots["error"] = error

        for name in SIDE_PLOTS:
            self.plots[name].setPreferredSize(160, 120)
            self.plots[name].setMinimumSize(60, 60)
        main.setMinimumSize(120, 120)
        self.view_box.drag_handler = self._dragged

    # -- layout -------------------------------------------------------------------------------------------------
    def resized(self, width: float, height: float) -> None:
        self._arrange(width, height)

    def _arrange(self, width: float, height: float) -> None:
        """The square main plot on the left with the data set's side plots stacked beside it; in a tall
        view (width < TALL_RATIO x height) the main plot on top and the side plots in a row below."""
        dataset = self.params.get("dataset", "cloud_2d")
        side = LAYOUTS[dataset]
        mode = "wide" if width >= TALL_RATIO * height else "tall"
        main = self.plots["main"]
        if (mode, dataset) != self._layout_key:
            cells: dict[Any, tuple[int, int, int, int] | None] = {self.plots[n]: None for n in SIDE_PLOTS}
            grid = self.widget.ci.layout
            if mode == "wide":
                cells[main] = (0, 0, len(side), 1)
                for row, name in enumerate(side):
                    cells[self.plots[name]] = (row, 1, 1, 1)
            else:
                cells[main] = (0, 0, 1, len(side))
                for col, name in enumerate(side):
                    cells[self.plots[name]] = (1, col, 1, 1)
            place_cells(self.widget.ci, cells, self._cells)
            for name in SIDE_PLOTS:
                self.plots[name].setVisible(name in side)
            # Only the columns and rows in use stretch (an empty stretching column takes room).
            columns, rows = (2, len(side)) if mode == "wide" else (len(side), 2)
            for index in range(4):
                grid.setColumnStretchFactor(index, 0 if index >= columns or (mode == "wide" and index == 0) else 1)
                grid.setRowStretchFactor(index, 1 if index < rows else 0)
            self._layout_key = (mode, dataset)
            self.cache_axes()  # plots just added to the layout (only items in the scene are found)
            # Turning the 3-D view moves every point each frame: a pixmap cache would only be redrawn.
            mode_wanted = (QtWidgets.QGraphicsItem.CacheMode.NoCache if dataset == "cloud_3d"
                           else QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            for item in self.class_items:
                if item.cacheMode() != mode_wanted:
                    item.setCacheMode(mode_wanted)
        square_main_plot(main, mode == "wide", width, height, 0.58, 0.6)

    # -- parameters and dragging ------------------------------------------------------------------------------
    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)
        for name in list(self._dragging):
            if math.isclose(float(self.params.get(name, math.nan)), self._dragging[name], abs_tol=0.05):
                del self._dragging[name]
        self._arrange(self.widget.width(), self.widget.height())

    def live(self, name: str) -> float:
        """A live value as drawn now: the one being dragged, else the parameter's."""
        return float(self._dragging.get(name, self.params[name]))

    def _dragged(self, phase: str, pos: QtCore.QPointF, delta: tuple[float, float]) -> None:
        if self.frame is None:
            return
        dataset = self.params.get("dataset")
        if dataset in ("cloud_2d", "circles"):
            origin = self._axis_origin(self.frame)
            dx, dy = float(pos.x()) - origin[0], float(pos.y()) - origin[1]
            if math.hypot(dx, dy) <= 0:
                return
            values = {"axis_angle": round(fold_angle(math.degrees(math.atan2(dy, dx))), 1)}
        elif dataset == "cloud_3d":
            azimuth, elevation = turned(self.live("azimuth"), self.live("elevation"), delta[0], delta[1],
                                        DEGREES_PER_PIXEL)
            values = {"azimuth": azimuth, "elevation": elevation}
        else:
            return
        self._dragging.update(values)
        self.show(self.frame)
        if phase == "finish" or phase == "move":
            self.paramsRequested.emit(dict(values))

    # -- showing ------------------------------------------------------------------------------------------------
    def _changed(self, name: str, *values) -> bool:
        if same_values(self._last.get(name), values):
            return False
        self._last[name] = values
        return True

    # Titles, axis labels and ticks are set only when they change: each set re-lays out and repaints
    # the axis (~6 ms a frame per axis while dragging).
    def _title(self, plot: str, text: str) -> None:
        if self._changed(f"title:{plot}", text):
            self.plots[plot].setTitle(text, size=TITLE_SIZE)

    def _label(self, plot: str, side: str, text: str) -> None:
        if self._changed(f"label:{plot}:{side}", text):
            self.plots[plot].setLabel(side, text)

    def _ticks(self, plot: str, side: str, ticks) -> None:
        if self._changed(f"ticks:{plot}:{side}", repr(ticks)):
            self.plots[plot].getAxis(side).setTicks(ticks)

    def _axis_origin(self, frame: Frame) -> np.ndarray:
        """Where the principal axes and your axis pass through: the mean before centring, else 0."""
        if frame.data["stage"] == "data":
            return np.asarray(frame.data["mean"], dtype=float)[:2]
        return np.zeros(2)

    def show(self, frame: Frame) -> None:
        self.frame = frame
        data = frame.data
        dataset = self.params.get("dataset", "cloud_2d")
        self._arrange(self.widget.width(), self.widget.height())
        d = int(np.asarray(data["points"]).shape[1])
        if dataset in pca_sim.REAL_DATASETS:
            self._show_real(frame)
        else:
            self._show_story(frame, d)
        self._show_scree(frame)
        if dataset == "circles":
            self._show_kernel(frame)
        if dataset in pca_sim.STORY_DATASETS:
            self._show_projection(frame, d)
        if dataset in ("iris", "wine", "breast_cancer"):
            self._show_loadings(frame)
        if dataset == "digits":
            self._show_digits(frame)

    # story data sets ---------------------------------------------------------------------------------------------
    def _story_positions(self, frame: Frame) -> np.ndarray:
        """The points as the stage shows them (raw, centred, or sliding onto the PCs)."""
        data = frame.data
        stage = data["stage"]
        if stage == "data":
            return np.asarray(data["points"], dtype=float)
        if "moved_points" in data:
            return np.asarray(data["moved_points"], dtype=float)
        return (np.asarray(data["points"], dtype=float) - np.asarray(data["mean"])) / np.asarray(data["scale"])

    def _to_screen(self, points: np.ndarray, d: int) -> np.ndarray:
        points = np.asarray(points, dtype=float).reshape(-1, d)
        if d == 3:
            return orthographic(points, self.live("azimuth"), self.live("elevation"))
        return points

    def _show_story(self, frame: Frame, d: int) -> None:
        data = frame.data
        stage = str(data["stage"])
        main = self.plots["main"]
        labels = np.asarray(data["labels"])
        positions = self._story_positions(frame)
        screen = self._to_screen(positions, d)
        view_key = (self.live("azimuth"), self.live("elevation")) if d == 3 else ()
        if self._changed("story_points", positions, labels, view_key):
            for c, item in enumerate(self.class_items):
                _set_xy(item, screen[labels == c])
        # A fixed range over every stage (raw and centred; in 3-D every view angle).
        raw = np.asarray(data["points"], dtype=float)
        centred = (raw - np.asarray(data["mean"])) / np.asarray(data["scale"])
        if self._changed("story_range", raw, centred, d):
            if d == 3:
                # The 99th percentile: one far point must not shrink the cloud in every view.
                radius = 1.15 * float(max(np.percentile(np.linalg.norm(raw, axis=1), 99),
                                          np.percentile(np.linalg.norm(centred, axis=1), 99), 1e-9))
                main.setRange(QtCore.QRectF(-radius, -radius, 2 * radius, 2 * radius), padding=0)
            else:
                both = np.vstack([raw, centred, [[0.0, 0.0]]])
                low, high = both.min(axis=0), both.max(axis=0)
                main.setRange(QtCore.QRectF(low[0], low[1], high[0] - low[0], high[1] - low[1]), padding=0.06)
        origin3 = np.asarray(data["mean"])[:d] if stage == "data" else np.zeros(d)
        origin = self._to_screen(origin3, d)[0]
        # 3-D frame: the coordinate axes through the origin.
        if d == 3:
            radius = 0.9 * float(max(np.max(np.abs(centred)), 1e-9))
            ends = self._to_screen(np.vstack([np.zeros(3), radius * np.eye(3)]), 3)
            _set_xy(self.frame_lines, np.vstack([[ends[0], ends[i]] for i in (1, 2, 3)]).reshape(-1, 2))
            for i, label in enumerate(self.frame_labels):
                _place(label, pos=ends[i + 1] * 1.08)
        else:
            _set_xy(self.frame_lines, np.zeros((0, 2)))
            for label in self.frame_labels:
                _place(label, visible=False)
        _set_xy(self.mean_item, origin[None, :] if stage in ("data", "centre") else np.zeros((0, 2)))
        cov = np.asarray(data["covariance"])
        if d == 2 and stage not in ("data", "centre"):
            _set_xy(self.ellipse_curve, ellipse(cov, origin))
        else:
            _set_xy(self.ellipse_curve, np.zeros((0, 2)))
        span = float(np.max(np.abs(centred))) if len(centred) else 1.0
        head = 0.06 * span
        # The candidate direction of the power iteration.
        if "candidate" in data:
            v = np.asarray(data["candidate"], dtype=float)
            length = 2.0 * math.sqrt(max(float(data["candidate_variance"]), 0.0))
            tip = self._to_screen(length * v, d)
            _set_xy(self.candidate, arrow_segments(origin, tip, head))
        else:
            _set_xy(self.candidate, np.zeros((0, 2)))
        found = int(data["components_found"])
        components = np.asarray(data["components"])
        eigenvalues = np.asarray(data["eigenvalues"])
        for i, (arrow, label) in enumerate(zip(self.component_arrows, self.component_labels)):
            if i < found and i < d:
                tip3 = 2.0 * math.sqrt(float(eigenvalues[i])) * components[i]
                tip = self._to_screen(tip3, d)[0]
                if not np.hypot(*(tip - origin)) > 0:
                    tip = origin + 1e-9
                _set_xy(arrow, arrow_segments(origin, tip[None, :], head))
                direction = tip - origin
                norm = float(np.hypot(*direction)) or 1.0
                _place(label, f"PC{i + 1}", tip + direction / norm * 0.09 * span)
            else:
                _set_xy(arrow, np.zeros((0, 2)))
                _place(label, visible=False)
        # Your own axis (2-D data): a line through the origin.
        if d == 2:
            angle = self.live("axis_angle")
            u = pca_sim.angle_direction(angle)
            reach = 4.0 * span
            _set_xy(self.axis_line, np.vstack([origin - reach * u, origin + reach * u]))
        else:
            _set_xy(self.axis_line, np.zeros((0, 2)))
        # While projecting: each point's reconstruction error, from the point to its projection.
        if "moved_points" in data:
            kept = components[: d - 1]
            segments = np.empty((2 * len(centred), 2))
            segments[0::2] = self._to_screen(centred, d)
            segments[1::2] = self._to_screen((centred @ kept.T) @ kept, d)
            _set_xy(self.segments, segments)
        else:
            _set_xy(self.segments, np.zeros((0, 2)))
        _set_xy(self.biplot, np.zeros((0, 2)))
        for label in self.biplot_labels:
            _place(label, visible=False)
        self._story_corner(frame, d, centred)
        features = pca_sim.generate(self.params)[2] if self._changed("features_for", self.params.get("dataset"),
                                                                    self.params.get("big_scale")) else None
        if features is not None:
            self.features = features
        names = getattr(self, "features", ("x₁", "x₂", "x₃"))
        if d == 2:
            self._label("main", "bottom", names[0])
            self._label("main", "left", names[1])
        else:
            self._label("main", "bottom", f"3-D view: azimuth {self.live('azimuth'):.0f}°, elevation "
                                    f"{self.live('elevation'):.0f}° (drag to turn)")
            self._label("main", "left", "")
        self._title("main", f"{STAGE_NAMES.get(stage, stage)}" + (" — drag to turn your axis" if d == 2 else ""))

    def _story_corner(self, frame: Frame, d: int, centred: np.ndarray) -> None:
        data = frame.data
        stage = str(data["stage"])
        lines = [f"step {frame.step} · {STAGE_NAMES.get(stage, stage)}"]
        if stage not in ("data", "centre"):
            cov = np.asarray(data["covariance"])
            lines.append("covariance C =")
            for row in cov:
                lines.append("  [" + "  ".join(f"{value:8.3f}" for value in row) + " ]")
        eigenvalues = np.asarray(data["eigenvalues"])
        if "candidate" in data:
            which = 1 if stage == "power_pc1" else 2
            lines.append(f"iteration {int(data['candidate_iteration'])}: variance {float(data['candidate_variance']):.4g}"
                         f" of λ{which} = {eigenvalues[which - 1]:.4g}")
            lines.append(f"angle to PC{which}: {float(data['candidate_angle_to_pc']):.3g}°")
        if d == 2:
            u = pca_sim.angle_direction(self.live("axis_angle"))
            variance = pca_sim.captured_variance(centred, u)
            n = len(centred)
            error = float(np.mean(np.sum(centred ** 2, axis=1))) - variance * (n - 1) / n
            best_error = float(np.asarray(data["reconstruction_error"])[1])
            self.shown["axis_variance"] = variance
            self.shown["axis_error"] = error
            lines.append(f"your axis ({self.live('axis_angle'):.0f}°): variance {variance:.4g}, error {error:.4g}")
            lines.append(f"PC1: variance {eigenvalues[0]:.4g}, error {best_error:.4g}")
        text = "\n".join(lines)
        if self._changed("corner", text):
            self.corner.setText(text)

    def _show_projection(self, frame: Frame, d: int) -> None:
        data = frame.data
        plot = self.plots["projection"]
        labels = np.asarray(data["labels"])
        scores = np.asarray(data["scores"])
        stage = str(data["stage"])
        found = int(data["components_found"])
        points = np.asarray(data["points"], dtype=float)
        centred = (points - np.asarray(data["mean"])) / np.asarray(data["scale"])
        for row in self.strip_items:
            for item in row:
                _set_xy(item, np.zeros((0, 2)))
        _set_xy(self.projection_items[0], np.zeros((0, 2)))
        if d == 3:
            self._title("projection", "Projection onto PC1-PC2")
            plot.showAxis("left")
            self._ticks("projection", "left", None)
            if stage in ("project", "projected"):
                slide = float(data.get("slide", 1.0))
                _set_xy(self.projection_items[0], scores[:, :2])
                self.projection_items[0].setOpacity(max(0.25, slide))
                self.projection_text.setVisible(False)
            else:
                self.projection_text.setText("the PC1-PC2 scores appear when the points are projected")
                self.projection_text.setPos(0, 0)
                self.projection_text.setVisible(True)
            plot.setAspectLocked(True)
            if self._changed("projection_range", scores[:, :2]):
                reach = 1.05 * float(np.max(np.abs(scores[:, :2]))) if len(scores) else 1.0
                plot.setRange(QtCore.QRectF(-reach, -reach, 2 * reach, 2 * reach), padding=0)
            return
        plot.setAspectLocked(False)
        self._title("projection", "1-D projections (scores)")
        rows = []  # (name, values)
        if found >= 1:
            rows.append(("PC1", scores[:, 0]))
        u = pca_sim.angle_direction(self.live("axis_angle"))
        rows.append(("your axis", centred @ u))  # a fixed label: a changing one re-lays out the plot per drag step
        if "kernel.projections" in data:
            kernel = np.asarray(data["kernel.projections"])
            rows.append(("kernel PC1", kernel[:, 0]))
        rows = rows[::-1]  # the first named on top
        ticks = []
        jitter = np.random.default_rng(0).uniform(-0.18, 0.18, len(points))
        for r, (name, values) in enumerate(rows):
            lab = labels[: len(values)] if len(values) < len(labels) else labels
            spread = float(np.max(np.abs(values))) if len(values) else 1.0
            values = values / spread if name.startswith("kernel") and spread > 0 else values
            for c in range(2):
                mask = lab == c
                _set_xy(self.strip_items[r][c], np.column_stack([values[mask], r + jitter[: len(values)][mask]]))
            ticks.append((r, name))
        plot.showAxis("left")
        self._ticks("projection", "left", [ticks, []])
        self.projection_text.setVisible(False)
        if self._changed("projection_rows", len(rows)):
            plot.setYRange(-0.6, len(rows) - 0.4, padding=0)
        if self._changed("projection_x", scores[:, 0] if len(scores) else None):
            extent = float(np.max(np.abs(centred))) * 1.05 if len(centred) else 1.0
            plot.setXRange(-extent, extent, padding=0)
        self._label("projection", "bottom", "score" + (" (kernel PC1 scaled to the same width)"
                                                       if "kernel.projections" in data else ""))

    def _show_kernel(self, frame: Frame) -> None:
        data = frame.data
        projections = np.asarray(data["kernel.projections"])
        labels = np.asarray(data["kernel.labels"])
        if self._changed("kernel", projections):
            for c, item in enumerate(self.kernel_items):
                _set_xy(item, projections[labels == c][:, :2] if projections.shape[1] >= 2 else np.zeros((0, 2)))
            self.plots["kernel"].enableAutoRange()
        self._title("kernel", f"Kernel PCA (RBF, γ = {float(self.params['gamma']):g})")

    # real data sets --------------------------------------------------------------------------------------------
    def _show_real(self, frame: Frame) -> None:
        data = frame.data
        main = self.plots["main"]
        scores = np.asarray(data["scores"])
        d = scores.shape[1]
        labels = np.asarray(data["labels"])
        i = min(int(self.params["pc_x"]), d) - 1
        j = min(int(self.params["pc_y"]), d) - 1
        xy = scores[:, [i, j]]
        if self._changed("real_points", scores, labels, i, j):
            for c, item in enumerate(self.class_items):
                _set_xy(item, xy[labels == c])
            main.enableAutoRange()
            main.autoRange(padding=0.08)
        for item in (self.frame_lines, self.segments, self.ellipse_curve, self.axis_line, self.candidate,
                     *self.component_arrows):
            _set_xy(item, np.zeros((0, 2)))
        _set_xy(self.mean_item, np.zeros((0, 2)))
        for label in (*self.frame_labels, *self.component_labels):
            _place(label, visible=False)
        ratio = np.asarray(data["explained_variance_ratio"])
        self._label("main", "bottom", f"PC{i + 1} ({ratio[i]:.1%} of the variance)")
        self._label("main", "left", f"PC{j + 1} ({ratio[j]:.1%})")
        names, classes = self._names()
        self._title("main", f"{self.params['dataset'].replace('_', ' ').capitalize()}: scores, coloured by "
                            f"{'digit' if self.params['dataset'] == 'digits' else 'class'}")
        # Biplot: every feature's loadings on the two shown components (not for 64 pixels).
        components = np.asarray(data["components"])
        if self.params["dataset"] != "digits" and i != j:
            loads = components[[i, j]].T  # d x 2
            length = np.hypot(loads[:, 0], loads[:, 1])
            reach = 0.85 * float(np.max(np.abs(xy))) if len(xy) else 1.0
            factor = reach / float(np.max(length)) if np.max(length) > 0 else 1.0
            tips = loads * factor
            _set_xy(self.biplot, arrow_segments(np.zeros(2), tips, 0.03 * reach))
            top = np.argsort(length)[::-1][:BIPLOT_LABELS]
            for label, feature in zip(self.biplot_labels, list(top) + [None] * BIPLOT_LABELS):
                if feature is None:
                    _place(label, visible=False)
                    continue
                _place(label, names[feature][:22], tips[feature] * 1.1)
        else:
            _set_xy(self.biplot, np.zeros((0, 2)))
            for label in self.biplot_labels:
                _place(label, visible=False)
        k = min(int(self.params["components"]), d)
        lines = [f"{len(scores)} samples × {d} features" + (" (standardised)" if self.params["standardize"] else ""),
                 f"k = {k}: {float(np.sum(ratio[:k])):.1%} of the variance kept"]
        if self.params["dataset"] != "digits" and i != j:
            lines.append("arrows: each feature's loadings on the shown PCs")
        legend = ", ".join(f"{c}" for c in classes[:10])
        lines.append(f"classes: {legend}")
        text = "\n".join(lines)
        if self._changed("corner", text):
            self.corner.setText(text)
        self.shown["variance_kept"] = float(np.sum(ratio[:k]))

    def _names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self._changed("names_for", self.params.get("dataset"), self.params.get("big_scale")):
            _, _, features, classes = pca_sim.generate(self.params)
            self._name_cache = (features, classes)
        return self._name_cache

    def _show_scree(self, frame: Frame) -> None:
        data = frame.data
        ratio = np.asarray(data["explained_variance_ratio"])
        found = int(data["components_found"])
        shown = ratio[:found] if found else np.zeros(0)
        d = len(ratio)
        if self._changed("scree", shown, d):
            x = np.arange(1, len(shown) + 1)
            self.scree_bars.setOpts(x=x if len(x) else [1], height=shown if len(shown) else [0], width=0.8)
            cumulative = np.cumsum(shown)
            self.cumulative.setData(x, cumulative) if len(x) else self.cumulative.setData([], [])
            self.cumulative_dots.setData(x, cumulative) if len(x) else self.cumulative_dots.setData([], [])
            self.plots["scree"].setXRange(0.4, d + 0.6, padding=0)
            every = 1 if d <= 13 else 10  # whole-number ticks: components are counted
            self._ticks("scree", "bottom", [[(i, str(i)) for i in range(every if every > 1 else 1, d + 1, every)], []])
            self.plots["scree"].setYRange(0, 1.05, padding=0)
        if self.params.get("dataset") in pca_sim.REAL_DATASETS:
            k = min(int(self.params["components"]), d)
        else:
            k = d - 1
        if self._changed("kept_line", k, found > 0):
            self.kept_line.setValue(k)
            self.kept_line.setVisible(found > 0)
        self._title("scree", "Scree: variance ratio (bars), running total (line)")

    def _show_loadings(self, frame: Frame) -> None:
        data = frame.data
        components = np.asarray(data["components"])
        d = components.shape[1]
        i = min(int(self.params["pc_x"]), d) - 1
        names, _ = self._names()
        loads = components[i]
        order = np.argsort(np.abs(loads))[::-1][:LOADING_BARS][::-1]
        if self._changed("loadings", loads, i):
            values = loads[order]
            brushes = [pg.mkBrush(theme.SERIES[1] if v >= 0 else theme.SERIES[0]) for v in values]
            self.loading_bars.setOpts(x0=np.minimum(values, 0.0), y=np.arange(len(order)), width=np.abs(values),
                                      height=0.7, brushes=brushes)
            self._ticks("loadings", "left", [[(r, names[f][:18]) for r, f in enumerate(order)], []])
            self.plots["loadings"].setYRange(-0.6, len(order) - 0.4, padding=0)
            reach = float(np.max(np.abs(values))) * 1.1 or 1.0
            self.plots["loadings"].setXRange(-reach, reach, padding=0)
        more = f" (top {len(order)} of {d})" if d > len(order) else ""
        title = f"Loadings of PC{i + 1}{more}"
        self._title("loadings", title)

    def _show_digits(self, frame: Frame) -> None:
        data = frame.data
        components = np.asarray(data["components"])
        d = components.shape[0]
        k = min(int(self.params["components"]), d)
        points = np.asarray(data["points"])[: pca_sim.DIGITS_SHOWN]
        scores = np.asarray(data["scores"])[: pca_sim.DIGITS_SHOWN]
        rebuilt = pca_sim.reconstruct(scores, components, k, np.asarray(data["mean"]), np.asarray(data["scale"]))
        self.shown["digits.reconstruction"] = rebuilt
        if self._changed("digits", rebuilt, k):
            atlas = self._third_row(points, rebuilt, np.asarray(data["mean"]), components)
            self.digit_image.setImage(atlas, levels=None, autoLevels=False)
            self.digit_image.setRect(QtCore.QRectF(0, 0, atlas.shape[1], atlas.shape[0]))
            self.plots["digits"].setRange(QtCore.QRectF(0, 0, atlas.shape[1], atlas.shape[0]), padding=0.02)
            ticks = [(4, "original"), (13, "rebuilt"), (22, "mean, PC1…")]  # fixed: k is in the title of the scree
            self._ticks("digits", "left", [ticks, []])
        errors = np.asarray(data["reconstruction_error"])
        if self._changed("error_curve", errors):
            self.error_curve.setData(np.arange(len(errors)), errors)
            # A fixed range: the moving marker must not re-range (and repaint) the axes.
            top = float(errors[0]) or 1.0
            self.plots["error"].setRange(xRange=(-0.5, len(errors) - 0.5), yRange=(0.0, 1.08 * top), padding=0)
        _set_xy(self.error_mark, np.array([[k, errors[k]]]))
        self.shown["reconstruction_error"] = float(errors[k])
        # Fixed titles (a title of another length re-lays out the whole view); the numbers go in the plot.
        self._title("error", "Reconstruction error vs k")
        self._title("digits", "Originals, rebuilt from k PCs, mean and PC images")
        _place(self.error_text, f"k = {k}: mean squared error {errors[k]:.4g}", (float(k), float(errors[k])))

    @staticmethod
    def _third_row(points: np.ndarray, rebuilt: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
        """Originals, reconstructions, then the mean (grey) and PC1..PC7 (signed) in one atlas."""
        grey = digit_atlas([points, rebuilt, mean[None, :]], [False, False, False])
        signed = digit_atlas([components[: pca_sim.DIGITS_SHOWN - 1]], [True])
        top = 2 * 9
        grey[top:top + 8, 9:9 + signed.shape[1]] = signed[:, : grey.shape[1] - 9]
        return grey

    def close(self) -> None:
        super().close()
