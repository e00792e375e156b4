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
    assert plain["x"] == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert plain["labels"] == [0, 1, 0, 1] and plain["names"] == ["a", "b"]
    headed = datasets.read_csv(write(tmp_path, "width,height,kind\n" + rows, "h.csv"))
    assert headed["x"] == plain["x"] and headed["columns"] == ["width", "height"]
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
