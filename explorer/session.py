"""A running scene: parameters, seed, simulation and timeline (no Qt).

The GUI window and the headless ``render`` command both drive a Session, so what the CLI
writes is exactly what the app shows. Sessions save to and load from plain JSON.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from explorer import scene as registry
from explorer.params import ParamError, find
from explorer.scene import Frame, Scene
from explorer.timeline import Timeline

SESSION_FORMAT = "ml-explorer-session"
SESSION_VERSION = 1


class Session:
    def __init__(self, scene: Scene, params: Mapping[str, Any] | None = None, seed: int = 0,
                 data: Any = None) -> None:
        self.scene = scene
        self.params = scene.resolve(params)
        self.seed = int(seed)
        #: User data (drawn or imported points), JSON-able; None means the scene's own data.
        self.data = data
        self.reset()

    # -- running -------------------------------------------------------------------------
    def reset(self) -> Frame:
        """Start a new run with the current parameters and seed."""
        extra = {} if self.data is None else {"data": self.data}
        self.simulation = self.scene.simulation(dict(self.params), self.seed, **extra)
        self.timeline = Timeline(self.simulation, self.params)
        return self.frame

    def restart(self) -> Frame:
        """Back to step 0 of this run (exactly, via restore), keeping the current parameters."""
        self.timeline.seek(self.timeline.start)
        self.timeline.truncate()
        self.timeline.set_live_params(self.params)
        return self.frame

    @property
    def frame(self) -> Frame:
        return self.timeline.current

    @property
    def step(self) -> int:
        return self.timeline.cursor

    @property
    def done(self) -> bool:
        return self.timeline.at_head and self.simulation.done

    def forward(self, count: int = 1, coarse: bool = False) -> Frame:
        """Step ``count`` times (each a coarse unit, such as an epoch, when ``coarse``)."""
        for _ in range(count):
            if self.done:
                break
            self.timeline.forward(coarse=coarse and self.scene.coarse_step is not None)
        return self.frame

    def back(self) -> Frame:
        return self.timeline.back()

    def seek(self, step: int) -> Frame:
        return self.timeline.seek(step)

    def run_to(self, step: int) -> Frame:
        """Compute (or move) until the cursor is at ``step`` or the run is done."""
        if step <= self.timeline.head:
            return self.seek(step)
        self.seek(self.timeline.head)
        return self.forward(step - self.timeline.head)

    def set_param(self, name: str, value: Any) -> bool:
        """Set one parameter; returns True when it started a new run (structural change)."""
        return self.set_params({name: value})

    def set_params(self, values: Mapping[str, Any]) -> bool:
        checked = {name: find(self.scene.params, name).validate(value) for name, value in values.items()}
        changed = {name: value for name, value in checked.items() if self.params[name] != value}
        if not changed:
            return False
        self.params.update(changed)
        structural = any(not find(self.scene.params, name).live for name in changed)
        if structural:
            self.reset()
        else:
            self.timeline.set_live_params(self.params)
        return structural

    def set_data(self, data: Any) -> None:
        """Replace the user data (JSON-able, validated by the scene) and start a new run."""
        self.data = data
        self.reset()

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        self.reset()

    # -- saving --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        log = [[step, dict(params)] for step, params in self.timeline.param_log if step <= self.step]
        return {
            "format": SESSION_FORMAT,
            "version": SESSION_VERSION,
            "scene": self.scene.id,
            "seed": self.seed,
            "step": self.step,
            "params": dict(self.params),
            "param_log": log,
            "coarse_steps": sorted(k for k in self.timeline.coarse_steps if k <= self.step),
            **({"data": self.data} if self.data is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Session":
        """Rebuild a session exactly at its saved step; raises ParamError on bad content."""
        if not isinstance(data, Mapping) or data.get("format") != SESSION_FORMAT:
            raise ParamError("not an ML Explorer session file (missing \"format\": \"ml-explorer-session\")")
        scene = registry.get(str(data.get("scene")))
        try:
            seed = int(data.get("seed", 0))
            step = int(data.get("step", 0))
        except (TypeError, ValueError):
            raise ParamError("session: seed and step must be whole numbers") from None
        if step < 0:
            raise ParamError("session: step must not be negative")
        log = data.get("param_log") or [[0, data.get("params", {})]]
        try:
            log = [(int(k), scene.resolve(values)) for k, values in log]
        except (TypeError, ValueError) as error:
            raise ParamError(f"session: bad param_log ({error})") from None
        session = cls(scene, log[0][1], seed, data.get("data"))
        try:
            coarse = {int(k) for k in data.get("coarse_steps", [])}
        except (TypeError, ValueError):
            raise ParamError("session: coarse_steps must be whole numbers") from None
        changes = dict(log[1:])
        while session.step < step and not session.done:
            if session.step in changes:
                session.set_params(changes[session.step])
            session.forward(coarse=session.step + 1 in coarse)
        if session.step in changes:
            session.set_params(changes[session.step])
        final = data.get("params")
        if final:
            # Display-only or live values set after the last logged change.
            session.set_params({n: v for n, v in scene.resolve(final).items() if find(scene.params, n).live})
        return session

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "Session":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ParamError(f"cannot read session {path}: {error}") from None
        return cls.from_dict(data)


def frame_to_jsonable(frame: Frame) -> dict[str, Any]:
    """Frame data with every array as a (nested) list and non-finite numbers as null."""
    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "f":
                return np.where(np.isfinite(value), value, None).tolist()
            return value.tolist()
        if isinstance(value, (np.floating, float)):
            return float(value) if np.isfinite(value) else None
        if isinstance(value, np.generic):
            return value.item()
        return value
    return {key: convert(value) for key, value in frame.data.items()}
