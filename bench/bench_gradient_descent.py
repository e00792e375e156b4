"""Gradient-descent scene: optimiser steps per second, and frames per second of the scene's view
against matplotlib drawing the same picture (the peer this app replaces in notebooks).

Also: every control of the parameter panel set to its minimum and maximum in the real window,
with the longest stretch of UI-thread work each one causes (budget 50 ms).

Run: python bench/bench_gradient_descent.py [--extremes-only]   (matplotlib only for the peer column)
"""
from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from explorer.session import Session  # noqa: E402
from scenes.gradient_descent import SCENE  # noqa: E402
from scenes.gradient_descent.optimizers import OPTIMIZERS  # noqa: E402

ALL = {f"use_{name}": True for name in OPTIMIZERS}
WIDTH, HEIGHT = 1280, 800
FRAMES = 300


def sim_steps_per_second(params: dict, steps: int = 5000) -> float:
    session = Session(SCENE, {**params, "max_steps": steps, "learning_rate": 1e-4})
    sim = session.simulation
    start = time.perf_counter()
    for _ in range(steps):
        sim.step()
    return steps / (time.perf_counter() - start)


def view_frame_ms(params: dict) -> list[float]:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    session = Session(SCENE, {**params, "max_steps": 100_000, "learning_rate": 1e-3})
    view = SCENE.view_class()(SCENE, session.params)
    view.widget.resize(WIDTH, HEIGHT)
    view.widget.show()
    view.apply_prepared(view.prepare(session.params, session.seed))
    view.cache_axes()  # as the window does
    view.show(session.frame)
    app.processEvents()
    times = []
    for _ in range(FRAMES):
        start = time.perf_counter()
        view.show(session.forward())  # what one playback tick does ...
        view.widget.viewport().repaint()  # ... and the repaint it causes
        times.append(1e3 * (time.perf_counter() - start))
    view.close()
    app.processEvents()
    return times


def matplotlib_frame_ms(params: dict) -> list[float] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    session = Session(SCENE, {**params, "max_steps": 100_000, "learning_rate": 1e-3})
    prepared = SCENE.view_class().prepare(session.params, session.seed)
    x0, x1, y0, y1 = prepared.domain
    figure, (surface, loss) = plt.subplots(1, 2, figsize=(WIDTH / 100, HEIGHT / 100), dpi=100,
                                           gridspec_kw={"width_ratios": [3, 2]})
    surface.imshow(prepared.image, extent=(x0, x1, y0, y1), origin="lower", interpolation="nearest")
    surface.plot(prepared.contour[:, 0], prepared.contour[:, 1], color="k", alpha=0.3, linewidth=0.7)
    names = [n for n in OPTIMIZERS if session.params[f"use_{n}"]]
    trails = {n: surface.plot([], [], linewidth=1.5)[0] for n in names}
    points = {n: surface.plot([], [], "o")[0] for n in names}
    curves = {n: loss.plot([], [])[0] for n in names}
    loss.set_yscale("log")
    surface.set_xlim(x0, x1)
    surface.set_ylim(y0, y1)
    times = []
    for _ in range(FRAMES):
        start = time.perf_counter()
        data = session.forward().data
        for n in names:
            trail = data[f"{n}.trail"]
            trails[n].set_data(trail[:, 0], trail[:, 1])
            points[n].set_data(trail[-1:, 0], trail[-1:, 1])
            gaps = data[f"{n}.loss_gap"]
            curves[n].set_data(np.arange(len(gaps)), gaps)
        loss.relim()
        loss.autoscale_view()
        figure.canvas.draw()
        times.append(1e3 * (time.perf_counter() - start))
    plt.close(figure)
    return times


