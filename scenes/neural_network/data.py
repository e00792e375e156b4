"""Data of the neural-network playground: TF Playground's generators, input features, user points.

Pure NumPy (no Qt). The generators follow tensorflow/playground ``src/dataset.ts`` recipe by
recipe on the square [-DOMAIN, DOMAIN]² (noise is given in percent, 0..50, and used as
noise / 100 exactly as the playground's ``generateData`` does); gauss and spiral also take 3..5
classes (the 2-class case is the playground's). Labels are 0..k-1 (the playground's +1 is class 1,
its -1 class 0); regression targets are floats. Then the points are shuffled and split as in the
playground: the first ``floor(n * train_fraction)`` are the training points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from explorer import datasets
from explorer.datasets import DataError

DOMAIN = 6.0
CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral")
CLASSIFICATION_LABELS = ("Circle", "XOR", "Gaussian", "Spiral")
REGRESSION_DATASETS = ("plane", "multi_gaussian")
REGRESSION_LABELS = ("Plane", "Multi-Gaussian")
FEATURES = ("x1", "x2", "x1_squared", "x2_squared", "x1_x2", "sin_x1", "sin_x2")
FEATURE_LABELS = ("X₁", "X₂", "X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)")
MAX_NOISE = 50
#: Imported points outside the square are scaled (uniformly, about their centre) to this half-width.
USER_FIT = 5.0
#: The six bumps of the playground's multi-Gaussian regression: (centre x, centre y, sign).
REGRESSION_GAUSSIANS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
                        (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))


def _class_counts(n: int, k: int) -> list[int]:
    """n points over k classes as evenly as possible (earlier classes get the extra ones)."""
    return [n // k + (c < n % k) for c in range(k)]


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half the points at radius U(0, 2.5), half at U(3.5, 5); label 1 when the point moved by
    U(-5, 5)·noise per axis lies within 2.5 of the centre (dataset.ts classifyCircleData)."""
    radius = 5.0
    inside, outside = _class_counts(n, 2)[::-1]
    r = np.concatenate([rng.uniform(0.0, radius * 0.5, inside), rng.uniform(radius * 0.7, radius, outside)])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    x = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    moved = x + rng.uniform(-radius, radius, (n, 2)) * noise
    labels = (np.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5).astype(np.int64)
    return x, labels


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on [-5, 5]² pushed 0.3 away from the axes; label 1 when x·y >= 0 for the point
    moved by U(-5, 5)·noise per axis (dataset.ts classifyXORData)."""
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)
    moved = x + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return x, (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)


def gauss_centres(k: int) -> np.ndarray:
    """Class centres of the Gaussian data: the playground's (-2, -2) (class 0) and (2, 2) (class 1)
    for two classes; k >= 3 spread evenly on the same circle of radius 2√2."""
    angle = 1.25 * math.pi + 2 * math.pi * np.arange(k) / k
    return 2 * math.sqrt(2) * np.column_stack([np.cos(angle), np.sin(angle)])


def gauss_variance(noise: float) -> float:
    """Variance of each Gaussian: 0.5 at noise 0 rising linearly to 4 at noise 0.5 (dataset.ts)."""
    return 0.5 + (4.0 - 0.5) * noise / 0.5


def gauss(n: int, noise: float, rng: np.random.Generator, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Normal blobs of the variance gauss_variance(noise) around gauss_centres(k)
    (dataset.ts classifyTwoGaussData)."""
    labels = np.repeat(np.arange(k), _class_counts(n, k))
    x = gauss_centres(k)[labels] + math.sqrt(gauss_variance(noise)) * rng.standard_normal((n, 2))
    return x, labels.astype(np.int64)


def spiral_offset(c: int, k: int) -> float:
    """Angle offset of class c's arm: π for class 0 and 0 for class 1 when k = 2 (dataset.ts)."""
    return ((0.5 + c / k) % 1.0) * 2 * math.pi


