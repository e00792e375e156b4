"""Start the GUI."""
from __future__ import annotations

import sys
from pathlib import Path


def run(scene_id: str | None = None, session_path: str | Path | None = None) -> int:
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
