"""A running scene: parameters, seed, simulation and timeline (no Qt).

The GUI window and the headless ``render`` command both drive a Session, so what the CLI
writes is exactly what the app shows. Sessions save to and load from plain JSON.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from explorer import session_file
from explorer.params import find
from explorer.scene import Frame, Scene
from explorer.session_file import SESSION_FORMAT, SESSION_VERSION
from explorer.timeline import Timeline


class Session:
    def __init__(self, scene: Scene, params: Mapping[str, Any] | None = None, seed: int = 0,
                 data: Any = None) -> None:
        self.scene = scene
        self.params = scene.resolve(params)
        self.seed = int(seed)
        #: User data (drawn or imported points): a mapping whose values may be NumPy arrays (compact
        #: to send to a worker process; to_dict makes them lists); None means the scene's own data.
        self.data = data
        #: Set by load/from_dict when the session opened short of its saved step: why (one line).
        self.load_note = ""
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
            **({"data": _jsonable_data(self.data)} if self.data is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Any, time_budget: float | None = None) -> "Session":
        """Rebuild a session at its saved step; raises ParamError (one line) on bad content.

        Every field is checked first (explorer.session_file). The replay is bounded: at most
        MAX_REPLAY_STEPS steps and ``time_budget`` seconds (default REPLAY_SECONDS); when it stops
        short of the saved step, or the run finishes earlier, the session opens where it got and
        ``load_note`` says why.
        """
        return cls._replay(session_file.validate(data), time_budget)

    @classmethod
    def load(cls, path: str | Path, time_budget: float | None = None) -> "Session":
        """Read a session file (size-limited, JSON as data only) and rebuild it, as from_dict."""
        return cls._replay(session_file.load(path), time_budget)

    @classmethod
    def _replay(cls, saved: session_file.SessionFile, time_budget: float | None) -> "Session":
        budget = session_file.REPLAY_SECONDS if time_budget is None else time_budget
        session = cls(saved.scene, saved.param_log[0][1], saved.seed, saved.data)
        changes = dict(saved.param_log[1:])
        coarse = saved.coarse_steps
        target = min(saved.step, session_file.MAX_REPLAY_STEPS)
        started = time.monotonic()
        out_of_time = False
        while session.step < target and not session.done:
            if time.monotonic() - started > budget:
                out_of_time = True
                break
            if session.step in changes:
                session.set_params(changes[session.step])
            session.forward(coarse=session.step + 1 in coarse)
        if session.step in changes:
            session.set_params(changes[session.step])
        if session.step == saved.step and saved.params is not None:
            # Live values set after the last logged change (structural ones agree with the log).
            session.set_params({n: v for n, v in saved.params.items() if find(saved.scene.params, n).live})
        if session.step < saved.step:
            session.load_note = _short_note(session, saved.step, out_of_time, time.monotonic() - started, budget)
        return session

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))


def _jsonable_data(data: Any) -> Any:
    """User data with its arrays as (nested) lists, for JSON."""
    if isinstance(data, dict):
        return {key: value.tolist() if isinstance(value, np.ndarray) else value for key, value in data.items()}
    return data


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:.0f} s"


def _short_note(session: Session, wanted: int, out_of_time: bool, elapsed: float, budget: float) -> str:
    """Why a loaded session is at an earlier step than its file says."""
    where = f"opened at step {session.step:,}"
    shown = f"{wanted:,}" if wanted < 10**9 else f"{wanted:.3g}"
    if session.done and not out_of_time:
        return f"{where}, where this run finishes (the file says step {shown})"
    if out_of_time:
        rate = elapsed / max(session.step, 1)
        return (f"{where}: replaying to step {shown} would take about {_duration(rate * wanted)} "
                f"(a load replays for at most {budget:g} s)")
    return (f"{where}: a load replays at most {session_file.MAX_REPLAY_STEPS:,} steps "
            f"(the file says step {shown})")


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
