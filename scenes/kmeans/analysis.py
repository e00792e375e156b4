"""K-Means analysis in pure NumPy: distances, means, k-means++, Lloyd's algorithm to convergence,
the elbow (inertia vs k) and the silhouette (per point, mean, and mean vs k).

Everything is deterministic for a seed and bounded in work and memory:

* distances to centroids in GEMM form ‖x‖² − 2 x·c + ‖c‖² (one matrix product), means by
  ``np.bincount``;
* :func:`kmeans_fit` is scikit-learn's Lloyd (``KMeans(init=…, n_init=1, algorithm="lloyd")``) step for
  step: assign to the nearest centroid, move every centroid to its mean, relocate empty clusters as
  ``sklearn.cluster._k_means_common._relocate_empty_clusters_dense`` does (a cluster still empty, when
  every point sits on its centre, goes on the largest cluster's centre as its ``_average_centers``), stop
  on no label change (or the centre shift ≤ tol, or max_iter), data centred on its mean first as
  scikit-learn does;
* the elbow and silhouette vs k share their fits (:func:`best_fit`, a small thread-safe cache keyed by the
  points' bytes), with scikit-learn's default tol (``ELBOW_TOL``);
* the silhouette uses exact pairwise differences (not the GEMM form: two points a hair apart must not get
  a distance of √round-off), in row blocks of at most ``BLOCK_ELEMENTS`` distances, and on more than
  ``SILHOUETTE_SAMPLE`` points on a seeded subsample — the same points ``sklearn.metrics.silhouette_score(
  …, sample_size=2000, random_state=seed)`` uses (:func:`silhouette_indices` says which).

Undefined values are NaN, never exceptions: k < 1 or k > n points (no clustering), a silhouette of fewer
than 2 or of as many clusters as points (scikit-learn raises there). Duplicate points are fine (a
cluster of identical points has inertia 0; a point whose a and b are both 0 has silhouette 0, as in
scikit-learn).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Iterable

import numpy as np

#: Points the silhouette is computed on; above it, a seeded subsample of this many points.
SILHOUETTE_SAMPLE = 2000
#: Most pairwise distances held at once by the silhouette (row blocks; 8 MB of float64).
BLOCK_ELEMENTS = 1 << 20
#: Relative tolerance of the elbow and silhouette-vs-k fits: scikit-learn's default (stop when the total
#: squared centre shift is ≤ 1e-4 × the mean feature variance, or no label changes). It cuts Lloyd's long
#: tail of iterations that move a few points (~40 % of the time at 10,000 points) for a change of the
#: inertia far below the plot's resolution; tol = 0 runs until no label changes.
ELBOW_TOL = 1e-4
#: Iteration cap of every fit (scikit-learn's default).
MAX_ITER = 300


# -- distances and means ------------------------------------------------------------------------------
def _points(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1) if x.ndim != 2 else x


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def sq_distances(x, c) -> np.ndarray:
    """Squared Euclidean distances (n, k) float64 of points x (n, d) to centres c (k, d), in GEMM form
    ‖x‖² − 2 x·c + ‖c‖², clipped at 0 (the form's round-off can go slightly negative). Its absolute
    error is ~1e-16 × (‖x‖² + ‖c‖²): centre far-off data first when that matters."""
    x, c = _points(x), _points(c)
    d = x @ c.T
    d *= -2.0
    d += _sq_norms(x)[:, None]
    d += _sq_norms(c)[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _augmented(x: np.ndarray) -> np.ndarray:
    """(d + 1, n): x.T with a row of ones, so that one product [−2c | ‖c‖²] @ it gives ‖c‖² − 2 x·c."""
    out = np.ones((x.shape[1] + 1, len(x)))
    out[:-1] = x.T
    return out


def _nearest(c: np.ndarray, xa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,) intp: the nearest centre, the first of equals; ‖c‖² − 2 x·c at it (n,)), for the
    augmented points xa of _augmented. One GEMM into a (k, n) score, its column minimum, and the first
    row reaching it counted row by row (several times faster than np.argmin over a short axis)."""
    k = len(c)
    ca = np.empty((k, xa.shape[0]))
    ca[:, :-1] = -2.0 * c
    ca[:, -1] = _sq_norms(c)
    score = ca @ xa
    low = score.min(axis=0)
    if k == 1:
        return np.zeros(xa.shape[1], dtype=np.intp), low
    alive = score[0] > low
    labels = alive.astype(np.intp)
    above = np.empty_like(alive)
    for j in range(1, k - 1):  # labels = how many leading rows stay above the minimum
        np.greater(score[j], low, out=above)
        alive &= above
        labels += alive
    return labels, low


def assign(x, c) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,) int64: each point's nearest centre, the first of equals; the squared distances (n,)
    to it, GEMM form clipped at 0). No centres: labels -1, NaN distances."""
    x, c = _points(x), _points(c)
    n = len(x)
    if len(c) == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    labels, low = _nearest(c, _augmented(x))
    d = low + _sq_norms(x)
    np.maximum(d, 0.0, out=d)
    return labels.astype(np.int64), d


def _sums_counts(xt: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster coordinate sums (k, d) and counts (k,) by np.bincount; xt is x.T contiguous."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.empty((k, len(xt)))
    for j, column in enumerate(xt):
        sums[:, j] = np.bincount(labels, weights=column, minlength=k)
    return sums, counts


def cluster_means(x, labels, k: int) -> np.ndarray:
    """Means (k, d) of the points of each cluster 0..k-1, by np.bincount. An empty cluster's row is NaN
    (it has no mean; Lloyd's update relocates it instead, see :func:`kmeans_fit`). Labels outside
    0..k-1 (e.g. -1, "not assigned yet") are ignored."""
    x = _points(x)
    labels = np.asarray(labels).reshape(-1)
    k = int(k)
    keep = (labels >= 0) & (labels < k)
    if not keep.all():
        x, labels = x[keep], labels[keep]
    sums, counts = _sums_counts(np.ascontiguousarray(x.T), labels.astype(np.intp), max(k, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def inertia(x, c, labels) -> float:
    """Sum of squared distances of the points to their assigned centres (exact differences)."""
    diff = _points(x) - _points(c)[np.asarray(labels)]
    return float(np.einsum("ij,ij->", diff, diff))


# -- k-means++ -------------------------------------------------------------------------------------------
def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def kmeans_plus_plus_indices(x, k: int, rng) -> np.ndarray:
    """Indices (k,) of the k-means++ picks: the standard D² sampling of Arthur & Vassilvitskii (2007):
    the first pick uniform, each next one drawn with probability D(x)² / Σ D², D the distance to the
    nearest pick so far (one ``rng.random()`` per pick after an ``rng.integers`` for the first). This is
    NOT scikit-learn's "greedy k-means++" (2 + log k candidate draws per pick, keeping the one that lowers
    the potential most), so the picks differ from ``KMeans(init="k-means++")``'s.

    When every D is 0 (fewer distinct points than k), the next pick is uniform among the points not
    picked yet; picks beyond n (k > n) are -1. ``rng``: a np.random.Generator or a seed."""
    x = _points(x)
    n, k = len(x), max(int(k), 0)
    rng = _rng(rng)
    picks = np.full(k, -1, dtype=np.int64)
    if n == 0 or k == 0:
        return picks
    xt = np.ascontiguousarray(x.T)

    def d2_to(index: int) -> np.ndarray:
        d2 = np.zeros(n)
        for row, value in zip(xt, x[index]):
            diff = row - value
            diff *= diff
            d2 += diff
        return d2

    picks[0] = rng.integers(n)
    d2 = d2_to(picks[0])
    for p in range(1, min(k, n)):
        cumulative = np.cumsum(d2)
        total = cumulative[-1]
        if total > 0:
            index = int(np.searchsorted(cumulative, rng.random() * total, side="right"))
            index = min(index, n - 1)
            if d2[index] == 0:  # round-off at the very top: the last point that can be drawn
                index = int(np.flatnonzero(d2[:index + 1])[-1])
        else:
            free = np.setdiff1d(np.arange(n), picks[:p])
            index = int(free[rng.integers(len(free))])
        picks[p] = index
        if p < k - 1:
            np.minimum(d2, d2_to(index), out=d2)
    return picks


def kmeans_plus_plus(x, k: int, rng) -> np.ndarray:
    """The k-means++ initial centroids (k, d): the points :func:`kmeans_plus_plus_indices` picks (NaN rows
    for picks beyond n)."""
    x = _points(x)
    picks = kmeans_plus_plus_indices(x, k, rng)
    c = np.full((len(picks), x.shape[1]), np.nan)
    c[picks >= 0] = x[picks[picks >= 0]]
    return c


# -- Lloyd -----------------------------------------------------------------------------------------------
def _tolerance(x: np.ndarray, tol: float) -> float:
    """scikit-learn's absolute tolerance: tol × the mean per-feature variance (0 stays 0)."""
    return 0.0 if tol == 0 else float(np.mean(np.var(x, axis=0)) * tol)


