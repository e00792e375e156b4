"""The real window, driven like a user with qtbot (offscreen)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from explorer import scene as registry
from explorer.params import Bool, Choice, Float, Int, Text
from explorer.ui.main_window import MainWindow
from tests.conftest import wait_ready

GD = "gradient-descent"


@pytest.fixture
def window(open_window):
    return open_window(GD)


def click(qtbot, button):
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def test_layout_lists_every_scene_and_generates_a_control_per_parameter(window):
    ids = [window.scene_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(window.scene_list.count())]
    assert ids == [s.id for s in registry.scenes()]
    scene = registry.get(GD)
    for param in scene.params:
        control = window.panel.controls[param.name]
        assert param.help in control.editor.toolTip()
        if isinstance(param, (Float, Int)):
            assert control.slider is not None
        kind = {Float: QtWidgets.QDoubleSpinBox, Int: QtWidgets.QSpinBox, Choice: QtWidgets.QComboBox,
                Bool: QtWidgets.QCheckBox, Text: QtWidgets.QLineEdit}[type(param)]
        assert isinstance(control.editor, kind)
    assert window.panel.presets.count() == len(scene.presets) + 1
    assert window.frame_message.text() != "" or window.session.frame.step == 0


def test_learning_rate_slider_step_back_and_trail(window, qtbot):
    control = window.panel.controls["learning_rate"]
    before = window.params["learning_rate"]
    control.slider.setValue(control.slider.value() - 150)  # as a drag would
    after = window.params["learning_rate"]
    assert after < before
    assert window.session.params["learning_rate"] == after
    assert float(control.editor.value()) == pytest.approx(after)

    trail_item = window.view.trails["gd"]
    for _ in range(5):
        click(qtbot, window.playback.step_button)
    frame = window.session.frame
    assert frame.step == 5
    assert frame.data["gd.trail"].shape == (6, 2)
    x, y = trail_item.getData()
    assert len(x) == 6  # what is drawn, not only the frame
    np.testing.assert_array_equal(np.column_stack([x, y]), frame.data["gd.trail"])
    assert window.playback.counter.text() == "step 5 / 5"

    fourth = window.session.timeline.frame_at(4)
    click(qtbot, window.playback.back_button)
    assert window.session.frame is fourth
    np.testing.assert_array_equal(window.session.frame.data["gd.trail"], frame.data["gd.trail"][:5])
    assert len(trail_item.getData()[0]) == 5
    # Stepping forward again replays the exact frame from the history.
    click(qtbot, window.playback.step_button)
    np.testing.assert_array_equal(window.session.frame.data["gd.trail"], frame.data["gd.trail"])


def test_keyboard_shortcuts(window, qtbot):
    window.activateWindow()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert window.session.step == 2
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Left)
    assert window.session.step == 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert window.playback.playing
    qtbot.waitUntil(lambda: window.session.step > 5, timeout=5000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not window.playback.playing
    qtbot.keyClick(window, QtCore.Qt.Key.Key_R)
    assert window.session.step == 0 and window.session.timeline.head == 0


def test_live_change_after_step_back_branches_the_history(window, qtbot):
    for _ in range(4):
        window.step()
    window.step_back()
    window.step_back()
    window.panel.controls["learning_rate"].editor.setValue(0.01)
    assert window.session.timeline.head == 2
    window.step()
    assert window.session.step == 3


def test_structural_change_starts_a_new_run(window, qtbot):
    window.step()
    window.step()
    combo = window.panel.controls["surface"].editor
    combo.setCurrentIndex(combo.findData("rosenbrock"))
    wait_ready(qtbot, window)
    assert window.session.params["surface"] == "rosenbrock"
    assert window.session.step == 0


def test_preset_sets_every_value(window, qtbot):
    scene = registry.get(GD)
    preset = scene.presets[-1]
    index = window.panel.presets.findData(preset.name)
    window.panel.presets.setCurrentIndex(index)
    window.panel.presets.activated.emit(index)
    wait_ready(qtbot, window)
    for name, value in preset.values.items():
        assert window.session.params[name] == value
        assert window.panel.controls[name].value == value


def test_export_png_and_svg_and_open_them(window, qtbot, tmp_path):
    for _ in range(5):
        window.step()
    png = window.export_to(tmp_path / "plot.png", width=1000)
    with Image.open(png) as image:
        assert image.width == 1000
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50
    svg = window.export_to(tmp_path / "plot.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert len([e for e in root.iter() if e.tag.endswith("path")]) > 5


def test_save_and_reopen_session_gives_identical_frame(window, qtbot, tmp_path):
    window.panel.controls["use_nesterov"].editor.setChecked(True)
    wait_ready(qtbot, window)
    for _ in range(7):
        window.step()
    window.panel.controls["learning_rate"].editor.setValue(0.02)  # a live change mid-run
    for _ in range(3):
        window.step()
    window.step_back()
    saved = window.session.frame
    path = tmp_path / "session.json"
    window.save_session(path)
    assert json.loads(path.read_text())["step"] == 9

    other = MainWindow(scene_id=GD)
    qtbot.addWidget(other)
    assert other.open_session(path)
    wait_ready(qtbot, other)
    reopened = other.session.frame
    assert reopened.step == saved.step
    assert set(reopened.data) == set(saved.data)
    for key, value in saved.data.items():
        np.testing.assert_array_equal(np.asarray(reopened.data[key]), np.asarray(value), err_msg=key)
    assert other.panel.controls["learning_rate"].value == 0.02
    other.close()


def test_bad_session_file_changes_nothing(window, tmp_path):
    window.step()
    before = window.session
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not window.open_session(bad)
    assert "Cannot open session" in window.statusBar().currentMessage()
    assert window.session is before
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "ml-explorer-session", "scene": "no-such-scene"}))
    assert not window.open_session(wrong)
    assert "gradient-descent" in window.statusBar().currentMessage()
    assert window.session is before


def test_play_stops_when_the_run_is_done(window, qtbot):
    window.set_params({"max_steps": 20})
    wait_ready(qtbot, window)
    window.playback.speed.setValue(2000)
    window.playback.play()
    qtbot.waitUntil(lambda: not window.playback.playing, timeout=5000)
    assert window.session.done
    assert window.session.step <= 20


def test_switching_scenes_through_the_list(window, qtbot):
    for row in range(window.scene_list.count()):
        window.scene_list.setCurrentRow(row)
        wait_ready(qtbot, window)
        scene_id = window.scene_list.item(row).data(QtCore.Qt.ItemDataRole.UserRole)
        assert window.scene.id == scene_id
        window.step()
        assert window.session.step == 1 or window.session.done


def test_new_seed_on_line_fit_rebuilds_the_surface_in_the_background(window, qtbot):
    window.set_params({"surface": "mse"})
    wait_ready(qtbot, window)
    first = window.view._prepared.data_x.copy()
    window.panel.seed.setValue(11)
    wait_ready(qtbot, window)
    assert window.session.seed == 11
    np.testing.assert_array_equal(window.view._prepared.data_x, window.session.frame.data["data.x"])
    assert not np.array_equal(first, window.view._prepared.data_x)


def test_export_gif_csv_and_json_from_the_window(window, tmp_path):
    import csv

    for _ in range(6):
        window.step()
    gif = window.export_to(tmp_path / "run.gif")
    with Image.open(gif) as image:
        assert image.width == 640  # the GIF's own default width, not the PNG's
        assert image.n_frames == 7  # steps 0..6
    with open(window.export_to(tmp_path / "frame.csv"), newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["optimizer", "step"]
    assert len(rows) > 1
    document = json.loads(window.export_to(tmp_path / "run.json").read_text())
    assert document["scene"] == GD and document["step"] == 6
    np.testing.assert_array_equal(np.array(document["frame"]["gd.trail"]), window.session.frame.data["gd.trail"])
    assert window.session.step == 6  # exporting never moves the run
