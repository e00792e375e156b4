"""PCA, step by step: centre the data, form the covariance, find PC1 by power iteration, PC2 (and
PC3) orthogonal to it, then project — and the same analysis of scikit-learn's own data sets
(iris, wine, breast cancer, digits), with kernel PCA on concentric circles.

Pure NumPy (no Qt: the import-linter contract checks it); scikit-learn only loads its bundled data
sets and draws the circles. Deterministic for a seed. The whole story is computed when the run
starts (a few hundred small matrix-vector products), so a frame is built from its step number alone
and ``restore`` only sets it back.

Conventions, as scikit-learn's ``PCA``: the covariance divides by n − 1 (``explained_variance_``);
standardising divides each centred feature by its population standard deviation (``StandardScaler``;
a constant feature keeps scale 1); components are unit rows, their sign fixed so that the largest
|loading| is positive.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Mapping

import numpy as np

from explorer.params import Bool, Choice, Float, Int, resolve
from explorer.scene import Frame

DATASETS = ("cloud_2d", "cloud_3d", "circles", "iris", "wine", "breast_cancer", "digits")
DATASET_LABELS = ("2-D gaussian cloud", "3-D gaussian cloud", "Concentric circles (kernel PCA)", "Iris (4 features)",
                  "Wine (13 features)", "Breast cancer (30 features)", "Digits (64 pixels)")
#: Data sets the step-by-step story is told on (2 or 3 features); the others are analysed at once.
STORY_DATASETS = ("cloud_2d", "cloud_3d", "circles")
REAL_DATASETS = ("iris", "wine", "breast_cancer", "digits")
#: The power iteration stops when its direction turns by less than this (radians) in one step ...
POWER_TOLERANCE = 1e-6
#: ... or after this many iterations (nearly equal eigenvalues converge slowly: the status says so).
POWER_ITERATIONS = 40
#: Frames of the slide of the points onto the PC1 line (PC1-PC2 plane in 3-D), the last one "projected".
SLIDE_FRAMES = 8
#: Kernel PCA runs on at most this many points (its n x n eigenproblem); the status says when fewer.
KERNEL_POINTS = 600
#: Feature 1 of a cloud is multiplied by this when "one feature in other units" is on.
BIG_SCALE = 10.0
#: Where the clouds are centred before the "centre" step (so that centring is visible).
CLOUD_MEAN = np.array([2.0, 1.0, 0.5])
#: The 3-D cloud is tilted by this angle about the x axis (degrees), so it is not flat in any view.
CLOUD_TILT = 35.0
#: Digits shown as originals beside their reconstruction.
DIGITS_SHOWN = 8
MAX_COMPONENTS = 64

PARAMS = (
    Choice("dataset", "cloud_2d", "The data PCA analyses: a gaussian cloud you shape, circles that linear PCA "
           "cannot unfold, or a data set that ships with scikit-learn.", choices=DATASETS, labels=DATASET_LABELS,
           label="Data set", group="Data"),
    Int("n_samples", 300, "How many points to draw.", minimum=10, maximum=2000, log=True, label="Samples",
        group="Data", show_if={"dataset": STORY_DATASETS}),
    Float("spread_1", 3.0, "Standard deviation of the cloud along its first own axis (before rotation).",
          minimum=0.1, maximum=5.0, decimals=2, label="Spread 1", group="Data",
          show_if={"dataset": ("cloud_2d", "cloud_3d")}),
    Float("spread_2", 1.0, "Standard deviation of the cloud along its second own axis.", minimum=0.1, maximum=5.0,
          decimals=2, label="Spread 2", group="Data", show_if={"dataset": ("cloud_2d", "cloud_3d")}),
    Float("spread_3", 0.5, "Standard deviation of the 3-D cloud along its third own axis.", minimum=0.1,
          maximum=5.0, decimals=2, label="Spread 3", group="Data", show_if={"dataset": ("cloud_3d",)}),
    Float("rotation", 30.0, "Angle (degrees) by which the cloud's own axes are turned about the vertical axis.",
          minimum=-180.0, maximum=180.0, decimals=1, label="Rotation", group="Data",
          show_if={"dataset": ("cloud_2d", "cloud_3d")}),
    Float("noise", 0.0, "Standard deviation of round gaussian noise added to every feature (circles: 0.05 + this/10 "
          "as make_circles' noise).", minimum=0.0, maximum=2.0, decimals=2, label="Noise", group="Data",
          show_if={"dataset": STORY_DATASETS}),
    Bool("big_scale", False, f"Measure feature 1 in units {BIG_SCALE:g} times smaller, so its numbers are "
         f"{BIG_SCALE:g} times larger: unstandardised PCA then follows that feature.", label="Feature 1 ×10",
         group="Data", show_if={"dataset": ("cloud_2d", "cloud_3d")}),
    Int("data_seed", 0, "Which random draw of the data.", minimum=0, maximum=99999, group="Data",
        show_if={"dataset": STORY_DATASETS}),
    Bool("standardize", False, "Scale every centred feature to unit variance before PCA (then the components "
         "do not depend on each feature's units).", label="Standardise", group="PCA"),
    Int("components", 2, "Number of components kept: the scree plot marks it and digits are rebuilt from that "
        "many.", minimum=1, maximum=MAX_COMPONENTS, live=True, label="Components kept", group="PCA",
        show_if={"dataset": REAL_DATASETS}),
    Int("pc_x", 1, "Which principal component the scatter shows across.", minimum=1, maximum=MAX_COMPONENTS,
        live=True, label="Horizontal PC", group="PCA", show_if={"dataset": REAL_DATASETS}),
    Int("pc_y", 2, "Which principal component the scatter shows up.", minimum=1, maximum=MAX_COMPONENTS,
        live=True, label="Vertical PC", group="PCA", show_if={"dataset": REAL_DATASETS}),
    Float("axis_angle", 0.0, "Direction (degrees) of your own projection axis: drag on the plot to turn it; its "
          "captured variance is shown beside PC1's.", minimum=-90.0, maximum=90.0, decimals=1, live=True,
          label="Your axis", group="PCA", show_if={"dataset": ("cloud_2d", "circles")}),
    Float("gamma", 5.0, "Width parameter γ of kernel PCA's RBF kernel exp(−γ·|x − x'|²): larger γ, more local.",
          minimum=0.01, maximum=100.0, log=True, decimals=3, label="Kernel γ", group="PCA",
          show_if={"dataset": ("circles",)}),
    Float("azimuth", -60.0, "Horizontal viewing angle of the 3-D view (degrees); drag the plot to turn it.",
          minimum=-180.0, maximum=180.0, decimals=1, live=True, label="View azimuth", group="3-D view",
          show_if={"dataset": ("cloud_3d",)}),
    Float("elevation", 20.0, "Vertical viewing angle of the 3-D view (degrees); drag the plot to tilt it.",
          minimum=-90.0, maximum=90.0, decimals=1, live=True, label="View elevation", group="3-D view",
          show_if={"dataset": ("cloud_3d",)}),
)


# -- data ------------------------------------------------------------------------------------------------
def rotation_matrix(degrees: float, d: int) -> np.ndarray:
    """Rotation by ``degrees`` in the x-y plane (d = 2), or about z then tilted about x (d = 3)."""
    a = math.radians(degrees)
    turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    if d == 2:
        return turn
    rz = np.eye(3)
    rz[:2, :2] = turn
    t = math.radians(CLOUD_TILT)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(t), -math.sin(t)], [0.0, math.sin(t), math.cos(t)]])
    return rx @ rz


@functools.lru_cache(maxsize=8)
def _bundled(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    from sklearn import datasets as sk_datasets

    loaded = getattr(sk_datasets, f"load_{name}")()
    x = np.asarray(loaded.data, dtype=float)
    y = np.asarray(loaded.target, dtype=np.int64)
    features = tuple(str(f) for f in getattr(loaded, "feature_names", [f"pixel {i}" for i in range(x.shape[1])]))
    classes = tuple(str(c) for c in loaded.target_names)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y, features, classes


def generate(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(points n x d, class labels, feature names, class names) for these parameters."""
    name = params["dataset"]
    if name in REAL_DATASETS:
        return _bundled(name)
    n = int(params["n_samples"])
    rng = np.random.default_rng(int(params["data_seed"]))
    if name == "circles":
        from sklearn.datasets import make_circles

        x, y = make_circles(n_samples=n, factor=0.3, noise=0.05 + float(params["noise"]) / 10.0,
                            random_state=int(params["data_seed"]))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=np.int64), ("x₁", "x₂"), ("inner", "outer")
    d = 2 if name == "cloud_2d" else 3
    spreads = np.array([params["spread_1"], params["spread_2"], params["spread_3"]][:d], dtype=float)
    own = rng.standard_normal((n, d)) * spreads
    x = own @ rotation_matrix(float(params["rotation"]), d).T + CLOUD_MEAN[:d]
    x = x + float(params["noise"]) * rng.standard_normal((n, d))
    features = ("x₁", "x₂", "x₃")[:d]
    if params["big_scale"]:
        x[:, 0] *= BIG_SCALE
        features = (f"x₁ (×{BIG_SCALE:g})",) + features[1:]
    return x, np.zeros(n, dtype=np.int64), features, ("points",)


