"""A small multilayer perceptron in pure NumPy: hand-written forward and backward passes, float64,
vectorised over the batch (no Python loop over samples).

Conventions (shared with the scene, see NN_SPEC.md):
- ``weights[l]`` has shape ``(sizes[l], sizes[l + 1])``, ``biases[l]`` shape ``(sizes[l + 1],)``; a layer is
  ``z = a @ W + b``.
- Outputs: ``sigmoid`` (one unit, targets ``(m, 1)`` of 0/1), ``softmax`` (one-hot targets ``(m, k)``),
  ``linear`` (regression, targets ``(m, 1)``).
- Losses are means over the samples: cross-entropy ``-log p(true class)``; squared error
  ``1/2 * sum_k (out_k - target_k)^2``. The penalty (L1 / L2) is on weights only, never on biases.
- Dropout is inverted dropout on the hidden layers: ``masks[l]`` (m, units) holds 0 or ``1 / (1 - p)``.

Training (``train_epoch``) runs on one flat parameter vector in which layer ``l``'s ``[W_l; b_l]`` is a single
``(n_in + 1, n_out)`` block, on feature-major batches ((units, m), every activation one contiguous block) whose
layer inputs end with a row of ones: one matrix product gives ``z`` (bias included), one gives the weight and
bias gradients together, and the optimiser updates every parameter with a few whole-vector operations. The flat
vectors and batch buffers live in the Optimizer and are reused, so a mini-batch costs ~25 small NumPy calls.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
OUTPUTS = ("sigmoid", "softmax", "linear")
LOSSES = ("cross_entropy", "squared_error")
INITS = ("xavier", "he", "zeros")
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")

# Probabilities are clipped to [EPS, 1 - EPS] before a log in ``data_loss`` (as scikit-learn's log_loss does).
EPS = float(np.finfo(np.float64).eps)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _check_head(output: str, loss: str) -> None:
    _check(output, OUTPUTS, "output")
    _check(loss, LOSSES, "loss")
    if output == "linear" and loss == "cross_entropy":
        raise ValueError("cross-entropy needs a sigmoid or softmax output; a linear output uses squared_error")


# ---------------------------------------------------------------------------------------------- activations
def _sigmoid_inplace(a: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(a / 2)): never overflows; absolute error ~1e-16 (used for hidden units)
    # (hot path: ufunc outputs are passed positionally, ~0.13 us less per call than out=)
    np.multiply(a, 0.5, a)
    np.tanh(a, a)
    np.multiply(a, 0.5, a)
    np.add(a, 0.5, a)
    return a


def _activate_inplace(name: str, a: np.ndarray) -> np.ndarray:
    if name == "tanh":
        np.tanh(a, a)
    elif name == "relu":
        np.maximum(a, 0.0, out=a)  # (positional out is deprecated for maximum)
    elif name == "sigmoid":
        _sigmoid_inplace(a)
    return a


def _times_derivative(name: str, h: np.ndarray, da: np.ndarray, tmp: np.ndarray) -> None:
    """da *= activation'(z), written in terms of the activation value h = activation(z)."""
    if name == "tanh":
        np.multiply(h, h, tmp)
        np.subtract(1.0, tmp, tmp)
        np.multiply(da, tmp, da)
    elif name == "relu":
        np.multiply(da, h > 0.0, da)  # relu'(0) = 0, and h > 0 exactly when z > 0
    elif name == "sigmoid":
        np.subtract(1.0, h, tmp)
        np.multiply(tmp, h, tmp)
        np.multiply(da, tmp, da)


def activate(name: str, z) -> np.ndarray:
    """The hidden-layer activation ``name`` applied to ``z`` (a new float64 array)."""
    _check(name, ACTIVATIONS, "activation")
    return _activate_inplace(name, np.array(z, dtype=np.float64, copy=True))


