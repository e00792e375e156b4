"""The neural-network scene's NumPy MLP (scenes/neural_network/net.py) against independent truth: central finite
differences for every gradient, scikit-learn's MLPClassifier / MLPRegressor for SGD and momentum updates, the
textbook Adam formula, closed forms, and two problems the right features make linearly separable."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from scenes.neural_network import net

HEADS = [("sigmoid", "cross_entropy"), ("sigmoid", "squared_error"), ("softmax", "cross_entropy"),
         ("softmax", "squared_error"), ("linear", "squared_error")]
SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}


def _targets(output: str, m: int, k: int, rng) -> np.ndarray:
    if output == "softmax":
        return np.eye(k)[rng.integers(0, k, m)]
    if output == "sigmoid":
        return rng.integers(0, 2, (m, 1)).astype(float)
    return rng.normal(size=(m, 1))


def _problem(activation, output, seed=3, m=7, sizes_hidden=(4, 3)):
    rng = np.random.default_rng(seed)
    k = 3 if output == "softmax" else 1
    sizes = [2, *sizes_hidden, k]
    weights = [rng.normal(0.0, 0.8, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0.0, 0.5, b) for b in sizes[1:]]
    x = rng.uniform(-1.5, 1.5, (m, 2))
    return weights, biases, x, _targets(output, m, k, rng), rng


def _pre_activations(weights, biases, x, activation, masks):
    a, out = x, []
    for l in range(len(weights) - 1):
        z = a @ weights[l] + biases[l]
        out.append(z)
        a = net.activate(activation, z)
        if masks is not None:
            a = a * masks[l]
    return out


def _numeric_gradient(f, arrays, h=1e-6):
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + h
            up = f()
            a[idx] = old - h
            down = f()
            a[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout-mask"])
@pytest.mark.parametrize("regularization", net.REGULARIZATIONS)
@pytest.mark.parametrize("output,loss", HEADS)
@pytest.mark.parametrize("activation", net.ACTIVATIONS)
def test_every_gradient_equals_central_finite_differences(activation, output, loss, regularization, dropout):
    weights, biases, x, target, rng = _problem(activation, output)
    masks = None
    if dropout:  # a fixed inverted-dropout mask (p = 0.4) on both hidden layers
        masks = [(rng.random((x.shape[0], w.shape[1])) >= 0.4) / 0.6 for w in weights[:-1]]
        assert all(0 < mk.mean() for mk in masks) and any((mk == 0).any() for mk in masks)
    rate = 0.37
    # the finite differences are only valid away from relu's kink and |w|'s kink at 0
    assert min(np.abs(z).min() for z in _pre_activations(weights, biases, x, activation, masks)) > 1e-3
    assert min(np.abs(w).min() for w in weights) > 1e-3

    def objective():  # the exact loss from the logits: probabilities near 0 / 1 would lose digits
        z = net.logits(weights, biases, x, activation, masks)
        return net.loss_from_logits(z, target, output, loss) + net.penalty(weights, regularization, rate)

    value, grad_w, grad_b = net.gradients(weights, biases, x, target, activation, output, loss,
                                          regularization, rate, masks)
    from_probabilities = net.data_loss(net.forward(weights, biases, x, activation, output, masks)[-1], target,
                                       output, loss)
    assert value == pytest.approx(from_probabilities, rel=1e-9)
    numeric = _numeric_gradient(objective, weights + biases)
    for ours, theirs in zip(grad_w + grad_b, numeric):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)
    if dropout:  # the mask really enters the gradient
        _, plain_w, _ = net.gradients(weights, biases, x, target, activation, output, loss, regularization, rate)
        assert not np.allclose(plain_w[0], grad_w[0])


def test_gradients_without_hidden_layer_equal_finite_differences():
    rng = np.random.default_rng(5)
    weights, biases = [rng.normal(size=(3, 1))], [rng.normal(size=1)]
    x, target = rng.normal(size=(9, 3)), rng.integers(0, 2, (9, 1)).astype(float)

    def objective():
        return net.data_loss(net.predict(weights, biases, x, "tanh", "sigmoid"), target, "sigmoid", "cross_entropy")

    _, grad_w, grad_b = net.gradients(weights, biases, x, target, "tanh", "sigmoid", "cross_entropy")
    for ours, theirs in zip(grad_w + grad_b, _numeric_gradient(objective, weights + biases)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    # logistic regression in closed form: dL/dw = X^T (p - y) / m
    p = 1 / (1 + np.exp(-(x @ weights[0] + biases[0])))
    np.testing.assert_allclose(grad_w[0], x.T @ (p - target) / 9, rtol=1e-12)


# ---------------------------------------------------------------------------------------------- scikit-learn
def _sklearn_copy(model_class, weights, biases, x, y, **kwargs):
    """A scikit-learn MLP initialised through its own path (one partial_fit), then given our weights and a
    fresh optimiser (zero velocities / moments)."""
    hidden = tuple(w.shape[1] for w in weights[:-1])
    model = model_class(hidden_layer_sizes=hidden, shuffle=False, learning_rate="constant", random_state=0,
                        **kwargs)
    extra = {"classes": np.unique(y)} if model_class.__name__ == "MLPClassifier" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(x, y, **extra)
    assert [c.shape for c in model.coefs_] == [w.shape for w in weights]
    model.coefs_ = [w.copy() for w in weights]
    model.intercepts_ = [b.copy() for b in biases]
    del model._optimizer
    return model


def _data(n_classes, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (m, 2))
    y = rng.integers(0, n_classes, m) if n_classes else rng.normal(size=m)
    return x, y, rng


@pytest.mark.parametrize("activation", net.ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3, 0], ids=["binary", "3-class", "regression"])
def test_one_sgd_step_equals_scikit_learn(activation, n_classes):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    m, rate, lr = 30, 0.2, 0.1
    x, y, rng = _data(n_classes, m, seed=11)
    output = {2: "sigmoid", 3: "softmax", 0: "linear"}[n_classes]
    loss = "squared_error" if n_classes == 0 else "cross_entropy"
    k = 3 if n_classes == 3 else 1
    weights, biases = net.init_params([2, 4, 3, k], "xavier", rng)
    biases = [rng.normal(0, 0.3, b.shape) for b in biases]
    model_class = MLPRegressor if n_classes == 0 else MLPClassifier
    model = _sklearn_copy(model_class, weights, biases, x, y, activation=SKLEARN_ACTIVATION[activation],
                          solver="sgd", momentum=0.0, nesterovs_momentum=False, alpha=rate * m, batch_size=m,
                          learning_rate_init=lr)
    model.partial_fit(x, y)
    target = np.eye(3)[y] if k == 3 else y.reshape(-1, 1).astype(float)
    value, _, _ = net.gradients(weights, biases, x, target, activation, output, loss, "l2", rate)
    optimizer = net.Optimizer("sgd", [w.shape for w in weights] + [b.shape for b in biases])
    result = net.train_epoch(weights, biases, optimizer, x, target, np.arange(m), m, lr, activation, output, loss,
                             "l2", rate, 0.0, None)
    for ours, theirs in zip(weights + biases, model.coefs_ + model.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert result["batch_loss"] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("activation", net.ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3, 0], ids=["binary", "3-class", "regression"])
def test_forward_equals_scikit_learn_prediction_and_a_plain_loop(activation, n_classes):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    x, y, rng = _data(n_classes, 64, seed=13)
    k = 3 if n_classes == 3 else 1
    weights, biases = net.init_params([2, 5, 4, k], "he", rng)
    biases = [rng.normal(0, 0.5, b.shape) for b in biases]
    model_class = MLPRegressor if n_classes == 0 else MLPClassifier
    model = _sklearn_copy(model_class, weights, biases, x, y, activation=SKLEARN_ACTIVATION[activation],
                          solver="sgd", batch_size=64)
    output = {2: "sigmoid", 3: "softmax", 0: "linear"}[n_classes]
    layers = net.forward(weights, biases, x, activation, output)
    if n_classes == 0:
        np.testing.assert_allclose(layers[-1][:, 0], model.predict(x), rtol=1e-12, atol=1e-13)
    else:
        np.testing.assert_allclose(layers[-1], model.predict_proba(x)[:, -k:], rtol=1e-12, atol=1e-13)
    a = x
    for l in range(2):  # the hidden layers, row by row in plain NumPy
        a = net.activate(activation, a @ weights[l] + biases[l])
        np.testing.assert_allclose(layers[l + 1], a, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.logits(weights, biases, x, activation), a @ weights[2] + biases[2], rtol=1e-13,
                               atol=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sklearn_loss_equals_data_loss_plus_penalty(n_classes):
    from sklearn.neural_network import MLPClassifier

    m, rate = 40, 0.5
    x, y, rng = _data(n_classes, m, seed=2)
    k = 3 if n_classes == 3 else 1
    weights, biases = net.init_params([2, 5, k], "he", rng)
    model = _sklearn_copy(MLPClassifier, weights, biases, x, y, activation="tanh", solver="sgd", momentum=0.0,
                          nesterovs_momentum=False, alpha=rate * m, batch_size=m, learning_rate_init=0.01)
    model.partial_fit(x, y)
    output = "softmax" if k == 3 else "sigmoid"
    target = np.eye(3)[y] if k == 3 else y.reshape(-1, 1).astype(float)
    value, _, _ = net.gradients(weights, biases, x, target, "tanh", output, "cross_entropy")
    assert model.loss_ == pytest.approx(value + net.penalty(weights, "l2", rate), rel=1e-12)


@pytest.mark.parametrize("kind,momentum", [("sgd", 0.0), ("momentum", 0.9)])
def test_mini_batch_epochs_equal_scikit_learn(kind, momentum):
    """Several batches per epoch (the optimiser state carried across batches and epochs): n = 50, batch 10."""
    from sklearn.neural_network import MLPClassifier

    m, batch, rate, lr = 50, 10, 0.1, 0.05
    x, y, rng = _data(2, m, seed=7)
    weights, biases = net.init_params([2, 4, 2, 1], "xavier", rng)
    model = _sklearn_copy(MLPClassifier, weights, biases, x, y, activation="tanh", solver="sgd", momentum=momentum,
                          nesterovs_momentum=False, alpha=rate * batch, batch_size=batch, learning_rate_init=lr)
    optimizer = net.Optimizer(kind, [w.shape for w in weights] + [b.shape for b in biases], momentum=momentum)
    for _ in range(3):
        model.partial_fit(x, y)
        net.train_epoch(weights, biases, optimizer, x, y.reshape(-1, 1).astype(float), np.arange(m), batch, lr,
                        "tanh", "sigmoid", "cross_entropy", "l2", rate, 0.0, None)
    assert optimizer.step_count == 15
    for ours, theirs in zip(weights + biases, model.coefs_ + model.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def test_a_smaller_last_batch_equals_scikit_learn():
    from sklearn.neural_network import MLPClassifier

    m, batch = 47, 10  # batches of 10, 10, 10, 10, 7
    x, y, rng = _data(3, m, seed=8)
    weights, biases = net.init_params([2, 6, 3], "xavier", rng)
    model = _sklearn_copy(MLPClassifier, weights, biases, x, y, activation="relu", solver="sgd", momentum=0.0,
                          nesterovs_momentum=False, alpha=0.0, batch_size=batch, learning_rate_init=0.2)
    model.partial_fit(x, y)
    optimizer = net.Optimizer("sgd", [w.shape for w in weights] + [b.shape for b in biases])
    net.train_epoch(weights, biases, optimizer, x, np.eye(3)[y], np.arange(m), batch, 0.2, "relu", "softmax",
                    "cross_entropy", "none", 0.0, 0.0, None)
    for ours, theirs in zip(weights + biases, model.coefs_ + model.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def test_adam_equals_scikit_learn_when_epsilon_is_negligible():
    """scikit-learn puts epsilon outside the bias correction (lr_t m / (sqrt(v) + eps)); with a negligible eps the
    two forms are the same update."""
    from sklearn.neural_network import MLPClassifier

    m, batch, lr = 40, 8, 0.01
    x, y, rng = _data(2, m, seed=9)
    weights, biases = net.init_params([2, 3, 3, 1], "xavier", rng)
    model = _sklearn_copy(MLPClassifier, weights, biases, x, y, activation="tanh", solver="adam", beta_1=0.8,
                          beta_2=0.95, epsilon=1e-30, alpha=0.0, batch_size=batch, learning_rate_init=lr)
    optimizer = net.Optimizer("adam", [w.shape for w in weights] + [b.shape for b in biases], beta1=0.8,
                              beta2=0.95, eps=1e-30)
    for _ in range(2):
        model.partial_fit(x, y)
        net.train_epoch(weights, biases, optimizer, x, y.reshape(-1, 1).astype(float), np.arange(m), batch, lr,
                        "tanh", "sigmoid", "cross_entropy", "none", 0.0, 0.0, None)
    for ours, theirs in zip(weights + biases, model.coefs_ + model.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


# ---------------------------------------------------------------------------------------------- optimisers
def test_momentum_and_adam_two_steps_by_hand():
    p0 = [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.75])]
    g1 = [np.array([[0.1, -0.3], [2.0, 0.0]]), np.array([-1.0, 0.4])]
    g2 = [np.array([[-0.2, 0.5], [1.0, 0.7]]), np.array([0.3, 0.3])]
    lr, mu = 0.1, 0.8
    params = [p.copy() for p in p0]
    optimizer = net.Optimizer("momentum", [p.shape for p in params], momentum=mu)
    optimizer.step(params, g1, lr)
    optimizer.step(params, g2, lr)
    for p, a, b, c in zip(params, p0, g1, g2):
        v1 = -lr * b
        v2 = mu * v1 - lr * c
        np.testing.assert_allclose(p, a + v1 + v2, rtol=1e-15)

    b1, b2, eps = 0.9, 0.999, 1e-8
    params = [p.copy() for p in p0]
    optimizer = net.Optimizer("adam", [p.shape for p in params])
    optimizer.step(params, g1, lr)
    optimizer.step(params, g2, lr)
    for p, a, ga, gb in zip(params, p0, g1, g2):
        expected = a.copy()
        m = v = 0.0
        for t, g in ((1, ga), (2, gb)):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            expected = expected - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(p, expected, rtol=1e-13)
    # the first Adam step moves every parameter with a non-zero gradient by ~lr (m_hat / sqrt(v_hat) = sign g)
    params = [p.copy() for p in p0]
    net.Optimizer("adam", [p.shape for p in params]).step(params, g1, lr)
    moved = np.concatenate([(p - a).ravel() for p, a in zip(params, p0)])
    signs = np.concatenate([np.sign(g).ravel() for g in g1])
    np.testing.assert_allclose(moved, -lr * signs, atol=1e-6)


@pytest.mark.parametrize("kind", net.OPTIMIZERS)
def test_optimizer_state_round_trip_reproduces_the_next_epoch(kind):
    x, y, rng = _data(2, 60, seed=4)
    target = y.reshape(-1, 1).astype(float)
    weights, biases = net.init_params([2, 4, 2, 1], "xavier", rng)
    optimizer = net.Optimizer(kind, [w.shape for w in weights] + [b.shape for b in biases])

    def epoch(e):
        return net.train_epoch(weights, biases, optimizer, x, target, np.random.default_rng([1, e]).permutation(60),
                               10, 0.05, "tanh", "sigmoid", "cross_entropy", "l2", 0.01, 0.3,
                               np.random.default_rng([1, e, 1]))

    epoch(0)
    epoch(1)
    saved_state = optimizer.state()
    saved = [a.copy() for a in weights + biases]
    epoch(2)
    after = [a.copy() for a in weights + biases]
    # state() holds copies: changing the live state does not change the saved one
    if kind != "sgd":
        assert not all(np.array_equal(a, b) for a, b in zip(optimizer.state()[("velocity" if kind == "momentum"
                                                                                 else "m")],
                                                             saved_state["velocity" if kind == "momentum" else "m"]))
    assert saved_state["step_count"] == 12 and optimizer.step_count == 18
    fresh = net.Optimizer(kind, optimizer.shapes)
    fresh.set_state(saved_state)
    optimizer = fresh
    for a, s in zip(weights + biases, saved):
        a[...] = s
    epoch(2)
    for a, b in zip(weights + biases, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
def test_a_pickled_or_copied_optimizer_trains_like_the_original(copier):
    """Simulations travel to worker processes: the copy's state views must still alias its flat vectors."""
    import copy
    import pickle

    x, y, rng = _data(2, 40, seed=10)
    target = y.reshape(-1, 1).astype(float)
    weights, biases = net.init_params([2, 3, 2, 1], "xavier", rng)
    optimizer = net.Optimizer("adam", [w.shape for w in weights] + [b.shape for b in biases])

    def epoch(w, b, opt):
        net.train_epoch(w, b, opt, x, target, np.arange(40), 8, 0.05, "tanh", "sigmoid", "cross_entropy", "none",
                        0.0, 0.0, None)

    epoch(weights, biases, optimizer)
    clone = pickle.loads(pickle.dumps(optimizer)) if copier == "pickle" else copy.deepcopy(optimizer)
    w2, b2 = [w.copy() for w in weights], [b.copy() for b in biases]
    for _ in range(2):
        epoch(weights, biases, optimizer)
        epoch(w2, b2, clone)
    for a, b in zip(weights + biases, w2 + b2):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(optimizer.state()["m"] + optimizer.state()["v"], clone.state()["m"] + clone.state()["v"]):
        np.testing.assert_array_equal(a, b)
    assert clone.state()["step_count"] == 15


