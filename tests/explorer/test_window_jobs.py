"""The real window while a run never finishes computing: a busy indicator with elapsed time and
Cancel after 0.3 s, the old picture marked out of date (never presented as the new model), Cancel
stops the worker process and keeps the old picture, the next change recovers, switching scene
abandons the job, and Close returns within a second."""
import dataclasses
import pickle
import re
import time

import numpy as np
import pytest
from PySide6 import QtCore

from explorer.scene import Frame
from scenes.decision_boundaries import view as db_view
from tests.conftest import wait_ready
from tests.explorer._job_functions import never_ending_descent, never_ending_simulation, spin
from tests.explorer.test_jobs import running


@pytest.fixture
def window(qtbot):
    from explorer.ui.main_window import MainWindow

    win = MainWindow(scene_id="decision-boundaries")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    # The first run of a fresh test process also loads scikit-learn here and in the workers.
    wait_ready(qtbot, win, timeout=90000)
    win.set_params({"n_samples": 80, "classifier": "tree", "tree_max_depth": 4})
    wait_ready(qtbot, win)
    # The same scene, except that a run with tree_max_depth = 17 never finishes fitting (in the worker).
    win.scene = dataclasses.replace(win.scene, simulation=never_ending_simulation)
    yield win
    win.close()


def start_never_ending_fit(qtbot, window) -> int:
    window.set_params({"tree_max_depth": 17})
    key = f"session#{window._current_generation}"
    qtbot.waitUntil(lambda: window.jobs.pid(key) is not None, timeout=20000)
    return window.jobs.pid(key)


def test_a_never_ending_fit_shows_busy_and_cancel_marks_the_picture_and_can_be_cancelled(window, qtbot):
    window.view.settle()  # the old run's fine map is on screen
    old_session, old_image = window.session, window.view.image.image.copy()
    old_corner = window.view.corner.textItem.toPlainText()
    window.set_params({"tree_max_depth": 17})
    # Quick jobs never flash the indicator: nothing shows before 0.3 s.
    assert not window.cancel_button.isVisible() and not window.stale_overlay.isVisible()
    key = f"session#{window._current_generation}"
    qtbot.waitUntil(lambda: window.cancel_button.isVisible(), timeout=5000)
    assert window.jobs.elapsed(key) >= 0.3
    assert re.fullmatch(r"Computing the new run… \d+\.\d s", window.busy_label.text())
    first = float(window.busy_label.text().split("… ")[1][:-2])
    qtbot.waitUntil(lambda: float(window.busy_label.text().split("… ")[1][:-2]) > first, timeout=5000)
    # The old picture is still shown, veiled and labelled as out of date.
    overlay = window.stale_overlay
    assert overlay.isVisible() and overlay.text() == "Out of date — computing the new run"
    assert overlay.geometry() == window.view.widget.geometry()
    assert window.session is old_session and window.busy
    pid = window.jobs.pid(key)
    assert running(pid)
    # Step and Save say why they wait instead of doing nothing.
    window.step()
    assert "Computing the new run: stepping works once it is shown" in window.statusBar().currentMessage()
    assert window.session.step == 0

    qtbot.mouseClick(window.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not running(pid), timeout=500)
    assert not window.busy and not window.cancel_button.isVisible()
    assert window.statusBar().currentMessage() == "Cancelled: the picture shows the previous settings"
    assert overlay.isVisible() and overlay.text().startswith("Cancelled")
    assert window.session is old_session
    assert np.array_equal(window.view.image.image, old_image)
    assert window.view.corner.textItem.toPlainText() == old_corner
    window.step()  # the old run can be stepped again
    assert window.session.step == 1

    window.set_params({"tree_max_depth": 3})  # the next change recovers
    wait_ready(qtbot, window)
    assert window.session is not old_session and window.session.params["tree_max_depth"] == 3
    assert window.session.frame.data["n_stages"] <= 4  # depth 0..3: the new model is shown
    assert not overlay.isVisible() and not window.cancel_button.isVisible() and not window.busy_label.isVisible()


def test_after_cancel_a_live_change_builds_the_run_of_the_panel_not_the_old_one(open_window, qtbot):
    window = open_window("gradient-descent")
    window.scene = dataclasses.replace(window.scene, simulation=never_ending_descent)
    old_session = window.session
    window.set_params({"max_steps": 777})
    key = f"session#{window._current_generation}"
    qtbot.waitUntil(lambda: window.jobs.pid(key) is not None, timeout=20000)
    pid = window.jobs.pid(key)
    window.cancel_jobs()
    qtbot.waitUntil(lambda: not running(pid), timeout=500)
    assert window.session is old_session and not window.busy
    # learning_rate is live, but the run on screen lacks the panel's max_steps: build that run.
    window.set_params({"learning_rate": 0.02})
    assert window.busy and window.jobs.busy(key)
    qtbot.waitUntil(lambda: window.jobs.pid(key) is not None, timeout=20000)
    assert old_session.params["learning_rate"] == 0.05  # the old run was not changed behind the veil
    window.cancel_jobs()


def test_switching_scene_abandons_the_old_scenes_job(window, qtbot):
    pid = start_never_ending_fit(qtbot, window)
    window.open_scene("gradient-descent")
    qtbot.waitUntil(lambda: not running(pid), timeout=500)
    wait_ready(qtbot, window)
    assert window.scene.id == "gradient-descent"
    assert not window.cancel_button.isVisible() and not window.stale_overlay.isVisible()


def test_close_returns_within_a_second_during_a_never_ending_fit(window, qtbot):
    pid = start_never_ending_fit(qtbot, window)
    window.view._runner.submit("refine", spin)  # a fine map that never ends, too
    qtbot.waitUntil(lambda: window.view._runner.pid("refine") is not None, timeout=20000)
    refine_pid = window.view._runner.pid("refine")
    start = time.monotonic()
    window.close()
    assert time.monotonic() - start < 1.0
    qtbot.waitUntil(lambda: not running(pid) and not running(refine_pid), timeout=1000)


def test_fine_map_keys_differ_for_equal_refiner_tokens(window):
    # Runs built in fresh worker processes number their refiners from the same counter: the
    # view must never take one run's cached fine map for another's.
    frame = window.session.frame
    refiner = frame.state.refiner
    twin = pickle.loads(pickle.dumps(refiner))
    assert twin.token == refiner.token
    other = Frame(frame.step, dict(frame.data), dataclasses.replace(frame.state, refiner=twin))
    assert db_view.DecisionBoundaryView._frame_key(frame) != db_view.DecisionBoundaryView._frame_key(other)