def long_run_frame_ms(steps: int = 30_000, frames: int = 20) -> tuple[float, float, float]:
    """All six optimisers crawling on Himmelblau (lr 1e-4) for ``steps`` steps, then ``frames``
    frames of show() + repaint: (median show, median repaint, worst total) in ms of UI-thread CPU."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    session = Session(SCENE, {**ALL, "surface": "himmelblau", "max_steps": 100_000, "learning_rate": 1e-4})
    view = SCENE.view_class()(SCENE, session.params)
    view.widget.resize(WIDTH, HEIGHT)
    view.widget.show()
    view.apply_prepared(view.prepare(session.params, session.seed))
    view.cache_axes()
    session.forward(steps)
    view.show(session.frame)
    app.processEvents()
    shows, paints = [], []
    for _ in range(frames):
        start = time.thread_time()
        view.show(session.forward())
        middle = time.thread_time()
        view.widget.viewport().repaint()
        shows.append(1e3 * (middle - start))
        paints.append(1e3 * (time.thread_time() - middle))
    view.close()
    app.processEvents()
    return statistics.median(shows), statistics.median(paints), max(a + b for a, b in zip(shows, paints))


def main() -> None:
    import sys
    if "--extremes-only" not in sys.argv:
        frame_table()
        show_ms, paint_ms, worst = long_run_frame_ms()
        print(f"\nlong run, 6 optimisers at step 30,000 ({WIDTH}x{HEIGHT}): show {show_ms:.1f} ms + repaint "
              f"{paint_ms:.1f} ms (medians, UI-thread CPU), worst frame {worst:.1f} ms")
    size = (1440, 900)
    print_extremes(panel_extremes(size), size)


def frame_table() -> None:
    rows = []
    for label, params in (("3 optimisers (default)", {}), ("all 6 optimisers + field", {**ALL, "show_field": True})):
        rate = sim_steps_per_second(params)
        ours = statistics.median(view_frame_ms(params))
        peer = matplotlib_frame_ms(params)
        peer_ms = statistics.median(peer) if peer else float("nan")
        rows.append((label, rate, ours, 1e3 / ours, peer_ms, peer_ms / ours))
    print(f"gradient-descent, view {WIDTH}x{HEIGHT}, {FRAMES} frames, medians")
    print(f"{'case':26} {'sim steps/s':>12} {'ms/frame':>9} {'fps':>6} {'matplotlib ms':>14} {'speed-up':>9}")
    for label, rate, ours, fps, peer_ms, ratio in rows:
        print(f"{label:26} {rate:12.0f} {ours:9.2f} {fps:6.0f} {peer_ms:14.2f} {ratio:8.1f}x")


# -- every control's extremes through the real panel ---------------------------------------------
STALL_BUDGET_MS = 50.0


def _extremes(param) -> list:
    from explorer.params import Bool, Choice, Float, Int
    if isinstance(param, (Float, Int)):
        return [param.minimum, param.maximum, param.default]
    if isinstance(param, Bool):
        return [not param.default, param.default]
    if isinstance(param, Choice):
        return [c for c in param.choices if c != param.default] + [param.default]
    raise TypeError(type(param).__name__)


def _set_control(control, value) -> None:
    """As a user does it: type the number (spin box), tick the box, pick the entry."""
    editor = control.editor
    if isinstance(editor, QtWidgets.QComboBox):
        editor.setCurrentIndex(editor.findData(value))
    elif isinstance(editor, QtWidgets.QCheckBox):
        editor.setChecked(bool(value))
    else:
        editor.setValue(value)


def panel_extremes(size: tuple[int, int] = (1440, 900), steps_after: int = 20) -> list[tuple]:
    """Set every parameter to its minimum and maximum (every choice, both states) through the
    window's ParamPanel, then press Step ``steps_after`` times. A QTimer ticking every 2 ms
    records the longest gap between ticks: the longest the UI thread was busy at a stretch, with
    the worker's results (new run, new map) delivered and drawn as the window does."""
    from PySide6 import QtCore
    from explorer.ui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow(scene_id=SCENE.id)
    window.resize(*size)
    window.show()

    def settle(limit_s: float = 30.0) -> None:
        deadline = time.perf_counter() + limit_s
        while (window.session is None or window.busy) and time.perf_counter() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        # A few more turns: deferred repaints after the last result.
        for _ in range(5):
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)

    settle()
    state = {"last": time.perf_counter(), "gap": 0.0, "cpu_last": time.thread_time(), "cpu_gap": 0.0}

    def tick() -> None:
        # Wall time between ticks, and the UI thread's own CPU time between them: on a loaded
        # machine (2 cores shared) the wall gap also counts waiting for a core.
        now, cpu = time.perf_counter(), time.thread_time()
        state["gap"] = max(state["gap"], now - state["last"])
        state["cpu_gap"] = max(state["cpu_gap"], cpu - state["cpu_last"])
        state["last"], state["cpu_last"] = now, cpu

    def restart() -> None:
        state["gap"], state["cpu_gap"] = 0.0, 0.0
        state["last"], state["cpu_last"] = time.perf_counter(), time.thread_time()

    ticker = QtCore.QTimer()
    ticker.setInterval(2)
    ticker.timeout.connect(tick)
    ticker.start()
    rows = []
    for param in SCENE.params:
        control = window.panel.controls[param.name]
        for value in _extremes(param):
            settle()
            restart()
            start, cpu = time.perf_counter(), time.thread_time()
            _set_control(control, value)
            call = (1e3 * (time.perf_counter() - start), 1e3 * (time.thread_time() - cpu))
            settle()
            set_gap = (1e3 * state["gap"], 1e3 * state["cpu_gap"])
            restart()
            step = (0.0, 0.0)
            for _ in range(steps_after):
                start, cpu = time.perf_counter(), time.thread_time()
                window.step()
                step = (max(step[0], 1e3 * (time.perf_counter() - start)),
                        max(step[1], 1e3 * (time.thread_time() - cpu)))
                app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 2)
            step_gap = (1e3 * state["gap"], 1e3 * state["cpu_gap"])
            assert window.session.params[param.name] == value, (param.name, value)
            rows.append((param.name, value, call, set_gap, step, step_gap))
    ticker.stop()
    window.close()
    app.processEvents()
    return rows


def print_extremes(rows: list[tuple], size: tuple[int, int]) -> float:
    """Print the table; returns the worst UI-thread CPU stretch in ms."""
    print(f"\ngradient-descent window {size[0]}x{size[1]}: every control set to its extremes through the "
          f"ParamPanel, then 20 Steps.\nLongest UI-thread stretch in ms as CPU time of the UI thread "
          f"(wall time in brackets; budget {STALL_BUDGET_MS:.0f} ms of UI-thread work)")
    print(f"{'parameter':18} {'value':>12} {'set call':>14} {'stall after set':>16} {'step call':>14} "
          f"{'stall in steps':>15}")
    worst = 0.0

    def cell(pair: tuple[float, float], width: int) -> str:
        return f"{pair[1]:.1f} ({pair[0]:.0f})".rjust(width)

    for name, value, call, set_gap, step, step_gap in rows:
        cpu_worst = max(call[1], set_gap[1], step[1], step_gap[1])
        worst = max(worst, cpu_worst)
        flag = "  OVER" if cpu_worst > STALL_BUDGET_MS else ""
        print(f"{name:18} {str(value):>12} {cell(call, 14)} {cell(set_gap, 16)} {cell(step, 14)} "
              f"{cell(step_gap, 15)}{flag}")
    print(f"worst UI-thread stretch: {worst:.1f} ms of CPU")
    return worst

if __name__ == "__main__":
    main()
