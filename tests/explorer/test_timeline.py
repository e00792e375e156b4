"""Timeline seek cost: after 100,000 steps any seek replays a bounded number of steps (a count,
not a time) and returns exactly the frame a straight run computed; memory stays within capacity."""
from __future__ import annotations

import random

import numpy as np
import pytest

from explorer import scene as registry
from explorer.session import Session
from explorer.timeline import Timeline
from tests.explorer.test_session import SCENE, NoisyDecay, same_data

STEPS = 100_000
CAPACITY, RECENT = 4096, 1024
#: Checkpoints are every 2^k-th step with 2^k the smallest power of two that fits the older
#: history into capacity - recent // 4 - 1 slots: 32 for 100,000 steps, so a seek replays <= 31.
BOUND = 31


def seek_targets(head: int, recent: int, seed: int = 0) -> list[int]:
    """Random steps plus the edges: start, middle, both sides of the recent window, the end."""
    rng = random.Random(seed)
    edges = [0, 1, 2, head // 2, head // 2 + 1, head - recent - 1, head - recent, head - recent + 1,
             head - 1, head, 64 * 700 - 1, 64 * 700 + 1, 4097, 50_001, 74_606,
             # After 100,000 steps the dense window has given way to 1,002 steps for checkpoints.
             head - 1003, head - 1002, head - 1001]
    return sorted({k for k in edges if 0 <= k <= head} | {rng.randrange(head + 1) for _ in range(300)})


def run_recording(tl: Timeline, forward, steps: int, targets: set[int]) -> dict:
    """Step ``steps`` times through ``forward``; keep the straight run's frames at ``targets``."""
    truth = {tl.head: tl.current} if tl.head in targets else {}
    worst_kept = tl.kept_count
    for _ in range(steps):
        frame = forward()
        worst_kept = max(worst_kept, tl.kept_count)
        if frame.step in targets:
            truth[frame.step] = frame
    truth["worst_kept"] = worst_kept
    return truth


def assert_bounded_seeks(tl: Timeline, truth: dict, targets: list[int], bound: int) -> None:
    rng = random.Random(1)
    order = list(targets)
    rng.shuffle(order)  # jump around, as a scrub slider does
    for k in order:
        before = tl.replayed_steps
        frame = tl.seek(k)
        assert tl.replayed_steps - before <= bound, (k, tl.replayed_steps - before)
        assert same_data(frame, truth[k]), k
    assert tl.max_replay <= bound


def test_every_seek_after_100k_steps_replays_at_most_31_steps():
    values = SCENE.resolve()
    tl = Timeline(NoisyDecay(values, 5), values, capacity=CAPACITY, recent=RECENT)
    targets = seek_targets(STEPS, RECENT)
    coarse_every = 997

    def forward():
        # Live changes and coarse steps along the way: replay must reproduce both.
        if tl.head in (20_000, 61_234):
            tl.set_live_params(SCENE.resolve({"rate": 0.3 if tl.head == 20_000 else 0.05}))
        return tl.forward(coarse=tl.head % coarse_every == 0)

    truth = run_recording(tl, forward, STEPS, set(targets))
    assert tl.head == STEPS and truth.pop("worst_kept") <= CAPACITY
    assert tl.params_at(30_000)["rate"] == 0.3 and len(tl.coarse_steps) == (STEPS - 1) // coarse_every + 1
    assert tl.window == 1002 and tl.spacing == 32
    assert_bounded_seeks(tl, truth, targets, BOUND)
    # After the seeks the simulation still continues the true run from the head.
    sim = NoisyDecay(values, 5)
    for k in range(STEPS):
        if k == 20_000:
            sim.set_params(SCENE.resolve({"rate": 0.3}))
        if k == 61_234:
            sim.set_params(SCENE.resolve({"rate": 0.05}))
        expected = sim.step(coarse=k % coarse_every == 0)
    assert same_data(expected, truth[STEPS])
    tl.seek(tl.head)
    assert same_data(tl.forward(), sim.step())