def activation_derivative(name: str, z) -> np.ndarray:
    """d activation / dz at ``z`` (a new float64 array); relu'(0) = 0."""
    _check(name, ACTIVATIONS, "activation")
    z = np.asarray(z, dtype=np.float64)
    if name == "linear":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0.0).astype(np.float64)
    h = activate(name, z)
    return 1.0 - h * h if name == "tanh" else h * (1.0 - h)


def _sigmoid_precise(z: np.ndarray) -> np.ndarray:
    # exp(-softplus(-z)): accurate in relative terms in both tails (output probabilities)
    return np.exp(-np.logaddexp(0.0, -z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _output_values(output: str, z: np.ndarray) -> np.ndarray:
    if output == "sigmoid":
        return _sigmoid_precise(z)
    if output == "softmax":
        return _softmax(z)
    return z


# ---------------------------------------------------------------------------------------------- parameters
def init_params(sizes: Sequence[int], scheme: str, rng: np.random.Generator) -> tuple[list, list]:
    """Weights ``N(0, 2 / (fan_in + fan_out))`` (xavier), ``N(0, 2 / fan_in)`` (he) or all zeros; biases zero."""
    _check(scheme, INITS, "initialisation")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"a network needs at least an input and an output layer of >= 1 unit, got {sizes}")
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if scheme == "zeros":
            weights.append(np.zeros((fan_in, fan_out)))
        else:
            variance = 2.0 / (fan_in + fan_out) if scheme == "xavier" else 2.0 / fan_in
            weights.append(rng.normal(0.0, math.sqrt(variance), size=(fan_in, fan_out)))
        biases.append(np.zeros(fan_out))
    return weights, biases


def _sizes_of(weights: Sequence[np.ndarray]) -> tuple[int, ...]:
    return (int(weights[0].shape[0]),) + tuple(int(w.shape[1]) for w in weights)


def _check_masks(masks, n_hidden: int) -> None:
    if masks is not None and len(masks) != n_hidden:
        raise ValueError(f"masks must hold one array per hidden layer ({n_hidden}), got {len(masks)}")


# ---------------------------------------------------------------------------------------------- forward
def _layers_and_logits(weights, biases, x, activation: str, masks) -> tuple[list[np.ndarray], np.ndarray]:
    _check(activation, ACTIVATIONS, "activation")
    _check_masks(masks, len(weights) - 1)
    x = np.asarray(x, dtype=np.float64)
    layers = [x]
    # feature-major (units, m) inside: the bias add broadcasts along rows, twice as fast on a 100^2 grid
    a = x.T
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged network is a state, not a warning
        for l in range(len(weights) - 1):
            z = np.dot(np.asarray(weights[l]).T, a)
            z += np.asarray(biases[l])[:, None]
            a = _activate_inplace(activation, z)
            if masks is not None:
                a = a * np.asarray(masks[l]).T
            layers.append(a.T)
        z = np.dot(np.asarray(weights[-1]).T, a)
        z += np.asarray(biases[-1])[:, None]
    return layers, z.T


def forward(weights, biases, x, activation: str, output: str, masks=None) -> list[np.ndarray]:
    """``[x, a_1, ..., a_L]``: hidden activations (times ``masks[l]`` when given) and the output ``a_L``
    (probabilities for sigmoid / softmax, values for linear)."""
    _check(output, OUTPUTS, "output")
    layers, z = _layers_and_logits(weights, biases, x, activation, masks)
    with np.errstate(over="ignore", invalid="ignore"):
        layers.append(_output_values(output, z))
    return layers


def logits(weights, biases, x, activation: str, masks=None) -> np.ndarray:
    """The output layer's pre-activation ``z`` (m, n_out); ``loss_from_logits`` gives the exact loss from it."""
    return _layers_and_logits(weights, biases, x, activation, masks)[1]


def predict(weights, biases, x, activation: str, output: str) -> np.ndarray:
    """The network's output (m, n_out) without dropout."""
    return forward(weights, biases, x, activation, output)[-1]


# ---------------------------------------------------------------------------------------------- losses
def _as_target(target, output: str, n_out: int) -> np.ndarray:
    t = np.asarray(target)
    if t.ndim == 1:
        if output == "softmax":  # integer labels -> one-hot
            onehot = np.zeros((t.shape[0], n_out))
            onehot[np.arange(t.shape[0]), t.astype(np.intp)] = 1.0
            return onehot
        t = t.reshape(-1, 1)
    return np.asarray(t, dtype=np.float64)


def data_loss(out, target, output: str, loss: str) -> float:
    """Mean data loss of the outputs ``out`` (probabilities for sigmoid / softmax).

    Probabilities are clipped to [EPS, 1 - EPS] before the log (scikit-learn's convention), so the value is
    finite; far in saturation (|logit| > ~36) ``loss_from_logits`` is the exact one."""
    _check_head(output, loss)
    out = np.asarray(out, dtype=np.float64)
    t = _as_target(target, output, out.shape[1])
    m = out.shape[0]
    if m == 0:
        return float("nan")
    with np.errstate(over="ignore", invalid="ignore"):
        if loss == "squared_error":
            d = out - t
            return float(0.5 * np.einsum("ij,ij->", d, d) / m)
        p = np.clip(out, EPS, 1.0 - EPS)
        if output == "sigmoid":
            return float(-(t * np.log(p) + (1.0 - t) * np.log1p(-p)).sum() / m)
        return float(-(t * np.log(p)).sum() / m)


def _sample_losses(z: np.ndarray, t: np.ndarray, output: str, loss: str) -> np.ndarray:
    """Per-sample data loss (m,) from the logits, computed stably (never log(0))."""
    if loss == "squared_error":
        d = _output_values(output, z) - t
        return 0.5 * np.einsum("ij,ij->i", d, d)
    if output == "sigmoid":  # -[y log p + (1-y) log(1-p)] = softplus(z) - y z
        return (np.logaddexp(0.0, z) - t * z).sum(axis=1)
    zmax = z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]
    return log_norm - np.einsum("ij,ij->i", t, z)


