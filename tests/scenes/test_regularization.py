"""Regularization scene (simulation and maths): coefficients against scikit-learn's Ridge, Lasso and
ElasticNet on scikit-learn's own PolynomialFeatures + StandardScaler features, the path against direct
fits, the Lasso's exact zeros, bias² + variance + noise against the measured test error, gradient
descent against least squares, ill-conditioned fits as states, and the timeline (exact restore)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.session import Session, frame_to_jsonable
from scenes.regularization import PARAMS, PRESETS, SCENE
from scenes.regularization import sim as S
from tests.strategies import param_space


def params(**overrides):
    return SCENE.resolve(overrides)


def sklearn_features(x_train, x_other, degree):
    """Standardised polynomial features built by scikit-learn alone (the independent truth)."""
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler
    poly = PolynomialFeatures(degree, include_bias=False)
    train = poly.fit_transform(x_train[:, None])
    scaler = StandardScaler().fit(train)
    return scaler.transform(train), scaler.transform(poly.transform(x_other[:, None]))


def sklearn_model(penalty, alpha, l1_ratio=0.5, tol=S.CD_TOL, max_iter=S.MAX_ITER):
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
    if penalty == "ridge":
        return Ridge(alpha=alpha, solver="svd")
    if penalty == "lasso":
        return Lasso(alpha=alpha, tol=tol, max_iter=max_iter)
    if penalty == "elasticnet":
        return ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=tol, max_iter=max_iter)
    return LinearRegression()


def data(n=30, noise=0.3, seed=0, curve="sine"):
    return S.training_draw(curve, n, noise, seed, 0)


# -- the maths against scikit-learn ----------------------------------------------------------------
def test_features_and_scaler_equal_polynomial_features_and_standard_scaler():
    x, _ = data()
    z_sk, _ = sklearn_features(x, x, 7)
    features = S.power_features(x, 7)
    np.testing.assert_allclose(S.Scaler.fit(features).transform(features), z_sk, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("degree, alpha", [(1, 1e-3), (3, 0.1), (9, 1.0), (15, 1e-4), (20, 1e-6), (12, 1e3)])
def test_ridge_coefficients_and_predictions_equal_sklearn_ridge(degree, alpha):
    x, y = data(n=25)
    z, z_grid = sklearn_features(x, np.linspace(-1, 1, 50), degree)
    model = sklearn_model("ridge", alpha).fit(z, y)
    fit = S.fit_model(x, y, degree, "ridge", alpha)
    # Tolerance grows with the conditioning: both are exact SVD solutions of the same problem.
    scale = max(1.0, np.abs(model.coef_).max())
    np.testing.assert_allclose(fit.coef, model.coef_, rtol=1e-6, atol=1e-8 * scale * fit.condition ** 0.5)
    assert fit.intercept == pytest.approx(model.intercept_, abs=1e-10)
    np.testing.assert_allclose(fit.predict(np.linspace(-1, 1, 50)), model.predict(z_grid), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("penalty, degree, alpha, l1_ratio", [
    ("lasso", 3, 0.01, 1.0), ("lasso", 9, 0.003, 1.0), ("lasso", 15, 0.05, 1.0), ("lasso", 5, 1.0, 1.0),
    ("elasticnet", 4, 0.01, 0.5), ("elasticnet", 10, 0.02, 0.2), ("elasticnet", 15, 0.1, 0.9),
])
def test_lasso_and_elasticnet_coefficients_and_zeros_equal_sklearn(penalty, degree, alpha, l1_ratio):
    x, y = data(n=40)
    z, _ = sklearn_features(x, x, degree)
    # scikit-learn run to a tight tolerance: the truth our CD_TOL fit must be close to.
    model = sklearn_model(penalty, alpha, l1_ratio, tol=1e-10, max_iter=200_000).fit(z, y)
    fit = S.fit_model(x, y, degree, penalty, alpha, l1_ratio)
    assert fit.converged
    assert fit.intercept == pytest.approx(model.intercept_, abs=1e-10)
    np.testing.assert_allclose(fit.coef, model.coef_, atol=5e-3 * max(1.0, np.abs(model.coef_).max()))
    # Same settings as ours (CD_TOL): the same iterates, so equal to round-off and zero exactly where it is.
    same = sklearn_model(penalty, alpha, l1_ratio).fit(z, y)
    np.testing.assert_allclose(fit.coef, same.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(fit.coef == 0.0, same.coef_ == 0.0)
    if penalty == "lasso" and degree >= 9:
        assert (fit.coef == 0.0).sum() >= degree // 3  # the Lasso is sparse here


def test_no_penalty_is_least_squares():
    x, y = data(n=30)
    z, _ = sklearn_features(x, x, 5)
    model = sklearn_model("none", 0).fit(z, y)
    fit = S.fit_model(x, y, 5, "none")
    np.testing.assert_allclose(fit.coef, model.coef_, rtol=1e-8, atol=1e-8)
    assert fit.intercept == pytest.approx(model.intercept_, abs=1e-10)
    # Under-determined (degree 20, 8 points): the minimum-norm interpolant, as numpy's lstsq.
    x, y = data(n=8)
    fit = S.fit_model(x, y, 20, "none")
    features = S.power_features(x, 20)
    zc = S.Scaler.fit(features).transform(features)
    expected = np.linalg.lstsq(zc, y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(fit.coef, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.predict(x), y, atol=1e-6)


def enet_objective(z, yc, coef, alpha, l1_ratio):
    """scikit-learn's ElasticNet objective (the Lasso at l1_ratio 1)."""
    n = len(yc)
    return (np.sum((yc - z @ coef) ** 2) / (2 * n) + alpha * l1_ratio * np.abs(coef).sum()
            + 0.5 * alpha * (1 - l1_ratio) * np.sum(coef ** 2))


