"""Shared toy data and CSV import (explorer.datasets)."""
import numpy as np
import pytest

from explorer import datasets
from explorer.datasets import CSVError, DataError


@pytest.mark.parametrize("name", datasets.DATASETS)
def test_every_dataset_is_deterministic_and_shaped(name):
    x, y = datasets.make(name, 57, 0.3, seed=4, n_classes=3)
    again, labels = datasets.make(name, 57, 0.3, seed=4, n_classes=3)
    assert x.shape == (57, 2) and y.shape == (57,)
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, labels)
    assert len(np.unique(y)) >= 2
    other, _ = datasets.make(name, 57, 0.3, seed=5, n_classes=3)
    assert not np.array_equal(x, other)


def test_blobs_have_the_requested_number_of_classes():
    for k in range(2, 6):
        _, y = datasets.make("blobs", 100, 0.2, seed=0, n_classes=k)
        assert sorted(np.unique(y)) == list(range(k))


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.9])
def test_split_follows_test_fraction(fraction):
    test = datasets.split(200, fraction, seed=1)
    assert test.sum() == round(200 * fraction)
    tiny = datasets.split(4, fraction, seed=1)
    assert 1 <= tiny.sum() <= 2


def test_generate_uses_params_and_seed():
    params = {"dataset": "circles", "n_samples": 80, "noise": 0.1, "test_fraction": 0.25, "data_seed": 3}
    a = datasets.generate(params, seed=0)
    assert a.x.shape == (80, 2) and a.test.sum() == 20
    b = datasets.generate({**params, "data_seed": 4}, seed=0)
    assert not np.array_equal(a.x, b.x)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_and_without_header(tmp_path):
    rows = "1,2,a\n3,4,b\n5,6,a\n7,8,b\n"
    plain = datasets.read_csv(write(tmp_path, rows))
    assert plain["x"].tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert plain["labels"].tolist() == [0, 1, 0, 1] and plain["names"] == ["a", "b"]
    headed = datasets.read_csv(write(tmp_path, "width,height,kind\n" + rows, "h.csv"))
    assert headed["x"].tolist() == plain["x"].tolist() and headed["columns"] == ["width", "height"]
    dataset = datasets.from_user(headed, 0.25)
    assert dataset.x.shape == (4, 2) and dataset.test.sum() == 1


def test_csv_round_trip(tmp_path):
    x, y = datasets.make("moons", 30, 0.2, seed=0)
    datasets.write_csv(tmp_path / "out.csv", x, y)
    data = datasets.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(data["x"], x)
    assert [int(data["names"][i]) for i in data["labels"]] == list(y)


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("\n\n", ["empty"]),
    ("x,y,label\n1,2,a\n3,oops,b\n5,6,a\n7,8,b\n", ["row 3", "'y'", "not a number"]),
    ("1,2,a\n3,4,b\n,6,a\n7,8,b\n", ["row 3", "'x'", "missing"]),
    ("1,2,a\n3,4,b\n5,6,\n7,8,b\n", ["row 3", "'label'", "missing"]),
    ("1,2,a\n3,4,b\n5,6\n7,8,b\n", ["row 3", "'label'", "missing"]),
    ("1,2,a\n3,4,a\n5,6,a\n7,8,a\n", ["label", "2 classes"]),
    ("1,2,a\n3,4,b\n5,6,a\n", ["3 data row", "at least 4"]),
    ("".join(f"{i},{i},c{i}\n" for i in range(11)), ["11 different labels", "at most 10"]),
    ("1,2,a,9\n3,4,b\n5,6,a\n7,8,b\n", ["row 1", "3 columns"]),
])
def test_csv_rejects_bad_files_with_a_clear_message(tmp_path, text, words):
    with pytest.raises(CSVError) as error:
        datasets.read_csv(write(tmp_path, text))
    assert isinstance(error.value, ValueError)
    for word in words:
        assert word in str(error.value)


