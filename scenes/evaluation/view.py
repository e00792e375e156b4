"""Evaluation view: the panels of the chosen lesson; the threshold redraws from the frame's scores
(sorted once per frame, then two searchsorted calls per drag), never a refit."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg

from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, place_cells
from scenes.evaluation import metrics as m

NEG, POS = theme.SERIES[0], theme.SERIES[1]


def blocky(rgba: np.ndarray, cells: int) -> np.ndarray:
    """Repeat each cell into a square of pixels so an export's smoothing keeps the cells sharp."""
    rows, cols = rgba.shape[:2]
    factor = max(1, 256 // max(rows, cols, 1)) if cells else 1
    return np.repeat(np.repeat(rgba, factor, axis=0), factor, axis=1)


_LESSON_KEYS = (("scores", "threshold"), ("confusion", "multiclass"), ("residuals", "regression"),
                ("fold_layout", "cross_validation"), ("grid_done", "grid_search"))


class EvaluationView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.frame: Frame | None = None
        self._table: m.ThresholdTable | None = None
        self._table_source = None
        self._placed: dict = {}
        w = self.widget.ci
        p = self.plots
        p["histogram"] = pg.PlotItem(title="Scores by class")
        p["histogram"].setLabels(bottom="score", left="count")
        self.hist_neg = pg.PlotCurveItem(x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0, pen=NEG, brush=pg.mkBrush(NEG + "60"))
        self.hist_pos = pg.PlotCurveItem(x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0, pen=POS, brush=pg.mkBrush(POS + "60"))
        p["histogram"].addItem(self.hist_neg)
        p["histogram"].addItem(self.hist_pos)
        self.threshold_line = pg.InfiniteLine(0.5, movable=True, pen=pg.mkPen(theme.FOREGROUND, width=2),
                                              bounds=(0.0, 1.0))
        self.threshold_line.sigPositionChangeFinished.connect(self._line_moved)
        self.cheapest_line = pg.InfiniteLine(0.5, pen=pg.mkPen(theme.SERIES[2], style=pg.QtCore.Qt.PenStyle.DashLine))
        p["histogram"].addItem(self.threshold_line)
        p["histogram"].addItem(self.cheapest_line)
        p["roc"] = pg.PlotItem(title="ROC")
        p["roc"].setLabels(bottom="false positive rate", left="true positive rate")
        self.roc_curve = p["roc"].plot(pen=theme.SERIES[0])
        self.roc_point = p["roc"].plot(pen=None, symbol="o", symbolBrush=theme.SERIES[1], symbolSize=10)
        p["pr"] = pg.PlotItem(title="Precision-recall")
        p["pr"].setLabels(bottom="recall", left="precision")
        self.pr_curve = p["pr"].plot(pen=theme.SERIES[0])
        self.pr_point = p["pr"].plot(pen=None, symbol="o", symbolBrush=theme.SERIES[1], symbolSize=10)
        for name in ("roc", "pr"):
            p[name].setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        p["text"] = pg.PlotItem()
        p["text"].hideAxis("left")
        p["text"].hideAxis("bottom")
        p["text"].setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.text = pg.TextItem(color=theme.FOREGROUND, anchor=(0, 0))
        self.text.setPos(0.0, 1.0)
        p["text"].addItem(self.text)
        p["image"] = pg.PlotItem(title="")
        self.image = pg.ImageItem(axisOrder="row-major")
        p["image"].addItem(self.image)
        # The binary confusion matrix's counts, written in its four cells (row 0 = actual negative, at the bottom).
        self.cell_texts = [pg.TextItem("", color="#ffffff", anchor=(0.5, 0.5), fill=pg.mkBrush(0, 0, 0, 110))
                           for _ in range(4)]
        for text in self.cell_texts:
            text.setZValue(10)
            p["image"].addItem(text, ignoreBounds=True)
        # The grid search's own heat map on log axes: cells placed in log10(gamma) x log10(C).
        p["grid"] = pg.PlotItem(title="", axisItems={"left": theme.LogAxis("left"), "bottom": theme.LogAxis("bottom")})
        p["grid"].setLogMode(True, True)
        p["grid"].setLabels(bottom="gamma", left="C")
        self.grid_image = pg.ImageItem(axisOrder="row-major")
        p["grid"].addItem(self.grid_image)
        self.best_marker = pg.ScatterPlotItem(symbol="s", size=18, pen=pg.mkPen("#ffffff", width=2), brush=None)
        p["grid"].addItem(self.best_marker)
        p["points"] = pg.PlotItem(title="")
        self.points = [pg.ScatterPlotItem(size=6, pen=None, brush=c) for c in (NEG, POS)]
        for item in self.points:
            p["points"].addItem(item)
        self.points_line = pg.PlotCurveItem(pen=pg.mkPen(theme.MUTED))
        p["points"].addItem(self.points_line)
        self._layout("threshold")

    def _layout(self, lesson: str) -> None:
        p = self.plots
        cells = {item: None for item in p.values()}
        if lesson == "threshold":
            cells.update({p["histogram"]: (0, 0, 1, 1), p["image"]: (0, 1, 1, 1), p["text"]: (0, 2, 1, 1),
                          p["roc"]: (1, 0, 1, 1), p["pr"]: (1, 1, 1, 1), p["points"]: (1, 2, 1, 1)})
        elif lesson == "multiclass":
            cells.update({p["image"]: (0, 0, 1, 1), p["text"]: (0, 1, 1, 1)})
        elif lesson == "grid_search":
            cells.update({p["grid"]: (0, 0, 1, 1), p["text"]: (0, 1, 1, 1)})
        elif lesson == "regression":
            cells.update({p["points"]: (0, 0, 1, 1), p["text"]: (0, 1, 1, 1)})
        else:
            cells.update({p["image"]: (0, 0, 1, 2), p["points"]: (1, 0, 1, 1), p["text"]: (1, 1, 1, 1)})
        place_cells(self.widget.ci, cells, self._placed)

    def _line_moved(self) -> None:
        value = float(np.clip(self.threshold_line.value(), 0.0, 1.0))
        if abs(value - self.params.get("threshold", 0.5)) > 1e-9:
            self.paramsRequested.emit({"threshold": value})

    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)
        if self.frame is not None:
            self.show(self.frame)

    def show(self, frame: Frame) -> None:
        self.frame = frame
        # The frame's own lesson: a frame of the previous lesson is still shown while a new run is built.
        lesson = next((name for key, name in _LESSON_KEYS if key in frame.data), None)
        if lesson is None:
            return
        self._layout(lesson)
        getattr(self, f"_show_{lesson}")(frame.data)

    # -- lessons --------------------------------------------------------------------------
    def _show_threshold(self, d) -> None:
        scores, labels = np.asarray(d["scores"]), np.asarray(d["labels"])
        if self._table_source is not scores:
            self._table = m.ThresholdTable.build(scores, labels)
            self._table_source = scores
            edges = np.linspace(0, 1, 41)
            self.hist_neg.setData(edges, np.histogram(scores[labels == 0], edges)[0].astype(float))
            self.hist_pos.setData(edges, np.histogram(scores[labels == 1], edges)[0].astype(float))
            roc, pr = self._table.roc(), self._table.pr()
            if roc is not None:
                self.roc_curve.setData(*roc)
            if pr is not None:
                self.pr_curve.setData(*pr)
        t = self._table
        threshold = float(self.params["threshold"])
        fn_cost = float(self.params["fn_cost"])
        self.threshold_line.setValue(threshold)
        c = t.confusion(threshold)
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]], float)
        self.image.setImage(blocky(theme.colorize(matrix, "viridis", 0, max(matrix.max(), 1)), 1))
        self.image.setRect(pg.QtCore.QRectF(0, 0, 2, 2))
        self.plots["image"].setTitle("Confusion matrix at this threshold")
        names = (("TN", "tn", 0, 0), ("FP", "fp", 1, 0), ("FN", "fn", 0, 1), ("TP", "tp", 1, 1))
        for text, (name, key, col, row) in zip(self.cell_texts, names):
            text.setText(f"{name} {c[key]}")
            text.setPos(col + 0.5, row + 0.5)
            text.setVisible(True)
        self._axis_ticks([(0.5, "predicted −"), (1.5, "predicted +")], [(0.5, "actual −"), (1.5, "actual +")])
        self.best_marker.setData([], [])
        if t.n_positive and t.n_negative:
            self.roc_point.setData([c["fp"] / t.n_negative], [c["tp"] / t.n_positive])
        predicted = c["tp"] + c["fp"]
        if predicted and t.n_positive:
            self.pr_point.setData([c["tp"] / t.n_positive], [c["tp"] / predicted])
        else:
            self.pr_point.setData([], [])
        best, cost = t.cheapest_threshold(1.0, fn_cost)
        self.cheapest_line.setValue(min(best, 1.0))
        lines = [f"threshold {threshold:.3f}"] + [f"{k}: {v}" for k, v in m.formulas(c).items()]
        auc, ap = t.auc(), t.average_precision()
        lines.append(f"AUC {auc:.3f}" if auc is not None else "AUC undefined (one class)")
        lines.append(f"average precision {ap:.3f}" if ap is not None else "AP undefined (no positives)")
        lines.append(f"always-negative accuracy {t.n_negative / (t.n_positive + t.n_negative):.3f}")
        lines.append(f"cheapest threshold (FN cost {fn_cost:.2g}): "
                     + (f"{best:.3f}" if np.isfinite(best) else "all negative") + f", cost {cost:g}")
        self.text.setText("\n".join(lines))
        if "points" in d:
            pts = np.asarray(d["points"])
            pred = scores >= threshold
            for k, item in enumerate(self.points):
                item.setData(pts[pred == bool(k), 0], pts[pred == bool(k), 1])
            self.plots["points"].setTitle("Test points coloured by prediction")
        else:
            for item in self.points:
                item.setData([], [])
            self.plots["points"].setTitle("(2-D data only for a trained model)")
        self.points_line.setData([], [])

    def _show_multiclass(self, d) -> None:
        matrix = np.asarray(d["confusion"], float)
        self.image.setImage(blocky(theme.colorize(matrix, "viridis"), 1))
        self.image.setRect(pg.QtCore.QRectF(0, 0, 10, 10))
        self.best_marker.setData([], [])
        self.plots["image"].setTitle("Digits confusion (rows: true digit, columns: predicted)")
        self._hide_cells()
        digits = [(k + 0.5, str(k)) for k in range(10)]
        self._axis_ticks(digits, digits)
        lines = ["class  precision  recall"]
        for k in range(10):
            p, r = d["class_precision"][k], d["class_recall"][k]
            lines.append(f"{k}:  " + (f"{p:.3f}" if p >= 0 else "undefined") + f"   {r:.3f}")
        lines.append(f"macro P {d['macro_precision']:.3f} R {d['macro_recall']:.3f} F1 {d['macro_f1']:.3f}")
        lines.append(f"micro P = R = F1 = accuracy {d['micro_f1']:.3f}")
        self.text.setText("\n".join(lines))

    def _hide_cells(self) -> None:
        for text in self.cell_texts:
            text.setVisible(False)

    def _axis_ticks(self, bottom, left) -> None:
        """Named ticks on the heat map (None: numbered axes)."""
        plot = self.plots["image"]
        plot.getAxis("bottom").setTicks(None if bottom is None else [bottom, []])
        plot.getAxis("left").setTicks(None if left is None else [left, []])

    def _show_regression(self, d) -> None:
        pred, resid = np.asarray(d["y_pred"]), np.asarray(d["residuals"])
        self.points[0].setData(pred, resid)
        self.points[1].setData([], [])
        self.points_line.setData([pred.min(), pred.max()], [0, 0])
        self.plots["points"].setTitle("Residuals (true - predicted) against predicted")
        lines = [f"{k}: " + (f"{d[k]:.3f}" if k in d else "undefined")
                 for k in ("mse", "rmse", "mae", "r2", "adjusted_r2")]
        self.text.setText("\n".join(lines))

    def _show_cross_validation(self, d) -> None:
        layout = np.asarray(d["fold_layout"], float)
        shown = layout.copy()
        fold = int(d["fold"])
        highlight = min(fold, len(layout) - 1)
        shown[np.arange(len(layout)) != highlight] *= 0.4
        self.image.setImage(blocky(theme.colorize(shown, "viridis", 0, 2), 0))
        self.image.setRect(pg.QtCore.QRectF(0, 0, layout.shape[1], layout.shape[0]))
        self.best_marker.setData([], [])
        self.plots["image"].setTitle(f"Folds (rows) x samples: yellow validation, teal train; fold {highlight + 1}")
        self._hide_cells()
        self._axis_ticks(None, [(k + 0.5, f"fold {k + 1}") for k in range(len(layout))])
        scores = np.asarray(d["fold_scores"], float)
        self.points[0].setData(np.arange(1, len(scores) + 1), scores)
        self.points[1].setData([], [])
        self.points_line.setData([], [])
        self.plots["points"].setTitle("Validation accuracy per fold")
        text = self.frame.message if self.frame is not None else ""
        self.text.setText(text)

    def _show_grid_search(self, d) -> None:
        grid = np.where(np.asarray(d["grid_done"]), np.asarray(d["grid_scores"], float), np.nan)
        n = grid.shape[0]
        self.grid_image.setImage(blocky(theme.colorize(grid, "viridis", 0.4, 1.0), 1))
        log_c, log_g = np.log10(np.asarray(d["c_values"])), np.log10(np.asarray(d["gamma_values"]))
        dc = log_c[1] - log_c[0]
        dg = log_g[1] - log_g[0]
        self.grid_image.setRect(pg.QtCore.QRectF(log_g[0] - dg / 2, log_c[0] - dc / 2, dg * n, dc * n))
        self.plots["grid"].setTitle("Cross-validated accuracy (viridis 0.4-1); best cell marked")
        if "best_row" in d:
            # A ScatterPlotItem has no log mode: its coordinates are the view's log10 ones.
            self.best_marker.setData([log_g[d["best_col"]]], [log_c[d["best_row"]]])
        else:
            self.best_marker.setData([], [])
        self.text.setText(self.frame.message if self.frame is not None else "")
