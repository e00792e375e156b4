"""K-Means analysis (scenes/kmeans/analysis.py) against independent truth: scipy's cdist, scikit-learn's
KMeans (Lloyd from the same start), sklearn.metrics' silhouette, and the k-means++ D² law (chi-squared)."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.stats import chisquare
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_samples as sk_silhouette_samples
from sklearn.metrics import silhouette_score as sk_silhouette_score

from scenes.kmeans import analysis
from scenes.kmeans.analysis import (assign, best_fit, cluster_means, elbow, init_seed, kmeans_fit, kmeans_plus_plus,
                                    kmeans_plus_plus_indices, silhouette_indices, silhouette_samples, silhouette_score,
                                    silhouette_vs_k, sq_distances)


def blobs(n=600, centers=4, std=1.0, seed=0, separated=False):
    if separated:
        centres = np.array([[-40.0, -40.0], [40.0, -40.0], [-40.0, 40.0], [40.0, 40.0], [0.0, 0.0]])[:centers]
        return make_blobs(n_samples=n, centers=centres, cluster_std=std, random_state=seed)[0]
    return make_blobs(n_samples=n, centers=centers, cluster_std=std, random_state=seed)[0]


def data_sets():
    rng = np.random.default_rng(7)
    aniso = blobs(500, 3, seed=170) @ np.array([[0.6, -0.6], [-0.4, 0.8]])
    return {"blobs": blobs(), "anisotropic": aniso, "uniform": rng.uniform(-10, 10, (700, 2)),
            "far_off": blobs(400, 3, seed=3) + 1e4, "3d": rng.normal(size=(300, 3))}


def sklearn_lloyd(x, init, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KMeans(len(init), init=init, n_init=1, algorithm="lloyd", tol=kwargs.pop("tol", 0.0), **kwargs).fit(x)


# -- distances, assignment, means ---------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_sq_distances_equal_cdist_squared(scale):
    rng = np.random.default_rng(1)
    x, c = rng.normal(size=(500, 2)) * scale, rng.normal(size=(7, 2)) * scale
    d = sq_distances(x, c)
    assert d.dtype == np.float64 and d.shape == (500, 7)
    np.testing.assert_allclose(d, cdist(x, c) ** 2, rtol=1e-10, atol=1e-12 * scale ** 2)


def test_sq_distances_clip_round_off_at_zero():
    x = np.random.default_rng(2).normal(size=(2000, 2)) * 1e3 + 1e4
    d = sq_distances(x, x)
    assert (d >= 0).all()
    assert np.abs(np.diag(d)).max() < 1e-4  # GEMM round-off only, never negative
    x32 = x[:3].astype(np.float32)  # computed in float64 from the float32 values
    np.testing.assert_allclose(sq_distances(x32, x[:2]), cdist(x32.astype(np.float64), x[:2]) ** 2, rtol=1e-9,
                               atol=1e-6)  # GEMM round-off ~1e-16 × ‖x‖² (2e8 here)


def test_assign_is_the_nearest_centre_and_its_distance():
    rng = np.random.default_rng(3)
    x, c = rng.normal(size=(3000, 2)), rng.normal(size=(9, 2))
    labels, d = assign(x, c)
    truth = cdist(x, c) ** 2
    np.testing.assert_array_equal(labels, truth.argmin(axis=1))
    np.testing.assert_allclose(d, truth.min(axis=1), rtol=1e-9, atol=1e-12)
    # the first of equal centres wins, as np.argmin
    labels, _ = assign(x, np.vstack([c[:1], c[:1], c[1:2], c[1:2]]))
    assert set(np.unique(labels)) <= {0, 2}
    assert assign(x, np.zeros((0, 2)))[0].tolist() == [-1] * len(x)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 12])
def test_assign_labels_every_k(k):
    rng = np.random.default_rng(k)
    x, c = rng.normal(size=(400, 2)), rng.normal(size=(k, 2))
    np.testing.assert_array_equal(assign(x, c)[0], (cdist(x, c) ** 2).argmin(axis=1))


def test_cluster_means_by_bincount_equal_loop_means_and_empty_is_nan():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    labels = rng.integers(0, 5, size=300)
    labels[labels == 3] = 4  # cluster 3 empty
    labels[:10] = -1  # not assigned: ignored
    means = cluster_means(x, labels, 6)
    for j in range(6):
        members = x[labels == j]
        if len(members):
            np.testing.assert_allclose(means[j], members.mean(axis=0), rtol=1e-12, atol=1e-15)
        else:
            assert np.isnan(means[j]).all(), j
    assert np.isnan(means[3]).all() and np.isnan(means[5]).all()


# -- Lloyd against scikit-learn ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(data_sets()))
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_kmeans_fit_from_the_same_start_equals_sklearn_lloyd(name, k):
    x = data_sets()[name]
    init = kmeans_plus_plus(x, k, np.random.default_rng([k, 11]))
    labels, centroids, value = kmeans_fit(x, k, init=init)
    km = sklearn_lloyd(x, init)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_allclose(centroids, km.cluster_centers_, rtol=1e-12, atol=1e-9)
    assert value == pytest.approx(km.inertia_, rel=1e-10)
    # converged: the centroids are the means of their points, and the labels the nearest centroid
    np.testing.assert_allclose(centroids, cluster_means(x, labels, k), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(assign(x, centroids)[0], labels)


@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_kmeans_fit_stopped_by_max_iter_relabels_like_sklearn(max_iter):
    x = data_sets()["uniform"]
    init = x[:6] * 0.1  # a poor start: several iterations needed
    labels, centroids, value = kmeans_fit(x, 6, init=init, max_iter=max_iter)
    km = sklearn_lloyd(x, init, max_iter=max_iter)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_allclose(centroids, km.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert value == pytest.approx(km.inertia_, rel=1e-12)


@pytest.mark.parametrize("tol", [1e-4, 1e-2])
def test_kmeans_fit_with_sklearns_tolerance(tol):
    x = data_sets()["uniform"]
    init = kmeans_plus_plus(x, 7, np.random.default_rng(5))
    labels, centroids, value = kmeans_fit(x, 7, init=init, tol=tol)
    km = sklearn_lloyd(x, init, tol=tol)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_allclose(centroids, km.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert value == pytest.approx(km.inertia_, rel=1e-12)


@pytest.mark.parametrize("far", [1, 2, 3])
def test_empty_clusters_are_relocated_as_sklearn_does(far):
    """Centroids far away from every point get no point in the first assign: scikit-learn moves them to
    the points farthest from their centres (several at once: argpartition's order)."""
    x = blobs(300, 3, seed=5)
    init = np.vstack([x[:3], 1e3 + np.arange(far)[:, None] * np.array([[5.0, -3.0]])])
    labels, centroids, value = kmeans_fit(x, len(init), init=init, max_iter=1)
    km = sklearn_lloyd(x, init, max_iter=1)
    np.testing.assert_allclose(centroids, km.cluster_centers_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(labels, km.labels_)
    # the relocated centroids are data points (clusters of one)
    for j in range(3, len(init)):
        assert (np.abs(x - centroids[j]).sum(axis=1) < 1e-9).any()
    labels, centroids, value = kmeans_fit(x, len(init), init=init)
    km = sklearn_lloyd(x, init)
    np.testing.assert_array_equal(labels, km.labels_)
    assert value == pytest.approx(km.inertia_, rel=1e-10)


def test_clusters_left_empty_with_every_point_on_its_centre_go_where_sklearn_puts_them():
    """Duplicate centres over three distinct points: nothing can be relocated (every distance is 0), so
    scikit-learn 1.9 puts the empty clusters on the largest cluster's centre. (Dyadic data: the mean and
    the cluster means are exact, so no round-off distance makes a point "farthest".)"""
    p = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    x = np.repeat(p, [4, 2, 2], axis=0)
    init = np.vstack([p, p[:2]])
    labels, centroids, value = kmeans_fit(x, 5, init=init)
    km = sklearn_lloyd(x, init)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(centroids, km.cluster_centers_)
    np.testing.assert_array_equal(centroids[3:], p[[0, 0]])
    assert value == km.inertia_ == 0.0


def test_more_clusters_than_distinct_points_has_zero_inertia_and_no_error():
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]]), 4, axis=0)
    labels, centroids, value = kmeans_fit(x, 5, rng=0, n_init=3)
    assert value == 0.0
    np.testing.assert_array_equal(centroids[labels], x)
    assert np.isfinite(centroids).all()
    for seed in range(20):
        picks = kmeans_plus_plus_indices(x, len(x), seed)
        np.testing.assert_array_equal(np.sort(picks), np.arange(len(x)))  # distinct indices once every D² is 0
        assert len({tuple(p) for p in x[picks[:3]]}) == 3  # the three distinct points come first


