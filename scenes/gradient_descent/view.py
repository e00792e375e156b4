"""pyqtgraph view of the gradient-descent race: surface + trails, loss gap, and the line fit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from explorer.contours import contour_path
from explorer.params import Float, find
from explorer.projection import orthographic, turned
from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, nice_ceiling, place_cells

from .optimizers import LABELS, OPTIMIZERS
from .sim import PARAMS, domain_of, enabled
from .surfaces import Surface, make_surface

#: Image cells along the domain's longer side: the extent beyond it has the same density.
GRID = 250
#: How far beyond the plot domain the map is drawn (see surface_extent).
EXTENT = 2.4
#: The view puts the plots side by side only when it is at least this wide (pixels) and at least
#: SIDE_RATIO times as wide as tall; else it stacks them (map on top): a side-by-side map in a
#: narrow view gets a strip of a cell, far taller than wide.
SIDE_MIN_WIDTH = 700
#: At most this many points of a trail are drawn, the newest TRAIL_RECENT of them all.
TRAIL_POINTS = 3000
TRAIL_RECENT = 1000
#: Loss-gap curves longer than 2 × this are drawn peak-decimated (see drawn_loss_steps).
LOSS_BUCKETS = 1000
SIDE_RATIO = 0.85
FIELD_GRID = 19
CONTOUR_LEVELS = 14
COLORMAP = "viridis"
#: How much of the colour map's strength is kept (the rest is white) so trails stand out.
COLOR_STRENGTH = 0.62
#: Okabe–Ito colours (theme.SERIES) per optimiser, skipping sky blue (too close to blue) and
#: yellow (invisible on the map).
SERIES_INDEX = {"gd": 0, "momentum": 1, "nesterov": 2, "adagrad": 3, "rmsprop": 4, "adam": 7}
CONTOUR_PEN = (35, 35, 35, 70)
#: Lines of the 3-D wireframe in each direction, and its height as a share of the domain's width.
WIRE = 31
WIRE_HEIGHT = 0.55
WIRE_PEN = (60, 60, 60, 110)
FIELD_PEN = (255, 255, 255, 150)


@dataclass(frozen=True)
class PreparedSurface:
    """Everything heavy the surface plot needs, computed off the UI thread."""

    title: str
    axis_labels: tuple[str, str]
    domain: tuple[float, float, float, float]
    extent: tuple[float, float, float, float]   # what the image covers (see surface_extent)
    image: np.ndarray            # (ny, nx, 4) uint8, row-major (row = y), over ``extent``
    contour: np.ndarray          # (k, 2) with NaN rows between lines
    field: np.ndarray            # (k, 2) with NaN rows between arrows
    minima: np.ndarray           # (m, 2)
    global_minima: np.ndarray    # (g, 2) the ones with f = f*
    saddles: np.ndarray          # (s, 2)
    gradient_scale: float        # a typical gradient norm on the domain
    aspect: float = 1.0          # y units per x unit on screen; 1 = true geometry (locked)
    data_x: np.ndarray | None = None
    data_y: np.ndarray | None = None
    fit: tuple[float, float] | None = None   # least-squares (θ0, θ1) of the MSE data
    #: The 3-D view: heights of a WIRE² grid over the domain in [0, 1] (NaN where f is undefined), and
    #: the map from a loss gap to that height: clip((log10(gap + offset) − low) / (high − low), 0, 1).
    wire: np.ndarray | None = None
    height_offset: float = 0.0
    height_low: float = 0.0
    height_high: float = 1.0
    f_star_estimated: bool = False


def _arrow_segments(starts: np.ndarray, vectors: np.ndarray, head: float = 0.3,
                    angle: float = 0.45, aspect: float = 1.0) -> np.ndarray:
    """Shaft and two head strokes per arrow, as one (7k, 2) polyline with NaN breaks.

    ``aspect`` = y units per x unit on screen, so heads look right on unequal axes.
    """
    tips = starts + vectors
    vectors = vectors / np.array([1.0, aspect])
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    back = -vectors * head
    left = np.column_stack([cos_a * back[:, 0] - sin_a * back[:, 1], sin_a * back[:, 0] + cos_a * back[:, 1]])
    right = np.column_stack([cos_a * back[:, 0] + sin_a * back[:, 1], -sin_a * back[:, 0] + cos_a * back[:, 1]])
    left[:, 1] *= aspect
    right[:, 1] *= aspect
    nan = np.full_like(starts, np.nan)
    # shaft, break, left barb, tip, right barb, break
    parts = np.stack([starts, tips, nan, tips + left, tips, tips + right, nan], axis=1)
    return parts.reshape(-1, 2)


def surface_extent(surface: Surface) -> tuple[float, float, float, float]:
    """The region the map is drawn over: the plot domain grown EXTENT times about its centre, so a
    plot whose locked aspect shows more than the domain in one direction still shows map there
    (no white bands), for any plot cell from EXTENT times wider than tall to EXTENT times taller."""
    x0, x1, y0, y1 = surface.domain
    # A square about the domain's centre, EXTENT times its longer side (the line fit's is 8 × 5).
    cx, cy, half = 0.5 * (x0 + x1), 0.5 * (y0 + y1), 0.5 * EXTENT * max(x1 - x0, y1 - y0)
    return (cx - half, cx + half, cy - half, cy + half)


def prepare_surface(surface: Surface) -> PreparedSurface:
    """Colour image, contour lines, gradient field and markers of ``surface`` (pure NumPy)."""
    x0, x1, y0, y1 = surface.domain
    e0, e1, f0, f1 = extent = surface_extent(surface)
    cells_per_unit = GRID / max(x1 - x0, y1 - y0)
    nx = round(cells_per_unit * (e1 - e0))
    ny = round(cells_per_unit * (f1 - f0))
    xs = np.linspace(e0, e1, nx)
    ys = np.linspace(f0, f1, ny)
    grid_x, grid_y = np.meshgrid(xs, ys)
    inside = (grid_x >= x0) & (grid_x <= x1) & (grid_y >= y0) & (grid_y <= y1)
    f_star = surface.f_min
    with np.errstate(all="ignore"):
        gap = np.maximum(surface.f(grid_x, grid_y) - f_star, 0.0)
    # Colours are scaled on the domain only, so the extent beyond it never changes them.
    in_domain = gap[inside]
    top = float(np.nanmax(in_domain)) if np.isfinite(in_domain).any() else 1.0
    # log10(gap + offset·top): continuous in the surface's colour offset (and so in the bowl's κ).
    with np.errstate(all="ignore"):
        values = np.log10(gap + max(top, 1e-12) * surface.color_offset)
    low, high = float(np.nanpercentile(values[inside], 0.5)), float(np.nanpercentile(values[inside], 99.5))
    if not high > low:
        high = low + 1.0
    rgba = theme.colorize(values, COLORMAP, low, high)
    # Wash the map towards white so coloured trails stay readable on top of it.
    rgb = rgba[..., :3].astype(np.float32)
    rgba[..., :3] = (255.0 - (255.0 - rgb) * COLOR_STRENGTH).astype(np.uint8)
    rgba[~np.isfinite(values)] = (236, 236, 236, 255)  # where f is undefined (a custom f): plain light grey
    rgba[..., 3] = 255

    levels = np.linspace(low, high, CONTOUR_LEVELS + 2)[1:-1]
    contour = contour_path(xs, ys, values, levels)
    if not len(contour):
        contour = np.full((1, 2), np.nan)

    # The field: FIELD_GRID arrows per domain width, over the whole extent.
    per_x = per_y = max(x1 - x0, y1 - y0) / (FIELD_GRID + 1)
    fx = np.arange(x0 + per_x * math.ceil((e0 - x0) / per_x + 1e-9), e1, per_x)
    fy = np.arange(y0 + per_y * math.ceil((f0 - y0) / per_y + 1e-9), f1, per_y)
    px, py = (a.ravel() for a in np.meshgrid(fx, fy))
    with np.errstate(all="ignore"):
        gx, gy = surface.gradient(px, py)
    gx, gy = np.broadcast_to(gx, px.shape), np.broadcast_to(gy, px.shape)
    norm = np.hypot(gx, gy)
    keep = norm > 1e-12
    length = 0.36 * (x1 - x0) / (FIELD_GRID + 1)
    # Equal scales on both axes for every surface, the line fit's (θ0, θ1) too: only then is
    # −∇f drawn perpendicular to the contours, as it is.
    aspect = 1.0
    # Unit directions in screen proportions (x and y scaled to the domain when the axes differ).
    ux, uy = -gx[keep], -gy[keep] / aspect
    unit = np.hypot(ux, uy)
    directions = np.column_stack([ux / unit, uy / unit * aspect]) * length
    starts = np.column_stack([px[keep], py[keep]]) - 0.5 * directions
    field = (_arrow_segments(starts, directions, aspect=aspect) if len(starts)
             else np.full((1, 2), np.nan))
    in_field = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
    with np.errstate(all="ignore"):
        scale = float(np.nanmedian(norm[in_field])) if np.isfinite(norm[in_field]).any() else 1.0

    minima = np.array(surface.minima, dtype=float).reshape(-1, 2)
    with np.errstate(all="ignore"):
        values_at = np.array([surface.f(np.float64(mx), np.float64(my)) for mx, my in minima])
    global_minima = minima[values_at <= f_star + 1e-9]
    fit = surface.minima[0] if surface.name == "mse" else None
    offset = max(top, 1e-12) * surface.color_offset
    wx, wy = np.meshgrid(np.linspace(x0, x1, WIRE), np.linspace(y0, y1, WIRE))
    with np.errstate(all="ignore"):
        wire_gap = np.maximum(np.asarray(surface.f(wx, wy), dtype=float) * np.ones_like(wx) - f_star, 0.0)
        wire = np.clip((np.log10(wire_gap + offset) - low) / (high - low), 0.0, 1.0)
    wire = np.where(np.isfinite(wire_gap), wire, np.nan)
    return PreparedSurface(
        title=surface.label, axis_labels=surface.axis_labels, domain=surface.domain, extent=extent, image=rgba,
        contour=contour, field=field, minima=minima, global_minima=global_minima,
        saddles=np.array(surface.saddles, dtype=float).reshape(-1, 2),
        gradient_scale=scale if scale > 0 else 1.0, aspect=aspect,
        data_x=surface.data_x, data_y=surface.data_y, fit=fit, wire=wire, height_offset=offset, height_low=low,
        height_high=high, f_star_estimated=surface.f_star_estimated)


def wire_lines(wire: np.ndarray, domain: tuple[float, float, float, float]) -> np.ndarray:
    """The wireframe's 3-D polylines (rows, then columns; NaN rows between lines) in scene units:
    x and y centred and divided by the domain's longer side, z = WIRE_HEIGHT × height − WIRE_HEIGHT / 2."""
    n = wire.shape[0]
    x0, x1, y0, y1 = domain
    span = max(x1 - x0, y1 - y0)
    gx, gy = np.meshgrid((np.linspace(x0, x1, n) - 0.5 * (x0 + x1)) / span,
                         (np.linspace(y0, y1, n) - 0.5 * (y0 + y1)) / span)
    gz = WIRE_HEIGHT * wire - 0.5 * WIRE_HEIGHT
    points = np.stack([gx, gy, gz], axis=-1)  # (n, n, 3)
    gap = np.full((n, 1, 3), np.nan)
    rows = np.concatenate([points, gap], axis=1).reshape(-1, 3)
    columns = np.concatenate([points.transpose(1, 0, 2), gap], axis=1).reshape(-1, 3)
    return np.vstack([rows, columns])


