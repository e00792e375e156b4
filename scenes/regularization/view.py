"""pyqtgraph view of the regularization scene: the fit (training and test points, true curve, fitted
curve, the faint bundle of refits), the coefficients, the regularization path, error against alpha
and against degree, learning curves, and the bias² / variance / noise bar (or, in early-stopping
mode, the train and validation loss per epoch).

The path, the error curves and the learning curves come from ``prepare`` (scenes.regularization.
analysis), which the window runs in a worker; ``show`` only calls setData on items built once.
Error and loss axes are logarithmic (an overfit's test error can be 10⁴ times the noise): the items
are PlotDataItems, which take the plot's log mode themselves; bars get log10 values by hand.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, corner_text, place_cells, same_values
from scenes.regularization import analysis
from scenes.regularization.sim import MAX_DEGREE, X_RANGE

TRAIN_COLOR, TEST_COLOR, CV_COLOR = theme.SERIES[0], theme.SERIES[1], theme.SERIES[2]
FIT_COLOR, TRUE_COLOR = theme.SERIES[1], theme.FOREGROUND
#: Below this view width (px) the plots go in two columns (four rows), else in three (three rows).
NARROW_WIDTH = 860
TITLE_SIZE = "10pt"
#: The bias² / variance / noise bars: a log axis spanning at most this many decades.
BAR_DECADES = 12
ERROR_FLOOR = 1e-6


def _plot(title: str, left: str = "", bottom: str = "", log_x: bool = False, log_y: bool = False) -> pg.PlotItem:
    axes = {}
    if log_x:
        axes["bottom"] = theme.LogAxis("bottom")
    if log_y:
        axes["left"] = theme.LogAxis("left")
    plot = pg.PlotItem(axisItems=axes)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    plot.setTitle(title, size=TITLE_SIZE)
    plot.setLogMode(log_x, log_y)
    if left:
        plot.setLabel("left", left)
    if bottom:
        plot.setLabel("bottom", bottom)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    return plot


def _line(plot: pg.PlotItem, color: str, width: float = 1.5, style=QtCore.Qt.PenStyle.SolidLine,
          name: str | None = None, symbol: str | None = None) -> pg.PlotDataItem:
    item = pg.PlotDataItem(pen=pg.mkPen(color, width=width, style=style), name=name, symbol=symbol,
                           symbolSize=5, symbolBrush=color, symbolPen=None)
    plot.addItem(item)
    return item


def _marker(plot: pg.PlotItem, color: str, symbol: str = "o", size: int = 11) -> pg.PlotDataItem:
    item = pg.PlotDataItem(pen=None, symbol=symbol, symbolSize=size, symbolBrush=None,
                           symbolPen=pg.mkPen(color, width=2))
    plot.addItem(item)
    return item


def _vline(plot: pg.PlotItem, color: str = theme.MUTED) -> pg.InfiniteLine:
    line = pg.InfiniteLine(angle=90, pen=pg.mkPen(color, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
    plot.addItem(line)
    return line


def positive(values: np.ndarray, floor: float = ERROR_FLOOR) -> np.ndarray:
    """Values for a log axis: at least ``floor`` (an RMSE of exactly 0 is a perfect interpolation)."""
    return np.maximum(np.asarray(values, dtype=float), floor)


def bundle_path(x: np.ndarray, bundle: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All bundle curves as one x, y pair with a connect array that breaks between curves."""
    count, size = bundle.shape
    xs = np.tile(np.asarray(x, dtype=float), count)
    connect = np.ones(count * size, dtype=bool)
    connect[size - 1::size] = False
    return xs, np.asarray(bundle, dtype=float).ravel(), connect


def log_bars(values: np.ndarray) -> tuple[np.ndarray, float]:
    """log10 of the bar values and the log10 floor the bars rise from: a third of the smallest positive
    value, but at most BAR_DECADES decades below the largest (a zero variance has no bar)."""
    values = np.asarray(values, dtype=float)
    top = float(np.max(values)) if len(values) and np.max(values) > 0 else 1.0
    smallest = float(np.min(values[values > 0])) if np.any(values > 0) else top
    floor = math.log10(max(smallest / 3, top * 10.0 ** -BAR_DECADES))
    return np.maximum(np.log10(np.maximum(values, 1e-300)), floor), floor