def test_user_data_validation():
    good = {"x": [[0, 0], [1, 1], [2, 2], [3, 3]], "labels": [0, 1, 0, 1]}
    assert datasets.from_user(good, 0.3).x.shape == (4, 2)
    for bad, word in [({"x": [[0, 0]], "labels": [0]}, "at least 4"),
                      ({**good, "labels": [1, 1, 1, 1]}, "one class"),
                      ({**good, "labels": [0, 1]}, "labels"),
                      ({"x": [[0, float("nan")]] * 4, "labels": [0, 1, 0, 1]}, "missing"),
                      ("nonsense", "mapping")]:
        with pytest.raises(DataError, match=word):
            datasets.from_user(bad, 0.3)


# -- delimiters, encodings, limits (issue 14 §5/§9, issue 16) ------------------------------------
ROWS = [(1.0, 2.0, "a"), (3.0, 4.5, "b"), (5.0, 6.0, "a"), (7.25, 8.0, "b")]


def write_bytes(tmp_path, data: bytes, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("delimiter, word", [(";", "semicolon"), ("\t", "tab"), ("|", "vertical bar")])
def test_csv_delimiter_is_detected(tmp_path, delimiter, word):
    text = delimiter.join(["width", "height", "kind"]) + "\n" + "".join(
        delimiter.join([repr(a), repr(b), c]) + "\n" for a, b, c in ROWS)
    data = datasets.read_csv(write_bytes(tmp_path, text.encode()))
    assert data["x"].tolist() == [[a, b] for a, b, _ in ROWS]
    assert data["names"] == ["a", "b"] and data["labels"].tolist() == [0, 1, 0, 1]
    assert data["columns"] == ["width", "height"] and data["label_column"] == "kind"
    assert word in data["read_as"] and "UTF-8" in data["read_as"]
    assert data["file"] == "data.csv"


def test_semicolon_csv_with_decimal_commas(tmp_path):
    text = b"x;y;label\r\n1,5;2,25;a\r\n3;-4,5;b\r\n5,0;6;a\r\n7;8;b\r\n"
    data = datasets.read_csv(write_bytes(tmp_path, text))
    assert data["x"].tolist() == [[1.5, 2.25], [3.0, -4.5], [5.0, 6.0], [7.0, 8.0]]


@pytest.mark.parametrize("codec, word", [("utf-16", "UTF-16 (byte-order mark)"),
                                         ("utf-8-sig", "UTF-8 (byte-order mark)"),
                                         ("utf-16-le", "UTF-16 little-endian"),
                                         ("cp1252", "Windows-1252"), ("latin-1", "Latin-1")])
def test_csv_encoding_is_detected_and_named(tmp_path, codec, word):
    label = "\x8fÅ" if codec == "latin-1" else "été"  # \x8f is undefined in Windows-1252
    text = f"x,y,classe\n1,2,{label}\n3,4,b\n5,6,{label}\n7,8,b\n"
    data = datasets.read_csv(write_bytes(tmp_path, text.encode(codec)))
    assert data["names"] == ["b", label]  # decoded exactly, nothing replaced
    assert data["columns"] == ["x", "y"] and data["label_column"] == "classe"
    assert word in data["read_as"]


def test_binary_file_is_refused_by_name(tmp_path):
    with pytest.raises(CSVError, match="NUL bytes"):
        datasets.read_csv(write_bytes(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00\x00\x01"))


@pytest.mark.parametrize("value", ["1e300", "-2e13", "1e309", "nan"])
def test_huge_or_non_finite_values_get_the_apps_message(tmp_path, value):
    text = f"x,y,label\n1,2,a\n3,{value},b\n5,6,a\n7,8,b\n".encode()
    with pytest.raises(CSVError) as error:
        datasets.read_csv(write_bytes(tmp_path, text))
    message = str(error.value)
    assert "row 3" in message and "'y'" in message and "1e+12" in message


def test_values_up_to_the_limit_are_accepted_and_fit(tmp_path):
    limit = datasets.MAX_ABS_VALUE
    text = f"{limit},{-limit},a\n{limit / 2},0,b\n0,{limit / 3},a\n{-limit},1,b\n".encode()
    data = datasets.read_csv(write_bytes(tmp_path, text))
    dataset = datasets.from_user(data, 0.25)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    model = make_pipeline(StandardScaler(), SVC(kernel="poly", degree=6, coef0=1.0)).fit(dataset.x, dataset.y)
    assert np.isfinite(model.decision_function(dataset.x)).all()


def test_user_data_with_huge_values_is_refused_before_a_model_sees_it():
    with pytest.raises(DataError, match="1e\\+12"):
        datasets.from_user({"x": [[0, 0], [1, 1e300], [2, 2], [3, 3]], "labels": [0, 1, 0, 1]}, 0.3)


def test_field_over_the_csv_limit_is_a_message(tmp_path):
    text = b"x,y,label\n1,2,a\n3,4,\"" + b"b" * 200_000 + b"\"\n5,6,a\n7,8,b\n"
    with pytest.raises(CSVError) as error:
        datasets.read_csv(write_bytes(tmp_path, text))
    assert "row 3" in str(error.value) and "131,072 characters" in str(error.value)


def test_a_single_endless_line_is_a_message(tmp_path):
    with pytest.raises(CSVError, match="longer than"):
        datasets.read_csv(write_bytes(tmp_path, b"1" * (3 << 20)))


def test_row_limit_is_stated_and_the_limit_itself_is_accepted(tmp_path):
    n = datasets.MAX_IMPORT_ROWS
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n + 1, 2))
    body = "\n".join(f"{a!r},{b!r},{'ab'[i % 2]}" for i, (a, b) in enumerate(x.tolist()))
    exact = write_bytes(tmp_path, ("p,q,c\n" + body[:body.rindex("\n")] + "\n").encode(), "exact.csv")
    data = datasets.read_csv(exact)
    assert len(data["x"]) == n
    np.testing.assert_array_equal(np.asarray(data["x"]), x[:n])
    over = write_bytes(tmp_path, ("p,q,c\n" + body + "\n").encode(), "over.csv")
    with pytest.raises(CSVError) as error:
        datasets.read_csv(over)
    assert f"more than {n:,} data rows" in str(error.value) and "over.csv" in str(error.value)


def test_generated_sample_limit_and_import_limit_are_both_stated():
    n_samples = next(p for p in datasets.dataset_params(maximum_samples=1000) if p.name == "n_samples")
    assert n_samples.maximum == 1000
    assert "1,000" in n_samples.help and f"{datasets.MAX_IMPORT_ROWS:,}" in n_samples.help


def test_csv_rows_come_as_compact_arrays_that_cross_a_process_boundary_cheaply(tmp_path):
    """100,000 rows as lists of lists took 92 ms to pickle and 275 ms to unpickle (on the thread
    that reads worker results, holding the UI's GIL); as arrays the pickle is the raw bytes."""
    import pickle

    n = 20_000
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 2))
    y = rng.integers(0, 3, size=n)
    path = tmp_path / "big.csv"
    datasets.write_csv(path, x, [f"k{v}" for v in y])
    data = datasets.read_csv(path)
    assert isinstance(data["x"], np.ndarray) and data["x"].dtype == np.float64 and data["x"].shape == (n, 2)
    assert isinstance(data["labels"], np.ndarray) and data["labels"].dtype == np.int64
    np.testing.assert_array_equal(data["x"], x)  # repr() round trip: exact
    np.testing.assert_array_equal(np.asarray(data["names"])[data["labels"]], [f"k{v}" for v in y])
    # The pickle is the arrays' bytes plus a little: no Python object per value.
    assert len(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)) < 1.1 * (x.nbytes + y.nbytes) + 4096
    # from_user takes the arrays as they are, as it takes lists from a JSON file.
    from_arrays = datasets.from_user(data, 0.3, seed=1)
    from_lists = datasets.from_user({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in data.items()},
                                    0.3, seed=1)
    for field in ("x", "y", "test"):
        np.testing.assert_array_equal(getattr(from_arrays, field), getattr(from_lists, field))
    assert from_arrays.names == from_lists.names == ("k0", "k1", "k2")
