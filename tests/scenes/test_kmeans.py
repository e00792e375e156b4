"""K-Means scene (data, simulation, parameters): against scikit-learn's KMeans and generators, the
D² distribution of k-means++ and the session/timeline machinery."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import scene as registry
from explorer import session_file
from explorer.params import ParamError, find
from explorer.session import Session, frame_to_jsonable
from explorer.timeline import Timeline
from scenes.kmeans import PARAMS, PRESETS, SCENE, data
from scenes.kmeans.sim import (Simulation, d2_probabilities, lloyd, nearest, parse_centroids_set, sq_distances,
                               update_centroids)
from tests.strategies import param_space

FRAME_KEYS = {"points", "labels", "centroids", "previous_centroids", "phase", "iteration", "inertia",
              "inertia_history", "converged", "empty_clusters", "pick_probabilities", "k", "algorithm", "changed"}
MINIBATCH_KEYS = {"batch_indices", "learning_rates", "center_counts", "reassigned_centers"}
GMM_KEYS = {"responsibilities", "covariances", "mixture_weights", "log_likelihood", "log_likelihood_history"}


def params(**overrides):
    return SCENE.resolve(overrides)


def placed(step, centroids):
    return json.dumps({"step": step, "centroids": [list(map(float, c)) for c in centroids]})


def run_to_end(sim, limit=2000):
    frames = [sim.frame()]
    while not frames[-1].done and len(frames) < limit:
        frames.append(sim.step())
    return frames


def sklearn_kmeans(x, centroids, max_iter=300):
    from sklearn.cluster import KMeans
    return KMeans(len(centroids), init=np.asarray(centroids), n_init=1, algorithm="lloyd", max_iter=max_iter,
                  tol=0).fit(x)


@pytest.fixture
def registered(monkeypatch):
    """The scene in the registry (session files name registered scenes; K3 registers it for real)."""
    if "scenes.kmeans" not in registry.SCENE_MODULES:
        monkeypatch.setattr(registry, "SCENE_MODULES", (*registry.SCENE_MODULES, "scenes.kmeans"))


# -- the maths against independent truth ----------------------------------------------------------------
def test_gemm_distances_and_nearest_equal_direct_differences():
    rng = np.random.default_rng(0)
    x, c = rng.normal(size=(500, 2)) * 5, rng.normal(size=(7, 2)) * 5
    direct = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(sq_distances(x, c), direct, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(nearest(x, c), direct.argmin(axis=1))


@pytest.mark.parametrize("dataset", data.DATASETS)
@pytest.mark.parametrize("init", ["random_points", "random_partition", "kmeans_plus_plus"])
def test_half_steps_end_where_sklearn_kmeans_ends_from_the_same_centroids(dataset, init):
    p = params(dataset=dataset, init=init, k=5, n_samples=800, true_clusters=4, data_seed=2)
    sim = Simulation(p, 1)
    frames = run_to_end(sim)
    start = next(f for f in frames if f.data["phase"] == "init").data["centroids"]
    last = frames[-1]
    km = sklearn_kmeans(last.data["points"], start)
    assert last.data["converged"]
    np.testing.assert_array_equal(last.data["labels"], km.labels_)
    np.testing.assert_allclose(last.data["centroids"], km.cluster_centers_, rtol=0, atol=1e-9)
    assert last.data["inertia"] == pytest.approx(km.inertia_, rel=1e-10)
    assert last.data["iteration"] == km.n_iter_
    assert last.message.startswith(f"converged after {km.n_iter_} iterations")


@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_max_iter_stops_where_sklearn_stops(max_iter):
    p = params(dataset="anisotropic", k=6, n_samples=2000, max_iter=max_iter, init="random_points")
    frames = run_to_end(Simulation(p, 3))
    last = frames[-1]
    km = sklearn_kmeans(last.data["points"], frames[0].data["centroids"], max_iter=max_iter)
    assert km.n_iter_ == max_iter and not last.data["converged"]
    np.testing.assert_array_equal(last.data["labels"], km.labels_)
    np.testing.assert_allclose(last.data["centroids"], km.cluster_centers_, rtol=0, atol=1e-9)
    assert last.data["inertia"] == pytest.approx(km.inertia_, rel=1e-10)
    assert f"max_iter = {max_iter}" in last.message
    # max_iter assigns and updates, then the last assign: 2 * max_iter + 1 half-steps.
    assert last.step == 2 * max_iter + 1


def test_each_update_moves_every_centroid_to_the_mean_of_its_points():
    sim = Simulation(params(k=4, true_clusters=4), 0)
    for _ in range(6):
        assign = sim.step()
        update = sim.step()
        assert (assign.data["phase"], update.data["phase"]) == ("assign", "update")
        labels = assign.data["labels"]
        np.testing.assert_array_equal(update.data["labels"], labels)
        np.testing.assert_array_equal(update.data["previous_centroids"], assign.data["centroids"])
        for j in range(4):
            np.testing.assert_allclose(update.data["centroids"][j], assign.data["points"][labels == j].mean(axis=0),
                                       rtol=0, atol=1e-12)


def test_inertia_never_increases_across_half_steps():
    for seed in range(8):
        frames = run_to_end(Simulation(params(dataset="unequal_variance", k=7, n_samples=1500), seed))
        inertia = [f.data["inertia"] for f in frames if f.data["phase"] in ("assign", "update")]
        assert len(inertia) >= 3
        assert all(b <= a * (1 + 1e-12) for a, b in zip(inertia, inertia[1:]))
        history = frames[-1].data["inertia_history"]
        np.testing.assert_array_equal(history, [f.data["inertia"] for f in frames if f.data["phase"] == "assign"])


def test_an_empty_cluster_is_relocated_as_sklearn_does():
    # Two centroids far from every point: their clusters are empty after the first assign.
    rng = np.random.default_rng(4)
    x = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(8, 1, (40, 2))])
    start = np.array([[0.0, 0.0], [8.0, 8.0], [100.0, 100.0], [-100.0, 90.0]])
    labels = nearest(x, start)
    new, relocated = update_centroids(x, labels, start)
    np.testing.assert_array_equal(relocated, [2, 3])
    # sklearn's own Cython routine on the same sums, as its Lloyd iteration calls it.
    from sklearn.cluster._k_means_common import _relocate_empty_clusters_dense
    sums = np.zeros((4, 2))
    np.add.at(sums, labels, x)
    weights = np.bincount(labels, minlength=4).astype(np.float64)
    _relocate_empty_clusters_dense(x, np.ones(len(x)), start, sums, weights, labels.astype(np.int32))
    np.testing.assert_allclose(new, sums / weights[:, None], rtol=0, atol=1e-12)
    # And the whole run equals sklearn's KMeans from this start.
    sim = Simulation(params(init="manual", k=4), 0, data={"x": x.tolist()})
    sim.set_params(params(init="manual", k=4, centroids_set=placed(0, start)))
    frames = run_to_end(sim)
    update = frames[2]
    assert update.data["phase"] == "update" and list(update.data["empty_clusters"]) == [2, 3]
    assert "empty cluster 2, 3 relocated" in update.message
    km = sklearn_kmeans(x, start)
    np.testing.assert_array_equal(frames[-1].data["labels"], km.labels_)
    np.testing.assert_allclose(frames[-1].data["centroids"], km.cluster_centers_, rtol=0, atol=1e-9)


def test_lloyd_helper_is_the_half_steps():
    sim = Simulation(params(k=6, n_samples=3000, dataset="uniform"), 5)
    frames = run_to_end(sim)
    labels, centroids, inertia, n_iter = lloyd(frames[0].data["points"], frames[0].data["centroids"], 300)
    np.testing.assert_array_equal(labels, frames[-1].data["labels"])
    np.testing.assert_array_equal(centroids, frames[-1].data["centroids"])
    assert inertia == frames[-1].data["inertia"] and n_iter == frames[-1].data["iteration"]


# -- k-means++ ----------------------------------------------------------------------------------------
def test_kmeans_plus_plus_is_one_frame_per_pick_with_the_d2_probabilities():
    k = 4
    sim = Simulation(params(init="kmeans_plus_plus", k=k, n_samples=300), 2)
    frame = sim.frame()
    x = frame.data["points"]
    for pick in range(k):
        assert frame.data["phase"] == "init_pick" and len(frame.data["centroids"]) == pick
        p = frame.data["pick_probabilities"]
        if pick == 0:
            np.testing.assert_allclose(p, 1 / len(x))
        else:
            d2 = ((x[:, None, :] - frame.data["centroids"][None]) ** 2).sum(axis=2).min(axis=1)
            np.testing.assert_allclose(p, d2 / d2.sum(), rtol=1e-9, atol=1e-15)
        frame = sim.step()
    assert frame.data["phase"] == "init" and len(frame.data["centroids"]) == k
    assert len(frame.data["pick_probabilities"]) == 0
    # Each pick is a data point, no point picked twice.
    assert len({tuple(c) for c in frame.data["centroids"]}) == k
    assert all((x == c).all(axis=1).any() for c in frame.data["centroids"])
    assert sim.step().data["phase"] == "assign"


def test_kmeans_plus_plus_picks_follow_the_d2_distribution():
    """Chi-squared test of the second pick over 4,000 seeds (fixed seeds: it cannot flake)."""
    from scipy.stats import chisquare
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-2.0, 1.0], [0.5, -1.5]])
    user = {"x": x.tolist()}
    counts = np.zeros((len(x), len(x)))
    for seed in range(4000):
        sim = Simulation(params(init="kmeans_plus_plus", k=2), seed, data=user)
        first = sim.step().data["centroids"][0]
        second = sim.step().data["centroids"][1]
        i = int(np.flatnonzero((x == first).all(axis=1))[0])
        counts[i, int(np.flatnonzero((x == second).all(axis=1))[0])] += 1
    # The first pick is uniform.
    assert chisquare(counts.sum(axis=1)).pvalue > 1e-3
    # Given the first pick i, the second is drawn with D² / ΣD².
    observed, expected = [], []
    for i in range(len(x)):
        p = d2_probabilities(x, x[i:i + 1])
        assert counts[i, i] == 0
        keep = p > 0
        observed.extend(counts[i][keep])
        expected.extend(p[keep] * counts[i].sum())
    # 6 rows of 5 cells with fixed row totals: 30 - 6 = 24 degrees of freedom (chisquare subtracts 1 itself).
    result = chisquare(observed, expected, ddof=len(x) - 1)
    assert result.pvalue > 1e-3
    # A planted bug (uniform second pick) would fail this test.
    uniform = [counts[i].sum() / (len(x) - 1) for i in range(len(x)) for _ in range(len(x) - 1)]
    assert chisquare(observed, uniform, ddof=len(x) - 1).pvalue < 1e-6


def test_n_init_starts_from_the_best_initialisation_and_says_so():
    p = params(dataset="blobs", true_clusters=6, cluster_std=0.5, k=6, n_samples=600, data_seed=11,
               init="random_points")
    finals = []
    for run in range(8):
        from scenes.kmeans.sim import initial_centroids
        x = Simulation(p, 0).points
        finals.append(lloyd(x, initial_centroids(x, 6, "random_points", 0, run), 300)[2])
    assert max(finals) > min(finals) * 1.05  # some initialisations end in a worse local optimum
    best = run_to_end(Simulation({**p, "n_init": 8}, 0))[-1]
    assert best.data["inertia"] == pytest.approx(min(finals), rel=1e-12)
    assert "best of 8 initialisations" in best.message
    single = run_to_end(Simulation(p, 0))[-1]
    assert single.data["inertia"] == pytest.approx(finals[0], rel=1e-12)


# -- mini-batch K-Means ---------------------------------------------------------------------------------
@pytest.mark.parametrize("k, batch_size, true_clusters", [(5, 40, 5), (12, 8, 2)])
def test_minibatch_updates_are_sklearns_mini_batch_step(k, batch_size, true_clusters):
    """Each update against scikit-learn's own _mini_batch_step on the same batch, with its reassignment
    schedule (MiniBatchKMeans._random_reassign) and a RandomState seeded as the scene's."""
    from sklearn.cluster._kmeans import _mini_batch_step
    from scenes.kmeans.sim import reassign_random_state
    sim = Simulation(params(algorithm="minibatch", k=k, true_clusters=true_clusters, batch_size=batch_size,
                            n_samples=2000), 3)
    since, reassignments = 0, 0
    for i in range(1, 41):
        assign, update = sim.step(), sim.step()
        assert (assign.data["phase"], update.data["phase"]) == ("assign", "update")
        x, batch = assign.data["points"], assign.data["batch_indices"]
        assert len(batch) == batch_size
        centres = np.array(assign.data["centroids"])
        counts = np.array(assign.data["center_counts"], dtype=np.float64)
        since += batch_size  # MiniBatchKMeans._random_reassign
        due = bool((counts == 0).any() or since >= 10 * k)
        since = 0 if due else since
        new = np.zeros_like(centres)
        _mini_batch_step(x[batch], np.ones(len(batch)), centres, new, counts, reassign_random_state(3, 0, i),
                         random_reassign=due)
        np.testing.assert_allclose(update.data["centroids"], new, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(update.data["center_counts"], counts)
        reassignments += len(update.data["reassigned_centers"])
        if not due or not len(update.data["reassigned_centers"]):
            # The per-centre learning rate: the centre's batch points over all points it has absorbed.
            hits = np.bincount(assign.data["labels"][batch], minlength=k)
            np.testing.assert_allclose(update.data["learning_rates"],
                                       np.where(hits > 0, hits / np.maximum(counts, 1), 0))
        np.testing.assert_array_equal(update.data["labels"], nearest(x, centres))
    if k == 12:  # 12 centres on 2 blobs: low-count centres are reassigned, and the message says so
        assert reassignments > 0


def test_minibatch_runs_max_iter_batches_and_n_init_uses_its_own_runs():
    p = params(algorithm="minibatch", k=3, max_iter=7, batch_size=16)
    frames = run_to_end(Simulation(p, 0))
    last = frames[-1]
    assert last.step == 2 * 7 + 1 and "max_iter = 7 batches" in last.message and not last.data["converged"]
    np.testing.assert_array_equal(last.data["labels"], nearest(last.data["points"], last.data["centroids"]))
    from scenes.kmeans.sim import initial_centroids, minibatch_run
    x = last.data["points"]
    finals = [minibatch_run(x, initial_centroids(x, 3, "random_points", 0, run), 7, 16, 0, run)[2]
              for run in range(4)]
    best = run_to_end(Simulation({**p, "n_init": 4}, 0))[-1]
    assert best.data["inertia"] == pytest.approx(min(finals), rel=1e-12)
    assert finals[0] == pytest.approx(last.data["inertia"], rel=1e-12)


# -- Gaussian mixture (EM) --------------------------------------------------------------------------------
def _sklearn_mixture(x, start, max_iter, reg_covar=1e-6):
    import warnings
    from sklearn.mixture import GaussianMixture
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 runs exactly max_iter iterations
        return GaussianMixture(len(start.data["centroids"]), covariance_type="full", reg_covar=reg_covar,
                               weights_init=start.data["mixture_weights"], means_init=start.data["centroids"],
                               precisions_init=np.linalg.inv(start.data["covariances"]), max_iter=max_iter,
                               tol=0).fit(x)


@pytest.mark.parametrize("dataset", ["anisotropic", "unequal_variance", "moons"])
@pytest.mark.parametrize("iterations", [1, 4, 25])
def test_em_half_steps_equal_sklearn_gaussian_mixture_from_the_same_start(dataset, iterations):
    sim = Simulation(params(algorithm="gmm", dataset=dataset, k=3, init="kmeans_plus_plus", n_samples=600), 2)
    start = sim.step(coarse=True)
    assert start.data["phase"] == "init"
    for _ in range(iterations):
        e = sim.step()
        m = sim.step()
        assert (e.data["phase"], m.data["phase"]) == ("e_step", "m_step")
    x = m.data["points"]
    gm = _sklearn_mixture(x, start, iterations)
    assert gm.n_iter_ == iterations
    np.testing.assert_allclose(m.data["centroids"], gm.means_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.data["covariances"], gm.covariances_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.data["mixture_weights"], gm.weights_, rtol=0, atol=1e-12)
    assert e.data["log_likelihood"] == pytest.approx(gm.lower_bound_, rel=1e-10)
    after = sim.step()  # the next E-step: the mean log-likelihood of the fitted mixture, its labels
    assert after.data["log_likelihood"] == pytest.approx(gm.score(x), rel=1e-10)
    np.testing.assert_array_equal(after.data["labels"], gm.predict(x))
    np.testing.assert_allclose(after.data["responsibilities"], gm.predict_proba(x), rtol=0, atol=1e-6)
    assert after.data["responsibilities"].dtype == np.float32


def test_reg_covar_is_sklearns_default():
    # A blob of 3 identical points: its covariance is reg_covar alone, so another reg_covar shows.
    x = np.vstack([np.random.default_rng(0).normal(0, 1, (60, 2)), np.full((3, 2), 6.0)])
    sim = Simulation(params(algorithm="gmm", k=2, init="manual", centroids_set=placed(0, [[0, 0], [6, 6]])), 0,
                     data={"x": x.tolist()})
    start = sim.frame()
    for _ in range(3):
        m = sim.step(coarse=True)
    np.testing.assert_allclose(m.data["covariances"][1], 1e-6 * np.eye(2), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(m.data["covariances"], _sklearn_mixture(x, start, 3).covariances_, rtol=0, atol=1e-12)
    other = _sklearn_mixture(x, start, 3, reg_covar=1e-3).covariances_
    assert np.abs(m.data["covariances"] - other).max() > 1e-4


def test_em_log_likelihood_never_decreases_and_converges():
    for dataset in ("anisotropic", "unequal_size", "circles"):
        for seed in range(3):
            frames = run_to_end(Simulation(params(algorithm="gmm", dataset=dataset, k=4, n_samples=400), seed))
            last = frames[-1]
            history = last.data["log_likelihood_history"]
            assert len(history) == last.data["iteration"] >= 2
            assert np.all(np.diff(history) >= -1e-12 * np.abs(history[1:]))
            if last.data["converged"]:
                assert history[-1] - history[-2] < 1e-6 * abs(history[-1])
                assert last.message.startswith(f"converged after {last.data['iteration']} iterations")
            else:
                assert "max_iter = 300" in last.message


def test_a_singular_covariance_stops_em_with_a_message():
    # Two points far out: one component's covariance is rank 1, which no 1e-6 on the diagonal rescues at
    # this scale (scikit-learn raises "ill-defined empirical covariance" here).
    sim = Simulation(params(algorithm="gmm", k=1), 0, data={"x": [[0.0, 175874.0], [281760.0, 0.0]]})
    frame = sim.frame()
    assert frame.done and frame.message.startswith("EM stopped: component 0's covariance is singular")
    assert np.isfinite(frame.data["covariances"]).all()
    # Well-spread data is not refused.
    assert not Simulation(params(algorithm="gmm", k=1), 0, data={"x": [[0, 0], [1, 0], [0, 1]]}).done


def test_a_drag_in_em_moves_the_means_and_the_next_half_step_is_an_e_step():
    p = params(algorithm="gmm", k=3)
    sim = Simulation(p, 0)
    for _ in range(3):
        sim.step()
    here = sim.frame()
    assert here.data["phase"] == "e_step"
    moved = np.array(here.data["centroids"]) + [[1.0, 1.0], [0, 0], [0, 0]]
    sim.set_params({**p, "centroids_set": placed(here.step, moved)})
    e = sim.step()
    assert e.data["phase"] == "e_step" and e.data["iteration"] == here.data["iteration"]
    from scenes.kmeans.sim import e_step
    responsibilities, ll = e_step(e.data["points"], here.data["mixture_weights"], moved, here.data["covariances"])
    assert e.data["log_likelihood"] == pytest.approx(ll, rel=1e-12)
    assert len(e.data["log_likelihood_history"]) == len(here.data["log_likelihood_history"])


def test_with_n_init_the_steppable_kmeans_plus_plus_picks_are_the_best_initialisations():
    from scenes.kmeans.sim import initial_centroids
    p = params(init="kmeans_plus_plus", k=5, true_clusters=5, cluster_std=1.5, n_samples=800, n_init=6)
    sim = Simulation(p, 4)
    x = sim.points
    finals = [lloyd(x, initial_centroids(x, 5, "kmeans_plus_plus", 4, run), 300)[2] for run in range(6)]
    best = int(np.argmin(finals))
    assert sim.best_run == best != 0  # (not the first: the test would not tell them apart)
    frame = sim.step(coarse=True)
    assert frame.data["phase"] == "init"
    np.testing.assert_array_equal(frame.data["centroids"], initial_centroids(x, 5, "kmeans_plus_plus", 4, best))
    assert run_to_end(sim)[-1].data["inertia"] == pytest.approx(finals[best], rel=1e-12)


# -- states with a message -----------------------------------------------------------------------------
def test_k_larger_than_the_points_is_a_message_state():
    sim = Simulation(params(k=12, n_samples=10), 0)
    frame = sim.frame()
    assert frame.done and sim.done and "need at least 12 points" in frame.message
    assert sim.step().step == 0
    sim = Simulation(params(k=5), 0, data={"x": [[0, 0], [1, 1], [2, 2]]})
    assert sim.done and "only 3" in sim.frame().message


@pytest.mark.parametrize("user, words", [({"x": []}, "no points"), ({"x": [[0, math.inf]]}, "infinite"),
                                         ({"x": [[1, 2, 3]]}, "pairs"), ("points", "mapping")])
def test_bad_user_data_is_a_message_state(user, words):
    sim = Simulation(params(), 0, data=user)
    assert sim.done and words in sim.frame().message


def test_user_points_cluster_and_their_labels_are_ignored():
    x = [[0, 0], [0.1, 0], [5, 5], [5.1, 5], [0, 0.2], [5, 5.2]]
    with_labels = run_to_end(Simulation(params(k=2), 0, data={"x": x, "labels": [0] * 6}))[-1]
    without = run_to_end(Simulation(params(k=2), 0, data={"x": x}))[-1]
    np.testing.assert_array_equal(with_labels.data["labels"], without.data["labels"])
    assert len(set(with_labels.data["labels"][[0, 1, 4]])) == 1 != len(set(with_labels.data["labels"][[0, 2]]))
    assert "your own 6 points" in with_labels.message


def test_manual_init_waits_for_k_centroids():
    sim = Simulation(params(init="manual", k=3), 0)
    assert sim.done and "0 of 3 placed" in sim.frame().message
    sim.set_params(params(init="manual", k=3, centroids_set=placed(0, [[0, 0], [1, 1]])))
    assert sim.done and "2 of 3 placed" in sim.frame().message
    start = [[0, 0], [1, 1], [-5, 5]]
    sim.set_params(params(init="manual", k=3, centroids_set=placed(0, start)))
    assert not sim.done
    last = run_to_end(sim)[-1]
    km = sklearn_kmeans(last.data["points"], start)
    np.testing.assert_array_equal(last.data["labels"], km.labels_)


# -- frames, restore, timeline, session -------------------------------------------------------------------
def test_frame_keys_are_the_contract():
    extra = {"lloyd": set(), "minibatch": MINIBATCH_KEYS, "gmm": GMM_KEYS}
    for algorithm in ("lloyd", "minibatch", "gmm"):
        for init in ("random_points", "kmeans_plus_plus", "manual"):
            sim = Simulation(params(init=init, algorithm=algorithm), 0)
            frames = [sim.frame(), sim.step(), sim.step(), sim.step(coarse=True)]
            for frame in frames:
                assert set(frame.data) == FRAME_KEYS | extra[algorithm]
    frame = Simulation(params(), 0).step()
    d = frame.data
    assert d["labels"].dtype.kind == "i" and d["labels"].shape == (500,)
    assert d["centroids"].shape == d["previous_centroids"].shape == (3, 2)
    assert d["algorithm"] == "lloyd" and d["k"] == 3
    first = Simulation(params(), 0).frame()
    assert (first.data["labels"] == -1).all() and math.isnan(first.data["inertia"])
    assert first.data["iteration"] == 0 and len(first.data["inertia_history"]) == 0


def test_frames_share_the_points_and_unchanged_labels():
    sim = Simulation(params(), 0)
    a, b = sim.step(), sim.step()
    assert a.data["points"] is b.data["points"] is sim.points and not sim.points.flags.writeable
    assert a.data["labels"] is b.data["labels"]


@pytest.mark.parametrize("algorithm", ["lloyd", "minibatch", "gmm"])
def test_restore_is_exact(algorithm):
    sim = Simulation(params(init="kmeans_plus_plus", k=5, algorithm=algorithm, dataset="anisotropic"), 3)
    frames = [sim.frame()] + [sim.step() for _ in range(12)]
    for index in (0, 3, 6, 9, 10):
        sim.restore(frames[index])
        again = [sim.step() for _ in range(12 - index)]
        for x, y in zip(again, frames[index + 1:]):
            assert x.message == y.message and x.step == y.step
            assert set(x.data) == set(y.data)
            for key in x.data:
                np.testing.assert_array_equal(x.data[key], y.data[key])
    # Restoring an E-step frame after the run went on (the M-step cannot reuse the later E-step's numbers).
    sim.restore(frames[8])
    assert algorithm != "gmm" or frames[8].data["phase"] == "e_step"
    np.testing.assert_array_equal(sim.step().data["centroids"], frames[9].data["centroids"])


def test_a_pickled_session_continues_the_same_run_and_shares_its_points_again():
    import pickle
    for algorithm in ("lloyd", "gmm"):
        session = Session(SCENE, {"algorithm": algorithm, "k": 4}, 2)
        session.forward(5)
        copy = pickle.loads(pickle.dumps(session))
        assert not copy.simulation.points.flags.writeable
        a, b = session.forward(3), copy.forward(3)
        for key in a.data:
            np.testing.assert_array_equal(a.data[key], b.data[key])


def test_timeline_step_back_gives_the_exact_earlier_frames():
    p = params(init="kmeans_plus_plus", k=5)
    timeline = Timeline(Simulation(p, 1), p, capacity=6, recent=2)
    recorded = [timeline.current]
    for _ in range(14):
        recorded.append(timeline.forward())
    for step in (13, 12, 7, 2, 0):
        frame = timeline.seek(step)
        for key in FRAME_KEYS:
            np.testing.assert_array_equal(frame.data[key], recorded[step].data[key])
        assert frame.message == recorded[step].message


def test_coarse_step_finishes_the_iteration():
    p = params(init="kmeans_plus_plus", k=4)
    fine, coarse = Simulation(p, 0), Simulation(p, 0)
    first = coarse.step(coarse=True)  # the whole initialisation
    for _ in range(4):
        fine.step()
    np.testing.assert_array_equal(first.data["centroids"], fine.frame().data["centroids"])
    assert first.data["phase"] == "init"
    for _ in range(3):
        whole = coarse.step(coarse=True)
        fine.step()
        half = fine.step()
        assert whole.data["phase"] == "update"
        for key in ("labels", "centroids", "previous_centroids", "inertia", "inertia_history"):
            np.testing.assert_array_equal(whole.data[key], half.data[key])
    fine.step()  # an assign: a coarse step now only updates
    assert coarse.step().data["phase"] == "assign"
    np.testing.assert_array_equal(coarse.step(coarse=True).data["centroids"], fine.step().data["centroids"])


def test_a_drag_continues_the_run_from_the_dragged_centroids():
    p = params(k=3)
    sim = Simulation(p, 0)
    for _ in range(4):
        sim.step()
    moved = np.array(sim.frame().data["centroids"])
    moved[0] += [3.0, -2.0]
    sim.set_params({**p, "centroids_set": placed(4, moved)})
    after = sim.step()
    assert after.data["phase"] == "assign"
    np.testing.assert_array_equal(after.data["centroids"], moved)
    np.testing.assert_array_equal(after.data["labels"], nearest(after.data["points"], moved))
    # A drag for another step, or of the wrong number of centroids, does nothing.
    here = sim.frame()
    expected = sim.step()
    sim.restore(here)
    sim.set_params({**p, "centroids_set": placed(99, moved + 1)})
    sim.set_params({**p, "centroids_set": placed(5, moved[:2])})
    assert "ignored 2 dragged centroid(s)" in sim.frame().message
    np.testing.assert_array_equal(sim.step().data["centroids"], expected.data["centroids"])


def test_a_drag_after_convergence_restarts_the_run():
    p = params(k=3)
    sim = Simulation(p, 0)
    last = run_to_end(sim)[-1]
    assert sim.done
    moved = np.array(last.data["centroids"]) + [[4.0, 4.0], [0, 0], [0, 0]]
    sim.set_params({**p, "centroids_set": placed(last.step, moved)})
    assert not sim.done
    assert not sim.step().data["converged"]


def test_a_drag_through_the_session_survives_save_and_reopen(registered):
    session = Session(SCENE, {"k": 4, "true_clusters": 4}, 6)
    session.forward(3)
    moved = np.array(session.frame.data["centroids"]) + [[2.0, 0.0], [0, 0], [0, -3.0], [0, 0]]
    session.set_params({"centroids_set": placed(3, moved)})
    session.forward(5)
    undragged = Session(SCENE, {"k": 4, "true_clusters": 4}, 6)
    undragged.forward(8)
    assert not np.array_equal(undragged.frame.data["inertia_history"], session.frame.data["inertia_history"])
    reopened = Session.from_dict(json.loads(json.dumps(session.to_dict())))
    assert reopened.step == session.step
    for key in FRAME_KEYS:
        np.testing.assert_array_equal(reopened.frame.data[key], session.frame.data[key])
    # Stepping back over the drag and forward again replays it.
    expected = session.frame
    session.seek(2)
    session.seek(expected.step)
    np.testing.assert_array_equal(session.frame.data["centroids"], expected.data["centroids"])


def test_manual_centroids_at_step_zero_replay_and_reopen(registered):
    session = Session(SCENE, {"init": "manual", "k": 2}, 0)
    assert session.done
    session.set_params({"centroids_set": placed(0, [[-5, 0], [5, 5]])})
    assert not session.done
    session.forward(4)
    reopened = Session.from_dict(json.loads(json.dumps(session.to_dict())))
    np.testing.assert_array_equal(reopened.frame.data["centroids"], session.frame.data["centroids"])
    expected = session.frame
    session.restart()
    np.testing.assert_array_equal(session.forward(4).data["centroids"], expected.data["centroids"])


@pytest.mark.parametrize("init", ["random_points", "manual"])
def test_em_centroids_set_before_the_first_half_step_replays_the_same_run(registered, init):
    session = Session(SCENE, {"algorithm": "gmm", "k": 2, "init": init}, 0)
    if init == "manual":
        session.set_params({"centroids_set": placed(0, [[-5, 0], [5, 5]])})
    session.set_params({"centroids_set": placed(0, [[-3, 2], [4, 6]])})
    start = session.frame if init == "random_points" else None
    session.forward(5)
    reopened = Session.from_dict(json.loads(json.dumps(session.to_dict())))
    for key in ("centroids", "covariances", "mixture_weights", "log_likelihood_history"):
        np.testing.assert_array_equal(reopened.frame.data[key], session.frame.data[key])
    from scenes.kmeans.sim import mixture_start
    fresh = Simulation(params(algorithm="gmm", k=2, init=init, centroids_set=placed(0, [[-3, 2], [4, 6]])), 0)
    weights, covariances = mixture_start(fresh.points, np.array([[-3.0, 2.0], [4.0, 6.0]]))
    np.testing.assert_array_equal(fresh.frame().data["covariances"], covariances)
    assert start is None or start.step == 0


def test_session_file_takes_user_points_and_frames_are_json(registered):
    session = Session(SCENE, {"k": 2}, 0, data={"x": [[0, 0], [1, 0], [5, 5], [6, 5]], "labels": [0, 0, 0, 0]})
    session.forward(3)
    document = json.loads(json.dumps(session.to_dict()))
    assert session_file.validate(document).data["x"] == [[0, 0], [1, 0], [5, 5], [6, 5]]
    reopened = Session.from_dict(document)
    np.testing.assert_array_equal(reopened.frame.data["labels"], session.frame.data["labels"])
    out = json.loads(json.dumps(frame_to_jsonable(session.frame), allow_nan=False))
    assert {"points", "labels", "centroids", "inertia"} <= set(out)


def test_csv_table_has_a_row_per_point_and_per_centroid():
    for algorithm in ("lloyd", "gmm"):
        sim = Simulation(params(algorithm=algorithm, init="kmeans_plus_plus", k=3, n_samples=50), 0)
        for frame in (sim.step(), sim.step(coarse=True), sim.step(), sim.step()):
            header, rows = SCENE.table(frame)
            d = frame.data
            assert all(len(row) == len(header) for row in rows)
            points = [row for row in rows if row[0] == "point"]
            centroids = [row for row in rows if row[0] == "centroid"]
            assert len(points) == 50 and len(centroids) == len(d["centroids"])
            np.testing.assert_array_equal([r[2:4] for r in points], d["points"])
            np.testing.assert_array_equal([r[4] for r in points], d["labels"])
            np.testing.assert_array_equal([r[2:4] for r in centroids], d["centroids"])
            np.testing.assert_array_equal([r[-2:] for r in centroids], d["previous_centroids"])
            if d["phase"] == "init_pick":
                np.testing.assert_array_equal([r[5] for r in points], d["pick_probabilities"])
            if algorithm == "gmm" and d["phase"] in ("e_step", "m_step"):
                columns = [header.index(f"responsibility_{j}") for j in range(3)]
                np.testing.assert_array_equal([[r[c] for c in columns] for r in points], d["responsibilities"])


# -- parameters --------------------------------------------------------------------------------------------
def test_parse_centroids_set_is_strict():
    assert parse_centroids_set("") is None
    step, c = parse_centroids_set(placed(3, [[1, 2], [3.5, -4]]))
    assert step == 3 and c.tolist() == [[1, 2], [3.5, -4]]
    for bad in ("{", "[]", '{"step": 0}', '{"step": -1, "centroids": [[0, 0]]}', '{"step": 1.5, "centroids": [[0, 0]]}',
                '{"step": true, "centroids": [[0, 0]]}', '{"step": 0, "centroids": []}',
                '{"step": 0, "centroids": [[0, 0, 0]]}', '{"step": 0, "centroids": [[0, "1"]]}',
                '{"step": 0, "centroids": [[0, NaN]]}', '{"step": 0, "centroids": [[0, 1e300]]}',
                '{"step": 0, "centroids": [[0, true]]}', '{"step": 0, "centroids": [[0, 0]], "x": 1}',
                json.dumps({"step": 0, "centroids": [[0, 0]] * 13})):
        with pytest.raises(ParamError):
            parse_centroids_set(bad)
    with pytest.raises(ParamError, match="centroids_set: "):
        find(PARAMS, "centroids_set").validate('{"step": 0}')


def test_params_the_spec_names():
    names = {p.name for p in PARAMS}
    assert {"dataset", "n_samples", "true_clusters", "cluster_std", "data_seed", "k", "init", "n_init", "max_iter",
            "algorithm", "centroids_set"} <= names
    assert find(PARAMS, "centroids_set").live and find(PARAMS, "centroids_set").hidden
    assert find(PARAMS, "n_samples").maximum == 10000 and find(PARAMS, "k").maximum == 12
    assert SCENE.coarse_step == "Step iteration"


def test_every_help_is_one_sentence():
    for p in PARAMS:
        assert p.help.endswith(".") and p.help.count(". ") == 0, p.name


def test_presets_are_valid():
    for preset in PRESETS:
        SCENE.resolve(preset.values)
        assert preset.description


def _preset_end(name, seed=0, **changes):
    values = {**next(p for p in PRESETS if p.name == name).values, **changes}
    return run_to_end(Simulation(params(**values), seed))[-1]


def test_the_bad_init_preset_ends_worse_and_kmeans_plus_plus_or_n_init_cure_it():
    bad = _preset_end("Bad init: local optimum")
    good = _preset_end("Bad init: local optimum", init="kmeans_plus_plus")
    assert bad.data["converged"] and bad.data["inertia"] > 2 * good.data["inertia"]
    assert _preset_end("Bad init: local optimum", n_init=10).data["inertia"] == pytest.approx(good.data["inertia"])


def test_kmeans_fails_on_moons_and_anisotropic_blobs_where_em_fits_the_blobs():
    from sklearn.datasets import make_blobs, make_moons
    from sklearn.metrics import adjusted_rand_score
    moons = _preset_end("Moons: K-Means fails")
    truth = make_moons(500, noise=data.SHAPE_NOISE, random_state=0)[1]
    assert adjusted_rand_score(truth, moons.data["labels"]) < 0.5
    truth = make_blobs(500, centers=3, random_state=170)[1]
    kmeans = _preset_end("Anisotropic blobs")
    em = _preset_end("Anisotropic: EM succeeds")
    assert adjusted_rand_score(truth, kmeans.data["labels"]) < 0.7
    assert adjusted_rand_score(truth, em.data["labels"]) > 0.95 and em.data["algorithm"] == "gmm"
    well = _preset_end("Well-separated blobs")
    assert adjusted_rand_score(make_blobs(500, centers=4, cluster_std=0.8, random_state=3)[1],
                               well.data["labels"]) > 0.95


def test_the_choosing_k_preset_bends_and_peaks_at_its_four_blobs():
    # What its text promises, on its own data: the mean silhouette (scikit-learn's) is highest at k = 4
    # and the inertia's last large relative drop is from 3 to 4 clusters (then every drop is < 15 %).
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    values = next(p for p in PRESETS if p.name == "Choosing k").values
    x = np.asarray(Simulation(params(**values), 0).frame().data["points"])
    fits = {k: KMeans(k, n_init=3, random_state=0).fit(x) for k in range(1, 9)}
    silhouettes = {k: silhouette_score(x, fits[k].labels_) for k in range(2, 9)}
    assert max(silhouettes, key=silhouettes.get) == 4
    inertia = np.array([fits[k].inertia_ for k in range(1, 9)])
    ratios = inertia[1:] / inertia[:-1]  # ratios[i]: from k = i + 1 to i + 2
    assert ratios[2] < 0.5 and (ratios[3:] > 0.85).all()


def test_data_sets_are_sklearns_generators():
    from sklearn.datasets import make_blobs, make_moons
    x = data.generate("blobs", 300, 4, 0.7, 9)
    np.testing.assert_array_equal(x, make_blobs(300, centers=4, cluster_std=0.7, random_state=9)[0])
    np.testing.assert_array_equal(data.generate("anisotropic", 300, 3, 1.0, 9),
                                  make_blobs(300, centers=3, random_state=9)[0] @ data.ANISOTROPIC)
    np.testing.assert_array_equal(data.generate("moons", 200, 1, 1.0, 2),
                                  data.SHAPE_SCALE * make_moons(200, noise=data.SHAPE_NOISE, random_state=2)[0])
    assert data.unequal_sizes(610, 3) == [500, 100, 10] or sum(data.unequal_sizes(610, 3)) == 610
    assert sum(data.unequal_sizes(10, 8)) == 10 and min(data.unequal_sizes(10, 8)) >= 1
    for name in data.DATASETS:
        for n in (10, 10000):
            x = data.generate(name, n, 8, 5.0, 1)
            assert x.shape == (n, 2) and np.isfinite(x).all() and not x.flags.writeable


# Data size narrowed to 10..300 (the log slider reaches 10,000, where 200 runs of many half-steps would
# take minutes); every other parameter spans its whole declared range.
FAST = {"n_samples": st.integers(10, 300)}
CENTROIDS = st.one_of(st.just(""), st.builds(
    lambda step, pts: placed(step, pts), st.integers(0, 6),
    st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=1, max_size=12)))
USER = st.one_of(st.none(), st.none(), st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)).map(list),
                                                max_size=30).map(lambda x: {"x": x}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=param_space(PARAMS, FAST, log_scale=True), seed=st.integers(0, 2**31 - 1), later=CENTROIDS,
       user=USER)
def test_any_parameters_cluster_without_exceptions(values, seed, later, user):
    p = SCENE.resolve(values)
    sim = Simulation(p, seed, data=user)
    frames = [sim.frame()]
    for index in range(6):
        if index == 3:
            sim.set_params({**p, "centroids_set": later})
        frames.append(sim.step(coarse=index == 4))
    n = len(sim.points)
    for frame in frames:
        d = frame.data
        assert frame.message
        assert np.isfinite(d["centroids"]).all()
        assert d["labels"].shape == (n,) and d["labels"].min(initial=-1) >= -1
        assert d["labels"].max(initial=-1) < max(p["k"], len(d["centroids"]))
        if d["phase"] in ("assign", "update"):
            assert len(d["centroids"]) == p["k"] and math.isfinite(d["inertia"])
    if n < p["k"] and user is None:
        assert frames[-1].done and "need at least" in frames[-1].message
    json.dumps(frame_to_jsonable(frames[-1]), allow_nan=False)
