"""Longest UI stall while dragging SVM C across its range on 1000 points, plus fit/predict times.

Simulates the window: a QApplication, the scene's view (opened and painted, with its fine map,
before the drag starts, as a user sees it), a JobRunner building each new Session in a worker and
delivering it like the window does (set_params, cache_axes, show), and a QTimer ticking every
5 ms that records the largest gap between ticks while 30 slider values are pushed (one every
30 ms, like a drag). Checks that the map finally shown is the fine map of the newest value.
Each drag is repeated; the table gives the median and the worst run. Prints tables.

    python bench/bench_decision_boundaries.py
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from explorer.jobs import JobRunner  # noqa: E402
from explorer.params import find  # noqa: E402
from explorer.session import Session  # noqa: E402
from scenes.decision_boundaries import SCENE  # noqa: E402
from scenes.decision_boundaries.models import CLASSIFIERS  # noqa: E402
from scenes.decision_boundaries.sim import COARSE, FINE, Simulation  # noqa: E402

N = 1000
VALUES = 30
REPEATS = 5


def drag_svm_c(app: QtWidgets.QApplication, n_points: int = N) -> dict:
    return drag(app, "svm_C", {"classifier": "svm", "n_samples": n_points, "dataset": "moons", "noise": 0.3})


def drag_noise_in_compare(app: QtWidgets.QApplication, n_points: int = N) -> dict:
    """Compare grid of six models; every value is a new data set, so every plot's points change."""
    return drag(app, "noise", {"compare": True, "n_samples": n_points, "dataset": "moons", "noise": 0.3},
                values=list(np.linspace(0.05, 0.6, 12)))


def drag(app: QtWidgets.QApplication, name: str, base: dict, values: list | None = None) -> dict:
    from scenes.decision_boundaries.view import DecisionBoundaryView
    n_points = base["n_samples"]
    compare = bool(base.get("compare"))
    session = Session(SCENE, base)
    opened = time.perf_counter()
    view = DecisionBoundaryView(SCENE, session.params)
    view.widget.resize(1200, 800)
    view.widget.show()
    view.show(session.frame)
    # The scene is on screen (laid out, painted, fine map shown) before the user grabs a slider.
    first_paint = 0.0
    settle = time.perf_counter() + 0.3
    while time.perf_counter() < settle or (view.compare_pending if compare else view.image.image.shape[0] != FINE):
        t = time.perf_counter()
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        first_paint = max(first_paint, time.perf_counter() - t)
        if time.perf_counter() > settle + 30:
            raise RuntimeError("the fine map of the opened scene never arrived")
    open_s = time.perf_counter() - opened
    runner = JobRunner()
    param = find(SCENE.params, name)
    values = values or [param.from_unit(u) for u in np.linspace(0, 1, VALUES)]
    state = {"last": time.perf_counter(), "gap": 0.0, "shown": 0, "show_ms": 0.0, "pushed": 0}

    def tick() -> None:
        now = time.perf_counter()
        state["gap"] = max(state["gap"], now - state["last"])
        state["last"] = now

    def delivered(_key: str, new_session: Session) -> None:
        start = time.perf_counter()
        view.set_params(new_session.params)  # as MainWindow._after_params + _refresh
        view.cache_axes()
        view.show(new_session.frame)
        state["show_ms"] = max(state["show_ms"], 1000 * (time.perf_counter() - start))
        state["shown"] += 1
        state["session"] = new_session

    runner.finished.connect(delivered)
    ticker = QtCore.QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(tick)
    pusher = QtCore.QTimer()
    pusher.setInterval(30)

    def push() -> None:
        if state["pushed"] >= len(values):
            pusher.stop()
            return
        params = {**base, name: values[state["pushed"]]}
        state["pushed"] += 1
        runner.submit("session", Session, SCENE, params)

    pusher.timeout.connect(push)
    start = time.perf_counter()
    state["last"] = start
    ticker.start()
    pusher.start()
    # Run until every value was pushed, the last session shown and its fine map applied.
    deadline = start + 120
    while time.perf_counter() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        newest = state.get("session")
        if (state["pushed"] >= len(values) and not runner.busy() and newest is not None
                and newest.params[name] == values[-1] and view.frame is newest.frame
                and (not view.compare_pending if compare else
                     view.image.image is not None and view.image.image.shape[0] == FINE)):
            break
    elapsed = time.perf_counter() - start
    ticker.stop()
    runner.shutdown()
    # The map on screen is the fine map of the newest value.
    last = state.get("session")
    frame = view.frame
    assert last is not None and frame is last.frame and last.params[name] == values[-1]
    if not compare:
        key = view._frame_key(frame)
        assert key is not None and view._shown_key == key and view._applied == (key, True)
        np.testing.assert_array_equal(view.image.image, view._fine[key][1])
    view.close()
    return {"points": n_points, "max_gap_ms": 1000 * state["gap"], "sessions_shown": state["shown"],
            "max_show_ms": state["show_ms"], "total_s": elapsed, "open_s": open_s,
            "first_paint_ms": 1000 * first_paint}


