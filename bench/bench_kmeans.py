"""One K-Means half-step on 10,000 points, k = 8, against one scikit-learn Lloyd iteration.

The scene's step (assign: GEMM-form distances and argmin; update: np.bincount means; each with its
Frame, as the window gets it) against ``KMeans(init=centroids, n_init=1, max_iter=1,
algorithm="lloyd").fit`` on the same points from the same centroids (one assign + update and
scikit-learn's final relabel). Median of many repeats, both in the same run; the issue asks for
at least 3x (judged against scikit-learn's faster thread setting). Also a whole iteration (step(coarse=True)),
the frame alone, and the mini-batch and Gaussian-mixture half-steps (for the frame budget, not the issue's ratio). Prints a table.

    python bench/bench_kmeans.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from scenes.kmeans import SCENE  # noqa: E402
from scenes.kmeans.sim import Simulation  # noqa: E402

N = 10_000
K = 8
REPEATS = 200


def median_ms(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    from sklearn.cluster import KMeans
    params = SCENE.resolve({"dataset": "blobs", "n_samples": N, "true_clusters": K, "k": K, "init": "random_points"})
    sim = Simulation(params, 0)
    start = sim.frame()
    x, centroids = start.data["points"], np.array(start.data["centroids"])
    assert x.shape == (N, 2) and centroids.shape == (K, 2)
    sim.step()
    after_assign = sim.frame()

    def assign():
        sim.restore(start)
        sim.step()

    def update():
        sim.restore(after_assign)
        sim.step()

    def iteration():
        sim.restore(start)
        sim.step(coarse=True)

    def sklearn_iteration():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter=1 is the point
            KMeans(K, init=centroids, n_init=1, max_iter=1, algorithm="lloyd").fit(x)

    # Warm up both (imports, thread pools).
    for function in (assign, update, iteration, sklearn_iteration):
        function()
    ours = {"assign half-step": median_ms(assign), "update half-step": median_ms(update),
            "whole iteration (coarse step)": median_ms(iteration), "frame() alone": median_ms(sim.frame)}
    others = {}
    for algorithm, first, second in (("minibatch", "assign", "update"), ("gmm", "E-step", "M-step")):
        other = Simulation({**params, "algorithm": algorithm}, 0)
        begin = other.frame()
        other.step()
        half = other.frame()

        def one(frame=begin, sim=other):
            sim.restore(frame)
            sim.step()

        def two(frame=half, sim=other):
            sim.restore(frame)
            sim.step()
        one(), two()
        others[f"{algorithm} {first}"] = median_ms(one, REPEATS // 4)
        others[f"{algorithm} {second}"] = median_ms(two, REPEATS // 4)
    peer = median_ms(sklearn_iteration)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):  # its OpenMP threads fight other processes on a busy 2-core machine
        peer_one_thread = median_ms(sklearn_iteration)
    print(f"K-Means, {N:,} points, k = {K}; median of {REPEATS} runs")
    print(f"{'what':34s} {'ms':>8s} {'sklearn / ours':>15s}")
    print(f"{'sklearn KMeans(max_iter=1).fit':34s} {peer:8.3f} {'1.0':>15s}")
    print(f"{'  the same, 1 OpenMP thread':34s} {peer_one_thread:8.3f} {peer / peer_one_thread:15.1f}")
    for name, ms in ours.items():
        print(f"{name:34s} {ms:8.3f} {peer / ms:15.1f}")
    for name, ms in others.items():
        print(f"{name:34s} {ms:8.3f} {peer / ms:15.1f}")
    slowest = max(ours["assign half-step"], ours["update half-step"])
    fastest_peer = min(peer, peer_one_thread)
    verdict = "PASS" if fastest_peer / slowest >= 3 else "FAIL"
    print(f"slowest half-step is {fastest_peer / slowest:.1f}x faster than one scikit-learn iteration "
          f"(its faster setting; issue 9 asks >= 3x): {verdict}")


if __name__ == "__main__":
    main()