@pytest.mark.parametrize("penalty, l1_ratio, degree", [("ridge", 0.5, 8), ("ridge", 0.5, 20), ("lasso", 1.0, 8),
                                                       ("elasticnet", 0.3, 8), ("lasso", 1.0, 4)])
def test_path_at_every_alpha_equals_a_direct_fit(penalty, l1_ratio, degree):
    x, y = data(n=40)
    alphas = np.logspace(-4, 2, 13)
    coefs, converged = S.regularization_path(x, y, degree, penalty, alphas, l1_ratio)
    assert coefs.shape == (13, degree)
    z, _ = sklearn_features(x, x, degree)
    yc = y - y.mean()
    compared = 0
    for alpha, coef, ok in zip(alphas, coefs, converged):
        direct = S.fit_model(x, y, degree, penalty, alpha, l1_ratio)
        if not (ok and direct.converged):
            continue  # (the smallest alphas at degree 8 may need more than MAX_ITER iterations: said in the frame)
        compared += 1
        if penalty == "ridge":
            np.testing.assert_allclose(coef, direct.coef, rtol=1e-9, atol=1e-9 * max(1, np.abs(direct.coef).max()))
            continue
        # Warm (path) and cold (direct) coordinate descent both stop once the duality gap is below
        # CD_TOL·||yc||² (scikit-learn's criterion, on n times the objective): their objectives differ
        # by at most that much over n, however flat the objective is along collinear features.
        bound = S.CD_TOL * np.sum(yc ** 2) / len(yc)
        assert abs(enet_objective(z, yc, coef, alpha, l1_ratio) - enet_objective(z, yc, direct.coef, alpha, l1_ratio)) \
            <= bound
        if degree <= 4:  # well conditioned: the coefficients themselves agree
            np.testing.assert_allclose(coef, direct.coef, atol=5e-3)
            np.testing.assert_array_equal(coef == 0, direct.coef == 0)
    assert compared >= 10
    # Larger alpha, smaller coefficients (the L2 norm for Ridge, the count of non-zeros for the Lasso).
    if penalty == "ridge":
        assert np.all(np.diff(np.linalg.norm(coefs, axis=1)) < 0)
    if penalty == "lasso":
        assert (coefs[-1] == 0).sum() > (coefs[0] == 0).sum()


def test_cv_rmse_equals_sklearn_cross_validation_on_the_same_folds():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler
    x, y = data(n=40)
    folds = S.fold_indices(40, 5, seed=3)
    squared = 0.0
    for held in folds:
        keep = np.setdiff1d(np.arange(40), held)
        pipe = make_pipeline(PolynomialFeatures(6, include_bias=False), StandardScaler(), Ridge(alpha=0.01))
        pipe.fit(x[keep, None], y[keep])
        squared += np.sum((pipe.predict(x[held, None]) - y[held]) ** 2)
    value, ok = S.cv_rmse(x, y, 6, "ridge", 0.01, 0.5, seed=3)
    assert ok and value == pytest.approx(math.sqrt(squared / 40), rel=1e-9)


