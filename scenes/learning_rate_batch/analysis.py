"""Heavy, pure-NumPy derived data for the view: loss surface, learning-rate range test, basin odds.

Everything here is a function of the parameters alone (the data set is seeded by ``data_seed``),
so the view's ``prepare`` can run it in a worker; results are cached per relevant parameters.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from scenes.learning_rate_batch.sim import (DIVERGENCE_LIMIT, DOUBLE_WELL_POINTS, DOUBLE_WELL_TILT,
                                            LOGISTIC_L2, Model, _sigmoid, lr_factor, make_data,
                                            run_settings)

GRID = 160
RANGE_RATES = np.logspace(-5, 1, 61)
BASIN_SEEDS = 200


@lru_cache(maxsize=8)
def model_for(kind: str, n: int, noise: float, data_seed: int) -> Model:
    x, y = make_data(kind, n, noise, data_seed)
    return Model(kind, x, y)


def _model(params: Mapping[str, Any]) -> Model:
    return model_for(params["model"], int(params["n_samples"]), float(params["noise"]), int(params["data_seed"]))


# -- loss surface -------------------------------------------------------------------------------
def surface_extent(model: Model, start: np.ndarray) -> tuple[float, float, float, float]:
    """(w0, w1, b0, b1): a window holding the minimum and the start with a margin."""
    lo = np.minimum(model.optimum, start)
    hi = np.maximum(model.optimum, start)
    margin = 0.35 * (hi - lo) + 0.75
    lo, hi = lo - margin, hi + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def loss_grid(model: Model, extent: tuple[float, float, float, float], size: int = GRID
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-data loss on a size x size grid: (w values, b values, loss[b, w])."""
    ws = np.linspace(extent[0], extent[1], size)
    bs = np.linspace(extent[2], extent[3], size)
    theta = np.stack(np.meshgrid(ws, bs), axis=-1)  # [b, w, 2]
    if model.kind == "logistic":
        # For display only: x binned into 256 weighted bins (the y*z term is exact, being linear);
        # the softplus term's error is O(bin width^2), far below one colour band.
        edges = np.linspace(model.x.min(), model.x.max() + 1e-12, 257)
        weight, _ = np.histogram(model.x, edges)
        sums, _ = np.histogram(model.x, edges, weights=model.x)
        keep = weight > 0
        centres, weight = sums[keep] / weight[keep], weight[keep] / model.n
        w, b = theta[..., 0], theta[..., 1]
        out = np.empty((size, size))
        rows = max(1, int(4e6 // (size * len(centres))))
        for i in range(0, size, rows):
            z = w[i:i + rows, :, None] * centres + b[i:i + rows, :, None]
            out[i:i + rows] = np.logaddexp(0.0, z) @ weight
        out += -(w * float(np.mean(model.y * model.x)) + b * float(np.mean(model.y)))
        out += 0.5 * LOGISTIC_L2 * w ** 2
        return ws, bs, out
    return ws, bs, model.loss(theta)


# -- learning-rate range test -----------------------------------------------------------------
def range_test_updates(n: int, batch: int) -> int:
    """Length of the short run: about three epochs, at least 50 and at most 300 updates."""
    return int(min(300, max(50, 3 * math.ceil(n / batch))))


def range_test(model: Model, start: np.ndarray, batch: int, rates: np.ndarray = RANGE_RATES,
               seed: int = 0) -> tuple[np.ndarray, float | None]:
    """Full-data loss after a short constant-rate SGD run for each rate (inf where it diverged),
    and the divergence edge: the smallest rate whose loss ends non-finite or above the start loss."""
    n = model.n
    batch = max(1, min(n, batch))
    theta = np.tile(start.astype(float), (len(rates), 1))
    alive = np.ones(len(rates), dtype=bool)
    lr = rates[:, None]
    total = range_test_updates(n, batch)
    rng = np.random.default_rng(seed)
    done = 0
    while done < total:
        order = rng.permutation(n)
        x, y = model.x[order], model.y[order]
        starts = np.arange(0, n, batch)
        for lo in starts:
            if done >= total:
                break
            xb, yb = x[lo:lo + batch], y[lo:lo + batch]
            with np.errstate(all="ignore"):
                if model.kind == "linear":
                    resid = theta[:, :1] * xb + theta[:, 1:] - yb  # [rates, batch]
                    grad = np.stack([(resid * xb).mean(axis=1), resid.mean(axis=1)], axis=1)
                elif model.kind == "logistic":
                    resid = _sigmoid(theta[:, :1] * xb + theta[:, 1:]) - yb
                    grad = np.stack([(resid * xb).mean(axis=1) + LOGISTIC_L2 * theta[:, 0],
                                     resid.mean(axis=1)], axis=1)
                else:
                    u = theta[:, :1]
                    grad = u * u * u - u - DOUBLE_WELL_TILT - xb.mean()
                theta = theta - lr * grad
            bad = ~np.all(np.abs(theta) <= DIVERGENCE_LIMIT, axis=1)
            alive &= ~bad
            theta[~alive] = start  # keep dead rows finite; they are reported as inf
            done += 1
    with np.errstate(all="ignore"):
        loss = np.where(alive, model.loss(theta), np.inf)
    start_loss = float(model.loss(start))
    broken = ~np.isfinite(loss) | (loss > start_loss)
    edge = float(rates[np.argmax(broken)]) if broken.any() else None
    return loss, edge


@lru_cache(maxsize=16)
def _range_cached(kind: str, n: int, noise: float, data_seed: int, start: tuple, batch: int
                  ) -> tuple[np.ndarray, float | None]:
    return range_test(model_for(kind, n, noise, data_seed), np.array(start), batch)


# -- double well: how often does a run end in the deep basin? ---------------------------------
def deep_basin_share(model: Model, start: float, batch: int, rate: float, epochs: int, schedule: str,
                     warmup: int, decay: float, step_every: int, shuffle: bool,
                     seeds: int = BASIN_SEEDS) -> float:
    """Share of ``seeds`` SGD runs (vectorised over seeds) that end right of the barrier."""
    n = model.n
    batch = max(1, min(n, batch))
    starts = np.arange(0, n, batch)
    counts = np.diff(np.append(starts, n))
    u = np.full(seeds, float(start))
    rng = np.random.default_rng(12345)
    tilts = np.tile(model.x, (seeds, 1))
    for epoch in range(epochs):
        step = rate * lr_factor(epoch, schedule, warmup, decay, step_every, epochs)
        order = rng.permuted(tilts, axis=1) if shuffle else tilts
        means = (np.add.reduceat(order, starts, axis=1) / counts).T.copy()  # [batch, seed]
        with np.errstate(all="ignore"):
            for m in means:
                u -= step * (u * u * u - u - DOUBLE_WELL_TILT - m)
        u[~(np.abs(u) <= DIVERGENCE_LIMIT)] = np.nan  # NaN compares false below: not deep
    return float(np.mean(u > DOUBLE_WELL_POINTS[1]))


@lru_cache(maxsize=32)
def _basin_cached(n: int, noise: float, data_seed: int, start: float, batch: int, rate: float, epochs: int,
                  schedule: str, warmup: int, decay: float, step_every: int, shuffle: bool) -> float:
    return deep_basin_share(model_for("double_well", n, noise, data_seed), start, batch, rate, epochs,
                            schedule, warmup, decay, step_every, shuffle)


# -- everything the view needs ----------------------------------------------------------------
def prepare(params: Mapping[str, Any]) -> dict[str, Any]:
    model = _model(params)
    start = np.array([float(params["init_w"]), float(params["init_b"])][: model.dim])
    batches, rates = run_settings(params)
    out: dict[str, Any] = {"model": model.kind, "x": model.x, "y": model.y, "optimum": model.optimum,
                           "min_loss": model.min_loss, "start": start}
    if model.dim == 2:
        extent = surface_extent(model, start)
        ws, bs, grid = loss_grid(model, extent)
        out.update(extent=extent, ws=ws, bs=bs, grid=grid)
    else:
        lo = min(-2.2, start[0] - 0.5)
        hi = max(2.2, start[0] + 0.5)
        us = np.linspace(lo, hi, 400)
        out.update(us=us, curve=model.loss(us[:, None]))
    key = (model.kind, model.n, float(params["noise"]), int(params["data_seed"]), tuple(start.tolist()))
    if params["compare"] == "batch_size":
        tested = sorted(set(batches))
    else:
        tested = [batches[0]]
    out["range_rates"] = RANGE_RATES
    out["range"] = [(b, *_range_cached(*key, b)) for b in tested]
    out["range_start_loss"] = float(model.loss(start))
    if model.kind == "double_well":
        out["basins"] = np.array([
            _basin_cached(model.n, float(params["noise"]), int(params["data_seed"]), float(start[0]), b, r,
                          int(params["epochs"]), params["schedule"], int(params["warmup_epochs"]),
                          float(params["decay"]), int(params["step_every"]), bool(params["shuffle"]))
            for b, r in zip(batches, rates)])
    return out


def prepare_key(params: Mapping[str, Any]) -> tuple:
    names = ["model", "n_samples", "noise", "data_seed", "init_w", "init_b", "compare", "runs",
             "batch_size", *(f"run{i}_batch_size" for i in range(1, 5))]
    if params["model"] == "double_well":
        # The basin odds depend on the whole training recipe.
        names += ["learning_rate", *(f"run{i}_learning_rate" for i in range(1, 5)), "epochs", "schedule",
                  "warmup_epochs", "decay", "step_every", "shuffle"]
    return tuple((name, params[name]) for name in names)
