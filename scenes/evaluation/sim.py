"""Model evaluation: one threshold linked to every binary metric and curve; multi-class and regression
metrics; cross-validation fold by fold; grid search cell by cell. Pure NumPy / scikit-learn."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from explorer.scene import Frame
from scenes.evaluation import metrics as m

LESSONS = ("threshold", "multiclass", "regression", "cross_validation", "grid_search")
LESSON_LABELS = ("Threshold & curves", "Multi-class", "Regression metrics", "Cross-validation", "Grid search")
SCORE_SOURCES = ("synthetic", "model")
DATASETS = ("moons", "circles", "breast_cancer")
DATASET_LABELS = ("Moons", "Circles", "Breast cancer (30 features)")
CLASSIFIERS = ("logistic", "svm", "random_forest", "gradient_boosting")
CLASSIFIER_LABELS = ("Logistic regression", "SVM (RBF)", "Random forest", "Gradient boosting")
REGRESSORS = ("linear", "polynomial", "tree", "random_forest", "knn")
REGRESSOR_LABELS = ("Linear", "Polynomial (degree 3)", "Decision tree (depth 4)", "Random forest", "k-NN (k = 5)")
CV_METHODS = ("kfold", "stratified", "shuffled", "loo", "timeseries")
CV_LABELS = ("K-fold", "Stratified K-fold", "Shuffled K-fold", "Leave-one-out", "Time-series split")
#: Grid search: C and gamma on log grids over these decades; data capped so one cell (K SVM fits) is
#: a few milliseconds on the UI timer.
C_RANGE = (-2.0, 3.0)
GAMMA_RANGE = (-3.0, 1.0)
GRID_MAX_SAMPLES = 300
BOUNDARY_SIZE = 60


# -- data and models -----------------------------------------------------------------------------
@lru_cache(maxsize=8)
def dataset(name: str, n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) with labels 0/1; breast cancer is a stratified random subsample of n_samples rows."""
    from sklearn import datasets

    if name == "moons":
        x, y = datasets.make_moons(n_samples, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = datasets.make_circles(n_samples, noise=noise, factor=0.5, random_state=seed)
    else:
        x, y = datasets.load_breast_cancer(return_X_y=True)
        if n_samples < len(y):
            from sklearn.model_selection import train_test_split
            x, _, y, _ = train_test_split(x, y, train_size=n_samples, stratify=y, random_state=seed)
    x, y = np.asarray(x, float), np.asarray(y, int)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def classifier(name: str, seed: int, C: float = 1.0, gamma: float | str = "scale"):
    """A scaled pipeline; every estimator gets random_state=seed (SVC: decision_function only)."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    model = {
        "logistic": lambda: LogisticRegression(random_state=seed),
        "svm": lambda: SVC(C=C, gamma=gamma, random_state=seed),
        "random_forest": lambda: RandomForestClassifier(n_estimators=30, max_depth=6, random_state=seed, n_jobs=1),
        "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=40, max_depth=2, random_state=seed),
    }[name]()
    return make_pipeline(StandardScaler(), model)


def positive_score(model, x: np.ndarray) -> np.ndarray:
    """P(class 1), or for the SVM the sigmoid of its decision function (a display score, not calibrated)."""
    from sklearn.svm import SVC

    if isinstance(model[-1], SVC):
        return 1.0 / (1.0 + np.exp(-model.decision_function(x)))
    return model.predict_proba(x)[:, 1]


@lru_cache(maxsize=8)
def model_scores(dataset_name: str, classifier_name: str, n_samples: int, noise: float, seed: int) -> dict:
    """Fit on a stratified half, score the other half; plus the score map over the 2-D data."""
    from sklearn.model_selection import train_test_split

    x, y = dataset(dataset_name, n_samples, noise, seed)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
    model = classifier(classifier_name, seed).fit(x_train, y_train)
    out = {"scores": positive_score(model, x_test), "labels": y_test, "points": x_test}
    if x.shape[1] == 2:
        low, high = x.min(axis=0) - 0.3, x.max(axis=0) + 0.3
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], BOUNDARY_SIZE), np.linspace(low[1], high[1], BOUNDARY_SIZE))
        grid = positive_score(model, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        out["score_map"] = grid.astype(np.float32)
        out["extent"] = np.array([low[0], high[0], low[1], high[1]])
    return out


def synthetic_scores(separation: float, positive_fraction: float, n_samples: int, seed: int):
    """Negatives' raw scores ~ N(0, 1), positives' ~ N(separation, 1), squashed by a sigmoid centred
    between them; at least one sample of each class."""
    rng = np.random.default_rng(seed)
    n_pos = int(np.clip(round(n_samples * positive_fraction), 1, n_samples - 1))
    labels = np.r_[np.zeros(n_samples - n_pos, int), np.ones(n_pos, int)]
    raw = rng.normal(size=n_samples) + separation * labels
    return 1.0 / (1.0 + np.exp(-(raw - separation / 2))), labels


@lru_cache(maxsize=4)
def digits_result(classifier_name: str, seed: int) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
    model = classifier(classifier_name, seed).fit(x_train, y_train)
    return {"y_true": y_test, "y_pred": model.predict(x_test)}


def regression_data(n_samples: int, noise: float, n_features: int, seed: int):
    """y = 2 sin(x0) + 0.5 x0 + noise; the other features are irrelevant uniform noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=(n_samples, n_features))
    y = 2 * np.sin(x[:, 0]) + 0.5 * x[:, 0] + noise * rng.normal(size=n_samples)
    return x, y


