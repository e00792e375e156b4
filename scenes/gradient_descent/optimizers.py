"""The optimisers: one pure update rule each, on a small explicit state (pure NumPy).

Every rule takes the state ``(x, v, s, t)`` and returns a new one, never mutating its inputs:
``x`` position, ``v`` velocity or first moment, ``s`` squared-gradient accumulator or second
moment, ``t`` the number of updates done (Adam's bias correction needs it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

OPTIMIZERS: tuple[str, ...] = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
LABELS: dict[str, str] = {
    "gd": "GD",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSProp",
    "adam": "Adam",
}
EPSILON = 1e-8

GradientFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Hyper:
    learning_rate: float = 0.01
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.9
    eps: float = EPSILON


class State(NamedTuple):
    x: np.ndarray
    v: np.ndarray
    s: np.ndarray
    t: int


def initial_state(start: np.ndarray) -> State:
    start = np.asarray(start, dtype=float)
    return State(start.copy(), np.zeros_like(start), np.zeros_like(start), 0)


def gd(state: State, gradient: GradientFn, hp: Hyper) -> State:
    """x ← x − lr ∇f(x)."""
    g = gradient(state.x)
    return State(state.x - hp.learning_rate * g, state.v, state.s, state.t + 1)


def momentum(state: State, gradient: GradientFn, hp: Hyper) -> State:
    """v ← μ v − lr ∇f(x); x ← x + v (heavy ball)."""
    v = hp.momentum * state.v - hp.learning_rate * gradient(state.x)
    return State(state.x + v, v, state.s, state.t + 1)


def nesterov(state: State, gradient: GradientFn, hp: Hyper) -> State:
    """v ← μ v − lr ∇f(x + μ v); x ← x + v (gradient at the look-ahead point)."""
    v = hp.momentum * state.v - hp.learning_rate * gradient(state.x + hp.momentum * state.v)
    return State(state.x + v, v, state.s, state.t + 1)


def adagrad(state: State, gradient: GradientFn, hp: Hyper) -> State:
    """G ← G + g²; x ← x − lr g / (√G + ε)."""
    g = gradient(state.x)
    s = state.s + g * g
    return State(state.x - hp.learning_rate * g / (np.sqrt(s) + hp.eps), state.v, s, state.t + 1)


def rmsprop(state: State, gradient: GradientFn, hp: Hyper) -> State:
    """E ← ρ E + (1 − ρ) g²; x ← x − lr g / (√E + ε)."""
    g = gradient(state.x)
    s = hp.rho * state.s + (1 - hp.rho) * g * g
    return State(state.x - hp.learning_rate * g / (np.sqrt(s) + hp.eps), state.v, s, state.t + 1)


def adam(state: State, gradient: GradientFn, hp: Hyper) -> State:
    """Adam with bias correction: m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ); x ← x − lr m̂ / (√v̂ + ε)."""
    g = gradient(state.x)
    t = state.t + 1
    m = hp.beta1 * state.v + (1 - hp.beta1) * g
    v = hp.beta2 * state.s + (1 - hp.beta2) * g * g
    m_hat = m / (1 - hp.beta1 ** t)
    v_hat = v / (1 - hp.beta2 ** t)
    return State(state.x - hp.learning_rate * m_hat / (np.sqrt(v_hat) + hp.eps), m, v, t)


UPDATES: dict[str, Callable[[State, GradientFn, Hyper], State]] = {
    "gd": gd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
}


def steps_within(name: str, state: State, gradient: Callable[[float, float], tuple[float, float]], hp: Hyper,
                 steps: int, tolerance: float) -> int:
    """How many of the next ``steps`` updates of optimiser ``name`` from ``state`` keep it within
    ``tolerance`` of where it is now (``steps`` if all of them do; a non-finite value ends it).

    The same rules as UPDATES, written on Python floats for the two coordinates: about 10×
    faster than NumPy on 2-element arrays, so checking 10,000 steps ahead costs a few ms.
    ``gradient(x, y)`` takes and returns plain numbers (a Surface's gradient does).
    """
    x, y = float(state.x[0]), float(state.x[1])
    vx, vy = float(state.v[0]), float(state.v[1])
    sx, sy = float(state.s[0]), float(state.s[1])
    t = int(state.t)
    x0, y0 = x, y
    limit = tolerance * tolerance
    lr, mu, rho, b1, b2, eps = hp.learning_rate, hp.momentum, hp.rho, hp.beta1, hp.beta2, hp.eps
    sqrt = math.sqrt
    if name not in UPDATES:
        raise ValueError(f"unknown optimiser {name!r}")
    done = 0
    try:
        for done in range(steps):
            if name == "gd":
                gx, gy = gradient(x, y)
                x, y = x - lr * gx, y - lr * gy
            elif name == "momentum":
                gx, gy = gradient(x, y)
                vx, vy = mu * vx - lr * gx, mu * vy - lr * gy
                x, y = x + vx, y + vy
            elif name == "nesterov":
                gx, gy = gradient(x + mu * vx, y + mu * vy)
                vx, vy = mu * vx - lr * gx, mu * vy - lr * gy
                x, y = x + vx, y + vy
            elif name == "adagrad":
                gx, gy = gradient(x, y)
                sx, sy = sx + gx * gx, sy + gy * gy
                x, y = x - lr * gx / (sqrt(sx) + eps), y - lr * gy / (sqrt(sy) + eps)
            elif name == "rmsprop":
                gx, gy = gradient(x, y)
                sx, sy = rho * sx + (1 - rho) * gx * gx, rho * sy + (1 - rho) * gy * gy
                x, y = x - lr * gx / (sqrt(sx) + eps), y - lr * gy / (sqrt(sy) + eps)
            elif name == "adam":
                gx, gy = gradient(x, y)
                t += 1
                vx, vy = b1 * vx + (1 - b1) * gx, b1 * vy + (1 - b1) * gy
                sx, sy = b2 * sx + (1 - b2) * gx * gx, b2 * sy + (1 - b2) * gy * gy
                c1, c2 = 1 - b1 ** t, 1 - b2 ** t
                x = x - lr * (vx / c1) / (sqrt(sx / c2) + eps)
                y = y - lr * (vy / c1) / (sqrt(sy / c2) + eps)
            dx, dy = x - x0, y - y0
            if not dx * dx + dy * dy <= limit:  # also false for NaN
                return done
    except (OverflowError, ZeroDivisionError, ValueError):
        return done
    return steps
