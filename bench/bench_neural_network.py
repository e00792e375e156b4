"""One training epoch of the neural-network scene's NumPy MLP (scenes/neural_network/net.py) against scikit-learn's
``MLPClassifier.partial_fit`` (one epoch per call) on the same network, data, optimiser and batch size.

TF Playground's default: 2 features -> 4 -> 2 -> 1, tanh, 250 training points, batch 10 (25 updates per epoch);
also 6 hidden layers x 8 neurons, and a 3-class softmax net. Both sides shuffle each epoch (ours: the permutation
the scene draws, included in the time). The two alternate epoch by epoch (both see the same machine load); best
of N epochs (this 2-core machine is shared) and the median.

Run: python bench/bench_neural_network.py [repeats]
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scenes.neural_network import net  # noqa: E402

N_TRAIN = 250
BATCH = 10
LEARNING_RATE = 0.03

CASES = [  # name, hidden layers, activation, classes, solver
    ("TF default 2-4-2-1 tanh, sgd", (4, 2), "tanh", 2, "sgd"),
    ("TF default 2-4-2-1 tanh, adam", (4, 2), "tanh", 2, "adam"),
    ("6 x 8 tanh, sgd", (8,) * 6, "tanh", 2, "sgd"),
    ("6 x 8 sigmoid, sgd", (8,) * 6, "sigmoid", 2, "sgd"),
    ("6 x 8 relu, adam", (8,) * 6, "relu", 2, "adam"),
    ("2-8-8-3 relu softmax, sgd", (8, 8), "relu", 3, "sgd"),
]
SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}


def make_data(n_classes: int, seed: int = 0):
    """XOR (2 classes) or three angular sectors on [-6, 6]^2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-6, 6, (N_TRAIN, 2))
    if n_classes == 2:
        return x, (x[:, 0] * x[:, 1] >= 0).astype(int)
    return x, (np.floor((np.arctan2(x[:, 1], x[:, 0]) + np.pi) / (2 * np.pi / 3)).astype(int) % 3)


def make_ours(hidden, activation, n_classes, solver):
    x, y = make_data(n_classes)
    k = 1 if n_classes == 2 else n_classes
    output = "sigmoid" if k == 1 else "softmax"
    target = y.reshape(-1, 1).astype(float) if k == 1 else np.eye(k)[y]
    weights, biases = net.init_params([2, *hidden, k], "xavier", np.random.default_rng(1))
    optimizer = net.Optimizer("sgd" if solver == "sgd" else "adam",
                              [w.shape for w in weights] + [b.shape for b in biases])
    epoch = 0

    def one_epoch():
        nonlocal epoch
        order = np.random.default_rng([0, epoch]).permutation(N_TRAIN)  # the scene's shuffle, timed too
        net.train_epoch(weights, biases, optimizer, x, target, order, BATCH, LEARNING_RATE, activation, output,
                        "cross_entropy", "none", 0.0, 0.0, None)
        epoch += 1

    return one_epoch


def make_sklearn(hidden, activation, n_classes, solver):
    x, y = make_data(n_classes)
    model = MLPClassifier(hidden_layer_sizes=hidden, activation=SKLEARN_ACTIVATION[activation], solver=solver,
                          momentum=0.0, nesterovs_momentum=False, alpha=0.0, batch_size=BATCH,
                          learning_rate_init=LEARNING_RATE, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(x, y, classes=np.arange(n_classes))  # first call: initialisation, not timed

    def one_epoch():
        model.partial_fit(x, y)

    return one_epoch


def timed(function) -> float:
    t0 = time.perf_counter()
    function()
    return time.perf_counter() - t0


def main(repeats: int = 200) -> None:
    print(f"one epoch: {N_TRAIN} training points, batch {BATCH} ({N_TRAIN // BATCH} updates), float64; "
          f"best of {repeats} epochs (median in brackets), ms")
    header = f"{'network':34s} {'ours':>16s} {'sklearn partial_fit':>22s} {'ours / sklearn':>15s}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, hidden, activation, n_classes, solver in CASES:
        ours_epoch = make_ours(hidden, activation, n_classes, solver)
        sklearn_epoch = make_sklearn(hidden, activation, n_classes, solver)
        ours, theirs = [], []
        for _ in range(repeats):  # interleaved, so both see the same machine load
            ours.append(timed(ours_epoch))
            theirs.append(timed(sklearn_epoch))
        ratio = min(ours) / min(theirs)
        worst = max(worst, ratio)
        print(f"{name:34s} {min(ours) * 1e3:7.3f} ({statistics.median(ours) * 1e3:6.3f}) "
              f"{min(theirs) * 1e3:12.3f} ({statistics.median(theirs) * 1e3:6.3f}) {ratio:15.3f}")
    print(f"worst ratio {worst:.3f} (must be < 1)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