def test_train_epoch_equals_a_plain_loop_over_batches():
    """train_epoch (flat vector, buffers) against gradients() + Optimizer.step batch by batch, with dropout masks
    drawn as documented (rng.random((n, units)) >= p per hidden layer, rows in the epoch's order)."""
    n, batch, p, lr, rate = 53, 8, 0.25, 0.03, 0.02
    x, y, rng = _data(3, n, seed=12)
    target = np.eye(3)[y]
    weights, biases = net.init_params([2, 5, 4, 3], "he", rng)
    shapes = [w.shape for w in weights] + [b.shape for b in biases]
    ref_w, ref_b = [w.copy() for w in weights], [b.copy() for b in biases]
    order = np.random.default_rng(0).permutation(n)
    result = net.train_epoch(weights, biases, net.Optimizer("adam", shapes), x, target, order, batch, lr, "relu",
                             "softmax", "cross_entropy", "l1", rate, p, np.random.default_rng(42))
    mask_rng = np.random.default_rng(42)
    masks = [(mask_rng.random((n, units)) >= p) / (1 - p) for units in (5, 4)]
    optimizer = net.Optimizer("adam", shapes)
    losses, norms = [], []
    for s in range(0, n, batch):
        rows = order[s:s + batch]
        value, gw, gb = net.gradients(ref_w, ref_b, x[rows], target[rows], "relu", "softmax", "cross_entropy", "l1",
                                      rate, [mk[s:s + batch] for mk in masks])
        losses.append(value)
        norms.append([np.linalg.norm(g) for g in gw])
        optimizer.step(ref_w + ref_b, gw + gb, lr)
    for ours, theirs in zip(weights + biases, ref_w + ref_b):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(result["gradient_norms"], np.mean(norms, axis=0), rtol=1e-12)
    assert result["batch_loss"] == pytest.approx(np.mean(losses), rel=1e-12)


