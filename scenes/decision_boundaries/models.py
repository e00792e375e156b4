"""The classifiers: scikit-learn pipelines built from the scene's parameters, and their
probabilities stage by stage (boosting stages, the first k trees of a forest, tree depth levels).

Pure NumPy + scikit-learn (imported lazily); no Qt.
"""
from __future__ import annotations

import itertools
import threading
import warnings
from collections import OrderedDict
from typing import Any, Iterator, Mapping

import numpy as np

CLASSIFIERS: tuple[str, ...] = ("logistic", "knn", "svm", "naive_bayes", "lda", "qda", "gaussian_process", "mlp",
                                "tree", "random_forest", "extra_trees", "bagging", "adaboost", "gradient_boosting")
CLASSIFIER_LABELS: tuple[str, ...] = ("Logistic regression", "k-nearest neighbours", "Support vector machine",
                                      "Gaussian naive Bayes", "Linear discriminant analysis",
                                      "Quadratic discriminant analysis", "Gaussian process",
                                      "Neural network (MLP)", "Decision tree", "Random forest", "Extra trees",
                                      "Bagging", "AdaBoost", "Gradient boosting")
#: Models whose construction is shown step by step (one stage, tree or depth level per step).
STAGED = ("tree", "random_forest", "extra_trees", "bagging", "adaboost", "gradient_boosting")
#: What the map values of each model are (every model not named here gives predict_proba).
PROBABILITY = "probability (predict_proba)"
SCORE_KINDS = {"svm": "sigmoid of the SVM decision function (not a calibrated probability)"}

#: Iteration budgets. Iterative solvers get at most this much work, so that every fit ends:
#: iterations x training points (libsvm and saga touch every point per iteration).
SVM_WORK = 2e7
LOGISTIC_WORK = 1e8
#: L-BFGS iterations the Gaussian process may spend tuning its kernel (one restart, no more).
GP_OPTIMIZER_MAXITER = 30
#: A fit (plus every map and prediction it needs) estimated to take longer is not started.
FIT_BUDGET_S = 10.0


def label(cid: str) -> str:
    return CLASSIFIER_LABELS[CLASSIFIERS.index(cid)]


def score_kind(cid: str) -> str:
    return SCORE_KINDS.get(cid, PROBABILITY)


def _depth(value: int) -> int | None:
    return None if int(value) <= 0 else int(value)


def hidden_layers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split(","))


def svm_max_iter(n_fit: int) -> int:
    return int(min(100_000, max(1_000, SVM_WORK / max(1, n_fit))))


def logistic_max_iter(n_fit: int, n_features: int) -> int:
    return int(min(1_000, max(50, LOGISTIC_WORK / max(1, n_fit * n_features))))


def logistic_features(degree: int) -> int:
    return (degree + 1) * (degree + 2) // 2 - 1  # polynomial terms of 2 inputs, without the bias


class BoundedLBFGS:
    """The Gaussian process kernel optimiser (L-BFGS-B, as scikit-learn's default) with an
    iteration cap; remembers whether it converged (scikit-learn's own one has no cap)."""

    def __init__(self, maxiter: int = GP_OPTIMIZER_MAXITER) -> None:
        self.maxiter = int(maxiter)
        self.converged: bool | None = None
        self.iterations = 0

    def __call__(self, obj_func, initial_theta, bounds):
        from scipy.optimize import minimize
        result = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                          options={"maxiter": self.maxiter})
        self.converged = bool(result.success)
        self.iterations = int(result.nit)
        return result.x, result.fun


