"""Heavy, pure-NumPy derived data for the view: the full-data loss surface (or curve).

Everything here is a function of the structural parameters alone (the data set is seeded by
``data_seed``), so the view's ``prepare`` can run it in a worker and a live change never redoes
it. The range test and the basin experiment are part of the simulation (frame data): they depend
on the session seed and, for the basins, on live parameters.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from scenes.learning_rate_batch.sim import LOGISTIC_L2, Model, cached_model

GRID = 160
#: Parameters prepare() depends on (all structural: a live change never redoes it).
PREPARE_PARAMS = ("model", "n_samples", "noise", "data_seed", "init_w", "init_b")


def model_for(kind: str, n: int, noise: float, data_seed: int) -> Model:
    return cached_model(kind, n, noise, data_seed)


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


# -- everything the view needs ----------------------------------------------------------------
def prepare(params: Mapping[str, Any]) -> dict[str, Any]:
    model = _model(params)
    start = np.array([float(params["init_w"]), float(params["init_b"])][: model.dim])
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
    return out


def prepare_key(params: Mapping[str, Any]) -> tuple:
    return tuple((name, params[name]) for name in PREPARE_PARAMS)