def test_duplicates_with_inexact_means_converge_to_zero_inertia():
    """Found by the hypothesis test below: 3 + 2 duplicates at 0.25 spacing, k = 5 (centred data: the means'
    round-off used to trigger a relocation in the converging iteration and leave stale labels, 0.1875)."""
    x = np.array([(0, 0), (0, 0), (0, 0), (0, 1), (0, 1)], float) * 0.25
    for init in (x[[3, 1, 2, 0, 4]], x[[2, 4, 1, 3, 0]]):
        labels, centroids, value = kmeans_fit(x, 5, init=init)
        assert value == pytest.approx(0.0, abs=1e-30)
        np.testing.assert_allclose(centroids[labels], x, rtol=0, atol=1e-15)
    np.testing.assert_allclose(elbow(x, ks=range(2, 6), n_init=2, seed=0), 0.0, rtol=0, atol=1e-30)


@pytest.mark.parametrize("k", [0, -1, 13])
def test_no_clustering_when_k_is_not_in_1_to_n(k):
    x = blobs(12, 2)
    labels, centroids, value = kmeans_fit(x, k, rng=0)
    assert (labels == -1).all() and len(labels) == 12
    assert np.isnan(centroids).all() and len(centroids) == max(k, 0)
    assert np.isnan(value)
    assert np.isnan(kmeans_fit(x, 2, init=np.zeros((3, 2)))[2])  # an init of the wrong shape