def regressor(name: str, seed: int):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures
    from sklearn.tree import DecisionTreeRegressor

    return {
        "linear": lambda: LinearRegression(),
        "polynomial": lambda: make_pipeline(PolynomialFeatures(3), LinearRegression()),
        "tree": lambda: DecisionTreeRegressor(max_depth=4, random_state=seed),
        "random_forest": lambda: RandomForestRegressor(n_estimators=30, random_state=seed, n_jobs=1),
        "knn": lambda: KNeighborsRegressor(5),
    }[name]()


@lru_cache(maxsize=8)
def regression_result(name: str, n_samples: int, noise: float, n_features: int, seed: int) -> dict:
    from sklearn.model_selection import train_test_split

    x, y = regression_data(n_samples, noise, n_features, seed)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=seed)
    predicted = regressor(name, seed).fit(x_train, y_train).predict(x_test)
    return {"x": x_test[:, 0], "y_true": y_test, "y_pred": predicted}


def splitter(method: str, k: int, seed: int):
    from sklearn import model_selection as ms

    return {"kfold": lambda: ms.KFold(k), "stratified": lambda: ms.StratifiedKFold(k),
            "shuffled": lambda: ms.KFold(k, shuffle=True, random_state=seed), "loo": lambda: ms.LeaveOneOut(),
            "timeseries": lambda: ms.TimeSeriesSplit(k)}[method]()


