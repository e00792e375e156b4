import os

# Every test runs without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


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
