"""Decision boundaries: fit a scikit-learn classifier on 2-D toy data and show its class
probabilities over the plane, one ensemble stage (or tree level) per step.

Pure NumPy + scikit-learn; no Qt. The constructor does all fitting and computes every stage's
map on a coarse grid (it runs in a worker); step() and frame() only index precomputed,
read-only arrays. A finer map of any stage comes from ``frame.state.refiner`` on demand.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from explorer import datasets
from explorer.params import Bool, Choice, Float, Int
from explorer.scene import Frame
from scenes.decision_boundaries import models
from scenes.decision_boundaries.models import CLASSIFIER_LABELS, CLASSIFIERS

#: Cells per side of the maps computed with the model (coarse: every stage; fine: on demand).
COARSE = 64
FINE = 200
COMPARE = 100
MAX_COMPARE = 6
DEFAULT_COMPARE = ("logistic", "knn", "svm", "tree", "random_forest", "gradient_boosting")

PARAMS = datasets.dataset_params() + (
    Choice("classifier", "svm", "The model whose decision boundary is drawn.",
           choices=CLASSIFIERS, labels=CLASSIFIER_LABELS, group="Model"),
    # Logistic regression
    Float("logistic_C", 1.0, "Inverse regularisation strength of logistic regression: small C, simpler boundary.",
          minimum=1e-3, maximum=1e3, log=True, group="Logistic regression"),
    Choice("logistic_penalty", "l2", "Logistic regression penalty on the weights (none: unregularised).",
           choices=("l2", "l1", "elasticnet", "none"), group="Logistic regression"),
    Int("logistic_degree", 1, "Degree of the polynomial features logistic regression sees (1: a straight line).",
        minimum=1, maximum=6, group="Logistic regression"),
    # k-NN
    Int("knn_k", 5, "Number of neighbours k-NN lets vote.", minimum=1, maximum=50, group="k-NN"),
    Choice("knn_weights", "uniform", "k-NN vote weights: equal, or by inverse distance.",
           choices=("uniform", "distance"), group="k-NN"),
    Choice("knn_metric", "euclidean", "Distance k-NN uses to find neighbours.",
           choices=("euclidean", "manhattan", "chebyshev"), group="k-NN"),
    # SVM
    Choice("svm_kernel", "rbf", "SVM kernel: the shape of boundary it can draw.",
           choices=("linear", "rbf", "poly", "sigmoid"), group="SVM"),
    Float("svm_C", 1.0, "SVM penalty for margin violations: large C fits the training points harder.",
          minimum=1e-2, maximum=1e3, log=True, group="SVM"),
    Float("svm_gamma", 1.0, "Reach of one support vector for rbf/poly/sigmoid kernels: large gamma, wigglier boundary.",
          minimum=1e-3, maximum=1e2, log=True, group="SVM"),
    Int("svm_degree", 3, "Degree of the polynomial SVM kernel.", minimum=1, maximum=6, group="SVM"),
    # Naive Bayes
    Float("nb_var_smoothing", 1e-9, "Share of the largest variance Gaussian naive Bayes adds to every variance.",
          minimum=1e-12, maximum=1.0, log=True, group="Naive Bayes"),
    # Decision tree
    Choice("tree_criterion", "gini", "How the decision tree scores a split.",
           choices=("gini", "entropy", "log_loss"), group="Decision tree"),
    Int("tree_max_depth", 6, "Deepest level the decision tree may grow (0: unlimited).",
        minimum=0, maximum=20, group="Decision tree"),
    Int("tree_min_samples_leaf", 1, "Fewest training points a decision-tree leaf may hold.",
        minimum=1, maximum=50, group="Decision tree"),
    # Random forest and extra trees
    Int("forest_n_estimators", 50, "Number of trees in the random forest or extra-trees ensemble.",
        minimum=1, maximum=200, group="Forests"),
    Int("forest_max_depth", 0, "Deepest level each forest tree may grow (0: unlimited).",
        minimum=0, maximum=20, group="Forests"),
    Choice("forest_max_features", "sqrt", "Features each forest split may choose from (with 2 features, sqrt is 1).",
           choices=("sqrt", "one", "all"), group="Forests"),
    Bool("forest_bootstrap", True, "Fit each forest tree on a bootstrap resample of the training points.",
         group="Forests"),
    # Bagging
    Choice("bagging_base", "tree", "The model bagging averages: a full decision tree or a 5-NN.",
           choices=("tree", "knn"), group="Bagging"),
    Int("bagging_n_estimators", 30, "Number of models bagging averages.", minimum=1, maximum=200, group="Bagging"),
    Float("bagging_max_samples", 0.8, "Share of the training points each bagged model is fitted on.",
          minimum=0.1, maximum=1.0, decimals=2, group="Bagging"),
    # AdaBoost
    Int("adaboost_n_estimators", 50, "Number of boosting stages AdaBoost adds.", minimum=1, maximum=200,
        group="AdaBoost"),
    Float("adaboost_learning_rate", 1.0, "Weight AdaBoost gives each new stage.", minimum=0.01, maximum=2.0,
          log=True, group="AdaBoost"),
    Int("adaboost_base_depth", 1, "Depth of each AdaBoost tree (1: a stump).", minimum=1, maximum=5,
        group="AdaBoost"),
    # Gradient boosting
    Int("gb_n_estimators", 60, "Number of boosting stages gradient boosting adds.", minimum=1, maximum=200,
        group="Gradient boosting"),
    Float("gb_learning_rate", 0.1, "Shrinkage of each gradient-boosting stage.", minimum=0.01, maximum=1.0,
          log=True, group="Gradient boosting"),
    Int("gb_max_depth", 3, "Depth of each gradient-boosting tree.", minimum=1, maximum=8, group="Gradient boosting"),
    Float("gb_subsample", 1.0, "Share of training points each gradient-boosting stage sees (<1: stochastic).",
          minimum=0.2, maximum=1.0, decimals=2, group="Gradient boosting"),
    # Compare view
    Bool("compare", False, "Show several classifiers side by side on the same data; click one to pick it.",
         group="Compare"),
) + tuple(
    Bool(f"compare_{cid}", cid in DEFAULT_COMPARE, f"Include {label.lower()} in the compare view (2 to 6 models).",
         label=label, group="Compare", show_if={"compare": (True,)})
    for cid, label in zip(CLASSIFIERS, CLASSIFIER_LABELS)
)

# Each model's hyperparameters show in the panel only while that model is chosen.
_MODEL_OF_PREFIX = {"logistic_": ("logistic",), "knn_": ("knn",), "svm_": ("svm",), "nb_": ("naive_bayes",),
                    "tree_": ("tree",), "forest_": ("random_forest", "extra_trees"), "bagging_": ("bagging",),
                    "adaboost_": ("adaboost",), "gb_": ("gradient_boosting",)}
_LABELS = {"logistic_C": "C", "svm_C": "C", "svm_gamma": "Gamma (γ)", "knn_k": "Neighbours k",
           "nb_var_smoothing": "Variance smoothing", "tree_min_samples_leaf": "Min samples per leaf",
           "bagging_base": "Base model", "adaboost_base_depth": "Base tree depth"}


# Kernel settings that only matter for some kernels.
_EXTRA_CONDITIONS = {"svm_gamma": {"svm_kernel": ("rbf", "poly", "sigmoid")}, "svm_degree": {"svm_kernel": ("poly",)},
                     "logistic_C": {"logistic_penalty": ("l2", "l1", "elasticnet")}}


def _panel_form(param):
    for prefix, models_shown in _MODEL_OF_PREFIX.items():
        if param.name.startswith(prefix):
            label = _LABELS.get(param.name) or param.name[len(prefix):].replace("_", " ").capitalize()
            condition = {"classifier": models_shown, **_EXTRA_CONDITIONS.get(param.name, {})}
            return replace(param, label=label, show_if=condition)
    return param


PARAMS = tuple(_panel_form(param) for param in PARAMS)


def compare_choice(params: Mapping[str, Any]) -> list[str]:
    """The classifiers the compare view shows (at most 6, in the declared order)."""
    return [cid for cid in CLASSIFIERS if params.get(f"compare_{cid}")][:MAX_COMPARE]


def padded_extent(x: np.ndarray) -> tuple[float, float, float, float]:
    if len(x) == 0:
        return (-1.5, 1.5, -1.5, 1.5)
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.maximum(high - low, 1e-6)
    pad = 0.12 * span + 0.05 * span.max()
    return (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1]))


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.flags.writeable:
        array = array.copy()
        array.flags.writeable = False
    return array


@dataclass(frozen=True)
class State:
    """Frame state: the stage shown, and the refiner that computes its fine map on demand."""

    stage: int
    refiner: models.Refiner | None


class Simulation:
    def __init__(self, params: Mapping[str, Any], seed: int = 0, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        self.messages: list[str] = []
        self._stage = 0
        self.refiner: models.Refiner | None = None
        self.n_stages = 1
        self._load_data(data)
        self.extent = padded_extent(self.x)
        self.classes = np.zeros(0, dtype=int)
        self._empty_model()
        self.compare_names: tuple[str, ...] = ()
        self.compare_proba = _readonly(np.zeros((0, 1, COMPARE, COMPARE), np.float32))
        self.compare_accuracy = _readonly(np.zeros((0, 2)))
        self.compare_classes = _readonly(np.zeros((0, 0), dtype=int))
        if self.ok:
            if self.params["compare"]:
                self._fit_compare()
            else:
                self._fit_main()

    # -- data -------------------------------------------------------------------------------
    def _load_data(self, data: Any) -> None:
        self.user_data = data is not None
        self.ok = True
        try:
            if data is None:
                dataset = datasets.generate(self.params, self.seed)
            else:
                dataset = datasets.from_user(data, self.params["test_fraction"], self.seed)
                self.messages.append(f"Your own {len(dataset.x)} points (Regenerate returns to generated data)")
        except ValueError as error:  # DataError and friends: a state of the scene, never raised
            self.ok = False
            self.messages.append(str(error))
            dataset = datasets.Dataset(np.zeros((0, 2)), np.zeros(0, dtype=int), (), np.zeros(0, dtype=bool))
        self.x = _readonly(dataset.x.astype(np.float64))
        self.labels = _readonly(dataset.y.astype(int))
        self.test = _readonly(dataset.test.astype(bool))
        self.names = tuple(dataset.names)
        if self.ok and len(np.unique(self.labels[~self.test])) < 2:
            self.ok = False
            self.messages.append("the training points are all one class: add points of another class")

    def _empty_model(self) -> None:
        self.proba = _readonly(np.zeros((1, 1, COARSE, COARSE), np.float32))
        self.predicted = _readonly(np.full((1, len(self.x)), -1, dtype=int))
        self.train_curve = _readonly(np.full(1, np.nan))
        self.test_curve = _readonly(np.full(1, np.nan))
        self.support_vectors = _readonly(np.zeros((0, 2)))
        self.splits = _readonly(np.zeros((0, 4)))
        self.split_depth = _readonly(np.zeros(0, dtype=int))

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, cid: str):
        train = ~self.test
        pipe, note = models.build(cid, self.params, self.seed, int(train.sum()))
        if note:
            self.messages.append(note)
        return models.fit(pipe, self.x[train], self.labels[train])

    def _fit_main(self) -> None:
        cid = self.params["classifier"]
        try:
            pipe = self._fit(cid)
            self.pipe = pipe
            self.classes = _readonly(np.asarray(pipe[-1].classes_, dtype=int))
            self.n_stages = models.n_stages(cid, pipe)
            grid = models.grid_points(self.extent, COARSE)
            points = np.concatenate([grid, self.x])
            probas, predicted = [], []
            for proba in models.staged_proba(cid, pipe, points):
                probas.append(proba[:len(grid)])
                predicted.append(self.classes[np.argmax(proba[len(grid):], axis=1)])
            if cid == "svm" and len(self.x):
                predicted[-1] = np.asarray(pipe.predict(self.x), dtype=int)
            self.n_stages = len(probas)
            stack = np.asarray(probas, dtype=np.float32)  # (S, G*G, C)
            self.proba = _readonly(stack.transpose(0, 2, 1).reshape(len(probas), -1, COARSE, COARSE))
            self.predicted = _readonly(np.asarray(predicted, dtype=int).reshape(len(probas), len(self.x)))
            correct = self.predicted == self.labels[None, :]
            train = ~self.test
            self.train_curve = _readonly(correct[:, train].mean(axis=1) if train.any() else np.full(self.n_stages, np.nan))
            self.test_curve = _readonly(correct[:, self.test].mean(axis=1) if self.test.any()
                                        else np.full(self.n_stages, np.nan))
            if cid == "svm":
                scaler = pipe[0]
                self.support_vectors = _readonly(scaler.inverse_transform(pipe[-1].support_vectors_))
            if cid == "tree":
                segments, depth = models.tree_splits(pipe, self.extent)
                self.splits, self.split_depth = _readonly(segments), _readonly(depth)
            self.refiner = models.Refiner(cid, pipe, self.extent, FINE)
        except Exception as error:  # an impossible combination is a message, never an exception
            self.ok = False
            self.classes = np.zeros(0, dtype=int)
            self._empty_model()
            self.n_stages = 1
            self.messages.append(f"{models.label(cid)} could not be fitted: {error}")

    def _fit_compare(self) -> None:
        chosen = compare_choice(self.params)
        if len(chosen) < 2:
            self.messages.append("Choose at least 2 classifiers to compare (compare_… switches)")
        grid = models.grid_points(self.extent, COMPARE)
        all_classes = np.unique(self.labels[~self.test])
        self.classes = _readonly(all_classes)
        maps = np.zeros((len(chosen), len(all_classes), COMPARE, COMPARE), np.float32)
        accuracy = np.full((len(chosen), 2), np.nan)
        train = ~self.test
        for i, cid in enumerate(chosen):
            try:
                pipe = self._fit(cid)
                *_, proba = models.staged_proba(cid, pipe, grid)
                columns = np.searchsorted(all_classes, pipe[-1].classes_)
                maps[i][columns] = models.to_grid(proba, COMPARE)
                predicted = np.asarray(pipe.predict(self.x), dtype=int)
                accuracy[i] = [np.mean(predicted[train] == self.labels[train]),
                               np.mean(predicted[self.test] == self.labels[self.test]) if self.test.any() else np.nan]
            except Exception as error:
                self.messages.append(f"{models.label(cid)} could not be fitted: {error}")
        self.compare_names = tuple(chosen)
        self.compare_proba = _readonly(maps)
        self.compare_accuracy = _readonly(accuracy)

    # -- the Simulation protocol -------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._stage >= self.n_stages - 1

    @property
    def stage(self) -> int:
        return self._stage

    def frame(self) -> Frame:
        k = self._stage
        message = "; ".join(self.messages)
        cid = self.params["classifier"]
        if self.ok and not self.params["compare"] and cid in models.STAGED and self.n_stages > 1:
            unit = "depth" if cid == "tree" else "stage" if cid in ("adaboost", "gradient_boosting") else "models"
            shown = k if cid == "tree" else k + 1
            total = self.n_stages - 1 if cid == "tree" else self.n_stages
            status = f"{unit} {shown} of {total}"
            message = f"{status}; {message}" if message else status
        data = {
            "x": self.x,
            "labels": self.labels,
            "test": self.test,
            "predicted": self.predicted[k],
            "classes": self.classes,
            "names": self.names,
            "proba": self.proba[k],
            "extent": np.asarray(self.extent),
            "train_accuracy_curve": self.train_curve[:k + 1],
            "test_accuracy_curve": self.test_curve[:k + 1],
            "train_accuracy": float(self.train_curve[k]),
            "test_accuracy": float(self.test_curve[k]),
            "stage": k,
            "n_stages": self.n_stages,
            "support_vectors": self.support_vectors,
            "splits": self.splits[:int(np.searchsorted(self.split_depth, k))],
            "compare_names": self.compare_names,
            "compare_proba": self.compare_proba,
            "compare_accuracy": self.compare_accuracy,
            "user_data": self.user_data,
        }
        return Frame(step=k, data=data, state=State(k, self.refiner), message=message, done=self.done)

    def step(self, coarse: bool = False) -> Frame:
        if not self.done:
            self._stage += 1
        return self.frame()

    def set_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)  # every parameter is structural: nothing changes mid-run

    def restore(self, frame: Frame) -> None:
        self._stage = int(frame.state.stage if isinstance(frame.state, State) else frame.step)


def table(frame: Frame) -> tuple[list[str], list[list[Any]]]:
    """CSV export: one row per point (x, y, label, split, predicted label at this stage)."""
    data = frame.data
    names = list(data["names"])
    def name(i: int) -> str:
        return names[i] if 0 <= i < len(names) else ("" if i < 0 else str(i))
    rows = [[float(a), float(b), name(int(l)), "test" if t else "train", name(int(p))]
            for (a, b), l, t, p in zip(data["x"], data["labels"], data["test"], data["predicted"])]
    return ["x", "y", "label", "split", "predicted"], rows
