"""Mini-batch SGD on a model whose parameters form a plane (or a line), several runs side by side.

Pure NumPy (no Qt). Each run has its own batch size and learning rate; ``step()`` does one
mini-batch update for every run, ``step(coarse=True)`` finishes every run's current epoch.

Randomness: the data set comes from the ``data_seed`` parameter (so the view's ``prepare`` can
rebuild it without the session seed); the sample order of epoch ``e`` (0-based) is
``numpy.random.default_rng([seed, e]).permutation(n)`` for every run (common random numbers: runs
differ only in batch size or learning rate), or ``arange(n)`` with shuffling off and for a full
batch (whose gradient does not depend on the order); batch ``k`` of an
epoch is the samples ``order[k*B:(k+1)*B]``. So (seed, epoch, position) in the frame state fully fix
the random stream and ``restore(frame)`` + ``step()`` reproduces a run exactly.

Divergence: a run stops as diverged when its full-data loss rises above
``DIVERGENCE_FACTOR * max(start loss, 1)`` (that update is kept and drawn), or when an update would
make a parameter non-finite or larger than ``PARAM_LIMIT`` in size (that update is not applied).
The learning-rate range test (frame data ``range_test_*``) uses the same criterion, the same
batches and the run's length (capped), so "diverges from lr" there agrees with a constant-rate run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from explorer.scene import Frame

MODELS = ("linear", "logistic", "double_well")
COMPARE = ("batch_size", "learning_rate")
SCHEDULES = ("constant", "step", "exponential", "cosine")
MAX_RUNS = 4
#: A run has diverged once its full-data loss exceeds this factor times max(start loss, 1).
DIVERGENCE_FACTOR = 1e3
#: An update that would make a parameter larger than this (or non-finite) is not applied: diverged.
PARAM_LIMIT = 1e6
#: Tiny ridge on w keeps the logistic minimum finite when the classes happen to separate. It is part
#: of the loss (stated in the panel): loss = mean(softplus(z) - y z) + LOGISTIC_L2 / 2 * w^2.
LOGISTIC_L2 = 1e-3
#: Learning rates of the range test (log spaced, 1e-5 .. 10).
RANGE_RATES = np.logspace(-5, 1, 61)
#: The range test runs each rate for min(run length, this many) updates ...
RANGE_TEST_MAX_UPDATES = 1000
#: ... and logistic batches (whose gradient costs rates x batch per update) within this many
#: sample-gradients in total (about 0.1 s), but at least RANGE_TEST_MIN_UPDATES updates.
RANGE_TEST_LOGISTIC_BUDGET = 6_000_000
RANGE_TEST_MIN_UPDATES = 20
#: Double well: this many extra seeds per run train alongside it (vectorised); the bar chart shows
#: the share of them in the deep basin. Fewer seeds for big data sets, so that one epoch's sample
#: orders (seeds x n) stay within BASIN_BUDGET numbers.
BASIN_SEEDS = 200
BASIN_BUDGET = 100_000
BASIN_MIN_SEEDS = 20
#: Tilt of the double well: u^4/4 - u^2/2 - c*u has a shallow minimum left, a deep one right.
DOUBLE_WELL_TILT = 0.2
#: About this many trajectory points are kept per run over a whole run (thinned evenly).
TRAJECTORY_POINTS = 3000
#: Logistic batches up to this size are computed with plain floats (faster than NumPy calls).
SCALAR_BATCH = 16

# True parameters of the generated data.
LINEAR_TRUE = (1.5, -0.5)
LINEAR_X = (0.5, 1.2)  # mean, sd: an off-centre x couples w and b (tilted, elongated contours)


# -- schedules ---------------------------------------------------------------------------------
def lr_factor(epoch: int, schedule: str, warmup: int = 0, decay: float = 0.5, step_every: int = 10,
              epochs: int = 50) -> float:
    """Multiplier of the base learning rate during (0-based) ``epoch``.

    Warm-up: (epoch + 1) / (warmup + 1) for the first ``warmup`` epochs; then, with
    e = epoch - warmup: constant 1; step decay**(e // step_every); exponential decay**e;
    cosine 0.5 * (1 + cos(pi * min(e, T) / T)) with T = max(1, epochs - warmup).
    """
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    e = epoch - warmup
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return float(decay ** (e // max(1, step_every)))
    if schedule == "exponential":
        return float(decay ** e)
    if schedule == "cosine":
        span = max(1, epochs - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(e, span) / span))
    raise ValueError(f"unknown schedule {schedule!r}")


# -- data and models ---------------------------------------------------------------------------
def make_data(model: str, n: int, noise: float, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The generated data set (x, y); for the double well x holds each sample's tilt, y is zeros."""
    rng = np.random.default_rng([int(data_seed) % 2**63, MODELS.index(model)])
    if model == "linear":
        x = rng.normal(LINEAR_X[0], LINEAR_X[1], n)
        y = LINEAR_TRUE[0] * x + LINEAR_TRUE[1] + noise * rng.normal(size=n)
    elif model == "logistic":
        y = rng.permutation(np.arange(n) % 2).astype(float)
        x = np.where(y > 0, 1.0, -1.0) + (0.3 + noise) * rng.normal(size=n)
    elif model == "double_well":
        x = 2.0 * noise * rng.normal(size=n)
        x -= x.mean()  # tilts average to exactly zero: the full-data loss is the plain double well
        y = np.zeros(n)
    else:
        raise ValueError(f"unknown model {model!r}")
    return x, y


#: Elements per block of the logistic loss (a block of rows stays in the cache).
_LOSS_BLOCK = 1 << 16


def _mean_abs_softplus(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per row i: mean over samples of |z| / 2 + log(1 + exp(-|z|)), z = w[i] * x + b[i].

    With softplus(z) = max(z, 0) + log(1 + exp(-|z|)) and max(z, 0) = (z + |z|) / 2 this is
    mean(softplus(z)) - mean(z) / 2. exp + log of a number in (1, 2] costs half of
    np.logaddexp; its absolute error (< 2.3e-16 per sample) is far below any displayed digit.
    """
    out = np.empty(len(w))
    rows = max(1, _LOSS_BLOCK // max(1, len(x)))
    with np.errstate(all="ignore"):
        for i in range(0, len(w), rows):
            t = np.multiply.outer(w[i:i + rows], x)
            t += b[i:i + rows, None]
            np.abs(t, out=t)
            half_abs = 0.5 * t.sum(axis=1)
            np.negative(t, out=t)
            np.exp(t, out=t)
            t += 1.0
            np.log(t, out=t)
            out[i:i + rows] = (half_abs + t.sum(axis=1)) / len(x)
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


_DW_ROOTS = np.sort(np.roots([1.0, 0.0, -1.0, -DOUBLE_WELL_TILT]).real)
_DW_OFFSET = float(_DW_ROOTS[2] ** 4 / 4 - _DW_ROOTS[2] ** 2 / 2 - DOUBLE_WELL_TILT * _DW_ROOTS[2])


def double_well(u: np.ndarray | float) -> np.ndarray | float:
    """The full-data double-well loss, shifted so the deep minimum is exactly 0."""
    return u * u * u * u / 4 - u * u / 2 - DOUBLE_WELL_TILT * u - _DW_OFFSET


#: (shallow minimum, barrier top, deep minimum) of the double well.
DOUBLE_WELL_POINTS = tuple(float(r) for r in _DW_ROOTS)


@dataclass
class Model:
    """Full-data and mini-batch loss/gradients of one model on one data set.

    Parameters are arrays of shape (..., P) with P = 2 (w, b) or 1 (the double well's u).
    """

    kind: str
    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        self.n = len(self.x)
        self.dim = 1 if self.kind == "double_well" else 2
        if self.kind == "linear":
            design = np.column_stack([self.x, np.ones(self.n)])
            self.optimum = np.linalg.lstsq(design, self.y, rcond=None)[0]
            residual = design @ self.optimum - self.y
            self.min_loss = float(0.5 * np.mean(residual ** 2))
            mx = float(np.mean(self.x))
            self.hessian = np.array([[float(np.mean(self.x ** 2)), mx], [mx, 1.0]])
        elif self.kind == "logistic":
            self._means = (float(np.mean(self.x)), float(np.mean(self.y)), float(np.mean(self.x * self.y)))
            self.optimum = self._newton()
            self.min_loss = float(self.loss(self.optimum))
        else:
            self.optimum = np.array([DOUBLE_WELL_POINTS[2]])
            self.min_loss = 0.0

    # full data -------------------------------------------------------------------------------
    def loss(self, theta: np.ndarray) -> np.ndarray:
        """Full-data loss, vectorised over the leading axes of ``theta``."""
        theta = np.asarray(theta, dtype=float)
        if self.kind == "linear":
            d = theta - self.optimum
            h = self.hessian
            quad = h[0, 0] * d[..., 0] ** 2 + 2 * h[0, 1] * d[..., 0] * d[..., 1] + h[1, 1] * d[..., 1] ** 2
            return self.min_loss + 0.5 * quad
        if self.kind == "logistic":
            # mean(softplus(z) - y z) with z = w x + b: the linear terms from the data's means.
            w, b = theta[..., 0], theta[..., 1]
            curved = _mean_abs_softplus(w.reshape(-1), b.reshape(-1), self.x).reshape(w.shape)
            mx, my, mxy = self._means
            return curved + (0.5 * (w * mx + b) - (w * mxy + b * my)) + 0.5 * LOGISTIC_L2 * w ** 2
        return double_well(theta[..., 0])

    def per_sample_gradients(self, theta: np.ndarray, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Gradient of each sample's loss at ``theta`` (shape (P,)): an (m, P) array."""
        x, y = self.x[index], self.y[index]
        if self.kind == "linear":
            r = theta[0] * x + theta[1] - y
            return np.column_stack([r * x, r])
        if self.kind == "logistic":
            r = _sigmoid(theta[0] * x + theta[1]) - y
            return np.column_stack([r * x + LOGISTIC_L2 * theta[0], r])
        u = theta[0]
        return (u * u * u - u - DOUBLE_WELL_TILT - x)[:, None]

    def gradient(self, theta: np.ndarray, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Mean gradient over the samples ``index`` (all of them by default)."""
        return self.per_sample_gradients(np.asarray(theta, dtype=float), index).mean(axis=0)

    def _newton(self) -> np.ndarray:
        theta = np.zeros(2)
        design = np.column_stack([self.x, np.ones(self.n)])
        ridge = np.diag([LOGISTIC_L2, 0.0])
        for _ in range(100):
            p = _sigmoid(design @ theta)
            grad = design.T @ (p - self.y) / self.n + ridge @ theta
            hess = (design * (p * (1 - p))[:, None]).T @ design / self.n + ridge + 1e-12 * np.eye(2)
            delta = np.linalg.solve(hess, grad)
            # Damped Newton: never jump further than 5 units in one go.
            scale = min(1.0, 5.0 / max(1e-300, float(np.max(np.abs(delta)))))
            theta = theta - scale * delta
            if np.max(np.abs(delta)) < 1e-12:
                break
        return theta


def _logistic_batch_gradient(w: float, b: float, xs: Any, ys: Any, lo: int, hi: int) -> tuple[float, float]:
    """Mean logistic gradient over samples lo..hi-1 (plain floats for lists, NumPy for arrays)."""
    if type(xs) is list:  # small batch: plain floats beat NumPy's per-call cost
        gw = gb = 0.0
        for i in range(lo, hi):
            z = w * xs[i] + b
            if z >= 0:
                p = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                p = e / (1.0 + e)
            gw += (p - ys[i]) * xs[i]
            gb += p - ys[i]
    else:
        with np.errstate(all="ignore"):
            resid = _sigmoid(w * xs[lo:hi] + b) - ys[lo:hi]
            gw = float(resid @ xs[lo:hi])
            gb = float(resid.sum())
    return gw / (hi - lo) + LOGISTIC_L2 * w, gb / (hi - lo)


# -- runs ----------------------------------------------------------------------------------------
def run_settings(params: Mapping[str, Any]) -> tuple[list[int], list[float]]:
    """Each run's effective batch size (clamped to n) and base learning rate."""
    count = int(params["runs"])
    n = int(params["n_samples"])
    compare = params["compare"]
    batches, rates = [], []
    for i in range(1, count + 1):
        batch = params[f"run{i}_batch_size"] if compare == "batch_size" else params["batch_size"]
        rate = params[f"run{i}_learning_rate"] if compare == "learning_rate" else params["learning_rate"]
        batches.append(max(1, min(n, int(batch))))
        rates.append(float(rate))
    return batches, rates


def run_label(compare: str, batch: int, rate: float, n: int) -> str:
    """The legend text of one run: the value being compared."""
    if compare == "batch_size":
        return f"batch {batch}" + (" (full)" if batch >= n else "")
    return f"lr {rate:g}"


def batch_order(seed: int, epoch: int, n: int, shuffle: bool) -> np.ndarray:
    """Sample order of an epoch (the same for every run): a fresh permutation per epoch, or the
    data order when shuffling is off."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([int(seed) % 2**63, int(epoch)]).permutation(n)


def loss_limit(start_loss: float) -> float:
    """The full-data loss above which a run counts as diverged."""
    return DIVERGENCE_FACTOR * max(float(start_loss), 1.0)


def basin_seed_count(n: int) -> int:
    """How many seeds the double-well basin experiment trains per run for n samples."""
    return int(max(BASIN_MIN_SEEDS, min(BASIN_SEEDS, BASIN_BUDGET // max(1, n))))


def range_test_updates(kind: str, n: int, batch: int, epochs: int, rates: int = len(RANGE_RATES)) -> int:
    """Length of each range-test run: the run's own length, capped (see RANGE_TEST_*)."""
    total = epochs * math.ceil(n / batch)
    cap = RANGE_TEST_MAX_UPDATES
    if kind == "logistic":
        cap = min(cap, max(RANGE_TEST_MIN_UPDATES, RANGE_TEST_LOGISTIC_BUDGET // (rates * batch)))
    return int(min(total, cap))


def _batch_stats(kind: str, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch: int) -> Any:
    """Per-batch means of one epoch (linear: x, y, xx, xy; double well: tilt) or the ordered data."""
    n = len(x)
    starts = np.arange(0, n, batch)
    counts = np.diff(np.append(starts, n)).astype(float)
    xo, yo = x[order], y[order]
    if kind == "linear":
        return [np.add.reduceat(v, starts) / counts for v in (xo, yo, xo * xo, xo * yo)]
    if kind == "double_well":
        return [np.add.reduceat(xo, starts) / counts]
    return xo, yo, starts, counts


def _epoch_stats(kind: str, n: int, x: np.ndarray, y: np.ndarray, seed: int, epoch: int, batch: int,
                 cache: dict | None) -> Any:
    """_batch_stats of an epoch's order (a full batch in data order), memoised in ``cache``."""
    if cache is not None and epoch in cache:
        return cache[epoch]
    stats = _batch_stats(kind, x, y, batch_order(seed, epoch, n, batch < n), batch)
    if cache is not None:
        cache[epoch] = stats
    return stats


def range_test(model: Model, start: np.ndarray, batch: int, seed: int, updates: int, limit: float,
               rates: np.ndarray = RANGE_RATES, epoch_cache: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Constant-rate SGD for each rate (vectorised over rates), over the batches the runs use
    (shuffled, the epoch orders of ``seed``), for ``updates`` updates or until it diverges by the
    runs' criterion. Returns (full-data loss where each rate stopped, diverged flags)."""
    n, kind = model.n, model.kind
    batch = max(1, min(n, batch))
    per_epoch = math.ceil(n / batch)
    lr = np.asarray(rates, dtype=float)
    w = np.full(len(lr), float(start[0]))
    b = np.full(len(lr), float(start[1]) if model.dim == 2 else 0.0)
    alive = np.ones(len(lr), dtype=bool)
    diverged = np.zeros(len(lr), dtype=bool)
    done, epoch = 0, 0
    if kind == "linear":
        (ow, ob), h = model.optimum, model.hessian
        h00, h01, h11 = float(h[0, 0]), 2.0 * float(h[0, 1]), float(h[1, 1])
        qmax = 2.0 * (limit - model.min_loss)
    xmax = float(np.max(np.abs(model.x))) if n else 0.0
    with np.errstate(all="ignore"):
        while done < updates and alive.any():
            stats = _epoch_stats(kind, n, model.x, model.y, seed, epoch if batch < n else 0, batch, epoch_cache)
            for k in range(min(per_epoch, updates - done)):
                # The same arithmetic, in the same order, as Simulation._steps (one row per rate).
                if kind == "linear":
                    mx, my, mxx, mxy = (float(v[k]) for v in stats)
                    nw = w - lr * (w * mxx + b * mx - mxy)
                    nb = b - lr * (w * mx + b - my)
                elif kind == "double_well":
                    nw = w - lr * (w * w * w - w - DOUBLE_WELL_TILT - float(stats[0][k]))
                    nb = b
                else:
                    xo, yo, starts, counts = stats
                    lo, c = int(starts[k]), int(counts[k])
                    xb, yb = xo[lo:lo + c], yo[lo:lo + c]
                    resid = _sigmoid(w[:, None] * xb + b[:, None]) - yb
                    nw = w - lr * (resid @ xb / c + LOGISTIC_L2 * w)
                    nb = b - lr * (resid.sum(axis=1) / c)
                ok = alive & (np.abs(nw) <= PARAM_LIMIT) & (np.abs(nb) <= PARAM_LIMIT)
                w = np.where(ok, nw, w)
                b = np.where(ok, nb, b)
                if kind == "linear":
                    dw, db = w - ow, b - ob
                    over = h00 * dw * dw + h01 * dw * db + h11 * db * db > qmax
                elif kind == "double_well":
                    over = w * w * w * w / 4 - w * w / 2 - DOUBLE_WELL_TILT * w - _DW_OFFSET > limit
                else:
                    over = np.abs(w) * xmax + np.abs(b) + _LOG2 + 0.5 * LOGISTIC_L2 * w * w > limit
                    check = over & ok
                    if check.any():
                        over[check] = model.loss(np.column_stack([w, b])[check]) > limit
                over &= ok
                diverged |= (alive & ~ok) | over
                alive &= ok & ~over
                done += 1
            epoch += 1
        theta = np.column_stack([w, b])[:, :model.dim]
        loss = model.loss(theta)
    return loss, diverged


def divergence_rate(model: Model, start: np.ndarray, batch: int, seed: int, updates: int, limit: float,
                    diverged: np.ndarray, rates: np.ndarray = RANGE_RATES, refine: int = 15,
                    epoch_cache: dict | None = None) -> float:
    """The smallest rate whose range-test run diverges: the first diverged grid rate, refined by
    ``refine`` log-spaced rates between it and the grid rate before it; inf if none diverged."""
    if not diverged.any():
        return math.inf
    first = int(np.argmax(diverged))
    if first == 0:
        return float(rates[0])
    between = np.geomspace(rates[first - 1], rates[first], refine + 2)[1:-1]
    _, flags = range_test(model, start, batch, seed, updates, limit, between, epoch_cache)
    return float(between[np.argmax(flags)]) if flags.any() else float(rates[first])


_LOG2 = math.log(2.0)


@lru_cache(maxsize=8)
def cached_model(kind: str, n: int, noise: float, data_seed: int) -> Model:
    """The model on its generated data set (shared; callers must not modify it)."""
    x, y = make_data(kind, n, noise, data_seed)
    return Model(kind, x, y)


@lru_cache(maxsize=64)
def _range_test_cached(kind: str, n: int, noise: float, data_seed: int, start: tuple, batch: int, seed: int,
                       updates: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(loss, diverged, divergence rate) of one range test; a rebuilt run of the same settings
    (a reloaded session, a replay, a seed or live change) reuses it."""
    model = cached_model(kind, n, noise, data_seed)
    start_array = np.array(start)
    limit = loss_limit(float(model.loss(start_array)))
    epochs: dict = {}  # the refinement trains over the same epochs: their batch statistics once
    loss, flags = range_test(model, start_array, batch, seed, updates, limit, epoch_cache=epochs)
    edge = divergence_rate(model, start_array, batch, seed, updates, limit, flags, epoch_cache=epochs)
    loss.flags.writeable = flags.flags.writeable = False
    return loss, flags, edge


class Simulation:
    """Several mini-batch SGD runs over the same data; one frame per update (or per epoch)."""

    def __init__(self, params: Mapping[str, Any], seed: int, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        self.kind = params["model"]
        self.n = int(params["n_samples"])
        x, y = make_data(self.kind, self.n, float(params["noise"]), int(params["data_seed"]))
        self.model = Model(self.kind, x, y)
        self.epochs = int(params["epochs"])
        self.batches, self.base_rates = run_settings(params)
        self.runs = len(self.batches)
        self.labels = [run_label(params["compare"], b, r, self.n) for b, r in zip(self.batches, self.base_rates)]
        self.per_epoch = [math.ceil(self.n / b) for b in self.batches]
        start = [float(params["init_w"]), float(params["init_b"])][: self.model.dim]
        self.start = np.array(start)
        self.start_loss = float(self.model.loss(self.start))
        self.loss_limit = loss_limit(self.start_loss)
        self._xmax = float(np.max(np.abs(x)))

        # Preallocated trajectory buffers; frames hold read-only views of their filled part.
        self.strides = [max(1, math.ceil(self.epochs * p / TRAJECTORY_POINTS)) for p in self.per_epoch]
        self._traj, self._rec_epoch, self._rec_loss = [], [], []
        for p, stride in zip(self.per_epoch, self.strides):
            cap = self.epochs * p // stride + self.epochs + 2
            self._traj.append(np.zeros((cap, self.model.dim)))
            self._rec_epoch.append(np.zeros(cap))
            self._rec_loss.append(np.zeros(cap))

        self._step = 0
        self.theta = [[float(v) for v in self.start] for _ in range(self.runs)]
        self.updates = [0] * self.runs
        self.epoch = [0] * self.runs
        self.pos = [0] * self.runs  # batches done in the current epoch
        self.diverged_epoch = [0] * self.runs  # 0: not diverged; else the 1-based epoch
        self.records = [0] * self.runs
        self.shuffled = [bool(params["shuffle"])] * self.runs  # shuffle flag of each run's current epoch
        self._cache: list[Any] = [None] * self.runs
        self._orders: list[Any] = [None] * self.runs
        for r in range(self.runs):
            self._record(r)

        # Constant data of the run, shared read-only by every frame (exports carry them).
        self._static = self._static_data()
        # Double well: BASIN seeds per run train alongside it (same batches sizes, rates, schedule).
        self.basin_seeds = basin_seed_count(self.n) if self.kind == "double_well" else 0
        self._basin_u = [np.full(self.basin_seeds, self.start[0]) for _ in range(self.runs)]
        self._basin_cache: list[Any] = [None] * self.runs
        self._basin_tmp = np.empty(self.basin_seeds)
        self.set_params(params)

    def _static_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.kind == "double_well":
            data["sample_tilt"] = self.model.x.copy()
        else:
            data["data_x"], data["data_y"] = self.model.x.copy(), self.model.y.copy()
        tested = sorted(set(self.batches))
        lengths = [range_test_updates(self.kind, self.n, b, self.epochs) for b in tested]
        p = self.params
        results = [_range_test_cached(self.kind, self.n, float(p["noise"]), int(p["data_seed"]),
                                      tuple(self.start.tolist()), b, self.seed, u) for b, u in zip(tested, lengths)]
        data["range_test_learning_rate"] = RANGE_RATES.copy()
        data["range_test_batch_size"] = np.array(tested, dtype=np.int64)
        data["range_test_updates"] = np.array(lengths, dtype=np.int64)
        data["range_test_loss"] = np.array([loss for loss, _, _ in results])
        data["range_test_diverged"] = np.array([flags for _, flags, _ in results])
        # The smallest rate that diverges, refined between the last grid rate that did not and the
        # first that did (inf: none up to 10 diverged).
        data["range_test_divergence_lr"] = np.array([edge for _, _, edge in results])
        data["start_loss"] = np.float64(self.start_loss)
        data["divergence_loss_limit"] = np.float64(self.loss_limit)
        for value in data.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return data

    def __setstate__(self, state: dict) -> None:
        # Unpickled arrays come back writeable: frames would copy them each step. Shared again.
        self.__dict__.update(state)
        for value in self._static.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        for order in self._orders:
            if order is not None:
                order.flags.writeable = False

    # -- the contract --------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return all(self._stopped(r) for r in range(self.runs))

    def set_params(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)
        _, self.base_rates = run_settings(params)
        self.base_rates = self.base_rates[: self.runs]

    def lr_now(self, run: int) -> float:
        p = self.params
        return self.base_rates[run] * lr_factor(min(self.epoch[run], self.epochs - 1), p["schedule"],
                                                int(p["warmup_epochs"]), float(p["decay"]),
                                                int(p["step_every"]), self.epochs)

    def step(self, coarse: bool = False) -> Frame:
        for r in range(self.runs):
            if self._stopped(r):
                continue
            count = self.per_epoch[r] - self.pos[r] if coarse else 1
            self._advance(r, count)
        self._step += 1
        return self.frame()

    def current_loss(self) -> np.ndarray:
        """Full-data loss at each run's current parameters."""
        return np.asarray(self.model.loss(np.array(self.theta, dtype=float).reshape(self.runs, self.model.dim)),
                          dtype=float).reshape(self.runs)

    def frame(self) -> Frame:
        data: dict[str, Any] = dict(self._static)
        for r in range(self.runs):
            k = self.records[r]
            for key, buffer in (("trajectory", self._traj[r]), ("epochs", self._rec_epoch[r]),
                                ("loss", self._rec_loss[r])):
                view = buffer[:k]
                view.flags.writeable = False
                data[f"run{r + 1}_{key}"] = view
            data[f"run{r + 1}_batch_order"] = self._order(r)
        data["theta"] = np.array(self.theta, dtype=float).reshape(self.runs, self.model.dim)
        data["loss"] = self.current_loss()
        data["updates"] = np.array(self.updates, dtype=np.int64)
        data["epoch"] = np.array([self.pos_epoch(r) for r in range(self.runs)])
        data["batch_size"] = np.array(self.batches, dtype=np.int64)
        data["learning_rate"] = np.array(self.base_rates, dtype=float)
        data["current_learning_rate"] = np.array([self.lr_now(r) for r in range(self.runs)])
        data["diverged"] = np.array([d > 0 for d in self.diverged_epoch])
        data["diverged_epoch"] = np.array(self.diverged_epoch, dtype=np.int64)
        if self.kind == "double_well":
            deep, lost = [], []
            for u in self._basin_u:
                fine = np.abs(u) <= PARAM_LIMIT  # NaN compares false: diverged
                deep.append(float(np.mean(fine & (u > DOUBLE_WELL_POINTS[1]))))
                lost.append(float(np.mean(~fine)))
            data["deep_basin_share"] = np.array(deep)
            data["basin_diverged_share"] = np.array(lost)
            data["basin_seeds"] = np.int64(self.basin_seeds)
        state = {
            "step": self._step, "theta": [list(t) for t in self.theta], "updates": list(self.updates),
            "epoch": list(self.epoch), "pos": list(self.pos), "diverged_epoch": list(self.diverged_epoch),
            "records": list(self.records), "shuffled": list(self.shuffled),
            "basin_u": [u.copy() for u in self._basin_u],
        }
        return Frame(self._step, data, state, self._message(data["loss"]), self.done)

    def restore(self, frame: Frame) -> None:
        s = frame.state
        self._step = s["step"]
        self.theta = [list(t) for t in s["theta"]]
        self.updates = list(s["updates"])
        self.epoch = list(s["epoch"])
        self.pos = list(s["pos"])
        self.diverged_epoch = list(s["diverged_epoch"])
        self.records = list(s["records"])
        self.shuffled = list(s["shuffled"])
        self._basin_u = [np.array(u, dtype=float) for u in s["basin_u"]]
        # The buffers below each record count were written by the same deterministic steps.
        self._cache = [None] * self.runs
        self._orders = [None] * self.runs
        self._basin_cache = [None] * self.runs

    # -- helpers -------------------------------------------------------------------------------
    def pos_epoch(self, run: int) -> float:
        """Progress of a run in epochs (fractional)."""
        return self.updates[run] / self.per_epoch[run]

    def _stopped(self, run: int) -> bool:
        return self.diverged_epoch[run] > 0 or self.epoch[run] >= self.epochs

    def _message(self, loss: np.ndarray) -> str:
        parts = [f"run {r + 1} ({self._describe(r)}) diverged at epoch {self.diverged_epoch[r]} "
                 f"(loss {loss[r]:.3g} > {self.loss_limit:.3g} = {DIVERGENCE_FACTOR:g} × max(start loss, 1))"
                 for r in range(self.runs) if self.diverged_epoch[r]]
        going = [r for r in range(self.runs) if not self.diverged_epoch[r]]
        if not going:
            return "; ".join(parts)
        if all(self._stopped(r) for r in going):
            which = "all runs" if not parts else ("run " if len(going) == 1 else "runs ") + \
                ", ".join(str(r + 1) for r in going)
            parts.append(f"{which} finished {self.epochs} epochs")
            return "; ".join(parts)
        best = min(going, key=lambda r: loss[r])
        epoch = min(self.pos_epoch(r) for r in going)
        parts.append(f"step {self._step}: slowest run at epoch {epoch:.2f}; lowest loss "
                     f"{loss[best]:.4g} (run {best + 1}, {self.labels[best]})")
        return "; ".join(parts)

    def _describe(self, run: int) -> str:
        if self.params["compare"] == "learning_rate":
            return f"lr {self.base_rates[run]:g}"
        return f"{self.labels[run]}, lr {self.base_rates[run]:g}"

    def _record(self, run: int) -> None:
        self._store(run, [(list(self.theta[run]), self.updates[run])])

    def _store(self, run: int, entries: list[tuple[list[float], int]]) -> None:
        """Append (theta, updates) records to a run's buffers; the losses in one vectorised call."""
        if not entries:
            return
        k = self.records[run]
        m = len(entries)
        thetas = np.array([theta for theta, _ in entries], dtype=float).reshape(m, self.model.dim)
        self._traj[run][k:k + m] = thetas
        self._rec_epoch[run][k:k + m] = np.array([u for _, u in entries], dtype=float) / self.per_epoch[run]
        self._rec_loss[run][k:k + m] = self.model.loss(thetas)
        self.records[run] = k + m

    def _order(self, run: int) -> np.ndarray:
        """Sample order of a run's current epoch (read-only, cached until the epoch ends)."""
        if self._orders[run] is None:
            epoch = min(self.epoch[run], self.epochs - 1)
            # A full batch's gradient does not depend on the order: data order, no shuffling cost.
            order = batch_order(self.seed, epoch, self.n, self.shuffled[run] and self.batches[run] < self.n)
            order.flags.writeable = False
            self._orders[run] = order
        return self._orders[run]

    def _epoch_data(self, run: int) -> Any:
        """Per-batch data of a run's current epoch (cached until the epoch ends or a restore)."""
        if self._cache[run] is not None:
            return self._cache[run]
        stats = _batch_stats(self.kind, self.model.x, self.model.y, self._order(run), self.batches[run])
        if self.kind != "logistic":
            cache = [v.tolist() for v in stats]
        elif self.batches[run] <= SCALAR_BATCH:
            xo, yo, starts, counts = stats
            cache = (xo.tolist(), yo.tolist(), starts.tolist(), counts.tolist())
        else:
            xo, yo, starts, counts = stats
            cache = (xo, yo, starts.tolist(), counts.tolist())
        self._cache[run] = cache
        return cache

    def _basin_shifts(self, run: int) -> np.ndarray:
        """Double well, basin seeds: tilt + batch mean of each seed's batches, [batch, seed]."""
        if self._basin_cache[run] is not None:
            return self._basin_cache[run]
        seeds, n, batch = self.basin_seeds, self.n, self.batches[run]
        tilts = np.broadcast_to(self.model.x, (seeds, n))
        if self.shuffled[run] and batch < n:  # a full batch's mean does not depend on the order
            rng = np.random.default_rng([self.seed % 2**63, self.epoch[run], 1])
            tilts = rng.permuted(tilts, axis=1)
        starts = np.arange(0, n, batch)
        counts = np.diff(np.append(starts, n)).astype(float)
        shifts = (np.add.reduceat(tilts, starts, axis=1) / counts).T + DOUBLE_WELL_TILT
        self._basin_cache[run] = np.ascontiguousarray(shifts)
        return self._basin_cache[run]

    def _advance_basins(self, run: int, lo: int, hi: int, rate: float) -> None:
        """Batches lo..hi-1 of the current epoch for the run's basin seeds (NaN once diverged:
        a parameter beyond PARAM_LIMIT or the loss past the run's limit)."""
        if not self.basin_seeds or hi <= lo:
            return
        shifts = self._basin_shifts(run)
        u, t = self._basin_u[run], self._basin_tmp
        with np.errstate(all="ignore"):
            for k in range(lo, hi):
                np.multiply(u, u, out=t)
                t -= 1.0
                t *= u
                t -= shifts[k]
                t *= rate
                u -= t
            # A seed diverges by the runs' rule (checked at the end of each chunk of updates: past
            # the loss limit the cubic step only grows, so the verdict does not depend on chunking).
            u[~((np.abs(u) <= PARAM_LIMIT) & (double_well(u) <= self.loss_limit))] = np.nan

    def _advance(self, r: int, count: int) -> None:
        """Do up to ``count`` updates of run ``r`` (stops at the epoch limit or divergence).

        Single steps and coarse steps run the same tight loops (plain floats), so an epoch done
        in one coarse step equals the same updates done one by one, bit for bit. Every
        ``stride``-th update is recorded (except an epoch's last, recorded at the epoch end);
        the losses of all records are computed together at the end.
        """
        stride = self.strides[r]
        per_epoch = self.per_epoch[r]
        steps = self._steps
        entries: list[tuple[list[float], int]] = []
        while count > 0 and not self._stopped(r):
            cache = self._epoch_data(r)
            rate = self.lr_now(r)
            k = pos = self.pos[r]
            end = min(per_epoch, pos + count)
            theta = self.theta[r]
            updates = self.updates[r]
            diverged = False
            while k < end:
                # Up to the next recorded update (or the end of this chunk).
                stop = min(end, k + stride - updates % stride)
                theta, reached, diverged = steps(cache, theta, rate, k, stop)
                updates += reached - k
                k = reached
                if diverged:
                    break
                if updates % stride == 0 and k < per_epoch:
                    entries.append((theta, updates))
            self._advance_basins(r, pos, k, rate)
            self.theta[r] = theta
            self.updates[r] = updates
            count -= k - pos
            self.pos[r] = k
            if diverged:
                self.diverged_epoch[r] = self.epoch[r] + 1
                entries.append((theta, updates))
                break
            if k == per_epoch:
                self.pos[r] = 0
                self.epoch[r] += 1
                self.shuffled[r] = bool(self.params["shuffle"])
                self._cache[r] = None
                self._orders[r] = None
                self._basin_cache[r] = None
                entries.append((theta, updates))
        self._store(r, entries)

    def _steps(self, cache: Any, theta: list[float], rate: float, lo: int, hi: int
               ) -> tuple[list[float], int, bool]:
        """Batches lo..hi-1 of the current epoch from ``theta``: (new theta, first batch not done,
        diverged). An update that would leave [-PARAM_LIMIT, PARAM_LIMIT] (or give NaN) is not
        applied; one whose full-data loss passes the limit is applied and ends the run."""
        plimit = PARAM_LIMIT
        limit = self.loss_limit
        if self.kind == "linear":
            mx, my, mxx, mxy = cache
            model = self.model
            ow, ob = float(model.optimum[0]), float(model.optimum[1])
            h00, h01, h11 = float(model.hessian[0, 0]), 2.0 * float(model.hessian[0, 1]), float(model.hessian[1, 1])
            qmax = 2.0 * (limit - model.min_loss)  # loss = min_loss + q / 2
            w, b = theta
            for k in range(lo, hi):
                nw = w - rate * (w * mxx[k] + b * mx[k] - mxy[k])
                nb = b - rate * (w * mx[k] + b - my[k])
                if not (-plimit <= nw <= plimit and -plimit <= nb <= plimit):  # also catches NaN
                    return [w, b], k, True
                w = nw
                b = nb
                dw = w - ow
                db = b - ob
                if h00 * dw * dw + h01 * dw * db + h11 * db * db > qmax:
                    return [w, b], k + 1, True
            return [w, b], hi, False
        if self.kind == "double_well":
            means = cache[0]
            tilt = DOUBLE_WELL_TILT
            offset = _DW_OFFSET
            u = theta[0]
            for k in range(lo, hi):
                nu = u - rate * (u * u * u - u - tilt - means[k])
                if not -plimit <= nu <= plimit:
                    return [u], k, True
                u = nu
                if u * u * u * u / 4 - u * u / 2 - tilt * u - offset > limit:  # double_well(u), inline
                    return [u], k + 1, True
            return [u], hi, False
        xs, ys, starts, counts = cache
        w, b = theta
        l2 = LOGISTIC_L2
        # loss <= |w| max|x| + |b| + log 2 + l2/2 w^2: the exact loss only when that bound passes the limit.
        xmax, log2 = self._xmax, _LOG2
        if type(xs) is list and counts[0] == 1.0:  # batch size 1: the gradient of one sample, inline
            exp = math.exp
            for k in range(lo, hi):
                x = xs[k]
                z = w * x + b
                if z >= 0:
                    p = 1.0 / (1.0 + exp(-z))
                else:
                    e = exp(z)
                    p = e / (1.0 + e)
                g = p - ys[k]
                nw = w - rate * (g * x + l2 * w)
                nb = b - rate * g
                if not (-plimit <= nw <= plimit and -plimit <= nb <= plimit):
                    return [w, b], k, True
                w = nw
                b = nb
                if abs(w) * xmax + abs(b) + log2 + 0.5 * l2 * w * w > limit and self._over([w, b]):
                    return [w, b], k + 1, True
            return [w, b], hi, False
        for k in range(lo, hi):
            start = starts[k]
            gw, gb = _logistic_batch_gradient(w, b, xs, ys, start, start + int(counts[k]))
            nw = w - rate * gw
            nb = b - rate * gb
            if not (-plimit <= nw <= plimit and -plimit <= nb <= plimit):
                return [w, b], k, True
            w = nw
            b = nb
            if abs(w) * xmax + abs(b) + log2 + 0.5 * l2 * w * w > limit and self._over([w, b]):
                return [w, b], k + 1, True
        return [w, b], hi, False

    def _over(self, theta: list[float]) -> bool:
        return bool(self.model.loss(np.array(theta)) > self.loss_limit)
