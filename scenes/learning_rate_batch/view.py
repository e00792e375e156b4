"""pyqtgraph view: loss surface with trajectories, data with fits, loss curves, range test, basins."""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from explorer.scene import Frame, Scene
from explorer.contours import contour_path
from explorer.ui import theme
from explorer.ui.view import SceneView, cache_static, nice_ceiling, place_cells
from scenes.learning_rate_batch import analysis
from scenes.learning_rate_batch.sim import MAX_RUNS, run_label, run_settings

LOSS_FLOOR = 1e-12
#: Double well: the trail shows this many most recent recorded points, fading out to the oldest.
TRAIL_RECENT = 50
# Light ramp for the loss bands (low = pale), so the run colours stand out on top.
_LOW = np.array([255, 253, 240], dtype=float)
_HIGH = np.array([165, 180, 200], dtype=float)
BANDS = 14
#: Below this view width (px) the plots go in a 2 x 2 grid with short titles; wider, the map takes the
#: left column, the fit (or basins) and loss plots the right one, and the range test the bottom row.
NARROW_WIDTH = 760
#: Pixels of a cell's width a title leaves free besides the left axis (margins).
TITLE_MARGIN = 12
#: Title sizes in the wide and the narrow layout.
TITLE_SIZE, NARROW_TITLE_SIZE = "11pt", "9pt"


def narrow_layout(width: float) -> bool:
    """Whether a view this many pixels wide uses the 2 x 2 grid (see NARROW_WIDTH)."""
    return width < NARROW_WIDTH


