"""The regularization scene's simulation: polynomial regression with and without a penalty,
refitted on fresh training draws (bias and variance you can see) or trained by gradient descent
(early stopping).

Pure NumPy and scikit-learn (no Qt).

The model. Features are the powers x, x², …, x^degree of x ∈ [-1, 1], each standardised with the
training set's mean and (population) standard deviation, exactly as scikit-learn's
``PolynomialFeatures(include_bias=False)`` + ``StandardScaler`` do. The intercept is not penalised:
the standardised features have mean zero on the training set, so the intercept is the training
mean of y and the coefficients are fitted to the centred targets. ``alpha`` means what it means to
the scikit-learn estimator of the chosen penalty (their objectives are scaled differently):

* Ridge (L2):      ||y - Xw||² + alpha ||w||²                                     (sklearn ``Ridge``)
* Lasso (L1):      ||y - Xw||² / (2n) + alpha ||w||₁                               (sklearn ``Lasso``)
* ElasticNet:      ||y - Xw||² / (2n) + alpha l1_ratio ||w||₁ + alpha (1 - l1_ratio) ||w||² / 2
* none:            the minimum-norm least-squares solution (an SVD, as ``numpy.linalg.lstsq``).

Ridge is solved in closed form through the SVD of the features (stable when they are nearly
collinear, e.g. degree 20); Lasso and ElasticNet by scikit-learn's coordinate descent with at most
``MAX_ITER`` iterations: a fit that stops there says "did not converge within N iterations".

Mode ``resample`` (step = one resample): step k refits on the k-th fresh training draw of the same
size from the same curve; every fit is kept as a curve of the bundle, and the bias², variance and
noise of the current setting are estimated from the fits so far at the fixed test inputs:
bias² = mean_x (mean_r f_r(x) - f(x))², variance = mean_x mean_r (f_r(x) - mean_r f_r(x))² (ddof 0,
so bias² + variance is exactly the mean squared distance of the fits from the true curve, an
unbiased estimate of its expectation), noise = noise². Their sum estimates the expected test
error, which the frame also measures: the mean over the resamples of the test MSE. The run is
done after ``MAX_RESAMPLES`` resamples.

Mode ``early_stopping`` (step = one epoch = one full-batch gradient-descent step on the unpenalised
mean squared error): the same degree-d polynomial, parametrised in the standardised Legendre basis
(the same functions as the powers, but well enough conditioned that gradient descent reaches the
overfit within a few thousand epochs; in the power basis it takes millions), step size 1/L with L
the largest eigenvalue of ZᵀZ/n. Train and validation loss per epoch; the run stops when the
validation loss has not improved for ``patience`` epochs, or after ``max_epochs``.

Randomness: the training draw r (r = 0 is the first) from ``default_rng([seed, 1, r])``; the test
set from ``[seed, 2]``, the validation set from ``[seed, 3]``, the cross-validation folds from
``[seed, 4]``. Frame state holds only immutable values, so ``restore`` is exact.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from numpy.polynomial import legendre

from explorer.scene import Frame

CURVES = ("sine", "line", "saturating")
CURVE_LABELS = ("Sine", "Straight line", "Saturating (rises, then plateaus)")
PENALTIES = ("none", "ridge", "lasso", "elasticnet")
PENALTY_LABELS = ("None (least squares)", "Ridge (L2)", "Lasso (L1)", "ElasticNet (L1 + L2)")
MODES = ("resample", "early_stopping")
MODE_LABELS = ("Resample (bias / variance)", "Early stopping (gradient descent)")
X_RANGE = (-1.0, 1.0)
#: Points of the drawn curves (true, fitted, bundle).
N_GRID = 161
N_TEST = 200
MAX_DEGREE = 20
MAX_RESAMPLES = 200
#: Coordinate-descent iterations for Lasso and ElasticNet (scikit-learn's default is 1000).
MAX_ITER = 2000
CD_TOL = 1e-4
CV_FOLDS = 5
#: Least squares whose features have a condition number above this say so.
ILL_CONDITIONED = 1e8
#: Drawn curves are clipped to this size (a wild ill-conditioned fit stays finite on the plot).
CURVE_LIMIT = 1e6


# -- data ------------------------------------------------------------------------------------------
def true_curve(curve: str, x: np.ndarray) -> np.ndarray:
    """The noiseless target at x (in [-1, 1])."""
    x = np.asarray(x, dtype=float)
    if curve == "sine":
        return np.sin(np.pi * x)
    if curve == "line":
        return 0.8 * x + 0.1
    if curve == "saturating":
        # Rises steeply, then plateaus (like bike rentals against temperature).
        return 1.3 * (1.0 - np.exp(-3.0 * (x + 1.0))) - 0.65
    raise ValueError(f"unknown curve {curve!r}")


def draw(curve: str, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points with x uniform on X_RANGE and y = curve(x) + noise · N(0, 1)."""
    x = rng.uniform(*X_RANGE, size=n)
    y = true_curve(curve, x) + noise * rng.standard_normal(n)
    return x, y