def test_kmeans_fit_n_init_keeps_the_best_run_and_is_deterministic():
    x = blobs(400, 5, std=1.5, seed=2)
    runs = []
    rng = np.random.default_rng(9)
    for _ in range(4):
        runs.append(kmeans_fit(x, 5, init=kmeans_plus_plus(x, 5, rng))[2])
    labels, centroids, value = kmeans_fit(x, 5, np.random.default_rng(9), n_init=4)
    assert value == min(runs)
    again = kmeans_fit(x, 5, np.random.default_rng(9), n_init=4)
    np.testing.assert_array_equal(again[0], labels)
    assert again[2] == value


# -- k-means++ -------------------------------------------------------------------------------------------
KPP_POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-4.0, 1.0]])


def d2_sequence_probability(x, sequence):
    """The D² law's probability of drawing the picks in this order: 1/n, then D²/ΣD² each."""
    p = 1.0 / len(x)
    for i in range(1, len(sequence)):
        d2 = (cdist(x, x[list(sequence[:i])]) ** 2).min(axis=1)
        p *= d2[sequence[i]] / d2.sum()
    return p


def test_kmeans_plus_plus_picks_follow_the_d2_law_chi_squared():
    x, k, draws = KPP_POINTS, 3, 12000
    counts = {}
    for seed in range(draws):
        picks = tuple(kmeans_plus_plus_indices(x, k, seed).tolist())
        counts[picks] = counts.get(picks, 0) + 1
    sequences = list(itertools.permutations(range(len(x)), k))
    expected = np.array([d2_sequence_probability(x, s) for s in sequences]) * draws
    observed = np.array([counts.get(s, 0) for s in sequences])
    assert observed.sum() == draws  # never a repeated pick
    big = expected >= 5  # pool the rare sequences into one cell
    f_obs, f_exp = observed[big], expected[big]
    if not big.all():
        f_obs, f_exp = np.append(f_obs, observed[~big].sum()), np.append(f_exp, expected[~big].sum())
    assert len(f_obs) > 30
    assert chisquare(f_obs, f_exp).pvalue > 1e-3
    np.testing.assert_array_equal(kmeans_plus_plus(x, k, 4), x[kmeans_plus_plus_indices(x, k, 4)])


def test_kmeans_plus_plus_beyond_n_points_is_nan():
    c = kmeans_plus_plus(KPP_POINTS, 7, 0)
    assert np.isfinite(c[:5]).all() and np.isnan(c[5:]).all()
    assert kmeans_plus_plus_indices(KPP_POINTS, 7, 0)[5:].tolist() == [-1, -1]


# -- the elbow -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tol", [analysis.ELBOW_TOL, 0.0])
def test_elbow_each_value_is_the_best_sklearn_fit_from_the_same_starts(tol):
    x = blobs(500, 4, seed=1)
    ks = range(1, 9)
    values = elbow(x, ks=ks, n_init=3, seed=5, tol=tol)
    for k, value in zip(ks, values):
        starts = [kmeans_plus_plus(x, k, np.random.default_rng(init_seed(5, k, r))) for r in range(3)]
        truth = min(sklearn_lloyd(x, start, tol=tol).inertia_ for start in starts)
        assert value == pytest.approx(truth, rel=1e-10), k
    assert values[0] == pytest.approx(((x - x.mean(axis=0)) ** 2).sum(), rel=1e-12)


