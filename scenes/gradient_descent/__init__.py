"""Gradient descent: optimisers racing down cost surfaces."""
from __future__ import annotations

from typing import Any

from explorer.scene import Frame, Preset, Scene

from .optimizers import OPTIMIZERS
from .sim import PARAMS, GradientDescentSimulation

_NONE = {f"use_{name}": False for name in OPTIMIZERS}


def _race(*names: str, **values: Any) -> dict[str, Any]:
    """Preset values: exactly these optimisers enabled, everything structural spelled out."""
    chosen = dict(_NONE)
    chosen.update({f"use_{name}": True for name in names})
    chosen.setdefault("momentum", 0.9)
    chosen.update(values)
    return chosen


PRESETS = (
    Preset("Learning rate too small",
           _race("gd", surface="bowl", condition_number=10.0, start_x=-2.0, start_y=2.0,
                 learning_rate=0.001, max_steps=500),
           "lr = 0.001: every step is tiny; after 500 steps GD is still creeping along the valley "
           "floor, f − f* still about 0.1 (at lr = 0.1 it converges in about 100 steps)."),
    Preset("Learning rate just right",
           _race("gd", surface="bowl", condition_number=10.0, start_x=-2.0, start_y=2.0,
                 learning_rate=0.1, max_steps=1000),
           "lr = 0.1 = 1/(steepest curvature): GD heads straight down and converges in about 100 steps."),
    Preset("Learning rate overshooting",
           _race("gd", surface="bowl", condition_number=10.0, start_x=-2.0, start_y=2.0,
                 learning_rate=0.19, max_steps=1000),
           "lr = 0.19: each step jumps past the valley floor, so GD zigzags from wall to wall; "
           "it still converges, but slower than at lr = 0.1."),
    Preset("Learning rate too large: diverges",
           _race("gd", surface="bowl", condition_number=10.0, start_x=-2.0, start_y=2.0,
                 learning_rate=0.22, max_steps=1000),
           "lr = 0.22 > 2/(steepest curvature): every zigzag is wider than the last and GD "
           "diverges within about 20 steps."),
    Preset("Momentum through a ravine",
           _race("gd", "momentum", "nesterov", surface="bowl", condition_number=100.0,
                 start_x=-2.2, start_y=-1.0, learning_rate=0.01, momentum=0.9, max_steps=1500),
           "A bowl 100 times steeper across than along: GD needs about 1200 steps, momentum "
           "builds up speed along the ravine floor and converges in about 250, Nesterov in about 210."),
    Preset("Adam vs GD on Rosenbrock",
           _race("gd", "adam", surface="rosenbrock", start_x=-1.5, start_y=2.0,
                 learning_rate=0.05, beta1=0.9, beta2=0.999, max_steps=3000),
           "GD's step is lr × gradient: on Rosenbrock's steep wall it is thrown out and diverges "
           "at step 2. Adam's step is about lr whatever the gradient's size, so it walks down the "
           "wall and along the curved valley to (1, 1), where, at a constant learning rate, it hovers "
           "without ever settling for good. At lr = 0.001 the tables turn: GD survives and follows the valley, while Adam, whose steps stay about lr long, crawls."),
    Preset("Trapped in a local minimum",
           _race("gd", "momentum", "adam", surface="local_minimum", start_x=1.8, start_y=1.5,
                 learning_rate=0.02, momentum=0.9, max_steps=1000),
           "Starting above the right-hand (shallower) well: GD and Adam settle in the local minimum, "
           "while momentum carries enough speed over the ridge to reach the global one."),
    Preset("Escaping a saddle point",
           _race("gd", "momentum", "adam", surface="saddle", start_x=2.0, start_y=0.01,
                 learning_rate=0.05, momentum=0.9, max_steps=1000),
           "Starting almost on the ridge: the optimisers slide to the flat saddle at the origin, "
           "linger where the gradient nearly vanishes, then escape to a minimum (GD and momentum "
           "settle there; Adam keeps hovering around it). Set start y to 0 "
           "and they stop at the saddle for good."),
    Preset("Fitting a line (MSE)",
           _race("gd", "momentum", "adam", surface="mse", start_x=-2.0, start_y=2.5,
                 learning_rate=0.1, momentum=0.9, max_steps=1000),
           "Each point of the surface is a straight line θ0 + θ1·x; its height is the mean squared "
           "error on the data. Watch the lines on the right swing into place as the optimisers descend."),
    Preset("Himmelblau: which minimum?",
           _race("gd", "momentum", "nesterov", "rmsprop", "adam", surface="himmelblau",
                 start_x=-1.0, start_y=-0.5, learning_rate=0.01, momentum=0.9, rho=0.9, max_steps=1000),
           "Four equally good minima: from the same start, GD and the momentum methods roll into the "
           "bottom-left one, while RMSProp and Adam, which rescale each coordinate, head for the top-left one."),
)

EXPLAINER = (
    "Gradient descent finds a low point of a function by repeatedly stepping downhill: the gradient "
    "points uphill, so each step moves against it, scaled by the learning rate. Too small a rate "
    "crawls; too large a rate overshoots and can diverge. Momentum methods keep a velocity so they "
    "speed through long narrow valleys, while AdaGrad, RMSProp and Adam rescale each coordinate by "
    "the size of its recent gradients. The loss plot shows f − f*, the distance from the best value, "
    "on a log scale. An optimiser counts as converged only when it stays put: its gradient is "
    "tiny and its own update, continued for 10,000 more steps, keeps it within 0.00001 of that "
    "point. Click the surface to choose where the race starts."
)


def table(frame: Frame) -> tuple[list[str], list[list[Any]]]:
    """One row per optimiser per trail point: optimizer, step, x, y, loss_gap, status."""
    header = ["optimizer", "step", "x", "y", "loss_gap", "status"]
    rows: list[list[Any]] = []
    for name in OPTIMIZERS:
        trail = frame.data.get(f"{name}.trail")
        if trail is None:
            continue
        loss_gap = frame.data[f"{name}.loss_gap"]
        status = frame.data[f"{name}.status"]
        for step in range(len(trail)):
            rows.append([name, step, float(trail[step, 0]), float(trail[step, 1]), float(loss_gap[step]),
                         status])
    return header, rows


SCENE = Scene(
    id="gradient-descent",
    title="Gradient descent",
    summary="Optimisers racing down cost surfaces",
    params=PARAMS,
    simulation=GradientDescentSimulation,
    view="scenes.gradient_descent.view:GradientDescentView",
    presets=PRESETS,
    explainer=EXPLAINER,
    table=table,
)