def lifted(trail: np.ndarray, gaps: np.ndarray, prepared: PreparedSurface) -> np.ndarray:
    """A trail's 3-D points in the wireframe's units: height from each step's loss gap."""
    x0, x1, y0, y1 = prepared.domain
    span = max(x1 - x0, y1 - y0)
    with np.errstate(all="ignore"):
        height = (np.log10(np.asarray(gaps, dtype=float) + prepared.height_offset) - prepared.height_low) / \
            (prepared.height_high - prepared.height_low)
    height = np.clip(np.nan_to_num(height, nan=0.0), 0.0, 1.0)
    trail = np.asarray(trail, dtype=float).reshape(-1, 2)
    return np.column_stack([(trail[:, 0] - 0.5 * (x0 + x1)) / span, (trail[:, 1] - 0.5 * (y0 + y1)) / span,
                            WIRE_HEIGHT * height - 0.5 * WIRE_HEIGHT])


class TurnViewBox(pg.ViewBox):
    """A view box whose left-button drags call ``turn(dx, dy, finished)`` (pixels) instead of panning."""

    def __init__(self) -> None:
        super().__init__()
        self.turn = None

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph's name
        if self.turn is None or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        delta = ev.screenPos() - ev.lastScreenPos()
        self.turn(float(delta.x()), float(delta.y()), bool(ev.isFinish()))


