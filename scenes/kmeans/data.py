"""Data of the K-Means scene: scikit-learn's toy generators (seeded) and user points.

Pure NumPy (scikit-learn's generators imported lazily, no Qt). The data sets are those of
scikit-learn's "Demonstration of k-means assumptions" example and its clustering comparison:
gaussian blobs, anisotropic blobs (blobs times a fixed matrix), blobs of unequal variance and of
unequal size, two moons, two circles and uniform noise. Points are (n, 2) float64, read-only,
cached per parameter set (every frame of a run shares them).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from explorer import datasets
from explorer.datasets import DataError

DATASETS = ("blobs", "anisotropic", "unequal_variance", "unequal_size", "moons", "circles", "uniform")
DATASET_LABELS = ("Gaussian blobs", "Anisotropic blobs", "Unequal variance", "Unequal size", "Moons", "Circles",
                  "Uniform noise")
#: Data sets drawn from gaussian blobs (they take true_clusters and cluster_std).
BLOB_DATASETS = ("blobs", "anisotropic", "unequal_variance", "unequal_size")
#: The linear map of the anisotropic blobs (scikit-learn's k-means assumptions example).
ANISOTROPIC = np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])
#: Spreads of the unequal-variance blobs, cycled over the clusters and times cluster_std (the example's 1, 2.5, 0.5).
UNEQUAL_STDS = (1.0, 2.5, 0.5)
#: Each further cluster of the unequal-size data is this share of the one before (the example's 500, 100, 10).
SIZE_RATIO = 0.2
#: Moons and circles are scaled by this, so their extent is comparable with the blobs' (centres in ±10).
SHAPE_SCALE = 5.0
SHAPE_NOISE = 0.05
#: The uniform noise fills the square ±UNIFORM_HALF_WIDTH.
UNIFORM_HALF_WIDTH = 10.0


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float64)
    if array.flags.writeable:
        array = array.copy()
        array.flags.writeable = False
    return array


def unequal_sizes(n: int, clusters: int) -> list[int]:
    """Sizes of the unequal-size blobs: proportional to SIZE_RATIO ** i, each at least 1, summing to n."""
    weights = SIZE_RATIO ** np.arange(clusters)
    sizes = np.maximum(1, np.floor(n * weights / weights.sum()).astype(int))
    sizes[0] += n - int(sizes.sum())
    return [int(s) for s in sizes]


@lru_cache(maxsize=16)
def generate(dataset: str, n_samples: int, true_clusters: int, cluster_std: float, data_seed: int) -> np.ndarray:
    """The points (n, 2) of a data set, read-only and deterministic for data_seed."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; allowed: {', '.join(DATASETS)}")
    n, k, std, seed = int(n_samples), int(true_clusters), float(cluster_std), int(data_seed)
    if dataset in BLOB_DATASETS:
        from sklearn.datasets import make_blobs
        if dataset == "unequal_size":
            x, _ = make_blobs(n_samples=unequal_sizes(n, k), cluster_std=std, random_state=seed)
        elif dataset == "unequal_variance":
            stds = [UNEQUAL_STDS[i % len(UNEQUAL_STDS)] * std for i in range(k)]
            x, _ = make_blobs(n_samples=n, centers=k, cluster_std=stds, random_state=seed)
        else:
            x, _ = make_blobs(n_samples=n, centers=k, cluster_std=std, random_state=seed)
            if dataset == "anisotropic":
                x = x @ ANISOTROPIC
    elif dataset == "moons":
        from sklearn.datasets import make_moons
        x = SHAPE_SCALE * make_moons(n_samples=n, noise=SHAPE_NOISE, random_state=seed)[0]
    elif dataset == "circles":
        from sklearn.datasets import make_circles
        x = SHAPE_SCALE * make_circles(n_samples=n, noise=SHAPE_NOISE, factor=0.5, random_state=seed)[0]
    else:
        x = np.random.default_rng([seed, DATASETS.index(dataset)]).uniform(
            -UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH, (n, 2))
    return _readonly(x)


def user_points(data: Any) -> np.ndarray:
    """Drawn or imported points ``{"x": [[x, y], ...], ...}`` (labels, when given, are ignored:
    K-Means finds its own), read-only; raises DataError with a user-facing message."""
    if not isinstance(data, Mapping):
        raise DataError("user data must be a mapping with 'x'")
    try:
        x = np.asarray(data.get("x", []), dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("user points must be numbers") from None
    if x.size == 0:
        x = x.reshape(0, 2)
    if x.ndim != 2 or x.shape[1] != 2:
        raise DataError("user points must be pairs of numbers (x, y)")
    if not np.isfinite(x).all():
        raise DataError("user points contain a missing or infinite value")
    if len(x) and np.abs(x).max() > datasets.MAX_ABS_VALUE:
        raise DataError(f"a coordinate is {np.abs(x).max():.3g} in size: values must lie within "
                        f"±{datasets.MAX_ABS_VALUE:g} (rescale the data)")
    if len(x) > datasets.MAX_IMPORT_ROWS:
        raise DataError(f"{len(x):,} points: at most {datasets.MAX_IMPORT_ROWS:,} are supported")
    if len(x) == 0:
        raise DataError("no points: click on the plot to add points")
    return _readonly(x)
