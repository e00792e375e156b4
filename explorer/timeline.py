"""Frame history with step forward/back, scrubbing and bounded memory.

At most ``capacity`` frames are kept: every one of the newest steps (a dense window of ``recent``
steps, which gives way down to ``recent // 4`` before the checkpoints thin), plus checkpoints
evenly spread over the whole older history (every ``spacing``-th step from the start; the spacing,
a power of two, doubles only when the checkpoints and the smallest window would exceed the
capacity, so it stays below ``2 * history / (capacity - recent // 4)``). A frame that is not kept
is rebuilt exactly by restoring the nearest earlier kept (or cached) frame and replaying the
deterministic simulation with the same live parameter changes and coarse steps, so stepping back
always gives the exact earlier frame and a seek replays fewer than ``spacing`` steps (with the
defaults, at most 31 after 100,000 steps).
"""
from __future__ import annotations

import bisect
from collections import OrderedDict
from typing import Any, Mapping

from explorer.scene import Frame, Simulation


class Timeline:
    def __init__(self, simulation: Simulation, params: Mapping[str, Any],
                 capacity: int = 4096, recent: int = 1024, cache: int = 64) -> None:
        assert 2 <= recent < capacity
        self.simulation = simulation
        self.capacity = capacity
        self.recent = recent
        first = simulation.frame()
        self._kept: dict[int, Frame] = {first.step: first}
        self._keys: list[int] = [first.step]
        self._cache: OrderedDict[int, Frame] = OrderedDict()
        self._cache_size = cache
        self.start = first.step
        self.head = first.step
        self.cursor = first.step
        #: Older than the recent window, only steps start + i * spacing are kept (a power of two).
        self.spacing = 1
        #: The dense window: the newest ``window`` steps are all kept (recent // 4 <= it <= recent
        #: once the history is long; it shrinks before the checkpoints thin).
        self.window = 1
        self.min_window = max(2, recent // 4)
        #: Steps computed again to rebuild frames that were not kept (a cost counter, never reset).
        self.replayed_steps = 0
        #: Steps replayed by the latest rebuild (0 when the frame was kept or cached).
        self.last_replay = 0
        # (k, params): these params are in force for the steps after step k.
        self.param_log: list[tuple[int, dict[str, Any]]] = [(first.step, dict(params))]
        #: Steps that were computed as one coarse unit (e.g. a whole epoch), replayed the same way.
        self.coarse_steps: set[int] = set()

    # -- reading -------------------------------------------------------------------------
    @property
    def current(self) -> Frame:
        return self.frame_at(self.cursor)

    @property
    def kept_count(self) -> int:
        return len(self._keys)

    @property
    def max_replay(self) -> int:
        """The most steps any seek into the current history can replay."""
        gaps = [b - a for a, b in zip(self._keys, self._keys[1:])]
        return max(gaps, default=1) - 1

    def params_at(self, step: int) -> dict[str, Any]:
        """The parameters in force for computing the step after ``step``."""
        index = bisect.bisect_right(self.param_log, step, key=lambda entry: entry[0]) - 1
        return self.param_log[max(index, 0)][1]

    def frame_at(self, step: int) -> Frame:
        if not self.start <= step <= self.head:
            raise IndexError(f"step {step} is outside the history {self.start}..{self.head}")
        self.last_replay = 0
        if step in self._kept:
            return self._kept[step]
        if step in self._cache:
            self._cache.move_to_end(step)
            return self._cache[step]
        return self._replay(step)

    def _remember(self, frame: Frame) -> None:
        self._cache[frame.step] = frame
        self._cache.move_to_end(frame.step)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _replay(self, step: int) -> Frame:
        base = self._kept[self._keys[bisect.bisect_right(self._keys, step) - 1]]
        # A cached frame between the checkpoint and the target is a closer start.
        for cached in self._cache.values():
            if base.step < cached.step < step:
                base = cached
        sim = self.simulation
        sim.restore(base)
        frame = base
        while frame.step < step:
            sim.set_params(self.params_at(frame.step))
            frame = self._compute(frame.step + 1 in self.coarse_steps)
            # Cache the frames on the way: stepping back through the gap then costs nothing more.
            self._remember(frame)
        self.last_replay = step - base.step
        self.replayed_steps += self.last_replay
        # Put the simulation back at the head so the next new step continues from there.
        sim.restore(self.frame_at_head())
        sim.set_params(self.params_at(self.head))
        return frame

    def frame_at_head(self) -> Frame:
        return self._kept[self.head]

    # -- moving --------------------------------------------------------------------------
    @property
    def at_head(self) -> bool:
        return self.cursor == self.head

    def _compute(self, coarse: bool) -> Frame:
        return self.simulation.step(coarse=True) if coarse else self.simulation.step()

    def forward(self, coarse: bool = False) -> Frame:
        """Move one step forward: through the history, or by computing a new step at the head.

        ``coarse`` asks the simulation for one coarse unit (``step(coarse=True)``, e.g. a whole
        epoch) as a single frame; it only applies when a new step is computed.
        """
        if self.cursor < self.head:
            self.cursor += 1
            return self.current
        if self.simulation.done:
            return self.current
        frame = self._compute(coarse)
        assert frame.step == self.head + 1, "a simulation step must advance the step counter by one"
        self.head = self.cursor = frame.step
        if coarse:
            self.coarse_steps.add(frame.step)
        self._keep(frame)
        return frame

    def back(self) -> Frame:
        self.cursor = max(self.start, self.cursor - 1)
        return self.current

    def seek(self, step: int) -> Frame:
        self.cursor = min(self.head, max(self.start, step))
        return self.current

    def set_live_params(self, params: Mapping[str, Any]) -> None:
        """Apply live parameters from the cursor on; any later history is discarded."""
        if self.cursor < self.head:
            self.truncate()
        self.simulation.set_params(params)
        if self.param_log[-1][0] == self.head:
            self.param_log[-1] = (self.head, dict(params))
        else:
            self.param_log.append((self.head, dict(params)))

    def truncate(self) -> None:
        """Drop the history after the cursor and put the simulation back at the cursor."""
        frame = self.current
        self.simulation.restore(frame)
        self.head = self.cursor
        cut = bisect.bisect_right(self._keys, self.head)
        for key in self._keys[cut:]:
            del self._kept[key]
        del self._keys[cut:]
        if self.head not in self._kept:
            self._kept[self.head] = frame
            bisect.insort(self._keys, self.head)
        self._cache = OrderedDict((k, f) for k, f in self._cache.items() if k <= self.head)
        self.param_log = [entry for entry in self.param_log if entry[0] <= self.head] or self.param_log[:1]
        self.coarse_steps = {k for k in self.coarse_steps if k <= self.head}
        self.simulation.set_params(self.params_at(self.head))

    def _on_grid(self, step: int) -> bool:
        return (step - self.start) % self.spacing == 0

    def _drop_if_off_grid(self, step: int) -> None:
        if step > self.start and step in self._kept and not self._on_grid(step):
            del self._kept[step]
            del self._keys[bisect.bisect_left(self._keys, step)]

    def _keep(self, frame: Frame) -> None:
        self._kept[frame.step] = frame
        self._keys.append(frame.step)
        if self.window < self.recent:
            self.window += 1  # the window grows back with the new frame
        else:
            # The step leaving the window stays only if it is a checkpoint.
            self._drop_if_off_grid(frame.step - self.recent)
        while len(self._keys) > self.capacity:
            if self.window > self.min_window:
                self.window -= 1  # its oldest step leaves the window
                self._drop_if_off_grid(self.head - self.window)
            else:
                self._thin()

    def _thin(self) -> None:
        # Double the checkpoint spacing: every other old checkpoint goes (the start always stays).
        self.spacing *= 2
        limit = self.head - self.window
        for key in [k for k in self._keys if k <= limit and not self._on_grid(k)]:
            del self._kept[key]
        self._keys = sorted(self._kept)