def model_times(n_points: int) -> list[tuple]:
    rows = []
    for cid in CLASSIFIERS:
        params = SCENE.resolve({"classifier": cid, "n_samples": n_points})
        start = time.perf_counter()
        sim = Simulation(params, 0)
        build = time.perf_counter() - start
        steps = []
        while not sim.done:
            t = time.perf_counter()
            sim.step()
            steps.append(time.perf_counter() - t)
        if sim.refiner is None:  # refused by its cost estimate (or not fitted): no fine map
            rows.append((cid, n_points, 0, 1000 * build, 0.0, float("nan")))
            continue
        t = time.perf_counter()
        sim.refiner.grid(sim.stage)
        fine = time.perf_counter() - t
        rows.append((cid, n_points, sim.n_stages, 1000 * build, 1000 * max(steps or [0.0]), 1000 * fine))
    return rows


def drag_table(app: QtWidgets.QApplication, drag_once, title: str) -> None:
    print(f"UI stall while {title}; {REPEATS} drags each, median (worst)")
    print(f"{'points':>7} {'max gap ms':>16} {'max show() ms':>16} {'sessions shown':>15} {'total s':>8} "
          f"{'open: longest slice ms':>23}")
    for n in (200, N):
        runs = [drag_once(app, n) for _ in range(REPEATS)]

        def stat(name: str) -> str:
            values = [r[name] for r in runs]
            return f"{np.median(values):.1f} ({max(values):.1f})"
        print(f"{n:>7} {stat('max_gap_ms'):>16} {stat('max_show_ms'):>16} "
              f"{int(np.median([r['sessions_shown'] for r in runs])):>15} "
              f"{np.median([r['total_s'] for r in runs]):>8.2f} {stat('first_paint_ms'):>23}")
    print()


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    Simulation(SCENE.resolve({"n_samples": 50}), 0)  # import scikit-learn outside the timings
    drag_table(app, drag_svm_c, f"dragging svm_C over {VALUES} values (5 ms ticker; sessions built in a worker)")
    drag_table(app, drag_noise_in_compare, "dragging noise in the compare grid (6 models, every value a new data set)")
    print(f"Worker build (fit + every stage on a {COARSE}² grid), UI step, fine {FINE}² map of the last stage")
    print(f"{'classifier':<18} {'points':>6} {'stages':>6} {'build ms':>9} {'max step ms':>12} {'fine ms':>8}")
    for n in (200, N):
        for cid, points, stages, build, step, fine in model_times(n):
            print(f"{cid:<18} {points:>6} {stages:>6} {build:>9.1f} {step:>12.3f} {fine:>8.1f}")


if __name__ == "__main__":
    main()
