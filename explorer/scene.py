"""The scene contract and the registry of scenes.

A scene = a NumPy simulation + a pyqtgraph view + a declared list of parameters.
This module knows no Qt: the view is named by an import path and loaded only when needed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

import numpy as np

from explorer.params import Param, ParamError, resolve


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.flags.writeable:
            value = value.copy()
            value.flags.writeable = False
        return value
    return value


@dataclass(frozen=True)
class Frame:
    """An immutable snapshot of one simulation step.

    ``data`` holds what views draw and exports save (arrays and scalars, all copies);
    ``state`` is the simulation's own opaque state, used to restore it (step back, replay).
    """

    step: int
    data: Mapping[str, Any]
    state: Any = None
    message: str = ""
    done: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType({k: _freeze(v) for k, v in self.data.items()}))

    def __reduce__(self):
        # A mappingproxy does not pickle (frames go to and from worker processes, explorer.jobs):
        # rebuild from a plain dict; read-only arrays come back read-only, so nothing is copied.
        return (Frame, (self.step, dict(self.data), self.state, self.message, self.done))


class Simulation(Protocol):
    """What every scene's simulation provides (pure NumPy, deterministic for a seed)."""

    def __init__(self, params: Mapping[str, Any], seed: int, data: Any = None) -> None:
        """``data`` is JSON-able user data (drawn or imported points) when the scene takes any."""

    def frame(self) -> Frame:
        """The frame for the current state (step 0 right after construction)."""

    def step(self) -> Frame:
        """Advance one meaningful unit and return the new frame.

        A scene that declares ``Scene.coarse_step`` also accepts ``step(coarse=True)``: one
        coarse unit (e.g. a whole epoch) as a single frame.
        """

    @property
    def done(self) -> bool: ...

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Apply live parameter changes; they take effect at the next step."""

    def restore(self, frame: Frame) -> None:
        """Put the simulation back into the exact state it had when it produced ``frame``."""


@dataclass(frozen=True)
class Preset:
    name: str
    values: Mapping[str, Any]
    description: str = ""


def table_long(frame: Frame) -> tuple[list[str], list[list[Any]]]:
    """Default CSV table of a frame: one row per array element (key, index, value)."""
    rows: list[list[Any]] = []
    for key, value in frame.data.items():
        array = np.asarray(value)
        if array.ndim == 0:
            rows.append([key, "", array.item()])
        else:
            for index in np.ndindex(array.shape):
                rows.append([key, " ".join(map(str, index)), array[index].item()])
    return ["key", "index", "value"], rows


@dataclass(frozen=True)
class Scene:
    id: str
    title: str
    summary: str
    params: tuple[Param, ...]
    simulation: Callable[[Mapping[str, Any], int], Simulation]
    # "package.module:ClassName" of the pyqtgraph view; imported lazily so the core stays Qt-free.
    view: str
    presets: tuple[Preset, ...] = ()
    explainer: str = ""  # Markdown: a few sentences, **bold** and lists allowed
    # Frame -> (header, rows) for CSV export; long format by default.
    table: Callable[[Frame], tuple[list[str], list[list[Any]]]] = table_long
    # Label of a second step button (e.g. "Step epoch") that calls step(coarse=True); None: no button.
    coarse_step: str | None = None

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        assert len(names) == len(set(names)), f"{self.id}: a parameter is declared twice"
        for preset in self.presets:
            resolve(self.params, preset.values)  # a preset must be valid

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return resolve(self.params, overrides)

    def preset(self, name: str) -> Preset:
        for preset in self.presets:
            if preset.name == name:
                return preset
        raise ParamError(f"unknown preset {name!r}; allowed: {', '.join(p.name for p in self.presets)}")

    def view_class(self) -> type:
        module, _, name = self.view.partition(":")
        return getattr(importlib.import_module(module), name)


# The registry: one list feeds the scene list, the CLI and the render-every-scene smoke test.
SCENE_MODULES: tuple[str, ...] = (
    "scenes.gradient_descent",
    "scenes.learning_rate_batch",
    "scenes.decision_boundaries",
    "scenes.neural_network",
    "scenes.kmeans",
    "scenes.pca",
    "scenes.regularization",
    "scenes.evaluation",
)


def scenes() -> list[Scene]:
    return [importlib.import_module(module).SCENE for module in SCENE_MODULES]


def get(scene_id: str) -> Scene:
    for scene in scenes():
        if scene.id == scene_id:
            return scene
    raise ParamError(f"unknown scene {scene_id!r}; allowed: {', '.join(s.id for s in scenes())}")
