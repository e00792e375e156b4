"""Start-up: what the GUI checks and loads before its first frame (issue 14 §7)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from explorer.ui import app

ROOT = Path(__file__).parents[2]


def test_missing_x11_libraries_are_named_by_package(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(app, "XCB_LIBRARIES", {"libc.so.6": "libc6", "libno-such-library.so.7": "no-such-package"})
    assert app.missing_system_packages() == ["no-such-package"]
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # no X11 plugin: nothing to check
    assert app.missing_system_packages() == []


def test_start_up_checks_libraries_without_running_ldconfig(monkeypatch):
    import subprocess

    def no_subprocess(*args, **kwargs):
        raise AssertionError("start-up ran a subprocess: " + repr(args[:1]))

    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app.missing_system_packages()


def _bench():
    spec = importlib.util.spec_from_file_location("bench_startup", ROOT / "bench" / "bench_startup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("scene_id", ["gradient-descent", "learning-rate-batch"])
def test_first_frame_loads_no_scikit_learn_scipy_or_pillow(scene_id):
    """The real entry point (explorer.cli.main), in a fresh process, up to the first frame drawn."""
    seconds, cpu, modules = _bench().first_frame_seconds(scene_id)
    assert seconds > 0 and cpu > 0
    assert {"PySide6", "pyqtgraph", "numpy", "explorer", "scenes"} <= modules  # it really drew a window
    assert not {"sklearn", "scipy", "PIL", "matplotlib", "imageio"} & modules


@pytest.mark.parametrize("scene_id", ["gradient-descent", "learning-rate-batch"])
def test_no_worker_process_starts_before_the_first_frame(qtbot, scene_id):
    """On 2 cores the fork server's imports delayed the first frame (1.04 -> 1.83 s): the first run
    is built in a thread and worker processes start only once that frame is on screen."""
    from explorer.ui.main_window import MainWindow

    window = MainWindow(scene_id=scene_id)
    qtbot.addWidget(window)
    window.show()
    started = []
    original = window.jobs.start
    window.jobs.start = lambda: (started.append(window.session is not None), original())
    assert window.jobs._workers == [] and window.jobs._starting == 0
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=20000)
    qtbot.waitUntil(lambda: bool(started), timeout=3000)
    assert started == [True]  # the first frame was there when the workers were started
    qtbot.waitUntil(lambda: bool(window.jobs._workers), timeout=20000)
    window.close()