def _bands_rgba(grid: np.ndarray, min_loss: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filled-contour colours of a loss grid (log of the excess loss in BANDS steps) + the levels."""
    excess = np.log10(np.maximum(grid - min_loss, 0.0) + 1e-3 * (1.0 + abs(min_loss)))
    finite = np.isfinite(excess)
    low, high = float(np.min(excess[finite])), float(np.max(excess[finite]))
    levels = np.linspace(low, high, BANDS + 1)[1:-1]
    band = np.digitize(np.where(finite, excess, high), levels) / BANDS
    rgba = np.empty(grid.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = (_LOW + band[..., None] * (_HIGH - _LOW)).astype(np.uint8)
    rgba[..., 3] = 255
    return rgba, excess, levels


def _contour_path(ws: np.ndarray, bs: np.ndarray, values: np.ndarray, levels: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """All contour lines as one x, y pair with NaN breaks (drawn by one curve, connect='finite')."""
    path = contour_path(ws, bs, values, levels)
    return path[:, 0], path[:, 1]


class LearningRateBatchView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.prepared: dict[str, Any] | None = None
        layout = self.widget.ci
        layout.setContentsMargins(4, 4, 4, 4)

        surface = pg.PlotItem(title="Full-data loss over (w, b)")
        surface.setLabel("bottom", "w")
        surface.setLabel("left", "b")
        surface.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        surface.addItem(self.image)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen("#7a8698", width=1), connect="finite", antialias=False)
        surface.addItem(self.contours)
        self.well = pg.PlotCurveItem(pen=pg.mkPen(theme.FOREGROUND, width=2))
        surface.addItem(self.well)
        self.start_marker = pg.ScatterPlotItem(size=10, symbol="s", pen=pg.mkPen(theme.FOREGROUND),
                                               brush=pg.mkBrush("#ffffff"))
        self.minimum_marker = pg.ScatterPlotItem(size=16, symbol="star", pen=pg.mkPen(theme.FOREGROUND),
                                                 brush=pg.mkBrush("#ffd700"))
        surface.addItem(self.start_marker)

        fit = pg.PlotItem(title="Data and each run's current fit")
        fit.setLabel("bottom", "x")
        fit.setLabel("left", "y")
        # Plain squares without antialiasing: the data redraws with every moving fit line.
        self.points = pg.ScatterPlotItem(size=3, symbol="s", pen=None, brush=pg.mkBrush("#b0b0b0"),
                                         antialias=False)
        fit.addItem(self.points)

        loss = pg.PlotItem(title="Full-data loss per epoch", axisItems={"left": theme.LogAxis("left")})
        loss.setLogMode(False, True)
        loss.setLabel("bottom", "epoch")
        loss.setLabel("left", "loss")
        self.legend = loss.addLegend(offset=(-10, 10), labelTextSize="8pt")

        rangetest = pg.PlotItem(title="Learning-rate range test: loss after a short run",
                                axisItems={"left": theme.LogAxis("left"), "bottom": theme.LogAxis("bottom")})
        rangetest.setLogMode(True, True)
        rangetest.setLabel("bottom", "learning rate")
        rangetest.setLabel("left", "loss")

        basins = pg.PlotItem(title="Share of seeds in the deep minimum")
        basins.setYRange(0, 1.18, padding=0)
        basins.setLabel("left", "share in the deep minimum")  # short titles leave the minimum out
        basins.setMouseEnabled(False, False)
        self.bars = pg.BarGraphItem(x=np.arange(MAX_RUNS), height=np.zeros(MAX_RUNS), width=0.6)
        basins.addItem(self.bars)
        self.bar_text = [pg.TextItem("", anchor=(0.5, 1.0), color=theme.FOREGROUND) for _ in range(MAX_RUNS)]
        for text in self.bar_text:
            basins.addItem(text)

        self.trails, self.fits, self.curves, self.ends = [], [], [], []
        self.range_curves, self.range_edges, self.rate_lines = [], [], []
        self.end_labels, self.recent, self._recent_brushes = [], [], []
        # Range-test rates that diverged, drawn at the top edge of the range-test plot.
        self.range_diverged = pg.ScatterPlotItem(size=9, symbol="x", pen=pg.mkPen(theme.DIVERGED, width=1.5),
                                                 brush=pg.mkBrush(theme.DIVERGED))
        rangetest.addItem(self.range_diverged)
        for r in range(MAX_RUNS):
            colour = theme.series_color(r)
            trail = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), skipFiniteCheck=True)
            surface.addItem(trail)
            line = pg.PlotCurveItem(pen=pg.mkPen(colour, width=2), skipFiniteCheck=True)
            fit.addItem(line)
            # PlotCurveItem (lighter than PlotDataItem); show() hands it log10 values on the log axis.
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), name=f"run {r + 1}", skipFiniteCheck=True)
            loss.addItem(curve)
            end = pg.ScatterPlotItem(size=12, symbol="x", pen=pg.mkPen(theme.DIVERGED, width=2),
                                     brush=pg.mkBrush(theme.DIVERGED))
            end.setVisible(False)
            loss.addItem(end)
            label = pg.TextItem("diverged", anchor=(1.0, 0.0), color=theme.DIVERGED)
            label.setVisible(False)
            loss.addItem(label)
            self.end_labels.append(label)
            # Double well: the recent part of the trail as fading dots (the whole trail fills the well).
            recent = pg.ScatterPlotItem(size=6, pen=None)
            recent.setVisible(False)
            surface.addItem(recent)
            self.recent.append(recent)
            rgb = pg.mkColor(colour).getRgb()[:3]
            self._recent_brushes.append([pg.mkBrush(*rgb, int(a)) for a in np.linspace(20, 230, TRAIL_RECENT)])
            rcurve = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.5))
            rangetest.addItem(rcurve)
            edge = pg.InfiniteLine(angle=90, pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine))
            rangetest.addItem(edge)
            rate = pg.InfiniteLine(angle=90, pen=pg.mkPen(colour, width=2))
            rangetest.addItem(rate)
            self.trails.append(trail)
            self.fits.append(line)
            self.curves.append(curve)
            self.ends.append(end)
            self.range_curves.append(rcurve)
            self.range_edges.append(edge)
            self.rate_lines.append(rate)
        # Every run's current position in one item (one paint instead of four), above all trails.
        self.dots = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#ffffff", width=1))
        surface.addItem(self.dots)
        self._dot_brushes = [pg.mkBrush(theme.series_color(r)) for r in range(MAX_RUNS)]
        surface.addItem(self.minimum_marker)
        loss.disableAutoRange()  # show() sets quantised ranges: the axes repaint only when they change
        # Static layers: painted once into pixmaps, then only blitted under the moving items.
        cache_static(self.image, self.contours, self.well, self.points, self.start_marker, self.minimum_marker,
               self.bars, *self.bar_text, *self.range_curves, *self.range_edges, *self.rate_lines)
        cache_static(*(plot.titleLabel for plot in (surface, fit, loss, rangetest, basins)))
        self.cache_axes()

        self.plots = {"surface": surface, "fit": fit, "loss": loss, "range_test": rangetest, "basins": basins}
        #: Each plot's titles, longest first: the longest that fits its cell is shown.
        self._titles: dict[str, tuple[str, ...]] = {
            "surface": ("Full-data loss over (w, b)", "Loss over (w, b)"),
            "fit": ("Data and each run's current fit", "Data and current fits", "Current fits"),
            "loss": ("Full-data loss per epoch", "Loss per epoch"),
            "range_test": ("Learning-rate range test", "Range test"),
            "basins": ("Share of seeds in the deep minimum", "Share of seeds"),
        }
        self._narrow: bool | None = None
        self._last_basins = None
        self._cells: dict[Any, tuple[int, int, int, int]] = {}
        self._right_top = fit
        self._arrange(narrow_layout(self.widget.width()))
        self.widget.installEventFilter(self)
        for plot in self.plots.values():  # plain axis units: no "(x0.001)" SI scaling
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
        self._legend_key: Any = None
        self._reset_shown()
        self._x_line = np.zeros(2)
        self._x_sigmoid = np.zeros(0)
        self.set_params(params)

    # -- contract ------------------------------------------------------------------------------
    @staticmethod
    def prepare(params: Mapping[str, Any], seed: int) -> Any:
        # The data set follows `data_seed`; the session seed only orders the mini-batches.
        return analysis.prepare(params)

    @staticmethod
    def prepare_key(params: Mapping[str, Any], seed: int) -> Any:
        return analysis.prepare_key(params)

    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)
        double_well = params["model"] == "double_well"
        wanted = self.plots["basins"] if double_well else self.plots["fit"]
        if wanted is not self._right_top:
            self.widget.ci.removeItem(self._right_top)
            self._cells.pop(self._right_top, None)
            self._right_top = wanted
            self._arrange(self._narrow, force=True)
        surface = self.plots["surface"]
        self._set_titles("surface", ("Full-data loss over u (one parameter)", "Loss over u") if double_well
                         else ("Full-data loss over (w, b)", "Loss over (w, b)"))
        surface.setLabel("bottom", "u" if double_well else "w")
        surface.setLabel("left", "loss" if double_well else "b")
        # The double well's deep minimum is exactly 0: a log axis would show only rounding noise.
        self.plots["loss"].setLogMode(False, not double_well)
        self.batches, self.rates = run_settings(params)
        runs = len(self.batches)
        for r in range(MAX_RUNS):
            visible = r < runs
            self.trails[r].setVisible(visible and not double_well)
            self.recent[r].setVisible(visible and double_well)
            for item in (self.fits[r], self.curves[r], self.rate_lines[r]):
                item.setVisible(visible)
            if not visible:
                self.ends[r].setVisible(False)
                self.end_labels[r].setVisible(False)
            if visible:
                self.rate_lines[r].setPos(np.log10(self.rates[r]))
        self._reset_shown()
        self._update_legend(np.zeros(runs, dtype=bool))

    # -- layout ---------------------------------------------------------------------------------
    def resized(self, width: float, height: float) -> None:
        self._arrange(narrow_layout(width), width=width)

    def _arrange(self, narrow: bool | None, force: bool = False, width: float | None = None) -> None:
        """Wide: map left (two rows), fit or basins and loss right, range test along the bottom.
        Narrow: a 2 x 2 grid (map, fit or basins / loss, range test) with the titles that fit, so
        no title makes its column wider than the view (a title's width is its plot's minimum)."""
        narrow = bool(narrow)
        layout = self.widget.ci
        if narrow != self._narrow or force:
            p = self.plots
            if narrow:
                cells = {p["surface"]: (0, 0, 1, 1), self._right_top: (0, 1, 1, 1),
                         p["loss"]: (1, 0, 1, 1), p["range_test"]: (1, 1, 1, 1)}
                columns, rows = (1, 1), (1, 1, 0)
            else:
                cells = {p["surface"]: (0, 0, 2, 1), self._right_top: (0, 1, 1, 1),
                         p["loss"]: (1, 1, 1, 1), p["range_test"]: (2, 0, 1, 2)}
                columns, rows = (5, 4), (3, 3, 2)
            place_cells(layout, cells, self._cells)
            for index, factor in enumerate(columns):
                layout.layout.setColumnStretchFactor(index, factor)
            for index, factor in enumerate(rows):
                layout.layout.setRowStretchFactor(index, factor)
            self._narrow = narrow
            if self._last_basins is not None:
                self._show_basins(*self._last_basins)
        self._fit_titles(self.widget.width() if width is None else width)

    def _title_room(self, name: str, width: float) -> float:
        """The width (px) a plot's title may take in the current layout: its cell less the left
        axis (the title sits above the plot area only)."""
        inner = width - 8  # the layout's margins
        if self._narrow:
            share = 0.5
        elif name == "range_test":
            share = 1.0
        else:
            share = 5 / 9 if name == "surface" else 4 / 9
        return inner * share - self.plots[name].getAxis("left").width() - TITLE_MARGIN

    def _set_titles(self, name: str, titles: tuple[str, ...]) -> None:
        """A plot's titles, longest first; the longest that fits its cell is shown."""
        if titles != self._titles.get(name):
            self._titles[name] = titles
            self._fit_title(name, self.widget.width())

    def _fit_titles(self, width: float) -> None:
        for name in self._titles:
            self._fit_title(name, width)

    def _fit_title(self, name: str, width: float) -> None:
        plot = self.plots[name]
        label = plot.titleLabel
        room = self._title_room(name, width)
        size = NARROW_TITLE_SIZE if self._narrow else TITLE_SIZE
        for title in self._titles[name]:
            if label.text != title or label.opts.get("size") != size:
                plot.setTitle(title, size=size)
            if label.item.boundingRect().width() <= room:
                return

    def _reset_shown(self) -> None:
        """Forget what show() drew: the next frame redraws everything."""
        self._shown: list[Any] = [None] * MAX_RUNS
        self._extent: list[tuple[float, float, float, bool]] = [(0.0, 0.0, 0.0, False)] * MAX_RUNS
        self._dots_key: Any = None
        self._loss_range: Any = None
        self._range_key: Any = None
        self._basins_key: Any = None
        self._last_basins: tuple[Mapping[str, Any], int] | None = None

    def apply_prepared(self, data: Any) -> None:
        if data is None:
            return
        self.prepared = data
        self._reset_shown()
        surface = self.plots["surface"]
        if "grid" in data:
            rgba, excess, levels = _bands_rgba(data["grid"], data["min_loss"])
            w0, w1, b0, b1 = data["extent"]
            self.image.setImage(rgba, levels=None)
            self.image.setRect(QtCore.QRectF(w0, b0, w1 - w0, b1 - b0))
            self.image.setVisible(True)
            self.contours.setData(*_contour_path(data["ws"], data["bs"], excess, levels))
            self.well.setData([], [])
            self.minimum_marker.setData([data["optimum"][0]], [data["optimum"][1]])
            self.start_marker.setData([data["start"][0]], [data["start"][1]])
            surface.setLogMode(False, False)
            surface.disableAutoRange()
            surface.setRange(xRange=(w0, w1), yRange=(b0, b1), padding=0)
            surface.setAspectLocked(False)
        else:
            self.image.setVisible(False)
            self.contours.setData([], [])
            us, curve = data["us"], data["curve"]
            self.well.setData(us, curve)
            self.minimum_marker.setData([data["optimum"][0]], [0.0])
            start = float(data["start"][0])
            self.start_marker.setData([start], [float(np.interp(start, us, curve))])
            surface.disableAutoRange()
            top = float(max(np.interp(start, us, curve), 0.6)) * 1.3
            surface.setRange(xRange=(us[0], us[-1]), yRange=(-0.1, top), padding=0.02)
        x, y = data["x"], data["y"]
        if data["model"] != "double_well":
            self.points.setData(x, y)
            lo, hi = float(np.min(x)), float(np.max(x))
            pad = 0.05 * (hi - lo + 1e-9)
            self._x_line = np.array([lo - pad, hi + pad])
            self._x_sigmoid = np.linspace(lo - pad, hi + pad, 120)
            fit = self.plots["fit"]
            fit.disableAutoRange()
            if data["model"] == "linear":
                ylo, yhi = float(np.min(y)), float(np.max(y))
                ypad = 0.1 * (yhi - ylo + 1e-9)
                fit.setRange(xRange=tuple(self._x_line), yRange=(ylo - ypad, yhi + ypad), padding=0)
            else:
                fit.setRange(xRange=tuple(self._x_line), yRange=(-0.1, 1.1), padding=0)
        else:
            self.points.setData([], [])

    def _show_range(self, data: Mapping[str, Any]) -> None:
        """The range test of the frame (constant for a run: redrawn only when the run changes)."""
        loss_table = data["range_test_loss"]
        key = (id(loss_table), self.params["compare"], tuple(self.batches))
        if key == self._range_key:
            return
        self._range_key = key
        rates = np.asarray(data["range_test_learning_rate"])
        tested = [int(b) for b in data["range_test_batch_size"]]
        diverged_table = np.asarray(data["range_test_diverged"])
        finite = [loss_table[i][~diverged_table[i]] for i in range(len(tested))]
        values = np.concatenate(finite + [np.array([data["start_loss"]])])
        top = float(np.max(values))
        bottom = max(float(np.min(values)), LOSS_FLOOR)
        compare_batches = self.params["compare"] == "batch_size"
        edges, marks_x = [], []
        for r in range(MAX_RUNS):
            curve, edge_line = self.range_curves[r], self.range_edges[r]
            index = None
            if r < len(self.batches) and (compare_batches or r == 0) and self.batches[r] in tested:
                index = tested.index(self.batches[r])
            if index is None:
                curve.setData([], [])
                curve.setVisible(False)
                edge_line.setVisible(False)
                continue
            loss, diverged = np.asarray(loss_table[index]), diverged_table[index]
            # Diverged rates are not drawn as a loss (their loss is only "above the limit"): the
            # curve breaks there and an x at the top edge marks each one.
            shown = np.where(diverged, np.nan, np.maximum(loss, LOSS_FLOOR))
            colour = theme.series_color(r) if compare_batches else theme.MUTED
            curve.setPen(pg.mkPen(colour, width=1.5))
            curve.setData(rates, shown, connect="finite")
            curve.setVisible(True)
            edge = float(data["range_test_divergence_lr"][index]) if diverged.any() else None
            edge_line.setVisible(edge is not None)
            if edge is not None:
                edge_line.setPen(pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine))
                edge_line.setPos(np.log10(edge))
                edges.append(edge)
                marks_x.extend(rates[diverged].tolist())
        plot = self.plots["range_test"]
        low, high = math.floor(math.log10(bottom) * 4) / 4, math.ceil(math.log10(top) * 4) / 4 + 0.25
        plot.setRange(xRange=(math.log10(rates[0]), math.log10(rates[-1])), yRange=(low, high), padding=0.02)
        self.range_diverged.setData(np.log10(marks_x) if marks_x else [], [high] * len(marks_x))
        updates = sorted({int(u) for u in data["range_test_updates"]})
        length = f"{updates[0]:,}" if len(updates) == 1 else f"{updates[0]:,}–{updates[-1]:,}"
        short = f"diverges from lr ≈ {min(edges):.3g}" if edges else "no divergence up to lr 10"
        edge = f"{short} (dashed; × = diverged)" if edges else short
        self._set_titles("range_test", (f"Learning-rate range test: loss after {length} constant-rate updates — {edge}",
                                        f"Range test: loss after {length} updates — {short}",
                                        f"Range test: {short}",
                                        f"Range test (diverges ≥ {min(edges):.3g})" if edges else "Range test",
                                        short))

    def _show_basins(self, data: Mapping[str, Any], runs: int) -> None:
        if "deep_basin_share" not in data:
            return
        share = np.asarray(data["deep_basin_share"])[:runs]
        lost = np.asarray(data["basin_diverged_share"])[:runs]
        going = ~np.asarray(data["diverged"][:runs])
        # Bars of diverged runs stay where their run stopped; the title names the others' epoch.
        epoch = float(np.min(data["epoch"][:runs][going])) if going.any() else None
        self._last_basins = (data, runs)
        key = (tuple(share.tolist()), tuple(lost.tolist()), epoch if epoch is None else round(epoch, 2),
               tuple(self.batches), tuple(self.rates), self._narrow)
        if key == self._basins_key:
            return
        self._basins_key = key
        colours = [pg.mkBrush(theme.series_color(r)) for r in range(runs)]
        self.bars.setOpts(x=np.arange(runs), height=share, brushes=colours, width=0.6)
        axis = self.plots["basins"].getAxis("bottom")
        n = int(self.params["n_samples"])
        labels = [run_label(self.params["compare"], b, r, n) for b, r in zip(self.batches, self.rates)]
        # Narrow, the bars are too close for "batch 200 (full)" under each: the ticks show the
        # values and the axis label says what they are.
        compared = "batch size" if self.params["compare"] == "batch_size" else "learning rate"
        if self._narrow:
            labels = [label.split(" ", 1)[1] for label in labels]
        if axis.labelText != compared:
            axis.setLabel(compared)
        axis.showLabel(bool(self._narrow))
        axis.setTicks([[(i, labels[i]) for i in range(min(runs, len(labels)))]])
        self.plots["basins"].setXRange(-0.6, runs - 0.4, padding=0)
        for i, text in enumerate(self.bar_text):
            text.setVisible(i < runs)
            if i < runs:
                text.setText(f"{share[i]:.0%}" + (f" ({lost[i]:.0%} diverged)" if lost[i] > 0 else ""))
                text.setPos(i, float(share[i]) + 0.08)
        when = (f"at epoch {epoch:.1f} of {int(self.params['epochs'])}" if epoch is not None
                else "when each run diverged")
        if epoch is not None and not going.all():
            when += " (diverged runs: when they stopped)"
        seeds = int(data['basin_seeds'])
        at = f", epoch {epoch:.1f}" if epoch is not None else ""
        self._set_titles("basins", (f"Share of {seeds} seeds per run in the deep minimum {when}",
                                    f"Share of {seeds} seeds in the deep minimum{at}",
                                    f"Share of {seeds} seeds{at}", f"Share of {seeds} seeds"))

    def _update_legend(self, diverged: np.ndarray, epochs: np.ndarray | None = None) -> None:
        n = int(self.params["n_samples"])
        labels = []
        for r in range(len(self.batches)):
            label = run_label(self.params["compare"], self.batches[r], self.rates[r], n)
            if r < len(diverged) and diverged[r]:
                label += f" — diverged (epoch {int(epochs[r])})" if epochs is not None else " — diverged"
            labels.append(label)
        key = tuple(labels)
        if key == self._legend_key:
            return
        self._legend_key = key
        self.legend.clear()
        for r, label in enumerate(labels):
            self.legend.addItem(self.curves[r], label)
        # The legend sits on the loss curves, which repaint every frame: keep it as pixmaps.
        cache_static(self.legend)
        for sample, text in self.legend.items:
            cache_static(sample, text, text.item)

    def show(self, frame: Frame) -> None:
        data = frame.data
        theta = data["theta"]
        runs = min(theta.shape[0], MAX_RUNS)
        double_well = theta.shape[1] == 1
        diverged = data["diverged"]
        logistic = self.params["model"] == "logistic"
        for r in range(runs):
            # Only runs whose frame data changed are redrawn (cheap key: record count and position).
            epochs = data[f"run{r + 1}_epochs"]
            raw = data[f"run{r + 1}_loss"]
            trajectory = data[f"run{r + 1}_trajectory"]
            count = len(epochs)
            key = (id(trajectory.base), count, tuple(theta[r].tolist()), float(raw[-1]) if count else None,
                   bool(diverged[r]), double_well, logistic)
            if key == self._shown[r]:
                continue
            self._shown[r] = key
            losses = np.maximum(raw, LOSS_FLOOR)
            if double_well:
                recent = slice(max(0, count - TRAIL_RECENT), count)
                self.recent[r].setData(trajectory[recent, 0], raw[recent],
                                       brush=self._recent_brushes[r][TRAIL_RECENT - (recent.stop - recent.start):])
            else:
                self.trails[r].setData(trajectory[:, 0], trajectory[:, 1])
                w, b = theta[r]
                if logistic:
                    z = np.clip(w * self._x_sigmoid + b, -60, 60)
                    self.fits[r].setData(self._x_sigmoid, 1.0 / (1.0 + np.exp(-z)))
                else:
                    self.fits[r].setData(self._x_line, w * self._x_line + b)
            # The loss plot's y axis is logarithmic except for the double well: plot log10 there.
            shown = losses if double_well else np.log10(losses)
            self.curves[r].setData(epochs, shown)
            if count:
                self._extent[r] = (float(epochs[-1]), float(shown.min()), float(shown.max()), bool(diverged[r]))
        self._show_dots(theta[:runs], data["loss"][:runs], double_well)
        self._set_loss_range(runs, double_well, float(data["start_loss"]))
        self._mark_diverged(data, runs, double_well)
        self._show_range(data)
        self._show_basins(data, runs)
        for r in range(runs):
            position = np.log10(float(data["learning_rate"][r]))
            if position != self.rate_lines[r].value():  # moving a line repaints the range test
                self.rate_lines[r].setPos(position)
        self._update_legend(diverged, data["diverged_epoch"])

    def _mark_diverged(self, data: Mapping[str, Any], runs: int, double_well: bool) -> None:
        """An x and the word "diverged" where each diverged run stopped; drawn at the top edge
        when its last loss is above the visible range (the double well's linear axis)."""
        top = self._loss_range[1][1] if self._loss_range else None
        width = self._loss_range[0] if self._loss_range else 1.0
        labelled: list[float] = []  # x of labels already shown: one word per cluster of markers
        for r in range(runs):
            end, label = self.ends[r], self.end_labels[r]
            epochs = data[f"run{r + 1}_epochs"]
            if not (data["diverged"][r] and len(epochs)):
                if end.isVisible():
                    end.setVisible(False)
                    label.setVisible(False)
                continue
            last = float(np.maximum(data[f"run{r + 1}_loss"][-1], LOSS_FLOOR))
            y = last if double_well else math.log10(last)
            clipped = top is not None and y > top
            if clipped:
                y = top
            x = float(epochs[-1])
            # Above the range (clipped to the top edge) the word says why the curve leaves the
            # plot; otherwise the x and the legend ("— diverged (epoch n)") say it.
            show_label = clipped and all(abs(x - other) > 0.15 * width for other in labelled)
            if show_label:
                labelled.append(x)
            key = (x, y, int(data["diverged_epoch"][r]), show_label)
            if end.isVisible() and getattr(end, "_key", None) == key:
                continue
            end._key = key
            end.setData([x], [y])
            end.setVisible(True)
            label.setText("diverged ↑")
            label.setAnchor((0.0, 0.0) if x < 0.5 * width else (1.0, 0.0))  # text stays inside the plot
            label.setPos(x, y)
            label.setVisible(show_label)

    def _show_dots(self, theta: np.ndarray, loss: np.ndarray, double_well: bool) -> None:
        xs = theta[:, 0]
        # The double well's dot sits on its curve: the full-data loss at the current u.
        ys = loss if double_well else theta[:, 1]
        key = (tuple(xs.tolist()), tuple(np.asarray(ys, dtype=float).tolist()))
        if key != self._dots_key:
            self._dots_key = key
            self.dots.setData(x=xs, y=ys, brush=self._dot_brushes[:len(xs)])

    def _set_loss_range(self, runs: int, double_well: bool, start_loss: float) -> None:
        """Quantised ranges (epochs to the next 1-2-5 step, log loss to quarter decades), so the
        axes repaint only when a curve outgrows them, not every frame. Every curve fits, diverged
        ones included (log axis); on the double well's linear axis a diverged run's jump would
        squash the others, so the range follows the other runs and the start loss, and the
        diverged curve runs to the top edge with its marker there."""
        right = max(self._extent[r][0] for r in range(runs))
        low = min(self._extent[r][1] for r in range(runs))
        epochs = max(1.0, float(self.params["epochs"]))
        x_top = min(nice_ceiling(right), epochs) if right > 0 else min(1.0, epochs)
        if double_well:
            kept = [self._extent[r][2] for r in range(runs) if not self._extent[r][3]]
            high = max(kept + [start_loss])
            y_range = (min(0.0, -nice_ceiling(-low)) if low < 0 else 0.0, nice_ceiling(high))
        else:
            high = max(self._extent[r][2] for r in range(runs))
            bottom, top = math.floor(4 * low) / 4, math.ceil(4 * high) / 4  # quarter decades
            y_range = (bottom, top if top > bottom else bottom + 0.25)
        key = (x_top, y_range)
        if key != self._loss_range:
            self._loss_range = key
            self.plots["loss"].setRange(xRange=(0.0, x_top), yRange=y_range, padding=0.02)
