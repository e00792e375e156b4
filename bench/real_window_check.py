"""Repeat issue 14/16's user cases in a real window on an X server (e.g. Xvfb) and save screenshots.

    Xvfb :90 -screen 0 1920x1080x24 &  DISPLAY=:90 python bench/real_window_check.py OUTDIR

Cases: a 100,000-row CSV import with the SVM (longest UI-thread gap of a 1 ms timer while it reads
and fits), Ctrl+Q while a fit that never ends runs in the worker (time until the window is gone), quick clicks (4 clicks 0.1 s apart must add 4 points), and every scene at 1024x640 and 1920x1080. Prints one line per
case; the screenshots are for looking at.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from explorer import scene as registry
from explorer.ui.main_window import MainWindow


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def wait(app, condition, timeout: float = 120.0) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not met")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)
    return time.monotonic() - start


class GapMeter:
    """Longest gap between 1 ms timer ticks on the UI thread."""

    def __init__(self) -> None:
        self.timer = QtCore.QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.worst = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.worst = max(self.worst, now - self.last)
        self.last = now

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()


def ready(window) -> bool:
    return window.session is not None and not window.busy


def main(outdir: str) -> int:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)

    # 1. 100,000-row import with the SVM.
    window = MainWindow(scene_id="decision-boundaries")
    window.resize(1440, 900)
    window.show()
    wait(app, lambda: ready(window))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100_000, 2))
    labels = np.where(x[:, 0] * x[:, 1] > 0, "a", "b")
    csv_path = out / "big.csv"
    with open(csv_path, "w") as handle:
        handle.write("height,weight,kind\n")
        for (a, b), label in zip(x, labels):
            handle.write(f"{a:.5f},{b:.5f},{label}\n")
    with GapMeter() as meter:
        window.view.start_import(str(csv_path))
        wait(app, lambda: not window.view.importing, 60)
        seconds = wait(app, lambda: ready(window) and window.data is not None
                       and len(window.session.frame.data["x"]) > 50_000, 300)
        pump(app, 1.0)
    window.grab().save(str(out / "import-done.png"))
    print(f"100k import + SVM fit: {seconds:.1f} s, longest UI gap {meter.worst * 1000:.0f} ms; "
          f"status: {window.frame_message.text()}")

    # 2. Ctrl+Q while a fit that never ends runs in the worker (every real model is bounded now, so
    #    the test suite's never-ending stand-in: tree_max_depth 17 loops forever).
    import dataclasses
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.explorer._job_functions import never_ending_simulation
    window.scene = dataclasses.replace(window.scene, simulation=never_ending_simulation)
    window.set_params({"classifier": "tree", "tree_max_depth": 17})
    pump(app, 1.0)
    busy = window.busy
    print(f"  fit on all points: busy={busy}; {window.busy_label.text()!r}; status: {window.frame_message.text()}")
    window.grab().save(str(out / "long-fit-running.png"))
    start = time.perf_counter()
    # The Quit action is what Ctrl+Q triggers (Xvfb without a window manager gives no key focus).
    quit_action = next(a for a in window.actions() if a.text() == "&Quit")
    assert quit_action.shortcut().matches(QtGui.QKeySequence.StandardKey.Quit) != QtGui.QKeySequence.SequenceMatch.NoMatch \
        or quit_action.shortcut() == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Quit)
    quit_action.trigger()
    app.processEvents()
    closed = time.perf_counter() - start
    print(f"Ctrl+Q during the fit (busy={busy}): window closed in {closed * 1000:.0f} ms, visible={window.isVisible()}")

    # 3. Quick clicks, in a fresh window (default data).
    window = MainWindow(scene_id="decision-boundaries")
    window.resize(1440, 900)
    window.show()
    wait(app, lambda: ready(window))
    window.set_params({"classifier": "knn"})
    wait(app, lambda: ready(window))
    before = len(window.session.frame.data["x"])
    vb = window.view.plots["map"].vb
    for dx in (-0.3, -0.1, 0.1, 0.3):
        scene_pos = vb.mapViewToScene(QtCore.QPointF(dx, 0.5))
        QtTest.QTest.mouseClick(window.view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton,
                                QtCore.Qt.KeyboardModifier.NoModifier, window.view.widget.mapFromScene(scene_pos))
        pump(app, 0.1)
    wait(app, lambda: ready(window))
    pump(app, 0.5)
    after = len(window.session.frame.data["x"])
    window.grab().save(str(out / "quick-clicks.png"))
    print(f"quick clicks: 4 clicks 0.1 s apart added {after - before} points")

    # 4. Every scene at both sizes.
    for scene in registry.scenes():
        win = MainWindow(scene_id=scene.id)
        win.show()
        wait(app, lambda: ready(win))
        for size in ((1024, 640), (1920, 1080)):
            win.resize(*size)
            pump(app, 0.5)
            for _ in range(5):
                win.step()
            pump(app, 0.5)
            win.grab().save(str(out / f"{scene.id}-{size[0]}.png"))
            print(f"{scene.id} at {size[0]}x{size[1]}: window {win.width()}x{win.height()}")
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/real-window"))
