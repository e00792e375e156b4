"""Learning rate and batch size in the real window: compare modes, per-run values, epoch steps."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtCore

from tests.conftest import wait_ready


@pytest.fixture
def window(open_window):
    return open_window("learning-rate-batch")


def test_compare_mode_run_batch_size_epoch_step_and_back(window, qtbot):
    panel = window.panel
    compare = panel.controls["compare"].editor
    compare.setCurrentIndex(compare.findData("learning_rate"))
    wait_ready(qtbot, window)
    assert window.session.params["compare"] == "learning_rate"
    assert panel.controls["run2_learning_rate"].widget.isVisible()
    assert not panel.controls["run2_batch_size"].widget.isVisible()

    compare.setCurrentIndex(compare.findData("batch_size"))
    wait_ready(qtbot, window)
    panel.controls["run2_batch_size"].editor.setValue(7)  # as a user types it
    wait_ready(qtbot, window)
    assert window.session.params["run2_batch_size"] == 7

    assert window.playback.coarse_button.isVisible() and window.playback.coarse_button.text() == "Step epoch"
    qtbot.mouseClick(window.playback.coarse_button, QtCore.Qt.MouseButton.LeftButton)
    frame = window.session.frame
    n = window.session.params["n_samples"]
    batches = frame.data["batch_size"]
    assert batches[1] == 7
    np.testing.assert_array_equal(frame.data["updates"], [math.ceil(n / b) for b in batches])
    assert window.playback.counter.text() == "step 1 / 1"

    qtbot.keyClick(window, QtCore.Qt.Key.Key_Left)
    assert window.session.step == 0
    np.testing.assert_array_equal(window.session.frame.data["updates"], 0)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)  # forward through the history: the same epoch frame
    assert window.session.frame is frame


def test_render_json_carries_every_runs_trajectory_and_losses(tmp_path):
    out = tmp_path / "run.json"
    result = subprocess.run([sys.executable, "-m", "explorer", "render", "learning-rate-batch", "--steps", "20",
                             "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    frame = document["frame"]
    for run in range(1, 5):
        trajectory = np.array(frame[f"run{run}_trajectory"])
        assert trajectory.ndim == 2 and trajectory.shape[1] == 2 and len(trajectory) >= 2
        assert len(frame[f"run{run}_loss"]) == len(trajectory)
    assert document["scene"] == "learning-rate-batch" and document["step"] == 20


def test_live_learning_rate_change_redoes_no_preparation_and_applies_next_step(window, qtbot):
    window.set_param("model", "double_well")
    wait_ready(qtbot, window)
    prepared = window._prepared_key
    window.set_param("learning_rate", 0.5)  # live: no new run, nothing re-prepared
    assert not window.busy and window._prepared_key == prepared
    assert window.session.simulation.base_rates == [0.5] * window.session.params["runs"]
    qtbot.mouseClick(window.playback.coarse_button, QtCore.Qt.MouseButton.LeftButton)
    frame = window.session.frame
    np.testing.assert_array_equal(frame.data["learning_rate"], 0.5)
    np.testing.assert_array_equal(window.view.bars.opts["height"], frame.data["deep_basin_share"])
    assert f"Share of {int(frame.data['basin_seeds'])} seeds" in window.view.plots["basins"].titleLabel.text


def test_render_json_lets_another_program_recompute_the_run(tmp_path):
    out = tmp_path / "run.json"
    result = subprocess.run([sys.executable, "-m", "explorer", "render", "learning-rate-batch", "--preset",
                             "Learning rate too large", "--steps", "100", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    frame, params = document["frame"], document["params"]
    x, y = np.array(frame["data_x"]), np.array(frame["data_y"])
    theta, rate = np.array([params["init_w"], params["init_b"]]), frame["learning_rate"][0]
    path = [theta]
    for _ in range(frame["updates"][0]):  # full batch: plain gradient descent on 1/2 mean squared error
        r = theta[0] * x + theta[1] - y
        theta = theta - rate * np.array([np.mean(r * x), np.mean(r)])
        path.append(theta)
    np.testing.assert_allclose(frame["run1_trajectory"], path, rtol=1e-9)
    limit = 1000 * max(0.5 * np.mean((params["init_w"] * x + params["init_b"] - y) ** 2), 1.0)
    losses = [0.5 * np.mean((t[0] * x + t[1] - y) ** 2) for t in path]
    assert frame["diverged"] == [True] and losses[-1] > limit and max(losses[:-1]) <= limit
    assert frame["diverged_epoch"] == [len(path) - 1]
    assert "diverged at epoch" in result.stdout + result.stderr
    edge = frame["range_test_divergence_lr"][0]
    first = frame["range_test_learning_rate"][frame["range_test_diverged"][0].index(True)]
    assert edge <= first and edge <= rate
