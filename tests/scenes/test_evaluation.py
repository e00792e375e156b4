"""Evaluation scene core: metrics, curves, AUC/AP against sklearn.metrics; folds against scikit-learn's
splitters; grid-search cells against GridSearchCV.cv_results_."""
import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from scenes.evaluation import SCENE
from scenes.evaluation import metrics as m
from scenes.evaluation import sim


def scores_labels(seed=0, n=200, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(size=n) + y
    if ties:
        s = np.round(s, 1)
    return s, y


@pytest.mark.parametrize("ties", [False, True])
def test_curves_auc_ap_equal_sklearn(ties):
    s, y = scores_labels(1, ties=ties)
    t = m.ThresholdTable.build(s, y)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    ours = t.roc()
    assert np.allclose(ours[0], fpr) and np.allclose(ours[1], tpr)
    assert t.auc() == pytest.approx(skm.roc_auc_score(y, s))
    precision, recall, _ = skm.precision_recall_curve(y, s, drop_intermediate=False)
    r, p = t.pr()
    assert np.allclose(r, recall[::-1]) and np.allclose(p, precision[::-1])
    assert t.average_precision() == pytest.approx(skm.average_precision_score(y, s))


@pytest.mark.parametrize("threshold", [-10, -1.0, 0.0, 0.3, 0.5, 1.2, 2.0, 10])
def test_threshold_metrics_equal_sklearn(threshold):
    s, y = scores_labels(2, ties=True)
    t = m.ThresholdTable.build(s, y)
    c = t.confusion(threshold)
    pred = (s >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert (c["tp"], c["fp"], c["tn"], c["fn"]) == (tp, fp, tn, fn)
    v = m.binary_metrics(c)
    assert v["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    for name, fn_ in [("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)]:
        expected = fn_(y, pred, zero_division=np.nan)
        assert (v[name] is None) == bool(np.isnan(expected))
        if v[name] is not None:
            assert v[name] == pytest.approx(expected)
    spec = skm.recall_score(1 - y, 1 - pred, zero_division=np.nan)
    assert v["specificity"] == pytest.approx(spec)


def test_no_positive_predictions_is_undefined_not_nan():
    s, y = scores_labels(3)
    simulation = sim.Simulation(SCENE.resolve({"threshold": 1.0, "separation": 0.5}), 0)
    data, message = simulation.threshold_data(10.0, 1.0)
    assert "precision" not in data and "undefined (no positive predictions)" in message
    assert all(np.all(np.isfinite(np.asarray(v, float))) for v in data.values())


def test_cheapest_threshold_is_the_brute_force_minimum():
    s, y = scores_labels(4, ties=True)
    t = m.ThresholdTable.build(s, y)
    best, cost = t.cheapest_threshold(1.0, 5.0)
    costs = [(((s >= c) & (y == 0)).sum() + 5 * ((s < c) & (y == 1)).sum()) for c in np.r_[np.unique(s), np.inf]]
    assert cost == pytest.approx(min(costs))


def test_multiclass_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 5, 300))
    p[p == 4] = 3  # class 4 never predicted: its precision is undefined
    matrix = m.confusion_matrix(y, p, 5)
    assert np.array_equal(matrix, skm.confusion_matrix(y, p, labels=range(5)))
    r = m.multiclass_metrics(matrix)
    sk_p = skm.precision_score(y, p, average=None, labels=range(5), zero_division=np.nan)
    assert r["precision"][4] is None and np.allclose(r["precision"][:4], sk_p[:4])
    assert np.allclose(r["recall"], skm.recall_score(y, p, average=None))
    for avg in ("macro", "micro"):
        assert r[f"{avg}_precision"] == pytest.approx(skm.precision_score(y, p, average=avg, zero_division=0))
        assert r[f"{avg}_recall"] == pytest.approx(skm.recall_score(y, p, average=avg, zero_division=0))
        assert r[f"{avg}_f1"] == pytest.approx(skm.f1_score(y, p, average=avg, zero_division=0))


def test_regression_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    p = y + rng.normal(scale=0.5, size=50)
    r = m.regression_metrics(y, p, 3)
    assert r["mse"] == pytest.approx(skm.mean_squared_error(y, p))
    assert r["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    r2 = skm.r2_score(y, p)
    assert r["r2"] == pytest.approx(r2)
    assert r["adjusted_r2"] == pytest.approx(1 - (1 - r2) * 49 / 46)


@pytest.mark.parametrize("method", sim.CV_METHODS)
def test_folds_equal_sklearn_splitters_and_scores_cross_val_score(method):
    from sklearn import model_selection as ms
    params = SCENE.resolve({"lesson": "cross_validation", "cv_method": method, "k_folds": 4, "n_samples": 60})
    s = sim.Simulation(params, 3)
    x, y = sim.dataset("moons", 60, 0.3, 3)
    cv = {"kfold": ms.KFold(4), "stratified": ms.StratifiedKFold(4), "shuffled": ms.KFold(4, shuffle=True,
          random_state=3), "loo": ms.LeaveOneOut(), "timeseries": ms.TimeSeriesSplit(4)}[method]
    expected = list(cv.split(x, y))
    assert len(s.folds) == len(expected)
    for (a, b), (c, d) in zip(s.folds, expected):
        assert np.array_equal(a, c) and np.array_equal(b, d)
    if method != "loo":
        while not s.done:
            frame = s.step()
        assert np.allclose(frame.data["fold_scores"], cross_val_score(sim.classifier("logistic", 3), x, y, cv=cv))


def test_grid_search_equals_gridsearchcv():
    params = SCENE.resolve({"lesson": "grid_search", "grid_size": 3, "k_folds": 3, "n_samples": 120})
    s = sim.Simulation(params, 0)
    while not s.done:
        frame = s.step()
    x, y = sim.grid_data(params, 0)
    cs, gammas = sim.grid_values(3)
    search = GridSearchCV(sim.classifier("svm", 0), {"svc__C": cs, "svc__gamma": gammas},
                          cv=StratifiedKFold(3)).fit(x, y)
    expected = np.asarray(search.cv_results_["mean_test_score"]).reshape(3, 3)
    assert np.allclose(frame.data["grid_scores"], expected)
    assert (frame.data["best_row"], frame.data["best_col"]) == divmod(search.best_index_, 3)


def test_restore_replays_exactly():
    params = SCENE.resolve({"lesson": "cross_validation", "k_folds": 3, "n_samples": 60})
    s = sim.Simulation(params, 0)
    f1 = s.step()
    f2 = s.step()
    s.restore(f1)
    assert np.array_equal(s.step().data["fold_scores"], f2.data["fold_scores"])


@pytest.mark.parametrize("preset", [p.name for p in SCENE.presets])
def test_every_preset_builds(preset):
    s = sim.Simulation(SCENE.resolve(SCENE.preset(preset).values), 0)
    assert s.frame().data
