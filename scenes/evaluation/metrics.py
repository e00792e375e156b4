"""Binary, multi-class and regression metrics in NumPy, from precomputed sorted scores.

Every function here is checked against ``sklearn.metrics`` in tests/scenes/test_evaluation.py.
A metric whose denominator is zero is ``None`` (never NaN), and ``undefined_reason`` says why.
Convention (as scikit-learn's curves): a sample is predicted positive when its score >= threshold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator > 0 else None


@dataclass(frozen=True)
class ThresholdTable:
    """Sorted scores and cumulative counts of one binary problem: any threshold's confusion matrix is
    two ``np.searchsorted`` calls, no refit and no pass over the data."""

    positive_scores: np.ndarray  # ascending
    negative_scores: np.ndarray  # ascending
    # The curves, one point per distinct score (descending thresholds), as sklearn's _binary_clf_curve.
    thresholds: np.ndarray
    tps: np.ndarray
    fps: np.ndarray

    @classmethod
    def build(cls, scores: np.ndarray, labels: np.ndarray) -> "ThresholdTable":
        scores = np.asarray(scores, dtype=float)
        labels = np.asarray(labels).astype(bool)
        order = np.argsort(scores, kind="mergesort")[::-1]
        s, y = scores[order], labels[order]
        distinct = np.flatnonzero(np.diff(s)) if len(s) > 1 else np.zeros(0, dtype=int)
        ends = np.r_[distinct, len(s) - 1] if len(s) else np.zeros(0, dtype=int)
        tps = np.cumsum(y)[ends] if len(s) else np.zeros(0)
        fps = 1 + ends - tps
        return cls(np.sort(scores[labels]), np.sort(scores[~labels]), s[ends] if len(s) else np.zeros(0),
                   tps.astype(float), fps.astype(float))

    @property
    def n_positive(self) -> int:
        return len(self.positive_scores)

    @property
    def n_negative(self) -> int:
        return len(self.negative_scores)

    def confusion(self, threshold: float) -> dict[str, int]:
        """TP, FP, TN, FN when every score >= threshold is predicted positive."""
        tp = self.n_positive - int(np.searchsorted(self.positive_scores, threshold, side="left"))
        fp = self.n_negative - int(np.searchsorted(self.negative_scores, threshold, side="left"))
        return {"tp": tp, "fp": fp, "tn": self.n_negative - fp, "fn": self.n_positive - tp}

    # -- curves ------------------------------------------------------------------------
    def roc(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(fpr, tpr) from (0, 0), as roc_curve(drop_intermediate=False); None with one class only."""
        if self.n_positive == 0 or self.n_negative == 0:
            return None
        return np.r_[0.0, self.fps / self.n_negative], np.r_[0.0, self.tps / self.n_positive]

    def auc(self) -> float | None:
        curve = self.roc()
        if curve is None:
            return None
        fpr, tpr = curve
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))

    def pr(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(recall, precision) by descending threshold from (0, 1): precision_recall_curve reversed;
        None without positives."""
        if self.n_positive == 0:
            return None
        precision = self.tps / (self.tps + self.fps)
        recall = self.tps / self.n_positive
        return np.r_[0.0, recall], np.r_[1.0, precision]

    def average_precision(self) -> float | None:
        """sum_n (R_n - R_{n-1}) P_n, as average_precision_score."""
        if self.n_positive == 0:
            return None
        precision = self.tps / (self.tps + self.fps)
        recall = self.tps / self.n_positive
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))

    def cheapest_threshold(self, fp_cost: float, fn_cost: float) -> tuple[float, float]:
        """(threshold, cost) of the cheapest cut: the distinct scores, or above the top score (all
        negative, returned as +inf)."""
        candidates = np.r_[np.inf, self.thresholds]
        fp = np.r_[0.0, self.fps]
        fn = self.n_positive - np.r_[0.0, self.tps]
        cost = fp_cost * fp + fn_cost * fn
        best = int(np.argmin(cost))
        return float(candidates[best]), float(cost[best])


def binary_metrics(c: dict[str, int]) -> dict[str, float | None]:
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    return {
        "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


UNDEFINED = {
    "accuracy": "undefined (no samples)",
    "precision": "undefined (no positive predictions)",
    "recall": "undefined (no positive samples)",
    "specificity": "undefined (no negative samples)",
    "f1": "undefined (no positives and no positive predictions)",
}


def formulas(c: dict[str, int]) -> dict[str, str]:
    """Each metric's formula with this confusion matrix's counts filled in, and its value."""
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    values = binary_metrics(c)
    parts = {
        "accuracy": f"(TP+TN)/all = ({tp}+{tn})/{tp + fp + tn + fn}",
        "precision": f"TP/(TP+FP) = {tp}/({tp}+{fp})",
        "recall": f"TP/(TP+FN) = {tp}/({tp}+{fn})",
        "specificity": f"TN/(TN+FP) = {tn}/({tn}+{fp})",
        "f1": f"2TP/(2TP+FP+FN) = {2 * tp}/({2 * tp}+{fp}+{fn})",
    }
    return {name: f"{text} = " + (f"{values[name]:.3f}" if values[name] is not None else UNDEFINED[name])
            for name, text in parts.items()}


def describe(name: str, value: float | None) -> str:
    return f"{value:.3f}" if value is not None else UNDEFINED[name]


# -- multi-class -----------------------------------------------------------------------------
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class (as sklearn.metrics.confusion_matrix)."""
    return np.bincount(np.asarray(y_true) * n_classes + np.asarray(y_pred),
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def multiclass_metrics(matrix: np.ndarray) -> dict[str, Any]:
    """Per-class precision / recall / F1 (None where undefined); macro averages over all classes (an
    undefined one counts as 0, scikit-learn's zero_division default); micro averages from summed counts."""
    matrix = np.asarray(matrix, dtype=float)
    tp = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = [_ratio(t, p) for t, p in zip(tp, predicted)]
    recall = [_ratio(t, a) for t, a in zip(tp, actual)]
    f1 = [_ratio(2 * t, p + a) for t, p, a in zip(tp, predicted, actual)]

    def macro(values):
        return float(np.mean([v if v is not None else 0.0 for v in values]))
    total_tp, total = tp.sum(), matrix.sum()
    micro = _ratio(total_tp, total)
    return {"precision": precision, "recall": recall, "f1": f1,
            "macro_precision": macro(precision), "macro_recall": macro(recall), "macro_f1": macro(f1),
            "micro_precision": micro, "micro_recall": micro, "micro_f1": micro,
            "accuracy": micro}


# -- regression ------------------------------------------------------------------------------
def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_features: int) -> dict[str, float | None]:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    n = len(y_true)
    residual = y_true - y_pred
    mse = float(np.mean(residual ** 2))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else None
    adjusted = (1.0 - (1.0 - r2) * (n - 1) / (n - n_features - 1)) if r2 is not None and n - n_features - 1 > 0 \
        else None
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(residual))), "r2": r2,
            "adjusted_r2": adjusted}