def test_elbow_best_of_n_init_beats_single_runs_on_data_with_local_optima():
    x = np.random.default_rng(21).uniform(-10, 10, (600, 2))
    ks = range(2, 11)
    one, three = elbow(x, ks=ks, n_init=1, seed=4), elbow(x, ks=ks, n_init=3, seed=4)
    assert np.all(three <= one)
    assert np.sum(three < one * (1 - 1e-6)) >= 3  # the extra runs are different starts


def test_elbow_non_increasing_on_well_separated_blobs_and_nan_beyond_n():
    x = blobs(400, 5, std=1.0, seed=3, separated=True)
    values = elbow(x, ks=range(1, 11), n_init=3, seed=0)
    assert np.all(np.diff(values) <= 1e-9 * values[0])
    assert values[4] < 0.01 * values[3]  # the elbow at the true 5 clusters
    small = elbow(x[:6], ks=range(1, 9))
    assert np.isfinite(small[:6]).all() and np.isnan(small[6:]).all()
    assert small[5] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(elbow(np.zeros((0, 2)), ks=[1, 2])).all()


# -- the silhouette ------------------------------------------------------------------------------------------
def silhouette_cases():
    rng = np.random.default_rng(12)
    x = blobs(900, 4, std=2.0, seed=4)
    yield "kmeans", x, best_fit(x, 4)[0]
    yield "random labels", x, rng.integers(0, 3, size=len(x))
    yield "odd label values", x, np.array([-7, 3, 40])[rng.integers(0, 3, size=len(x))]
    labels = rng.integers(0, 4, size=len(x))
    labels[:3] = [9, 10, 11]  # clusters of one point
    yield "singletons", x, labels
    grid = rng.integers(0, 4, size=(300, 2)).astype(float)  # many duplicate points, exact distances
    yield "duplicates", grid, rng.integers(0, 3, size=300)
    yield "3d", rng.normal(size=(250, 3)), rng.integers(0, 5, size=250)
    big = blobs(2000, 3, seed=8)
    yield "2000 points", big, best_fit(big, 3)[0]


@pytest.mark.parametrize("case", list(silhouette_cases()), ids=lambda c: c[0])
def test_silhouette_equals_sklearn(case):
    _, x, labels = case
    np.testing.assert_allclose(silhouette_samples(x, labels), sk_silhouette_samples(x, labels), rtol=0, atol=1e-12)
    assert silhouette_score(x, labels) == pytest.approx(sk_silhouette_score(x, labels), abs=1e-12)