# -- bias² + variance + noise ---------------------------------------------------------------------------
@pytest.mark.parametrize("degree, penalty, alpha", [(1, "none", 0.0), (5, "ridge", 0.01), (12, "ridge", 1e-4)])
def test_bias2_plus_variance_plus_noise_matches_the_measured_expected_test_error(degree, penalty, alpha):
    """Many resamples, each measured on fresh test noise. With ddof 0, bias² + variance is exactly the
    mean of (p - f)² over resamples and test points, so the measured mean of (f + σε - p)² differs from
    bias² + variance + σ² only by σ²·mean(ε² - 1) + 2σ·mean(ε(f - p)): mean zero, with a standard error
    we compute from the same samples. The tolerance is 5 of those standard errors (a false alarm once
    in ~1.7 million runs)."""
    noise, n, resamples, m = 0.3, 25, 800, 100
    rng = np.random.default_rng(7)
    x_test = rng.uniform(-1, 1, m)
    f = S.true_curve("sine", x_test)
    predictions = np.empty((resamples, m))
    errors = np.empty((resamples, m))
    for r in range(resamples):
        x, y = S.training_draw("sine", n, noise, 11, r)
        predictions[r] = S.fit_model(x, y, degree, penalty, alpha).predict(x_test)
        errors[r] = f + noise * rng.standard_normal(m) - predictions[r]
    bias2, variance, noise2 = S.bias_variance(predictions, f, noise)
    measured = np.mean(errors ** 2)
    terms = errors ** 2 - (predictions - f) ** 2 - noise2  # σ²(ε² - 1) + 2σε(f - p): mean zero
    standard_error = terms.std() / math.sqrt(terms.size)
    assert abs(measured - (bias2 + variance + noise2)) < 5 * standard_error
    assert abs(measured - (bias2 + variance + noise2)) < 0.05 * measured  # and small against it
    if degree == 1:
        assert bias2 > 5 * variance  # the straight line underfits: bias dominates
    if degree == 12:
        assert variance > bias2  # little penalty at degree 12: variance dominates


def test_the_simulations_decomposition_matches_its_measured_test_error_over_all_resamples():
    """The frame's estimate from the run's resamples against the run's own measured mean test MSE on the
    fixed test set (fixed noise ε_i): the difference is σ²·mean_i(ε_i² - 1) + 2σ·mean_i ε_i (f_i - p̄_i),
    whose standard deviation is sqrt((2σ⁴ + 4σ²·bias²) / N_TEST); tolerance 5 of those."""
    sim = S.Simulation(params(degree=4, penalty="ridge", alpha=0.01, noise=0.3, n_train=30), seed=5)
    frame = sim.frame()
    while not frame.done:
        frame = sim.step()
    d = frame.data
    assert d["n_resamples"] == S.MAX_RESAMPLES and d["bundle"].shape == (S.MAX_RESAMPLES, S.N_GRID)
    total = d["bias2"] + d["variance"] + d["noise_variance"]
    sigma2 = d["noise_variance"]
    tolerance = 5 * math.sqrt((2 * sigma2 ** 2 + 4 * sigma2 * d["bias2"]) / S.N_TEST)
    assert abs(d["expected_test_mse"] - total) < tolerance


