import os

# Every test runs without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from hypothesis import settings

# CI replays the same examples every run (a red CI must mean a real regression, not a new random
# draw); locally every run draws new examples and keeps failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_dangling_playback_timers(request):
    """Fail any test that leaves a playback timer running (DESIGN.md: napari's _dangling_qtimers)."""
    yield
    try:
        from explorer.ui import playback
    except ImportError:
        return
    from shiboken6 import isValid

    running = [t for t in list(playback.TIMERS) if isValid(t) and t.isActive()]
    for timer in running:
        timer.stop()
    assert not running, f"{len(running)} playback timer(s) left running"


@pytest.fixture
def open_window(qtbot):
    """Open the real main window on a scene and wait until its first run is on screen."""
    from explorer.ui.main_window import MainWindow

    windows = []

    def open_(scene_id: str, size: tuple[int, int] | None = None):
        window = MainWindow(scene_id=scene_id)
        qtbot.addWidget(window)
        if size:
            window.resize(*size)
        window.show()
        wait_ready(qtbot, window)
        windows.append(window)
        return window

    yield open_
    for window in windows:
        window.close()


def wait_ready(qtbot, window, timeout: int = 20000) -> None:
    """Until the window's run is built and its view's heavy data is shown."""
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=timeout)
