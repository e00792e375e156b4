"""The K-Means scene's simulation: Lloyd's algorithm (also mini-batch K-Means and a Gaussian
mixture by EM) one half-step at a time.

Pure NumPy (no Qt). One step is one half-step: ``assign`` (every point to its nearest centroid)
or ``update`` (every centroid to the mean of its points); ``step(coarse=True)`` finishes the
current iteration (or the whole initialisation). k-means++ is steppable: frame j of the
initialisation holds the j centroids picked so far and every point's D² probability of being
the next pick (the first pick is uniform).

Frame data (arrays read-only; ``points`` is one array shared by every frame of a run):
``points`` (n, 2); ``labels`` (n,) int32 (-1 before the first assign); ``centroids`` (m, 2)
(m < k only while initialising); ``previous_centroids`` (m, 2) (an update frame's centroids before it,
for arrows old → new; otherwise equal to ``centroids``); ``phase`` ("init_pick", "init", "assign",
"update"); ``iteration`` (1-based; 0 before the first assign); ``inertia`` (sum of squared
distances of the points to their assigned centroid; NaN before the first assign);
``inertia_history``; ``converged``; ``empty_clusters``
(the clusters an update frame relocated); ``pick_probabilities`` (n,) (empty unless init_pick);
``k``; ``algorithm``; ``changed`` (points that changed cluster in this assign, else 0). ``inertia_history``
has one entry per iteration: its assign's inertia (an assign done again after a drag replaces it).

Mini-batch (``algorithm = "minibatch"``): each assign also draws a batch of batch_size points (with
replacement, ``default_rng([seed, r, 2, iteration])``); the update moves each centre towards its
batch points as scikit-learn's MiniBatchKMeans does, including its random reassignment of
low-count centres to batch points (on its schedule; reassign_random_state picks the points); the run
stops after max_iter batches. Adds ``batch_indices``, ``learning_rates`` (k,) (each centre's
b / (w + b) of this update, 0 without batch points), ``center_counts`` (k,) (w) and
``reassigned_centers`` (the centres this update reassigned).

Gaussian mixture (``algorithm = "gmm"``): the half-steps are ``e_step`` (responsibilities; labels =
the most likely component) and ``m_step`` (weights, means = ``centroids``, full covariances with
REG_COVAR on the diagonal), equal to scikit-learn's GaussianMixture from the same start
(mixture_start: equal weights, each centroid's nearest points' scatter). Converged when an E-step's
mean log-likelihood gained less than GMM_RELATIVE_TOL of its size; a covariance that is singular in
floating point stops EM with a message. Adds ``responsibilities`` (n, k) float32,
``covariances`` (k, 2, 2), ``mixture_weights`` (k,), ``log_likelihood`` (mean per point, of the
latest E-step) and ``log_likelihood_history`` (one per iteration). ``inertia`` is still the
squared distances to the assigned means.

Convergence as scikit-learn's Lloyd: an assign that changes no label (after an update) ends the
run, "converged after n iterations" with n as scikit-learn's ``n_iter_``. After max_iter updates
one last assign makes the labels match the centroids (as scikit-learn does) and the run stops.
An empty cluster is relocated in the update the way scikit-learn's ``_relocate_empty_clusters_dense``
does: to the point farthest from its assigned centroid, which leaves its old cluster's mean.

Randomness: initialisation r (of n_init) draws from ``default_rng([seed, r, ...])``; the data from
data_seed. Everything mutable lives in one dict of immutable values, so ``restore`` is exact.

Dragged or placed centroids (the hidden live parameter ``centroids_set``): a JSON string
``{"step": S, "centroids": [[x, y], ...]}`` applied as the neural-network scene applies weight_edits:
by ``set_params`` when the string differs from the last one the simulation saw (part of the frame
state) and S is its current step, and by the constructor when S == 0. The next half-step is then an
assign. With init = manual, the centroids at step 0 are the initialisation (the run waits until k are placed).
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np

from explorer.params import ParamError
from explorer.scene import Frame
from scenes.kmeans import data as km_data

INITS = ("random_points", "random_partition", "kmeans_plus_plus", "manual")
ALGORITHMS = ("lloyd", "minibatch", "gmm")
#: Added to the diagonal of every covariance of the Gaussian mixture (scikit-learn's default reg_covar).
REG_COVAR = 1e-6
#: EM has converged when an E-step's mean log-likelihood gained less than this share of its size.
GMM_RELATIVE_TOL = 1e-6
MAX_K = 12
#: Largest size of a placed or dragged centroid coordinate.
MAX_CENTROID_VALUE = 1e9
MAX_CENTROIDS_CHARS = 4_000


# -- the maths ---------------------------------------------------------------------------------------
def sq_distances(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances (n, k) of points x (n, d) to centres c (k, d) in GEMM form
    ‖x‖² − 2 x·c + ‖c‖², clipped at 0."""
    d = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * (x @ c.T) + np.einsum("ij,ij->i", c, c)[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def nearest(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Index (n,) int32 of each point's nearest centre (the first of equals)."""
    # ‖x‖² is the same for every centre: the argmin needs only ‖c‖² − 2 x·c.
    score = x @ (-2.0 * c.T)
    score += np.einsum("ij,ij->i", c, c)
    return np.argmin(score, axis=1).astype(np.int32)


def assigned_inertia(x: np.ndarray, c: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the points to their assigned centres (exact differences)."""
    diff = x - np.take(c, labels, axis=0)  # np.take: ~10x faster than c[labels] here
    return float(np.einsum("ij,ij->", diff, diff))


def cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster coordinate sums (k, d) and counts (k,) by np.bincount."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.column_stack([np.bincount(labels, weights=x[:, j], minlength=k) for j in range(x.shape[1])])
    return sums, counts


def update_centroids(x: np.ndarray, labels: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's update: (new centroids (k, d), relocated empty clusters (int array)). An empty
    cluster moves to the point farthest from its assigned old centroid, which leaves its cluster
    (scikit-learn's _relocate_empty_clusters_dense, unit weights); when every point sits on its
    centroid, nothing is relocated and an empty centroid stays where it was."""
    k = len(old)
    sums, counts = cluster_sums(x, labels, k)
    empty = np.flatnonzero(counts == 0)
    relocated = np.zeros(0, dtype=np.int64)
    if len(empty):
        diff = x - old[labels]
        distances = np.einsum("ij,ij->i", diff, diff)
        if distances.max() > 0:
            far = np.argpartition(distances, -len(empty))[:-len(empty) - 1:-1]
            for new_id, far_idx in zip(empty, far):
                old_id = labels[far_idx]
                sums[old_id] -= x[far_idx]
                sums[new_id] = x[far_idx]
                counts[new_id] = 1.0
                counts[old_id] -= 1.0
            relocated = empty.astype(np.int64)
    new = old.astype(np.float64).copy()
    filled = counts > 0
    new[filled] = sums[filled] / counts[filled, None]
    return new, relocated


def d2_probabilities(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """k-means++'s sampling probabilities of the next centre: D(x)² / Σ D², D the distance to the
    nearest centre picked so far; uniform before the first pick or when every D is 0."""
    n = len(x)
    if len(centres) == 0:
        return np.full(n, 1.0 / n)
    d2 = sq_distances(x, centres).min(axis=1)
    total = d2.sum()
    if not total > 0:
        return np.full(n, 1.0 / n)
    return d2 / total


def kmeans_plus_plus_pick(x: np.ndarray, centres: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the next k-means++ centre, drawn with d2_probabilities."""
    p = d2_probabilities(x, centres)
    index = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
    # Round-off can put the draw past the last cumulative sum: the last point that can be picked.
    return index if index < len(x) else int(np.flatnonzero(p)[-1])


def pick_rng(seed: int, run: int, pick: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(run), 1, int(pick)])


def initial_centroids(x: np.ndarray, k: int, init: str, seed: int, run: int) -> np.ndarray:
    """The whole initialisation r = ``run`` (random_points, random_partition or kmeans_plus_plus)."""
    n = len(x)
    rng = np.random.default_rng([int(seed), int(run), 0])
    if init == "random_points":
        return x[rng.choice(n, size=k, replace=False)].copy()
    if init == "random_partition":
        labels = rng.integers(0, k, size=n)
        sums, counts = cluster_sums(x, labels, k)
        centres = x[rng.choice(n, size=k, replace=False)].copy()  # an empty part starts at a random point
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
        return centres
    if init == "kmeans_plus_plus":
        centres = np.zeros((0, 2))
        for pick in range(k):
            index = kmeans_plus_plus_pick(x, centres, pick_rng(seed, run, pick))
            centres = np.vstack([centres, x[index]])
        return centres
    raise ValueError(f"no automatic initialisation {init!r}")


def lloyd(x: np.ndarray, centroids: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd's algorithm to convergence (scikit-learn's strict convergence) or max_iter:
    (labels, centroids, inertia, n_iter), as the scene's half-steps reach them."""
    labels_old = np.full(len(x), -1, dtype=np.int32)
    c = np.asarray(centroids, dtype=np.float64)
    for i in range(max_iter):
        labels = nearest(x, c)
        if i > 0 and np.array_equal(labels, labels_old):
            return labels, c, assigned_inertia(x, c, labels), i + 1
        c, _ = update_centroids(x, labels, c)
        labels_old = labels
    labels = nearest(x, c)
    return labels, c, assigned_inertia(x, c, labels), max_iter


def minibatch_indices(n: int, batch_size: int, seed: int, run: int, iteration: int) -> np.ndarray:
    """The points (with replacement, as scikit-learn draws them) of mini-batch ``iteration``."""
    return np.random.default_rng([int(seed), int(run), 2, int(iteration)]).integers(0, n, size=int(batch_size))


def minibatch_update(batch_points: np.ndarray, batch_labels: np.ndarray, centres: np.ndarray,
                     counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's MiniBatchKMeans centre update (``_minibatch_update_dense``, unit weights; the
    random reassignment of low-count centres is minibatch_reassign): a centre with b of the batch's points moves to
    (c · w + Σ batch points) / (w + b), w the points it has absorbed so far, i.e. by the per-centre
    learning rate b / (w + b) towards the batch points' mean. Returns (centres, counts, rates)."""
    k = len(centres)
    sums, hits = cluster_sums(batch_points, batch_labels, k)
    new_counts = counts + hits
    new = centres.astype(np.float64).copy()
    hit = hits > 0
    new[hit] = (centres[hit] * counts[hit, None] + sums[hit]) / new_counts[hit, None]
    rates = np.where(hit, hits / np.where(hit, new_counts, 1.0), 0.0)
    return new, new_counts, rates


#: scikit-learn's MiniBatchKMeans reassignment_ratio: centres with fewer points than this share of the
#: largest count are moved to random batch points.
REASSIGNMENT_RATIO = 0.01


def reassign_due(counts: np.ndarray, since: int, batch_size: int) -> tuple[bool, int]:
    """scikit-learn's ``MiniBatchKMeans._random_reassign``, called before each update with the counts
    so far: due when a centre has no point yet or 10 · k points were processed since the last one.
    Returns (due, points processed since the last reassignment)."""
    since += int(batch_size)
    if (counts == 0).any() or since >= 10 * len(counts):
        return True, 0
    return False, since


def reassign_random_state(seed: int, run: int, iteration: int) -> np.random.RandomState:
    """The generator that picks the batch points low-count centres move to (a RandomState, as
    scikit-learn's ``random_state.choice`` draws them)."""
    return np.random.RandomState(np.random.SeedSequence([int(seed), int(run), 3, int(iteration)]).generate_state(1)[0])


def minibatch_reassign(batch_points: np.ndarray, centres: np.ndarray, counts: np.ndarray,
                       random_state: np.random.RandomState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The random reassignment of scikit-learn's ``_mini_batch_step``: centres whose count is below
    REASSIGNMENT_RATIO × the largest (at most half the batch size of them, the lowest counts) move
    to distinct random batch points and take the smallest remaining count. Returns (centres,
    counts, reassigned centre indices)."""
    to_reassign = counts < REASSIGNMENT_RATIO * counts.max()
    if to_reassign.sum() > 0.5 * len(batch_points):
        to_reassign[np.argsort(counts)[int(0.5 * len(batch_points)):]] = False
    n = int(to_reassign.sum())
    if n == 0:
        return centres, counts, np.zeros(0, dtype=np.int64)
    centres, counts = centres.copy(), counts.copy()
    centres[to_reassign] = batch_points[random_state.choice(len(batch_points), replace=False, size=n)]
    counts[to_reassign] = np.min(counts[~to_reassign])
    return centres, counts, np.flatnonzero(to_reassign).astype(np.int64)


def minibatch_run(x: np.ndarray, centroids: np.ndarray, max_iter: int, batch_size: int, seed: int,
                  run: int) -> tuple[np.ndarray, np.ndarray, float]:
    """max_iter mini-batch steps from ``centroids`` and a last assign: (labels, centroids, inertia)."""
    c = np.asarray(centroids, dtype=np.float64)
    counts = np.zeros(len(c))
    since = 0
    for i in range(1, max_iter + 1):
        batch = x[minibatch_indices(len(x), batch_size, seed, run, i)]
        due, since = reassign_due(counts, since, batch_size)
        c, counts, _ = minibatch_update(batch, nearest(batch, c), c, counts)  # only the batch needs labels
        if due:
            c, counts, _ = minibatch_reassign(batch, c, counts, reassign_random_state(seed, run, i))
    labels = nearest(x, c)
    return labels, c, assigned_inertia(x, c, labels)


def mixture_start(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian mixture's start from centroids: (weights (k,), covariances (k, 2, 2)): equal
    weights; each covariance the scatter of its nearest points about the centroid (the whole
    data's covariance for a centroid with fewer than 2 points), plus REG_COVAR on the diagonal."""
    k = len(centroids)
    labels = nearest(x, centroids)
    overall = np.cov(x.T, bias=True).reshape(2, 2) if len(x) > 1 else np.zeros((2, 2))
    covariances = np.empty((k, 2, 2))
    for j in range(k):
        mine = x[labels == j]
        if len(mine) >= 2:
            diff = mine - centroids[j]
            covariances[j] = diff.T @ diff / len(mine)
        else:
            covariances[j] = overall
        covariances[j] += REG_COVAR * np.eye(2)
    return np.full(k, 1.0 / k), covariances


def singular_component(covariances: np.ndarray) -> int:
    """The first component whose covariance is not positive definite in floating point (its points
    on a line, or far from the origin at a tiny spread), -1 when all are."""
    a, b, d = covariances[:, 0, 0], covariances[:, 0, 1], covariances[:, 1, 1]
    with np.errstate(all="ignore"):
        bad = ~(np.isfinite(covariances).all(axis=(1, 2)) & (a > 0) & (a * d - b * b > 0))
    return int(np.flatnonzero(bad)[0]) if bad.any() else -1


def _log_gaussians(x: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x_i | mean_j, cov_j) (n, k) of 2-D gaussians, with the closed-form 2x2 inverse."""
    a, b, d = covariances[:, 0, 0], covariances[:, 0, 1], covariances[:, 1, 1]
    det = a * d - b * b
    dx = x[:, 0:1] - means[None, :, 0]
    dy = x[:, 1:2] - means[None, :, 1]
    mahalanobis = (d * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / det
    return -0.5 * (mahalanobis + np.log(det)) - math.log(2.0 * math.pi)


def e_step(x: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
           ) -> tuple[np.ndarray, float]:
    """EM's E-step: responsibilities (n, k) and the mean log-likelihood per point of the parameters."""
    with np.errstate(divide="ignore"):
        weighted = _log_gaussians(x, means, covariances) + np.log(weights)[None, :]
    top = weighted.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(weighted - top).sum(axis=1))
    return np.exp(weighted - log_norm[:, None]), float(log_norm.mean())


def m_step(x: np.ndarray, responsibilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM's M-step for full covariances, as scikit-learn's ``_estimate_gaussian_parameters``
    (component masses plus 10 machine epsilons; REG_COVAR on the diagonal): (weights, means, covariances)."""
    n, k = responsibilities.shape
    mass = responsibilities.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = responsibilities.T @ x / mass[:, None]
    covariances = np.empty((k, 2, 2))
    for j in range(k):
        diff = x - means[j]
        covariances[j] = (responsibilities[:, j, None] * diff).T @ diff / mass[j]
        covariances[j].flat[::3] += REG_COVAR
    return mass / mass.sum(), means, covariances


# -- centroids_set ---------------------------------------------------------------------------------
def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_centroids_set(text: str) -> tuple[int, np.ndarray] | None:
    """(step, centroids (m, 2)) of a centroids_set string, None for ""; raises ParamError (one line)
    for anything but ``{"step": S, "centroids": [[x, y], ...]}`` with a whole S >= 0 and 1 to MAX_K
    pairs of finite numbers of size <= MAX_CENTROID_VALUE."""
    if text == "":
        return None
    if not isinstance(text, str):
        raise ParamError(f"expected a JSON string, got {type(text).__name__}")
    if len(text) > MAX_CENTROIDS_CHARS:
        raise ParamError(f"{len(text):,} characters; at most {MAX_CENTROIDS_CHARS:,} are allowed")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ParamError(f"not valid JSON ({str(error)[:80]}); expected "
                         '{"step": S, "centroids": [[x, y], ...]}') from None
    if not isinstance(document, dict) or set(document) != {"step", "centroids"}:
        raise ParamError('expected an object {"step": S, "centroids": [[x, y], ...]}')
    step, centroids = document["step"], document["centroids"]
    if not _whole(step) or step < 0:
        raise ParamError(f"step: expected a whole number >= 0, got {json.dumps(step)[:40]}")
    if not isinstance(centroids, list) or not 1 <= len(centroids) <= MAX_K:
        raise ParamError(f"centroids: expected a list of 1 to {MAX_K} points [x, y]")
    for index, point in enumerate(centroids):
        if not isinstance(point, list) or len(point) != 2:
            raise ParamError(f"centroids[{index}]: expected a point [x, y]")
        for value in point:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or abs(value) > MAX_CENTROID_VALUE:
                raise ParamError(f"centroids[{index}]: coordinates must be finite numbers of size at most "
                                 f"{MAX_CENTROID_VALUE:g}, got {json.dumps(value)[:40]}")
    return step, np.array(centroids, dtype=np.float64).reshape(-1, 2)


def check_centroids_set(text: str) -> None:
    """The centroids_set parameter's check (Text.check; module level so the declaration pickles)."""
    parse_centroids_set(text)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.flags.writeable = False
    return array


_EMPTY_FLOAT = _readonly(np.zeros(0))
_EMPTY_INT = _readonly(np.zeros(0, dtype=np.int64))


# -- the simulation -----------------------------------------------------------------------------------
class Simulation:
    """Lloyd's K-Means on 2-D points, one half-step per frame."""

    def __init__(self, params: Mapping[str, Any], seed: int, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        p = self.params
        self.k = int(p["k"])
        self.init = p["init"]
        self.algorithm = p["algorithm"]
        self.max_iter = int(p["max_iter"])
        self.n_init = int(p["n_init"])
        self.notes: list[str] = []
        self.data_error = ""
        self.points = self._load_data(data)
        x = self.points
        n = len(x)
        self.best_run = 0
        s: dict[str, Any] = {
            "step": 0, "phase": "init", "iteration": 0, "labels": _readonly(np.full(n, -1, dtype=np.int32)),
            "centroids": _readonly(np.zeros((0, 2))), "previous_centroids": None, "inertia": math.nan,
            "history": (), "converged": False, "stopped": "", "empty": _EMPTY_INT, "changed": 0,
            "after_update": False, "reassign": False, "seen": p["centroids_set"], "event": "",
            # mini-batch: points absorbed per centre, the batch and each centre's learning rate
            "counts": None, "batch": _EMPTY_INT, "rates": _EMPTY_FLOAT, "since_reassign": 0,
            "reassigned": _EMPTY_INT,
            # Gaussian mixture: weights, covariances, float32 responsibilities (n, k) of the latest
            # E-step (None before it) and the mean log-likelihood per point of each E-step
            "weights": _EMPTY_FLOAT, "covariances": _readonly(np.zeros((0, 2, 2))), "responsibilities": None,
            "log_likelihood": math.nan, "ll_history": (),
        }
        self.batch_size = int(p["batch_size"])
        self._s = s
        if self.data_error or n < self.k:
            return
        if self.init == "manual":
            if self.n_init > 1:
                self.notes.append("n_init is for automatic initialisations: manual init places one set")
            parsed = self._parsed(p["centroids_set"])
            if parsed is not None and parsed[0] == 0:
                self._place(parsed[1], initial=True)
            self._centroids_complete()
            return
        if self.n_init > 1:
            self.best_run, self.n_init_summary = self._best_of_n_init()
        if self.init == "kmeans_plus_plus":
            s["phase"] = "init_pick"
        else:
            s["centroids"] = _readonly(initial_centroids(x, self.k, self.init, self.seed, self.best_run))
        parsed = self._parsed(p["centroids_set"])
        if parsed is not None and parsed[0] == 0:
            self._place(parsed[1], initial=False)
        self._centroids_complete()

    # -- data and set-up --------------------------------------------------------------------------
    def _load_data(self, data: Any) -> np.ndarray:
        p = self.params
        if data is not None:
            try:
                x = km_data.user_points(data)
            except ValueError as error:  # DataError: a state with a message, never into Qt
                self.data_error = str(error)
                return _readonly(np.zeros((0, 2)))
            self.notes.append(f"your own {len(x):,} points (Regenerate returns to generated data)")
            return x
        return km_data.generate(p["dataset"], int(p["n_samples"]), int(p["true_clusters"]),
                                float(p["cluster_std"]), int(p["data_seed"]))

    def _best_of_n_init(self) -> tuple[int, str]:
        """The initialisation (of n_init) whose Lloyd run ends with the lowest inertia."""
        finals = []
        for run in range(self.n_init):
            start = initial_centroids(self.points, self.k, self.init, self.seed, run)
            if self.algorithm == "minibatch":
                finals.append(minibatch_run(self.points, start, self.max_iter, self.batch_size, self.seed, run)[2])
            else:
                finals.append(lloyd(self.points, start, self.max_iter)[2])
        best = int(np.argmin(finals))
        by = "K-Means " if self.algorithm == "gmm" else ""
        summary = (f"started from the best of {self.n_init} initialisations (#{best + 1}: final {by}inertia "
                   f"{finals[best]:.4g}; worst {max(finals):.4g})")
        return best, summary

    @staticmethod
    def _parsed(text: str) -> tuple[int, np.ndarray] | None:
        try:
            return parse_centroids_set(text)
        except ParamError:
            return None

    def _place(self, centroids: np.ndarray, initial: bool) -> None:
        """Put placed (manual init) or dragged centroids in; the next half-step is an assign."""
        s = self._s
        m = len(centroids)
        if s["phase"] in ("init", "init_pick") and len(s["covariances"]):
            # Before the first half-step the mixture starts from these centroids, as a constructor
            # given this centroids_set would start it (so a reopened session replays the same run).
            s["weights"], s["covariances"] = _EMPTY_FLOAT, _readonly(np.zeros((0, 2, 2)))
            s["stopped"] = ""
        if self.init == "manual" and initial:
            if m > self.k:
                centroids = centroids[:self.k]
                s["event"] = f"{m} centroids placed: the first k = {self.k} are used"
            s["centroids"] = _readonly(centroids)
            self._centroids_complete()
            return
        if m != self.k:
            s["event"] = f"ignored {m} dragged centroid(s): the run has k = {self.k}"
            return
        s["centroids"] = _readonly(centroids)
        if s["phase"] == "init_pick":
            s["phase"] = "init"
        s["converged"], s["stopped"], s["after_update"], s["reassign"] = False, "", False, True
        s["event"] = ("means moved by hand: the next half-step is an E-step" if self.algorithm == "gmm" else
                      "centroids moved by hand: the next half-step assigns the points to them")
        self._centroids_complete()

    def _centroids_complete(self) -> None:
        """Once the k centroids are there: the mini-batch counts and the mixture's start."""
        s = self._s
        if len(s["centroids"]) != self.k:
            return
        if self.algorithm == "minibatch" and s["counts"] is None:
            s["counts"] = _readonly(np.zeros(self.k))
        if self.algorithm == "gmm" and len(s["covariances"]) != self.k:
            weights, covariances = mixture_start(self.points, s["centroids"])
            s["weights"], s["covariances"] = _readonly(weights), _readonly(covariances)
            self._singular(covariances)

    # -- the contract ------------------------------------------------------------------------------
    @property
    def blocked(self) -> str:
        """Why the run cannot cluster at all ("" when it can)."""
        if self.data_error:
            return self.data_error
        if len(self.points) < self.k:
            return (f"k = {self.k} clusters need at least {self.k} points; there are only {len(self.points)}: "
                    "lower k or add points")
        if self.init == "manual" and len(self._s["centroids"]) < self.k:
            placed = len(self._s["centroids"])
            return f"manual init: click on the plot to place the centroids ({placed} of {self.k} placed)"
        return ""

    @property
    def done(self) -> bool:
        return bool(self.blocked or self._s["converged"] or self._s["stopped"])

    def set_params(self, params: Mapping[str, Any]) -> None:
        """The only live parameter is centroids_set (placed or dragged centroids)."""
        self.params = dict(params)
        text = self.params["centroids_set"]
        s = self._s
        if text != s["seen"]:
            s = self._s = dict(s)
            s["seen"] = text
            parsed = self._parsed(text)
            if parsed is not None and parsed[0] == s["step"] and not self.data_error \
                    and len(self.points) >= self.k:
                self._place(parsed[1], initial=self.init == "manual" and s["phase"] == "init")

    def step(self, coarse: bool = False) -> Frame:
        if self.done:
            return self.frame()
        s = self._s = dict(self._s)
        s["event"] = ""
        start = s["centroids"]
        if s["phase"] == "init_pick":
            while True:
                self._pick()
                if not coarse or s["phase"] != "init_pick":
                    break
        elif s["phase"] in ("assign", "e_step") and not s["reassign"]:
            self._second_half()
        else:
            self._first_half()
            if coarse and not self.done:
                self._second_half()
        if s["phase"] in ("update", "m_step"):
            s["previous_centroids"] = start
        s["step"] += 1
        return self.frame()

    # -- half-steps -----------------------------------------------------------------------------------
    def _pick(self) -> None:
        s = self._s
        centres = s["centroids"]
        index = kmeans_plus_plus_pick(self.points, centres, pick_rng(self.seed, self.best_run, len(centres)))
        s["centroids"] = _readonly(np.vstack([centres, self.points[index]]))
        if len(s["centroids"]) == self.k:
            s["phase"] = "init"
            self._centroids_complete()

    def _first_half(self) -> None:
        """Assign (Lloyd, mini-batch) or E-step (mixture): new labels from the current centres."""
        s = self._s
        x, c = self.points, s["centroids"]
        gmm = self.algorithm == "gmm"
        if gmm:
            if self._singular(s["covariances"]):
                return
            with np.errstate(all="ignore"):
                responsibilities, log_likelihood = e_step(x, s["weights"], c, s["covariances"])
            if not (math.isfinite(log_likelihood) and np.isfinite(responsibilities).all()):
                s["stopped"] = ("EM stopped: the log-likelihood is not a finite number at these parameters "
                                "(a component with no weight or no spread)")
                return
            labels = np.argmax(responsibilities, axis=1).astype(np.int32)
        else:
            labels = nearest(x, c)
        changed = int(np.count_nonzero(labels != s["labels"]))
        final = s["after_update"] and s["iteration"] >= self.max_iter
        again = s["phase"] in ("assign", "e_step")  # centres were dragged between the two halves
        if not again and not final:
            s["iteration"] += 1
        s["changed"] = changed
        s["inertia"] = assigned_inertia(x, c, labels)
        s["history"] = (s["history"][:-1] if again else s["history"]) + (s["inertia"],)
        s["reassign"] = False
        s["empty"] = _EMPTY_INT
        converged = s["after_update"] and changed == 0
        if gmm:
            gain = log_likelihood - s["log_likelihood"]
            converged = s["after_update"] and gain < GMM_RELATIVE_TOL * abs(log_likelihood)
            s["gain"] = gain
            s["log_likelihood"] = log_likelihood
            s["ll_history"] = (s["ll_history"][:-1] if again else s["ll_history"]) + (log_likelihood,)
            s["responsibilities"] = _readonly(responsibilities.astype(np.float32))
            # The M-step needs them in float64: kept beside the state (a restored state recomputes them).
            self._responsibilities64 = (s["responsibilities"], responsibilities)
        elif self.algorithm == "minibatch":
            converged = False  # mini-batch K-Means stops at max_iter batches
            s["batch"] = _readonly(minibatch_indices(len(x), self.batch_size, self.seed, self.best_run,
                                                     s["iteration"]))
            s["rates"] = _EMPTY_FLOAT
        if changed:  # unchanged labels stay the same shared array
            labels.flags.writeable = False
            s["labels"] = labels
        s["phase"] = "e_step" if gmm else "assign"
        s["after_update"] = False
        if converged:
            s["converged"] = True
        elif final:
            what = "batches" if self.algorithm == "minibatch" else "iterations"
            s["stopped"] = (f"stopped after max_iter = {self.max_iter} {what}" +
                            ("" if self.algorithm == "minibatch" else " without converging"))

    def _second_half(self) -> None:
        """Update (Lloyd: means; mini-batch: per-centre learning rates) or M-step (mixture)."""
        s = self._s
        x = self.points
        if self.algorithm == "gmm":
            cached = getattr(self, "_responsibilities64", None)
            if cached is not None and cached[0] is s["responsibilities"] and not s["reassign"]:
                responsibilities = cached[1]
            else:  # the same computation as the E-step's, so the same numbers
                responsibilities, _ = e_step(x, s["weights"], s["centroids"], s["covariances"])
            weights, new, covariances = m_step(x, responsibilities)
            if self._singular(covariances) or not np.isfinite(new).all():
                return  # the last good parameters stay; the message says why
            s["weights"], s["covariances"] = _readonly(weights), _readonly(covariances)
            s["phase"] = "m_step"
        elif self.algorithm == "minibatch":
            batch = x[s["batch"]]
            due, s["since_reassign"] = reassign_due(s["counts"], s["since_reassign"], self.batch_size)
            new, counts, rates = minibatch_update(batch, s["labels"][s["batch"]], s["centroids"], s["counts"])
            reassigned = _EMPTY_INT
            if due:
                new, counts, reassigned = minibatch_reassign(
                    batch, new, counts, reassign_random_state(self.seed, self.best_run, s["iteration"]))
            s["counts"], s["rates"], s["reassigned"] = _readonly(counts), _readonly(rates), _readonly(reassigned)
            s["phase"] = "update"
        else:
            new, relocated = update_centroids(x, s["labels"], s["centroids"])
            s["empty"] = _readonly(relocated)
            s["phase"] = "update"
        s["centroids"] = _readonly(new)
        s["inertia"] = assigned_inertia(x, new, s["labels"])
        s["changed"] = 0
        s["after_update"] = True

    def _singular(self, covariances: np.ndarray) -> bool:
        """Stop EM (with the reason) when a covariance is not positive definite in floating point."""
        j = singular_component(covariances)
        if j < 0:
            return False
        self._s["stopped"] = (f"EM stopped: component {j}'s covariance is singular (its points lie on a line or "
                              f"coincide, beyond what reg_covar = {REG_COVAR:g} can fix; scikit-learn refuses such a "
                              "fit); the last well-defined parameters are shown")
        return True

    # -- frames -----------------------------------------------------------------------------------------
    def frame(self) -> Frame:
        s = self._s
        centroids = s["centroids"]
        previous = s["previous_centroids"] if s["phase"] in ("update", "m_step") \
            and s["previous_centroids"] is not None else centroids
        if s["phase"] == "init_pick" and len(self.points):
            probabilities = _readonly(d2_probabilities(self.points, centroids))
        else:
            probabilities = _EMPTY_FLOAT
        data = {
            "points": self.points, "labels": s["labels"], "centroids": centroids,
            "previous_centroids": previous, "phase": s["phase"], "iteration": int(s["iteration"]),
            "inertia": float(s["inertia"]), "inertia_history": _readonly(np.array(s["history"], dtype=np.float64)),
            "converged": bool(s["converged"]), "empty_clusters": s["empty"],
            "pick_probabilities": probabilities, "k": self.k, "algorithm": self.algorithm,
            "changed": int(s["changed"]),
        }
        if self.algorithm == "minibatch":
            data["batch_indices"] = s["batch"]
            data["learning_rates"] = s["rates"]
            data["reassigned_centers"] = s["reassigned"] if s["phase"] == "update" else _EMPTY_INT
            counts = s["counts"]
            data["center_counts"] = counts if counts is not None else _readonly(np.zeros(len(centroids)))
        elif self.algorithm == "gmm":
            responsibilities = s["responsibilities"]
            if responsibilities is None:
                responsibilities = _readonly(np.zeros((len(self.points), len(s["covariances"])), dtype=np.float32))
            data["responsibilities"] = responsibilities
            data["covariances"] = s["covariances"]
            data["mixture_weights"] = s["weights"]
            data["log_likelihood"] = float(s["log_likelihood"])
            data["log_likelihood_history"] = _readonly(np.array(s["ll_history"], dtype=np.float64))
        return Frame(s["step"], data, dict(s), self._message(), self.done)

    def restore(self, frame: Frame) -> None:
        self._s = dict(frame.state)
        for key in ("labels", "centroids", "empty", "counts", "batch", "rates", "weights", "covariances",
                    "responsibilities"):
            value = self._s[key]
            if isinstance(value, np.ndarray) and value.flags.writeable:  # came back from another process
                value.flags.writeable = False

    def __setstate__(self, state: dict) -> None:
        # Unpickled arrays come back writeable: read-only again (frames would copy them each step).
        self.__dict__.update(state)
        self.points.flags.writeable = False

    # -- the status line ---------------------------------------------------------------------------------
    def _message(self) -> str:
        blocked = self.blocked
        if blocked:
            return "; ".join([blocked, *self.notes])
        s = self._s
        parts = []
        phase, i = s["phase"], s["iteration"]
        if phase == "init_pick":
            picked = len(s["centroids"])
            parts.append(f"k-means++: {picked} of {self.k} centroids picked; point size shows each point's "
                         f"D² probability of being pick {picked + 1}")
        elif phase == "init":
            how = {"random_points": f"{self.k} random point{'s' if self.k != 1 else ''}", "random_partition":
                   "the means of a random partition", "kmeans_plus_plus": "k-means++ picks",
                   "manual": "your placed centroids"}[self.init]
            nxt = "is an E-step: every point's responsibilities" if self.algorithm == "gmm" else \
                "assigns every point"
            parts.append(f"initialised: centroids at {how}; the next half-step {nxt}")
        elif phase == "assign":
            moved = "no point changed cluster" if s["changed"] == 0 else \
                f"{s['changed']:,} point{'s' if s['changed'] != 1 else ''} changed cluster"
            if self.algorithm == "minibatch":
                parts.append(f"batch {i}, assign: {moved}; the update moves the centroids towards their "
                             f"share of a batch of {self.batch_size:,} points; inertia {s['inertia']:.6g}")
            else:
                parts.append(f"iteration {i}, assign: {moved}; inertia {s['inertia']:.6g}")
                sizes = np.bincount(s["labels"], minlength=self.k)
                if (sizes == 0).any():
                    empty = ", ".join(str(j) for j in np.flatnonzero(sizes == 0))
                    parts.append(f"cluster {empty} got no points (the update relocates it)")
        elif phase == "e_step":
            moved = "no point changed its most likely component" if s["changed"] == 0 else \
                f"{s['changed']:,} point{'s' if s['changed'] != 1 else ''} changed their most likely component"
            parts.append(f"iteration {i}, E-step: responsibilities of every point; {moved}; mean log-likelihood "
                         f"{s['log_likelihood']:.6g} per point")
        elif phase == "m_step":
            parts.append(f"iteration {i}, M-step: weights, means and covariances from the responsibilities")
        elif self.algorithm == "minibatch":
            rates = s["rates"]
            moved = rates > 0
            rate_text = f"learning rates {rates[moved].min():.3g} to {rates[moved].max():.3g}" if moved.any() \
                else "no centroid had batch points"
            parts.append(f"batch {i}, update: {int(moved.sum())} centroid(s) moved towards their batch points "
                         f"({rate_text}); inertia {s['inertia']:.6g}")
            if len(s["reassigned"]):
                parts.append(f"centroid {', '.join(str(j) for j in s['reassigned'])} had under "
                             f"{REASSIGNMENT_RATIO:.0%} of the largest count and moved to a random batch point "
                             "(as scikit-learn's MiniBatchKMeans does)")
        else:
            parts.append(f"iteration {i}, update: centroids moved to the means of their points; "
                         f"inertia {s['inertia']:.6g}")
            if len(s["empty"]):
                parts.append(f"empty cluster {', '.join(str(j) for j in s['empty'])} relocated to the point "
                             "farthest from its centroid (as scikit-learn does)")
        if s["converged"]:
            parts.insert(0, f"converged after {i} iteration{'s' if i != 1 else ''}")
        elif s["stopped"].startswith("EM stopped"):
            parts = [s["stopped"]]  # what the phase would do next does not happen
        elif s["stopped"]:
            parts.insert(0, s["stopped"])
        if s["event"]:
            parts.append(s["event"])
        if self.n_init > 1 and self.init != "manual":
            parts.append(self.n_init_summary)
        return "; ".join(parts + self.notes)


def table(frame: Frame) -> tuple[list[str], list[list[Any]]]:
    """CSV export: one row per point (its cluster, its D² pick probability on a k-means++ frame,
    its responsibilities under a Gaussian mixture), then one row per centroid (with its position
    before this half-step)."""
    d = frame.data
    probabilities = np.asarray(d["pick_probabilities"])
    responsibilities = np.asarray(d.get("responsibilities", np.zeros((len(d["points"]), 0))))
    k = responsibilities.shape[1] if responsibilities.ndim == 2 else 0
    header = ["kind", "index", "x", "y", "cluster", "pick_probability",
              *(f"responsibility_{j}" for j in range(k)), "previous_x", "previous_y"]
    has_p = len(probabilities) == len(d["points"])
    rows: list[list[Any]] = []
    for i, ((x, y), label) in enumerate(zip(np.asarray(d["points"]).tolist(), np.asarray(d["labels"]).tolist())):
        rows.append(["point", i, x, y, label, float(probabilities[i]) if has_p else "",
                     *(responsibilities[i].tolist() if k else ()), "", ""])
    for j, ((x, y), (px, py)) in enumerate(zip(np.asarray(d["centroids"]).tolist(),
                                               np.asarray(d["previous_centroids"]).tolist())):
        rows.append(["centroid", j, x, y, j, "", *([""] * k), px, py])
    return header, rows
