"""Decision boundaries: fit a scikit-learn classifier on 2-D toy data and show its class
probabilities over the plane, one ensemble stage (or tree level) per step.

Pure NumPy + scikit-learn; no Qt. The constructor does all fitting and computes every stage's
map on a coarse grid (it runs in a worker); step() and frame() only index precomputed,
read-only arrays. A finer map of any stage comes from ``frame.state.refiner`` on demand.
"""
from __future__ import annotations

import warnings
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
#: Estimated seconds all the models of one compare grid may take together.
COMPARE_BUDGET_S = 3 * models.FIT_BUDGET_S
#: The most training points a model can be fitted on ("Fit on at most"): every row an import may have.
MAX_FIT_POINTS = datasets.MAX_IMPORT_ROWS
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
    # Linear and quadratic discriminant analysis
    Choice("lda_solver", "svd", "How LDA fits its shared covariance: svd (no shrinkage), least squares or eigen.",
           choices=("svd", "lsqr", "eigen"), group="Discriminant analysis"),
    Choice("lda_shrinkage", "none", "Shrink LDA's covariance towards a diagonal one: none, Ledoit-Wolf (auto) "
           "or by a fixed amount (lsqr/eigen solvers only).", choices=("none", "auto", "fixed"),
           group="Discriminant analysis"),
    Float("lda_shrinkage_amount", 0.5, "How far LDA shrinks its covariance: 0 is the sample covariance, "
          "1 a diagonal one.", minimum=0.0, maximum=1.0, decimals=2, group="Discriminant analysis"),
    Float("qda_reg_param", 0.0, "Regularises each class's QDA covariance towards the identity (0: none); "
          "needed when a class has few points.", minimum=0.0, maximum=1.0, decimals=3,
          group="Discriminant analysis"),
    # Gaussian process
    Float("gp_length_scale", 1.0, "Length scale of the Gaussian process's RBF kernel (start value if tuned): "
          "small, wigglier boundary.", minimum=0.05, maximum=20.0, log=True, group="Gaussian process"),
    Bool("gp_optimize", True, f"Tune the kernel's length scale and amplitude to the data (maximum marginal "
         f"likelihood, at most {models.GP_OPTIMIZER_MAXITER} L-BFGS iterations, no restarts).",
         group="Gaussian process"),
    Int("gp_max_iter_predict", 100, "Newton iterations the Gaussian process's Laplace approximation may use.",
        minimum=1, maximum=500, log=True, group="Gaussian process"),
    # Neural network
    Choice("mlp_hidden_layers", "100", "Neurons in each hidden layer of the network (two numbers: two layers).",
           choices=("5", "10", "100", "10,10", "50,50", "100,100"),
           labels=("5", "10", "100", "10, 10", "50, 50", "100, 100"), group="Neural network"),
    Choice("mlp_activation", "relu", "The hidden neurons' activation function.",
           choices=("relu", "tanh", "logistic", "identity"), group="Neural network"),
    Float("mlp_alpha", 1e-4, "Strength of the L2 penalty on the network's weights: large, smoother boundary.",
          minimum=1e-6, maximum=10.0, log=True, group="Neural network"),
    Float("mlp_learning_rate_init", 1e-3, "Adam's step size for the network's weights.",
          minimum=1e-4, maximum=1.0, log=True, group="Neural network"),
    Int("mlp_max_iter", 200, "Most training epochs (passes over the data); fewer if the loss stops improving.",
        minimum=5, maximum=2000, log=True, group="Neural network"),
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
    # Large data
    Int("fit_max_points", 1000, "Largest number of training points the model is fitted on; more are subsampled "
        "at random (seeded).", minimum=50, maximum=MAX_FIT_POINTS, log=True, label="Fit on at most",
        group="Model"),
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
                    "lda_": ("lda",), "qda_": ("qda",), "gp_": ("gaussian_process",), "mlp_": ("mlp",),
                    "tree_": ("tree",), "forest_": ("random_forest", "extra_trees"), "bagging_": ("bagging",),
                    "adaboost_": ("adaboost",), "gb_": ("gradient_boosting",)}
