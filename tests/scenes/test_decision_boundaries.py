"""Decision-boundary scene: maps against scikit-learn, staged ensembles, tree splits, UI."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import param_space

import json
import pickle
import time
import warnings

from explorer import datasets
from explorer.session import Session, frame_to_jsonable
from scenes.decision_boundaries import SCENE, models
from scenes.decision_boundaries.models import CLASSIFIERS, STAGED, grid_points, svm_display
from scenes.decision_boundaries.sim import COARSE, FINE, MAX_FIT_POINTS, NO_MODEL, Simulation

SMALL = {"n_samples": 60, "forest_n_estimators": 12, "bagging_n_estimators": 8, "adaboost_n_estimators": 10,
         "gb_n_estimators": 12, "mlp_max_iter": 60}


def truth(sim, points):
    """scikit-learn's own answer for the fitted pipeline (SVM: sigmoid/softmax of decision_function)."""
    if sim.params["classifier"] == "svm":
        return svm_display(sim.pipe.decision_function(points), len(sim.classes))
    return sim.pipe.predict_proba(points)


def as_rows(grid):
    return np.asarray(grid).reshape(grid.shape[0], -1).T


@pytest.mark.parametrize("dataset", ["moons", "blobs"])
@pytest.mark.parametrize("cid", CLASSIFIERS)
def test_last_stage_map_equals_scikit_learn(cid, dataset):
    session = Session(SCENE, {**SMALL, "classifier": cid, "dataset": dataset, "n_classes": 3})
    sim = session.simulation
    assert sim.ok, session.frame.message
    session.forward(1000)
    frame = session.frame
    assert frame.done and frame.step == sim.n_stages - 1
    if cid not in STAGED:
        assert sim.n_stages == 1
    extent = tuple(frame.data["extent"])
    expected = truth(sim, grid_points(extent, COARSE))
    np.testing.assert_allclose(as_rows(frame.data["proba"]), expected, atol=1e-5)
    fine = frame.state.refiner.grid(frame.state.stage)
    assert fine.shape[1:] == (FINE, FINE)
    np.testing.assert_allclose(as_rows(fine), truth(sim, grid_points(extent, FINE)), atol=1e-5)
    # Accuracy and predictions of the final stage are the model's: scikit-learn's score on the exact split.
    x, labels, test = frame.data["x"], frame.data["labels"], frame.data["test"]
    predicted = sim.pipe.predict(x)
    np.testing.assert_array_equal(frame.data["predicted"], predicted)
    assert frame.data["fitted"].sum() == (~test).sum()  # small data: every training point is fitted
    assert frame.data["train_accuracy"] == pytest.approx(sim.pipe.score(x[~test], labels[~test]), abs=1e-12)
    assert frame.data["test_accuracy"] == pytest.approx(sim.pipe.score(x[test], labels[test]), abs=1e-12)
    assert frame.data["score_kind"] == models.score_kind(cid)
    assert ("not a calibrated probability" in frame.data["score_kind"]) == (cid == "svm")


