"""Parameters, Timeline and Session, driven by a tiny fake deterministic simulation (no Qt)."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

import explorer.scene
from explorer import params as P
from explorer.params import Bool, Choice, Float, Int, ParamError
from explorer.scene import Frame, Scene
from explorer.session import Session, frame_to_jsonable
from explorer.timeline import Timeline


# -- a fake scene -------------------------------------------------------------------------
class NoisyDecay:
    """x <- x * (1 - rate) + noise, with a seeded NumPy generator carried in the frame state."""

    def __init__(self, params, seed, data=None):
        self.params = dict(params)
        self.rng = np.random.default_rng(seed)
        self.x = float(data["start"]) if data else 1.0
        self.k = 0

    def _frame(self) -> Frame:
        state = (self.k, self.x, copy.deepcopy(self.rng.bit_generator.state))
        return Frame(self.k, {"x": np.array([self.x, self.x * self.x]), "k": self.k},
                     state=state, done=self.done)

    def frame(self) -> Frame:
        return self._frame()

    def step(self, coarse: bool = False) -> Frame:
        for _ in range(5 if coarse else 1):
            self.x = self.x * (1.0 - self.params["rate"]) + 0.1 * self.rng.standard_normal()
        self.k += 1
        return self._frame()

    @property
    def done(self) -> bool:
        return self.k >= self.params["limit"]

    def set_params(self, params) -> None:
        self.params = dict(params)

    def restore(self, frame: Frame) -> None:
        self.k, self.x, state = frame.state
        self.rng.bit_generator.state = copy.deepcopy(state)


PARAMS = (
    Float("rate", 0.1, "Decay per step.", minimum=0.0, maximum=1.0, live=True),
    Int("limit", 1_000_000, "Steps until done.", minimum=1, maximum=1_000_000),
    Choice("mode", "a", "A structural choice.", choices=("a", "b")),
    Bool("trace", False, "A live display flag.", live=True),
)
SCENE = Scene("fake-decay", "Fake decay", "A test scene.", PARAMS, NoisyDecay,
              view="tests.explorer.nowhere:View", coarse_step="Step 5")


@pytest.fixture
def registered(monkeypatch):
    """Register SCENE (this module) as the only scene, for Session.from_dict."""
    monkeypatch.setattr(explorer.scene, "SCENE_MODULES", (__name__,))
    return SCENE


def fresh_frames(n: int, seed: int = 7, **overrides) -> list[Frame]:
    sim = NoisyDecay(SCENE.resolve(overrides), seed)
    return [sim.frame()] + [sim.step() for _ in range(n)]


def same_data(a: Frame, b: Frame) -> bool:
    return a.step == b.step and a.data.keys() == b.data.keys() and all(
        np.array_equal(a.data[key], b.data[key]) for key in a.data)


def timeline(capacity: int = 64, recent: int = 16, seed: int = 7, **overrides) -> Timeline:
    values = SCENE.resolve(overrides)
    return Timeline(NoisyDecay(values, seed), values, capacity=capacity, recent=recent)


# -- parameters ---------------------------------------------------------------------------
def test_float_validates_range_and_names_allowed_values():
    rate = PARAMS[0]
    assert rate.validate("0.25") == 0.25
    assert rate.validate(1) == 1.0
    for bad in ("1.5", -0.1, "abc", "nan", "inf", True, None):
        with pytest.raises(ParamError, match=r"^rate: .*allowed: a number from 0 to 1$"):
            rate.validate(bad)


def test_float_log_scale_unit_mapping_round_trips():
    lr = Float("learning_rate", 0.01, "Step size.", minimum=1e-4, maximum=10.0, log=True)
    assert "log scale" in lr.allowed()
    for value in (1e-4, 0.003, 0.01, 1.0, 10.0):
        assert math.isclose(lr.from_unit(lr.to_unit(value)), value, rel_tol=1e-12)
    # The slider's ends (and beyond) give the range's ends.
    assert math.isclose(lr.from_unit(-1), 1e-4) and math.isclose(lr.from_unit(2), 10.0)
    assert 1e-4 <= lr.from_unit(0) and lr.from_unit(1) <= 10.0


def test_int_rejects_fractions_and_out_of_range():
    limit = PARAMS[1]
    assert limit.validate("12") == 12 and isinstance(limit.validate(12.0), int)
    with pytest.raises(ParamError, match="not a whole number; allowed: a whole number from 1 to 1000000"):
        limit.validate("2.5")
    with pytest.raises(ParamError, match="0 is out of range; allowed: a whole number from 1 to 1000000"):
        limit.validate(0)


def test_choice_and_bool():
    mode, trace = PARAMS[2], PARAMS[3]
    assert mode.validate("b") == "b"
    with pytest.raises(ParamError, match="allowed: one of a, b"):
        mode.validate("c")
    assert trace.parse("yes") is True and trace.parse("OFF") is False and trace.validate(1) is True
    with pytest.raises(ParamError, match="allowed: true or false"):
        trace.parse("maybe")


def test_parse_assignments_and_resolve():
    assert P.parse_assignments(PARAMS, ["rate=0.5", " mode = b ", "trace=true"]) == {
        "rate": 0.5, "mode": "b", "trace": True}
    with pytest.raises(ParamError, match="unknown parameter 'speed'; allowed: rate, limit, mode, trace"):
        P.parse_assignments(PARAMS, ["speed=1"])
    with pytest.raises(ParamError, match="expected NAME=VALUE"):
        P.parse_assignments(PARAMS, ["rate"])
    assert SCENE.resolve({"rate": "0.2"})["rate"] == 0.2
    assert SCENE.resolve() == {"rate": 0.1, "limit": 1_000_000, "mode": "a", "trace": False}


# -- timeline -----------------------------------------------------------------------------
def test_forward_back_seek_return_the_same_frames():
    tl = timeline()
    frames = [tl.current] + [tl.forward() for _ in range(10)]
    assert [f.step for f in frames] == list(range(11))
    for k in range(9, -1, -1):
        assert tl.back() is frames[k]
    assert tl.back() is frames[0]  # clamps at the start
    for k in range(1, 11):
        assert tl.forward() is frames[k]
    assert tl.seek(3) is frames[3] and tl.seek(-5) is frames[0] and tl.seek(99) is frames[10]
    for got, expected in zip(frames, fresh_frames(10)):
        assert same_data(got, expected)


def test_thinned_frames_are_rebuilt_exactly():
    tl = timeline(capacity=64, recent=16)
    for _ in range(500):
        tl.forward()
    assert tl.kept_count <= 64
    truth = fresh_frames(501)
    thinned = [k for k in range(501) if k not in tl._kept]
    assert len(thinned) > 400
    for k in thinned[::7] + [1, 250, 483]:
        frame = tl.frame_at(k)
        assert same_data(frame, truth[k]), k
        assert frame.state[1] == truth[k].state[1]
    # Replaying must leave the simulation at the head: the next new step is the true step 501.
    tl.seek(tl.head)
    assert same_data(tl.forward(), truth[501])


def test_memory_stays_bounded_over_100k_steps():
    values = SCENE.resolve()
    tl = Timeline(NoisyDecay(values, 3), values, capacity=64, recent=16)
    worst = 0
    for _ in range(100_000):
        tl.forward()
        worst = max(worst, tl.kept_count)
    assert tl.head == 100_000 and worst <= 64
    assert tl.frame_at(0).step == 0 and tl.frame_at(99_999).step == 99_999


def test_live_change_at_an_earlier_cursor_truncates_history():
    tl = timeline()
    for _ in range(20):
        tl.forward()
    tl.seek(10)
    tl.set_live_params(SCENE.resolve({"rate": 0.5}))
    assert tl.head == 10 and tl.at_head
    with pytest.raises(IndexError):
        tl.frame_at(11)
    new = tl.forward()
    # Independent truth: 10 steps at rate 0.1, then rate 0.5.
    sim = NoisyDecay(SCENE.resolve(), 7)
    for _ in range(10):
        sim.step()
    sim.set_params(SCENE.resolve({"rate": 0.5}))
    assert same_data(new, sim.step())
    assert tl.params_at(10)["rate"] == 0.5 and tl.params_at(9)["rate"] == 0.1


def test_live_change_is_replayed_after_thinning():
    tl = timeline(capacity=64, recent=16)
    for _ in range(50):
        tl.forward()
    tl.set_live_params(SCENE.resolve({"rate": 0.9}))
    for _ in range(250):
        tl.forward()
    sim = NoisyDecay(SCENE.resolve(), 7)
    truth = [sim.frame()] + [sim.step() for _ in range(50)]
    sim.set_params(SCENE.resolve({"rate": 0.9}))
    truth += [sim.step() for _ in range(250)]
    for k in (5, 49, 51, 77, 150):
        assert same_data(tl.frame_at(k), truth[k]), k


# -- session ------------------------------------------------------------------------------
def test_session_round_trip_with_live_change_and_coarse_step(registered, tmp_path):
    session = Session(registered, {"rate": 0.2}, seed=11)
    session.forward(5)
    session.forward(coarse=True)
    session.set_param("rate", 0.6)
    session.forward(7)
    session.set_param("trace", True)
    session.forward(3)
    assert session.step == 16
    saved = session.to_dict()
    assert saved["scene"] == "fake-decay" and saved["seed"] == 11 and saved["coarse_steps"] == [6]

    path = tmp_path / "run.json"
    session.save(path)
    for restored in (Session.from_dict(json.loads(json.dumps(saved))), Session.load(path)):
        assert restored.step == 16 and restored.params == session.params
        for k in range(17):
            assert same_data(restored.timeline.frame_at(k), session.timeline.frame_at(k)), k
        assert frame_to_jsonable(restored.frame) == frame_to_jsonable(session.frame)
        # Both continue identically.
        assert same_data(restored.forward(), session.forward())
        session.back()


def test_round_trip_saved_at_an_earlier_cursor(registered):
    session = Session(registered, seed=2)
    session.forward(10)
    session.seek(4)
    restored = Session.from_dict(session.to_dict())
    assert restored.step == 4 and same_data(restored.frame, session.frame)


def test_structural_change_resets_and_live_change_does_not(registered):
    session = Session(registered, seed=1)
    session.forward(5)
    assert session.set_param("rate", 0.3) is False and session.step == 5
    assert session.set_param("rate", 0.3) is False  # unchanged: nothing happens
    assert session.set_param("mode", "b") is True and session.step == 0
    with pytest.raises(ParamError, match="allowed"):
        session.set_param("rate", 7)


def test_run_to_stops_when_done(registered):
    session = Session(registered, {"limit": 5}, seed=1)
    session.run_to(100)
    assert session.step == 5 and session.done and session.frame.done
    assert session.run_to(2).step == 2


def test_bad_session_content_raises_param_error(registered, tmp_path):
    with pytest.raises(ParamError, match="not an ML Explorer session"):
        Session.from_dict({"scene": "fake-decay"})
    good = Session(registered).to_dict()
    with pytest.raises(ParamError, match="unknown scene 'nope'; allowed: fake-decay"):
        Session.from_dict({**good, "scene": "nope"})
    with pytest.raises(ParamError, match="allowed: a number from 0 to 1"):
        Session.from_dict({**good, "params": {"rate": 3}, "param_log": [[0, {"rate": 3}]]})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ParamError, match=r"^session: not valid JSON: Expecting property name .* at line 1, column 2$"):
        Session.load(broken)


def test_frame_to_jsonable_turns_non_finite_into_null():
    frame = Frame(0, {"a": np.array([1.0, np.nan, np.inf]), "b": np.float64("nan"), "c": np.int64(3),
                      "d": np.array([[1, 2]]), "e": "ok"})
    assert frame_to_jsonable(frame) == {"a": [1.0, None, None], "b": None, "c": 3, "d": [[1, 2]], "e": "ok"}