def test_branch_in_the_thinned_history_keeps_the_bound():
    values = SCENE.resolve()
    tl = Timeline(NoisyDecay(values, 9), values, capacity=CAPACITY, recent=RECENT)
    targets = seek_targets(STEPS, RECENT, seed=3)
    truth = run_recording(tl, tl.forward, STEPS, {k for k in targets if k <= 50_001})
    tl.seek(50_001)
    tl.set_live_params(SCENE.resolve({"rate": 0.7}))  # truncates after 50,001
    assert tl.head == 50_001
    later = run_recording(tl, tl.forward, STEPS - 50_001, {k for k in targets if k > 50_001})
    assert max(truth.pop("worst_kept"), later.pop("worst_kept")) <= CAPACITY
    truth.update(later)
    # Independent truth: 50,001 steps at rate 0.1, then rate 0.7.
    sim = NoisyDecay(values, 9)
    straight = {0: sim.frame()}
    for k in range(1, STEPS + 1):
        if k == 50_002:
            sim.set_params(SCENE.resolve({"rate": 0.7}))
        frame = sim.step()
        if k in truth:
            straight[k] = frame
    for k, frame in truth.items():
        assert same_data(frame, straight[k]), k
    assert_bounded_seeks(tl, truth, targets, BOUND)


def test_stepping_back_through_thinned_history_replays_each_step_once():
    values = SCENE.resolve()
    tl = Timeline(NoisyDecay(values, 2), values, capacity=CAPACITY, recent=RECENT)
    for _ in range(STEPS):
        tl.forward()
    tl.seek(40_000)
    before = tl.replayed_steps
    for _ in range(500):
        tl.back()
    assert tl.cursor == 39_500
    # Each gap between checkpoints is replayed once on the way back, not once per step.
    assert tl.replayed_steps - before <= 500 + tl.spacing
    sim = NoisyDecay(values, 2)
    for _ in range(39_500):
        sim.step()
    assert same_data(tl.current, sim.frame())


# Real scenes that can run 100,000 steps (decision boundaries stops after its last stage, a few
# hundred at most, all of which are kept).
LONG_RUNS = {
    "gradient-descent": {"surface": "rosenbrock", "use_momentum": False, "use_adam": False,
                         "learning_rate": 1e-4, "max_steps": STEPS},
    "learning-rate-batch": {"model": "linear", "compare": "learning_rate", "runs": 1, "batch_size": 1,
                            "n_samples": 200, "epochs": 500},
}