def test_svm_display_is_the_sigmoid_and_never_overflows():
    import warnings
    decision = np.array([-1e6, -800.0, -3.0, -0.5, 0.0, 0.5, 3.0, 800.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would be a RuntimeWarning
        shown = svm_display(decision, 2)
    assert np.all(np.isfinite(shown))
    np.testing.assert_allclose(shown.sum(axis=1), 1.0)
    moderate = np.abs(decision) < 10
    np.testing.assert_allclose(shown[moderate, 1], 1.0 / (1.0 + np.exp(-2.0 * decision[moderate])), rtol=1e-12)
    np.testing.assert_array_equal(shown[[0, -1], 1], [0.0, 1.0])


def test_forest_stage_k_is_the_average_of_its_first_k_trees():
    session = Session(SCENE, {**SMALL, "classifier": "random_forest"})
    session.forward(2)
    sim, frame = session.simulation, session.frame
    points = grid_points(tuple(frame.data["extent"]), COARSE)
    z = sim.pipe[0].transform(points)
    expected = np.mean([tree.predict_proba(z) for tree in sim.pipe[-1].estimators_[:3]], axis=0)
    np.testing.assert_allclose(as_rows(frame.data["proba"]), expected, atol=1e-6)


def test_boosting_stage_k_matches_staged_predict_proba_and_steps_reuse_the_fit():
    session = Session(SCENE, {**SMALL, "classifier": "gradient_boosting"})
    sim = session.simulation
    points = grid_points(sim.extent, COARSE)
    stages = list(sim.pipe[-1].staged_predict_proba(sim.pipe[0].transform(points)))
    estimators = sim.pipe[-1].estimators_
    for k in range(4):
        np.testing.assert_allclose(as_rows(session.frame.data["proba"]), stages[k], atol=1e-6)
        session.forward()
    assert session.simulation.pipe[-1].estimators_ is estimators  # never refitted
    # Stepping back gives the same earlier frame.
    back = session.back()
    np.testing.assert_array_equal(back.data["proba"], np.asarray(stages[3], np.float32).T.reshape(-1, COARSE, COARSE))


def test_tree_split_lines_equal_the_fitted_thresholds():
    session = Session(SCENE, {"classifier": "tree", "dataset": "xor", "tree_max_depth": 5, "n_samples": 150})
    sim = session.simulation
    tree, scaler = sim.pipe[-1].tree_, sim.pipe[0]
    assert len(session.frame.data["splits"]) == 0  # level 0: only the root
    session.forward(1000)
    segments = session.frame.data["splits"]
    internal = tree.children_left >= 0
    assert len(segments) == internal.sum()
    drawn = {0: [], 1: []}
    for x0, y0, x1, y1 in segments:
        feature = 0 if x0 == x1 else 1
        value = x0 if feature == 0 else y0
        drawn[feature].append((value - scaler.mean_[feature]) / scaler.scale_[feature])
    for feature in (0, 1):
        expected = np.sort(tree.threshold[internal & (tree.feature == feature)])
        np.testing.assert_allclose(np.sort(drawn[feature]), expected, atol=1e-9)
    # One level more of splits per step.
    session.seek(1)
    assert len(session.frame.data["splits"]) == 1


def test_bad_user_data_is_a_message_not_an_exception():
    for data, word in [({"x": [[0, 0]], "labels": [0]}, "at least 4"),
                       ({"x": [[0, 0], [1, 0], [0, 1], [1, 1]], "labels": [2, 2, 2, 2]}, "one class"),
                       ({"x": "garbage", "labels": 3}, "")]:
        frame = Simulation(SCENE.resolve(), 0, data=data).frame()
        assert frame.message and word in frame.message
        assert frame.done and not np.isfinite(frame.data["train_accuracy"])


def test_user_points_are_used():
    x = [[0, 0], [0, 1], [1, 0], [1, 1], [3, 3], [3, 4], [4, 3], [4, 4]]
    sim = Simulation(SCENE.resolve({"classifier": "knn", "knn_k": 1}), 0, data={"x": x, "labels": [0] * 4 + [1] * 4})
    frame = sim.frame()
    np.testing.assert_array_equal(frame.data["x"], x)
    assert frame.data["test_accuracy"] == 1.0


# -- bounded fits ----------------------------------------------------------------------------------
NEVER_ENDING_SVM = {"dataset": "spiral", "n_samples": 999, "noise": 1.0, "classifier": "svm", "svm_kernel": "poly",
                    "svm_gamma": 100.0, "svm_degree": 4, "svm_C": 6.9}


def test_svm_that_never_finished_stops_at_its_iteration_budget_and_says_so():
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        started = time.perf_counter()
        session = Session(SCENE, NEVER_ENDING_SVM)
        elapsed = time.perf_counter() - started
    assert leaked == []  # the ConvergenceWarning is a message, never a warning into the log
    sim, frame = session.simulation, session.frame
    n_train = int((~frame.data["test"]).sum())
    svc = sim.pipe[-1]
    # libsvm's own default (max_iter=-1) never ends here; the budget is iterations x points <= 2e7.
    assert 0 < svc.max_iter and svc.max_iter * n_train <= 2.0e7
    assert np.all(svc.n_iter_ == svc.max_iter)  # every binary problem used its whole budget
    assert f"did not converge within {svc.max_iter:,} iterations" in frame.message
    assert len(frame.data["classes"]) == 3 and np.isfinite(frame.data["train_accuracy"])  # a map, still
    assert elapsed < 60
    session.set_params({"svm_kernel": "rbf", "svm_gamma": 1.0})  # the next change recovers
    assert "did not converge" not in session.frame.message and session.simulation.pipe[-1].n_iter_.max() < 20000


def test_mlp_logistic_and_gaussian_process_have_budgets_and_say_when_they_run_out():
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        mlp = Session(SCENE, {**SMALL, "classifier": "mlp", "mlp_max_iter": 5}).simulation
        saga = Session(SCENE, {**SMALL, "classifier": "logistic", "logistic_penalty": "l1", "logistic_C": 1000.0,
                               "logistic_degree": 6, "n_samples": 400, "noise": 1.0}).simulation
        gp = Session(SCENE, {**SMALL, "classifier": "gaussian_process", "dataset": "blobs"}).simulation
    assert leaked == []
    assert mlp.pipe[-1].n_iter_ == 5 and "did not converge within 5 epochs" in mlp.frame().message
    lr = saga.pipe[-1]
    assert lr.max_iter == models.logistic_max_iter(280, 27) and lr.max_iter * 280 * 27 <= 1e8 + 280 * 27 * 50
    assert (np.max(lr.n_iter_) >= lr.max_iter) == (f"did not converge within {lr.max_iter:,}" in saga.frame().message)
    optimizers = [e.optimizer for e in gp.pipe[-1].base_estimator_.estimators_]  # one-vs-rest, 3 classes
    assert len(optimizers) == 3 and all(o.maxiter == models.GP_OPTIMIZER_MAXITER for o in optimizers)
    assert all(0 < o.iterations <= models.GP_OPTIMIZER_MAXITER for o in optimizers)
    assert gp.pipe[-1].n_restarts_optimizer == 0


def test_big_forest_on_the_fuzzed_spiral_is_bounded():
    session = Session(SCENE, {"dataset": "spiral", "n_samples": 999, "noise": 1.0, "classifier": "random_forest",
                              "forest_n_estimators": 200})
    p, n_train = session.params, int((~session.frame.data["test"]).sum())
    estimate = models.estimate_seconds("random_forest", p, n_train, 999 + COARSE ** 2 + FINE ** 2, 3)
    assert estimate <= models.FIT_BUDGET_S and session.simulation.n_stages == 200


# -- large data ------------------------------------------------------------------------------------
def big_data(n, seed=1):
    x, y = datasets.make("moons", n, 0.5, seed)
    return {"x": x.tolist(), "labels": y.tolist()}


def test_large_data_is_fitted_on_a_seeded_subsample_and_says_so():
    data = big_data(20_000)
    session = Session(SCENE, {"classifier": "knn", "fit_max_points": 1000}, seed=3, data=data)
    frame, sim = session.frame, session.simulation
    test, fitted = frame.data["test"], frame.data["fitted"]
    assert fitted.sum() == 1000 == frame.data["n_fitted"] and not (fitted & test).any()
    assert sim.pipe[-1].n_samples_fit_ == 1000
    assert "fitted on 1,000 of 14,000 training points (seeded subsample" in frame.message
    x, labels = frame.data["x"], frame.data["labels"]
    assert frame.data["train_accuracy"] == pytest.approx(sim.pipe.score(x[fitted], labels[fitted]), abs=1e-12)
    assert frame.data["test_accuracy"] == pytest.approx(sim.pipe.score(x[test], labels[test]), abs=1e-12)
    again = Session(SCENE, {"classifier": "knn", "fit_max_points": 1000}, seed=3, data=data).frame
    np.testing.assert_array_equal(again.data["fitted"], fitted)  # the subsample is the seed's
    other = Session(SCENE, {"classifier": "knn", "fit_max_points": 1000}, seed=4, data=data).frame
    assert not np.array_equal(other.data["fitted"], fitted)
    assert MAX_FIT_POINTS == datasets.MAX_IMPORT_ROWS  # "Fit on at most" can reach every importable row
    assert next(p for p in SCENE.params if p.name == "fit_max_points").maximum == MAX_FIT_POINTS


def test_a_fit_that_would_take_too_long_is_not_started_and_says_what_to_lower():
    data = big_data(6_000)
    started = time.perf_counter()
    session = Session(SCENE, {"classifier": "gaussian_process"}, data=data)
    assert time.perf_counter() - started < 5  # refused, not attempted
    frame = session.frame
    assert len(frame.data["x"]) == 6000 and len(frame.data["classes"]) == 0  # the data without a map
    assert "Gaussian process on 1,000 points would take ≈" in frame.message and NO_MODEL in frame.message
    assert "fitted on" not in frame.message  # nothing was
    suggested = int(frame.message.split("lower 'Fit on at most' to ")[1].split(" ")[0].replace(",", ""))
    p = session.params
    n_predict = 6000 + COARSE ** 2 + FINE ** 2
    assert models.estimate_seconds("gaussian_process", p, suggested, n_predict, 2) <= models.FIT_BUDGET_S
    assert models.estimate_seconds("gaussian_process", p, 2 * suggested, n_predict, 2) > models.FIT_BUDGET_S
    assert models.estimate_seconds("gaussian_process", p, 1000, n_predict, 2) > 60  # n^3: minutes, truly


def test_two_hundred_stage_maps_of_large_data_stay_small():
    session = Session(SCENE, {"classifier": "gradient_boosting", "gb_n_estimators": 200, "gb_max_depth": 1,
                              "fit_max_points": 500}, data=big_data(20_000))
    sim = session.simulation
    assert sim.n_stages == 200
    assert sim.scores.dtype == np.float32 and sim.scores.shape == (200, 2, COARSE, COARSE)  # 6.6 MB
    assert sim.predicted.dtype == np.int8 and sim.predicted.nbytes == 200 * 20_000
    frames = [session.forward() for _ in range(3)]
    assert all(f.data["predicted"].base is not None for f in frames)  # views into the stored stack, not copies


# -- truthful frames -------------------------------------------------------------------------------
def assert_nan_explained(frame):
    """Every NaN in the frame's data comes with a message about it (the NaNs are accuracies)."""
    for key, value in frame.data.items():
        if isinstance(value, (float, np.floating, np.ndarray)) and np.asarray(value).dtype.kind == "f":
            if np.isnan(np.asarray(value)).any():
                assert frame.message, f"{key} is NaN with no message"
                assert "accuracy" in frame.message, f"{key} is NaN and the message does not say why: {frame.message}"


def test_compare_mode_accuracies_are_the_selected_models_or_explained():
    chosen = {f"compare_{cid}": cid in ("knn", "svm", "lda") for cid in CLASSIFIERS}
    session = Session(SCENE, {**SMALL, "compare": True, "classifier": "svm", **chosen})
    frame = session.frame
    names = list(frame.data["compare_names"])
    row = frame.data["compare_accuracy"][names.index("svm")]
    assert [frame.data["train_accuracy"], frame.data["test_accuracy"]] == list(row)
    # Each row is scikit-learn's score of that model on the exact split.
    x, labels, test = frame.data["x"], frame.data["labels"], frame.data["test"]
    for i, cid in enumerate(names):
        pipe, _ = models.build(cid, session.params, session.seed, int((~test).sum()))
        pipe.fit(x[~test], labels[~test])
        np.testing.assert_allclose(frame.data["compare_accuracy"][i],
                                   [pipe.score(x[~test], labels[~test]), pipe.score(x[test], labels[test])])
    assert frame.data["compare_score_kinds"][names.index("svm")] == models.score_kind("svm")
    assert "best test accuracy" in frame.message
    session.set_params({"classifier": "tree"})  # not among the compared: NaN, and the message says why
    assert np.isnan(session.frame.data["train_accuracy"])
    assert "accuracy: none for Decision tree" in session.frame.message
    assert_nan_explained(session.frame)


def test_single_stage_models_say_what_they_fitted():
    frame = Session(SCENE, {**SMALL, "classifier": "svm"}).frame
    assert frame.done and frame.message.startswith(
        f"Support vector machine fitted: train {frame.data['train_accuracy']:.0%}, "
        f"test {frame.data['test_accuracy']:.0%}")


@pytest.mark.parametrize("cid, extra", [(cid, {}) for cid in CLASSIFIERS] + [
    ("logistic", {"logistic_penalty": "l1"}), ("logistic", {"logistic_penalty": "elasticnet"}),
    ("logistic", {"logistic_penalty": "none", "logistic_degree": 3}), ("bagging", {"bagging_base": "knn"}),
    ("gb_stochastic", {"gb_subsample": 0.5}), ("forest_all", {"forest_max_features": "all"}),
    ("gaussian_process", {"gp_optimize": False}), ("lda", {"lda_solver": "lsqr", "lda_shrinkage": "auto"}),
    ("mlp", {"mlp_hidden_layers": "10,10", "mlp_activation": "tanh"})])
def test_every_classifier_is_bit_for_bit_reproducible_from_the_seed(cid, extra):
    cid = {"gb_stochastic": "gradient_boosting", "forest_all": "random_forest"}.get(cid, cid)
    params = {**SMALL, "classifier": cid, "noise": 0.6, **extra}
    first, second = Session(SCENE, params, seed=11), Session(SCENE, params, seed=11)
    for _ in range(4):
        assert_same_frame(first.frame, second.frame)
        first.forward(), second.forward()
    assert_same_frame(first.frame, second.frame)
    np.testing.assert_array_equal(first.frame.state.refiner.grid(first.step), second.frame.state.refiner.grid(second.step))


def assert_same_frame(a, b):
    assert a.step == b.step and a.message == b.message and a.done == b.done
    assert a.data.keys() == b.data.keys()
    for key in a.data:
        x, y = a.data[key], b.data[key]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), key
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y), key
        else:
            assert x == y, key


