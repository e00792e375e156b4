"""The K-Means scene's simulation: Lloyd's algorithm one half-step at a time.

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
ALGORITHMS = ("lloyd",)
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
        }
        self._s = s
        if self.data_error or n < self.k:
            return
        if self.init == "manual":
            if self.n_init > 1:
                self.notes.append("n_init is for automatic initialisations: manual init places one set")
            parsed = self._parsed(p["centroids_set"])
            if parsed is not None and parsed[0] == 0:
                self._place(parsed[1], initial=True)
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
            finals.append(lloyd(self.points, start, self.max_iter)[2])
        best = int(np.argmin(finals))
        summary = (f"started from the best of {self.n_init} initialisations (#{best + 1}: final inertia "
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
        if self.init == "manual" and initial:
            if m > self.k:
                centroids = centroids[:self.k]
                s["event"] = f"{m} centroids placed: the first k = {self.k} are used"
            s["centroids"] = _readonly(centroids)
            return
        if m != self.k:
            s["event"] = f"ignored {m} dragged centroid(s): the run has k = {self.k}"
            return
        s["centroids"] = _readonly(centroids)
        if s["phase"] == "init_pick":
            s["phase"] = "init"
        s["converged"], s["stopped"], s["after_update"], s["reassign"] = False, "", False, True
        s["event"] = "centroids moved by hand: the next half-step assigns the points to them"

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
        elif s["phase"] == "assign" and not s["reassign"]:
            self._update()
        else:
            self._assign()
            if coarse and not self.done:
                self._update()
        if s["phase"] == "update":
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

    def _assign(self) -> None:
        s = self._s
        x, c = self.points, s["centroids"]
        labels = nearest(x, c)
        changed = int(np.count_nonzero(labels != s["labels"]))
        final = s["after_update"] and s["iteration"] >= self.max_iter
        again = s["phase"] == "assign"  # after centroids were dragged between an assign and its update
        if not again and not final:
            s["iteration"] += 1
        s["changed"] = changed
        s["inertia"] = assigned_inertia(x, c, labels)
        s["history"] = (s["history"][:-1] if again else s["history"]) + (s["inertia"],)
        s["reassign"] = False
        s["empty"] = _EMPTY_INT
        converged = s["after_update"] and changed == 0
        if changed:  # unchanged labels stay the same shared array
            labels.flags.writeable = False
            s["labels"] = labels
        s["phase"] = "assign"
        s["after_update"] = False
        if converged:
            s["converged"] = True
        elif final:
            s["stopped"] = f"stopped after max_iter = {self.max_iter} iterations without converging"

    def _update(self) -> None:
        s = self._s
        new, relocated = update_centroids(self.points, s["labels"], s["centroids"])
        s["centroids"] = _readonly(new)
        s["empty"] = _readonly(relocated)
        s["inertia"] = assigned_inertia(self.points, new, s["labels"])
        s["phase"] = "update"
        s["changed"] = 0
        s["after_update"] = True

    # -- frames -----------------------------------------------------------------------------------------
    def frame(self) -> Frame:
        s = self._s
        centroids = s["centroids"]
        previous = s["previous_centroids"] if s["phase"] == "update" and s["previous_centroids"] is not None \
            else centroids
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
        return Frame(s["step"], data, dict(s), self._message(), self.done)

    def restore(self, frame: Frame) -> None:
        self._s = dict(frame.state)
        for key in ("labels", "centroids", "empty"):
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
            how = {"random_points": f"{self.k} random points", "random_partition":
                   "the means of a random partition", "kmeans_plus_plus": "k-means++ picks",
                   "manual": "your placed centroids"}[self.init]
            parts.append(f"initialised: centroids at {how}; the next half-step assigns every point")
        elif phase == "assign":
            moved = "no point changed cluster" if s["changed"] == 0 else \
                f"{s['changed']:,} point{'s' if s['changed'] != 1 else ''} changed cluster"
            parts.append(f"iteration {i}, assign: {moved}; inertia {s['inertia']:.6g}")
            sizes = np.bincount(s["labels"], minlength=self.k)
            if (sizes == 0).any():
                empty = ", ".join(str(j) for j in np.flatnonzero(sizes == 0))
                parts.append(f"cluster {empty} got no points (the update relocates it)")
        else:
            parts.append(f"iteration {i}, update: centroids moved to the means of their points; "
                         f"inertia {s['inertia']:.6g}")
            if len(s["empty"]):
                parts.append(f"empty cluster {', '.join(str(j) for j in s['empty'])} relocated to the point "
                             "farthest from its centroid (as scikit-learn does)")
        if s["converged"]:
            parts.insert(0, f"converged after {i} iteration{'s' if i != 1 else ''}")
        elif s["stopped"]:
            parts.insert(0, s["stopped"])
        if s["event"]:
            parts.append(s["event"])
        if self.n_init > 1 and self.init != "manual":
            parts.append(self.n_init_summary)
        return "; ".join(parts + self.notes)