def loss_from_logits(z, target, output: str, loss: str) -> float:
    """Mean data loss from the output layer's logits (exact in saturation, unlike clipped probabilities)."""
    _check_head(output, loss)
    z = np.asarray(z, dtype=np.float64)
    if z.shape[0] == 0:
        return float("nan")
    with np.errstate(over="ignore", invalid="ignore"):
        return float(_sample_losses(z, _as_target(target, output, z.shape[1]), output, loss).mean())


def penalty(weights, regularization: str, rate: float) -> float:
    """``rate * 1/2 * sum w^2`` (l2), ``rate * sum |w|`` (l1), 0 (none); weights only, not biases."""
    _check(regularization, REGULARIZATIONS, "regularization")
    if regularization == "none" or rate == 0.0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        if regularization == "l2":
            return float(rate * 0.5 * sum(float(np.dot(w.ravel(), w.ravel())) for w in weights))
        return float(rate * sum(float(np.abs(w).sum()) for w in weights))


# ---------------------------------------------------------------------------------------------- flat layout
class _Layout:
    """One flat vector holding W_1, b_1, W_2, b_2, ...: layer l's [W_l; b_l] is one (n_in + 1, n_out) block."""

    def __init__(self, sizes: Sequence[int]):
        self.sizes = tuple(int(s) for s in sizes)
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.block_offsets = []
        offset = 0
        for fan_in, fan_out in pairs:
            self.block_offsets.append(offset)
            offset += (fan_in + 1) * fan_out
        self.size = offset
        # (offset, shape) of every array in the order weights..., biases... (the Optimizer's ``shapes`` order)
        self.slots = [(o, (fi, fo)) for o, (fi, fo) in zip(self.block_offsets, pairs)]
        self.slots += [(o + fi * fo, (fo,)) for o, (fi, fo) in zip(self.block_offsets, pairs)]
        # starts of W_1, b_1, W_2, b_2, ... (np.add.reduceat segments)
        self.segments = np.array([o + k * fi * fo for o, (fi, fo) in zip(self.block_offsets, pairs) for k in (0, 1)],
                                 dtype=np.intp)
        self.empty_weights = np.array([fi * fo == 0 for fi, fo in pairs], dtype=bool)  # a network without inputs
        self.weight_mask = np.zeros(self.size)
        for o, (fi, fo) in zip(self.block_offsets, pairs):
            self.weight_mask[o:o + fi * fo] = 1.0

    def blocks(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[o:o + (fi + 1) * fo].reshape(fi + 1, fo)
                for o, fi, fo in zip(self.block_offsets, self.sizes[:-1], self.sizes[1:])]

    def pack(self, weights, biases) -> np.ndarray:
        parts = []
        for w, b in zip(weights, biases):
            parts.append(np.ravel(w))
            parts.append(np.ravel(b))
        return np.concatenate(parts).astype(np.float64, copy=False)