def build(cid: str, p: Mapping[str, Any], seed: int, n_train: int):
    """An unfitted pipeline (standardised features + the classifier) and a note for the user.

    Every estimator that draws random numbers gets ``seed``; every iterative one an iteration cap."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    note = ""
    seed = int(seed) % (2**31)
    if cid == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import PolynomialFeatures
        penalty = p["logistic_penalty"]
        C = np.inf if penalty == "none" else float(p["logistic_C"])
        l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5, "none": 0.0}[penalty]
        solver = "lbfgs" if penalty in ("l2", "none") else "saga"
        degree = int(p["logistic_degree"])
        model = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, random_state=seed,
                                   max_iter=logistic_max_iter(n_train, logistic_features(degree)))
        steps = [StandardScaler()]
        if degree > 1:
            steps += [PolynomialFeatures(degree, include_bias=False), StandardScaler()]
        return make_pipeline(*steps, model), note
    if cid == "knn":
        from sklearn.neighbors import KNeighborsClassifier
        k = int(p["knn_k"])
        if k > n_train:
            note = f"k reduced from {k} to {n_train} (the number of training points)"
            k = n_train
        model = KNeighborsClassifier(k, weights=p["knn_weights"], metric=p["knn_metric"])
    elif cid == "svm":
        from sklearn.svm import SVC
        model = SVC(kernel=p["svm_kernel"], C=float(p["svm_C"]), gamma=float(p["svm_gamma"]),
                    degree=int(p["svm_degree"]), coef0=1.0 if p["svm_kernel"] == "poly" else 0.0,
                    max_iter=svm_max_iter(n_train), random_state=seed)
    elif cid == "naive_bayes":
        from sklearn.naive_bayes import GaussianNB
        model = GaussianNB(var_smoothing=float(p["nb_var_smoothing"]))
    elif cid == "lda":
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        solver = p["lda_solver"]
        shrinkage = None
        if solver != "svd" and p["lda_shrinkage"] != "none":
            shrinkage = "auto" if p["lda_shrinkage"] == "auto" else float(p["lda_shrinkage_amount"])
        model = LinearDiscriminantAnalysis(solver=solver, shrinkage=shrinkage)
    elif cid == "qda":
        from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
        model = QuadraticDiscriminantAnalysis(reg_param=float(p["qda_reg_param"]))
    elif cid == "gaussian_process":
        from sklearn.gaussian_process import GaussianProcessClassifier
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel
        kernel = ConstantKernel(1.0) * RBF(float(p["gp_length_scale"]))
        optimizer = BoundedLBFGS() if p["gp_optimize"] else None
        model = GaussianProcessClassifier(kernel, optimizer=optimizer, n_restarts_optimizer=0,
                                          max_iter_predict=int(p["gp_max_iter_predict"]), random_state=seed)
    elif cid == "mlp":
        from sklearn.neural_network import MLPClassifier
        model = MLPClassifier(hidden_layers(p["mlp_hidden_layers"]), activation=p["mlp_activation"],
                              alpha=float(p["mlp_alpha"]), learning_rate_init=float(p["mlp_learning_rate_init"]),
                              max_iter=int(p["mlp_max_iter"]), random_state=seed)
    elif cid == "tree":
        from sklearn.tree import DecisionTreeClassifier
        model = DecisionTreeClassifier(criterion=p["tree_criterion"], max_depth=_depth(p["tree_max_depth"]),
                                       min_samples_leaf=int(p["tree_min_samples_leaf"]), random_state=seed)
    elif cid in ("random_forest", "extra_trees"):
        from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
        kind = RandomForestClassifier if cid == "random_forest" else ExtraTreesClassifier
        features = {"sqrt": "sqrt", "one": 1, "all": None}[p["forest_max_features"]]
        # n_jobs=1: two workers were 2x slower on this 2-core machine (DESIGN.md).
        model = kind(n_estimators=int(p["forest_n_estimators"]), max_depth=_depth(p["forest_max_depth"]),
                     max_features=features, bootstrap=bool(p["forest_bootstrap"]), n_jobs=1, random_state=seed)
    elif cid == "bagging":
        from sklearn.ensemble import BaggingClassifier
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.tree import DecisionTreeClassifier
        samples = max(2, int(round(float(p["bagging_max_samples"]) * n_train)))
        samples = min(samples, n_train)
        if p["bagging_base"] == "knn":
            base = KNeighborsClassifier(min(5, samples))
        else:
            base = DecisionTreeClassifier()
        model = BaggingClassifier(base, n_estimators=int(p["bagging_n_estimators"]), max_samples=samples,
                                  n_jobs=1, random_state=seed)
    elif cid == "adaboost":
        from sklearn.ensemble import AdaBoostClassifier
        from sklearn.tree import DecisionTreeClassifier
        model = AdaBoostClassifier(DecisionTreeClassifier(max_depth=int(p["adaboost_base_depth"])),
                                   n_estimators=int(p["adaboost_n_estimators"]),
                                   learning_rate=float(p["adaboost_learning_rate"]), random_state=seed)
    elif cid == "gradient_boosting":
        from sklearn.ensemble import GradientBoostingClassifier
        model = GradientBoostingClassifier(n_estimators=int(p["gb_n_estimators"]),
                                           learning_rate=float(p["gb_learning_rate"]),
                                           max_depth=int(p["gb_max_depth"]), subsample=float(p["gb_subsample"]),
                                           random_state=seed)
    else:
        raise ValueError(f"unknown classifier {cid!r}")
    return make_pipeline(StandardScaler(), model), note


def one_blas_thread():
    """A context in which BLAS uses one thread. Fits and predictions run inside it: with the CPU
    busy (load 8 on these 2 cores) a 140-point Gaussian process fit took 24.9 s with two OpenBLAS
    threads and 0.39 s with one; unloaded, two threads gain at most 2x."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def fit(pipe, x: np.ndarray, y: np.ndarray, cid: str = "") -> list[str]:
    """Fit ``pipe``; returns notes for the user (an iteration budget reached, a warning). No
    warning escapes: the app shows them as messages, never as log noise."""
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings(record=True) as caught, one_blas_thread():
        warnings.simplefilter("always")
        pipe.fit(x, y)
    notes = convergence_notes(cid, pipe)
    if not notes and any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(f"{label(cid) if cid else 'the model'} did not converge (its solver stopped at its limit)")
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)) and not issubclass(w.category, ConvergenceWarning):
            text = str(w.message).split("\n")[0].strip()
            text = text if len(text) <= 120 else text[:117] + "..."
            note = f"{label(cid) if cid else 'the model'}: {text}"
            if note not in notes:
                notes.append(note)
    return notes


