"""The regularization scene's heavy derived curves (pure NumPy / scikit-learn; the view's ``prepare``
runs them in a worker): the regularization path, train / test / 5-fold CV error against degree and
against alpha, and learning curves. All on the run's first training draw and its test set, so the
current setting's point on every curve is the one the main plot shows."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from scenes.regularization import sim as S

#: The path and the error-vs-alpha curves: 46 alphas, 5 per decade over the slider's range.
ALPHAS = np.logspace(-6, 3, 46)
DEGREES = np.arange(1, S.MAX_DEGREE + 1)
#: Learning curves: training-set sizes from 5 to 200 (log spaced), each the mean of this many draws.
LEARNING_SIZES = np.unique(np.round(np.logspace(np.log10(5), np.log10(200), 12)).astype(int))
LEARNING_REPEATS = 6
#: The path's coordinate descent stops earlier than a single fit's (many alphas in one worker job).
PATH_MAX_ITER = 1000


def prepare_key(params: Mapping[str, Any], seed: int) -> tuple:
    return (params["curve"], int(params["n_train"]), float(params["noise"]), int(params["degree"]),
            params["penalty"], float(params["alpha"]), float(params["l1_ratio"]), int(seed))


def _errors_for_alphas(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, degree: int,
                       penalty: str, l1_ratio: float, seed: int) -> dict[str, np.ndarray]:
    """Path coefficients, train / test / CV RMSE at every alpha, from one path per fold."""
    coefs, converged = S.regularization_path(x, y, degree, penalty, ALPHAS, l1_ratio, PATH_MAX_ITER)
    features = S.power_features(x, degree)
    scaler = S.Scaler.fit(features)
    z, z_test = scaler.transform(features), scaler.transform(S.power_features(x_test, degree))
    intercept = float(np.mean(y))
    train = np.sqrt(np.mean((intercept + z @ coefs.T - y[:, None]) ** 2, axis=0))
    test = np.sqrt(np.mean((intercept + z_test @ coefs.T - y_test[:, None]) ** 2, axis=0))
    squared = np.zeros(len(ALPHAS))
    n = len(x)
    for held in S.fold_indices(n, S.CV_FOLDS, seed):
        keep = np.ones(n, dtype=bool)
        keep[held] = False
        if keep.sum() < 2:
            continue
        fold_coefs, fold_ok = S.regularization_path(x[keep], y[keep], degree, penalty, ALPHAS, l1_ratio,
                                                    PATH_MAX_ITER)
        converged &= fold_ok
        f_features = S.power_features(x[keep], degree)
        f_scaler = S.Scaler.fit(f_features)
        z_held = f_scaler.transform(S.power_features(x[held], degree))
        prediction = float(np.mean(y[keep])) + z_held @ fold_coefs.T
        squared += np.sum((prediction - y[held][:, None]) ** 2, axis=0)
    return {"alphas": ALPHAS, "path": coefs, "path_converged": converged, "alpha_train": train,
            "alpha_test": test, "alpha_cv": np.sqrt(squared / n)}


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values), np.minimum(values, S.CURVE_LIMIT), S.CURVE_LIMIT)


def prepare(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Every derived curve for these parameters (see the module docstring)."""
    curve, n_train, noise = params["curve"], int(params["n_train"]), float(params["noise"])
    degree, penalty = int(params["degree"]), params["penalty"]
    alpha, l1_ratio = float(params["alpha"]), float(params["l1_ratio"])
    x, y = S.training_draw(curve, n_train, noise, seed, 0)
    x_test, y_test = S.test_draw(curve, noise, seed)
    result: dict[str, Any] = {"key": prepare_key(params, seed), "degrees": DEGREES}

    # Error against degree (at the current penalty and alpha).
    train, test, cv = (np.empty(len(DEGREES)) for _ in range(3))
    converged = True
    for i, d in enumerate(DEGREES):
        fit = S.fit_model(x, y, int(d), penalty, alpha, l1_ratio, PATH_MAX_ITER)
        converged &= fit.converged
        train[i] = S.rmse(fit.predict(x), y)
        test[i] = S.rmse(fit.predict(x_test), y_test)
        cv[i], ok = S.cv_rmse(x, y, int(d), penalty, alpha, l1_ratio, seed, max_iter=PATH_MAX_ITER)
        converged &= ok
    result.update(degree_train=_finite(train), degree_test=_finite(test), degree_cv=_finite(cv),
                  degree_converged=bool(converged))

    # Path and error against alpha (at the current degree); none for least squares.
    if penalty == "none":
        result.update(alphas=ALPHAS, path=np.zeros((0, degree)), path_converged=np.zeros(0, dtype=bool),
                      alpha_train=np.zeros(0), alpha_test=np.zeros(0), alpha_cv=np.zeros(0))
    else:
        errors = _errors_for_alphas(x, y, x_test, y_test, degree, penalty, l1_ratio, seed)
        errors["path"] = np.clip(np.nan_to_num(errors["path"]), -S.CURVE_LIMIT, S.CURVE_LIMIT)
        for key in ("alpha_train", "alpha_test", "alpha_cv"):
            errors[key] = _finite(errors[key])
        result.update(errors)

    # Learning curves: fresh draws of each size; validation on the test set.
    sizes = LEARNING_SIZES
    learn_train, learn_val = np.zeros(len(sizes)), np.zeros(len(sizes))
    for i, size in enumerate(sizes):
        for repeat in range(LEARNING_REPEATS):
            xs, ys = S.draw(curve, int(size), noise, np.random.default_rng([seed, 5, int(size), repeat]))
            fit = S.fit_model(xs, ys, degree, penalty, alpha, l1_ratio, PATH_MAX_ITER)
            learn_train[i] += np.mean((fit.predict(xs) - ys) ** 2)
            prediction = np.clip(np.nan_to_num(fit.predict(x_test)), -S.CURVE_LIMIT, S.CURVE_LIMIT)
            learn_val[i] += np.mean((prediction - y_test) ** 2)
    result.update(learning_sizes=sizes, learning_train=_finite(np.sqrt(learn_train / LEARNING_REPEATS)),
                  learning_validation=_finite(np.sqrt(learn_val / LEARNING_REPEATS)))
    result["best_degree"] = int(DEGREES[int(np.argmin(result["degree_cv"]))])
    result["best_alpha"] = float(ALPHAS[int(np.argmin(result["alpha_cv"]))]) if len(result["alpha_cv"]) else None
    return result