def _layout_for_shapes(shapes) -> _Layout | None:
    """The interleaved layout when ``shapes`` are [W_1..W_L shapes] + [b_1..b_L shapes] of one network."""
    shapes = [tuple(int(d) for d in s) for s in shapes]
    if len(shapes) < 2 or len(shapes) % 2:
        return None
    n_layers = len(shapes) // 2
    w_shapes, b_shapes = shapes[:n_layers], shapes[n_layers:]
    if any(len(s) != 2 for s in w_shapes) or any(b != (w[1],) for w, b in zip(w_shapes, b_shapes)):
        return None
    if any(w_shapes[l][1] != w_shapes[l + 1][0] for l in range(n_layers - 1)):
        return None
    return _Layout([w_shapes[0][0]] + [w[1] for w in w_shapes])


# ---------------------------------------------------------------------------------------------- backprop
class _Buffers:
    """Work arrays for mini-batches of ``rows`` samples, reused across an epoch's batches. Feature-major: a
    layer's values are (units, rows), so every activation is one contiguous block."""

    def __init__(self, sizes: Sequence[int], rows: int, dropout: bool):
        hidden = sizes[1:-1]
        # inputs of layers 2..L, (units + 1, rows): a last row of ones carries the bias
        self.inputs = []
        for n in hidden:
            a = np.empty((n + 1, rows))
            a[n] = 1.0
            self.inputs.append(a)
        views = [a[:-1] for a in self.inputs]
        # unmasked activations h (the derivative needs them); without dropout they live in the inputs
        self.hidden = [np.empty((n, rows)) for n in hidden] if dropout else views
        self.masked = views
        self.back = [np.empty((n, rows)) for n in hidden]   # dLoss / d(layer input)
        self.tmp = [np.empty((n, rows)) for n in hidden]
        self.delta = np.empty((sizes[-1], rows))
        self.inv_rows = 1.0 / rows


def _output_delta(head: str, z: np.ndarray, t: np.ndarray, c: np.ndarray | None, inv_m: float,
                  d: np.ndarray) -> None:
    """d = dLoss/dz of the output layer for a batch, feature-major (k, m); loss = mean over the m samples."""
    if head == "sigmoid/cross_entropy":
        # p - y = 0.5 tanh(z/2) + 0.5 - y;  c = (0.5 - y) / m precomputed for the epoch
        np.multiply(z, 0.5, d)
        np.tanh(d, d)
        np.multiply(d, 0.5 * inv_m, d)
        np.add(d, c, d)
    elif head == "linear/squared_error":
        np.subtract(z, t, d)
        np.multiply(d, inv_m, d)
    elif head == "softmax/cross_entropy":
        np.subtract(z, z.max(axis=0), d)
        np.exp(d, d)
        np.divide(d, d.sum(axis=0), d)
        np.subtract(d, t, d)
        np.multiply(d, inv_m, d)
    elif head == "sigmoid/squared_error":
        np.copyto(d, z)
        _sigmoid_inplace(d)
        g = (d - t) * inv_m
        g *= d
        g *= 1.0 - d
        np.copyto(d, g)
    else:  # softmax/squared_error: d = J_softmax^T g = p * (g - <g, p>)
        np.subtract(z, z.max(axis=0), d)
        np.exp(d, d)
        np.divide(d, d.sum(axis=0), d)
        g = (d - t) * inv_m
        g -= (g * d).sum(axis=0)
        np.multiply(d, g, d)


