"""Gradient-descent scene: optimiser steps per second, and frames per second of the scene's view
against matplotlib drawing the same picture (the peer this app replaces in notebooks).

Run: python bench/bench_gradient_descent.py   (matplotlib is needed only for the peer column)
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


def main() -> None:
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


if __name__ == "__main__":
    main()