@pytest.mark.parametrize("cid", CLASSIFIERS)
def test_a_pickled_simulation_gives_the_identical_frame_and_fine_map(cid):
    session = Session(SCENE, {**SMALL, "classifier": cid})
    session.forward(2)
    original = session.simulation
    grid = session.frame.state.refiner.grid(session.frame.state.stage)  # fills the cache and the resumer
    copy = pickle.loads(pickle.dumps(original))
    assert_same_frame(copy.frame(), original.frame())
    assert copy.refiner.token == original.refiner.token
    np.testing.assert_array_equal(copy.refiner.grid(copy.stage), grid)
    np.testing.assert_array_equal(copy.step().data["class_scores"], original.step().data["class_scores"])


def test_a_pickled_session_round_trips():
    session = Session(SCENE, {**SMALL, "classifier": "gradient_boosting"})
    session.forward(3)
    copy = pickle.loads(pickle.dumps(session))
    assert_same_frame(copy.frame, session.frame)
    np.testing.assert_array_equal(copy.frame.state.refiner.grid(3), session.frame.state.refiner.grid(3))


HAND_BUILT = {
    "lda": ({"lda_solver": "lsqr", "lda_shrinkage": "fixed", "lda_shrinkage_amount": 0.3},
            lambda seed: __import__("sklearn.discriminant_analysis", fromlist=["x"]).LinearDiscriminantAnalysis(
                solver="lsqr", shrinkage=0.3)),
    "qda": ({"qda_reg_param": 0.2},
            lambda seed: __import__("sklearn.discriminant_analysis", fromlist=["x"]).QuadraticDiscriminantAnalysis(
                reg_param=0.2)),
    "gaussian_process": ({"gp_length_scale": 0.4, "gp_optimize": False, "gp_max_iter_predict": 30},
                         lambda seed: __import__("sklearn.gaussian_process", fromlist=["x"]).GaussianProcessClassifier(
                             __import__("sklearn.gaussian_process.kernels", fromlist=["x"]).RBF(0.4), optimizer=None,
                             max_iter_predict=30, random_state=seed)),
    "mlp": ({"mlp_hidden_layers": "10,10", "mlp_activation": "tanh", "mlp_alpha": 0.01,
             "mlp_learning_rate_init": 0.01, "mlp_max_iter": 40},
            lambda seed: __import__("sklearn.neural_network", fromlist=["x"]).MLPClassifier(
                (10, 10), activation="tanh", alpha=0.01, learning_rate_init=0.01, max_iter=40, random_state=seed)),
}