def test_a_network_without_inputs_trains_its_biases_only():
    """No input feature on: W_1 is (0, units); the output can only learn the class balance."""
    weights, biases = [np.zeros((0, 3)), np.full((3, 1), 0.5)], [np.zeros(3), np.zeros(1)]
    optimizer = net.Optimizer("sgd", [w.shape for w in weights] + [b.shape for b in biases])
    target = (np.arange(40) % 4 == 0).astype(float).reshape(-1, 1)  # 25 % ones
    _, grad_w, _ = net.gradients(weights, biases, np.zeros((40, 0)), target, "tanh", "sigmoid", "cross_entropy",
                                 "l2", 0.1)
    result = net.train_epoch(weights, biases, optimizer, np.zeros((40, 0)), target, np.arange(40), 40, 0.5,
                             "tanh", "sigmoid", "cross_entropy", "l2", 0.1, 0.0, None)
    assert result["gradient_norms"][0] == 0.0 == np.linalg.norm(grad_w[0])
    assert result["gradient_norms"][1] == pytest.approx(np.linalg.norm(grad_w[1]), rel=1e-12)
    for _ in range(300):
        net.train_epoch(weights, biases, optimizer, np.zeros((40, 0)), target, np.arange(40), 40, 0.5, "tanh",
                        "sigmoid", "cross_entropy", "none", 0.0, 0.0, None)
    np.testing.assert_allclose(net.predict(weights, biases, np.zeros((2, 0)), "tanh", "sigmoid"), 0.25, atol=1e-3)