def spiral(n: int, noise: float, rng: np.random.Generator, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Point i of an arm of m points: r = 5 i / m, t = 1.75 · 2π i / m + offset,
    (r sin t, r cos t) + U(-1, 1)·noise per axis (dataset.ts classifySpiralData)."""
    parts, labels = [], []
    for c, m in enumerate(_class_counts(n, k)):
        i = np.arange(m)
        r = i / m * 5.0
        t = 1.75 * i / m * 2 * math.pi + spiral_offset(c, k)
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]) + rng.uniform(-1.0, 1.0, (m, 2)) * noise)
        labels.append(np.full(m, c, dtype=np.int64))
    return np.concatenate(parts).reshape(-1, 2), np.concatenate(labels)


def plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on [-6, 6]²; target (x + y) / 10 of the point moved by U(-6, 6)·noise per axis
    (dataset.ts regressPlane: a linear scale from [-10, 10] to [-1, 1], not clamped)."""
    x = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    moved = x + rng.uniform(-DOMAIN, DOMAIN, (n, 2)) * noise
    return x, (moved[:, 0] + moved[:, 1]) / 10.0


def multi_gaussian_target(points: np.ndarray) -> np.ndarray:
    """Of the six bumps sign · clamp(1 - distance / 2, 0, 1), the one largest in size (dataset.ts
    regressGaussian; the first of equal sizes wins, 0 far from every bump)."""
    best = np.zeros(len(points))
    for cx, cy, sign in REGRESSION_GAUSSIANS:
        value = sign * np.clip(1.0 - np.hypot(points[:, 0] - cx, points[:, 1] - cy) / 2.0, 0.0, 1.0)
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return best


def multi_gaussian(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on [-6, 6]²; target multi_gaussian_target of the point moved by U(-6, 6)·noise."""
    x = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    moved = x + rng.uniform(-DOMAIN, DOMAIN, (n, 2)) * noise
    return x, multi_gaussian_target(moved)


def generate(dataset: str, n: int, noise_percent: float, data_seed: int, n_classes: int = 2
             ) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 2) and labels (int, classification) or targets (float, regression), before the
    shuffle; noise in percent (0..50) as the playground's slider."""
    noise = float(noise_percent) / 100.0
    names = CLASSIFICATION_DATASETS + REGRESSION_DATASETS
    if dataset not in names:
        raise ValueError(f"unknown data set {dataset!r}; allowed: {', '.join(names)}")
    rng = np.random.default_rng([int(data_seed), names.index(dataset)])
    if dataset in ("gauss", "spiral"):
        return (gauss if dataset == "gauss" else spiral)(int(n), noise, rng, int(n_classes))
    return {"circle": circle, "xor": xor, "plane": plane, "multi_gaussian": multi_gaussian}[dataset](
        int(n), noise, rng)


def features(points: np.ndarray, names) -> np.ndarray:
    """The input features ``names`` (of FEATURES) of points (m, 2), on raw coordinates as the
    playground computes them: (m, len(names))."""
    x1, x2 = points[:, 0], points[:, 1]
    columns = {"x1": lambda: x1, "x2": lambda: x2, "x1_squared": lambda: x1 * x1,
               "x2_squared": lambda: x2 * x2, "x1_x2": lambda: x1 * x2,
               "sin_x1": lambda: np.sin(x1), "sin_x2": lambda: np.sin(x2)}
    out = np.empty((len(points), len(names)))
    for index, name in enumerate(names):
        out[:, index] = columns[name]()
    return out


@dataclass(frozen=True)
class Split:
    """Training, validation and test points (read-only arrays, shared by every frame of a run)."""

    train_x: np.ndarray
    train_y: np.ndarray
    validation_x: np.ndarray
    validation_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    n_classes: int  # 0 for regression
    note: str = ""  # what happened to user points (scaled into the square), for the message


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    if array.flags.writeable:
        array = array.copy()
        array.flags.writeable = False
    return array


def split_points(x: np.ndarray, y: np.ndarray, train_fraction: float, validation_fraction: float,
                 order: np.ndarray | None, n_classes: int, note: str = "") -> Split:
    """The first floor(n · train_fraction) points of ``order`` train, the rest test (the
    playground's split); with validation_fraction > 0, the last round(n_train · fraction) of
    the training points (at least 1, leaving at least 1) are the validation set."""
    if order is not None:
        x, y = x[order], y[order]
    n = len(x)
    n_train = int(math.floor(n * float(train_fraction)))
    n_validation = 0
    if validation_fraction > 0 and n_train >= 2:
        n_validation = min(max(int(round(n_train * float(validation_fraction))), 1), n_train - 1)
    fit = n_train - n_validation
    return Split(_readonly(x[:fit]), _readonly(y[:fit]), _readonly(x[fit:n_train]), _readonly(y[fit:n_train]),
                 _readonly(x[n_train:]), _readonly(y[n_train:]), n_classes, note)


@lru_cache(maxsize=16)
def generated_split(problem: str, dataset: str, n: int, noise_percent: float, data_seed: int, n_classes: int,
                    train_fraction: float, validation_fraction: float) -> Split:
    """The generated data of a run, shuffled (from data_seed) and split; cached, read-only."""
    x, y = generate(dataset, n, noise_percent, data_seed, n_classes)
    order = np.random.default_rng([int(data_seed), 7]).permutation(len(x))
    return split_points(x, y, train_fraction, validation_fraction, order,
                        int(n_classes) if problem == "classification" else 0)


def fit_into_square(x: np.ndarray) -> tuple[np.ndarray, str]:
    """User points as they are when they lie in the square; else scaled uniformly about their
    bounding box's centre so the larger half-span is USER_FIT (the note says so)."""
    if len(x) == 0 or np.abs(x).max() <= DOMAIN:
        return x, ""
    low, high = x.min(axis=0), x.max(axis=0)
    centre = (low + high) / 2
    half = float(max((high - low).max() / 2, 1e-12))
    scale = USER_FIT / half
    return (x - centre) * scale, (f"your points were scaled by {scale:.3g} about ({centre[0]:.3g}, {centre[1]:.3g}) "
                                  f"into the square ±{DOMAIN:g}")


def user_split(data: Any, train_fraction: float, validation_fraction: float, seed: int) -> Split:
    """Drawn or imported classification points (explorer.datasets.from_user; raises DataError
    with a user-facing message: too few points, a single class, bad values), scaled into the
    square when they do not fit; test points are from_user's split with 1 - train_fraction."""
    dataset = datasets.from_user(data, 1.0 - float(train_fraction), seed)
    present = np.unique(dataset.y)
    if len(present) < 2:  # pragma: no cover - from_user refuses this already
        raise DataError("all points are one class: add points of another class")
    x, note = fit_into_square(np.asarray(dataset.x, dtype=np.float64))
    y = np.asarray(dataset.y, dtype=np.int64)
    train = np.flatnonzero(~dataset.test)
    test = np.flatnonzero(dataset.test)
    order = np.concatenate([train, test])
    # floor(n * fraction) could round down by one in floating point: aim at the middle of the count.
    fraction = (len(train) + 0.5) / len(x)
    if len(train[y[train] == y[train][0]]) == len(train):
        raise DataError("the training points are all one class: add points of another class")
    return split_points(x, y, fraction, validation_fraction, order, int(y.max()) + 1, note)