def _backprop(buf: _Buffers, x_aug: np.ndarray, blocks_t, block_weights, z_out: np.ndarray, t: np.ndarray,
              c, masks, grad_blocks, activation: str, head: str) -> None:
    """Forward and backward pass of one batch, feature-major: ``x_aug`` (f + 1, m) ends with a row of ones;
    writes the logits (k, m) into ``z_out`` and dLoss/d[W_l; b_l] (data loss only) into ``grad_blocks``.
    ``blocks_t[l]`` is [W_l; b_l].T, ``block_weights[l]`` is W_l (views of the flat parameter vector)."""
    # np.dot, not np.matmul: ~0.6 us less per call on these small matrices (outputs are all C-contiguous)
    n_hidden = len(blocks_t) - 1
    a = x_aug
    for l in range(n_hidden):
        h = buf.hidden[l]
        np.dot(blocks_t[l], a, h)
        _activate_inplace(activation, h)
        if masks is not None:
            np.multiply(h, masks[l], buf.masked[l])
        a = buf.inputs[l]
    np.dot(blocks_t[n_hidden], a, z_out)
    d = buf.delta
    _output_delta(head, z_out, t, c, buf.inv_rows, d)
    for l in range(n_hidden, 0, -1):
        np.dot(buf.inputs[l - 1], d.T, grad_blocks[l])
        back = buf.back[l - 1]
        np.dot(block_weights[l], d, back)
        if masks is not None:
            np.multiply(back, masks[l - 1], back)
        _times_derivative(activation, buf.hidden[l - 1], back, buf.tmp[l - 1])
        d = back
    np.dot(x_aug, d.T, grad_blocks[0])


class _Workspace:
    """train_epoch's arrays for one network (kept by its Optimizer): the flat parameter and gradient vectors with
    their per-layer block views, and the per-batch-size buffers."""

    def __init__(self, layout: _Layout):
        self.flat = np.zeros(layout.size)
        self.blocks = layout.blocks(self.flat)
        self.blocks_t = [blk.T for blk in self.blocks]
        self.block_weights = [blk[:-1] for blk in self.blocks]
        self.grad_flat = np.zeros(layout.size)
        self.grad_blocks = layout.blocks(self.grad_flat)
        self.squares = np.empty(layout.size)
        self._sizes = layout.sizes
        self._buffers: dict[tuple[int, bool], _Buffers] = {}

    def buffers(self, rows: int, dropout: bool) -> _Buffers:
        key = (rows, dropout)
        buf = self._buffers.get(key)
        if buf is None:
            if len(self._buffers) > 8:  # batch sizes change rarely; keep the cache small
                self._buffers.clear()
            buf = self._buffers[key] = _Buffers(self._sizes, rows, dropout)
        return buf


def _augment(x: np.ndarray) -> np.ndarray:
    m, f = x.shape
    out = np.empty((m, f + 1))
    out[:, :f] = x
    out[:, f] = 1.0
    return out


def _batches(rows: np.ndarray, size: int) -> list[np.ndarray]:
    """Consecutive batches of ``size`` rows (the last may be smaller), each a contiguous (columns, rows) array."""
    n, d = rows.shape
    full = n // size
    out = list(rows[:full * size].reshape(full, size, d).transpose(0, 2, 1).copy()) if full else []
    if n % size:
        out.append(np.ascontiguousarray(rows[full * size:].T))
    return out