_LABELS = {"logistic_C": "C", "svm_C": "C", "svm_gamma": "Gamma (γ)", "knn_k": "Neighbours k",
           "nb_var_smoothing": "Variance smoothing", "tree_min_samples_leaf": "Min samples per leaf",
           "bagging_base": "Base model", "adaboost_base_depth": "Base tree depth", "lda_solver": "Solver",
           "lda_shrinkage": "Shrinkage", "lda_shrinkage_amount": "Shrinkage amount",
           "qda_reg_param": "Regularisation", "gp_length_scale": "Length scale", "gp_optimize": "Tune kernel",
           "gp_max_iter_predict": "Laplace iterations", "mlp_hidden_layers": "Hidden layers",
           "mlp_alpha": "Alpha (L2)", "mlp_learning_rate_init": "Learning rate", "mlp_max_iter": "Max epochs"}


# Kernel settings that only matter for some kernels.
_EXTRA_CONDITIONS = {"svm_gamma": {"svm_kernel": ("rbf", "poly", "sigmoid")}, "svm_degree": {"svm_kernel": ("poly",)},
                     "logistic_C": {"logistic_penalty": ("l2", "l1", "elasticnet")},
                     "lda_shrinkage": {"lda_solver": ("lsqr", "eigen")},
                     "lda_shrinkage_amount": {"lda_solver": ("lsqr", "eigen"), "lda_shrinkage": ("fixed",)}}


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


#: Said whenever a frame has no model: why its map is empty and its accuracies are NaN.
NO_MODEL = "no model, so no map and no accuracy"


def _percent(value: float) -> str:
    return f"{value:.0%}" if np.isfinite(value) else "none"