# -- the maths ---------------------------------------------------------------------------------------------
def scaling(x: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) of the features: scale is the population std when standardising (1 for a
    constant feature, as StandardScaler), else ones."""
    mean = x.mean(axis=0)
    if not standardize:
        return mean, np.ones(x.shape[1])
    std = x.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def covariance(z: np.ndarray) -> np.ndarray:
    """Covariance of centred data z (n − 1 in the denominator, as scikit-learn's explained_variance_)."""
    return (z.T @ z) / max(len(z) - 1, 1)


def fix_signs(components: np.ndarray) -> np.ndarray:
    """Each row's sign chosen so that its largest-magnitude entry is positive."""
    rows = np.arange(len(components))
    biggest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[rows, biggest])
    return components * np.where(signs == 0, 1.0, signs)[:, None]


def principal_components(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues, largest first, clipped at 0; components as unit rows, signs fixed)."""
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    return np.clip(values[order], 0.0, None), fix_signs(vectors[:, order].T)


def power_iteration(cov: np.ndarray, start: np.ndarray, iterations: int = POWER_ITERATIONS,
                    tolerance: float = POWER_TOLERANCE) -> tuple[list[np.ndarray], bool]:
    """The directions v, Cv/|Cv|, ... from ``start`` (unit), until a step turns by less than
    ``tolerance`` radians or ``iterations`` steps; and whether it converged."""
    v = start / np.linalg.norm(start)
    path = [v]
    for _ in range(iterations):
        w = cov @ v
        norm = np.linalg.norm(w)
        if not norm > 0:  # v is in the null space: no direction to follow
            return path, False
        w = w / norm
        w = w * (1.0 if float(w @ v) >= 0 else -1.0)  # a negative eigenvalue cannot occur; keep the sign steady
        path.append(w)
        turned = math.acos(min(1.0, abs(float(w @ v))))
        v = w
        if turned < tolerance:
            return path, True
    return path, False


def captured_variance(z: np.ndarray, direction: np.ndarray) -> float:
    """Variance of the data z (centred) along a unit direction (n − 1 denominator)."""
    scores = z @ direction
    return float(scores @ scores) / max(len(z) - 1, 1)


def reconstruct(scores: np.ndarray, components: np.ndarray, k: int, mean: np.ndarray,
                scale: np.ndarray) -> np.ndarray:
    """Points rebuilt from their first k scores, back in the original units."""
    return (scores[:, :k] @ components[:k]) * scale + mean


def reconstruction_errors(eigenvalues: np.ndarray, n: int) -> np.ndarray:
    """Mean over points of the squared reconstruction distance (in the space PCA ran in) with
    k = 0 .. d components: the sum of the discarded eigenvalues times (n − 1)/n."""
    tail = np.concatenate([np.cumsum(eigenvalues[::-1])[::-1], [0.0]])
    return tail * (n - 1) / n


def rbf_kernel_pca(x: np.ndarray, gamma: float, n_components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Kernel PCA with K = exp(−γ|x − x'|²): (projections n x m, eigenvalues of the centred K), as
    scikit-learn's KernelPCA.fit_transform (eigenvectors scaled by √eigenvalue), signs fixed as
    ``fix_signs`` on each column."""
    from scipy.linalg import eigh

    sq = np.sum(x * x, axis=1)
    distances = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    kernel = np.exp(-gamma * distances)
    n = len(x)
    row = kernel.mean(axis=0)
    centred = kernel - row[None, :] - row[:, None] + row.mean()
    m = min(n_components, n)
    values, vectors = eigh(centred, subset_by_index=(n - m, n - 1))
    values, vectors = values[::-1], vectors[:, ::-1]
    values = np.clip(values, 0.0, None)
    projections = fix_signs((vectors * np.sqrt(values)).T).T
    return projections, values