def convergence_notes(cid: str, pipe) -> list[str]:
    """'did not converge within N iterations' for a fitted model that used up its budget."""
    est = pipe[-1]
    name = label(cid) if cid else "the model"
    if cid in ("svm", "logistic"):
        n_iter = np.atleast_1d(getattr(est, "n_iter_", 0))
        if len(n_iter) and int(n_iter.max()) >= est.max_iter:
            return [f"{name} did not converge within {est.max_iter:,} iterations (the map shows where it stopped)"]
    elif cid == "mlp":
        if int(est.n_iter_) >= est.max_iter:
            return [f"{name} did not converge within {est.max_iter:,} epochs (raise 'Max epochs' to train longer)"]
    elif cid == "gaussian_process":
        base = est.base_estimator_
        optimizers = [e.optimizer for e in getattr(base, "estimators_", [base])]
        if any(isinstance(o, BoundedLBFGS) and o.converged is False for o in optimizers):
            return [f"{name}: kernel tuning did not converge within {GP_OPTIMIZER_MAXITER} iterations "
                    f"(the map uses the kernel it reached)"]
    return []


# -- cost model -----------------------------------------------------------------------------------
def estimate_seconds(cid: str, p: Mapping[str, Any], n_fit: int, n_predict: int, n_classes: int) -> float:
    """Rough seconds to fit on ``n_fit`` points and predict ``n_predict`` points at every stage
    (calibrated on this 2-core machine under load 8-11 with one BLAS thread, so on the
    slow side; within a factor of ~2-4). Used to refuse fits that would
    not end in reasonable time, never to stop one."""
    n, m, c = max(1, int(n_fit)), max(1, int(n_predict)), max(2, int(n_classes))
    ovr = 1 if c == 2 else c  # binary problems of one-vs-rest models
    log_n = max(1.0, np.log2(n))
    if cid == "svm":
        pairs = c * (c - 1) // 2
        fit_s = min(25e-9 * n * n, pairs * svm_max_iter(n) * 11e-9 * 2 * n / c)
        return fit_s + 45e-9 * n * m  # as many support vectors as points, at worst (noisy data)
    if cid == "logistic":
        f = logistic_features(int(p["logistic_degree"]))
        return logistic_max_iter(n, f) * n * f * ovr * 100e-9 + 1e-7 * m * f
    if cid == "knn":
        return (5e-6 + 0.6e-6 * int(p["knn_k"])) * m * log_n / 10
    if cid in ("naive_bayes", "lda", "qda"):
        return 1e-6 * (n + m)
    if cid == "gaussian_process":
        evals = 1 + (GP_OPTIMIZER_MAXITER * 1.3 if p["gp_optimize"] else 0)
        newton = min(int(p["gp_max_iter_predict"]), 20) / 20
        return ovr * (evals * newton * 2.5e-9 * n ** 3 + 0.6e-9 * n * n * m)
    if cid == "mlp":
        sizes = (2, *hidden_layers(p["mlp_hidden_layers"]), ovr)
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        epochs = int(p["mlp_max_iter"])
        return epochs * n * (2e-9 * weights + 3e-6) + 5e-9 * weights * m
    if cid == "tree":
        return 3e-6 * n * log_n / 10 + 0.3e-6 * m * log_n
    if cid in ("random_forest", "extra_trees"):
        trees = int(p["forest_n_estimators"])
        per_point = 2.5e-6 if cid == "random_forest" else 1.5e-6
        return trees * (per_point * n * log_n / 10 + 0.2e-6 * m)
    if cid == "bagging":
        models = int(p["bagging_n_estimators"])
        share = float(p["bagging_max_samples"])
        if p["bagging_base"] == "knn":
            return models * (5e-6 * m * log_n / 10)
        return models * (2.5e-6 * share * n * log_n / 10 + 0.2e-6 * m)
    if cid == "adaboost":
        stages = int(p["adaboost_n_estimators"])
        return stages * (1.5e-6 * n * int(p["adaboost_base_depth"]) + 0.2e-6 * m)
    if cid == "gradient_boosting":
        stages = int(p["gb_n_estimators"])
        depth = int(p["gb_max_depth"])
        return stages * ovr * (0.9e-6 * n * depth + 0.1e-6 * m)
    return 1e-6 * (n + m)