def _lloyd(x: np.ndarray, xa: np.ndarray, centres: np.ndarray, max_iter: int, tol: float
           ) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd on (already centred) x (xa: its _augmented form) from centres, as
    sklearn.cluster._kmeans._kmeans_single_lloyd: (labels, centroids, inertia, iterations)."""
    k = len(centres)
    xt = xa[:-1]
    c = np.array(centres, dtype=np.float64)
    # distances this small (round-off of the means) count as "every point sits on its centre"
    on_centre = 1e-24 * float(np.mean(_sq_norms(x))) if len(x) else 0.0
    labels_old = None
    strict = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        labels = _nearest(c, xa)[0]
        sums, counts = _sums_counts(xt, labels, k)
        relocated = bool((counts == 0).any()) and _relocate_empty(x, c, labels, sums, counts, on_centre)
        new = np.empty_like(c)
        filled = counts > 0
        new[filled] = sums[filled] * (1.0 / counts[filled, None])  # sklearn's _average_centers arithmetic
        if not filled.all():
            # sklearn's _average_centers: a still-empty cluster goes to the largest cluster's centre.
            new[~filled] = new[np.argmax(counts)]
        shift = float(((new - c) ** 2).sum())
        c = new
        # (a relocation moved points out of the clusters these labels say: not converged, unlike sklearn,
        # whose labels would then not be the centres' nearest)
        if labels_old is not None and not relocated and np.array_equal(labels, labels_old):
            strict = True
            break
        if shift <= tol:
            break
        labels_old = labels
    if not strict:  # the labels of the final centres (sklearn re-runs the E-step)
        labels = _nearest(c, xa)[0]
    return labels.astype(np.int64), c, inertia(x, c, labels), iterations


def _relocate_empty(x: np.ndarray, c: np.ndarray, labels: np.ndarray, sums: np.ndarray,
                    counts: np.ndarray, on_centre: float = 0.0) -> bool:
    """scikit-learn's _relocate_empty_clusters_dense (unit weights), in place on sums and counts: the
    e empty clusters take the e points farthest from their assigned centre (in argpartition's order),
    each leaving its old cluster. Nothing moves when every point sits on its centre (more clusters than
    distinct points; sklearn: every distance exactly 0, here ≤ on_centre, a round-off level, so that the
    means' round-off does not shuffle duplicate points around). True when something moved."""
    empty = np.flatnonzero(counts == 0)
    distances = ((x - c[labels]) ** 2).sum(axis=1)
    if distances.max() <= on_centre:
        return False
    e = len(empty)
    far = np.argpartition(distances, -e)[:-e - 1:-1]
    for new_id, index in zip(empty, far):
        old_id = labels[index]
        sums[old_id] -= x[index]
        sums[new_id] = x[index]
        counts[new_id] = 1.0
        counts[old_id] -= 1.0
    return True


def _no_fit(n: int, k: int, d: int) -> tuple[np.ndarray, np.ndarray, float]:
    return np.full(n, -1, dtype=np.int64), np.full((max(k, 0), d), np.nan), float("nan")


def kmeans_fit(x, k: int, rng=0, n_init: int = 1, max_iter: int = MAX_ITER, init=None, tol: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """K-Means by Lloyd's algorithm: (labels (n,) int64, centroids (k, d), inertia).

    Each of ``n_init`` runs starts from :func:`kmeans_plus_plus` (drawn from ``rng``, a Generator or a
    seed, one run after the other) — or, when ``init`` (k, d) is given, the single run starts there — and
    iterates until no label changes, the total squared centre shift is ≤ tol × the mean feature variance
    (scikit-learn's tol; 0 = labels only), or ``max_iter`` iterations. The run with the lowest inertia
    wins (the first of equals). From the same ``init`` it equals ``sklearn.cluster.KMeans(init=init,
    n_init=1, algorithm="lloyd", tol=tol, max_iter=max_iter)``, empty clusters included (relocated to the
    farthest points; when every point sits on its centre, an empty cluster is put on the largest
    cluster's centre, as scikit-learn 1.9's _average_centers does).

    k < 1, k > n or an init of the wrong shape: no clustering — labels -1, NaN centroids, NaN inertia."""
    x = _points(x)
    n, d = x.shape
    k = int(k)
    if k < 1 or k > n:
        return _no_fit(n, k, d)
    mean = x.mean(axis=0)
    xc = x - mean
    xa = _augmented(xc)
    tol_abs = _tolerance(xc, tol)
    if init is not None:
        starts = [np.asarray(init, dtype=np.float64) - mean]
        if starts[0].shape != (k, d) or not np.isfinite(starts[0]).all():
            return _no_fit(n, k, d)
    else:
        generator = _rng(rng)
        # picks drawn on x itself, so that kmeans_plus_plus(x, k, same rng) gives the very same start
        starts = (xc[kmeans_plus_plus_indices(x, k, generator)] for _ in range(max(int(n_init), 1)))
    best = None
    for start in starts:
        result = _lloyd(xc, xa, start, max(int(max_iter), 1), tol_abs)
        if best is None or result[2] < best[2]:
            best = result
    labels, c, value, _ = best
    return labels, c + mean, value


# -- the elbow -------------------------------------------------------------------------------------------
def init_seed(seed: int, k: int, run: int) -> list[int]:
    """The seed of run ``run`` for k in :func:`elbow` and :func:`silhouette_vs_k`: run r for k starts from
    ``kmeans_plus_plus(x, k, np.random.default_rng(init_seed(seed, k, r)))`` (independent of which other
    k are asked for)."""
    return [int(seed), int(k), int(run)]


_FITS: OrderedDict = OrderedDict()
_FITS_LOCK = threading.Lock()
_FITS_KEPT = 64


def _key(x: np.ndarray, *rest) -> tuple:
    return (hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=16).digest(), x.shape) + rest


def best_fit(x, k: int, n_init: int = 3, seed: int = 0, max_iter: int = MAX_ITER, tol: float = ELBOW_TOL
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """The best of ``n_init`` k-means++ runs (seeds :func:`init_seed`) for one k: (labels, centroids,
    inertia), as :func:`kmeans_fit`. Kept in a small cache (keyed by the points' bytes and the arguments),
    so the elbow and the silhouette vs k of the same points fit each k once."""
    x = _points(x)
    key = _key(x, int(k), int(n_init), int(seed), int(max_iter), float(tol))
    with _FITS_LOCK:
        if key in _FITS:
            _FITS.move_to_end(key)
            return _FITS[key]
    best = None
    for run in range(max(int(n_init), 1)):
        result = kmeans_fit(x, k, np.random.default_rng(init_seed(seed, k, run)), n_init=1, max_iter=max_iter,
                            tol=tol)
        if best is None or result[2] < best[2]:
            best = result
    for array in best[:2]:
        array.setflags(write=False)
    with _FITS_LOCK:
        _FITS[key] = best
        while len(_FITS) > _FITS_KEPT:
            _FITS.popitem(last=False)
    return best


def elbow(x, ks: Iterable[int] = range(1, 11), n_init: int = 3, seed: int = 0, max_iter: int = MAX_ITER,
          tol: float = ELBOW_TOL) -> np.ndarray:
    """Inertia (len(ks),) per k: the lowest of ``n_init`` k-means++ runs (:func:`best_fit`, each run as
    ``KMeans(init=its k-means++ start, n_init=1, algorithm="lloyd")``, sklearn's default tol=1e-4). NaN where k < 1 or
    k > n points. Not non-increasing in k by construction (each k is its own local optimum), though it
    is for well-separated data."""
    x = _points(x)
    return np.array([best_fit(x, k, n_init, seed, max_iter, tol)[2] for k in ks], dtype=np.float64)


# -- the silhouette -----------------------------------------------------------------------------------------
def silhouette_indices(n: int, sample_size: int | None = SILHOUETTE_SAMPLE, seed: int = 0) -> np.ndarray:
    """Which of n points :func:`silhouette_score` and :func:`silhouette_vs_k` use: all of them (in order)
    when n ≤ sample_size (or sample_size is None), else the first sample_size of
    ``np.random.RandomState(seed).permutation(n)`` — the subsample of ``sklearn.metrics.silhouette_score(
    …, sample_size=sample_size, random_state=seed)``."""
    n = int(n)
    if sample_size is None or n <= int(sample_size):
        return np.arange(n)
    return np.random.RandomState(int(seed)).permutation(n)[:int(sample_size)]


def _distance_blocks(x: np.ndarray):
    """Yield (start, rows (r, m)) of the pairwise distance matrix of x (m, d), exact differences, in
    row blocks of at most BLOCK_ELEMENTS distances (two reused buffers: use a block before the next)."""
    m, d = x.shape
    xt = np.ascontiguousarray(x.T)
    rows = max(1, min(m, BLOCK_ELEMENTS // max(m, 1)))
    out, tmp = np.empty((rows, m)), np.empty((rows, m))
    for start in range(0, m, rows):
        block = x[start:start + rows]
        r = len(block)
        o, t = out[:r], tmp[:r]
        if d == 0:
            o.fill(0.0)
        for j in range(d):
            target = o if j == 0 else t
            np.subtract(block[:, j, None], xt[j][None, :], out=target)
            np.multiply(target, target, out=target)
            if j:
                np.add(o, t, out=o)
        np.sqrt(o, out=o)
        yield start, o


def _cluster_distance_sums(x: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """(m, columns): for each point, the sum of its distances to the points of each one-hot column
    (one product per row block: several labellings at once)."""
    out = np.empty((len(x), onehot.shape[1]))
    for start, block in _distance_blocks(x):
        out[start:start + len(block)] = block @ onehot
    return out


def _sorted_cluster_distance_sums(x: np.ndarray, codes: np.ndarray, c: int) -> np.ndarray:
    """(m, c) as _cluster_distance_sums for one labelling, with the points sorted by cluster so that
    each cluster's sum is one np.add.reduceat segment (3-4x faster than the product for one labelling)."""
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(c))
    sums = np.empty((len(x), c))
    for start, block in _distance_blocks(x[order]):
        sums[order[start:start + len(block)]] = np.add.reduceat(block, starts, axis=1)
    return sums


def _encode(labels: np.ndarray) -> tuple[np.ndarray, int]:
    values, codes = np.unique(labels, return_inverse=True)
    return codes.reshape(-1), len(values)


def _silhouette_values(sums: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-point silhouette (b − a) / max(a, b) from the per-cluster distance sums, as scikit-learn:
    a point alone in its cluster, or with a = b = 0, gets 0."""
    m = len(codes)
    rows = np.arange(m)
    own = counts[codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = sums[rows, codes] / (own - 1)
        means = sums / counts[None, :]
        means[rows, codes] = np.inf
        b = means.min(axis=1)
        s = (b - a) / np.maximum(a, b)
    return np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0)


def _defined(c: int, m: int) -> bool:
    return 2 <= c <= m - 1


def silhouette_samples(x, labels) -> np.ndarray:
    """Silhouette (n,) of every point, exact on all of them (O(n²) time; memory bounded by row blocks),
    equal to ``sklearn.metrics.silhouette_samples`` (labels may be any integers). All NaN when it is
    undefined: fewer than 2 clusters, or as many clusters as points (scikit-learn raises)."""
    x = _points(x)
    labels = np.asarray(labels).reshape(-1)
    m = len(x)
    if len(labels) != m:
        return np.full(m, np.nan)
    codes, c = _encode(labels)
    if not _defined(c, m):
        return np.full(m, np.nan)
    counts = np.bincount(codes, minlength=c).astype(np.float64)
    return _silhouette_values(_sorted_cluster_distance_sums(x, codes, c), codes, counts)


def silhouette_score(x, labels, sample_size: int | None = SILHOUETTE_SAMPLE, seed: int = 0) -> float:
    """Mean silhouette on the points :func:`silhouette_indices` (n, sample_size, seed) selects — all of them
    up to 2,000 points, equal to ``sklearn.metrics.silhouette_score(x, labels)``; above, a seeded
    subsample, equal to ``silhouette_score(x, labels, sample_size=2000, random_state=seed)``. NaN when
    undefined on those points (fewer than 2 clusters among them, or one cluster per point)."""
    x = _points(x)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(x) or len(x) == 0:
        return float("nan")
    index = silhouette_indices(len(x), sample_size, seed)
    return float(np.mean(silhouette_samples(x[index], labels[index])))


def silhouette_vs_k(x, ks: Iterable[int] = range(2, 11), seed: int = 0, n_init: int = 3,
                    sample_size: int | None = SILHOUETTE_SAMPLE, max_iter: int = MAX_ITER,
                    tol: float = ELBOW_TOL) -> np.ndarray:
    """Mean silhouette (len(ks),) per k of the best-of-n_init fit (:func:`best_fit`, the very fits
    :func:`elbow` uses with the same seed), each scored as :func:`silhouette_score` on the same points
    (:func:`silhouette_indices`); the pairwise distances are computed once for all k. NaN where k < 2,
    k > n, or the fit leaves fewer than 2 clusters (or one per point) among the scored points."""
    x = _points(x)
    ks = [int(k) for k in ks]
    out = np.full(len(ks), np.nan)
    index = silhouette_indices(len(x), sample_size, seed)
    xs = x[index]
    m = len(xs)
    columns, parts = [], []
    for i, k in enumerate(ks):
        if k < 2 or k > len(x):
            continue
        codes, c = _encode(best_fit(x, k, n_init, seed, max_iter, tol)[0][index])
        if _defined(c, m):
            parts.append((i, codes, c, sum(p[2] for p in parts)))
    if not parts:
        return out
    total = parts[-1][3] + parts[-1][2]
    onehot = np.zeros((m, total))
    rows = np.arange(m)
    for _, codes, c, offset in parts:
        onehot[rows, offset + codes] = 1.0
    sums = _cluster_distance_sums(xs, onehot)
    for i, codes, c, offset in parts:
        counts = np.bincount(codes, minlength=c).astype(np.float64)
        out[i] = float(np.mean(_silhouette_values(sums[:, offset:offset + c], codes, counts)))
    return out
