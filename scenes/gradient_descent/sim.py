"""Gradient-descent race: several optimisers descend the same surface from the same start.

Pure NumPy (no Qt): an import-linter contract checks it. Deterministic for a seed (the seed
only draws the line-fit data set of the MSE surface).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from explorer.params import Bool, Choice, Float, Int, Text, resolve
from explorer.scene import Frame

from .optimizers import LABELS, OPTIMIZERS, UPDATES, Hyper, State, initial_state, steps_within
from . import expression
from .surfaces import DEFAULT_DOMAIN, DEFAULT_EXPRESSION, SURFACE_LABELS, SURFACES, Surface, make_surface

#: "Converged" (or "stuck") at step n means: the gradient norm there is below GRADIENT_TOLERANCE,
#: the last step was shorter than STAY_TOLERANCE, and the optimiser's own update, continued from
#: its whole state (velocity, accumulators, Adam's step count) for STAY_STEPS more steps at the
#: current hyperparameters, never takes it further than STAY_TOLERANCE away. A small gradient
#: alone is not enough: RMSProp and Adam pass near the minimum with a tiny gradient and then
#: move away again as their accumulators decay (up to 0.36 on the κ = 10 bowl at lr 0.15).
GRADIENT_TOLERANCE = 1e-5
STAY_TOLERANCE = 1e-5
STAY_STEPS = 10_000
#: At most this many look-ahead checks per step (each costs up to ~10 ms on the UI thread).
CHECKS_PER_STEP = 1
#: Floor of the plotted loss gap f − f*, so a log axis always works.
GAP_FLOOR = 1e-16
#: Leaving the plot domain by more than this many domain sizes counts as diverged.
DIVERGENCE_FACTOR = 10.0

PARAMS = (
    Choice("surface", "bowl", "The cost surface the optimisers descend.",
           choices=SURFACES, labels=SURFACE_LABELS, group="Surface"),
    Float("condition_number", 10.0, "How elongated the quadratic bowl is: the ratio of its steepest "
          "to its flattest curvature (1 = round).", minimum=1.0, maximum=100.0, log=True, decimals=1,
          group="Surface"),
    Text("expression", DEFAULT_EXPRESSION, "Your own cost function of x and y (press Enter): numbers, x, y, "
         "+ − * / **, parentheses, pi, e and " + ", ".join(expression.FUNCTIONS) + "; gradients are exact.",
         max_length=expression.MAX_LENGTH, check=expression.check, label="f(x, y) =", group="Surface",
         show_if={"surface": ("custom",)}),
    Float("x_min", DEFAULT_DOMAIN[0], "Left end of your function's domain (the plot and the f* search).",
          minimum=-100.0, maximum=100.0, decimals=2, label="x from", group="Surface", show_if={"surface": ("custom",)}),
    Float("x_max", DEFAULT_DOMAIN[1], "Right end of your function's domain.", minimum=-100.0, maximum=100.0,
          decimals=2, label="x to", group="Surface", show_if={"surface": ("custom",)}),
    Float("y_min", DEFAULT_DOMAIN[2], "Bottom of your function's domain.", minimum=-100.0, maximum=100.0,
          decimals=2, label="y from", group="Surface", show_if={"surface": ("custom",)}),
    Float("y_max", DEFAULT_DOMAIN[3], "Top of your function's domain.", minimum=-100.0, maximum=100.0,
          decimals=2, label="y to", group="Surface", show_if={"surface": ("custom",)}),
    Bool("view_3d", False, "Show the surface in 3-D (a wireframe, height = log of f − f*) with every optimiser's "
         "path on it; drag to turn it.", label="3-D view", live=True, group="Surface"),
    Float("azimuth", -50.0, "Horizontal viewing angle of the 3-D view (degrees); drag the plot to turn it.",
          minimum=-180.0, maximum=180.0, decimals=1, live=True, label="View azimuth", group="Surface",
          show_if={"view_3d": (True,)}),
    Float("elevation", 35.0, "Vertical viewing angle of the 3-D view (degrees); drag the plot to tilt it.",
          minimum=-90.0, maximum=90.0, decimals=1, live=True, label="View elevation", group="Surface",
          show_if={"view_3d": (True,)}),
    Bool("show_field", False, "Draw the descent direction (−gradient) as a field of short arrows.",
         live=True, group="Surface"),
    Float("start_x", -2.2, "Where every optimiser starts, horizontally (click the surface to set it).",
          minimum=-100.0, maximum=100.0, decimals=2, group="Start"),
    Float("start_y", -1.0, "Where every optimiser starts, vertically (click the surface to set it).",
          minimum=-100.0, maximum=100.0, decimals=2, group="Start"),
    Bool("use_gd", True, "Race plain gradient descent: x ← x − lr·∇f(x).", label="Gradient descent", group="Optimisers"),
    Bool("use_momentum", True, "Race heavy-ball momentum, which accumulates a velocity along "
         "consistent gradients.", label="Momentum", group="Optimisers"),
    Bool("use_nesterov", False, "Race Nesterov momentum, which takes the gradient at the look-ahead "
         "point x + μv.", label="Nesterov momentum", group="Optimisers"),
    Bool("use_adagrad", False, "Race AdaGrad, which divides each coordinate's step by the root of "
         "its summed squared gradients.", label="AdaGrad", group="Optimisers"),
    Bool("use_rmsprop", False, "Race RMSProp, which divides each step by a running RMS of recent "
         "gradients.", label="RMSProp", group="Optimisers"),
    Bool("use_adam", True, "Race Adam: momentum plus RMSProp scaling, with bias correction.",
         label="Adam", group="Optimisers"),
    Float("learning_rate", 0.05, "Step size lr shared by every optimiser; takes effect at the next step.",
          minimum=1e-4, maximum=10.0, log=True, decimals=4, live=True, group="Hyperparameters"),
    Float("momentum", 0.9, "Momentum μ: the fraction of the velocity kept from one step to the next.",
          minimum=0.0, maximum=0.99, decimals=3, live=True, group="Hyperparameters"),
    Float("beta1", 0.9, "Adam's decay rate β1 of the running mean of gradients.",
          minimum=0.0, maximum=0.99, decimals=3, live=True, group="Hyperparameters"),
    Float("beta2", 0.999, "Adam's decay rate β2 of the running mean of squared gradients.",
          minimum=0.9, maximum=0.9999, decimals=4, live=True, group="Hyperparameters"),
    Float("rho", 0.9, "RMSProp's decay rate ρ of the running mean of squared gradients.",
          minimum=0.5, maximum=0.999, decimals=3, live=True, group="Hyperparameters"),
    Int("max_steps", 1000, "The run stops after this many steps.", minimum=1, maximum=100_000,
        group="Run"),
)


def enabled(params: Mapping[str, Any]) -> list[str]:
    """Names of the optimisers switched on, in a fixed order."""
    return [name for name in OPTIMIZERS if params.get(f"use_{name}")]


def domain_of(params: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """The custom function's domain as typed (surfaces.fixed_domain puts it in order)."""
    return (float(params["x_min"]), float(params["x_max"]), float(params["y_min"]), float(params["y_max"]))