def angle_direction(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([math.cos(a), math.sin(a)])


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


# -- the simulation ------------------------------------------------------------------------------------------
class Simulation:
    """One story frame per step for the 2-D and 3-D data sets (stages: data, centre, covariance, PC1 by
    power iteration, PC1, PC2 (3-D: by power iteration on the deflated covariance), PC3, slide onto
    the PC1 line / PC1-PC2 plane, projected); the real data sets are analysed at step 0 (done)."""

    def __init__(self, params: Mapping[str, Any], seed: int = 0, data: Any = None) -> None:
        self.params = resolve(PARAMS, params)
        self.seed = int(seed)
        p = self.params
        x, labels, self.features, self.classes = generate(p)
        self.points = _read_only(x)
        self.labels = _read_only(labels)
        n, d = x.shape
        self.n, self.d = n, d
        mean, scale = scaling(x, bool(p["standardize"]))
        z = (x - mean) / scale
        self.mean, self.scale = _read_only(mean), _read_only(scale)
        self.centred = _read_only(z)
        self.cov = _read_only(covariance(z))
        eigenvalues, components = principal_components(self.cov)
        self.eigenvalues, self.components = _read_only(eigenvalues), _read_only(components)
        self.scores = _read_only(z @ components.T)
        total = float(eigenvalues.sum())
        self.ratio = _read_only(eigenvalues / total if total > 0 else np.zeros(d))
        self.errors = _read_only(reconstruction_errors(eigenvalues, n))
        self.story = p["dataset"] in STORY_DATASETS
        self.notes: list[str] = []
        if self.story:
            self._build_story(z)
        else:
            self.stages = [("analysed", {})]
        self.kernel: dict[str, np.ndarray] | None = None
        if p["dataset"] == "circles":
            used = min(n, KERNEL_POINTS)
            projections, values = rbf_kernel_pca(x[:used], float(p["gamma"]))
            self.kernel = {"kernel.projections": _read_only(projections), "kernel.eigenvalues": _read_only(values),
                           "kernel.labels": _read_only(labels[:used])}
            if used < n:
                self.notes.append(f"kernel PCA on the first {used} of {n} points")
        self._step = 0

    # -- the story --------------------------------------------------------------------------------------------
    def _build_story(self, z: np.ndarray) -> None:
        d = self.d
        cov = np.asarray(self.cov)
        stages: list[tuple[str, dict[str, Any]]] = [("data", {}), ("centre", {}), ("covariance", {})]
        rng = np.random.default_rng(self.seed)
        start = rng.standard_normal(d)
        start = start / np.linalg.norm(start)
        path, converged = power_iteration(cov, start)
        self.power_converged = [converged]
        for i, v in enumerate(path):
            stages.append(("power_pc1", {"iteration": i, "candidate": v}))
        v1 = np.asarray(self.components[0])
        stages.append(("pc1", {}))
        if d == 3:
            deflated = cov - self.eigenvalues[0] * np.outer(v1, v1)
            start2 = rng.standard_normal(3)
            start2 = start2 - (start2 @ v1) * v1
            path2, converged2 = power_iteration(deflated, start2)
            self.power_converged.append(converged2)
            for i, v in enumerate(path2):
                stages.append(("power_pc2", {"iteration": i, "candidate": v}))
            stages.append(("pc2", {}))
            stages.append(("pc3", {}))
        else:
            stages.append(("pc2", {}))
        for i in range(1, SLIDE_FRAMES):
            stages.append(("project", {"slide": i / SLIDE_FRAMES}))
        stages.append(("projected", {"slide": 1.0}))
        self.stages = stages

    def projected_points(self, slide: float) -> np.ndarray:
        """The centred points moved ``slide`` of the way onto the PC1 line (2-D) / PC1-PC2 plane (3-D)."""
        z = np.asarray(self.centred)
        kept = self.components[: self.d - 1]
        onto = (z @ kept.T) @ kept
        return z + slide * (onto - z)

    # -- the Simulation protocol ------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._step >= len(self.stages) - 1

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Live values (components kept, shown PCs, your axis, the 3-D view angles) only change what is drawn."""
        merged = dict(self.params)
        merged.update({k: v for k, v in params.items() if k in merged})
        self.params = merged

    def step(self) -> Frame:
        if not self.done:
            self._step += 1
        return self.frame()

    def restore(self, frame: Frame) -> None:
        self._step = int(frame.step)

    def frame(self) -> Frame:
        stage, extra = self.stages[self._step]
        data: dict[str, Any] = {
            "stage": stage,
            "points": self.points, "labels": self.labels,
            "mean": self.mean, "scale": self.scale,
            "covariance": self.cov, "eigenvalues": self.eigenvalues,
            "components": self.components, "explained_variance_ratio": self.ratio,
            "scores": self.scores, "reconstruction_error": self.errors,
        }
        # Components found so far in the story (all of them once it is over, and for the real data).
        order = {"pc1": 1, "power_pc2": 1, "pc2": 2, "pc3": 3, "project": self.d, "projected": self.d, "analysed": self.d}
        data["components_found"] = order.get(stage, 0)
        if "candidate" in extra:
            v = _read_only(np.asarray(extra["candidate"], dtype=float))
            data["candidate"] = v
            data["candidate_iteration"] = int(extra["iteration"])
            data["candidate_variance"] = captured_variance(np.asarray(self.centred), v)
            target = self.components[0 if stage == "power_pc1" else 1]
            data["candidate_angle_to_pc"] = math.degrees(math.acos(min(1.0, abs(float(v @ target)))))
        if "slide" in extra:
            data["slide"] = float(extra["slide"])
            data["moved_points"] = _read_only(self.projected_points(float(extra["slide"])))
        if self.d == 2:
            axis = angle_direction(float(self.params["axis_angle"]))
            data["axis_direction"] = _read_only(axis)
            data["axis_variance"] = captured_variance(np.asarray(self.centred), axis)
            data["axis_error"] = float(np.mean(np.sum(np.asarray(self.centred) ** 2, axis=1))) - \
                data["axis_variance"] * (self.n - 1) / self.n
        if self.params["dataset"] in REAL_DATASETS:
            k = min(int(self.params["components"]), self.d)
            data["components_kept"] = k
            data["variance_kept"] = float(np.sum(self.ratio[:k]))
            if self.params["dataset"] == "digits":
                shown = np.asarray(self.points[:DIGITS_SHOWN])
                scores = np.asarray(self.scores[:DIGITS_SHOWN])
                data["digits.reconstruction"] = _read_only(reconstruct(scores, np.asarray(self.components), k,
                                                                        np.asarray(self.mean), np.asarray(self.scale)))
                data["digits.original"] = _read_only(shown)
        if self.kernel is not None:
            data.update(self.kernel)
        return Frame(step=self._step, data=data, state={"step": self._step}, message=self.message(),
                     done=self.done)

    # -- text -------------------------------------------------------------------------------------------------
    def message(self) -> str:
        stage, extra = self.stages[self._step]
        space = "standardised " if self.params["standardize"] else ""
        ratios = ", ".join(f"{r:.1%}" for r in self.ratio[: min(3, self.d)])
        if stage == "data":
            text = f"{self.n} points in {self.d}-D: step to centre them"
        elif stage == "centre":
            text = "centred: the mean moved to the origin" + (" and every feature scaled to unit variance"
                                                             if self.params["standardize"] else "")
        elif stage == "covariance":
            text = f"the {space}covariance matrix: its eigenvectors are the principal components"
        elif stage in ("power_pc1", "power_pc2"):
            which = "PC1" if stage == "power_pc1" else "PC2"
            v = np.asarray(extra["candidate"])
            variance = captured_variance(np.asarray(self.centred), v)
            text = (f"power iteration {extra['iteration']} for {which}: v ← Cv/|Cv| captures variance {variance:.4g} "
                    f"(PC{1 if which == 'PC1' else 2}: {self.eigenvalues[0 if which == 'PC1' else 1]:.4g})")
            last = extra["iteration"] == len([s for s in self.stages if s[0] == stage]) - 1
            if last and not self.power_converged[0 if which == "PC1" else 1]:
                gap = self.eigenvalues[1 if which == "PC1" else 2] / max(self.eigenvalues[0 if which == "PC1" else 1],
                                                                         1e-300)
                text += (f"; not converged after {POWER_ITERATIONS} iterations (λ ratio {gap:.3f}: nearly equal "
                         f"spreads make the direction barely defined); the exact eigenvector is used")
        elif stage == "pc1":
            text = f"PC1 found: explained variance ratio {self.ratio[0]:.1%}"
        elif stage == "pc2":
            text = ("PC2: the only direction orthogonal to PC1" if self.d == 2
                    else "PC2 found by power iteration on C − λ₁v₁v₁ᵀ (orthogonal to PC1)")
            text += f"; ratios {ratios}"
        elif stage == "pc3":
            text = f"PC3: orthogonal to PC1 and PC2; ratios {ratios}"
        elif stage in ("project", "projected"):
            target = "PC1 line" if self.d == 2 else "PC1-PC2 plane"
            kept = min(self.d - 1, self.d)
            error = float(self.errors[kept])
            text = (f"projecting onto the {target}: mean squared reconstruction error {error:.4g} "
                    f"(variance kept {float(np.sum(self.ratio[:kept])):.1%})")
            if stage == "projected":
                text = text.replace("projecting onto", "projected onto")
        else:
            k = min(int(self.params["components"]), self.d)
            text = (f"{self.params['dataset'].replace('_', ' ')}: {self.n} samples × {self.d} {space}features; "
                    f"{k} component{'s' if k > 1 else ''} keep {float(np.sum(self.ratio[:k])):.1%} of the variance")
        if self.kernel is not None and stage == "projected":
            text += "; linear PCA cannot separate the circles: see kernel PCA"
        if self.notes:
            text += " · " + "; ".join(self.notes)
        return text


def table(frame: Frame) -> tuple[list[str], list[list[Any]]]:
    """One row per point: its index, class, original features and its scores on every component."""
    points = np.asarray(frame.data["points"])
    scores = np.asarray(frame.data["scores"])
    labels = np.asarray(frame.data["labels"])
    d = points.shape[1]
    header = ["index", "label", *[f"x{j + 1}" for j in range(d)], *[f"pc{j + 1}" for j in range(d)]]
    rows = [[i, int(labels[i]), *map(float, points[i]), *map(float, scores[i])] for i in range(len(points))]
    return header, rows