def silhouette_by_definition(x, labels):
    """The silhouette straight from its definition, on scipy's exact pairwise distances."""
    d = cdist(x, x)
    out = np.zeros(len(x))
    for i, own in enumerate(labels):
        same = (labels == own) & (np.arange(len(x)) != i)
        if not same.any():
            continue
        a = d[i, same].mean()
        b = min(d[i, labels == other].mean() for other in set(labels.tolist()) - {own})
        out[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return out


def test_silhouette_of_near_duplicates_uses_exact_distances():
    """Pairs of points 1e-7 apart, far from the origin: the GEMM form's round-off (~1e-16 × ‖x‖²) would
    make their distance √round-off ~ 1e-5; exact differences keep a = 1e-7."""
    rng = np.random.default_rng(13)
    base = rng.normal(size=(40, 2)) * 3 + 1e3
    x = np.vstack([base, base + 1e-7])
    labels = np.tile(np.arange(40) % 4, 2)
    np.testing.assert_allclose(silhouette_samples(x, labels), silhouette_by_definition(x, labels), rtol=0, atol=1e-12)
    pair_labels = np.tile(np.arange(40), 2)  # each pair its own cluster: a = 1e-7
    np.testing.assert_allclose(silhouette_samples(x, pair_labels), silhouette_by_definition(x, pair_labels),
                               rtol=0, atol=1e-12)
    assert silhouette_samples(x, pair_labels).min() > 0.999


def test_silhouette_row_blocks_change_nothing(monkeypatch):
    x = blobs(700, 3, seed=6)
    labels = best_fit(x, 3)[0]
    whole = silhouette_samples(x, labels)
    monkeypatch.setattr(analysis, "BLOCK_ELEMENTS", 3 * 700 + 5)  # blocks of 3 rows, a short last one
    np.testing.assert_allclose(silhouette_samples(x, labels), whole, rtol=0, atol=1e-13)
    np.testing.assert_allclose(whole, sk_silhouette_samples(x, labels), rtol=0, atol=1e-12)


def test_silhouette_undefined_is_nan_where_sklearn_raises():
    x = blobs(50, 2)
    for labels in (np.zeros(50, dtype=int), np.arange(50)):
        with pytest.raises(ValueError):
            sk_silhouette_score(x, labels)
        assert np.isnan(silhouette_samples(x, labels)).all()
        assert np.isnan(silhouette_score(x, labels))
    assert np.isnan(silhouette_score(x, np.zeros(49, dtype=int)))
    assert np.isnan(silhouette_score(np.zeros((0, 2)), np.zeros(0, dtype=int)))
    # two clusters of identical points each: a = 0, b > 0 → 1 everywhere
    same = np.repeat([[0.0, 0.0], [5.0, 5.0]], 10, axis=0)
    np.testing.assert_array_equal(silhouette_samples(same, np.repeat([0, 1], 10)), np.ones(20))


@pytest.mark.parametrize("seed", [0, 3])
def test_silhouette_score_above_2000_points_is_sklearns_seeded_subsample(seed):
    x = blobs(5000, 4, std=2.5, seed=9)
    labels = best_fit(x, 4)[0]
    index = silhouette_indices(len(x), seed=seed)
    assert len(index) == 2000 and len(np.unique(index)) == 2000
    value = silhouette_score(x, labels, seed=seed)
    assert value == pytest.approx(sk_silhouette_score(x, labels, sample_size=2000, random_state=seed), abs=1e-12)
    assert value == pytest.approx(sk_silhouette_score(x[index], labels[index]), abs=1e-12)
    assert value != silhouette_score(x, labels, seed=seed + 1)  # another subsample
    exact = silhouette_score(x, labels, sample_size=None)
    assert exact == pytest.approx(sk_silhouette_score(x, labels), abs=1e-12)
    assert abs(value - exact) < 0.02  # a subsample of 2,000 estimates it closely here
    np.testing.assert_array_equal(silhouette_indices(2000, seed=seed), np.arange(2000))


def test_silhouette_vs_k_scores_the_elbows_fits_on_the_same_points():
    x = blobs(3000, 4, std=1.2, seed=10)
    ks = [1, 2, 3, 4, 5, 6, 3001]
    values = silhouette_vs_k(x, ks=ks, seed=2)
    assert np.isnan(values[0]) and np.isnan(values[-1])
    for k, value in zip(ks[1:-1], values[1:-1]):
        labels = best_fit(x, k, 3, 2)[0]
        assert value == pytest.approx(sk_silhouette_score(x, labels, sample_size=2000, random_state=2), abs=1e-12)
        fit = sklearn_lloyd(x, kmeans_plus_plus(x, k, np.random.default_rng(init_seed(2, k, 0))),
                            tol=analysis.ELBOW_TOL)
        assert best_fit(x, k, 3, 2)[2] <= fit.inertia_ * (1 + 1e-12)
    assert np.nanargmax(values) == 3  # k = 4 blobs


def test_silhouette_vs_k_on_few_points_and_degenerate_fits():
    x = np.repeat(np.array([[0.0, 0.0], [4.0, 0.0]]), 5, axis=0)  # two distinct points
    values = silhouette_vs_k(x, ks=[2, 3, 9, 10, 11])
    assert values[0] == pytest.approx(1.0)
    assert np.isfinite(values[1]) and np.isnan(values[-1])
    assert np.isnan(silhouette_vs_k(np.zeros((0, 2)), ks=[2])).all()


# -- any small point set: defined results, never an exception -------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=0, max_size=25),
       st.integers(0, 3), st.sampled_from([0.25, 1.0, 8.0, 1000.0]))
def test_any_small_point_set_gives_defined_results(cells, seed, scale):
    # many duplicates; exact coordinates, so that sklearn's GEMM distances are exact too
    x = np.array(cells, dtype=float).reshape(-1, 2) * scale
    n, distinct = len(x), len({tuple(p) for p in x})
    ks = range(1, 8)
    values = elbow(x, ks=ks, n_init=2, seed=seed)
    for k, value in zip(ks, values):
        assert np.isnan(value) == (k > n)
        if k <= n:
            labels, centroids, fit = kmeans_fit(x, k, seed)
            assert fit >= 0 and labels.min() >= 0 and labels.max() < k and np.isfinite(centroids).all()
            if k >= distinct:
                assert value == pytest.approx(0.0, abs=1e-12 * scale ** 2)
    sil = silhouette_vs_k(x, ks=range(2, 8), seed=seed)
    assert ((sil >= -1 - 1e-12) & (sil <= 1 + 1e-12) | np.isnan(sil)).all()
    for k, value in zip(range(2, 8), sil):
        labels = best_fit(x, k, 3, seed)[0]
        c = len(np.unique(labels)) if k <= n else 0
        assert np.isnan(value) == (not 2 <= c <= n - 1)
        if not np.isnan(value):
            assert value == pytest.approx(sk_silhouette_score(x, labels), abs=1e-12)