def test_dropout_masks_are_inverted_and_change_training():
    x, y, rng = _data(2, 40, seed=1)
    target = y.reshape(-1, 1).astype(float)
    runs = []
    for dropout in (0.0, 0.5):
        weights, biases = net.init_params([2, 6, 1], "xavier", np.random.default_rng(0))
        optimizer = net.Optimizer("sgd", [w.shape for w in weights] + [b.shape for b in biases])
        net.train_epoch(weights, biases, optimizer, x, target, np.arange(40), 40, 0.1, "tanh", "sigmoid",
                        "cross_entropy", "none", 0.0, dropout, np.random.default_rng(3))
        runs.append(weights[0].copy())
    assert not np.allclose(runs[0], runs[1])
    # inverted dropout keeps the expected activation: E[h * mask] = h
    weights, biases = net.init_params([2, 6, 1], "xavier", np.random.default_rng(0))
    mask_rng = np.random.default_rng(5)
    masks = [(mask_rng.random((20000, 6)) >= 0.5) / 0.5]
    xs = np.repeat(x[:1], 20000, axis=0)
    hidden = net.forward(weights, biases, xs, "tanh", "sigmoid", masks)[1]
    plain = net.forward(weights, biases, x[:1], "tanh", "sigmoid")[1]
    np.testing.assert_allclose(hidden.mean(axis=0), plain[0], atol=4 * np.abs(plain).max() / math.sqrt(20000) * 2)
    assert set(np.unique(masks[0])) == {0.0, 2.0}