def drawn_trail(trail: np.ndarray, pixel: tuple[float, float]) -> np.ndarray:
    """The points of ``trail`` that are drawn: consecutive points in the same half-pixel cell
    (``pixel`` = data units per pixel in x and y) collapse to the first of them, the last point
    always stays; beyond TRAIL_POINTS, the older part is evenly thinned and the newest
    TRAIL_RECENT are kept. What is dropped is invisible, and a 100,000-step run repaints in
    milliseconds (30,000-point trails drawn in full cost ~200 ms a repaint)."""
    if len(trail) <= 2:
        return trail
    cells = np.floor(trail / (0.5 * np.asarray(pixel, dtype=float)))
    with np.errstate(invalid="ignore"):
        keep = np.ones(len(trail), dtype=bool)
        keep[1:] = np.any(cells[1:] != cells[:-1], axis=1)
    keep[-1] = True
    points = trail[keep]
    if len(points) > TRAIL_POINTS:
        older = len(points) - TRAIL_RECENT
        stride = math.ceil(older / (TRAIL_POINTS - TRAIL_RECENT))
        points = np.concatenate([points[:older:stride], points[older:]])
    return points


def drawn_loss_steps(gaps: np.ndarray, buckets: int = LOSS_BUCKETS) -> np.ndarray:
    """Steps of a loss-gap curve that are drawn: all of them up to 2 × ``buckets`` points;
    beyond, the first, lowest and highest point of each of ``buckets`` equal runs of steps (a
    peak decimation: every spike stays visible) and the last step."""
    length = len(gaps)
    if length <= 2 * buckets:
        return np.arange(length)
    run = math.ceil(length / buckets)
    count = math.ceil(length / run)
    padded = np.concatenate([gaps, np.full(count * run - length, gaps[-1])]).reshape(count, run)
    base = np.arange(count) * run
    chosen = np.concatenate([base, base + np.argmin(padded, axis=1), base + np.argmax(padded, axis=1),
                             [length - 1]])
    return np.unique(np.minimum(chosen, length - 1))


