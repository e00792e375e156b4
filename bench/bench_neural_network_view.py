"""Neural-network scene: frames per second of one epoch + the view's redraw (output map, every
neuron's map in the diagram's atlas, weight curves, loss, gradient-flow and confusion plots) and its
real repaint, against matplotlib drawing only the output map and the loss curve (imshow + plot).

One frame = what one playback tick does at one epoch per frame: ``session.forward()`` (one epoch),
``view.show(frame)`` (one net.forward over the 100 x 100 grid, colours in NumPy, setData/setImage),
then ``viewport().repaint()`` (a synchronous paint of the whole view, in a shown widget). The view
widget is 1280 x 800 (bigger than the view in a 1280 x 800 window: the harder case); the last
rows are the real main window at 1280 x 800 (its step action + the view's repaint).

Peer: matplotlib (Agg) at the same pixel size: the same epoch, the same grid forward for the map,
``im.set_data`` + ``line.set_data`` + ``canvas.draw()``. Ratio = ours / matplotlib (< 1: faster).

Run: python bench/bench_neural_network_view.py [frames]
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from explorer.session import Session  # noqa: E402
from scenes.neural_network import SCENE  # noqa: E402
from scenes.neural_network import data as nn_data  # noqa: E402
from scenes.neural_network import net  # noqa: E402
from scenes.neural_network import view as nn_view  # noqa: E402

WIDTH, HEIGHT = 1280, 800
FRAMES = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SIX_BY_EIGHT = {"hidden_layers": 6, **{f"neurons_{i}": 8 for i in range(1, 7)}}
CASES = [  # name, parameters (TF Playground's default: circle, 2 -> 4 -> 2 -> 1, tanh, 250 training points, batch 10)
    ("default 2-4-2-1 tanh", {}),
    ("6 x 8 tanh", SIX_BY_EIGHT),
    ("6 x 8 relu, 7 features", {**SIX_BY_EIGHT, "activation": "relu",
                                **{f"feature_{name}": True for name in nn_data.FEATURES}}),
    ("3-class spiral 2-8-8-8-3", {"dataset": "spiral", "n_classes": 3, "hidden_layers": 3,
                                  **{f"neurons_{i}": 8 for i in range(1, 4)}}),
]


def _params(values: dict) -> dict:
    # Long runs, a learning rate that neither stalls nor diverges, batch 10, 250 training points.
    return SCENE.resolve({"max_epochs": 10_000, "n_samples": 500, "train_fraction": 0.5, "batch_size": 10,
                          "learning_rate": 0.03, **values})


def view_frames(values: dict) -> dict[str, list[float]]:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    session = Session(SCENE, _params(values))
    assert len(session.frame.data["train_x"]) == 250
    view = SCENE.view_class()(SCENE, session.params)
    view.widget.resize(WIDTH, HEIGHT)
    view.widget.show()
    view.set_params(session.params)
    view.cache_axes()
    view.show(session.frame)
    app.processEvents()
    epoch, show, paint, total, cpu = [], [], [], [], []
    for _ in range(FRAMES):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        frame = session.forward()
        t1 = time.perf_counter()
        view.show(frame)
        t2 = time.perf_counter()
        view.widget.viewport().repaint()
        t3 = time.perf_counter()
        cpu.append(1e3 * (time.thread_time() - c0))
        epoch.append(1e3 * (t1 - t0))
        show.append(1e3 * (t2 - t1))
        paint.append(1e3 * (t3 - t2))
        total.append(1e3 * (t3 - t0))
    view.close()
    app.processEvents()
    return {"epoch": epoch, "show": show, "paint": paint, "total": total, "cpu": cpu}


def window_frames(values: dict) -> list[float]:
    """The real main window at 1280 x 800: its step action (epoch + the view's show) + the repaint."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from explorer.ui.main_window import MainWindow

    window = MainWindow(scene_id="neural-network")
    window.resize(WIDTH, HEIGHT)
    window.show()
    deadline = time.monotonic() + 60
    while (window.session is None or window.busy) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    window.set_params({**_params(values)})
    deadline = time.monotonic() + 60
    while (window.session is None or window.busy) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    for _ in range(5):
        app.processEvents()
    times, cpu = [], []
    for _ in range(FRAMES):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        window.step()
        window.view.widget.viewport().repaint()
        times.append(1e3 * (time.perf_counter() - t0))
        cpu.append(1e3 * (time.thread_time() - c0))
    window.close()
    app.processEvents()
    return times, cpu


def matplotlib_frames(values: dict) -> list[float] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    session = Session(SCENE, _params(values))
    grid = nn_view.grid_points()
    names = tuple(str(n) for n in session.frame.data["feature_names"])
    features = nn_data.features(grid, names)
    figure, (image_axes, loss_axes) = plt.subplots(1, 2, figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    domain = nn_data.DOMAIN
    image = image_axes.imshow(np.zeros((nn_view.GRID, nn_view.GRID)), extent=(-domain, domain, -domain, domain),
                              origin="lower", cmap="RdBu_r", vmin=0, vmax=1, interpolation="nearest")
    line, = loss_axes.plot([], [], linewidth=1)
    times = []
    for _ in range(FRAMES):
        t0 = time.perf_counter()
        frame = session.forward()
        data = frame.data
        layers = len(data["sizes"]) - 1
        weights = [data[f"weights_{l}"] for l in range(1, layers + 1)]
        biases = [data[f"biases_{l}"] for l in range(1, layers + 1)]
        out = net.predict(weights, biases, features, str(data["activation"]), str(data["output"]))
        image.set_data(out[:, 0].reshape(nn_view.GRID, nn_view.GRID))
        line.set_data(data["epochs"], data["train_loss"])
        loss_axes.relim()
        loss_axes.autoscale_view()
        figure.canvas.draw()
        times.append(1e3 * (time.perf_counter() - t0))
    plt.close(figure)
    return times


def _row(cells, widths) -> str:
    return "  ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths)))


def main() -> None:
    widths = (26, 7, 7, 8, 7, 8, 5, 7, 8, 11, 6)
    print(f"{FRAMES} frames per case, median wall ms (p90 of the total in brackets), UI-thread CPU ms of the "
          f"whole frame and the fps each allows; view widget {WIDTH}x{HEIGHT}; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(_row(("case", "epoch", "show", "repaint", "total", "p90", "fps", "cpu", "cpu fps", "matplotlib", "ratio"),
               widths))
    for name, values in CASES:
        ours = view_frames(values)
        peer = matplotlib_frames(values)
        med = {key: statistics.median(v) for key, v in ours.items()}
        p90 = float(np.percentile(ours["total"], 90))
        peer_ms = statistics.median(peer) if peer else float("nan")
        print(_row((name, f"{med['epoch']:.2f}", f"{med['show']:.2f}", f"{med['paint']:.2f}", f"{med['total']:.2f}",
                    f"({p90:.1f})", f"{1e3 / med['total']:.0f}", f"{med['cpu']:.2f}", f"{1e3 / med['cpu']:.0f}",
                    f"{peer_ms:.1f}", f"{med['total'] / peer_ms:.2f}"), widths))
    print()
    print("real main window 1280x800 (step action + repaint of the view): median wall ms, fps; UI-thread CPU ms, fps")
    for name, values in CASES[:2]:
        times, cpu = window_frames(values)
        med, med_cpu = statistics.median(times), statistics.median(cpu)
        print(f"  {name:<24} {med:6.2f} ms (p90 {np.percentile(times, 90):.1f})  {1e3 / med:4.0f} fps   "
              f"cpu {med_cpu:6.2f} ms  {1e3 / med_cpu:4.0f} fps")


if __name__ == "__main__":
    main()