def _hyper(params: Mapping[str, Any]) -> Hyper:
    return Hyper(learning_rate=float(params["learning_rate"]), momentum=float(params["momentum"]),
                 beta1=float(params["beta1"]), beta2=float(params["beta2"]), rho=float(params["rho"]))


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class GradientDescentSimulation:
    """Steps every enabled optimiser once per ``step()``; each stops on its own when it
    converges or diverges while the others go on."""

    def __init__(self, params: Mapping[str, Any], seed: int = 0, data: Any = None) -> None:
        self.params = resolve(PARAMS, params)
        self.seed = int(seed)
        # ``data`` is not used: the line-fit data set comes from the seed.
        self.surface: Surface = make_surface(self.params["surface"], self.params["condition_number"],
                                             self.seed, self.params["expression"], domain_of(self.params))
        self.f_star = self.surface.f_min
        self.names = enabled(self.params)
        self.max_steps = int(self.params["max_steps"])
        self.hyper = _hyper(self.params)
        start = np.array([self.params["start_x"], self.params["start_y"]], dtype=float)
        # One preallocated buffer per optimiser: frames hold read-only views of its prefix, so
        # memory stays O(1) per frame. Entries before the current step never change.
        self._trail = {n: np.zeros((self.max_steps + 1, 2)) for n in self.names}
        self._loss = {n: np.zeros(self.max_steps + 1) for n in self.names}
        self._state: dict[str, State] = {n: initial_state(start) for n in self.names}
        self._gradient: dict[str, np.ndarray] = {}
        self._status: dict[str, str] = {}
        #: The first step at which an optimiser's look-ahead is tried again after it failed
        #: (a failed check of k steps means it stays put for k steps: no point looking sooner).
        self._next_check: dict[str, int] = {n: 0 for n in self.names}
        self._step = 0
        self._checks_left = CHECKS_PER_STEP
        for name in self.names:
            g = self._grad(start)
            value = self._f(start)
            self._gradient[name] = g
            self._status[name] = "running"
            if not (np.all(np.isfinite(start)) and np.isfinite(value) and np.all(np.isfinite(g))):
                self._status[name] = "diverged at step 0"
                self._gradient[name] = np.zeros(2)
                value = self.f_star
            # No rest judged at step 0: whether a start at rest stays there depends on the live
            # hyperparameters, and a live change at step 0 must not change frame 0 (it applies
            # from the next step), so an optimiser started at a minimum says so at step 1.
            self._trail[name][0] = start
            self._loss[name][0] = self._gap(value)

    # -- maths helpers ---------------------------------------------------------------------
    def _f(self, p: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(self.surface.f(p[0], p[1]))

    def _grad(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            gx, gy = self.surface.gradient(p[0], p[1])
        return np.array([gx, gy], dtype=float)

    def _gap(self, value: float) -> float:
        return max(value - self.f_star, GAP_FLOOR) if np.isfinite(value) else GAP_FLOOR

    def _settled(self, name: str, g: np.ndarray, last_step: float, step: int) -> bool:
        """Whether ``name`` has come to rest for good at ``step`` (see GRADIENT_TOLERANCE)."""
        if not (np.linalg.norm(g) < GRADIENT_TOLERANCE and last_step < STAY_TOLERANCE):
            return False
        if step < self._next_check[name] or self._checks_left <= 0:
            return False
        self._checks_left -= 1
        stayed = steps_within(name, self._state[name], self.surface.gradient, self.hyper, STAY_STEPS,
                              STAY_TOLERANCE)
        if stayed >= STAY_STEPS:
            return True
        self._next_check[name] = step + max(1, stayed)
        return False

    def _near_minimum(self, name: str) -> str:
        """" (near a minimum but still moving)" for a running optimiser within 1 % of the plot
        size of a minimum (RMSProp and Adam hover there with a constant learning rate), else ''."""
        p = self._state[name].x
        distance = min(np.hypot(p[0] - mx, p[1] - my) for mx, my in self.surface.minima)
        return " (near a minimum but still moving)" if distance < 1e-2 * self.surface.span else ""

    def _stationary_status(self, p: np.ndarray, step: int) -> str:
        """What kind of point an optimiser that came to rest at ``p`` sits on."""
        eigenvalues = np.linalg.eigvalsh(self.surface.hessian(p[0], p[1]))
        scale = max(1.0, float(np.max(np.abs(eigenvalues))))
        if eigenvalues[0] < -1e-6 * scale:
            kind = "a maximum" if eigenvalues[-1] < -1e-6 * scale else "a saddle point"
            return f"stuck at step {step}: {kind}, not a minimum"
        distances = [np.hypot(p[0] - mx, p[1] - my) for mx, my in self.surface.minima]
        nearest = self.surface.minima[int(np.argmin(distances))]
        with np.errstate(all="ignore"):
            nearest_value = float(self.surface.f(np.float64(nearest[0]), np.float64(nearest[1])))
        if min(distances) < 1e-2 and nearest_value > self.f_star + 1e-9:
            return f"converged at step {step} (local minimum)"
        return f"converged at step {step}"

    # -- the Simulation protocol -----------------------------------------------------------
    @property
    def step_count(self) -> int:
        return self._step

    @property
    def done(self) -> bool:
        return (not self.names or self._step >= self.max_steps
                or all(self._status[n] != "running" for n in self.names))

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Live values (learning rate, momentum, betas, rho) take effect at the next step."""
        merged = dict(self.params)
        merged.update({k: v for k, v in params.items() if k in merged})
        self.params = merged
        self.hyper = _hyper(merged)

    def step(self) -> Frame:
        if self.done:
            return self.frame()
        n = self._step + 1
        self._checks_left = CHECKS_PER_STEP
        for name in self.names:
            state = self._state[name]
            if self._status[name] == "running":
                with np.errstate(all="ignore"):
                    new = UPDATES[name](state, self._grad, self.hyper)
                p = new.x
                value = self._f(p) if np.all(np.isfinite(p)) else np.nan
                g = self._grad(p) if np.isfinite(value) else np.full(2, np.nan)
                if (np.isfinite(value) and np.all(np.isfinite(g)) and np.all(np.isfinite(new.v))
                        and np.all(np.isfinite(new.s)) and self.surface.in_bounds(p[0], p[1], DIVERGENCE_FACTOR)):
                    self._state[name] = new
                    self._gradient[name] = g
                    moved = float(np.hypot(*(p - state.x)))
                    if self._settled(name, g, moved, n):
                        self._status[name] = self._stationary_status(p, n)
                    self._trail[name][n] = p
                    self._loss[name][n] = self._gap(value)
                    continue
                # Diverged: stay at the last valid point so every number in the frame is finite.
                self._status[name] = f"diverged at step {n}"
            self._trail[name][n] = self._trail[name][n - 1]
            self._loss[name][n] = self._loss[name][n - 1]
        self._step = n
        if n >= self.max_steps:
            for name in self.names:
                if self._status[name] == "running":
                    self._status[name] = f"not converged after {n} steps{self._near_minimum(name)}"
        return self.frame()

    def frame(self) -> Frame:
        n = self._step
        data: dict[str, Any] = {}
        for name in self.names:
            data[f"{name}.trail"] = _read_only(self._trail[name][: n + 1])
            data[f"{name}.loss_gap"] = _read_only(self._loss[name][: n + 1])
            data[f"{name}.position"] = _read_only(self._state[name].x.copy())
            data[f"{name}.gradient"] = _read_only(self._gradient[name].copy())
            data[f"{name}.status"] = self._status[name]
        if self.surface.data_x is not None:
            data["data.x"] = self.surface.data_x
            data["data.y"] = self.surface.data_y
        state = {
            "step": n,
            "next_check": dict(self._next_check),
            "optimizers": {name: (self._state[name].x.copy(), self._state[name].v.copy(),
                                  self._state[name].s.copy(), self._state[name].t,
                                  self._gradient[name].copy(), self._status[name])
                           for name in self.names},
        }
        return Frame(step=n, data=data, state=state, message=self.message(), done=self.done)

    def restore(self, frame: Frame) -> None:
        state = frame.state
        n = int(state["step"])
        self._next_check = dict(state["next_check"])
        for name in self.names:
            x, v, s, t, g, status = state["optimizers"][name]
            self._state[name] = State(x.copy(), v.copy(), s.copy(), int(t))
            self._gradient[name] = g.copy()
            self._status[name] = status
            # A frame from another simulation object: bring its trail into our buffers.
            trail = frame.data[f"{name}.trail"]
            if not np.shares_memory(trail, self._trail[name]):
                self._trail[name][: n + 1] = trail
                self._loss[name][: n + 1] = frame.data[f"{name}.loss_gap"]
        self._step = n

    # -- text ------------------------------------------------------------------------------
    def message(self) -> str:
        """One-line status-bar summary of the race."""
        if not self.names:
            return ("No optimiser is enabled: switch on at least one (GD, Momentum, Nesterov, "
                    "AdaGrad, RMSProp or Adam) to start the race.")
        parts = []
        for name in self.names:
            status = self._status[name]
            if status == "running":
                parts.append(f"{LABELS[name]} f−f* = {self._loss[name][self._step]:.2g}")
            else:
                parts.append(f"{LABELS[name]} {status}")
        text = f"step {self._step} · " + " · ".join(parts)
        if self.surface.f_star_estimated:
            text += f" · f* ≈ {self.f_star:.6g} (estimated over the domain)"
        if self.surface.note:
            text += f" · {self.surface.note}"
        return text