def training_draw(curve: str, n: int, noise: float, seed: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    return draw(curve, n, noise, np.random.default_rng([seed, 1, r]))


def test_draw(curve: str, noise: float, seed: int, n: int = N_TEST) -> tuple[np.ndarray, np.ndarray]:
    return draw(curve, n, noise, np.random.default_rng([seed, 2]))


def validation_draw(curve: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return draw(curve, n, noise, np.random.default_rng([seed, 3]))


# -- features ----------------------------------------------------------------------------------------
def power_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns x, x², …, x^degree (scikit-learn's PolynomialFeatures(degree, include_bias=False) of 1-D x)."""
    x = np.asarray(x, dtype=float)
    return x[:, None] ** np.arange(1, degree + 1)[None, :]


def legendre_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns P₁(x), …, P_degree(x): the same polynomials as the powers, better conditioned on [-1, 1]."""
    return legendre.legvander(np.asarray(x, dtype=float), degree)[:, 1:]


@dataclass(frozen=True)
class Scaler:
    """Standardisation by the training set's mean and population standard deviation (StandardScaler)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> "Scaler":
        mean = features.mean(axis=0)
        scale = features.std(axis=0)
        # A constant column (cannot happen with distinct x, but guard): scale 1, as StandardScaler.
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(mean)), scale, 1.0)
        return cls(mean, scale)

    def transform(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.scale


# -- fits ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fit:
    degree: int
    scaler: Scaler
    intercept: float
    coef: np.ndarray          # on the standardised features
    converged: bool = True
    n_iter: int = 0
    condition: float = 1.0    # of the standardised training features

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = self.scaler.transform(power_features(x, self.degree))
        return self.intercept + z @ self.coef


def _condition(singular: np.ndarray) -> float:
    if len(singular) == 0 or singular[0] == 0:
        return math.inf
    return float(singular[0] / singular[-1]) if singular[-1] > 0 else math.inf


def solve_centred(z: np.ndarray, yc: np.ndarray, penalty: str, alpha: float, l1_ratio: float,
                  max_iter: int = MAX_ITER, warm: np.ndarray | None = None) -> tuple[np.ndarray, bool, int]:
    """Coefficients for centred standardised features z and centred targets yc:
    (coef, converged, iterations)."""
    if penalty in ("none", "ridge"):
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        uty = u.T @ yc
        if penalty == "none":
            # Minimum-norm least squares, with lstsq's default cut-off of tiny singular values.
            cutoff = np.finfo(float).eps * max(z.shape) * (s[0] if len(s) else 0.0)
            factors = np.where(s > cutoff, 1.0 / np.where(s > cutoff, s, 1.0), 0.0)
        else:
            factors = s / (s * s + alpha)
        return vt.T @ (factors * uty), True, 0
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet, Lasso

    if penalty == "lasso":
        model = Lasso(alpha=alpha, fit_intercept=False, max_iter=max_iter, tol=CD_TOL, warm_start=warm is not None)
    elif penalty == "elasticnet":
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, max_iter=max_iter, tol=CD_TOL,
                           warm_start=warm is not None)
    else:
        raise ValueError(f"unknown penalty {penalty!r}")
    if warm is not None:
        model.coef_ = np.array(warm, dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(z, yc)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return np.asarray(model.coef_, dtype=float).copy(), converged, int(model.n_iter_)


def fit_model(x: np.ndarray, y: np.ndarray, degree: int, penalty: str, alpha: float = 1.0,
              l1_ratio: float = 0.5, max_iter: int = MAX_ITER) -> Fit:
    """The polynomial of ``degree`` fitted to (x, y) with the penalty (see the module docstring)."""
    features = power_features(x, degree)
    scaler = Scaler.fit(features)
    z = scaler.transform(features)
    intercept = float(np.mean(y))
    coef, converged, n_iter = solve_centred(z, y - intercept, penalty, alpha, l1_ratio, max_iter)
    condition = _condition(np.linalg.svd(z, compute_uv=False))
    return Fit(degree, scaler, intercept, coef, converged, n_iter, condition)


def rmse(prediction: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(y)) ** 2)))


