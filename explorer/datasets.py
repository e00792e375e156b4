"""Shared 2-D toy data (moons, circles, linear, XOR, spiral, blobs), train/test split and CSV import.

Pure NumPy (scikit-learn generators are imported lazily); knows no Qt. Every function is
deterministic for its seed. CSV problems raise :class:`CSVError` (a ValueError) whose message
names the row and column, ready to show to the user.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
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
#: The most data rows an imported CSV may have (the models fit a sample of at most
#: scenes.decision_boundaries.sim.MAX_FIT_POINTS of them); generated data sets stop at 1,000 points.
MAX_IMPORT_ROWS = 100_000
#: The largest magnitude a coordinate may have: larger ones (1e300) overflow when a model
#: standardises or squares them, so they are refused with this limit in the message.
MAX_ABS_VALUE = 1e12
#: Longest field the csv module accepts (its default limit); longer ones are reported, not raised.
MAX_FIELD_CHARS = 131_072
#: Longest line read to detect the delimiter, and the size of the sample it is detected from.
_SAMPLE_CHARS = 64 * 1024
_MAX_LINE_CHARS = 1 << 20
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def dataset_params(n_samples: int = 200, noise: float = 0.25, maximum_samples: int = 1000) -> tuple:
    """The shared dataset declarations (dataset, n_samples, noise, test_fraction, n_classes, data_seed)."""
    return (
        Choice("dataset", "moons", "Which toy data set to generate (ignored while you draw or import points).",
               choices=DATASETS, labels=DATASET_LABELS, group="Data"),
        Int("n_samples", n_samples, f"How many points to generate, training and test together (at most "
            f"{maximum_samples:,}; Import CSV reads up to {MAX_IMPORT_ROWS:,} rows).",
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
    """Validate user data ``{"x": [[x, y], ...], "labels": [...], "names": [...]}`` (lists from JSON,
    or NumPy arrays: an (n, 2) array and an (n,) integer array, as read_csv returns).

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
    if len(x) and np.abs(x).max() > MAX_ABS_VALUE:
        raise DataError(f"a coordinate is {np.abs(x).max():.3g} in size: values must lie within "
                        f"±{MAX_ABS_VALUE:g} (rescale the data)")
    if len(x) > MAX_IMPORT_ROWS:
        raise DataError(f"{len(x):,} points: at most {MAX_IMPORT_ROWS:,} are supported")
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


def _number(text: str, decimal_comma: bool = False) -> float | None:
    """The number ``text`` holds (a decimal comma too, for files not separated by commas), or None."""
    try:
        return float(text)
    except ValueError:
        if decimal_comma and text.count(",") == 1 and "." not in text:
            try:
                return float(text.replace(",", "."))
            except ValueError:
                return None
        return None


