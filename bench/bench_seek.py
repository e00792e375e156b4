"""Seek time in a long run: after 100,000 steps (or the scene's whole run, if it ends sooner) the
timeline keeps at most 4,096 frames, and any other frame is rebuilt by replaying from the nearest
checkpoint. Prints, per scene, the median and worst time of random seeks (the replay cache is
emptied before each, so every seek pays its full replay) and the most steps one seek replayed.
Target: < 100 ms per seek.

Run: python bench/bench_seek.py [--seeks N]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

from explorer import scene as registry
from explorer.session import Session

STEPS = 100_000
LONG_RUNS = {
    "gradient-descent": {"surface": "rosenbrock", "use_momentum": False, "use_adam": False,
                         "learning_rate": 1e-4, "max_steps": STEPS},
    "learning-rate-batch": {"model": "linear", "compare": "learning_rate", "runs": 1, "batch_size": 1,
                            "n_samples": 200, "epochs": 500},
    # Its run ends after the last boosting stage (at most 200): every frame is kept.
    "decision-boundaries": {"classifier": "gradient_boosting", "gb_n_estimators": 200},
}


def measure(scene_id: str, seeks: int) -> tuple[int, float, float, float, int, int]:
    scene = registry.get(scene_id)
    session = Session(scene, scene.resolve(LONG_RUNS.get(scene_id, {})), seed=0)
    started = time.perf_counter()
    session.forward(STEPS)
    run_s = time.perf_counter() - started
    tl = session.timeline
    rng = random.Random(0)
    times, replayed = [], []
    for _ in range(seeks):
        target = rng.randrange(tl.start, tl.head + 1)
        tl._cache.clear()  # worst case: nothing replayed before is reused
        before = tl.replayed_steps
        started = time.perf_counter()
        tl.seek(target)
        times.append(1000 * (time.perf_counter() - started))
        replayed.append(tl.replayed_steps - before)
    return tl.head, run_s, statistics.median(times), max(times), max(replayed), tl.kept_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeks", type=int, default=200)
    args = parser.parse_args()
    print(f"| scene | steps | run (s) | seek median (ms) | seek worst (ms) | most steps replayed | frames kept |")
    print("|---|---|---|---|---|---|---|")
    for scene in registry.scenes():
        head, run_s, median, worst, most, kept = measure(scene.id, args.seeks)
        print(f"| {scene.id} | {head:,} | {run_s:.1f} | {median:.2f} | {worst:.2f} | {most} | {kept:,} |")


if __name__ == "__main__":
    main()