def _sigmoid_ce_offset(t: np.ndarray, inv_m) -> np.ndarray:
    return (0.5 - t) * inv_m


def gradients(weights, biases, x, target, activation: str, output: str, loss: str, regularization: str = "none",
              rate: float = 0.0, masks=None) -> tuple[float, list, list]:
    """``(data_loss, grad_w, grad_b)``: the mean data loss of the batch (from the logits, without the penalty)
    and the gradient of data_loss + penalty (l1 uses the subgradient sign(w), sign(0) = 0)."""
    _check(activation, ACTIVATIONS, "activation")
    _check_head(output, loss)
    _check(regularization, REGULARIZATIONS, "regularization")
    _check_masks(masks, len(weights) - 1)
    sizes = _sizes_of(weights)
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[0]
    if m == 0:
        raise ValueError("gradients of an empty batch")
    t = _as_target(target, output, sizes[-1])
    layout = _Layout(sizes)
    flat = layout.pack(weights, biases)
    blocks = layout.blocks(flat)
    grad_flat = np.empty_like(flat)
    grad_blocks = layout.blocks(grad_flat)
    buf = _Buffers(sizes, m, masks is not None)
    z = np.empty((sizes[-1], m))
    head = f"{output}/{loss}"
    t_columns = np.ascontiguousarray(t.T)
    c = _sigmoid_ce_offset(t_columns, 1.0 / m) if head == "sigmoid/cross_entropy" else None
    if masks is not None:
        masks = [np.ascontiguousarray(np.asarray(mk, dtype=np.float64).T) for mk in masks]
    with np.errstate(over="ignore", invalid="ignore"):
        _backprop(buf, np.ascontiguousarray(_augment(x).T), [blk.T for blk in blocks], [blk[:-1] for blk in blocks],
                  z, t_columns, c, masks, grad_blocks, activation, head)
        value = float(_sample_losses(z.T, t, output, loss).mean())
    grad_w = [blk[:-1].copy() for blk in grad_blocks]
    grad_b = [blk[-1].copy() for blk in grad_blocks]
    if regularization != "none" and rate != 0.0:
        for g, w in zip(grad_w, weights):
            g += rate * (w if regularization == "l2" else np.sign(w))
    return value, grad_w, grad_b


