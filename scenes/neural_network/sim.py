"""The neural-network playground's simulation: one step = one epoch of mini-batch training.

Pure NumPy (no Qt); the network maths is scenes.neural_network.net. Frame data (arrays are
read-only; the data points are shared by every frame of a run, curves are read-only views of the
filled part of buffers preallocated for max_epochs):

- structure: ``sizes`` [n_features, hidden..., n_outputs], ``feature_names`` (of data.FEATURES),
  ``activation``, ``output`` (sigmoid / softmax / linear), ``loss``, ``problem``, ``n_classes``
  (0 for regression), ``domain`` (the half-width of the input square);
- ``weights_1`` … ``weights_L`` (sizes[l-1], sizes[l]) and ``biases_1`` … ``biases_L``;
- ``train_x``, ``train_y``, ``validation_x``, ``validation_y`` (0 rows without early stopping),
  ``test_x``, ``test_y``: points (n, 2) and labels (int) or targets (float);
- curves, one entry per epoch 0..step: ``epochs``, ``train_loss``, ``test_loss``,
  ``validation_loss`` (the data loss without the penalty; NaN without validation points),
  ``train_accuracy`` / ``test_accuracy`` (classification, 0..1) or ``train_r2``, ``test_r2``,
  ``train_rmse``, ``test_rmse`` (regression), ``gradient_norms`` (step + 1, L): per layer the mean
  over the epoch's batches of the Frobenius norm of the weight gradient (row 0: the full-batch
  gradient at the start);
- current values: ``penalty`` (the regularisation term at the frame's weights),
  ``learning_rate_now`` (the rate the next epoch uses: base × schedule), ``confusion_matrix``
  (classification, test set, rows true class, columns predicted), ``best_epoch`` (-1 without early
  stopping), ``stopped_early``, ``diverged``.

Randomness: the epoch-e order is ``default_rng([seed, e]).permutation(n_train)``, its dropout masks
come from ``default_rng([seed, e, 1])``, the initial weights from ``default_rng([seed, 0, 2])`` (not
[seed, 2], which is epoch 2's order stream), the data from ``data_seed``: the same seed gives the
same run bit for bit, and ``restore(frame)`` is exact.

Weight edits (the hidden live parameter ``weight_edits``): a JSON string
``{"step": S, "sizes": [n_features, hidden..., n_outputs], "edits": [[layer, i, j, value], ...]}`` typed at
frame step S (``layer`` 1..L, ``i`` the source unit or -1 for the bias of unit ``j``; ``sizes``, optional,
is the network they were typed for: a network of other sizes, e.g. after a structural change from the
panel, ignores them). They are applied by ``set_params`` when the string
differs from the last one the simulation saw (part of the frame state) and S is its current step,
and by the constructor when S == 0, so replays and reopened sessions give the same run.

Divergence: an epoch that makes a weight non-finite or larger than WEIGHT_LIMIT in size, or the
training loss non-finite or above DIVERGENCE_FACTOR × max(start loss, 1), ends the run as diverged;
that epoch's curve entries say what happened, the frame keeps the last finite weights.
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np

from explorer.params import ParamError
from explorer.scene import Frame
from scenes.neural_network import data as nn_data
from scenes.neural_network import net

PROBLEMS = ("classification", "regression")
SCHEDULES = ("constant", "step", "exponential", "cosine")
#: A run diverges when its training loss passes this factor times max(start loss, 1) ...
DIVERGENCE_FACTOR = 1e3
#: ... or a weight or bias gets larger than this in size (or non-finite).
WEIGHT_LIMIT = 1e6
#: Largest size of a typed weight.
MAX_EDIT_VALUE = 100.0
#: Longest weight_edits string (one step's edits; a 6 x 8 network has 7 * 81 weights and biases).
MAX_EDITS_CHARS = 50_000
#: Step decay halves the rate this many times over max_epochs; exponential decay ends at this share.
STEP_DROPS = 4
EXPONENTIAL_END = 0.01

LOSS_NAMES = {"cross_entropy": "cross-entropy", "squared_error": "squared error"}


# -- schedules ---------------------------------------------------------------------------------
def learning_rate_factor(epoch: int, schedule: str, max_epochs: int) -> float:
    """Multiplier of the base learning rate in (0-based) ``epoch`` of a run of ``max_epochs``:
    constant 1; step 0.5 ** floor(STEP_DROPS · epoch / max_epochs) (halved at every quarter);
    exponential EXPONENTIAL_END ** (epoch / max_epochs); cosine ½ (1 + cos(π · epoch / max_epochs))."""
    span = max(1, int(max_epochs))
    share = min(max(int(epoch), 0), span) / span
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return 0.5 ** math.floor(STEP_DROPS * share)
    if schedule == "exponential":
        return EXPONENTIAL_END ** share
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * share))
    raise ValueError(f"unknown schedule {schedule!r}; allowed: {', '.join(SCHEDULES)}")


# -- weight edits ------------------------------------------------------------------------------
def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_weight_edits(text: str) -> tuple[int, list[tuple[int, int, int, float]]] | None:
    """(step, [(layer, i, j, value), ...]) of a weight_edits string, None for ""; raises ParamError
    (one line) for anything else than ``{"step": S, "edits": [[layer, i, j, value], ...]}`` with
    whole numbers S >= 0, layer >= 1, i >= -1, j >= 0 and a finite value of size <= MAX_EDIT_VALUE."""
    if text == "":
        return None
    if not isinstance(text, str):
        raise ParamError(f"expected a JSON string, got {type(text).__name__}")
    if len(text) > MAX_EDITS_CHARS:
        raise ParamError(f"{len(text):,} characters; at most {MAX_EDITS_CHARS:,} are allowed")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, an int of too many digits
        raise ParamError(f"not valid JSON ({str(error)[:80]}); expected "
                         '{"step": S, "edits": [[layer, i, j, value], ...]}') from None
    if not isinstance(document, dict) or set(document) - {"sizes"} != {"step", "edits"}:
        raise ParamError('expected an object {"step": S, "sizes": [...], "edits": [[layer, i, j, value], ...]} '
                         '("sizes" optional)')
    step, edits = document["step"], document["edits"]
    sizes = document.get("sizes")
    if sizes is not None and not (isinstance(sizes, list) and 2 <= len(sizes) <= MAX_SIZES
                                  and all(_whole(n) and 0 <= n <= MAX_UNITS for n in sizes)):
        raise ParamError(f"sizes: expected a list of 2 to {MAX_SIZES} whole numbers from 0 to {MAX_UNITS}")
    if not _whole(step) or step < 0:
        raise ParamError(f"step: expected a whole number >= 0, got {json.dumps(step)[:40]}")
    if not isinstance(edits, list):
        raise ParamError("edits: expected a list of [layer, i, j, value]")
    parsed = []
    for index, edit in enumerate(edits):
        if not isinstance(edit, list) or len(edit) != 4:
            raise ParamError(f"edits[{index}]: expected [layer, i, j, value]")
        layer, i, j, value = edit
        if not (_whole(layer) and layer >= 1 and _whole(i) and i >= -1 and _whole(j) and j >= 0):
            raise ParamError(f"edits[{index}]: layer (>= 1), i (>= -1: -1 is the bias) and j (>= 0) must be "
                             "whole numbers")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > MAX_EDIT_VALUE:
            raise ParamError(f"edits[{index}]: the value must be a finite number of size at most "
                             f"{MAX_EDIT_VALUE:g}, got {json.dumps(value)[:40]}")
        parsed.append((layer, i, j, float(value)))
    return step, parsed


#: Bounds of a weight_edits string's "sizes" (inputs + 6 hidden layers + output; units per layer).
MAX_SIZES = 8
MAX_UNITS = 64


def edits_fit(edits_text: str, weights) -> bool:
    """Whether the edits were typed for a network of these weights' sizes (True without "sizes")."""
    try:
        sizes = json.loads(edits_text).get("sizes")
    except (ValueError, AttributeError, RecursionError):
        return False
    if sizes is None:
        return True
    return sizes == [int(w.shape[0]) for w in weights] + [int(weights[-1].shape[1])] if weights else False


