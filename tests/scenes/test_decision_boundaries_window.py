"""Decision boundaries in the real window: clicks become data, the run is rebuilt off the UI
thread, and the map on screen follows; a bad CSV changes nothing."""
import numpy as np
import pytest
from PySide6 import QtCore

from tests.conftest import wait_ready


@pytest.fixture
def window(open_window, qtbot):
    win = open_window("decision-boundaries", size=(1200, 800))
    win.set_params({"n_samples": 60, "classifier": "knn"})
    wait_ready(qtbot, win)
    return win


def click_at(qtbot, view, x, y, button=QtCore.Qt.MouseButton.LeftButton):
    scene_pos = view.plots["map"].vb.mapViewToScene(QtCore.QPointF(x, y))
    qtbot.mouseClick(view.widget.viewport(), button, QtCore.Qt.KeyboardModifier.NoModifier,
                     view.widget.mapFromScene(scene_pos))


@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_clicked_points_flow_into_a_new_run_and_the_map(window, qtbot):
    view = window.view
    session_before = window.session
    image_before = view.image.image.copy()
    view.class_buttons[1].click()
    for dx in (0.0, 0.05, -0.05, 0.1, -0.1):  # a cluster of class 1 where class 0 lives
        click_at(qtbot, view, dx, 1.3)
        qtbot.waitUntil(lambda: window.session is not session_before and not window.busy, timeout=20000)
        session_before = window.session
    frame = window.session.frame
    assert frame.data["x"].shape[0] == 65
    assert window.data is not None and window.session.data is window.data
    assert frame.data["user_data"] is True
    assert not np.array_equal(view.image.image, image_before)
    # The new points are labelled 1 in the run the window built, where they were clicked.
    np.testing.assert_array_equal(frame.data["labels"][-5:], 1)
    np.testing.assert_allclose(frame.data["x"][-5:, 1], 1.3, atol=0.05)


def test_switching_classifier_in_the_panel_changes_the_map(window, qtbot):
    before = window.view.image.image.copy()
    combo = window.panel.controls["classifier"].editor
    combo.setCurrentIndex(combo.findData("tree"))
    wait_ready(qtbot, window)
    assert window.session.params["classifier"] == "tree"
    assert not np.array_equal(window.view.image.image, before)
    # Only the chosen model's hyperparameters are in the panel.
    assert window.panel.controls["tree_max_depth"].widget.isVisible()
    assert not window.panel.controls["knn_k"].widget.isVisible()


def test_stepping_gradient_boosting_grows_the_accuracy_curve(window, qtbot):
    window.set_params({"classifier": "gradient_boosting", "gb_n_estimators": 20})
    wait_ready(qtbot, window)
    for step in range(1, 6):
        qtbot.mouseClick(window.playback.step_button, QtCore.Qt.MouseButton.LeftButton)
        assert len(window.session.frame.data["train_accuracy_curve"]) == step + 1
    qtbot.mouseClick(window.playback.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.session.step == 4


def test_bad_csv_is_a_status_message_and_changes_nothing(window, qtbot, tmp_path):
    session = window.session
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n3,,b\n5,6,a\n7,8,b\n")
    assert not window.view.import_csv(str(bad))
    assert "row 3" in window.statusBar().currentMessage()
    assert window.session is session and window.data is None