def affordable_points(cid: str, p: Mapping[str, Any], n_fit: int, n_predict: int, n_classes: int,
                      budget: float = FIT_BUDGET_S) -> int:
    """The largest number of fit points (two significant digits, at most ``n_fit``) whose
    estimate is within ``budget``; 0 if not even 10 are."""
    def cost(k: int) -> float:
        return estimate_seconds(cid, p, k, n_predict, n_classes)
    low, high = 10, int(n_fit)
    if cost(low) > budget:
        return 0
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if cost(mid) <= budget else (low, mid)
    best = high if cost(high) <= budget else low
    digits = 10 ** max(0, len(str(best)) - 2)  # two significant digits, rounded down
    return max(10, best // digits * digits)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def svm_display(decision: np.ndarray, n_classes: int) -> np.ndarray:
    """Probability-like display values from SVC.decision_function (no Platt scaling, which is
    deprecated in scikit-learn 1.9): binary sigmoid(2 d), multi-class softmax of the ovr scores."""
    decision = np.asarray(decision, dtype=np.float64)
    if n_classes == 2:
        # sigmoid(2 d) = (1 + tanh d) / 2: never overflows, and each class keeps full precision.
        t = np.tanh(decision)
        return np.c_[0.5 * (1.0 - t), 0.5 * (1.0 + t)]
    z = np.exp(2.0 * (decision - decision.max(axis=1, keepdims=True)))
    return z / z.sum(axis=1, keepdims=True)


def svm_scores_and_labels(svc, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(svm_display of SVC.decision_function, SVC.predict) of standardised points ``z`` from one
    kernel evaluation instead of two (on 100,000 points the kernel is most of the cost)."""
    import copy
    from sklearn.utils.multiclass import _ovr_decision_function
    n_classes = len(svc.classes_)
    ovo = copy.copy(svc)  # shallow: shares the fitted model; the original stays as it is
    ovo.decision_function_shape = "ovo"
    decision = ovo.decision_function(z)
    if n_classes == 2:
        return svm_display(decision, 2), svc.classes_[(decision > 0).astype(np.intp)]
    # libsvm's one-vs-one vote: pair (i, j) votes i when its value is > 0, else j; first maximum wins.
    votes = np.zeros((len(z), n_classes), dtype=np.intp)
    pair = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            positive = decision[:, pair] > 0
            votes[:, i] += positive
            votes[:, j] += ~positive
            pair += 1
    ovr = _ovr_decision_function(decision < 0, -decision, n_classes)  # what decision_function returns
    return svm_display(ovr, n_classes), svc.classes_[np.argmax(votes, axis=1)]


def _add_proba(total: np.ndarray, estimator, z: np.ndarray) -> None:
    proba = estimator.predict_proba(z)
    if proba.shape[1] == total.shape[1]:
        total += proba
    else:  # a bootstrap sample that missed a class (as BaggingClassifier does it)
        total[:, np.asarray(estimator.classes_, dtype=int)] += proba


def tree_levels(tree) -> tuple[np.ndarray, np.ndarray]:
    """(depth of every node, ancestors (n_nodes, max_depth + 1): the node's ancestor at each depth)."""
    t = tree.tree_
    n = t.node_count
    depth = np.zeros(n, dtype=np.intp)
    parent = np.arange(n)
    for node in range(n):  # children always have larger ids than their parent
        for child in (t.children_left[node], t.children_right[node]):
            if child >= 0:
                depth[child] = depth[node] + 1
                parent[child] = node
    max_depth = int(depth.max()) if n else 0
    ancestors = np.empty((n, max_depth + 1), dtype=np.intp)
    ancestors[:, max_depth] = np.arange(n)
    for level in range(max_depth - 1, -1, -1):
        below = ancestors[:, level + 1]
        ancestors[:, level] = np.where(depth[below] > level, parent[below], below)
    return depth, ancestors


def n_stages(cid: str, pipe) -> int:
    est = pipe[-1]
    if cid == "tree":
        return int(est.get_depth()) + 1
    if cid in ("random_forest", "extra_trees", "bagging", "adaboost"):
        return len(est.estimators_)
    if cid == "gradient_boosting":
        return int(est.n_estimators_)
    return 1


def staged_proba(cid: str, pipe, x: np.ndarray) -> Iterator[np.ndarray]:
    """(n, n_classes) probabilities at every stage, in order; the last equals the fitted model's
    predict_proba (SVM: :func:`svm_display` of decision_function). Never refits anything."""
    est = pipe[-1]
    z = pipe[:-1].transform(x) if len(pipe) > 1 else x
    n_classes = len(est.classes_)
    if cid in ("random_forest", "extra_trees", "bagging"):
        total = np.zeros((len(z), n_classes))
        features = getattr(est, "estimators_features_", None)
        for k, tree in enumerate(est.estimators_, start=1):
            _add_proba(total, tree, z if features is None else z[:, features[k - 1]])
            yield total / k
    elif cid in ("adaboost", "gradient_boosting"):
        yield from est.staged_predict_proba(z)
    elif cid == "tree":
        value = est.tree_.value[:, 0, :n_classes]
        totals = value.sum(axis=1, keepdims=True)
        value = value / np.where(totals == 0, 1.0, totals)
        leaves = est.apply(z.astype(np.float32))
        _, ancestors = tree_levels(est)
        for level in range(ancestors.shape[1]):
            yield value[ancestors[leaves, level]]
    elif cid == "svm":
        yield svm_display(est.decision_function(z), n_classes)
    else:
        yield est.predict_proba(z)


def tree_splits(pipe, extent: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Split segments of a fitted tree pipeline in data coordinates, each clipped to its cell.

    Returns (segments (m, 4) as x0, y0, x1, y1 sorted by depth, depth (m,)); one per internal node.
    """
    scaler, tree = pipe[0], pipe[-1]
    t = tree.tree_
    segments, depths = [], []
    stack = [(0, 0, (extent[0], extent[1], extent[2], extent[3]))]
    while stack:
        node, depth, (x0, x1, y0, y1) = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left < 0:
            continue
        f = int(t.feature[node])
        cut = float(t.threshold[node]) * float(scaler.scale_[f]) + float(scaler.mean_[f])
        if f == 0:
            cut = min(max(cut, x0), x1)
            segments.append((cut, y0, cut, y1))
            stack += [(left, depth + 1, (x0, cut, y0, y1)), (right, depth + 1, (cut, x1, y0, y1))]
        else:
            cut = min(max(cut, y0), y1)
            segments.append((x0, cut, x1, cut))
            stack += [(left, depth + 1, (x0, x1, y0, cut)), (right, depth + 1, (x0, x1, cut, y1))]
        depths.append(depth)
    segments = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    depths = np.asarray(depths, dtype=np.intp)
    order = np.argsort(depths, kind="stable")
    return segments[order], depths[order]


def grid_points(extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Centres of a size x size grid of cells covering extent (x0, x1, y0, y1); row-major, row 0 at y0."""
    x0, x1, y0, y1 = extent
    xs = x0 + (np.arange(size) + 0.5) * ((x1 - x0) / size)
    ys = y0 + (np.arange(size) + 0.5) * ((y1 - y0) / size)
    gx, gy = np.meshgrid(xs, ys)
    return np.c_[gx.ravel(), gy.ravel()]


def to_grid(proba: np.ndarray, size: int) -> np.ndarray:
    """(size*size, C) probabilities -> read-only (C, size, size) float32."""
    grid = np.ascontiguousarray(np.asarray(proba, dtype=np.float32).T.reshape(-1, size, size))
    grid.flags.writeable = False
    return grid


_tokens = itertools.count(1)


class Refiner:
    """Computes the probability map of one stage on a finer grid, on demand (in a worker).

    Thread-safe and read-only towards the fitted model; keeps the last few grids and resumes
    the staged computation when asked for a later stage (stepping forward never starts over).
    """

    def __init__(self, cid: str, pipe, extent, size: int = 200, keep: int = 8) -> None:
        self.cid, self.pipe, self.extent, self.size = cid, pipe, tuple(extent), int(size)
        #: Unique per refiner (an id() could be reused once a refiner is freed).
        self.token = next(_tokens)
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._keep = keep
        self._resume: tuple[int, Iterator[np.ndarray]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a worker process builds sessions): the lock, the cache and the resumable
        generator stay behind; the token travels, so a view's cached fine maps still match."""
        state = self.__dict__.copy()
        for name in ("_lock", "_cache", "_resume"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self._resume = None

    def grid(self, stage: int) -> np.ndarray:
        """(C, size, size) float32 probabilities of ``stage`` (read-only)."""
        with self._lock, one_blas_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fit already said what there is to say
            if stage in self._cache:
                self._cache.move_to_end(stage)
                return self._cache[stage]
            if self._resume is not None and self._resume[0] < stage:
                done, stages = self._resume
            else:
                done, stages = -1, staged_proba(self.cid, self.pipe, grid_points(self.extent, self.size))
            proba = None
            while done < stage:
                proba = next(stages)
                done += 1
            self._resume = (done, stages)
            grid = to_grid(proba, self.size)
            self._cache[stage] = grid
            if len(self._cache) > self._keep:
                self._cache.popitem(last=False)
            return grid
