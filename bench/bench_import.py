"""The longest UI-thread stall while a 100,000-row CSV is imported and fitted in the real window.

A 1 ms QTimer (bench_jobs.Ticker) records the gaps between its ticks from the click on Import
until the imported run is on screen with its fine map, then while the classifier is switched to
each of the others named (each: until its run and fine map are shown). Reported per phase: the
longest gap, the 99th percentile, and the longest gap less the UI thread's CPU run-queue wait
(Linux schedstat: time other processes on this machine held the CPU), i.e. our own blocking.

    DISPLAY=:98 QT_QPA_PLATFORM=xcb python bench/bench_import.py [--rows 100000] [--classifiers svm,knn,tree]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from bench_jobs import Ticker  # noqa: E402
from explorer import datasets  # noqa: E402


def write_csv(path: str, rows: int) -> None:
    x, y = datasets.make("moons", rows, 0.4, 0)
    datasets.write_csv(path, x, [("left", "right")[v] for v in y])


def _wait(app, condition, timeout: float) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("timed out")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
    return time.perf_counter() - start


def _shown(window) -> bool:
    """The window's run is built and its fine map (or, without a model, its frame) is on screen."""
    if window.session is None or window.busy or window.view.importing or window.session.data is not window.data:
        return False
    view = window.view
    key = view._frame_key(window.session.frame)
    return view.frame is window.session.frame and (key is None or view._applied == (key, True))


def phase(app, window, action, timeout: float) -> tuple[float, float, float, float]:
    ticker = Ticker()
    ticker.start()
    start = time.perf_counter()
    action()
    _wait(app, lambda: _shown(window), timeout)
    seconds = time.perf_counter() - start
    end = time.perf_counter() + 0.3  # the repaints that follow
    while time.perf_counter() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
    gap, p99, own = ticker.stop()
    return seconds, gap, p99, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=datasets.MAX_IMPORT_ROWS)
    parser.add_argument("--classifiers", default="knn,tree,logistic")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from explorer.ui.main_window import MainWindow

    path = f"/tmp/bench_import_{args.rows}.csv"
    if not os.path.exists(path):
        write_csv(path, args.rows)
    window = MainWindow(scene_id="decision-boundaries")
    window.resize(1280, 800)
    window.show()
    _wait(app, lambda: _shown(window), 60)
    print(f"platform {app.platformName()}, load average {os.getloadavg()[0]:.1f}, "
          f"{args.rows:,} rows, classifier {window.params['classifier']}, fit on at most "
          f"{window.params.get('fit_max_points')}")
    print(f"{'phase':<28} {'seconds':>8} {'max gap ms':>11} {'p99 ms':>8} {'own max ms':>11}")
    rows = [("import + " + window.params["classifier"], phase(
        app, window, lambda: window.view.start_import(path), args.timeout))]
    assert window.session.frame.data["x"].shape == (args.rows, 2), "the import did not arrive"
    print(f"{rows[-1][0]:<28} " + " ".join(f"{v:>{w}.{d}f}" for v, w, d in zip(rows[-1][1], (8, 11, 8, 11), (1, 1, 1, 1))))
    for name in [c for c in args.classifiers.split(",") if c]:
        rows.append((f"switch to {name}", phase(app, window, lambda n=name: window.set_params({"classifier": n}),
                                                args.timeout)))
        print(f"{rows[-1][0]:<28} " + " ".join(f"{v:>{w}.{d}f}" for v, w, d in zip(rows[-1][1], (8, 11, 8, 11), (1, 1, 1, 1))))
    print(f"status: {window.statusBar().currentMessage()[:120]}")
    window.close()


if __name__ == "__main__":
    main()