def test_each_step_refits_a_fresh_draw_and_the_bundle_grows():
    sim = S.Simulation(params(degree=6), seed=1)
    first = sim.frame()
    assert first.data["bundle"].shape == (1, S.N_GRID) and first.data["variance"] == 0.0
    second = sim.step()
    assert second.step == 1 and second.data["bundle"].shape == (2, S.N_GRID)
    assert not np.array_equal(first.data["x_train"], second.data["x_train"])
    np.testing.assert_array_equal(second.data["bundle"][0], first.data["bundle"][0])
    np.testing.assert_allclose(second.data["bundle"][1], second.data["y_fit_grid"], rtol=1e-6, atol=1e-6)
    x, y = S.training_draw("sine", 30, 0.3, 1, 1)
    direct = S.fit_model(x, y, 6, "ridge", 1e-3)
    np.testing.assert_allclose(second.data["coef"], direct.coef)
    np.testing.assert_allclose(second.data["test_rmse"], S.rmse(direct.predict(sim.x_test), sim.y_test))
    # The data arrays that do not change are shared, not copied.
    assert second.data["x_test"] is first.data["x_test"] and second.data["x_grid"] is first.data["x_grid"]
    coarse = sim.step(coarse=True)
    assert coarse.step == 2 and coarse.data["n_resamples"] == 12 and coarse.data["bundle"].shape[0] == 12


def test_restore_gives_the_exact_frame_again():
    sim = S.Simulation(params(degree=9, penalty="lasso", alpha=0.01), seed=2)
    frames = [sim.frame()] + [sim.step() for _ in range(4)]
    sim.restore(frames[2])
    again = [sim.step(), sim.step()]
    for a, b in zip(again, frames[3:]):
        for key in a.data:
            np.testing.assert_array_equal(np.asarray(a.data[key]), np.asarray(b.data[key]), err_msg=key)


# -- early stopping ---------------------------------------------------------------------------------------
def test_gradient_descent_lowers_the_training_loss_and_converges_to_least_squares():
    sim = S.Simulation(params(mode="early_stopping", degree=3, patience=1000, max_epochs=3000, noise=0.2), seed=0)
    frame = sim.frame()
    while not frame.done:
        frame = sim.step(coarse=True)
    history = np.asarray(frame.data["train_history"], dtype=float)
    # Step 1/L on a convex quadratic: the training loss never rises.
    assert np.all(np.diff(history) <= 1e-6 * history[0])
    # Degree 3 in the Legendre basis is the same function space as the powers: least squares is the limit.
    x, y = frame.data["x_train"], frame.data["y_train"]
    least_squares = S.fit_model(x, y, 3, "none")
    np.testing.assert_allclose(frame.data["y_fit_grid"], least_squares.predict(frame.data["x_grid"]), atol=1e-3)


def test_early_stopping_stops_after_patience_and_marks_the_best_epoch():
    sim = S.Simulation(params(**dict(SCENE.preset("Early stopping").values)), seed=0)
    frame = sim.frame()
    while not frame.done:
        frame = sim.step()
    val = np.asarray(frame.data["val_history"])
    best = frame.data["best_epoch"]
    assert best == int(np.argmin(val)) and frame.data["epoch"] - best in (200, 0) or frame.data["epoch"] == 3000
    assert val[-1] > val[best]  # it overfits after the best epoch
    assert "best epoch" in frame.message
    assert len(val) == frame.data["epoch"] + 1


# -- states, not exceptions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("penalty", ["none", "ridge", "lasso", "elasticnet"])
def test_degree_20_alpha_1e_6_is_a_finite_state_with_a_message(penalty):
    sim = S.Simulation(params(degree=20, alpha=1e-6, penalty=penalty, n_train=15, l1_ratio=0.5), seed=0)
    frames = [sim.frame(), sim.step()]
    for frame in frames:
        for key, value in frame.data.items():
            if isinstance(value, (float, np.ndarray)) and np.asarray(value).dtype.kind == "f":
                assert np.all(np.isfinite(value)), key
    if penalty == "none":
        assert "ill-conditioned" in frames[0].message
    if penalty in ("lasso", "elasticnet"):
        assert f"did not converge within {S.MAX_ITER} iterations" in frames[0].message


def test_presets_are_valid_and_each_runs():
    for preset in PRESETS:
        sim = S.Simulation(params(**dict(preset.values)), seed=0)
        frame = sim.step()
        assert frame.step == 1


def test_overfit_and_ridge_presets_tell_the_story():
    over = S.Simulation(params(**dict(SCENE.preset("Overfit: degree 15, no penalty").values)), seed=0).frame()
    cured = S.Simulation(params(**dict(SCENE.preset("Cured by Ridge").values)), seed=0).frame()
    under = S.Simulation(params(**dict(SCENE.preset("Underfit: a straight line").values)), seed=0).frame()
    assert over.data["train_rmse"] < cured.data["train_rmse"] < under.data["train_rmse"]
    assert cured.data["test_rmse"] < over.data["test_rmse"] and cured.data["test_rmse"] < under.data["test_rmse"]
    lasso = S.Simulation(params(**dict(SCENE.preset("Sparse by Lasso").values)), seed=0).frame()
    assert lasso.data["n_zero"] >= 8