def fold_indices(n: int, folds: int, seed: int) -> list[np.ndarray]:
    """Validation indices of each fold: a seeded permutation cut into ``folds`` near-equal parts."""
    order = np.random.default_rng([seed, 4]).permutation(n)
    return [part for part in np.array_split(order, min(folds, n)) if len(part)]


def cv_rmse(x: np.ndarray, y: np.ndarray, degree: int, penalty: str, alpha: float, l1_ratio: float,
            seed: int, folds: int = CV_FOLDS, max_iter: int = MAX_ITER) -> tuple[float, bool]:
    """Root of the mean squared validation error over the folds (each fold standardised on its own
    training part), and whether every fold's fit converged."""
    n = len(x)
    squared, converged = 0.0, True
    for held in fold_indices(n, folds, seed):
        keep = np.ones(n, dtype=bool)
        keep[held] = False
        if keep.sum() < 2:
            continue
        fit = fit_model(x[keep], y[keep], degree, penalty, alpha, l1_ratio, max_iter)
        converged &= fit.converged
        squared += float(np.sum((fit.predict(x[held]) - y[held]) ** 2))
    return math.sqrt(squared / n), converged


def regularization_path(x: np.ndarray, y: np.ndarray, degree: int, penalty: str, alphas: np.ndarray,
                        l1_ratio: float = 0.5, max_iter: int = MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (len(alphas), degree) on the standardised features at every alpha, and whether
    each converged. Ridge: one SVD for every alpha; Lasso / ElasticNet: warm-started from the
    neighbouring larger alpha (each still converged to CD_TOL, so it equals a direct fit)."""
    alphas = np.asarray(alphas, dtype=float)
    features = power_features(x, degree)
    z = Scaler.fit(features).transform(features)
    yc = y - np.mean(y)
    coefs = np.zeros((len(alphas), degree))
    converged = np.ones(len(alphas), dtype=bool)
    if penalty == "none":
        coef, _, _ = solve_centred(z, yc, "none", 0.0, l1_ratio)
        coefs[:] = coef
        return coefs, converged
    if penalty == "ridge":
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        uty = u.T @ yc
        factors = s[None, :] / (s[None, :] ** 2 + alphas[:, None])
        return (factors * uty[None, :]) @ vt, converged
    warm = None
    for i in np.argsort(-alphas):
        coef, ok, _ = solve_centred(z, yc, penalty, float(alphas[i]), l1_ratio, max_iter, warm=warm)
        coefs[i], converged[i], warm = coef, ok, coef
    return coefs, converged


def bias_variance(predictions: np.ndarray, truth: np.ndarray, noise: float) -> tuple[float, float, float]:
    """(bias², variance, noise²) of fits (resamples, points) at points where the true curve is ``truth``."""
    predictions = np.asarray(predictions, dtype=float)
    mean = predictions.mean(axis=0)
    bias2 = float(np.mean((mean - truth) ** 2))
    variance = float(np.mean((predictions - mean) ** 2))
    return bias2, variance, float(noise) ** 2


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.flags.writeable:
        array = array.copy()
        array.flags.writeable = False
    return array


def _finite_curve(values: np.ndarray) -> np.ndarray:
    """A curve to draw: non-finite values and wild ones clipped to ±CURVE_LIMIT."""
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=CURVE_LIMIT, neginf=-CURVE_LIMIT)
    return np.clip(values, -CURVE_LIMIT, CURVE_LIMIT)


def fit_note(fit: Fit, penalty: str, max_iter: int = MAX_ITER) -> str:
    """What is numerically special about this fit, for the message ('' when nothing)."""
    if not fit.converged:
        return f"{penalty}: coordinate descent did not converge within {max_iter} iterations (coefficients approximate)"
    if penalty == "none" and fit.condition > ILL_CONDITIONED:
        return (f"ill-conditioned: the features' condition number is {fit.condition:.1e}; the least-squares "
                f"coefficients are unstable (add a penalty)")
    return ""


# -- the simulation -----------------------------------------------------------------------------------
class Simulation:
    def __init__(self, params: Mapping[str, Any], seed: int, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        p = self.params
        self.curve, self.n_train, self.noise = p["curve"], int(p["n_train"]), float(p["noise"])
        self.degree, self.penalty = int(p["degree"]), p["penalty"]
        self.alpha, self.l1_ratio = float(p["alpha"]), float(p["l1_ratio"])
        self.mode = p["mode"]
        self.patience, self.max_epochs = int(p["patience"]), int(p["max_epochs"])

        self.x_grid = _readonly(np.linspace(*X_RANGE, N_GRID))
        self.y_true_grid = _readonly(true_curve(self.curve, self.x_grid))
        x_test, y_test = test_draw(self.curve, self.noise, self.seed)
        self.x_test, self.y_test = _readonly(x_test), _readonly(y_test)
        self.f_test = true_curve(self.curve, self.x_test)
        x, y = training_draw(self.curve, self.n_train, self.noise, self.seed, 0)
        self.x_first, self.y_first = _readonly(x), _readonly(y)
        first = fit_model(x, y, self.degree, self.penalty, self.alpha, self.l1_ratio)
        self.cv_rmse, cv_converged = cv_rmse(x, y, self.degree, self.penalty, self.alpha, self.l1_ratio, self.seed)
        self.cv_note = "" if cv_converged else \
            f"a cross-validation fold did not converge within {MAX_ITER} iterations"
        if self.mode == "early_stopping":
            self._init_early_stopping(x, y)
        else:
            self._s = self._resample_state(0, x, y, first, None)

    # -- resampling ------------------------------------------------------------------------------
    def _resample_state(self, r: int, x: np.ndarray, y: np.ndarray, fit: Fit, previous: dict | None) -> dict:
        grid = _finite_curve(fit.predict(self.x_grid))
        test_prediction = _finite_curve(fit.predict(self.x_test))
        curve = grid.astype(np.float32)[None, :]
        bundle = curve if previous is None else np.concatenate([previous["bundle"], curve])
        test_mse = float(np.mean((test_prediction - self.y_test) ** 2))
        if previous is None:
            sum_pred, sum_sq, mse_sum = test_prediction, test_prediction ** 2, test_mse
        else:
            sum_pred = previous["sum_pred"] + test_prediction
            sum_sq = previous["sum_sq"] + test_prediction ** 2
            mse_sum = previous["mse_sum"] + test_mse
        count = r + 1
        mean = sum_pred / count
        bias2 = float(np.mean((mean - self.f_test) ** 2))
        variance = float(max(0.0, np.mean(sum_sq / count - mean ** 2)))
        train_prediction = fit.predict(x)
        return {
            "step": r, "calls": 0 if previous is None else previous["calls"], "x_train": _readonly(x), "y_train": _readonly(y), "fit": fit,
            "y_fit_grid": _readonly(grid), "bundle": _readonly(bundle),
            "sum_pred": _readonly(sum_pred), "sum_sq": _readonly(sum_sq), "mse_sum": mse_sum,
            "train_rmse": rmse(train_prediction, y), "test_rmse": math.sqrt(test_mse),
            "bias2": bias2, "variance": variance, "expected_test_mse": mse_sum / count,
        }

    # -- early stopping --------------------------------------------------------------------------
    def _init_early_stopping(self, x: np.ndarray, y: np.ndarray) -> None:
        n_val = self.n_train
        x_val, y_val = validation_draw(self.curve, n_val, self.noise, self.seed)
        self.x_val, self.y_val = _readonly(x_val), _readonly(y_val)
        features = legendre_features(x, self.degree)
        self.es_scaler = Scaler.fit(features)
        self.z_train = self.es_scaler.transform(features)
        self.z_val = self.es_scaler.transform(legendre_features(x_val, self.degree))
        self.z_grid = self.es_scaler.transform(legendre_features(self.x_grid, self.degree))
        self.z_test = self.es_scaler.transform(legendre_features(self.x_test, self.degree))
        self.es_intercept = float(np.mean(y))
        self.yc_train = y - self.es_intercept
        largest = np.linalg.svd(self.z_train, compute_uv=False)[0] ** 2 / len(x) if len(x) else 1.0
        self.learning_rate = 1.0 / largest if largest > 0 else 1.0
        w = np.zeros(self.degree)
        train_loss, val_loss = self._losses(w)
        self._s = {"step": 0, "calls": 0, "w": _readonly(w), "best_w": _readonly(w), "best_epoch": 0, "best_val": val_loss,
                   "train_history": _readonly(np.array([train_loss], dtype=np.float32)),
                   "val_history": _readonly(np.array([val_loss], dtype=np.float32)), "stopped": ""}

    def _losses(self, w: np.ndarray) -> tuple[float, float]:
        train = float(np.mean((self.z_train @ w - self.yc_train) ** 2))
        val = float(np.mean((self.es_intercept + self.z_val @ w - self.y_val) ** 2))
        return train, val

    def _epoch(self) -> None:
        s = dict(self._s)
        w = np.array(s["w"])
        gradient = self.z_train.T @ (self.z_train @ w - self.yc_train) / len(self.yc_train)
        w = w - self.learning_rate * gradient
        train_loss, val_loss = self._losses(w)
        s["step"] += 1
        s["w"] = _readonly(w)
        s["train_history"] = _readonly(np.append(s["train_history"], np.float32(train_loss)))
        s["val_history"] = _readonly(np.append(s["val_history"], np.float32(val_loss)))
        if val_loss < s["best_val"]:
            s["best_val"], s["best_epoch"], s["best_w"] = val_loss, s["step"], s["w"]
        if not np.isfinite(train_loss):
            s["stopped"] = "gradient descent diverged"
        elif s["step"] - s["best_epoch"] >= self.patience:
            s["stopped"] = (f"stopped early at epoch {s['step']}: no better validation loss for {self.patience} "
                            f"epochs; best epoch {s['best_epoch']}")
        elif s["step"] >= self.max_epochs:
            s["stopped"] = f"reached {self.max_epochs} epochs; best epoch {s['best_epoch']}"
        self._s = s

    # -- the contract ------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        if self.mode == "early_stopping":
            return bool(self._s["stopped"])
        return self._s["step"] >= MAX_RESAMPLES - 1

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Every parameter starts a new run (none is live)."""
        self.params = dict(params)

    def step(self, coarse: bool = False) -> Frame:
        """One resample (or epoch); coarse: ten of them as one frame. The frame counter advances by one."""
        if self.done:
            return self.frame()
        count = 10 if coarse else 1
        calls = self._s["calls"] + 1
        for _ in range(count):
            if self.done:
                break
            if self.mode == "early_stopping":
                self._epoch()
            else:
                r = self._s["step"] + 1
                x, y = training_draw(self.curve, self.n_train, self.noise, self.seed, r)
                fit = fit_model(x, y, self.degree, self.penalty, self.alpha, self.l1_ratio)
                self._s = self._resample_state(r, x, y, fit, self._s)
        self._s = dict(self._s, calls=calls)
        return self.frame()

    def frame(self) -> Frame:
        s = self._s
        base = {
            "mode": self.mode, "curve": self.curve, "degree": self.degree, "penalty": self.penalty,
            "alpha": self.alpha, "l1_ratio": self.l1_ratio, "noise": self.noise,
            "x_grid": self.x_grid, "y_true_grid": self.y_true_grid, "x_test": self.x_test, "y_test": self.y_test,
            "cv_rmse": self.cv_rmse, "seed": self.seed,
        }
        if self.mode == "early_stopping":
            w = s["w"]
            grid = _finite_curve(self.es_intercept + self.z_grid @ w)
            best_grid = _finite_curve(self.es_intercept + self.z_grid @ s["best_w"])
            train_loss = float(s["train_history"][-1])
            test_rmse = rmse(self.es_intercept + self.z_test @ w, self.y_test)
            data = dict(base, **{
                "x_train": self.x_first, "y_train": self.y_first, "x_val": self.x_val, "y_val": self.y_val,
                "y_fit_grid": _readonly(grid), "y_best_grid": _readonly(best_grid),
                "coef": w, "intercept": self.es_intercept, "epoch": s["step"],
                "train_history": s["train_history"], "val_history": s["val_history"],
                "best_epoch": s["best_epoch"], "best_val_loss": float(s["best_val"]),
                "train_rmse": math.sqrt(max(train_loss, 0.0)), "test_rmse": test_rmse,
                "learning_rate": float(self.learning_rate), "patience": self.patience,
            })
            message = s["stopped"] or f"epoch {s['step']}: best validation loss at epoch {s['best_epoch']}"
            return Frame(s["calls"], data, state=s, message=message, done=self.done)
        fit: Fit = s["fit"]
        count = s["step"] + 1
        data = dict(base, **{
            "x_train": s["x_train"], "y_train": s["y_train"], "y_fit_grid": s["y_fit_grid"],
            "coef": _readonly(fit.coef), "intercept": fit.intercept,
            "feature_mean": _readonly(fit.scaler.mean), "feature_scale": _readonly(fit.scaler.scale),
            "n_zero": int(np.sum(fit.coef == 0.0)), "converged": bool(fit.converged),
            "condition_number": float(min(fit.condition, 1e300)),
            "train_rmse": s["train_rmse"], "test_rmse": s["test_rmse"],
            "bundle": s["bundle"], "n_resamples": count,
            "bias2": s["bias2"], "variance": s["variance"], "noise_variance": self.noise ** 2,
            "expected_test_mse": s["expected_test_mse"],
        })
        notes = [n for n in (fit_note(fit, self.penalty), self.cv_note) if n]
        if notes:
            message = "; ".join(notes)
        elif count < 2:
            message = "step to refit on fresh training draws: the bundle and the bias² / variance estimate grow"
        else:
            message = (f"{count} fits: bias² {s['bias2']:.3g} + variance {s['variance']:.3g} + noise "
                       f"{self.noise ** 2:.3g} vs measured test MSE {s['expected_test_mse']:.3g}")
        if self.done:
            message = f"{MAX_RESAMPLES} resamples drawn; " + message
        return Frame(s["calls"], data, state=s, message=message, done=self.done)

    def restore(self, frame: Frame) -> None:
        self._s = dict(frame.state)
