"""Learning rate and batch size in the real window: compare modes, per-run values, epoch steps."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

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


# -- layout at small and large window sizes -----------------------------------------------------

def tick_text_rects(axis) -> list:
    """Scene rectangles of an axis's tick labels, as the axis would paint them now."""
    from PySide6 import QtGui

    image = QtGui.QImage(4, 4, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if specs is None:
        return []
    return [axis.mapRectToScene(QtCore.QRectF(rect)) for rect, _flags, _text in specs[2]]


def basin_tick_specs(view) -> list:
    """The basins plot's bottom tick labels as the axis paints them (overlapping ones are dropped)."""
    from PySide6 import QtGui

    image = QtGui.QImage(4, 4, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = view.plots["basins"].getAxis("bottom").generateDrawSpecs(painter)
    finally:
        painter.end()
    return specs[2]


def assert_axis_labels_clear(plot, name: str) -> None:
    """Each shown axis label (its text, without the text item's document margin) lies clear of the
    axis's tick labels (1 px of text-box slack: glyph boxes include side bearings)."""
    for side in ("bottom", "left"):
        axis = plot.getAxis(side)
        if not (axis.isVisible() and axis.label.isVisible() and axis.labelText):
            continue
        margin = axis.label.document().documentMargin()
        label = axis.label.mapRectToScene(axis.label.boundingRect().adjusted(margin, margin, -margin, -margin))
        for tick in tick_text_rects(axis):
            tick = tick.adjusted(1, 1, -1, -1)
            assert not tick.intersects(label), (name, side, axis.labelText, label, tick)


def assert_plots_fit(view, preset, min_size=(150, 100)) -> None:
    """Every plot in the layout lies wholly inside the view widget, is at least min_size pixels,
    its title fits its width and its axis labels are clear of the tick labels."""
    visible = QtCore.QRectF(view.widget.rect()).adjusted(-1, -1, 1, 1)
    shown = [(name, plot) for name, plot in view.plots.items() if plot in view.widget.ci.items]
    assert len(shown) == 4, (preset, [name for name, _ in shown])
    for name, plot in shown:
        rect = plot.sceneBoundingRect()
        assert visible.contains(rect), (preset, name, rect, view.widget.size())
        assert rect.width() >= min_size[0] and rect.height() >= min_size[1], (preset, name, rect)
        title = plot.titleLabel.item.boundingRect().width()
        assert title <= rect.width(), (preset, name, plot.titleLabel.text, title, rect.width())
        assert_axis_labels_clear(plot, name)


def settle(qtbot) -> None:
    """Let the layout and the axes (their widths follow the painted tick labels) settle."""
    for _ in range(3):
        QtWidgets.QApplication.processEvents()
        qtbot.wait(30)


@pytest.mark.parametrize("size", [(1024, 640), (1280, 720), (1920, 1080)])
def test_every_plot_fits_inside_the_view(open_window, qtbot, size):
    window = open_window("learning-rate-batch", size)
    for preset in (None, "Spread of learning rates", "Batch 1 vs full batch", "Local-minimum escape",
                   "Learning rate too large"):
        if preset:
            window.apply_preset(preset)
            wait_ready(qtbot, window)
        for _ in range(5):
            window.step()
        settle(qtbot)
        assert_plots_fit(window.view, preset)
        if preset == "Local-minimum escape":  # every bar keeps its label (none dropped as overlapping)
            texts = [text for _rect, _flags, text in basin_tick_specs(window.view)]
            runs = window.session.params["runs"]
            assert len(texts) == runs and texts[-1].endswith("200 (full)"), texts
    # Back to a wide window: the side-by-side layout and the long titles return.
    if size[0] < 1280:
        window.resize(1920, 1080)
        settle(qtbot)
        view = window.view
        assert_plots_fit(view, "after resize")
        assert view.plots["range_test"].sceneBoundingRect().width() > 0.9 * view.widget.width()
        assert view.plots["surface"].titleLabel.text.startswith("Full-data loss")


def test_error_boxes_show_user_text_as_plain_text(open_window, qtbot, tmp_path, monkeypatch):
    """A path or file content with HTML in it is shown as typed, never rendered."""
    from explorer.ui import main_window

    window = open_window("learning-rate-batch")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "ml-explorer-session", "version": 1, "scene": "<b>bold</b><img src=x>"}))
    assert window.open_session(bad) is False
    box = window.findChild(QtWidgets.QMessageBox, "open-session-error")
    assert box is not None and box.isVisible()
    assert box.textFormat() == QtCore.Qt.TextFormat.PlainText
    assert "'<b>bold</b><img src=x>'" in box.text()
    box.close()

    def fail(path, width=None):
        raise OSError(f"cannot write {path}")
    monkeypatch.setattr(window, "export_to", fail)
    monkeypatch.setattr(main_window.ExportDialog, "exec", lambda self: QtWidgets.QDialog.DialogCode.Accepted)
    window._export_dialog(".png")
    box = window.findChild(QtWidgets.QMessageBox, "export-error")
    assert box is not None and box.isVisible()
    assert box.textFormat() == QtCore.Qt.TextFormat.PlainText
    assert box.text().startswith("cannot write ")
    box.close()