# ---------------------------------------------------------------------------------------------- pieces
def test_activations_and_derivatives():
    z = np.linspace(-4, 4, 81) + 0.0123  # keeps 0 out (relu's kink)
    for name in net.ACTIVATIONS:
        h = 1e-6
        numeric = (net.activate(name, z + h) - net.activate(name, z - h)) / (2 * h)
        np.testing.assert_allclose(net.activation_derivative(name, z), numeric, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(net.activate("sigmoid", z), 1 / (1 + np.exp(-z)), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(net.activate("tanh", z), np.tanh(z))
    np.testing.assert_array_equal(net.activate("relu", z), np.maximum(z, 0))
    assert net.activation_derivative("relu", np.array([0.0]))[0] == 0.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, even far in the tails
        tails = net.activate("sigmoid", np.array([-1000.0, 1000.0]))
        out = net.predict([np.array([[1.0]])], [np.zeros(1)], np.array([[-700.0], [1000.0]]), "tanh", "sigmoid")
        soft = net.predict([np.array([[800.0, -800.0, 0.0]])], [np.zeros(3)], np.array([[1.0]]), "tanh", "softmax")
    np.testing.assert_array_equal(tails, [0.0, 1.0])
    np.testing.assert_allclose(out[:, 0], [math.exp(-700.0), 1.0], rtol=1e-12)  # the output tail keeps its digits
    np.testing.assert_allclose(soft, [[1.0, 0.0, 0.0]])


def test_losses_are_stable_and_match_closed_forms():
    # cross-entropy from logits: exactly softplus(z) - y z, even at |z| = 1000
    z = np.array([[1000.0], [-1000.0], [0.0]])
    y = np.array([[0.0], [0.0], [1.0]])
    assert net.loss_from_logits(z, y, "sigmoid", "cross_entropy") == pytest.approx((1000 + 0 + math.log(2)) / 3)
    z3 = np.array([[1000.0, 0.0, -1000.0]])
    assert net.loss_from_logits(z3, np.array([[0.0, 0.0, 1.0]]), "softmax", "cross_entropy") == pytest.approx(2000.0)
    # from probabilities: finite (clipped), and the textbook value where nothing is clipped
    p = np.array([[0.8], [0.1]])
    t = np.array([[1.0], [0.0]])
    assert net.data_loss(p, t, "sigmoid", "cross_entropy") == pytest.approx(-(math.log(0.8) + math.log(0.9)) / 2)
    assert np.isfinite(net.data_loss(np.array([[0.0], [1.0]]), t, "sigmoid", "cross_entropy"))
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    onehot = np.array([[0, 1, 0], [0, 0, 1]], dtype=float)
    assert net.data_loss(probs, onehot, "softmax", "cross_entropy") == pytest.approx(-(math.log(.2) + math.log(.8)) / 2)
    assert net.data_loss(probs, onehot, "softmax", "squared_error") == pytest.approx(
        0.5 * ((0.49 + 0.64 + 0.01) + (0.01 + 0.01 + 0.04)) / 2)
    assert net.data_loss(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]), "linear", "squared_error") == \
        pytest.approx(0.5 * (1 + 4) / 2)
    with pytest.raises(ValueError):
        net.data_loss(p, t, "linear", "cross_entropy")