def stacked_layout(width: float, height: float) -> bool:
    """Whether a view of this many pixels stacks its plots (see SIDE_MIN_WIDTH)."""
    return width < max(SIDE_MIN_WIDTH, SIDE_RATIO * height)


class GradientDescentView(SceneView):
    """Surface with trails (left), loss gap per step (right), line fit (right, MSE only)."""

    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self._prepared: PreparedSurface | None = None
        #: per optimiser: (trail length, status) last drawn
        self._shown: dict[str, tuple[int, str]] = {}
        self._loss_range: tuple[int, int, int] | None = None
        self._points_stale = True
        self._show_data_plot: bool | None = None
        self._labels: dict[str, str] = {}
        #: Where each optimiser's "diverged" label belongs (its last point), in data coordinates.
        self._note_at: dict[str, tuple[float, float]] = {}
        self._surface_name = ""
        layout = self.widget.ci
        layout.setContentsMargins(6, 6, 6, 6)

        # -- surface ------------------------------------------------------------------------
        surface = pg.PlotItem()
        surface.setMenuEnabled(False)
        surface.hideButtons()
        surface.getViewBox().setAspectLocked(True)
        surface.showGrid(False, False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-20)
        surface.addItem(self.image)
        self.contour = pg.PlotDataItem(pen=pg.mkPen(CONTOUR_PEN, width=1), connect="finite",
                                       antialias=True)
        self.contour.setZValue(-10)
        surface.addItem(self.contour)
        self.field = pg.PlotDataItem(pen=pg.mkPen(FIELD_PEN, width=1), connect="finite")
        self.field.setZValue(-5)
        surface.addItem(self.field)
        self.saddle_marker = pg.ScatterPlotItem(symbol="x", size=11, pen=pg.mkPen(theme.FOREGROUND, width=2),
                                                brush=None)
        self.minima_marker = pg.ScatterPlotItem(symbol="star", size=19, pen=pg.mkPen(theme.FOREGROUND, width=1),
                                                brush=pg.mkBrush("#ffffff"))
        self.global_marker = pg.ScatterPlotItem(symbol="star", size=21, pen=pg.mkPen(theme.FOREGROUND, width=1),
                                                brush=pg.mkBrush("#FFD700"))
        self.start_marker = pg.ScatterPlotItem(symbol="o", size=12, pen=pg.mkPen(theme.FOREGROUND, width=2),
                                               brush=pg.mkBrush(255, 255, 255, 200))
        for item in (self.saddle_marker, self.minima_marker, self.global_marker, self.start_marker):
            # Above the trails, below the optimisers' current points.
            item.setZValue(25)
            surface.addItem(item)
        self.plots["surface"] = surface

        # -- loss ---------------------------------------------------------------------------
        loss = pg.PlotItem(axisItems={"left": theme.LogAxis("left")})
        loss.setMenuEnabled(False)
        loss.hideButtons()
        loss.setLogMode(x=False, y=True)
        loss.showGrid(x=True, y=True, alpha=0.25)
        loss.setLabel("left", "loss gap f(θ) − f*  (log scale)")
        loss.setLabel("bottom", "step")
        loss.getAxis("left").setWidth(72)
        loss.setTitle("Distance from the best value")
        # The legend has its own cell above the loss plot, so it never hides a curve.
        self.legend = pg.LegendItem(offset=None, brush=None, pen=None,
                                    labelTextColor=theme.FOREGROUND, verSpacing=-6)
        self.legend.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed)
        self.plots["loss"] = loss

        # -- data (MSE only) ----------------------------------------------------------------
        data = pg.PlotItem()
        data.setMenuEnabled(False)
        data.hideButtons()
        data.showGrid(x=True, y=True, alpha=0.25)
        data.setLabel("bottom", "x")
        data.setLabel("left", "y")
        data.setTitle("Data and each optimiser's line θ0 + θ1·x")
        self.fit_line = pg.PlotDataItem(pen=pg.mkPen(theme.FOREGROUND, width=1, style=QtCore.Qt.PenStyle.DashLine))
        data.addItem(self.fit_line)
        self.points = pg.ScatterPlotItem(symbol="o", size=8, pen=pg.mkPen(theme.FOREGROUND, width=1),
                                         brush=pg.mkBrush(60, 60, 60, 160))
        self.points.setZValue(10)
        data.addItem(self.points)
        self.plots["data"] = data

        # -- 3-D view (a NumPy-projected wireframe on a normal plot: works without OpenGL) -----------
        self.turn_box = TurnViewBox()
        self.turn_box.turn = self._turn
        surface3d = pg.PlotItem(viewBox=self.turn_box)
        surface3d.setMenuEnabled(False)
        surface3d.hideButtons()
        surface3d.setMouseEnabled(False, False)
        surface3d.getViewBox().setAspectLocked(True)
        surface3d.hideAxis("left")
        surface3d.hideAxis("bottom")
        self.wireframe = pg.PlotCurveItem(pen=pg.mkPen(WIRE_PEN, width=1), connect="finite", antialias=True)
        surface3d.addItem(self.wireframe)
        self.trails3d: dict[str, pg.PlotCurveItem] = {}
        self.current3d = pg.ScatterPlotItem(symbol="o", size=11, pen=pg.mkPen("#ffffff", width=1.5))
        self.current3d.setZValue(30)
        surface3d.addItem(self.current3d)
        self.minima3d = pg.ScatterPlotItem(symbol="star", size=17, pen=pg.mkPen(theme.FOREGROUND, width=1),
                                           brush=pg.mkBrush("#FFD700"))
        self.minima3d.setZValue(25)
        surface3d.addItem(self.minima3d)
        self.plots["surface3d"] = surface3d
        #: The 3-D view angles shown now (a drag turns them here and asks for the parameters when it ends).
        self.view_angles = (float(params.get("azimuth", -50.0)), float(params.get("elevation", 35.0)))
        self._frame: Frame | None = None

        # -- one set of items per optimiser ---------------------------------------------------
        self.trails: dict[str, pg.PlotCurveItem] = {}
        # Every optimiser's current point in one item: one setData and one paint per frame.
        self.current = pg.ScatterPlotItem(symbol="o", size=12, pen=pg.mkPen("#ffffff", width=1.5))
        self.current.setZValue(30)
        surface.addItem(self.current)
        self._brushes = {name: pg.mkBrush(theme.series_color(SERIES_INDEX[name])) for name in OPTIMIZERS}
        self.arrows: dict[str, pg.PlotCurveItem] = {}
        self.losses: dict[str, pg.PlotDataItem] = {}
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.notes: dict[str, pg.TextItem] = {}
        for index, name in enumerate(OPTIMIZERS):
            color = theme.series_color(SERIES_INDEX[name])
            # PlotCurveItem, not PlotDataItem: about half the cost per setData, and these change every frame.
            trail = pg.PlotCurveItem(pen=pg.mkPen(color, width=2), name=LABELS[name], skipFiniteCheck=True)
            trail.setZValue(10 + index)
            surface.addItem(trail)
            arrow = pg.PlotCurveItem(pen=pg.mkPen(color, width=2), connect="finite")
            arrow.setZValue(20 + index)
            surface.addItem(arrow)
            trail3d = pg.PlotCurveItem(pen=pg.mkPen(color, width=2), skipFiniteCheck=True)
            trail3d.setZValue(10 + index)
            surface3d.addItem(trail3d)
            self.trails3d[name] = trail3d
            note = pg.TextItem("", color=theme.DIVERGED, anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 210),
                               border=pg.mkPen(theme.DIVERGED))
            note.setZValue(40 + index)
            surface.addItem(note)
            curve = pg.PlotDataItem(pen=pg.mkPen(color, width=1), name=LABELS[name])
            curve.setClipToView(True)
            loss.addItem(curve)
            line = pg.PlotDataItem(pen=pg.mkPen(color, width=2))
            data.addItem(line)
            self.trails[name], self.arrows[name] = trail, arrow
            self.notes[name], self.losses[name], self.lines[name] = note, curve, line
            for item in (trail, arrow, note, curve, line):
                item.setVisible(False)

        # The surface layers are not kept as pixmaps: they extend 2.4x past the visible domain
        # (so the map fills any plot shape), and Qt re-rendered such an oversized, clipped
        # device cache on every frame (default scene 17.2 -> 7.9 ms per frame without it).
        self._stacked = False
        self._cells: dict[Any, tuple[int, int, int, int] | None] = {}
        self.widget.installEventFilter(self)
        surface.getViewBox().sigRangeChanged.connect(lambda *_: self._place_notes())
        self.widget.scene().sigMouseClicked.connect(self._on_click)
        self.set_params(params)

    # -- preparing the surface --------------------------------------------------------------
    @staticmethod
    def prepare(params: Mapping[str, Any], seed: int) -> PreparedSurface:
        """Heavy pure-NumPy work: colour image, contours, field (``seed`` picks the MSE data)."""
        surface = make_surface(params["surface"], params.get("condition_number", 10.0), seed,
                               params.get("expression", ""), domain_of(params) if params.get("surface") == "custom"
                               else None)
        return prepare_surface(surface)

    @staticmethod
    def prepare_key(params: Mapping[str, Any], seed: int) -> Any:
        # The condition number only shapes the bowl; the seed only draws the line-fit data.
        surface = params.get("surface")
        condition = params.get("condition_number") if surface == "bowl" else None
        custom = (params.get("expression"), *domain_of(params)) if surface == "custom" else None
        return (surface, condition, seed if surface == "mse" else None, custom)

    def apply_prepared(self, data: PreparedSurface) -> None:
        self._prepared = data
        self._shown.clear()
        x0, x1, y0, y1 = data.domain
        e0, e1, f0, f1 = data.extent
        self.image.setImage(data.image, autoLevels=False, levels=None)
        self.image.setRect(QtCore.QRectF(e0, f0, e1 - e0, f1 - f0))
        self.contour.setData(data.contour[:, 0], data.contour[:, 1], connect="finite")
        self.field.setData(data.field[:, 0], data.field[:, 1], connect="finite")
        self.minima_marker.setData(pos=data.minima)
        self.global_marker.setData(pos=data.global_minima)
        self.saddle_marker.setData(pos=data.saddles)
        surface = self.plots["surface"]
        surface.setTitle(data.title)
        self._drawn_3d = None
        self.plots["loss"].setLabel("left", "loss gap f − f*  (f* estimated, log)" if data.f_star_estimated
                                    else "loss gap f(θ) − f*  (log scale)")
        surface.getViewBox().setAspectLocked(data.aspect == 1.0)
        surface.setLabel("bottom", data.axis_labels[0])
        surface.setLabel("left", data.axis_labels[1])
        # Exactly the domain; a locked aspect widens one direction into the map's extent.
        surface.getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        if data.data_x is not None:
            self.points.setData(data.data_x, data.data_y)
            span = np.array([min(0.0, data.data_x.min()), data.data_x.max() * 1.05])
            self.fit_line.setData(span, data.fit[0] + data.fit[1] * span)
            self._line_x = span
            plot = self.plots["data"]
            low = min(data.data_y.min(), 0.0)
            high = data.data_y.max()
            plot.getViewBox().setRange(xRange=tuple(span), yRange=(low - 0.5, high + 0.8), padding=0.02)
        self._show_3d()

    # -- parameters -------------------------------------------------------------------------
    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)
        # A new run or a live change: what was shown no longer says anything about the next frame.
        self._shown.clear()
        self._points_stale = True
        self._loss_range = None
        names = enabled(self.params)
        self.legend.clear()
        for name in OPTIMIZERS:
            on = name in names
            for item in (self.trails[name], self.arrows[name], self.losses[name]):
                item.setVisible(on)
            self.lines[name].setVisible(on)
            if not on:
                self.notes[name].setVisible(False)
        for name in names:
            self.legend.addItem(self.losses[name], LABELS[name])
        self._fit_legend()
        self._labels = {}
        self.field.setVisible(bool(self.params.get("show_field")))
        self.start_marker.setData(pos=[(self.params["start_x"], self.params["start_y"])])
        self.view_angles = (float(self.params.get("azimuth", -50.0)), float(self.params.get("elevation", 35.0)))
        self._drawn_3d = None
        self._arrange(self.params.get("surface") == "mse")

    def resized(self, width: float, height: float) -> None:
        self._arrange(self._show_data_plot, stacked=stacked_layout(width, height))

    def _arrange(self, show_data: bool | None, stacked: bool | None = None) -> None:
        """Side by side (map left; legend, loss and, for the line fit, data right) in a wide view;
        stacked (map on top, legend and plots below) in a narrow one, so the map never gets a cell
        far taller than wide (it would be squeezed to a strip)."""
        show_data = bool(show_data)
        stacked = self._stacked if stacked is None else stacked
        three_d = bool(self.params.get("view_3d"))
        if show_data == self._show_data_plot and stacked == self._stacked and three_d == getattr(self, "_three_d", None):
            return
        layout = self.widget.ci
        grid = layout.layout
        surface, loss, data = self.plots["surface"], self.plots["loss"], self.plots["data"]
        # The 3-D view takes the map's cell.
        flat, solid = (self.plots["surface3d"], surface) if three_d else (surface, self.plots["surface3d"])
        surface = flat
        self._cells_hidden = solid
        # Stacked, the two small plots share a row: short titles, so that their text never makes
        # the row wider than the view (a title's width is its plot's minimum width).
        narrow = stacked and show_data
        loss.setTitle("Loss gap" if narrow else "Distance from the best value")
        data.setTitle("Each optimiser's line" if narrow else "Data and each optimiser's line θ0 + θ1·x")
        # (row, column, row span, column span) of each item; None: not in the layout.
        if stacked:
            cells = {surface: (0, 0, 1, 2), self.legend: (1, 0, 1, 2),
                     loss: (2, 0, 1, 1) if show_data else (2, 0, 1, 2), data: (2, 1, 1, 1) if show_data else None}
            stretch_columns, stretch_rows = (1, 1), (3, 0, 2)
        else:
            cells = {surface: (0, 0, 3, 1), self.legend: (0, 1, 1, 1),
                     loss: (1, 1, 1, 1) if show_data else (1, 1, 2, 1), data: (2, 1, 1, 1) if show_data else None}
            stretch_columns, stretch_rows = (3, 2), (0, 3, 2)
        cells[solid] = None
        place_cells(layout, cells, self._cells)
        solid.setVisible(False)
        flat.setVisible(True)
        self._three_d = three_d
        self.cache_axes()
        for index, factor in enumerate(stretch_columns):
            grid.setColumnStretchFactor(index, factor)
        for index, factor in enumerate(stretch_rows):
            grid.setRowStretchFactor(index, factor)
        data.setVisible(show_data)
        self._show_data_plot = show_data
        self._stacked = stacked
        self._fit_legend()

    def _fit_legend(self) -> None:
        """A fixed-height legend cell, as tall as its entries (in three columns when stacked)."""
        columns = 3 if self._stacked else 1
        self.legend.setColumnCount(columns)
        rows = math.ceil(len(enabled(self.params)) / columns)
        self.legend.setFixedHeight(max(24, 8 + 20 * rows))

    # -- frames -----------------------------------------------------------------------------
    def show(self, frame: Frame) -> None:
        data = frame.data
        self._show_loss_range(data)
        domain = self._prepared.domain if self._prepared is not None else (-2.5, 2.5, -2.5, 2.5)
        x0, x1, y0, y1 = domain
        scale = self._prepared.gradient_scale if self._prepared is not None else 1.0
        aspect = self._prepared.aspect if self._prepared is not None else 1.0
        changed = False
        if self.params.get("view_3d"):  # the flat map is out of the layout (no size): thin trails to 1/1000
            pixel = ((x1 - x0) / 1000.0, (y1 - y0) / 1000.0)
        else:
            pixel = tuple(abs(value) or 1e-12 for value in self.plots["surface"].getViewBox().viewPixelSize())
        for name in OPTIMIZERS:
            key = f"{name}.trail"
            if key not in data:
                continue
            trail = data[key]
            status = data[f"{name}.status"]
            # A stopped optimiser's trail no longer changes: skip its items (setData is costly).
            shown = (len(trail), status)
            if self._shown.get(name) == shown:
                continue
            self._shown[name] = shown
            drawn = drawn_trail(trail, pixel)
            self.trails[name].setData(drawn[:, 0], drawn[:, 1])
            steps = drawn_loss_steps(data[f"{name}.loss_gap"])
            self.losses[name].setData(steps, data[f"{name}.loss_gap"][steps])
            position = data[f"{name}.position"]
            changed = True
            gradient = data[f"{name}.gradient"]
            norm = float(np.hypot(gradient[0], gradient[1]))
            # At rest the gradient is ~1e-6 and its direction is rounding noise: no arrow.
            at_rest = status.startswith(("converged", "stuck"))
            if norm > 0 and math.isfinite(norm) and not at_rest:
                # Length grows with the gradient but stays readable: 4%..14% of the domain.
                length = (x1 - x0) * (0.04 + 0.10 * min(1.0, norm / (2.0 * scale)))
                ux, uy = -gradient[0], -gradient[1] / aspect
                unit = math.hypot(ux, uy)
                vector = np.array([[ux / unit * length, uy / unit * length * aspect]])
                arrow = _arrow_segments(position.reshape(1, 2), vector, aspect=aspect)
                self.arrows[name].setData(arrow[:, 0], arrow[:, 1], connect="finite")
            else:
                self.arrows[name].setData(np.zeros(0), np.zeros(0))
            if status != self._labels.get(name):
                self._labels[name] = status
                self._set_legend_text(name, status)
                note = self.notes[name]
                if status.startswith("diverged"):
                    note.setText(f"{LABELS[name]}: {status}")
                    note.setVisible(True)
                else:
                    note.setVisible(False)
            self._note_at[name] = (float(position[0]), float(position[1]))
            if "data.x" in data and self._show_data_plot:
                line_x = getattr(self, "_line_x", np.array([0.0, 4.0]))
                self.lines[name].setData(line_x, position[0] + position[1] * line_x)
        if changed:
            self._place_notes()
        if changed or self._points_stale:
            self._points_stale = False
            names = [name for name in OPTIMIZERS if f"{name}.position" in data]
            positions = np.array([data[f"{name}.position"] for name in names]).reshape(-1, 2)
            self.current.setData(pos=positions, brush=[self._brushes[name] for name in names])
            self._drawn_3d = None
        self._frame = frame
        self._show_3d()

    # -- 3-D ------------------------------------------------------------------------------
    def _show_3d(self) -> None:
        """Wireframe, trails and current points seen from the current view angles (only when shown)."""
        if not self.params.get("view_3d") or self._prepared is None or self._prepared.wire is None \
                or self._frame is None:
            return
        key = (self.view_angles, id(self._prepared), self._frame.step, id(self._frame))
        if getattr(self, "_drawn_3d", None) == key:
            return
        self._drawn_3d = key
        azimuth, elevation = self.view_angles
        prepared, data = self._prepared, self._frame.data
        wire = orthographic(wire_lines(prepared.wire, prepared.domain), azimuth, elevation)
        self.wireframe.setData(wire[:, 0], wire[:, 1], connect="finite")
        names, currents = [], []
        for name in OPTIMIZERS:
            key_trail = f"{name}.trail"
            if key_trail not in data:
                self.trails3d[name].setVisible(False)
                continue
            trail, gaps = data[key_trail], data[f"{name}.loss_gap"]
            if len(trail) > TRAIL_POINTS:  # the newest points in full, the older ones thinned
                keep = np.unique(np.concatenate([np.linspace(0, len(trail) - TRAIL_RECENT, TRAIL_POINTS - TRAIL_RECENT)
                                                 .astype(int), np.arange(len(trail) - TRAIL_RECENT, len(trail))]))
                trail, gaps = trail[keep], gaps[keep]
            screen = orthographic(lifted(trail, gaps, prepared), azimuth, elevation)
            self.trails3d[name].setData(screen[:, 0], screen[:, 1])
            self.trails3d[name].setVisible(True)
            names.append(name)
            currents.append(screen[-1])
        self.current3d.setData(pos=np.array(currents).reshape(-1, 2), brush=[self._brushes[n] for n in names])
        if len(prepared.global_minima):
            at = lifted(prepared.global_minima, np.zeros(len(prepared.global_minima)), prepared)
            self.minima3d.setData(pos=orthographic(at, azimuth, elevation))
        if getattr(self, "_ranged_3d", None) != id(prepared):
            self._ranged_3d = id(prepared)
            reach = 0.5 * math.sqrt(2.0) + 0.05  # any view of the unit square and its height fits
            self.plots["surface3d"].getViewBox().setRange(xRange=(-reach, reach), yRange=(-reach, reach), padding=0)
        title = f"{prepared.title} in 3-D (height: log of f − f*; drag to turn)"
        if getattr(self, "_title_3d", None) != title:  # a fixed title: a changing one re-lays out the view
            self._title_3d = title
            self.plots["surface3d"].setTitle(title)

    def _turn(self, dx: float, dy: float, finished: bool) -> None:
        self.view_angles = turned(*self.view_angles, dx, dy)
        self._show_3d()
        if finished:
            self.paramsRequested.emit({"azimuth": self.view_angles[0], "elevation": self.view_angles[1]})

    def _place_notes(self) -> None:
        """Put each "diverged" label by its optimiser's last point, but wholly inside the visible
        map: the anchor is the point's relative position in the view (0 at the left or top edge,
        1 at the right or bottom), so a label slides inwards by as much as it would stick out."""
        box = self.plots["surface"].getViewBox()
        if self.params.get("view_3d") or box.width() <= 0 or box.height() <= 0:
            return  # the flat map is not shown
        (v0, v1), (w0, w1) = box.viewRange()
        # A few pixels' margin for the label's border.
        pixel_x, pixel_y = (abs(value) for value in box.viewPixelSize())
        margin_x, margin_y = min(4 * pixel_x, 0.1 * (v1 - v0)), min(4 * pixel_y, 0.1 * (w1 - w0))
        for name, note in self.notes.items():
            if not note.isVisible() or name not in self._note_at:
                continue
            x, y = self._note_at[name]
            x = min(max(x, v0 + margin_x), v1 - margin_x)
            y = min(max(y, w0 + margin_y), w1 - margin_y)
            note.setAnchor(((x - v0) / (v1 - v0), (w1 - y) / (w1 - w0)))
            note.setPos(x, y)

    def _show_loss_range(self, data: Mapping[str, Any]) -> None:
        """Set the loss plot's range in coarse steps (nice step counts, whole decades), so its
        axes are redrawn only now and then instead of on every frame."""
        losses = [data[key] for key in data if key.endswith(".loss_gap")]
        if not losses:
            return
        steps = max(len(values) for values in losses) - 1
        low = min(float(np.min(values)) for values in losses)
        high = max(float(np.max(values)) for values in losses)
        low_decade = math.floor(math.log10(max(low, 1e-16)))
        high_decade = max(low_decade + 1, math.ceil(math.log10(max(high, 1e-16))))
        key = (nice_ceiling(max(steps, 10)), low_decade, high_decade)
        if key != self._loss_range:
            self._loss_range = key
            self.plots["loss"].getViewBox().setRange(xRange=(0, key[0]), yRange=(low_decade, high_decade),
                                                     padding=0.02)

    def _set_legend_text(self, name: str, status: str) -> None:
        color = theme.DIVERGED if status.startswith("diverged") else theme.FOREGROUND
        text = LABELS[name] if status == "running" else f"{LABELS[name]} — {status}"
        for sample, label in self.legend.items:
            if sample.item is self.losses[name]:
                label.setText(text, color=color)
                break

    # -- clicks -----------------------------------------------------------------------------
    def _on_click(self, event: Any) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        if self.request_start_at(event.scenePos()):
            event.accept()

    def request_start_at(self, scene_pos: QtCore.QPointF) -> bool:
        """Ask for the start point under ``scene_pos`` (scene coordinates); False if off the surface."""
        box = self.plots["surface"].getViewBox()
        if not box.sceneBoundingRect().contains(scene_pos):
            return False
        point = box.mapSceneToView(scene_pos)
        values = {}
        for name, value in (("start_x", point.x()), ("start_y", point.y())):
            param = find(PARAMS, name)
            assert isinstance(param, Float)
            clamped = min(max(value, param.minimum), param.maximum)
            values[name] = round(clamped, param.decimals)
        self.paramsRequested.emit(values)
        return True