def _detect_encoding(head: bytes) -> tuple[tuple[str, str], ...]:
    """The encodings to try, in order, as (codec, how to name it to the user)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return (("utf-32", "UTF-32 (byte-order mark)"),)
    if head.startswith(codecs.BOM_UTF8):
        return (("utf-8-sig", "UTF-8 (byte-order mark)"),)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return (("utf-16", "UTF-16 (byte-order mark)"),)
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd and odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return (("utf-16-le", "UTF-16 little-endian (no byte-order mark)"),)
        if even and even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return (("utf-16-be", "UTF-16 big-endian (no byte-order mark)"),)
        raise CSVError("the file contains NUL bytes: it is not a text (CSV) file")
    return (("utf-8", "UTF-8"), ("cp1252", "Windows-1252 (not valid UTF-8)"),
            ("latin-1", "Latin-1 (not valid UTF-8)"))


def _sniff(sample: str) -> str:
    """The delimiter of ``sample``: csv.Sniffer's guess among , ; tab |, kept unless another one
    splits more of the first lines into exactly 3 cells; a comma when nothing can be told."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITER_NAMES)).delimiter
    except csv.Error:
        sniffed = ","

    def fits(delimiter: str) -> int:
        try:
            return sum(len(row) == 3 for row in csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            return 0

    candidates = [sniffed] + [d for d in DELIMITER_NAMES if d != sniffed]
    return max(candidates, key=fits)  # max keeps the first of equals: the sniffed one wins ties


def read_csv(source: str | Path, text: str | None = None) -> dict[str, Any]:
    """Read two numeric feature columns and a label column (header row optional).

    ``source`` is a path; pass ``text`` to parse a string instead (source is then only a name).
    The encoding is detected (a byte-order mark, else UTF-8, else Windows-1252 / Latin-1) and the
    delimiter too (comma, semicolon, tab or vertical bar; files not separated by commas may use
    decimal commas). Returns user data ``{"x" (float64 array (n, 2)), "labels" (int64 array (n,)),
    "names", "columns" (the two feature columns), "label_column", "file", "read_as"}`` for
    :func:`from_user` (Session.to_dict makes the arrays lists); ``read_as`` says which encoding and
    delimiter were used.
    Raises CSVError naming the row and column for text in a feature column, a missing value, a
    value beyond ±MAX_ABS_VALUE, a wrong number of columns, a field over MAX_FIELD_CHARS, more
    than MAX_IMPORT_ROWS rows, fewer than 4 rows, a single class, more than 10 classes, an empty
    or a binary file.
    """
    name = Path(str(source)).name
    if text is not None:
        return _parse(io.StringIO(text, newline=""), name, "text")
    try:
        with open(source, "rb") as handle:
            head = handle.read(4096)
        encodings = _detect_encoding(head)
        for codec, description in encodings:
            try:
                with open(source, encoding=codec, errors="strict", newline="") as handle:
                    return _parse(handle, name, description)
            except UnicodeError as error:
                last = error
        raise CSVError(f"cannot decode {name} as {', '.join(d for _, d in encodings)}: {last}")
    except OSError as error:
        raise CSVError(f"cannot read {name}: {error.strerror or error}") from None


def _parse(handle, name: str, encoding: str) -> dict[str, Any]:
    sample = handle.read(_SAMPLE_CHARS)
    if len(sample) == _SAMPLE_CHARS:  # complete the last line, so the sniffer sees whole lines
        rest = handle.readline(_MAX_LINE_CHARS)
        if len(rest) == _MAX_LINE_CHARS and not rest.endswith(("\n", "\r")):
            raise CSVError(f"row 1: a line is longer than {_MAX_LINE_CHARS:,} characters: "
                           "is this a CSV file?")
        sample += rest
    delimiter = _sniff(sample)
    decimal_comma = delimiter != ","
    reader = csv.reader(itertools.chain(io.StringIO(sample, newline=""), handle), delimiter=delimiter)
    columns = ["x", "y", "label"]
    first_values: list[float] = []
    second_values: list[float] = []
    raw_labels: list[str] = []
    header_checked = False
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if not row:
                continue
            cells = [cell.strip() for cell in row]
            if not header_checked:
                if not any(cells):
                    continue
                header_checked = True
                if (len(cells) >= 2 and _number(cells[0], decimal_comma) is None
                        and _number(cells[1], decimal_comma) is None):
                    columns = [c or d for c, d in zip(cells[:3], columns)] + columns[len(cells[:3]):]
                    continue
            if len(cells) != 3:
                if not any(cells):
                    continue
                if len(cells) < 3:
                    raise CSVError(f"row {number}, column {columns[len(cells)]!r}: missing value "
                                   f"(expected 3 columns: {', '.join(columns)})")
                raise CSVError(f"row {number}: expected 3 columns ({', '.join(columns)}), found {len(cells)}")
            for index, values in ((0, first_values), (1, second_values)):
                cell = cells[index]
                if cell == "":
                    raise CSVError(f"row {number}, column {columns[index]!r}: missing value")
                value = _number(cell, decimal_comma)
                if value is None:
                    raise CSVError(f"row {number}, column {columns[index]!r}: {cell[:40]!r} is not a number")
                if not abs(value) <= MAX_ABS_VALUE:
                    kind = "not a finite number" if not math.isfinite(value) else "too large"
                    raise CSVError(f"row {number}, column {columns[index]!r}: {cell[:40]} is {kind}; "
                                   f"values must lie within ±{MAX_ABS_VALUE:g} (rescale the column)")
                values.append(value)
            if cells[2] == "":
                raise CSVError(f"row {number}, column {columns[2]!r}: missing label")
            raw_labels.append(cells[2])
            if len(raw_labels) > MAX_IMPORT_ROWS:
                raise CSVError(f"{name} has more than {MAX_IMPORT_ROWS:,} data rows: at most "
                               f"{MAX_IMPORT_ROWS:,} can be imported (use a sample of the file)")
    except csv.Error as error:
        detail = (f"a field is longer than {MAX_FIELD_CHARS:,} characters" if "field limit" in str(error)
                  else str(error))
        raise CSVError(f"row {number + 1}: {detail}: is this a CSV file?") from None
    if not header_checked:
        raise CSVError("the file is empty: expected rows of x, y, label")
    if not raw_labels:
        raise CSVError("the file has a header but no data rows")
    if len(raw_labels) < MIN_ROWS:
        raise CSVError(f"only {len(raw_labels)} data row(s): need at least {MIN_ROWS}")
    distinct = set(raw_labels)
    if len(distinct) > MAX_CLASSES:
        raise CSVError(f"column {columns[2]!r}: {len(distinct)} different labels; at most {MAX_CLASSES} classes "
                       "are supported (is a numeric column in the label position?)")
    def order(label: str) -> tuple[bool, float, str]:  # numeric labels first, in numeric order
        value = _number(label)
        numeric = value is not None and math.isfinite(value)
        return (not numeric, value if numeric else 0.0, label)

    names = sorted(distinct, key=order)
    if len(names) < 2:
        raise CSVError(f"column {columns[2]!r}: every row has the label {names[0]!r}; need at least 2 classes")
    index = {label: i for i, label in enumerate(names)}
    x = np.column_stack([np.asarray(first_values), np.asarray(second_values)])
    read_as = encoding if encoding == "text" else f"{encoding}, {DELIMITER_NAMES[delimiter]}-separated"
    labels = np.fromiter((index[s] for s in raw_labels), dtype=np.int64, count=len(raw_labels))
    # Arrays, not lists: 100,000 rows cross the process boundary in ~10 ms as arrays, against
    # ~370 ms (pickling + unpickling, holding the UI's GIL) as lists of lists.
    return {"x": x, "labels": labels, "names": list(names),
            "columns": columns[:2], "label_column": columns[2], "file": name, "read_as": read_as}


def write_csv(path: str | Path, x: Sequence[Sequence[float]], labels: Sequence[Any]) -> None:
    """Write points and labels as x, y, label with a header (what read_csv reads back)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y", "label"])
        for (a, b), label in zip(x, labels):
            writer.writerow([repr(float(a)), repr(float(b)), label])