def test_penalty_closed_form_on_weights_only():
    weights = [np.array([[1.0, -2.0]]), np.array([[3.0], [-0.5]])]
    assert net.penalty(weights, "l2", 0.1) == pytest.approx(0.1 * 0.5 * (1 + 4 + 9 + 0.25))
    assert net.penalty(weights, "l1", 0.1) == pytest.approx(0.1 * (1 + 2 + 3 + 0.5))
    assert net.penalty(weights, "none", 0.1) == 0.0
    biases = [np.array([5.0, 5.0]), np.array([7.0])]
    x, t = np.array([[0.3]]), np.array([[1.0]])
    _, _, plain_b = net.gradients(weights, biases, x, t, "tanh", "sigmoid", "cross_entropy")
    _, _, l2_b = net.gradients(weights, biases, x, t, "tanh", "sigmoid", "cross_entropy", "l2", 3.0)
    for a, b in zip(plain_b, l2_b):  # biases carry no penalty
        np.testing.assert_array_equal(a, b)
    _, grad_w, _ = net.gradients([np.zeros((1, 1))], [np.zeros(1)], x, np.array([[0.5]]), "tanh", "linear",
                                 "squared_error", "l1", 2.0)
    assert grad_w[0][0, 0] == pytest.approx(-0.5 * 0.3)  # sign(0) = 0: only the data gradient


