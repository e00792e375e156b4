"""The optimisers: one pure update rule each, on a small explicit state (pure NumPy).

Every rule takes the state ``(x, v, s, t)`` and returns a new one, never mutating its inputs:
``x`` position, ``v`` velocity or first moment, ``s`` squared-gradient accumulator or second
moment, ``t`` the number of updates done (Adam's bias correction needs it).
"""
from __future__ import annotations

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
