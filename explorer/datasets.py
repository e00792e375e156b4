"""Shared 2-D toy data (moons, circles, linear, XOR, spiral, blobs), train/test split and CSV import.

Pure NumPy (scikit-learn generators are imported lazily); knows no Qt. Every function is
deterministic for its seed. CSV problems raise :class:`CSVError` (a ValueError) whose message
names the row and column, ready to show to the user.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from explorer.params import Choice, Float, Int

DATASETS: tuple[str, ...] = ("moons", "circles", "linear", "xor", "spiral", "blobs")
DATASET_LABELS: tuple[str, ...] = ("Two moons", "Circles", "Linearly separable", "XOR", "Spiral",
                                   "Gaussian blobs")
MIN_ROWS = 4
MAX_CLASSES = 10


def dataset_params(n_samples: int = 200, noise: float = 0.25, maximum_samples: int = 1000) -> tuple:
    """The shared dataset declarations (dataset, n_samples, noise, test_fraction, n_classes, data_seed)."""
    return (
        Choice("dataset", "moons", "Which toy data set to generate (ignored while you draw or import points).",
               choices=DATASETS, labels=DATASET_LABELS, group="Data"),
        Int("n_samples", n_samples, "How many points to generate, training and test together.",
            minimum=10, maximum=maximum_samples, log=True, label="Samples", group="Data"),
        Float("noise", noise, "How much the classes overlap: 0 is clean, 1 is very noisy.",
              minimum=0.0, maximum=1.0, decimals=2, group="Data"),
        Float("test_fraction", 0.3, "Share of the points held out as the test set (outlined, not used to fit).",
              minimum=0.1, maximum=0.9, decimals=2, group="Data"),
        Int("n_classes", 3, "Number of classes for the Gaussian blobs and spiral data sets.",
            minimum=2, maximum=5, label="Classes", group="Data", show_if={"dataset": ("spiral", "blobs")}),
        Int("data_seed", 0, "Which random draw of the data set; Regenerate picks a new one.",
            minimum=0, maximum=99999, group="Data"),
    )


@dataclass(frozen=True)
class Dataset:
    """Points ``x`` (n, 2), integer labels ``y`` (n,) in 0..k-1, ``names`` of the k classes,
    and ``test`` (n,) bool marking the held-out points."""

    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    test: np.ndarray

    @property
    def train(self) -> np.ndarray:
        return ~self.test


def make(name: str, n_samples: int, noise: float, seed: int, n_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n_samples`` points of a toy data set: (x float64 (n, 2), y int (n,))."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; allowed: {', '.join(DATASETS)}")
    n = int(n_samples)
    noise = float(noise)
    rng = np.random.default_rng(seed)
    if name == "moons":
        from sklearn.datasets import make_moons
        x, y = make_moons(n, noise=0.05 + 0.45 * noise, random_state=int(rng.integers(2**31)))
    elif name == "circles":
        from sklearn.datasets import make_circles
        x, y = make_circles(n, noise=0.02 + 0.28 * noise, factor=0.5, random_state=int(rng.integers(2**31)))
    elif name == "linear":
        y = (np.arange(n) % 2).astype(int)
        rng.shuffle(y)
        centres = np.array([[-1.0, -0.6], [1.0, 0.6]])
        x = centres[y] + rng.normal(scale=0.25 + 1.0 * noise, size=(n, 2))
    elif name == "xor":
        x = rng.uniform(-1.0, 1.0, size=(n, 2))
        x = x + np.sign(x) * 0.08  # a small gap along the axes when noise is 0
        y = (x[:, 0] * x[:, 1] > 0).astype(int)
        x = x + rng.normal(scale=0.35 * noise, size=(n, 2))
    elif name == "spiral":
        k = int(n_classes)
        y = (np.arange(n) % k).astype(int)
        rng.shuffle(y)
        t = rng.uniform(0.0, 1.0, size=n)
        radius = 0.15 + t
        angle = 2 * math.pi * (1.25 * t + y / k)
        x = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
        x = x + rng.normal(scale=0.02 + 0.12 * noise, size=(n, 2))
    else:  # blobs
        k = int(n_classes)
        y = (np.arange(n) % k).astype(int)
        rng.shuffle(y)
        angle = 2 * math.pi * np.arange(k) / k + rng.uniform(0, 2 * math.pi)
        centres = 2.0 * np.c_[np.cos(angle), np.sin(angle)]
        x = centres[y] + rng.normal(scale=0.3 + 1.5 * noise, size=(n, 2))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=int)


def split(n: int, test_fraction: float, seed: int) -> np.ndarray:
    """A (n,) bool mask of test points: round(n * test_fraction) of them, at least one and
    leaving at least two for training (when n allows). Appending points keeps earlier ones
    mostly where they were, because the i-th random key depends only on i and the seed."""
    if n < 2:
        return np.zeros(n, dtype=bool)
    keys = np.random.default_rng([*np.atleast_1d(seed).astype(int).tolist(), 7919]).random(n)
    n_test = int(round(n * float(test_fraction)))
    n_test = min(max(n_test, 1), max(n - 2, 0))
    test = np.zeros(n, dtype=bool)
    test[np.argsort(keys, kind="stable")[:n_test]] = True
    return test


def generate(params: Mapping[str, Any], seed: int = 0) -> Dataset:
    """The data set the shared parameters describe (seed combines the session seed and data_seed)."""
    data_seed = int(params.get("data_seed", 0))
    n_classes = int(params.get("n_classes", 2))
    name = params.get("dataset", "moons")
    x, y = make(name, int(params.get("n_samples", 200)), float(params.get("noise", 0.25)),
                [int(seed), data_seed], n_classes)
    k = int(y.max()) + 1 if len(y) else 0
    test = split(len(x), float(params.get("test_fraction", 0.3)), [int(seed), data_seed])
    return Dataset(x, y, tuple(f"class {i}" for i in range(k)), test)


# -- user data: drawn points and CSV ------------------------------------------------------------
class CSVError(ValueError):
    """A CSV file that cannot be used; the message names the row and column."""


class DataError(ValueError):
    """User data (drawn or imported points) that cannot be used; the message says why."""


def from_user(data: Any, test_fraction: float, seed: int = 0) -> Dataset:
    """Validate JSON-able user data ``{"x": [[x, y], ...], "labels": [...], "names": [...]}``.

    Labels are integers (indices into ``names`` when given). Raises DataError with a message.
    """
    if not isinstance(data, Mapping):
        raise DataError("user data must be a mapping with 'x' and 'labels'")
    try:
        x = np.asarray(data.get("x", []), dtype=np.float64)
        labels = np.asarray(data.get("labels", []))
    except (TypeError, ValueError):
        raise DataError("user points must be numbers") from None
    if x.size == 0:
        x = x.reshape(0, 2)
    if x.ndim != 2 or x.shape[1] != 2:
        raise DataError("user points must be pairs of numbers (x, y)")
    if labels.ndim != 1 or len(labels) != len(x):
        raise DataError(f"{len(x)} points but {labels.size} labels")
    if not np.isfinite(x).all():
        raise DataError("user points contain a missing or infinite value")
    if len(labels) and (labels.dtype.kind not in "iub" and not (labels.dtype.kind == "f" and np.all(labels == np.round(labels)))):
        raise DataError("labels must be whole numbers")
    labels = labels.astype(int)
    if len(labels) and labels.min() < 0:
        raise DataError("labels must not be negative")
    names = data.get("names")
    k = int(labels.max()) + 1 if len(labels) else 0
    if names is None or len(names) < k:
        names = [f"class {i}" for i in range(k)]
    if len(x) < MIN_ROWS:
        raise DataError(f"only {len(x)} point(s): need at least {MIN_ROWS} (click on the map to add points)")
    present = np.unique(labels)
    if len(present) < 2:
        raise DataError("all points are one class: add points of another class")
    if len(present) > MAX_CLASSES:
        raise DataError(f"{len(present)} classes: at most {MAX_CLASSES} are supported")
    return Dataset(x, labels, tuple(str(n) for n in names), split(len(x), test_fraction, seed))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_csv(source: str | Path | io.TextIOBase, text: str | None = None) -> dict[str, Any]:
    """Read two numeric feature columns and a label column (header row optional).

    ``source`` is a path; pass ``text`` to parse a string instead (source is then only a name).
    Returns JSON-able user data ``{"x", "labels", "names", "columns"}`` for :func:`from_user`.
    Raises CSVError naming the row and column for text in a feature column, a missing value,
    a wrong number of columns, fewer than 4 rows, a single class, more than 10 classes or an
    empty file.
    """
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CSVError(f"cannot read {source}: {error}") from None
    rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)
            if any(cell.strip() for cell in row)]
    if not rows:
        raise CSVError("the file is empty: expected rows of x, y, label")
    columns = ["x", "y", "label"]
    first_number, first = rows[0]
    if len(first) >= 2 and _number(first[0].strip()) is None and _number(first[1].strip()) is None:
        columns = [c.strip() or d for c, d in zip(first[:3], columns)] + columns[len(first[:3]):]
        rows = rows[1:]
        if not rows:
            raise CSVError("the file has a header but no data rows")
    points: list[tuple[float, float]] = []
    raw_labels: list[str] = []
    for number, row in rows:
        cells = [cell.strip() for cell in row]
        if len(cells) < 3:
            raise CSVError(f"row {number}, column {columns[len(cells)]!r}: missing value "
                           f"(expected 3 columns: {', '.join(columns)})")
        if len(cells) > 3:
            raise CSVError(f"row {number}: expected 3 columns ({', '.join(columns)}), found {len(cells)}")
        values = []
        for index in (0, 1):
            if cells[index] == "":
                raise CSVError(f"row {number}, column {columns[index]!r}: missing value")
            value = _number(cells[index])
            if value is None:
                raise CSVError(f"row {number}, column {columns[index]!r}: {cells[index]!r} is not a number")
            values.append(value)
        if cells[2] == "":
            raise CSVError(f"row {number}, column {columns[2]!r}: missing label")
        points.append((values[0], values[1]))
        raw_labels.append(cells[2])
    if len(points) < MIN_ROWS:
        raise CSVError(f"only {len(points)} data row(s): need at least {MIN_ROWS}")
    names = sorted(set(raw_labels), key=lambda s: (_number(s) is None, _number(s) or 0.0, s))
    if len(names) < 2:
        raise CSVError(f"column {columns[2]!r}: every row has the label {names[0]!r}; need at least 2 classes")
    if len(names) > MAX_CLASSES:
        raise CSVError(f"column {columns[2]!r}: {len(names)} different labels; at most {MAX_CLASSES} classes "
                       "are supported (is a numeric column in the label position?)")
    index = {name: i for i, name in enumerate(names)}
    return {"x": [list(p) for p in points], "labels": [index[s] for s in raw_labels],
            "names": list(names), "columns": columns[:2]}


def write_csv(path: str | Path, x: Sequence[Sequence[float]], labels: Sequence[Any]) -> None:
    """Write points and labels as x, y, label with a header (what read_csv reads back)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y", "label"])
        for (a, b), label in zip(x, labels):
            writer.writerow([repr(float(a)), repr(float(b)), label])