@pytest.mark.parametrize("cid", sorted(HAND_BUILT))
def test_new_classifiers_equal_hand_built_scikit_learn_models(cid):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    values, make = HAND_BUILT[cid]
    session = Session(SCENE, {**SMALL, "dataset": "blobs", "n_classes": 3, "classifier": cid, **values}, seed=5)
    frame = session.frame
    x, labels, test = frame.data["x"], frame.data["labels"], frame.data["test"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(StandardScaler(), make(5 % 2**31)).fit(x[~test], labels[~test])
    grid = grid_points(tuple(frame.data["extent"]), COARSE)
    np.testing.assert_allclose(as_rows(frame.data["class_scores"]), model.predict_proba(grid), atol=1e-5)
    assert frame.data["test_accuracy"] == pytest.approx(model.score(x[test], labels[test]), abs=1e-12)


def test_new_classifiers_show_only_their_own_settings_and_are_compared():
    from explorer.params import find
    values = SCENE.resolve({"classifier": "mlp"})
    assert find(SCENE.params, "mlp_alpha").relevant(values) and not find(SCENE.params, "gp_length_scale").relevant(values)
    values = SCENE.resolve({"classifier": "lda", "lda_solver": "svd"})
    assert not find(SCENE.params, "lda_shrinkage").relevant(values)
    values = SCENE.resolve({"classifier": "lda", "lda_solver": "eigen", "lda_shrinkage": "fixed"})
    assert find(SCENE.params, "lda_shrinkage_amount").relevant(values)
    for cid in ("lda", "qda", "gaussian_process", "mlp"):
        assert find(SCENE.params, f"compare_{cid}").help
    for name in ("lda_solver", "lda_shrinkage", "qda_reg_param", "gp_length_scale", "gp_optimize",
                 "gp_max_iter_predict", "mlp_hidden_layers", "mlp_activation", "mlp_alpha",
                 "mlp_learning_rate_init", "mlp_max_iter", "fit_max_points"):
        assert find(SCENE.params, name).help.endswith(")") or find(SCENE.params, name).help.endswith(".")


def test_staged_accuracy_curves_are_scikit_learns_stage_by_stage():
    session = Session(SCENE, {**SMALL, "classifier": "gradient_boosting", "noise": 0.8})
    sim = session.simulation
    frame = session.run_to(1000)
    x, labels, test = frame.data["x"], frame.data["labels"], frame.data["test"]
    z = sim.pipe[0].transform(x)
    staged = [np.asarray(p) for p in sim.pipe[-1].staged_predict(z)]
    np.testing.assert_allclose(frame.data["train_accuracy_curve"], [np.mean(p[~test] == labels[~test]) for p in staged])
    np.testing.assert_allclose(frame.data["test_accuracy_curve"], [np.mean(p[test] == labels[test]) for p in staged])
    assert sim.n_stages == SMALL["gb_n_estimators"]


def test_new_presets_teach_what_they_say():
    values = SCENE.preset("Gaussian process: confidence fades").values
    gp, logistic = Session(SCENE, values).simulation, Session(SCENE, {**values, "classifier": "logistic"}).simulation
    x0, x1, y0, y1 = gp.extent
    far = np.array([[x0 - 3, y0 - 3], [x1 + 3, y1 + 3]])
    np.testing.assert_allclose(gp.pipe.predict_proba(far), 0.5, atol=0.02)  # back to 50% away from the data
    assert np.all(logistic.pipe.predict_proba(far).max(axis=1) > 0.99)  # a linear model stays sure
    values = SCENE.preset("Neural network on a spiral").values
    net = Session(SCENE, values).frame
    assert net.data["train_accuracy"] >= 0.97 and net.data["test_accuracy"] >= 0.95
    early = Session(SCENE, {**values, "mlp_max_iter": 20}).frame  # "lower Max epochs to see it unfinished"
    assert early.data["test_accuracy"] < 0.8 and "did not converge within 20 epochs" in early.message


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_svm_scores_and_labels_from_one_pass_equal_decision_function_and_predict(n_classes):
    session = Session(SCENE, {"classifier": "svm", "dataset": "spiral", "n_classes": n_classes, "n_samples": 200,
                              "noise": 0.8, "svm_C": 0.05})
    pipe = session.simulation.pipe
    points = np.concatenate([grid_points(session.simulation.extent, 80), session.frame.data["x"]])
    z = pipe[0].transform(points)
    scores, labels = models.svm_scores_and_labels(pipe[-1], z)
    np.testing.assert_array_equal(labels, pipe[-1].predict(z))  # libsvm's votes, ties included
    np.testing.assert_allclose(scores, svm_display(pipe[-1].decision_function(z), n_classes), rtol=1e-12)
    assert pipe[-1].decision_function_shape == "ovr"  # the fitted model is left as it was


def test_a_compare_grid_over_its_total_budget_skips_the_rest_and_says_so(monkeypatch):
    from scenes.decision_boundaries import sim as sim_module
    monkeypatch.setattr(models, "estimate_seconds", lambda *args: 0.3 * sim_module.COMPARE_BUDGET_S)
    session = Session(SCENE, {**SMALL, "compare": True})  # six models, each estimated at 30% of the budget
    frame = session.frame
    accuracy = frame.data["compare_accuracy"]
    assert np.isfinite(accuracy[:3]).all() and np.isnan(accuracy[3:]).all()
    for cid in frame.data["compare_names"][3:]:
        assert f"{models.label(cid)} skipped: the compare grid would take over" in frame.message
    assert_nan_explained(frame)


# -- properties over the parameter space ----------------------------------------------------------
# Small data and few estimators/epochs/iterations (overrides) keep 210 examples under a minute.
FAST = {"n_samples": st.integers(10, 60), "forest_n_estimators": st.integers(1, 15),
        "bagging_n_estimators": st.integers(1, 10), "adaboost_n_estimators": st.integers(1, 15),
        "gb_n_estimators": st.integers(1, 15), "mlp_max_iter": st.integers(5, 40),
        "gp_max_iter_predict": st.integers(1, 30)}


PROPERTY = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
SPACE = dict(values=param_space(SCENE.params, FAST, log_scale=True), seed=st.integers(0, 2**31 - 1),
             moves=st.lists(st.sampled_from(["forward", "back"]), max_size=6))


@pytest.mark.parametrize("cid", CLASSIFIERS)  # every classifier drawn, 14 x 14 = 196 examples
@settings(max_examples=14, **PROPERTY)
@given(**SPACE)
def test_property_frames_are_truthful_reproducible_and_round_trip(cid, values, seed, moves):
    check_frames(cid, values, seed, moves)


@settings(max_examples=8, **PROPERTY)  # up to six fits per example
@given(**SPACE)
def test_property_compare_frames_are_truthful_and_round_trip(values, seed, moves):
    check_frames("compare", values, seed, moves)


def check_frames(cid, values, seed, moves):
    values = {**values, "classifier": cid if cid != "compare" else values["classifier"], "compare": cid == "compare"}
    session = Session(SCENE, values, seed)
    frames = [session.frame]
    for move in moves:
        frames.append(session.forward() if move == "forward" else session.back())
    for frame in frames:
        data = frame.data
        assert_nan_explained(frame)
        assert frame.message  # never a bare "finished"
        assert len(data["train_accuracy_curve"]) == (frame.step + 1 if cid != "compare" else 1)
        scores = np.asarray(data["class_scores"], dtype=np.float64)
        if len(data["classes"]) and cid != "compare":
            assert data["score_kind"] == models.score_kind(cid)
            np.testing.assert_allclose(scores.sum(axis=0), 1.0, atol=1e-4)  # probabilities (or softmax) sum to 1
        for i, kind in enumerate(data["compare_score_kinds"]):
            if np.isfinite(data["compare_accuracy"][i, 0]):
                np.testing.assert_allclose(np.asarray(data["compare_scores"][i], np.float64).sum(axis=0), 1.0,
                                           atol=1e-4)
    # Restore-then-step reproduces the frame.
    sim = session.simulation
    first = sim.frame()
    if not sim.done:
        after = sim.step()
        sim.restore(first)
        assert_same_frame(sim.step(), after)
    # A session survives a JSON round trip.
    again = Session.from_dict(json.loads(json.dumps(session.to_dict())))
    assert_same_frame(again.frame, session.frame)
    assert json.loads(json.dumps(frame_to_jsonable(session.frame), allow_nan=False))


# -- UI --------------------------------------------------------------------------------------------
@pytest.fixture
def make_view(qtbot):
    from scenes.decision_boundaries.view import DecisionBoundaryView
    views = []

    def make(session):
        view = DecisionBoundaryView(SCENE, session.params)
        qtbot.addWidget(view.tools())
        view.widget.resize(900, 600)
        view.widget.show()
        view.show(session.frame)
        qtbot.waitExposed(view.widget)
        views.append(view)
        return view
    yield make
    for view in views:
        view.close()


# QTest reports pyqtgraph's unaccepted press/release (the scene handles clicks itself).
ignore_unaccepted = pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")


def click_at(qtbot, view, x, y, button=None, modifier=None):
    from PySide6 import QtCore
    vb = view.plots["map"].vb
    scene_pos = vb.mapViewToScene(QtCore.QPointF(x, y))
    pos = view.widget.mapFromScene(scene_pos)
    qtbot.mouseClick(view.widget.viewport(), button or QtCore.Qt.MouseButton.LeftButton,
                     modifier or QtCore.Qt.KeyboardModifier.NoModifier, pos)


@ignore_unaccepted
def test_clicks_add_and_remove_points_and_the_map_follows(qtbot, make_view):
    from PySide6 import QtCore
    session = Session(SCENE, {"classifier": "knn", "n_samples": 40})
    view = make_view(session)
    before = view.image.image.copy()
    view.class_buttons[1].click()
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as blocker:
        click_at(qtbot, view, 0.0, 1.4)
    data = blocker.args[0]
    assert len(data["x"]) == 41 and data["labels"][-1] == 1
    np.testing.assert_allclose(data["x"][-1], [0.0, 1.4], atol=0.05)
    # A small cluster of class 1 where class 0 was (the view's user data are arrays).
    data["x"] = np.vstack([data["x"], [[0.02, 1.4]] * 4]); data["labels"] = np.append(data["labels"], [1] * 4)
    session.set_data(data)
    view.show(session.frame)
    assert session.frame.data["x"].shape == (45, 2)
    assert not np.array_equal(view.image.image, before)
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as removed:
        click_at(qtbot, view, 0.02, 1.4, QtCore.Qt.MouseButton.RightButton)
    assert len(removed.args[0]["x"]) == 44
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as shifted:
        click_at(qtbot, view, 0.02, 1.4, modifier=QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert len(shifted.args[0]["x"]) == 43  # every click counts: it edits the first removal's result


def test_clear_regenerate_and_classes(qtbot, make_view):
    session = Session(SCENE, {"n_samples": 40})
    view = make_view(session)
    with qtbot.waitSignal(view.dataRequested) as cleared:
        view.clear_points()
    session.set_data(cleared.args[0])
    view.show(session.frame)
    assert "at least 4" in session.frame.message and view.notice.isVisible()
    view.add_class()
    assert view.selected_class == 2 and view.class_buttons[2].isVisibleTo(view.tools())
    with qtbot.waitSignal(view.paramsRequested) as regenerated:
        view.regenerate()
    assert regenerated.args[0] == {"data_seed": 1}


def test_switching_classifier_changes_the_map(make_view):
    session = Session(SCENE, {"classifier": "logistic", "n_samples": 60})
    view = make_view(session)
    linear = view.image.image.copy()
    session.set_params({"classifier": "knn"})
    view.set_params(session.params)
    view.show(session.frame)
    assert not np.array_equal(view.image.image, linear)


def test_fine_map_replaces_the_coarse_one_when_idle(qtbot, make_view):
    session = Session(SCENE, {"classifier": "svm", "n_samples": 60})
    view = make_view(session)
    assert view.image.image.shape[:2] == (COARSE, COARSE)
    qtbot.waitUntil(lambda: view.image.image.shape[:2] == (FINE, FINE), timeout=5000)
    text = view.hover_text(0.5, 0.25)
    assert "class 0:" in text and "class 1:" in text


def test_the_map_shown_is_always_the_newest_frames(make_view):
    from scenes.decision_boundaries.view import _refine_job
    sessions = [Session(SCENE, {"classifier": "svm", "n_samples": 60, "svm_C": c}) for c in (0.1, 100.0)]
    view = make_view(sessions[0])
    view._idle.stop()

    def fine(session):
        frame = session.frame
        return _refine_job(view._frame_key(frame), frame.state.refiner, frame.state.stage, frame.data["classes"])
    old, new = fine(sessions[0]), fine(sessions[1])
    view.set_params(sessions[1].params)
    view.show(sessions[1].frame)
    coarse_new = view.image.image.copy()
    assert coarse_new.shape[:2] == (COARSE, COARSE)
    view._refined("refine", old)  # the older value's fine map arrives late: not shown
    np.testing.assert_array_equal(view.image.image, coarse_new)
    view._refined("refine", new)
    np.testing.assert_array_equal(view.image.image, new[2])
    assert_image_covers_extent(view, sessions[1].frame)
    # Back to the first value: its cached fine map, not the second's.
    view.show(sessions[0].frame)
    np.testing.assert_array_equal(view.image.image, old[2])
    np.testing.assert_array_equal(view._shown_proba, old[1])
    assert_image_covers_extent(view, sessions[0].frame)
    view.show(Session(SCENE, {"classifier": "knn", "n_samples": 60}).frame)  # coarse again
    assert view.image.image.shape[:2] == (COARSE, COARSE)
    assert_image_covers_extent(view, view.frame)


def assert_image_covers_extent(view, frame):
    x0, x1, y0, y1 = frame.data["extent"]
    shown = view.image.mapRectToParent(view.image.boundingRect())
    np.testing.assert_allclose([shown.left(), shown.right(), shown.top(), shown.bottom()], [x0, x1, y0, y1],
                               rtol=1e-9, atol=1e-9)


def test_a_new_run_on_the_same_points_only_redraws_what_changed(make_view):
    sessions = [Session(SCENE, {"classifier": "svm", "n_samples": 80, "svm_C": c}) for c in (0.05, 500.0)]
    view = make_view(sessions[0])
    train_data = [item.data for item in view.train_items]
    view.show(sessions[1].frame)
    assert all(item.data is data for item, data in zip(view.train_items, train_data))  # untouched
    assert sum(item.isVisible() for item in view.train_items) == 2  # empty classes are hidden
    frame = sessions[1].frame
    xs, ys = view.support_items.getData()
    np.testing.assert_array_equal(np.c_[xs, ys], frame.data["support_vectors"])
    wrong = frame.data["predicted"] != frame.data["labels"]
    assert len(view.error_items.data) == wrong.sum()


def test_gradient_boosting_accuracy_curve_grows_one_point_per_step(make_view):
    session = Session(SCENE, {**SMALL, "classifier": "gradient_boosting"})
    view = make_view(session)
    for step in range(1, 6):
        view.show(session.forward())
        xs, ys = view.train_curve.getData()
        assert len(xs) == step + 1 and len(view.test_curve.getData()[0]) == step + 1
    view.show(session.back())
    assert len(view.train_curve.getData()[0]) == 5


@ignore_unaccepted
def test_compare_grid_shows_one_map_per_chosen_classifier(qtbot, make_view):
    chosen = {f"compare_{cid}": cid in ("naive_bayes", "tree", "knn") for cid in CLASSIFIERS}
    session = Session(SCENE, {**SMALL, "compare": True, **chosen})
    view = make_view(session)
    qtbot.waitUntil(lambda: not view.compare_pending, timeout=5000)  # the grid is drawn in time slices
    assert list(session.frame.data["compare_names"]) == ["knn", "naive_bayes", "tree"]
    visible = [plot for plot in view.compare_plots if plot.isVisible()]
    assert len(visible) == 3
    images = [view.compare_images[i].image for i in range(3)]
    assert all(image is not None for image in images)
    assert not np.array_equal(images[0], images[1])
    qtbot.wait(10)
    rect = view.compare_plots[2].sceneBoundingRect()
    pos = view.widget.mapFromScene(rect.center())
    from PySide6 import QtCore
    with qtbot.waitSignal(view.paramsRequested) as picked:
        qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert picked.args[0] == {"classifier": "tree", "compare": False}
    session.set_params(picked.args[0])
    view.set_params(session.params)
    view.show(session.frame)
    assert not view.compare_plots[0].isVisible() or view.compare_layout.scene() is None or view.plots["map"].isVisible()


def test_csv_import_errors_are_messages_and_change_nothing(qtbot, make_view, tmp_path):
    session = Session(SCENE, {"n_samples": 40})
    view = make_view(session)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n3,zz,b\n5,6,a\n7,8,b\n")
    requested = []
    view.dataRequested.connect(requested.append)
    with qtbot.waitSignal(view.messageRequested) as message:
        assert not view.import_csv(str(bad))
    assert "row 3" in message.args[0] and "'y'" in message.args[0]
    assert requested == []
    good = tmp_path / "good.csv"
    good.write_text("1,2,a\n3,4,b\n5,6,a\n7,8,b\n9,9,c\n")
    assert view.import_csv(str(good))
    assert requested[-1]["names"] == ["a", "b", "c"] and view.n_draw_classes == 3


def test_compare_grid_of_a_large_data_set_is_drawn_in_slices_and_settles(qtbot, make_view):
    from scenes.decision_boundaries import view as view_module
    session = Session(SCENE, {"compare": True, "n_samples": 1000})
    view = make_view(session)
    names = list(session.frame.data["compare_names"])
    assert len(names) == 6
    # Nothing older than the newest frame is ever drawn, and the grid completes on its own.
    qtbot.waitUntil(lambda: not view.compare_pending, timeout=10000)
    assert all(plot.isVisible() for plot in view.compare_plots[:6])
    # Force one plot per slice: a new frame starts over, settle() finishes it at once.
    original = view_module.COMPARE_SLICE_MS
    view_module.COMPARE_SLICE_MS = 0
    try:
        session.set_params({"noise": 0.5})
        view.show(session.frame)
        assert view.compare_pending
        view.settle()
        assert not view.compare_pending
    finally:
        view_module.COMPARE_SLICE_MS = original
    titles = [plot.titleLabel.text for plot in view.compare_plots[:6]]
    accuracy = session.frame.data["compare_accuracy"]
    assert all(f"test {accuracy[i, 1]:.0%}" in titles[i] for i in range(6))
