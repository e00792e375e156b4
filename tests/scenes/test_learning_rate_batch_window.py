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
