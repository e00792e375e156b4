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