# ---------------------------------------------------------------------------------------------- optimiser
class Optimizer:
    """SGD (``p -= lr g``), momentum (``v = mu v - lr g; p += v``) or Adam (bias-corrected:
    ``p -= lr m_hat / (sqrt(v_hat) + eps)``) over a list of arrays of the given shapes.

    ``momentum``, ``beta1``, ``beta2`` and ``eps`` are plain attributes read at every step (live changes apply
    at the next step). ``shapes`` in the order of the ``params`` given to ``step``; ``train_epoch`` needs them
    as [weight shapes] + [bias shapes] of one network."""

    def __init__(self, kind: str, shapes, momentum: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        _check(kind, OPTIMIZERS, "optimizer")
        self.kind = kind
        self.momentum = float(momentum)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        self._layout = _layout_for_shapes(self.shapes)
        if self._layout is not None:
            self._slots = self._layout.slots
            size = self._layout.size
        else:  # any other list of arrays: one after the other
            self._slots, size = [], 0
            for s in self.shapes:
                self._slots.append((size, s))
                size += int(np.prod(s, dtype=np.int64))
        self._size = size
        names = {"sgd": (), "momentum": ("velocity",), "adam": ("m", "v")}[kind]
        self._flat = {name: np.zeros(size) for name in names}
        self.step_count = 0
        self._make_views()

    def _make_views(self) -> None:
        # per-array views of the flat state vectors, and train_epoch's arrays (made on first use)
        self._views = {name: [flat[o:o + int(np.prod(s, dtype=np.int64))].reshape(s) for o, s in self._slots]
                       for name, flat in self._flat.items()}
        self._work = None

    def __getstate__(self) -> dict:
        # pickle / deepcopy would turn the views into independent copies: keep only the flat vectors
        state = dict(self.__dict__)
        del state["_views"], state["_work"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float, state: dict) -> None:
        # one code path for a single array and the whole flat vector: identical arithmetic per element
        if self.kind == "sgd":
            p -= lr * g
        elif self.kind == "momentum":
            v = state["velocity"]
            v *= self.momentum
            v -= lr * g
            p += v
        else:
            t = self.step_count
            m, v = state["m"], state["v"]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            denominator = np.sqrt(v / (1.0 - self.beta2 ** t))
            denominator += self.eps
            p -= (lr / (1.0 - self.beta1 ** t)) * m / denominator

    def _workspace(self) -> _Workspace:
        if self._work is None:
            self._work = _Workspace(self._layout)
        return self._work

    def step(self, params: list, grads: list, lr: float) -> None:
        """One update of every array in ``params`` (in place) with ``grads``."""
        if len(params) != len(self.shapes) or len(grads) != len(self.shapes):
            raise ValueError(f"expected {len(self.shapes)} parameter and gradient arrays")
        self.step_count += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            if p.shape != self.shapes[i] or np.shape(g) != self.shapes[i]:
                raise ValueError(f"array {i} has shape {p.shape}, the optimizer was built for {self.shapes[i]}")
            self._update(p, g, lr, {name: views[i] for name, views in self._views.items()})

    def _step_flat(self, flat_params: np.ndarray, flat_grads: np.ndarray, lr: float) -> None:
        self.step_count += 1
        self._update(flat_params, flat_grads, lr, self._flat)

    def state(self) -> dict:
        """``{"kind", "step_count", and per state array name a list of copies in the shapes order}``."""
        out = {"kind": self.kind, "step_count": int(self.step_count)}
        for name, views in self._views.items():
            out[name] = [v.copy() for v in views]
        return out

    def set_state(self, state) -> None:
        """Restore a ``state()`` (copies the arrays in)."""
        if state.get("kind") != self.kind:
            raise ValueError(f"state of a {state.get('kind')!r} optimizer given to a {self.kind!r} one")
        for name, views in self._views.items():
            arrays = state[name]
            if len(arrays) != len(views) or any(np.shape(a) != v.shape for a, v in zip(arrays, views)):
                raise ValueError(f"optimizer state {name!r} does not fit the shapes {self.shapes}")
            for v, a in zip(views, arrays):
                np.copyto(v, a)
        self.step_count = int(state["step_count"])


# ---------------------------------------------------------------------------------------------- training
def train_epoch(weights, biases, optimizer: Optimizer, x, target, order, batch_size: int, lr: float,
                activation: str, output: str, loss: str, regularization: str, rate: float, dropout: float,
                rng: np.random.Generator) -> dict:
    """One epoch of mini-batch training, in place on ``weights`` and ``biases``.

    Batches are ``order[k*B:(k+1)*B]`` (the last one may be smaller); per batch: gradients of data loss + penalty
    (with dropout masks when dropout > 0), one optimiser step over weights + biases. The masks of the epoch are
    drawn at once, ``rng.random((len(order), units)) >= dropout`` per hidden layer in order, row i belonging to
    sample ``order[i]``, scaled by 1 / (1 - dropout). Returns ``{"gradient_norms": (L,) mean over the batches of
    ||grad_w[l]||_F (penalty included), "batch_loss": mean over the batches of the batch's data loss before its
    step}``. Floating-point overflow is not raised: a diverging run leaves non-finite values (callers keep the
    last finite weights)."""
    _check(activation, ACTIVATIONS, "activation")
    _check_head(output, loss)
    _check(regularization, REGULARIZATIONS, "regularization")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    sizes = _sizes_of(weights)
    layout = optimizer._layout
    if layout is None or layout.sizes != sizes:
        raise ValueError(f"the optimizer was built for shapes {optimizer.shapes}, not for a {sizes} network")
    n_layers = len(weights)
    order = np.asarray(order, dtype=np.intp)
    n = order.shape[0]
    if n == 0:
        return {"gradient_norms": np.zeros(n_layers), "batch_loss": float("nan")}
    size = max(1, min(int(batch_size), n))
    starts = np.arange(0, n, size)
    counts = np.minimum(starts + size, n) - starts
    n_full = n // size
    x = np.asarray(x, dtype=np.float64)
    t = _as_target(target, output, sizes[-1])[order]
    head = f"{output}/{loss}"
    use_dropout = dropout > 0.0 and n_layers > 1
    k = sizes[-1]

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        work = optimizer._workspace()
        flat, blocks, blocks_t, block_weights = work.flat, work.blocks, work.blocks_t, work.block_weights
        grad_flat, grad_blocks = work.grad_flat, work.grad_blocks
        for blk, w, b in zip(blocks, weights, biases):
            blk[:-1] = w
            blk[-1] = b
        x_aug = np.empty((n, sizes[0] + 1))
        x_aug[:, :-1] = x[order]
        x_aug[:, -1] = 1.0
        x_batches = _batches(x_aug, size)
        t_batches = _batches(t, size)
        c_batches = [None] * len(x_batches)
        if head == "sigmoid/cross_entropy":
            c_batches = [_sigmoid_ce_offset(tb, 1.0 / tb.shape[1]) for tb in t_batches]
        mask_batches = [None] * len(x_batches)
        if use_dropout:
            scale = 1.0 / (1.0 - dropout)
            per_layer = [_batches((rng.random((n, units)) >= dropout) * scale, size) for units in sizes[1:-1]]
            mask_batches = list(zip(*per_layer))
        z_full = np.empty((n_full, k, size))
        z_batches = list(z_full)
        buffers = [work.buffers(size, use_dropout)] * n_full
        if n % size:
            z_batches.append(np.empty((k, n % size)))
            buffers.append(work.buffers(n % size, use_dropout))
        penalty_vector = None
        if regularization != "none" and rate != 0.0:
            penalty_vector = rate * layout.weight_mask
        l2 = regularization == "l2"
        squares = work.squares
        norm_squares = np.empty((len(x_batches), 2 * n_layers))
        segments = layout.segments
        step = optimizer._step_flat
        for buf, xb, tb, cb, zb, mb, row in zip(buffers, x_batches, t_batches, c_batches, z_batches, mask_batches,
                                                norm_squares):
            _backprop(buf, xb, blocks_t, block_weights, zb, tb, cb, mb, grad_blocks, activation, head)
            if penalty_vector is not None:
                if l2:
                    grad_flat += penalty_vector * flat
                else:
                    grad_flat += penalty_vector * np.sign(flat)
            np.multiply(grad_flat, grad_flat, squares)
            np.add.reduceat(squares, segments, 0, None, row)
            step(flat, grad_flat, lr)
        for blk, w, b in zip(blocks, weights, biases):
            np.copyto(w, blk[:-1])
            np.copyto(b, blk[-1])
        z_rows = z_full.transpose(0, 2, 1).reshape(n_full * size, k)
        if n % size:
            z_rows = np.concatenate([z_rows, z_batches[-1].T])
        batch_losses = np.add.reduceat(_sample_losses(z_rows, t, output, loss), starts) / counts
        norms = np.sqrt(norm_squares[:, 0::2]).sum(axis=0) / norm_squares.shape[0]
        norms[layout.empty_weights] = 0.0  # reduceat gives an empty segment the next element, not 0
    return {"gradient_norms": norms, "batch_loss": float(batch_losses.sum()) / batch_losses.shape[0]}
