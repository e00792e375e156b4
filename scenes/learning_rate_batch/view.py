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
from explorer.ui.view import SceneView, cache_static, nice_ceiling
from scenes.learning_rate_batch import analysis
from scenes.learning_rate_batch.sim import MAX_RUNS, run_label, run_settings

LOSS_FLOOR = 1e-12
# Light ramp for the loss bands (low = pale), so the run colours stand out on top.
_LOW = np.array([255, 253, 240], dtype=float)
_HIGH = np.array([165, 180, 200], dtype=float)
BANDS = 14


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
                                axisItems={"left": theme.LogAxis("left")})
        rangetest.setLogMode(True, True)
        rangetest.setLabel("bottom", "learning rate")
        rangetest.setLabel("left", "loss")

        basins = pg.PlotItem(title="Share of 200 seeds ending in the deep minimum")
        basins.setYRange(0, 1.18, padding=0)
        basins.setLabel("left", "share")
        basins.setMouseEnabled(False, False)
        self.bars = pg.BarGraphItem(x=np.arange(MAX_RUNS), height=np.zeros(MAX_RUNS), width=0.6)
        basins.addItem(self.bars)
        self.bar_text = [pg.TextItem("", anchor=(0.5, 1.0), color=theme.FOREGROUND) for _ in range(MAX_RUNS)]
        for text in self.bar_text:
            basins.addItem(text)

        self.trails, self.fits, self.curves, self.ends = [], [], [], []
        self.range_curves, self.range_edges, self.rate_lines = [], [], []
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

        layout.addItem(surface, row=0, col=0, rowspan=2)
        layout.addItem(fit, row=0, col=1)
        layout.addItem(loss, row=1, col=1)
        layout.addItem(rangetest, row=2, col=0, colspan=2)
        layout.layout.setColumnStretchFactor(0, 5)
        layout.layout.setColumnStretchFactor(1, 4)
        layout.layout.setRowStretchFactor(0, 3)
        layout.layout.setRowStretchFactor(1, 3)
        layout.layout.setRowStretchFactor(2, 2)
        self.plots = {"surface": surface, "fit": fit, "loss": loss, "range_test": rangetest, "basins": basins}
        self._right_top = fit
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
            self.widget.ci.addItem(wanted, row=0, col=1)
            self._right_top = wanted
        surface = self.plots["surface"]
        surface.setTitle("Full-data loss over u (one parameter)" if double_well else "Full-data loss over (w, b)")
        surface.setLabel("bottom", "u" if double_well else "w")
        surface.setLabel("left", "loss" if double_well else "b")
        # The double well's deep minimum is exactly 0: a log axis would show only rounding noise.
        self.plots["loss"].setLogMode(False, not double_well)
        self.batches, self.rates = run_settings(params)
        runs = len(self.batches)
        for r in range(MAX_RUNS):
            visible = r < runs
            for item in (self.trails[r], self.fits[r], self.curves[r], self.rate_lines[r]):
                item.setVisible(visible)
            if not visible:
                self.ends[r].setVisible(False)
            if visible:
                self.rate_lines[r].setPos(np.log10(self.rates[r]))
        self._reset_shown()
        self._update_legend(np.zeros(runs, dtype=bool))

    def _reset_shown(self) -> None:
        """Forget what show() drew: the next frame redraws everything."""
        self._shown: list[Any] = [None] * MAX_RUNS
        self._extent: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * MAX_RUNS
        self._dots_key: Any = None
        self._loss_range: Any = None

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
        self._show_range(data)
        if "basins" in data:
            share = data["basins"]
            runs = len(share)
            colours = [pg.mkBrush(theme.series_color(r)) for r in range(runs)]
            self.bars.setOpts(x=np.arange(runs), height=share, brushes=colours, width=0.6)
            axis = self.plots["basins"].getAxis("bottom")
            labels = [run_label(self.params["compare"], b, r, len(x)) for b, r in zip(self.batches, self.rates)]
            axis.setTicks([[(i, labels[i]) for i in range(min(runs, len(labels)))]])
            self.plots["basins"].setXRange(-0.6, runs - 0.4, padding=0)
            for i, text in enumerate(self.bar_text):
                text.setVisible(i < runs)
                if i < runs:
                    text.setText(f"{share[i]:.0%}")
                    text.setPos(i, float(share[i]) + 0.08)

    def _show_range(self, data: Mapping[str, Any]) -> None:
        rates = data["range_rates"]
        cap = 10.0 * max(data["range_start_loss"], LOSS_FLOOR)
        shown = data["range"]
        by_batch = {b: (loss, edge) for b, loss, edge in shown}
        compare_batches = self.params["compare"] == "batch_size"
        edges = []
        for r in range(MAX_RUNS):
            curve, edge_line = self.range_curves[r], self.range_edges[r]
            if compare_batches:
                entry = by_batch.get(self.batches[r]) if r < len(self.batches) else None
            else:
                entry = (shown[0][1], shown[0][2]) if r == 0 else None
            if entry is None:
                curve.setData([], [])
                curve.setVisible(False)
                edge_line.setVisible(False)
                continue
            loss, edge = entry
            values = np.clip(np.where(np.isfinite(loss), loss, cap), LOSS_FLOOR, cap)
            colour = theme.series_color(r) if compare_batches else theme.MUTED
            curve.setPen(pg.mkPen(colour, width=1.5))
            curve.setData(rates, values)
            curve.setVisible(True)
            edge_line.setVisible(edge is not None)
            if edge is not None:
                edge_line.setPen(pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine))
                edge_line.setPos(np.log10(edge))
                edges.append(edge)
        edge = f"breaks down from lr ≈ {min(edges):.2g} (dashed)" if edges else "no breakdown up to lr 10"
        self.plots["range_test"].setTitle(f"Learning-rate range test: loss after a short run — {edge}")

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
        # A diverging run would squash every other curve: clip the display at 100x the start loss.
        first = data["run1_loss"]
        cap = 100.0 * max(float(first[0]) if len(first) else 1.0, 1e-6)
        logistic = self.params["model"] == "logistic"
        for r in range(runs):
            # Only runs whose frame data changed are redrawn (cheap key: record count and position).
            epochs = data[f"run{r + 1}_epochs"]
            raw = data[f"run{r + 1}_loss"]
            count = len(epochs)
            key = (count, tuple(theta[r].tolist()), float(raw[-1]) if count else None, bool(diverged[r]),
                   cap, double_well, logistic)
            if key == self._shown[r]:
                continue
            self._shown[r] = key
            trajectory = data[f"run{r + 1}_trajectory"]
            losses = np.clip(raw, LOSS_FLOOR, cap)
            if double_well:
                self.trails[r].setData(trajectory[:, 0], raw)
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
                self._extent[r] = (float(epochs[-1]), float(shown.min()), float(shown.max()))
            if diverged[r] and count:
                self.ends[r].setData([epochs[-1]], [shown[-1]])
                self.ends[r].setVisible(True)
            elif self.ends[r].isVisible():
                self.ends[r].setVisible(False)
        self._show_dots(theta[:runs], data["loss"][:runs], double_well)
        self._set_loss_range(runs, double_well)
        for r in range(runs):
            position = np.log10(float(data["learning_rate"][r]))
            if position != self.rate_lines[r].value():  # moving a line repaints the range test
                self.rate_lines[r].setPos(position)
        self._update_legend(diverged, data["diverged_epoch"])

    def _show_dots(self, theta: np.ndarray, loss: np.ndarray, double_well: bool) -> None:
        xs = theta[:, 0]
        ys = loss if double_well else theta[:, 1]
        key = (tuple(xs.tolist()), tuple(np.asarray(ys, dtype=float).tolist()))
        if key != self._dots_key:
            self._dots_key = key
            self.dots.setData(x=xs, y=ys, brush=self._dot_brushes[:len(xs)])

    def _set_loss_range(self, runs: int, double_well: bool) -> None:
        """Quantised ranges (epochs to the next 1-2-5 step, log loss to quarter decades), so the
        axes repaint only when a curve outgrows them, not every frame."""
        right = max(self._extent[r][0] for r in range(runs))
        low = min(self._extent[r][1] for r in range(runs))
        high = max(self._extent[r][2] for r in range(runs))
        epochs = max(1.0, float(self.params["epochs"]))
        x_top = min(nice_ceiling(right), epochs) if right > 0 else min(1.0, epochs)
        if double_well:
            y_range = (min(0.0, -nice_ceiling(-low)) if low < 0 else 0.0, nice_ceiling(high))
        else:
            bottom, top = math.floor(4 * low) / 4, math.ceil(4 * high) / 4  # quarter decades
            y_range = (bottom, top if top > bottom else bottom + 0.25)
        key = (x_top, y_range)
        if key != self._loss_range:
            self._loss_range = key
            self.plots["loss"].setRange(xRange=(0.0, x_top), yRange=y_range, padding=0.02)
