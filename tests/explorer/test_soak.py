"""Render soak: thousands of real repaints (DESIGN.md trap: PySide6 6.12.0 + pyqtgraph crashed here)."""
import pytest
from PySide6 import QtWidgets

from explorer.ui.main_window import MainWindow

FRAMES = 2000


@pytest.mark.slow
def test_two_thousand_repaints_of_a_real_scene(qtbot):
    window = MainWindow(scene_id="gradient-descent")
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=10000)
    window.set_params({"max_steps": 100_000, "learning_rate": 1e-4, "use_nesterov": True,
                       "use_rmsprop": True, "use_adagrad": True, "show_field": True})
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=10000)
    app = QtWidgets.QApplication.instance()
    for i in range(FRAMES):
        if i % 400 == 399:
            window.seek(i // 2)  # scrubbing back and forth is part of the soak
        else:
            window.step()
        window.view.widget.viewport().repaint()
        app.processEvents()
    assert window.session.timeline.head >= FRAMES // 2