@pytest.mark.slow
@pytest.mark.parametrize("scene_id", sorted(LONG_RUNS))
def test_real_scene_seeks_after_100k_steps_are_bounded_and_exact(scene_id):
    scene = registry.get(scene_id)
    session = Session(scene, scene.resolve(LONG_RUNS[scene_id]), seed=4)
    tl = session.timeline
    targets = seek_targets(STEPS, tl.recent, seed=7)[::3] + [STEPS // 2 + 17, tl.recent + 1]
    truth = run_recording(tl, tl.forward, STEPS, set(targets))
    assert tl.head == STEPS and truth.pop("worst_kept") <= tl.capacity
    assert_bounded_seeks(tl, truth, sorted(set(targets)), BOUND)
    # The frame's arrays are the straight run's, value for value (not only the step number).
    middle = tl.seek(STEPS // 2 + 17)
    assert all(np.array_equal(middle.data[key], truth[STEPS // 2 + 17].data[key]) for key in middle.data)


# -- small timelines: the documented layout, replay costs and edits, pinned value by value ------
# (added after a mutmut run on explorer/timeline.py: correctness alone does not pin which frames
# are kept, what a seek costs or what the logs hold, so planted bugs there went unnoticed.)
def small_timeline(capacity: int, recent: int, cache: int = 64, start: int = 0, seed: int = 11):
    values = SCENE.resolve()
    sim = NoisyDecay(values, seed)
    sim.k = start  # a history that does not begin at step 0 (e.g. a restored run)
    return Timeline(sim, values, capacity=capacity, recent=recent, cache=cache), values


def straight_run(values, seed, start, steps, live=None, coarse=()):
    """Frames start..start+steps of a plain run: ``live`` = {step k: params for the steps after k}."""
    sim = NoisyDecay(values, seed)
    sim.k = start
    frames = {start: sim.frame()}
    for k in range(start, start + steps):
        if live and k in live:
            sim.set_params(live[k])
        frame = sim.step(coarse=k + 1 in coarse)
        frames[frame.step] = frame
    return frames


def expected_layout(start, head, spacing, window):
    """The kept steps the module docstring describes: checkpoints every ``spacing``-th step from the
    start older than the dense window, plus the newest ``window`` steps."""
    grid = {k for k in range(start, head - window + 1) if (k - start) % spacing == 0}
    return grid | set(range(max(start, head - window + 1), head + 1))


# min_window = max(2, recent // 4) = 2, 2 and 3; capacity - min_window odd in the last two (then
# the step at the thinning limit is not always on the new grid).
@pytest.mark.parametrize("capacity, recent, start", [(12, 4, 0), (12, 4, 5), (13, 4, 0), (20, 12, 3)])
def test_small_timeline_keeps_the_documented_layout_after_every_step(capacity, recent, start):
    tl, values = small_timeline(capacity, recent, start=start)
    least = max(2, recent // 4)
    assert (tl.start, tl.spacing, tl.window, tl.kept_count, tl.last_replay) == (start, 1, 1, 1, 0)
    fast = SCENE.resolve({"rate": 0.6})
    coarse = {k for k in range(start + 1, start + 301) if (k - start) % 7 == 0}
    worst, grown, windows, spacings = 0, 0, set(), []
    for _ in range(300):
        if tl.head == start + 100:
            tl.set_live_params(fast)
        tl.forward(coarse=tl.head + 1 in coarse)
        head = tl.head
        worst = max(worst, tl.kept_count)
        grown = max(grown, tl.window)
        if tl.spacing > 1:
            windows.add(tl.window)
        spacings.append(tl.spacing)
        assert set(tl._kept) == expected_layout(start, head, tl.spacing, tl.window), head
        assert tl._keys == sorted(tl._kept)
        assert least <= tl.window <= recent or head - start + 1 == tl.window
        s = tl.spacing
        assert s & (s - 1) == 0, s  # a power of two
        if s > 1:
            # Minimal: with half the spacing the checkpoints plus the smallest window do not fit.
            half_grid = (head - least - start) // (s // 2) + 1
            assert half_grid + least > capacity, (head, s)
        assert tl.max_replay == max(b - a for a, b in zip(tl._keys, tl._keys[1:])) - 1
    assert worst == capacity  # the capacity is used, not only respected
    assert min(windows) == least and max(windows) <= grown == recent
    # The smallest power of two whose checkpoints below the smallest window fit with it.
    fits = [2**i for i in range(12) if (300 - least) // 2**i + 1 + least <= capacity]
    assert spacings == sorted(spacings) and tl.spacing == fits[0]
    assert tl.coarse_steps == coarse
    assert tl.params_at(start + 99)["rate"] == 0.1 and tl.params_at(start + 100)["rate"] == 0.6
    # Every frame, rebuilt from the thinned history, is the straight run's, coarse steps and the live
    # change included; each rebuild replays exactly the distance from the nearest earlier kept or
    # cached frame, and the counter adds them up.
    truth = straight_run(values, 11, start, 300, live={start + 100: fast}, coarse=coarse)
    for k in sorted(truth, reverse=True)[::3] + sorted(truth)[::5]:
        known = [j for j in set(tl._kept) | set(tl._cache) if j <= k]
        before = tl.replayed_steps
        frame = tl.frame_at(k)
        assert same_data(frame, truth[k]) and frame.state[1] == truth[k].state[1], k
        assert tl.last_replay == k - max(known), k
        assert tl.replayed_steps - before == tl.last_replay
    tl.seek(tl.head)
    assert same_data(tl.forward(), straight_run(values, 11, start, 301, live={start + 100: fast},
                                                coarse=coarse)[start + 301])


def test_recent_must_be_at_least_2_and_below_the_capacity():
    tl, values = small_timeline(capacity=3, recent=2)
    for _ in range(40):
        tl.forward()
    # Only the start fits besides the window of 2: the spacing passed the history (38 // 64 == 0).
    assert tl.kept_count == 3 and tl.window == 2 and tl.spacing == 64
    truth = straight_run(values, 11, 0, 40)
    assert all(same_data(tl.frame_at(k), truth[k]) for k in range(41))
    for capacity, recent in ((3, 1), (4, 4)):
        with pytest.raises(AssertionError):
            small_timeline(capacity, recent)


def test_replayed_frames_are_cached_newest_first_up_to_the_cache_size():
    tl, values = small_timeline(capacity=12, recent=4, cache=3)
    for _ in range(200):
        tl.forward()
    assert tl.spacing >= 16
    target = 3 * tl.spacing - 1  # the last step of a gap, far from the head
    assert target not in tl._kept and target - 3 not in tl._kept
    tl.seek(target)
    assert tl.last_replay == tl.spacing - 1 and tl.replayed_steps == tl.spacing - 1
    truth = straight_run(values, 11, 0, 200)
    # The three newest replayed frames are cached: stepping back through them replays nothing.
    for k in (target - 1, target - 2):
        assert same_data(tl.back(), truth[k]) and tl.last_replay == 0, k
    assert same_data(tl.frame_at(target), truth[target]) and tl.last_replay == 0
    # The fourth newest was evicted (oldest first): it is rebuilt from the checkpoint.
    assert same_data(tl.seek(target - 3), truth[target - 3])
    assert tl.last_replay == tl.spacing - 4
    assert len(tl._cache) == 3


def test_frame_at_names_the_history_it_is_outside_of():
    tl, _ = small_timeline(capacity=12, recent=4, start=5)
    for _ in range(10):
        tl.forward()
    for step in (4, 16):
        with pytest.raises(IndexError, match=r"^step %d is outside the history 5\.\.15$" % step):
            tl.frame_at(step)


def test_live_changes_at_one_step_leave_one_log_entry_with_the_last_values():
    tl, values = small_timeline(capacity=12, recent=4)
    first, second, third = (SCENE.resolve({"rate": r}) for r in (0.3, 0.5, 0.7))
    tl.set_live_params(first)  # at step 0: replaces the initial entry
    assert tl.param_log == [(0, first)]
    for _ in range(10):
        tl.forward()
    tl.set_live_params(second)
    tl.set_live_params(third)
    assert tl.param_log == [(0, first), (10, third)]
    assert tl.head == 10 and tl.kept_count == 11  # at the head nothing is truncated
    frames = straight_run(values, 11, 0, 20, live={0: first, 10: third})
    for _ in range(10):
        tl.forward()
    assert same_data(tl.current, frames[20])


@pytest.mark.parametrize("cut", [37, 48])  # an off-grid step and a checkpoint (spacing 16 there)
def test_branch_in_thinned_history_rebuilds_every_earlier_frame_and_drops_later_logs(cut):
    tl, values = small_timeline(capacity=12, recent=4, cache=4)
    slow, fast, branch = (SCENE.resolve({"rate": r}) for r in (0.1, 0.6, 0.9))
    coarse = {k for k in range(1, 121) if k % 3 == 0}
    for _ in range(120):
        if tl.head in (cut - 1, cut, 80):
            # A live change at the step before the cut, at the cut itself, and a later one.
            tl.set_live_params(fast if tl.head < 80 else slow)
        tl.forward(coarse=tl.head + 1 in coarse)
    tl.seek(cut - 2)
    tl.seek(cut)  # the frames up to cut - 2 are now cached
    tl.truncate()
    # Truncating keeps the live change logged at the cut itself (it applies to the steps after it).
    assert [k for k, _ in tl.param_log] == [0, cut - 1, cut] and tl.params_at(cut) == fast
    early = straight_run(values, 11, 0, cut, live={cut - 1: fast}, coarse=coarse)
    assert same_data(tl.frame_at(cut), early[cut]) and tl.at_head
    assert same_data(tl.seek(cut - 3), early[cut - 3]) and same_data(tl.seek(cut), early[cut])
    tl.set_live_params(branch)
    assert tl.spacing == 16 and tl.head == cut and tl.cursor == cut and cut in tl._kept
    assert [k for k, _ in tl.param_log] == [0, cut - 1, cut]
    assert tl.param_log[-1][1] == branch and tl.params_at(cut - 1) == fast
    assert tl.coarse_steps == {k for k in coarse if k <= cut}
    assert all(k <= cut for k in tl._cache) and cut - 2 in tl._cache
    for _ in range(30):
        tl.forward(coarse=tl.head % 4 == 0)
    live = {cut - 1: fast, cut: branch}
    more = coarse | {k for k in range(cut + 1, cut + 31) if (k - 1) % 4 == 0}
    truth = straight_run(values, 11, 0, cut + 30, live=live,
                         coarse={k for k in more if k <= cut or (k - 1) % 4 == 0})
    for k in range(cut + 30, -1, -1):
        assert same_data(tl.frame_at(k), truth[k]), k
    assert tl.kept_count <= 12