def grid_values(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.logspace(*C_RANGE, n), np.logspace(*GAMMA_RANGE, n)


def grid_data(params: Mapping[str, Any], seed: int):
    return dataset(params["dataset"], min(params["n_samples"], GRID_MAX_SAMPLES), params["noise"], seed)


def _fold_score(model, x, y, train, test) -> float:
    model.fit(x[train], y[train])
    return float(np.mean(model.predict(x[test]) == y[test]))


# -- the simulation -----------------------------------------------------------------------------
class Simulation:
    """Threshold, multi-class and regression lessons are finished at step 0 (the threshold is live);
    a cross-validation step is one fold; a grid-search step is one cell (K SVM fits)."""

    def __init__(self, params: Mapping[str, Any], seed: int, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        self.lesson = self.params["lesson"]
        self.k = 0
        self.scores_so_far: list[float] = []
        self.static: dict[str, Any] = {}
        self.message = ""
        getattr(self, f"_init_{self.lesson}")()

    # -- set-up per lesson
    def _init_threshold(self) -> None:
        p = self.params
        if p["score_source"] == "synthetic":
            scores, labels = synthetic_scores(p["separation"], p["positive_fraction"], p["n_samples"], self.seed)
            self.static = {"scores": scores, "labels": labels}
        else:
            result = model_scores(p["dataset"], p["classifier"], p["n_samples"], p["noise"], self.seed)
            self.static = dict(result)
        self.table = m.ThresholdTable.build(self.static["scores"], self.static["labels"])
        self.n_steps = 0

    def _init_multiclass(self) -> None:
        result = digits_result(self.params["classifier"], self.seed)
        matrix = m.confusion_matrix(result["y_true"], result["y_pred"], 10)
        self.static = {"confusion": matrix}
        self.multi = m.multiclass_metrics(matrix)
        self.n_steps = 0

    def _init_regression(self) -> None:
        p = self.params
        result = regression_result(p["regressor"], p["n_samples"], p["noise"], p["n_features"], self.seed)
        self.static = dict(result)
        self.static["residuals"] = result["y_true"] - result["y_pred"]
        self.regression = m.regression_metrics(result["y_true"], result["y_pred"], p["n_features"])
        self.n_steps = 0

    def _init_cross_validation(self) -> None:
        p = self.params
        self.x, self.y = dataset(p["dataset"], p["n_samples"], p["noise"], self.seed)
        self.folds = list(splitter(p["cv_method"], p["k_folds"], self.seed).split(self.x, self.y))
        layout = np.zeros((len(self.folds), len(self.y)), dtype=np.int8)  # 0 unused, 1 train, 2 validation
        for i, (train, test) in enumerate(self.folds):
            layout[i, train] = 1
            layout[i, test] = 2
        self.static = {"fold_layout": layout, "labels": self.y}
        self.n_steps = len(self.folds)

    def _init_grid_search(self) -> None:
        p = self.params
        self.x, self.y = grid_data(p, self.seed)
        self.c_values, self.gamma_values = grid_values(p["grid_size"])
        self.folds = list(splitter("stratified", p["k_folds"], self.seed).split(self.x, self.y))
        self.static = {"c_values": self.c_values, "gamma_values": self.gamma_values}
        self.n_steps = p["grid_size"] ** 2

    # -- contract
    @property
    def done(self) -> bool:
        return self.k >= self.n_steps

    def set_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)

    def step(self) -> Frame:
        if not self.done:
            if self.lesson == "cross_validation":
                train, test = self.folds[self.k]
                model = classifier(self.params["classifier"], self.seed)
                self.scores_so_far.append(_fold_score(model, self.x, self.y, train, test))
            else:
                row, col = divmod(self.k, self.params["grid_size"])
                self.scores_so_far.append(self.grid_cell(row, col))
            self.k += 1
        return self.frame()

    def grid_cell(self, row: int, col: int) -> float:
        """Mean accuracy over the stratified folds of SVM(C=row's, gamma=column's): one GridSearchCV cell."""
        model = classifier("svm", self.seed, C=float(self.c_values[row]), gamma=float(self.gamma_values[col]))
        return float(np.mean([_fold_score(model, self.x, self.y, tr, te) for tr, te in self.folds]))

    def restore(self, frame: Frame) -> None:
        self.k, scores = frame.state
        self.scores_so_far = list(scores)

    def frame(self) -> Frame:
        data = dict(self.static)
        data.update(getattr(self, f"_data_{self.lesson}")())
        return Frame(self.k, data, (self.k, tuple(self.scores_so_far)), self.message, self.done)

    # -- frame data per lesson
    def threshold_data(self, threshold: float, fn_cost: float) -> tuple[dict[str, Any], str]:
        """Everything the threshold lesson shows for this threshold (None for undefined metrics)."""
        t = self.table
        c = t.confusion(threshold)
        values = m.binary_metrics(c)
        data: dict[str, Any] = {"threshold": threshold, **c}
        data.update({k: v for k, v in values.items() if v is not None})
        roc, pr = t.roc(), t.pr()
        if roc is not None:
            data["roc_fpr"], data["roc_tpr"] = roc
            data["auc"] = t.auc()
            data["point_fpr"], data["point_tpr"] = c["fp"] / t.n_negative, c["tp"] / t.n_positive
        if pr is not None:
            data["pr_recall"], data["pr_precision"] = pr
            data["average_precision"] = t.average_precision()
        data["always_negative_accuracy"] = t.n_negative / (t.n_positive + t.n_negative)
        best, cost = t.cheapest_threshold(1.0, fn_cost)
        data["cheapest_cost"] = cost
        data["cost"] = c["fp"] + fn_cost * c["fn"]
        if np.isfinite(best):
            data["cheapest_threshold"] = best
        parts = [f"threshold {threshold:.3f}: TP {c['tp']}, FP {c['fp']}, TN {c['tn']}, FN {c['fn']}"]
        parts += [f"{name} {m.describe(name, values[name])}" for name in ("precision", "recall", "f1")]
        return data, "; ".join(parts)

    def _data_threshold(self) -> dict[str, Any]:
        data, self.message = self.threshold_data(self.params["threshold"], self.params["fn_cost"])
        return data

    def _data_multiclass(self) -> dict[str, Any]:
        r = self.multi
        data = {f"class_{name}": np.array([v if v is not None else -1.0 for v in r[name]])
                for name in ("precision", "recall", "f1")}
        data.update({k: v for k, v in r.items() if not isinstance(v, list) and v is not None})
        self.message = (f"accuracy {r['accuracy']:.3f}; macro F1 {r['macro_f1']:.3f}, micro F1 {r['micro_f1']:.3f} "
                        "(per-class -1 = undefined)")
        return data

    def _data_regression(self) -> dict[str, Any]:
        r = self.regression
        self.message = ", ".join(f"{k.replace('_', ' ')} " + (f"{v:.3f}" if v is not None else
                                 "undefined (too few samples for the features)") for k, v in r.items())
        return {k: v for k, v in r.items() if v is not None}

    def _data_cross_validation(self) -> dict[str, Any]:
        data: dict[str, Any] = {"fold": self.k, "fold_scores": np.array(self.scores_so_far, dtype=float)}
        if self.scores_so_far:
            data["mean_score"] = float(np.mean(self.scores_so_far))
            data["std_score"] = float(np.std(self.scores_so_far))
        n = len(self.folds)
        if self.done:
            self.message = f"{n} folds: accuracy {data['mean_score']:.3f} ± {data['std_score']:.3f}"
        elif self.k == 0:
            self.message = f"{n} folds; step to fit fold 1"
        else:
            self.message = f"fold {self.k}/{n}: validation accuracy {self.scores_so_far[-1]:.3f}"
        return data

    def _data_grid_search(self) -> dict[str, Any]:
        n = self.params["grid_size"]
        done = np.zeros(n * n, dtype=bool)
        done[:self.k] = True
        grid = np.zeros(n * n)
        grid[:self.k] = self.scores_so_far
        data: dict[str, Any] = {"grid_scores": grid.reshape(n, n), "grid_done": done.reshape(n, n)}
        if self.k:
            best = int(np.argmax(self.scores_so_far))  # first best, as GridSearchCV's rank 1
            data["best_row"], data["best_col"] = divmod(best, n)
            data["best_score"] = self.scores_so_far[best]
            r, c = divmod(best, n)
            self.message = (f"{self.k}/{n * n} cells; best C = {self.c_values[r]:.3g}, gamma = "
                            f"{self.gamma_values[c]:.3g}: CV accuracy {self.scores_so_far[best]:.3f}")
        else:
            self.message = f"{n * n} cells to compute ({self.params['k_folds']}-fold CV each); step for one cell"
        return data


def table(frame: Frame) -> tuple[list[str], list[list[Any]]]:
    from explorer.scene import table_long
    return table_long(frame)