def apply_weight_edits(weights, biases, edits_text: str, step: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Copies of the weights and biases with the edits of ``edits_text`` set when it was typed at
    ``step`` (otherwise plain copies); edits that do not fit the network, and a string that is
    not valid, are skipped."""
    weights = [np.array(w, dtype=np.float64) for w in weights]
    biases = [np.array(b, dtype=np.float64) for b in biases]
    try:
        parsed = parse_weight_edits(edits_text)
    except ParamError:
        return weights, biases
    if parsed is None or parsed[0] != step or not edits_fit(edits_text, weights):
        return weights, biases
    for layer, i, j, value in parsed[1]:
        if layer > len(weights):
            continue
        w, b = weights[layer - 1], biases[layer - 1]
        if j >= w.shape[1] or i >= w.shape[0]:
            continue
        if i == -1:
            b[j] = value
        else:
            w[i, j] = value
    return weights, biases


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _view(buffer: np.ndarray, count: int) -> np.ndarray:
    view = buffer[:count]
    view.flags.writeable = False
    return view


# -- the simulation ------------------------------------------------------------------------------
class Simulation:
    """Mini-batch training of a small MLP on 2-D data; one frame per epoch."""

    def __init__(self, params: Mapping[str, Any], seed: int, data: Any = None) -> None:
        self.params = dict(params)
        self.seed = int(seed)
        p = self.params
        self.problem = p["problem"]
        self.classification = self.problem == "classification"
        self.max_epochs = int(p["max_epochs"])
        self.early_stopping = bool(p["early_stopping"])
        self.notes: list[str] = []
        self.data_error = ""
        self.user_data = False
        self.split = self._load_data(data)
        s = self.split

        self.feature_names = tuple(name for name in nn_data.FEATURES if p[f"feature_{name}"])
        self.n_classes = s.n_classes
        if self.classification:
            self.output = "sigmoid" if self.n_classes <= 2 else "softmax"
            n_out = 1 if self.n_classes <= 2 else self.n_classes
            self.loss = p["loss"]
        else:
            self.output, n_out, self.loss = "linear", 1, "squared_error"
        hidden = [int(p[f"neurons_{i}"]) for i in range(1, int(p["hidden_layers"]) + 1)]
        self.sizes = [len(self.feature_names), *hidden, n_out]
        self.activation = p["activation"]
        self.batch_size = int(p["batch_size"])

        # Inputs and targets, computed once (read-only).
        self.train_in = _readonly(nn_data.features(s.train_x, self.feature_names))
        self.validation_in = _readonly(nn_data.features(s.validation_x, self.feature_names))
        self.test_in = _readonly(nn_data.features(s.test_x, self.feature_names))
        self.train_target = _readonly(self._target(s.train_y))
        self.validation_target = _readonly(self._target(s.validation_y))
        self.test_target = _readonly(self._target(s.test_y))

        # Initial weights: a network without inputs is drawn with one input row, then that row goes
        # (He's variance would divide by a fan-in of 0).
        rng = np.random.default_rng([self.seed, 0, 2])
        drawn = [max(1, self.sizes[0]), *self.sizes[1:]]
        weights, biases = net.init_params(drawn, p["init"], rng)
        weights = [np.array(w, dtype=np.float64) for w in weights]
        biases = [np.array(b, dtype=np.float64) for b in biases]
        if self.sizes[0] == 0:
            weights[0] = np.zeros((0, self.sizes[1]))
        self.weights, self.biases = weights, biases
        self.layers = len(self.weights)
        self.optimizer = net.Optimizer(p["optimizer"], self._shapes(), momentum=float(p["momentum"]))

        # Curve buffers for every epoch a run can have; frames hold read-only views of the filled part.
        cap = self.max_epochs + 1
        self._epochs = _readonly(np.arange(cap, dtype=np.int64))
        names = ["train_loss", "test_loss", "validation_loss"]
        names += ["train_accuracy", "test_accuracy"] if self.classification else \
            ["train_r2", "test_r2", "train_rmse", "test_rmse"]
        self._curves = {name: np.full(cap, np.nan) for name in names}
        self._gradient_norms = np.full((cap, self.layers), np.nan)

        self._step = 0
        self.best_epoch = -1
        self.best_loss = math.inf
        self.best_weights: tuple | None = None
        self.best_biases: tuple | None = None
        self.stopped_early = False
        self.stop_patience = 0
        self.diverged = ""  # why, once diverged
        self.diverged_epoch = 0
        self._edits_seen = p["weight_edits"]
        if self._edits_seen:
            self.weights, self.biases = apply_weight_edits(self.weights, self.biases, self._edits_seen, 0)

        current = self._current = self._evaluate()
        self._record(0, current)
        self._gradient_norms[0] = self._full_gradient_norms()
        self.start_loss = current["train_loss"]
        limit_base = self.start_loss if math.isfinite(self.start_loss) else 1.0
        self.loss_limit = DIVERGENCE_FACTOR * max(limit_base, 1.0)
        if self.validating:
            self._new_best(0, current["validation_loss"])
        self._static = self._static_data()

    # -- data ---------------------------------------------------------------------------------
    def _load_data(self, data: Any) -> nn_data.Split:
        p = self.params
        validation = float(p["validation_fraction"]) if self.early_stopping else 0.0
        if data is not None and self.classification:
            self.user_data = True
            try:
                split = nn_data.user_split(data, float(p["train_fraction"]), validation, self.seed)
            except ValueError as error:  # DataError and friends: a state with a message, never into Qt
                self.data_error = str(error)
                empty = np.zeros((0, 2))
                return nn_data.split_points(empty, np.zeros(0, dtype=np.int64), 0.5, 0.0, None, 2)
            self.notes.append(f"your own {len(split.train_x) + len(split.validation_x) + len(split.test_x):,} "
                              "points (Regenerate returns to generated data)")
            if split.note:
                self.notes.append(split.note)
            return split
        if data is not None:
            self.notes.append("your points are classification data: regression uses the generated data set")
        dataset = p["dataset"] if self.classification else p["regression_dataset"]
        classes = int(p["n_classes"]) if dataset in ("gauss", "spiral") else 2
        return nn_data.generated_split(self.problem, dataset, int(p["n_samples"]), float(p["noise"]),
                                       int(p["data_seed"]), classes, float(p["train_fraction"]), validation)

    def _target(self, y: np.ndarray) -> np.ndarray:
        if not self.classification:
            return np.asarray(y, dtype=np.float64).reshape(-1, 1)
        if self.n_classes <= 2:
            return np.asarray(y, dtype=np.float64).reshape(-1, 1)
        return np.eye(self.n_classes)[np.asarray(y, dtype=np.int64)]

    def _shapes(self) -> list[tuple[int, ...]]:
        return [w.shape for w in self.weights] + [b.shape for b in self.biases]

    @property
    def validating(self) -> bool:
        return self.early_stopping and len(self.validation_in) > 0

    def _static_data(self) -> dict[str, Any]:
        s = self.split
        return {
            "sizes": _readonly(np.array(self.sizes, dtype=np.int64)),
            "feature_names": _readonly(np.array(self.feature_names, dtype="<U16")),
            "activation": self.activation, "output": self.output, "loss": self.loss, "problem": self.problem,
            "n_classes": int(self.n_classes), "domain": float(nn_data.DOMAIN),
            "train_x": s.train_x, "train_y": s.train_y, "validation_x": s.validation_x,
            "validation_y": s.validation_y, "test_x": s.test_x, "test_y": s.test_y,
        }

    def __setstate__(self, state: dict) -> None:
        # Unpickled arrays come back writeable: frames would copy them each step. Shared again.
        self.__dict__.update(state)
        for value in self._static.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    # -- evaluation ------------------------------------------------------------------------------
    def _predict(self, inputs: np.ndarray) -> np.ndarray:
        return net.predict(self.weights, self.biases, inputs, self.activation, self.output)

    def _loss(self, out: np.ndarray, target: np.ndarray) -> float:
        if len(target) == 0:
            return math.nan
        return float(net.data_loss(out, target, self.output, self.loss))

    def _classes(self, out: np.ndarray) -> np.ndarray:
        if out.shape[1] == 1:
            return (out[:, 0] >= 0.5).astype(np.int64)
        return np.argmax(out, axis=1)

    def _evaluate(self) -> dict[str, Any]:
        """Losses and metrics of the current weights on every set."""
        with np.errstate(all="ignore"):
            out_train = self._predict(self.train_in)
            out_test = self._predict(self.test_in)
            result: dict[str, Any] = {
                "train_loss": self._loss(out_train, self.train_target),
                "test_loss": self._loss(out_test, self.test_target),
                "validation_loss": (self._loss(self._predict(self.validation_in), self.validation_target)
                                    if self.validating else math.nan),
                "penalty": float(net.penalty(self.weights, self.params["regularization"],
                                             float(self.params["regularization_rate"]))),
            }
            s = self.split
            if self.classification:
                k = max(self.n_classes, 2)
                for name, out, y in (("train", out_train, s.train_y), ("test", out_test, s.test_y)):
                    predicted = self._classes(out)
                    result[f"{name}_accuracy"] = float(np.mean(predicted == y)) if len(y) else math.nan
                    if name == "test":
                        cells = np.bincount(np.asarray(y, dtype=np.int64) * k + predicted, minlength=k * k)
                        result["confusion_matrix"] = _readonly(cells[:k * k].reshape(k, k))
            else:
                for name, out, y in (("train", out_train, s.train_y), ("test", out_test, s.test_y)):
                    if len(y) == 0:
                        result[f"{name}_r2"] = result[f"{name}_rmse"] = math.nan
                        continue
                    residual = float(np.sum((out[:, 0] - y) ** 2))
                    total = float(np.sum((y - y.mean()) ** 2))
                    result[f"{name}_r2"] = 1.0 - residual / total if total > 0 else math.nan
                    result[f"{name}_rmse"] = math.sqrt(residual / len(y))
        return result

    def _full_gradient_norms(self) -> np.ndarray:
        if len(self.train_in) == 0:
            return np.full(self.layers, np.nan)
        with np.errstate(all="ignore"):
            _, grad_w, _ = net.gradients(self.weights, self.biases, self.train_in, self.train_target,
                                         self.activation, self.output, self.loss,
                                         self.params["regularization"], float(self.params["regularization_rate"]))
        return np.array([np.linalg.norm(g) for g in grad_w])

    def _record(self, epoch: int, current: Mapping[str, Any]) -> None:
        for name, buffer in self._curves.items():
            buffer[epoch] = current[name]

    @property
    def current(self) -> dict[str, Any]:
        if self._current is None:
            self._current = self._evaluate()
        return self._current

    def _new_best(self, epoch: int, loss: float) -> None:
        self.best_epoch, self.best_loss = epoch, loss
        self.best_weights = tuple(_readonly(w.copy()) for w in self.weights)
        self.best_biases = tuple(_readonly(b.copy()) for b in self.biases)

    # -- the contract ------------------------------------------------------------------------------
    @property
    def blocked(self) -> str:
        """Why the run cannot train at all ("" when it can)."""
        if self.data_error:
            return self.data_error
        if not self.feature_names:
            return "turn on at least one input feature (X₁, X₂, …): the network has no input"
        if len(self.train_in) == 0:
            return "no training points: raise the number of samples or the training share"
        return ""

    @property
    def done(self) -> bool:
        return bool(self._step >= self.max_epochs or self.diverged or self.stopped_early or self.blocked)

    def learning_rate_at(self, epoch: int) -> float:
        p = self.params
        return float(p["learning_rate"]) * learning_rate_factor(min(epoch, self.max_epochs - 1), p["schedule"],
                                                                self.max_epochs)

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Live changes (learning rate, momentum, schedule, regularisation, patience, dropout, typed
        weights) apply from the next epoch."""
        self.params = dict(params)
        if hasattr(self.optimizer, "momentum"):
            self.optimizer.momentum = float(self.params["momentum"])
        text = self.params["weight_edits"]
        if text != self._edits_seen:
            self._edits_seen = text
            try:
                parsed = parse_weight_edits(text)
            except ParamError:
                parsed = None
            if parsed is not None and parsed[0] == self._step:
                self.weights, self.biases = apply_weight_edits(self.weights, self.biases, text, self._step)
        self._current = None

    def step(self) -> Frame:
        if self.done:
            return self.frame()
        p = self.params
        epoch = self._step
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.train_in))
        dropout_rng = np.random.default_rng([self.seed, epoch, 1])
        rate = self.learning_rate_at(epoch)
        weights = [w.copy() for w in self.weights]
        biases = [b.copy() for b in self.biases]
        optimizer_state = self.optimizer.state()
        with np.errstate(all="ignore"):
            result = net.train_epoch(self.weights, self.biases, self.optimizer, self.train_in, self.train_target,
                                     order, self.batch_size, rate, self.activation, self.output, self.loss,
                                     p["regularization"], float(p["regularization_rate"]), float(p["dropout"]),
                                     dropout_rng)
        self._step = epoch + 1
        current = self._evaluate()
        self._record(self._step, current)
        self._gradient_norms[self._step] = result["gradient_norms"]
        reason = self._divergence(current, rate)
        if reason:
            self.diverged, self.diverged_epoch = reason, self._step
            self.weights, self.biases = weights, biases
            self.optimizer.set_state(optimizer_state)
            current = self._evaluate()
        elif self.validating:
            loss = current["validation_loss"]
            if loss < self.best_loss:
                self._new_best(self._step, loss)
            elif self._step - self.best_epoch >= int(p["patience"]):
                self.stopped_early, self.stop_patience = True, int(p["patience"])
                self.weights = [w.copy() for w in self.best_weights]
                self.biases = [b.copy() for b in self.best_biases]
                current = self._evaluate()
        self._current = current
        return self.frame()

    def _divergence(self, current: Mapping[str, Any], rate: float) -> str:
        """Why the epoch just done diverged ("" if it did not)."""
        largest = max((float(np.max(np.abs(a))) if a.size else 0.0 for a in (*self.weights, *self.biases)),
                      default=0.0)
        cause = ""
        if not math.isfinite(largest):
            cause = "a weight became " + ("NaN" if math.isnan(largest) else "infinite")
        elif largest > WEIGHT_LIMIT:
            cause = f"a weight reached {largest:.3g} in size (limit {WEIGHT_LIMIT:g})"
        else:
            loss = current["train_loss"]
            if not math.isfinite(loss):
                cause = f"the training loss became {loss}"
            elif loss > self.loss_limit:
                cause = (f"the training loss reached {loss:.3g} (over {DIVERGENCE_FACTOR:g} × max(start loss, 1) "
                         f"= {self.loss_limit:.3g})")
        if not cause:
            return ""
        regularization = self.params["regularization"]
        if regularization != "none" and float(self.params["regularization_rate"]) * rate > 1:
            why = (f"learning rate {rate:g} × {regularization.upper()} rate "
                   f"{float(self.params['regularization_rate']):g} is too large")
        else:
            why = f"learning rate {rate:g} is too large"
        return f"{cause}: {why}"

    def frame(self) -> Frame:
        k = self._step
        current = self.current
        data: dict[str, Any] = dict(self._static)
        weights = tuple(_readonly(w.copy()) for w in self.weights)
        biases = tuple(_readonly(b.copy()) for b in self.biases)
        for index, (w, b) in enumerate(zip(weights, biases), start=1):
            data[f"weights_{index}"] = w
            data[f"biases_{index}"] = b
        data["epochs"] = _view(self._epochs, k + 1)
        for name, buffer in self._curves.items():
            data[name] = _view(buffer, k + 1)
        data["gradient_norms"] = _view(self._gradient_norms, k + 1)
        data["penalty"] = current["penalty"]
        data["learning_rate_now"] = self.learning_rate_at(k)
        if self.classification:
            data["confusion_matrix"] = current["confusion_matrix"]
        data["best_epoch"] = int(self.best_epoch)
        data["stopped_early"] = bool(self.stopped_early)
        data["diverged"] = bool(self.diverged)
        state = {
            "step": k, "weights": weights, "biases": biases, "optimizer": self.optimizer.state(),
            "best_epoch": self.best_epoch, "best_loss": self.best_loss, "best_weights": self.best_weights,
            "best_biases": self.best_biases, "stopped_early": self.stopped_early,
            "stop_patience": self.stop_patience, "diverged": self.diverged, "diverged_epoch": self.diverged_epoch,
            "edits_seen": self._edits_seen,
        }
        return Frame(k, data, state, self._message(current), self.done)

    def restore(self, frame: Frame) -> None:
        s = frame.state
        self._step = s["step"]
        self.weights = [np.array(w) for w in s["weights"]]
        self.biases = [np.array(b) for b in s["biases"]]
        self.optimizer.set_state(s["optimizer"])
        self.best_epoch, self.best_loss = s["best_epoch"], s["best_loss"]
        self.best_weights, self.best_biases = s["best_weights"], s["best_biases"]
        self.stopped_early, self.stop_patience = s["stopped_early"], s["stop_patience"]
        self.diverged, self.diverged_epoch = s["diverged"], s["diverged_epoch"]
        self._edits_seen = s["edits_seen"]
        # The curves up to this step, from the frame (usually a view of the same buffer: a no-op copy;
        # a frame that came back from another process carries its own copy).
        count = self._step + 1
        for name, buffer in self._curves.items():
            np.copyto(buffer[:count], frame.data[name])
        np.copyto(self._gradient_norms[:count], frame.data["gradient_norms"])
        self._current = None

    # -- the status line -------------------------------------------------------------------------
    def _message(self, current: Mapping[str, Any]) -> str:
        k = self._step
        blocked = self.blocked
        if blocked:
            return "; ".join([blocked, *self.notes])
        if self.diverged:
            parts = [f"diverged at epoch {self.diverged_epoch}: {self.diverged}; the last finite weights "
                     f"(epoch {self.diverged_epoch - 1}) are shown"]
        else:
            loss_name = LOSS_NAMES[self.loss]
            where = f"epoch {k} (weights of epoch {self.best_epoch})" if self.stopped_early else f"epoch {k}"
            status = f"{where}: train loss {current['train_loss']:.3g}, test loss {current['test_loss']:.3g} " \
                     f"({loss_name}, without the penalty)"
            if self.classification:
                status += f"; test accuracy {100 * current['test_accuracy']:.1f} %"
            else:
                status += f"; test R² {current['test_r2']:.3f}, test RMSE {current['test_rmse']:.3g}"
            if self.params["regularization"] != "none":
                status += f"; penalty {current['penalty']:.3g}"
            parts = [status]
            if self.stopped_early:
                parts.insert(0, f"stopped early at epoch {k}: validation loss had not improved for "
                                f"{self.stop_patience} epochs; weights restored from epoch {self.best_epoch}")
            elif k >= self.max_epochs:
                parts.insert(0, f"finished {self.max_epochs} epochs")
        return "; ".join(parts + self.notes)


def check_weight_edits(text: str) -> None:
    """The weight_edits parameter's check (Text.check): raises ParamError for a string that is not
    "" or a valid edit list (a module-level function, so the declaration pickles)."""
    parse_weight_edits(text)