class RegularizationView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.prepared: dict[str, Any] | None = None
        self.frame: Frame | None = None
        self._shown: dict[str, tuple] = {}
        layout = self.widget.ci
        layout.setContentsMargins(4, 4, 4, 4)
        small = QtGui.QFont()
        small.setPointSize(8)

        # The fit.
        fit = _plot("Data and fit", "y", "x")
        self.bundle = pg.PlotCurveItem(pen=pg.mkPen(150, 150, 150, 60, width=1), skipFiniteCheck=True)
        fit.addItem(self.bundle)
        self.true_curve = _line(fit, TRUE_COLOR, 1.5, QtCore.Qt.PenStyle.DashLine, name="true curve")
        self.best_curve = _line(fit, theme.SERIES[2], 1.5, QtCore.Qt.PenStyle.DotLine, name="best epoch")
        self.test_points = pg.ScatterPlotItem(size=5, symbol="o", pen=pg.mkPen(theme.MUTED), brush=None)
        fit.addItem(self.test_points)
        self.val_points = pg.ScatterPlotItem(size=6, symbol="t", pen=pg.mkPen(theme.SERIES[2]), brush=None)
        fit.addItem(self.val_points)
        self.train_points = pg.ScatterPlotItem(size=7, symbol="o", pen=pg.mkPen("#ffffff", width=0.5),
                                               brush=pg.mkBrush(TRAIN_COLOR))
        fit.addItem(self.train_points)
        self.fit_curve = _line(fit, FIT_COLOR, 2.5, name="fit")
        fit.setXRange(*X_RANGE, padding=0.02)
        self.corner = corner_text(fit, alpha=170, pos=(2, 0), point_size=small.pointSizeF())
        self.overlay = pg.TextItem(anchor=(0.5, 1.0), color=theme.DIVERGED, fill=pg.mkBrush(255, 255, 255, 230))
        self.overlay.setParentItem(fit.vb)
        self.overlay.setFont(small)
        self.overlay.setZValue(40)
        self.overlay.hide()

        # Coefficients.
        coef = _plot("Coefficients", "", "power of x")
        self.coef_bars = pg.BarGraphItem(x=np.arange(1, 2), height=np.zeros(1), width=0.7,
                                         brush=pg.mkBrush(TRAIN_COLOR), pen=None)
        coef.addItem(self.coef_bars)
        self.coef_zeros = pg.ScatterPlotItem(size=6, symbol="x", pen=pg.mkPen(theme.DIVERGED, width=1.5))
        coef.addItem(self.coef_zeros)
        coef.addItem(pg.InfiniteLine(angle=0, pos=0, pen=pg.mkPen(theme.MUTED, width=1)))

        # Regularization path.
        path = _plot("Regularization path", "coefficient", "alpha", log_x=True)
        self.path_curves = [_line(path, theme.series_color(i), 1.2) for i in range(MAX_DEGREE)]
        self.path_marker = _vline(path, FIT_COLOR)
        self.path_points = pg.ScatterPlotItem(size=6, symbol="o", pen=None, brush=pg.mkBrush(FIT_COLOR))
        path.addItem(self.path_points)
        self.path_note = pg.TextItem("", anchor=(0, 0), color=theme.MUTED)
        self.path_note.setParentItem(path.vb)
        self.path_note.setPos(4, 4)
        path.setXRange(-6, 3, padding=0.02)

        # Error against alpha and degree.
        by_alpha = _plot("Error vs alpha", "RMSE", "alpha", log_x=True, log_y=True)
        by_degree = _plot("Error vs degree", "RMSE", "degree", log_y=True)
        self.error_items: dict[str, dict[str, Any]] = {}
        for name, plot in (("alpha", by_alpha), ("degree", by_degree)):
            legend = plot.addLegend(offset=(-4, 4), labelTextSize="7pt", verSpacing=-6,
                                    brush=pg.mkBrush(255, 255, 255, 200))
            legend.setZValue(20)
            items = {"train": _line(plot, TRAIN_COLOR, name="train"), "test": _line(plot, TEST_COLOR, name="test"),
                     "cv": _line(plot, CV_COLOR, 1.5, QtCore.Qt.PenStyle.DashLine, name="5-fold CV"),
                     "minimum": _marker(plot, CV_COLOR, "o", 11), "current": _vline(plot, FIT_COLOR),
                     "test_minimum": _marker(plot, TEST_COLOR, "star", 12)}
            items["legend"] = legend
            self.error_items[name] = items
        self.alpha_note = pg.TextItem("", anchor=(0, 0), color=theme.MUTED)
        self.alpha_note.setParentItem(by_alpha.vb)
        self.alpha_note.setPos(4, 4)
        by_alpha.setXRange(-6, 3, padding=0.02)

        # Learning curves.
        learning = _plot("Learning curves", "RMSE", "training points", log_x=True, log_y=True)
        learning.addLegend(offset=(-4, 4), labelTextSize="7pt", verSpacing=-6,
                                    brush=pg.mkBrush(255, 255, 255, 200))
        self.learning_train = _line(learning, TRAIN_COLOR, name="train", symbol="o")
        self.learning_val = _line(learning, TEST_COLOR, name="validation", symbol="o")
        self.learning_current = _vline(learning, FIT_COLOR)

        # Bias² / variance / noise (resample mode).
        bias = _plot("Bias² + variance + noise", "", "", log_y=True)
        self.bias_bars = pg.BarGraphItem(x=np.arange(4), height=np.zeros(4), width=0.65,
                                         brushes=[pg.mkBrush(c) for c in (theme.SERIES[4], theme.SERIES[3],
                                                                          theme.MUTED, theme.SERIES[1])],
                                         pen=None)
        bias.addItem(self.bias_bars)
        bias.getAxis("bottom").setTicks([[(0, "bias²"), (1, "variance"), (2, "noise"), (3, "test MSE")]])
        self.bias_sum = pg.PlotCurveItem(pen=pg.mkPen(theme.FOREGROUND, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        bias.addItem(self.bias_sum)
        self.bias_text = pg.TextItem("", anchor=(0, 0), color=theme.FOREGROUND)
        self.bias_text.setParentItem(bias.vb)
        self.bias_text.setPos(4, 2)
        self.bias_text.setFont(small)
        bias.setXRange(-0.6, 3.6, padding=0)

        # Early stopping (early-stopping mode).
        stopping = _plot("Early stopping", "MSE", "epoch", log_y=True)
        stopping.addLegend(offset=(-4, 4), labelTextSize="7pt", verSpacing=-6,
                                    brush=pg.mkBrush(255, 255, 255, 200))
        self.es_train = _line(stopping, TRAIN_COLOR, name="train")
        self.es_val = _line(stopping, theme.SERIES[2], name="validation")
        self.es_best = _vline(stopping, theme.SERIES[2])
        self.es_best_marker = _marker(stopping, theme.SERIES[2], "o", 11)

        self.plots = {"fit": fit, "coefficients": coef, "path": path, "error_alpha": by_alpha,
                      "error_degree": by_degree, "learning": learning, "bias_variance": bias,
                      "early_stopping": stopping}
        self._cells: dict[Any, tuple[int, int, int, int] | None] = {}
        self._narrow: bool | None = None
        self.widget.installEventFilter(self)
        self.set_params(params)
        self._arrange(self.widget.width())

    # -- layout --------------------------------------------------------------------------------------
    def resized(self, width: float, height: float) -> None:
        self._arrange(width)
        QtCore.QTimer.singleShot(0, self, self._place_overlay)  # after the layout has settled

    def _arrange(self, width: float, force: bool = False) -> None:
        """Wide: the fit over two columns with the bias / early-stopping plot beside it, then two rows
        of three (learning curves over two). Narrow: two columns, the fit over two rows on the left."""
        narrow = width < NARROW_WIDTH
        if narrow == self._narrow and not force:
            return
        p = self.plots
        stopping = self.params.get("mode") == "early_stopping"
        side, hidden = (p["early_stopping"], p["bias_variance"]) if stopping else \
            (p["bias_variance"], p["early_stopping"])
        if narrow:
            cells = {p["fit"]: (0, 0, 2, 1), side: (0, 1, 1, 1), p["coefficients"]: (1, 1, 1, 1),
                     p["path"]: (2, 0, 1, 1), p["error_alpha"]: (2, 1, 1, 1), p["error_degree"]: (3, 0, 1, 1),
                     p["learning"]: (3, 1, 1, 1), hidden: None}
            rows, columns = (1, 1, 1, 1), (1, 1, 0)
        else:
            cells = {p["fit"]: (0, 0, 1, 2), side: (0, 2, 1, 1), p["coefficients"]: (1, 0, 1, 1),
                     p["path"]: (1, 1, 1, 1), p["error_alpha"]: (1, 2, 1, 1), p["error_degree"]: (2, 0, 1, 1),
                     p["learning"]: (2, 1, 1, 2), hidden: None}
            rows, columns = (3, 2, 2, 0), (1, 1, 1)
        place_cells(self.widget.ci, cells, self._cells)
        for index, factor in enumerate(rows):
            self.widget.ci.layout.setRowStretchFactor(index, factor)
        for index, factor in enumerate(columns):
            self.widget.ci.layout.setColumnStretchFactor(index, factor)
        self._narrow = narrow
        self._shown.pop("corner", None)
        if self.frame is not None:
            self._show_fit(self.frame)

    # -- the contract --------------------------------------------------------------------------------
    @staticmethod
    def prepare(params: Mapping[str, Any], seed: int) -> Any:
        return analysis.prepare(params, seed)

    @staticmethod
    def prepare_key(params: Mapping[str, Any], seed: int) -> Any:
        return analysis.prepare_key(params, seed)

    def apply_prepared(self, data: Any) -> None:
        self.prepared = data
        self._shown.pop("prepared", None)
        if self.frame is not None:
            self._show_prepared()

    def set_params(self, params: Mapping[str, Any]) -> None:
        old_mode = self.params.get("mode")
        super().set_params(params)
        if params.get("mode") != old_mode or self._narrow is None:
            self._arrange(self.widget.width(), force=True)
        self._shown.clear()

    def settle(self) -> None:
        self._place_overlay()
        if self.prepared is None or self.prepared.get("key") != analysis.prepare_key(self.params, self._seed()):
            self.apply_prepared(self.prepare(self.params, self._seed()))

    def _seed(self) -> int:
        """The run's seed (the frame carries it; the prepared curves must be of the same draw)."""
        return int(self.frame.data["seed"]) if self.frame is not None else 0

    def _changed(self, name: str, *values) -> bool:
        if same_values(self._shown.get(name), values):
            return False
        self._shown[name] = values
        return True

    def show(self, frame: Frame) -> None:
        self.frame = frame
        d = frame.data
        stopping = d["mode"] == "early_stopping"
        if stopping != (self._cells.get(self.plots["early_stopping"]) is not None):
            self._arrange(self.widget.width(), force=True)
        self._show_fit(frame)
        self._show_coefficients(d)
        if stopping:
            self._show_early_stopping(d)
        else:
            self._show_bias_variance(d)
        self._show_prepared()

    # -- the panels ----------------------------------------------------------------------------------
    def _show_fit(self, frame: Frame) -> None:
        d = frame.data
        stopping = d["mode"] == "early_stopping"
        if self._changed("data", d["x_train"], d["y_train"], d["x_test"], d["y_true_grid"]):
            self.train_points.setData(np.asarray(d["x_train"]), np.asarray(d["y_train"]))
            self.test_points.setData(np.asarray(d["x_test"]), np.asarray(d["y_test"]))
            self.true_curve.setData(np.asarray(d["x_grid"]), np.asarray(d["y_true_grid"]))
            # The y range follows the data, not a wild fit (an overfit runs off the plot, as it should).
            ys = np.concatenate([d["y_train"], d["y_test"], d["y_true_grid"]])
            low, high = float(np.min(ys)), float(np.max(ys))
            pad = 0.15 * max(high - low, 1e-3)
            self.plots["fit"].setYRange(low - pad, high + pad, padding=0)
        if stopping:
            self.val_points.setData(np.asarray(d["x_val"]), np.asarray(d["y_val"]))
            self.best_curve.setData(np.asarray(d["x_grid"]), np.asarray(d["y_best_grid"]))
        self.val_points.setVisible(stopping)
        self.best_curve.setVisible(stopping)
        self.fit_curve.setData(np.asarray(d["x_grid"]), np.asarray(d["y_fit_grid"]))
        bundle = d.get("bundle")
        if not stopping and bundle is not None and len(bundle) > 1:
            if self._changed("bundle", len(bundle), id(bundle)):
                xs, ys, connect = bundle_path(d["x_grid"], bundle)
                self.bundle.setData(xs, ys, connect=connect)
            self.bundle.setVisible(True)
        else:
            self.bundle.setVisible(False)
            self._shown.pop("bundle", None)
        # One line along the top: a corner box would hide the data near x = -1.
        lines = [f"RMSE train {d['train_rmse']:.3g}", f"test {d['test_rmse']:.3g}"]
        if not stopping:
            lines.append(f"5-fold CV {d['cv_rmse']:.3g}")
            lines.append(f"{d['n_resamples']} fit{'s' if d['n_resamples'] != 1 else ''}")
        else:
            lines.append(f"epoch {d['epoch']} (best {d['best_epoch']})")
        text = " · ".join(lines) if not self._narrow else " · ".join(lines[:2]) + "\n" + " · ".join(lines[2:])
        if self._changed("corner", text):
            self.corner.setText(text)
        note = frame.message if ("converge" in frame.message or "ill-conditioned" in frame.message
                                 or "diverged" in frame.message) else ""
        if self._changed("overlay", note):
            self.overlay.setText(note)
            self.overlay.setVisible(bool(note))
            self._place_overlay()

    def _place_overlay(self) -> None:
        from shiboken6 import isValid

        if not isValid(self.plots["fit"].vb):  # a deferred call after the view was closed (scene switched)
            return
        rect = self.plots["fit"].vb.rect()
        self.overlay.setTextWidth(max(120.0, rect.width() - 16))
        self.overlay.setPos(rect.width() / 2, rect.height() - 4)

    def _show_coefficients(self, d: Mapping[str, Any]) -> None:
        coef = np.asarray(d["coef"], dtype=float)
        if not self._changed("coef", coef):
            return
        powers = np.arange(1, len(coef) + 1)
        self.coef_bars.setOpts(x=powers, height=coef, width=0.7)
        zeros = powers[coef == 0.0]
        self.coef_zeros.setData(zeros, np.zeros(len(zeros)))
        plot = self.plots["coefficients"]
        plot.setXRange(0.3, len(coef) + 0.7, padding=0)
        top = float(np.max(np.abs(coef))) if len(coef) else 1.0
        top = top if top > 0 else 1.0
        plot.setYRange(-1.1 * top, 1.1 * top, padding=0)
        basis = "Legendre" if d["mode"] == "early_stopping" else "standardised"
        plot.setLabel("bottom", "Legendre degree" if d["mode"] == "early_stopping" else "power of x")
        count = int(np.sum(coef == 0.0))
        zero = f", {count if count else 'none'} exactly 0" if d["mode"] != "early_stopping" and d["penalty"] in \
            ("lasso", "elasticnet") else ""
        plot.setTitle(f"Coefficients ({basis}{zero})", size=TITLE_SIZE)

    def _show_bias_variance(self, d: Mapping[str, Any]) -> None:
        values = np.array([d["bias2"], d["variance"], d["noise_variance"], d["expected_test_mse"]], dtype=float)
        count = int(d["n_resamples"])
        if not self._changed("bias", values, count):
            return
        heights, floor = log_bars(values)
        self.bias_bars.setOpts(x=np.arange(4), y0=np.full(4, floor), height=heights - floor, width=0.65)
        total = float(values[:3].sum())
        level = math.log10(total) if total > 0 else floor
        self.bias_sum.setData([-0.4, 3.4], [level, level])
        top = max(float(np.max(heights)), level)
        # Head room above the tallest bar for the two-line note.
        self.plots["bias_variance"].setYRange(floor, top + 0.5 * max(top - floor, 1.0), padding=0)
        if count < 2:
            text = "step: refits on fresh draws estimate these"
        else:
            text = f"{count} fits\nsum {total:.3g} (dashed)"
        self.bias_text.setText(text)

    def _show_early_stopping(self, d: Mapping[str, Any]) -> None:
        train = positive(d["train_history"], 1e-12)
        val = positive(d["val_history"], 1e-12)
        epochs = np.arange(len(train))
        self.es_train.setData(epochs, train)
        self.es_val.setData(epochs, val)
        best = int(d["best_epoch"])
        self.es_best.setPos(best)
        self.es_best_marker.setData([best], [val[best]])
        self.plots["early_stopping"].setXRange(0, max(len(train) - 1, 10), padding=0.02)

    def _show_prepared(self) -> None:
        prepared = self.prepared
        params = self.params
        key = analysis.prepare_key(params, self._seed()) if prepared is not None else None
        ready = prepared is not None and prepared.get("key") == key
        if not self._changed("prepared", ready, id(prepared), params.get("alpha"), params.get("degree"),
                             params.get("n_train"), params.get("penalty")):
            return
        degree, alpha = int(params["degree"]), float(params["alpha"])
        penalised = params["penalty"] != "none"
        # Markers of the current setting move at once; the curves wait for the prepared data.
        log_alpha = math.log10(alpha)
        self.path_marker.setPos(log_alpha)
        self.error_items["alpha"]["current"].setPos(log_alpha)
        self.error_items["degree"]["current"].setPos(degree)
        self.learning_current.setPos(math.log10(int(params["n_train"])))
        for item in (self.path_marker, self.error_items["alpha"]["current"]):
            item.setVisible(penalised)
        if not ready:
            return
        p = prepared
        alphas = np.asarray(p["alphas"])
        path = np.asarray(p["path"])
        for i, curve in enumerate(self.path_curves):
            if penalised and i < path.shape[1] and len(path):
                curve.setData(alphas, path[:, i])
                curve.setVisible(True)
            else:
                curve.setData([], [])
                curve.setVisible(False)
        if penalised and len(path):
            # The current coefficients on the path (at the current alpha, interpolated in log alpha).
            at = np.array([np.interp(log_alpha, np.log10(alphas), path[:, i]) for i in range(path.shape[1])])
            self.path_points.setData(np.full(len(at), log_alpha), at)
            low, high = float(np.min(path)), float(np.max(path))
            pad = 0.08 * max(high - low, 1e-6)
            self.plots["path"].setYRange(low - pad, high + pad, padding=0)
        else:
            self.path_points.setData([], [])
        note = "" if penalised else "no penalty: no alpha\n(choose Ridge, Lasso\nor ElasticNet)"
        self.alpha_note.setText(note)
        failed = int(np.sum(~np.asarray(p["path_converged"], dtype=bool)))
        if penalised and failed:
            note = f"not converged within\n{analysis.PATH_MAX_ITER} iterations at\n{failed} of {len(alphas)} alphas"
        self.path_note.setText(note)
        self._show_errors("alpha", alphas if penalised else np.zeros(0), p["alpha_train"], p["alpha_test"],
                          p["alpha_cv"])
        self._show_errors("degree", np.asarray(p["degrees"], dtype=float), p["degree_train"], p["degree_test"],
                          p["degree_cv"])
        self.learning_train.setData(np.asarray(p["learning_sizes"], dtype=float), positive(p["learning_train"]))
        self.learning_val.setData(np.asarray(p["learning_sizes"], dtype=float), positive(p["learning_validation"]))

    def _show_errors(self, name: str, xs: np.ndarray, train, test, cv) -> None:
        items = self.error_items[name]
        items["legend"].setVisible(len(xs) > 0)  # an empty plot shows its note instead
        if len(xs) == 0:
            for key in ("train", "test", "cv", "minimum", "test_minimum"):
                items[key].setData([], [])
            self.plots[f"error_{name}"].setYRange(-1, 0, padding=0)  # empty: a tidy 0.1 .. 1 axis
            return
        train, test, cv = positive(train), positive(test), positive(cv)
        items["train"].setData(xs, train)
        items["test"].setData(xs, test)
        items["cv"].setData(xs, cv)
        best = int(np.argmin(cv))
        items["minimum"].setData([xs[best]], [cv[best]])
        best_test = int(np.argmin(test))
        items["test_minimum"].setData([xs[best_test]], [test[best_test]])
        # Keep the interesting part in view: wild overfits above 100 x the best error are cut off.
        low = float(min(train.min(), test.min(), cv.min()))
        high = float(min(max(test.max(), cv.max(), train.max()), 100 * max(cv[best], test[best_test])))
        self.plots[f"error_{name}"].setYRange(math.log10(low) - 0.1, math.log10(max(high, low * 1.01)) + 0.1,
                                              padding=0)