def test_init_schemes_shapes_and_variances():
    rng = np.random.default_rng(0)
    weights, biases = net.init_params([300, 200, 1], "xavier", rng)
    assert [w.shape for w in weights] == [(300, 200), (200, 1)] and [b.shape for b in biases] == [(200,), (1,)]
    assert weights[0].var() == pytest.approx(2 / 500, rel=0.03)
    assert all(not b.any() for b in biases)
    weights, _ = net.init_params([300, 200, 1], "he", rng)
    assert weights[0].var() == pytest.approx(2 / 300, rel=0.03)
    assert weights[0].mean() == pytest.approx(0, abs=0.003)
    weights, biases = net.init_params([2, 4, 1], "zeros", rng)
    assert not any(a.any() for a in weights + biases)


def test_zero_init_keeps_hidden_units_identical():
    """The symmetry lesson: from all-zero weights every hidden unit gets the same gradient, forever."""
    x, y, _ = _data(2, 80, seed=6)
    weights, biases = net.init_params([2, 4, 3, 1], "zeros", None)
    optimizer = net.Optimizer("momentum", [w.shape for w in weights] + [b.shape for b in biases])
    for e in range(20):
        net.train_epoch(weights, biases, optimizer, x, y.reshape(-1, 1).astype(float),
                        np.random.default_rng(e).permutation(80), 10, 0.3, "sigmoid", "sigmoid", "cross_entropy",
                        "none", 0.0, 0.0, None)
    assert np.abs(weights[1]).max() > 1e-3  # it did train
    for w in weights[:-1]:
        np.testing.assert_allclose(w, np.repeat(w[:, :1], w.shape[1], axis=1), rtol=1e-12, atol=1e-15)