class Simulation:
    def __init__(self, params: Mapping[str, Any], seed: int = 0, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        self.messages: list[str] = []
        self._stage = 0
        self.refiner: models.Refiner | None = None
        self.n_stages = 1
        self.pipe = None
        self.subsample_note = ""
        self._load_data(data)
        self.extent = padded_extent(self.x)
        self.classes = np.zeros(0, dtype=int)
        self.fit_index = self._fit_points() if self.ok else np.zeros(0, dtype=np.intp)
        fitted = np.zeros(len(self.x), dtype=bool)
        fitted[self.fit_index] = True
        self.fitted = _readonly(fitted)
        self._empty_model()
        self.compare_names: tuple[str, ...] = ()
        self.compare_scores = _readonly(np.zeros((0, 1, COMPARE, COMPARE), np.float32))
        self.compare_accuracy = _readonly(np.zeros((0, 2)))
        self.compare_summary = ""
        if self.ok:
            n_train = int((~self.test).sum())
            if len(self.fit_index) < n_train:  # said once a model has been fitted on them
                self.subsample_note = (f"fitted on {len(self.fit_index):,} of {n_train:,} training points (seeded "
                                       f"subsample; train accuracy is on those {len(self.fit_index):,})")
            if not self.test.any():
                self.messages.append(f"no test points: test fraction {self.params['test_fraction']:g} of "
                                     f"{len(self.x)} points, so no test accuracy")
            if self.params["compare"]:
                self._fit_compare()
            else:
                self._fit_main()
        if not self.ok:
            self.messages.append(NO_MODEL)

    # -- data -------------------------------------------------------------------------------
    def _load_data(self, data: Any) -> None:
        self.user_data = data is not None
        self.ok = True
        try:
            if data is None:
                dataset = datasets.generate(self.params, self.seed)
            else:
                dataset = datasets.from_user(data, self.params["test_fraction"], self.seed)
                self.messages.append(f"Your own {len(dataset.x):,} points (Regenerate returns to generated data)")
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

    def _fit_points(self) -> np.ndarray:
        """Indices of the training points the models are fitted on: all of them, or a seeded
        random subsample of ``fit_max_points`` (in their original order)."""
        train = np.flatnonzero(~self.test)
        cap = int(self.params.get("fit_max_points", MAX_FIT_POINTS))
        if len(train) <= cap:
            return train
        rng = np.random.default_rng([self.seed, int(self.params.get("data_seed", 0)), 104729])
        chosen = np.sort(rng.choice(train, cap, replace=False))
        if len(np.unique(self.labels[chosen])) < 2:  # keep two classes in a tiny sample
            chosen = train[:cap]
        return chosen

    def _empty_model(self) -> None:
        self.scores = _readonly(np.zeros((1, 1, COARSE, COARSE), np.float32))
        self.predicted = _readonly(np.full((1, len(self.x)), -1, dtype=np.int8))
        self.train_curve = _readonly(np.full(1, np.nan))
        self.test_curve = _readonly(np.full(1, np.nan))
        self.support_vectors = _readonly(np.zeros((0, 2)))
        self.splits = _readonly(np.zeros((0, 4)))
        self.split_depth = _readonly(np.zeros(0, dtype=int))

    # -- fitting ----------------------------------------------------------------------------
    def _too_costly(self, cid: str, n_predict: int) -> str:
        """A message if fitting ``cid`` (and predicting n_predict points) would exceed the budget."""
        n_fit = len(self.fit_index)
        n_classes = len(np.unique(self.labels[self.fit_index]))
        seconds = models.estimate_seconds(cid, self.params, n_fit, n_predict, n_classes)
        if seconds <= models.FIT_BUDGET_S:
            return ""
        text = f"{models.label(cid)} on {n_fit:,} points would take ≈ {models.duration(seconds)}"
        lowest = next(p for p in PARAMS if p.name == "fit_max_points").minimum
        affordable = models.affordable_points(cid, self.params, n_fit, n_predict, n_classes)
        if affordable >= lowest:
            return f"{text}; lower 'Fit on at most' to {affordable:,} to try it"
        return f"{text}; choose lighter settings for it (or import fewer points: every point is predicted)"

    def _fit(self, cid: str):
        """The fitted pipeline and the notes its fit produced (raises what scikit-learn raises)."""
        index = self.fit_index
        pipe, note = models.build(cid, self.params, self.seed, len(index))
        notes = [note] if note else []
        notes += models.fit(pipe, self.x[index], self.labels[index], cid)
        return pipe, notes

    def _fit_main(self) -> None:
        cid = self.params["classifier"]
        n_predict = len(self.x) + COARSE * COARSE + FINE * FINE
        refused = self._too_costly(cid, n_predict)
        if refused:
            self.ok = False
            self.messages.append(refused)
            return
        try:
            pipe, notes = self._fit(cid)
            self.messages += [self.subsample_note] * bool(self.subsample_note) + notes
            self.pipe = pipe
            self.classes = _readonly(np.asarray(pipe[-1].classes_, dtype=int))
            grid = models.grid_points(self.extent, COARSE)
            points = np.concatenate([grid, self.x])
            maps, predicted = [], []
            with models.one_blas_thread(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fit already said what there is to say
                if cid == "svm":  # the labels are SVC.predict's one-vs-one votes, not the argmax
                    scores, labels = models.svm_scores_and_labels(pipe[-1], pipe[:-1].transform(points))
                    stages = [(np.array(scores[:len(grid)], dtype=np.float32),
                               np.asarray(labels[len(grid):], dtype=np.int8))]
                else:
                    stages = list(self._stage_maps(cid, pipe, points, len(grid)))
            for proba_grid, labels in stages:
                maps.append(proba_grid)
                predicted.append(labels)
            self.n_stages = len(maps)
            stack = np.asarray(maps, dtype=np.float32)  # (S, G*G, C)
            self.scores = _readonly(stack.transpose(0, 2, 1).reshape(len(maps), -1, COARSE, COARSE))
            self.predicted = _readonly(np.asarray(predicted, dtype=np.int8).reshape(len(maps), len(self.x)))
            correct = self.predicted == self.labels[None, :]
            self.train_curve = _readonly(correct[:, self.fit_index].mean(axis=1))
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
            self.pipe = None
            self.classes = np.zeros(0, dtype=int)
            self._empty_model()
            self.n_stages = 1
            self.refiner = None
            self.messages.append(f"{models.label(cid)} could not be fitted: {error}")

    def _stage_maps(self, cid: str, pipe, points: np.ndarray, n_grid: int):
        """(grid scores float32, predicted labels int8) of every stage; only these small copies
        are kept (a view would keep every stage's grid + points array alive)."""
        for proba in models.staged_proba(cid, pipe, points):
            yield (np.array(proba[:n_grid], dtype=np.float32),
                   self.classes[np.argmax(proba[n_grid:], axis=1)].astype(np.int8))

    def _fit_compare(self) -> None:
        chosen = compare_choice(self.params)
        if len(chosen) < 2:
            self.messages.append("Choose at least 2 classifiers to compare (compare_… switches)")
        grid = models.grid_points(self.extent, COMPARE)
        index = self.fit_index
        all_classes = np.unique(self.labels[index])
        self.classes = _readonly(all_classes if chosen else np.zeros(0, dtype=int))  # nothing compared: no map
        maps = np.zeros((len(chosen), len(all_classes), COMPARE, COMPARE), np.float32)
        accuracy = np.full((len(chosen), 2), np.nan)
        n_classes = len(all_classes)
        spent = 0.0  # estimated seconds of the models fitted so far
        for i, cid in enumerate(chosen):
            n_predict = len(self.x) + COMPARE * COMPARE
            refused = self._too_costly(cid, n_predict)
            if refused:
                self.messages.append(f"{refused} (no map, no accuracy)")
                continue
            seconds = models.estimate_seconds(cid, self.params, len(index), n_predict, n_classes)
            if spent + seconds > COMPARE_BUDGET_S:
                self.messages.append(f"{models.label(cid)} skipped: the compare grid would take over "
                                     f"{COMPARE_BUDGET_S:.0f} s with it; lower 'Fit on at most' or compare fewer "
                                     f"models (no map, no accuracy)")
                continue
            spent += seconds
            try:
                pipe, notes = self._fit(cid)
                self.messages += [note if models.label(cid) in note else f"{models.label(cid)}: {note}"
                                  for note in notes]
                with models.one_blas_thread(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the fit already said what there is to say
                    *_, proba = models.staged_proba(cid, pipe, grid)
                    predicted = np.asarray(pipe.predict(self.x), dtype=int)
                columns = np.searchsorted(all_classes, pipe[-1].classes_)
                maps[i][columns] = models.to_grid(proba, COMPARE)
                accuracy[i] = [np.mean(predicted[index] == self.labels[index]),
                               np.mean(predicted[self.test] == self.labels[self.test]) if self.test.any() else np.nan]
            except Exception as error:
                self.messages.append(f"{models.label(cid)} could not be fitted: {error} (no map, no accuracy)")
        if self.subsample_note and np.isfinite(accuracy[:, 0]).any():
            self.messages.insert(0, self.subsample_note)
        self.compare_names = tuple(chosen)
        self.compare_scores = _readonly(maps)
        self.compare_accuracy = _readonly(accuracy)
        # The single-model accuracies are the selected classifier's row, when it is compared.
        cid = self.params["classifier"]
        row = accuracy[chosen.index(cid)] if cid in chosen else np.full(2, np.nan)
        self.train_curve, self.test_curve = _readonly(row[:1]), _readonly(row[1:])
        if cid not in chosen:
            self.messages.append(f"train/test accuracy: none for {models.label(cid)}, which is not among the "
                                 f"compared models (each model's is in compare_accuracy)")
        finite = np.isfinite(accuracy[:, 1])
        if finite.any():
            best = int(np.argmax(np.where(finite, accuracy[:, 1], -1.0)))
            self.compare_summary = (f"Compared {len(chosen)} classifiers on {len(index):,} training points; "
                                    f"best test accuracy: {models.label(chosen[best])} {accuracy[best, 1]:.0%}")

    # -- the Simulation protocol -------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._stage >= self.n_stages - 1

    @property
    def stage(self) -> int:
        return self._stage

    def _status(self, k: int) -> str:
        """What the frame shows, e.g. 'Support vector machine fitted: train 97%, test 94%'."""
        if self.params["compare"]:
            return self.compare_summary
        if not self.ok:
            return ""
        cid = self.params["classifier"]
        accuracy = f"train {_percent(self.train_curve[k])}, test {_percent(self.test_curve[k])}"
        if cid in models.STAGED and self.n_stages > 1:
            unit = "depth" if cid == "tree" else "stage" if cid in ("adaboost", "gradient_boosting") else "models"
            shown = k if cid == "tree" else k + 1
            total = self.n_stages - 1 if cid == "tree" else self.n_stages
            return f"{unit} {shown} of {total}: {accuracy}"
        return f"{models.label(cid)} fitted: {accuracy}"

    def frame(self) -> Frame:
        k = self._stage
        message = "; ".join(part for part in (self._status(k), *self.messages) if part)
        cid = self.params["classifier"]
        kind = models.score_kind(cid)
        scores = self.scores[k]
        data = {
            "x": self.x,
            "labels": self.labels,
            "test": self.test,
            "fitted": self.fitted,
            "n_fitted": int(len(self.fit_index)),
            "predicted": self.predicted[k],
            "classes": self.classes,
            "names": self.names,
            "class_scores": scores,
            "score_kind": kind,
            # Old name of class_scores, kept until the view reads class_scores (same array).
            "proba": scores,
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
            "compare_scores": self.compare_scores,
            "compare_score_kinds": tuple(models.score_kind(name) for name in self.compare_names),
            # Old name of compare_scores, kept until the view reads compare_scores (same array).
            "compare_proba": self.compare_scores,
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
