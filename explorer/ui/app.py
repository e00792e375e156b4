"""Start the GUI."""
from __future__ import annotations

import os
import sys
from pathlib import Path

# Qt's X11 plugin needs these system libraries (shared-object name: Debian/Ubuntu package); pip
# cannot install them.
XCB_LIBRARIES = {"libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
                 "libxcb-keysyms.so.1": "libxcb-keysyms1"}


def _loadable(soname: str) -> bool:
    # dlopen by name: ~1 ms, where ctypes.util.find_library runs `ldconfig -p` (tens of ms at start-up).
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_system_packages() -> list[str]:
    """Debian/Ubuntu packages Qt's X11 plugin needs but this machine lacks (Linux on X11 only)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb") or not os.environ.get("DISPLAY"):
        return []
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return []
    return [package for soname, package in XCB_LIBRARIES.items() if not _loadable(soname)]


def open_window(scene_id: str | None = None, session_path: str | Path | None = None):
    """Everything ``ml-explorer`` does before Qt's event loop: (application, shown main window),
    or an exit code when Qt cannot start here. bench/bench_startup.py times exactly this."""
    missing = missing_system_packages()
    if missing:
        print(f"ml-explorer: error: Qt needs system libraries that are missing: "
              f"sudo apt-get install {' '.join(missing)}", file=sys.stderr)
        return 1
    from PySide6 import QtWidgets

    from explorer.ui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("ML Explorer")
    app.setStyle("Fusion")
    window = MainWindow(scene_id=scene_id)
    if session_path is not None and not window.open_session(session_path):
        print(window.statusBar().currentMessage(), file=sys.stderr)
    window.show()
    return app, window


def run(scene_id: str | None = None, session_path: str | Path | None = None) -> int:
    opened = open_window(scene_id, session_path)
    if isinstance(opened, int):
        return opened
    app, _window = opened
    return app.exec()