def test_session_json_carries_data_coefficients_and_errors():
    session = Session(SCENE, params(), seed=0)
    session.forward(3)
    data = frame_to_jsonable(session.frame)
    for key in ("x_train", "y_train", "x_test", "y_test", "coef", "intercept", "train_rmse", "test_rmse", "cv_rmse",
                "bias2", "variance", "noise_variance", "bundle"):
        assert key in data, key


# -- hypothesis over the declared space ---------------------------------------------------------------------
# Every parameter over its whole declared range (log parameters uniform in log space, ends included):
# a resample or an epoch is cheap enough that no range needs narrowing.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=param_space(PARAMS, log_scale=True), seed=st.integers(0, 2**31 - 1))
def test_any_declared_parameters_give_finite_frames_with_messages(values, seed):
    sim = S.Simulation(values, seed)
    frames = [sim.frame(), sim.step(), sim.step(coarse=True)]
    for frame in frames:
        for key, value in frame.data.items():
            array = np.asarray(value)
            if array.dtype.kind == "f":
                assert np.all(np.isfinite(array)), key
        assert frame.message
    last = frames[-1].data
    assert last["train_rmse"] >= 0 and last["test_rmse"] >= 0
    if values["mode"] == "resample":
        assert last["bias2"] >= 0 and last["variance"] >= 0 and last["bundle"].shape[1] == S.N_GRID
        assert len(last["coef"]) == values["degree"]


# -- the prepared curves ------------------------------------------------------------------------------------
@pytest.mark.parametrize("penalty", ["none", "ridge", "lasso"])
def test_prepared_curves_are_finite_at_degree_20_and_alpha_1e_6(penalty):
    from scenes.regularization import analysis
    prepared = analysis.prepare(params(degree=20, alpha=1e-6, penalty=penalty, n_train=12), seed=0)
    for key, value in prepared.items():
        array = np.asarray(value)
        if array.dtype.kind == "f":
            assert np.all(np.isfinite(array)), key
    assert len(prepared["degree_test"]) == 20
    if penalty == "none":
        assert prepared["path"].shape == (0, 20)
    else:
        assert prepared["path"].shape == (len(analysis.ALPHAS), 20)


def test_prepared_error_curves_agree_with_direct_fits_and_show_the_u():
    from scenes.regularization import analysis
    values = params(degree=6, penalty="ridge", alpha=1e-3, n_train=30)
    prepared = analysis.prepare(values, seed=4)
    x, y = S.training_draw("sine", 30, 0.3, 4, 0)
    x_test, y_test = S.test_draw("sine", 0.3, 4)
    for degree in (1, 6, 20):
        fit = S.fit_model(x, y, degree, "ridge", 1e-3)
        assert prepared["degree_test"][degree - 1] == pytest.approx(S.rmse(fit.predict(x_test), y_test), rel=1e-9)
        assert prepared["degree_train"][degree - 1] == pytest.approx(S.rmse(fit.predict(x), y), rel=1e-9)
    i = 17  # an alpha of the grid: its errors are those of a direct fit at that alpha
    fit = S.fit_model(x, y, 6, "ridge", float(analysis.ALPHAS[i]))
    assert prepared["alpha_test"][i] == pytest.approx(S.rmse(fit.predict(x_test), y_test), rel=1e-9)
    cv, _ = S.cv_rmse(x, y, 6, "ridge", float(analysis.ALPHAS[i]), 0.5, seed=4)
    assert prepared["alpha_cv"][i] == pytest.approx(cv, rel=1e-9)
    # The bias–variance U: the training error falls with the degree, the CV error is lowest in between.
    train, cv_curve = prepared["degree_train"], prepared["degree_cv"]
    assert np.all(np.diff(train) <= 1e-9 + 1e-3 * train[:-1])
    assert 1 < prepared["best_degree"] < 20 and cv_curve[0] > cv_curve.min() and cv_curve[-1] > cv_curve.min()
