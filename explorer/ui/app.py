"""Start the GUI."""
from __future__ import annotations

import ctypes.util
import os
import sys
from pathlib import Path

# Qt's X11 plugin needs these system libraries; pip cannot install them.
XCB_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1"}


def missing_system_packages() -> list[str]:
    """Debian/Ubuntu packages Qt's X11 plugin needs but this machine lacks (Linux on X11 only)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb") or not os.environ.get("DISPLAY"):
        return []
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return []
    return [package for library, package in XCB_LIBRARIES.items() if ctypes.util.find_library(library) is None]


def run(scene_id: str | None = None, session_path: str | Path | None = None) -> int:
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
    return app.exec()