def test_train_epoch_rejects_a_mismatched_optimizer_and_reports_divergence_quietly():
    weights, biases = net.init_params([2, 3, 1], "xavier", np.random.default_rng(0))
    with pytest.raises(ValueError):
        net.train_epoch(weights, biases, net.Optimizer("sgd", [(2, 4), (4, 1), (4,), (1,)]), np.zeros((4, 2)),
                        np.zeros((4, 1)), np.arange(4), 2, 0.1, "tanh", "sigmoid", "cross_entropy", "none", 0.0, 0.0,
                        None)
    x, y, _ = _data(0, 50, seed=3)
    optimizer = net.Optimizer("sgd", [w.shape for w in weights] + [b.shape for b in biases])
    weights, biases = net.init_params([2, 3, 1], "xavier", np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = [net.train_epoch(weights, biases, optimizer, x * 100, y.reshape(-1, 1) * 100, np.arange(50), 5,
                                  10.0, "relu", "linear", "squared_error", "none", 0.0, 0.0, None)["batch_loss"]
                  for _ in range(10)]
        # a network on its way out (finite, overflowing weights): non-finite values, not warnings
        huge = [np.full((2, 3), 1e300), np.array([[1e300], [-1e300], [1.0]])]
        out = net.predict(huge, [np.zeros(3), np.zeros(1)], np.array([[1e10, 1e10]]), "relu", "linear")
        value = net.data_loss(out, np.zeros((1, 1)), "linear", "squared_error")
        size = net.penalty(huge, "l2", 1.0)
    assert not np.isfinite(losses[-1])
    assert not np.isfinite(out).all() and not np.isfinite(value) and not np.isfinite(size)


# ---------------------------------------------------------------------------------------------- learning
def _playground_xor(n, rng):
    """TF Playground's classifyXORData (noise 0): uniform in [-5, 5] pushed 0.3 away from the axes."""
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)
    return pts, (pts[:, 0] * pts[:, 1] >= 0).astype(int)


def _playground_circle(n, rng):
    """TF Playground's classifyCircleData (noise 0): radius 5; class 1 inside r < 2.5, class 0 for 3.5 < r < 5."""
    half = n // 2
    r = np.concatenate([rng.uniform(0, 2.5, half), rng.uniform(3.5, 5.0, n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    return pts, (np.hypot(pts[:, 0], pts[:, 1]) < 2.5).astype(int)


@pytest.mark.parametrize("problem", ["xor", "circle"])
def test_the_right_features_make_a_network_without_hidden_layer_learn(problem):
    rng = np.random.default_rng(2026)
    pts, labels = (_playground_xor if problem == "xor" else _playground_circle)(500, rng)
    feats = (pts[:, :1] * pts[:, 1:]) if problem == "xor" else pts ** 2
    split = rng.permutation(500)
    train, test = split[:250], split[250:]
    weights, biases = net.init_params([feats.shape[1], 1], "xavier", np.random.default_rng(0))
    optimizer = net.Optimizer("sgd", [w.shape for w in weights] + [b.shape for b in biases])
    target = labels.reshape(-1, 1).astype(float)
    for epoch in range(100):
        net.train_epoch(weights, biases, optimizer, feats[train], target[train],
                        np.random.default_rng([0, epoch]).permutation(250), 10, 0.03, "tanh", "sigmoid",
                        "cross_entropy", "none", 0.0, 0.0, None)
    predicted = net.predict(weights, biases, feats[test], "tanh", "sigmoid")[:, 0] > 0.5
    assert (predicted == labels[test]).mean() >= 0.95
    # without the feature the same linear model cannot do it
    plain_w, plain_b = net.init_params([2, 1], "xavier", np.random.default_rng(0))
    plain_opt = net.Optimizer("sgd", [w.shape for w in plain_w] + [b.shape for b in plain_b])
    for epoch in range(100):
        net.train_epoch(plain_w, plain_b, plain_opt, pts[train], target[train],
                        np.random.default_rng([0, epoch]).permutation(250), 10, 0.03, "tanh", "sigmoid",
                        "cross_entropy", "none", 0.0, 0.0, None)
    plain = net.predict(plain_w, plain_b, pts[test], "tanh", "sigmoid")[:, 0] > 0.5
    assert (plain == labels[test]).mean() < 0.8
