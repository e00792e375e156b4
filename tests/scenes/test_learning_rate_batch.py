"""Learning-rate and batch-size scene: SGD maths against independent truth, plus the view."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import param_space

from explorer.session import Session, frame_to_jsonable
from scenes.learning_rate_batch import SCENE
from scenes.learning_rate_batch.sim import (SCHEDULES, Model, Simulation, lr_factor, make_data)


def params(**overrides):
    return SCENE.resolve(overrides)


def test_full_batch_sgd_is_gradient_descent_step_for_step():
    p = params(compare="learning_rate", runs=1, batch_size=5000, run1_learning_rate=0.3, n_samples=120)
    sim = Simulation(p, seed=4)
    x, y = make_data("linear", 120, p["noise"], p["data_seed"])
    design = np.column_stack([x, np.ones_like(x)])
    theta = np.array([p["init_w"], p["init_b"]])
    for _ in range(25):
        theta = theta - 0.3 * design.T @ (design @ theta - y) / len(x)
        frame = sim.step()
        np.testing.assert_allclose(frame.data["theta"][0], theta, rtol=1e-10, atol=1e-12)


def test_full_batch_logistic_is_gradient_descent():
    p = params(model="logistic", compare="learning_rate", runs=1, batch_size=5000, run1_learning_rate=0.5)
    sim = Simulation(p, seed=0)
    x, y = make_data("logistic", p["n_samples"], p["noise"], p["data_seed"])
    theta = np.array([p["init_w"], p["init_b"]])
    for _ in range(10):
        r = 1 / (1 + np.exp(-(theta[0] * x + theta[1]))) - y
        grad = np.array([np.mean(r * x) + 1e-3 * theta[0], np.mean(r)])
        theta = theta - 0.5 * grad
        frame = sim.step()
    np.testing.assert_allclose(frame.data["theta"][0], theta, rtol=1e-9)


def test_full_batch_small_rate_converges_to_lstsq():
    p = params(compare="learning_rate", runs=1, batch_size=5000, run1_learning_rate=0.5, epochs=200)
    sim = Simulation(p, seed=0)
    for _ in range(200):
        frame = sim.step()
    x, y = make_data("linear", p["n_samples"], p["noise"], p["data_seed"])
    exact = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)[0]
    np.testing.assert_allclose(frame.data["theta"][0], exact, atol=1e-8)
    assert frame.done


def test_logistic_minimum_has_zero_gradient():
    x, y = make_data("logistic", 300, 0.5, 1)
    model = Model("logistic", x, y)
    assert np.max(np.abs(model.gradient(model.optimum))) < 1e-9


@pytest.mark.parametrize("batch", [1, 5, 40, 150])
def test_minibatch_gradient_variance_follows_one_over_batch_with_fpc(batch):
    n = 200
    x, y = make_data("linear", n, 0.5, 0)
    model = Model("linear", x, y)
    theta = np.array([0.3, 0.8])
    per_sample = model.per_sample_gradients(theta)
    sigma2 = per_sample.var(axis=0)  # population variance (ddof 0)
    expected = sigma2 / batch * (n - batch) / (n - 1)
    rng = np.random.default_rng(7)
    draws = 4000
    # Batches as the simulation draws them: the first `batch` samples of a fresh permutation.
    grads = np.array([model.gradient(theta, rng.permutation(n)[:batch]) for _ in range(draws)])
    measured = grads.var(axis=0, ddof=1)
    np.testing.assert_allclose(grads.mean(axis=0), model.gradient(theta), atol=5 * np.sqrt(expected / draws).max())
    # The variance estimate of 4000 draws has a relative standard error of about sqrt(2/4000) = 2.2 %.
    np.testing.assert_allclose(measured, expected, rtol=0.12)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_match_their_formulas(schedule):
    decay, every, epochs, warm = 0.7, 3, 20, 2
    for epoch in range(epochs):
        got = lr_factor(epoch, schedule, warm, decay, every, epochs)
        if epoch < warm:
            want = (epoch + 1) / (warm + 1)
        else:
            e = epoch - warm
            want = {"constant": 1.0, "step": decay ** (e // every), "exponential": decay ** e,
                    "cosine": 0.5 * (1 + math.cos(math.pi * e / (epochs - warm)))}[schedule]
        assert got == pytest.approx(want, rel=1e-12)
    # The simulation uses it: the current rate of each run is base x factor.
    sim = Simulation(params(schedule=schedule, warmup_epochs=warm, decay=decay, step_every=every,
                            epochs=epochs, compare="learning_rate", batch_size=50,
                            run4_learning_rate=0.5), seed=0)  # 1.5 diverges at batch 50 (stops at epoch 1)
    for _ in range(5):
        frame = sim.step(coarse=True)
    np.testing.assert_allclose(frame.data["current_learning_rate"],
                               frame.data["learning_rate"] * lr_factor(5, schedule, warm, decay, every, epochs))


@pytest.mark.parametrize("model", ["linear", "logistic", "double_well"])
def test_restore_then_step_reproduces_exactly(model):
    p = params(model=model, n_samples=90)
    sim = Simulation(p, seed=11)
    frames = [sim.step() for _ in range(7)] + [sim.step(coarse=True)] + [sim.step() for _ in range(5)]
    sim.restore(frames[3])
    again = [sim.step() for _ in range(3)] + [sim.step(coarse=True)] + [sim.step() for _ in range(5)]
    for a, b in zip(frames[4:], again):
        for key in a.data:
            np.testing.assert_array_equal(a.data[key], b.data[key])
        assert a.message == b.message


def test_coarse_step_is_one_epoch_per_run():
    p = params(n_samples=103, run1_batch_size=1, run2_batch_size=10, run3_batch_size=33, run4_batch_size=5000)
    sim = Simulation(p, seed=0)
    sim.step()  # mid-epoch (except the full batch): the coarse step finishes the current epoch
    frame = sim.step(coarse=True)
    np.testing.assert_array_equal(frame.data["updates"], [103, 11, 4, 2])
    frame = sim.step(coarse=True)  # from an epoch boundary: exactly ceil(n / batch) more
    np.testing.assert_array_equal(frame.data["updates"], [206, 22, 8, 3])
    np.testing.assert_array_equal(frame.data["batch_size"], [1, 10, 33, 103])


def test_divergent_run_stops_and_others_continue():
    sim = Simulation(params(compare="learning_rate", batch_size=5000, run4_learning_rate=5.0), seed=0)
    for _ in range(30):
        frame = sim.step()
    assert frame.data["diverged"].tolist() == [False, False, False, True]
    assert "run 4 (lr 5) diverged at epoch" in frame.message
    assert frame.data["updates"][0] == 30 and frame.data["updates"][3] < 30
    assert all(np.all(np.isfinite(v)) for v in frame.data.values() if np.asarray(v).dtype.kind == "f")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=param_space(SCENE.params), seed=st.integers(0, 2**31))
def test_property_never_raises_and_non_finite_only_when_diverged(values, seed):
    sim = Simulation(SCENE.resolve(values), seed=seed)
    frame = sim.frame()
    for coarse in (False, False, True, False, True):
        frame = sim.step(coarse=coarse)
    data = frame.data
    diverged = data["diverged"]
    for key, value in data.items():
        array = np.asarray(value)
        if key == "range_test_divergence_lr":  # inf exactly where no tested rate diverged
            np.testing.assert_array_equal(np.isinf(array), ~data["range_test_diverged"].any(axis=1))
        elif array.dtype.kind == "f":
            assert np.all(np.isfinite(array)), key  # diverged runs keep their last finite state
    assert len(diverged) == values["runs"]
    assert frame.message


# -- Session and view -----------------------------------------------------------------------
def test_frame_to_jsonable_carries_every_run():
    session = Session(SCENE, {"n_samples": 60}, seed=2)
    session.forward(3)
    session.forward(1, coarse=True)
    out = frame_to_jsonable(session.frame)
    for r in range(1, 5):
        assert len(out[f"run{r}_trajectory"]) == len(out[f"run{r}_loss"]) == len(out[f"run{r}_epochs"]) >= 2
        assert len(out[f"run{r}_trajectory"][0]) == 2
    assert len(out["theta"]) == 4


@pytest.fixture
def view(qtbot):
    session = Session(SCENE, {"n_samples": 150}, seed=5)
    view = SCENE.view_class()(SCENE, session.params)
    qtbot.addWidget(view.widget)
    view.widget.resize(900, 600)
    view.apply_prepared(view.prepare(session.params, session.seed))
    yield session, view


def _plotted(view):
    return np.concatenate([np.asarray(c.getData()[1]).ravel() for c in view.curves if c.isVisible()] +
                          [np.asarray(t.getData()[0]).ravel() for t in view.trails if t.isVisible()])


def test_view_follows_session(qtbot, view):
    session, view = view
    view.show(session.frame)
    session.set_params({"compare": "learning_rate"})
    view.set_params(session.params)
    view.apply_prepared(view.prepare(session.params, session.seed))
    session.set_params({"compare": "batch_size"})
    session.set_params({"run2_batch_size": 20})
    view.set_params(session.params)
    view.apply_prepared(view.prepare(session.params, session.seed))
    session.forward(2)
    view.show(session.frame)
    before = _plotted(view)
    frame = session.forward(coarse=True)
    view.show(frame)
    n = 150
    batches = [1, 20, 32, 150]
    # Two single updates, then the coarse step completes the first epoch of every run.
    want = [n, math.ceil(n / 20), math.ceil(n / 32), 3]  # the full batch was at an epoch boundary
    np.testing.assert_array_equal(frame.data["updates"], want)
    np.testing.assert_array_equal(frame.data["batch_size"], batches)
    after = _plotted(view)
    assert before.shape != after.shape or not np.allclose(before, after)
    back = session.back()
    view.show(back)
    assert back.data["updates"].tolist() == [2, 2, 2, 2]
    assert np.array_equal(_plotted(view), before)
    assert view.legend.items[1][1].text == "batch 20"
    # Forward moves back to the head (no new step); from there, a coarse step starts at an epoch
    # boundary in every run: exactly ceil(n / batch) updates per run.
    assert session.forward().data["updates"].tolist() == want
    frame = session.forward(coarse=True)
    np.testing.assert_array_equal(np.asarray(frame.data["updates"]) - want, [math.ceil(n / b) for b in batches])


def test_view_double_well_shows_basin_bars(qtbot):
    values = dict(SCENE.preset("Local-minimum escape").values, n_samples=60, epochs=4)
    session = Session(SCENE, values, seed=1)
    view = SCENE.view_class()(SCENE, session.params)
    qtbot.addWidget(view.widget)
    view.apply_prepared(view.prepare(session.params, session.seed))
    session.forward(3, coarse=True)
    view.show(session.frame)
    heights = view.bars.opts["height"]
    assert len(heights) == 4 and np.all((heights >= 0) & (heights <= 1))
    assert heights[-1] == 0.0  # full-batch descent never leaves the shallow basin
    assert view.plots["basins"].scene() is not None and view.plots["fit"].scene() is None


def test_range_test_marks_divergence_edge():
    data = Simulation(params(compare="learning_rate", batch_size=5000), 0).frame().data
    assert data["range_test_batch_size"].tolist() == [200]
    loss, edge = data["range_test_loss"][0], float(data["range_test_divergence_lr"][0])
    # Full-batch GD on a quadratic breaks down just above 2 / largest curvature.
    x, _ = make_data("linear", 200, 0.5, 0)
    hess = np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    limit = 2 / np.linalg.eigvalsh(hess).max()
    assert limit <= edge <= limit * 1.3
    rates = data["range_test_learning_rate"]
    assert np.all(np.isfinite(loss[rates < limit])) and not data["range_test_diverged"][0][rates < limit].any()


@pytest.mark.parametrize("model", ["linear", "logistic", "double_well"])
@pytest.mark.parametrize("batch", [1, 8, 40, 5000])
def test_coarse_epoch_equals_single_steps(model, batch):
    """A coarse step finishes the epoch exactly as ceil(n / batch) single updates would (same
    parameters, records and losses), from an epoch boundary and from mid-epoch."""
    n = 97
    p = params(model=model, n_samples=n, compare="learning_rate", runs=1, batch_size=batch,
               run1_learning_rate=0.05, epochs=4)
    per_epoch = math.ceil(n / min(batch, n))
    coarse, single = Simulation(p, seed=3), Simulation(p, seed=3)
    for epoch, start in enumerate((0, min(5, per_epoch - 1))):  # from an epoch's start, then mid-epoch
        for _ in range(start):
            a, b = coarse.step(), single.step()
        a = coarse.step(coarse=True)
        for _ in range(per_epoch - start):
            b = single.step()
        assert a.data["updates"][0] == b.data["updates"][0] == (epoch + 1) * per_epoch
        for key in a.data:
            np.testing.assert_allclose(np.asarray(a.data[key], dtype=float), np.asarray(b.data[key], dtype=float),
                                       rtol=1e-12, atol=1e-14, err_msg=key)


def test_logistic_loss_matches_logaddexp_formula():
    x, y = make_data("logistic", 400, 0.7, 3)
    model = Model("logistic", x, y)
    thetas = np.random.default_rng(0).normal(size=(40, 2)) * [4.0, 3.0]
    thetas = np.vstack([thetas, [[0.0, 0.0], [300.0, -2.0], [-1e5, 1e5]]])
    z = thetas[:, :1] * x + thetas[:, 1:]
    want = np.mean(np.logaddexp(0.0, z) - y * z, axis=1) + 0.5e-3 * thetas[:, 0] ** 2
    np.testing.assert_allclose(model.loss(thetas), want, rtol=1e-12)
    # One row at a time gives the same numbers as all rows at once (records are batched).
    np.testing.assert_array_equal([model.loss(t) for t in thetas], model.loss(thetas))


def test_view_redraws_only_what_changed_and_quantises_loss_ranges(qtbot, view):
    session, view = view
    view.show(session.frame)
    calls = []
    for item in view.trails + view.curves + view.fits + [view.dots]:
        original = item.setData
        item.setData = lambda *a, _original=original, **k: (calls.append(1), _original(*a, **k))
    view.show(session.frame)
    assert calls == []  # the same frame again: nothing to redraw
    ranges = set()
    for _ in range(60):
        frame = session.forward()
        view.show(frame)
        (x0, x1), (y0, y1) = view.plots["loss"].viewRange()
        ranges.add((round(x1, 9), round(y0, 9), round(y1, 9)))
        for r in range(4):
            epochs, shown = view.curves[r].getData()
            want = np.log10(np.clip(frame.data[f"run{r + 1}_loss"], 1e-12, None))
            np.testing.assert_allclose(shown, want)
            assert x0 <= epochs.min() and epochs.max() <= x1 and y0 <= shown.min() and shown.max() <= y1
    assert len(ranges) <= 15  # 1-2-5 epoch steps and quarter decades, not a new range every frame
    spots = view.dots.getData()
    np.testing.assert_array_equal(np.column_stack(spots), frame.data["theta"])


# -- hand loops: independent NumPy re-implementations of what the scene promises ------------------
def hand_order(seed, epoch, n, shuffle=True):
    """The documented sample order of an epoch (sim module docstring)."""
    return np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)


def hand_gradient(kind, theta, xb, yb):
    if kind == "linear":
        r = theta[0] * xb + theta[1] - yb
        return np.array([np.mean(r * xb), np.mean(r)])
    if kind == "logistic":
        r = 1.0 / (1.0 + np.exp(-(theta[0] * xb + theta[1]))) - yb
        return np.array([np.mean(r * xb) + 1e-3 * theta[0], np.mean(r)])
    u = theta[0]
    return np.array([np.mean(u ** 3 - u - 0.2 - xb)])


def hand_loss(kind, theta, x, y):
    if kind == "linear":
        return 0.5 * np.mean((theta[0] * x + theta[1] - y) ** 2)
    if kind == "logistic":
        z = theta[0] * x + theta[1]
        return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5e-3 * theta[0] ** 2
    u = theta[0]
    roots = np.sort(np.roots([1.0, 0.0, -1.0, -0.2]).real)
    f = lambda v: v ** 4 / 4 - v ** 2 / 2 - 0.2 * v  # noqa: E731
    return f(u) - f(roots[2])


def hand_sgd(kind, x, y, start, batch, rate_at, seed, updates, shuffle=True):
    """Plain SGD: ``rate_at(update index, epoch)`` gives the rate; returns theta after each update."""
    n = len(x)
    theta = np.array(start, dtype=float)
    out, done, epoch = [], 0, 0
    while done < updates:
        order = hand_order(seed, epoch, n, shuffle)
        for lo in range(0, n, batch):
            if done >= updates:
                break
            idx = order[lo:lo + batch]
            theta = theta - rate_at(done, epoch) * hand_gradient(kind, theta, x[idx], y[idx])
            out.append(theta.copy())
            done += 1
        epoch += 1
    return np.array(out)


def one_run(model="linear", n=60, batch=1, rate=0.05, epochs=3, **extra):
    return params(model=model, n_samples=n, compare="learning_rate", runs=1, batch_size=batch,
                  run1_learning_rate=rate, epochs=epochs, **extra)


@pytest.mark.parametrize("model", ["linear", "logistic", "double_well"])
@pytest.mark.parametrize("batch", [1, 8, 40])  # logistic: batch-1, plain-float and NumPy code paths
def test_sgd_equals_hand_loop_with_a_fresh_documented_permutation_every_epoch(model, batch):
    n, seed = 60, 13
    p = one_run(model, n, batch, rate=0.05, epochs=3, init_w=-1.3 if model == "double_well" else -2.5)
    sim = Simulation(p, seed=seed)
    x, y = make_data(model, n, p["noise"], p["data_seed"])
    start = [p["init_w"], p["init_b"]][: 1 if model == "double_well" else 2]
    per_epoch = math.ceil(n / batch)
    want = hand_sgd(model, x, y, start, batch, lambda k, e: 0.05, seed, 3 * per_epoch)
    for k in range(3 * per_epoch):
        if k % per_epoch == 0:  # the frame carries the order of the epoch being trained
            np.testing.assert_array_equal(sim.frame().data["run1_batch_order"], hand_order(seed, k // per_epoch, n))
        frame = sim.step()
        np.testing.assert_allclose(frame.data["theta"][0], want[k], rtol=1e-10, atol=1e-12, err_msg=f"update {k}")
    np.testing.assert_allclose(frame.data["run1_trajectory"][1:], want, rtol=1e-10, atol=1e-12)
    assert hand_order(seed, 0, n).tolist() != hand_order(seed, 1, n).tolist()


@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_shuffle_off_trains_in_data_order(model):
    n = 50
    p = one_run(model, n, 5, rate=0.1, epochs=2, shuffle=False)
    sim = Simulation(p, seed=3)
    x, y = make_data(model, n, p["noise"], p["data_seed"])
    want = hand_sgd(model, x, y, [p["init_w"], p["init_b"]], 5, lambda k, e: 0.1, 3, 20, shuffle=False)
    frame = sim.step(coarse=True)
    frame = sim.step(coarse=True)
    np.testing.assert_array_equal(frame.data["run1_batch_order"], np.arange(n))
    np.testing.assert_allclose(frame.data["run1_trajectory"][1:], want, rtol=1e-10)


@pytest.mark.parametrize("name,value", [("learning_rate", 0.2), ("shuffle", False)])
def test_live_change_gives_exactly_the_hand_loop_trajectory(name, value):
    """Batch-size compare: a live learning-rate change applies at the very next update; a live
    shuffle change from the next epoch (the running epoch keeps its order)."""
    n, seed = 50, 8
    session = Session(SCENE, {"n_samples": n, "compare": "batch_size", "runs": 2, "run1_batch_size": 5,
                              "run2_batch_size": 1, "learning_rate": 0.05, "epochs": 5}, seed=seed)
    session.forward(7)
    session.set_params({name: value})
    session.forward(20)
    x, y = make_data("linear", n, 0.5, 0)
    rate = (lambda k, e: 0.05 if k < 7 else 0.2) if name == "learning_rate" else (lambda k, e: 0.05)
    for run, batch in ((0, 5), (1, 1)):
        if name == "shuffle":  # the hand loop: data order from the first epoch after the change
            per_epoch = math.ceil(n / batch)
            changed_epoch = 7 // per_epoch + 1
            theta, out = np.array([-2.5, 2.5]), []
            for e in range(5):
                order = hand_order(seed, e, n, shuffle=e < changed_epoch)
                for lo in range(0, n, batch):
                    idx = order[lo:lo + batch]
                    theta = theta - 0.05 * hand_gradient("linear", theta, x[idx], y[idx])
                    out.append(theta.copy())
            want = np.array(out)[:27]
        else:
            want = hand_sgd("linear", x, y, [-2.5, 2.5], batch, rate, seed, 27)
        np.testing.assert_allclose(session.frame.data["theta"][run], want[-1], rtol=1e-10, err_msg=f"run {run}")
        np.testing.assert_allclose(session.frame.data[f"run{run + 1}_trajectory"][1:], want, rtol=1e-10)


def test_live_run_rate_change_after_stepping_back_branches_from_there():
    n, seed = 50, 2
    session = Session(SCENE, {"n_samples": n, "compare": "learning_rate", "runs": 2, "batch_size": 1,
                              "run1_learning_rate": 0.02, "run2_learning_rate": 0.1, "epochs": 3}, seed=seed)
    session.forward(12)
    for _ in range(4):
        session.back()
    session.set_params({"run2_learning_rate": 0.3})  # from step 8, the later history is dropped
    session.forward(10)
    x, y = make_data("linear", n, 0.5, 0)
    want1 = hand_sgd("linear", x, y, [-2.5, 2.5], 1, lambda k, e: 0.02, seed, 18)
    want2 = hand_sgd("linear", x, y, [-2.5, 2.5], 1, lambda k, e: 0.1 if k < 8 else 0.3, seed, 18)
    np.testing.assert_allclose(session.frame.data["theta"], [want1[-1], want2[-1]], rtol=1e-10)
    np.testing.assert_allclose(session.frame.data["current_learning_rate"], [0.02, 0.3])


def test_schedule_change_is_live_with_its_formula():
    n, seed = 50, 1
    session = Session(SCENE, {"n_samples": n, "compare": "learning_rate", "runs": 1, "batch_size": 10,
                              "run1_learning_rate": 0.2, "epochs": 8}, seed=seed)
    session.forward(2, coarse=True)
    session.set_params({"schedule": "exponential", "decay": 0.5})
    session.forward(3, coarse=True)
    x, y = make_data("linear", n, 0.5, 0)
    # Two epochs of 5 updates at 0.2, then exponential decay 0.5 ** epoch (epochs 2, 3, 4).
    want = hand_sgd("linear", x, y, [-2.5, 2.5], 10, lambda k, e: 0.2 * (0.5 ** e if k >= 10 else 1.0), seed, 25)
    np.testing.assert_allclose(session.frame.data["run1_trajectory"][1:], want, rtol=1e-10)


def test_divergence_is_stated_at_the_first_epoch_past_the_limit():
    values = SCENE.preset("Learning rate too large").values
    session = Session(SCENE, values, seed=0)
    session.forward(100)
    frame = session.frame
    x, y = make_data("linear", 200, 0.5, 0)
    start_loss = hand_loss("linear", [-2.5, 2.5], x, y)
    limit = 1000 * max(start_loss, 1.0)
    # Full-batch GD by hand: the first epoch whose loss passes 1000 x max(start loss, 1).
    theta, epoch = np.array([-2.5, 2.5]), 0
    while True:
        theta = theta - 1.2 * hand_gradient("linear", theta, x, y)
        epoch += 1
        if hand_loss("linear", theta, x, y) > limit:
            break
    assert 3 < epoch < 30  # the limit is reached inside the run: it must stop there, not finish
    assert frame.done and frame.data["diverged"].tolist() == [True]
    assert frame.data["diverged_epoch"].tolist() == [epoch]
    assert f"diverged at epoch {epoch}" in frame.message and "finished" not in frame.message
    np.testing.assert_allclose(frame.data["loss"][0], hand_loss("linear", theta, x, y), rtol=1e-9)
    np.testing.assert_allclose(frame.data["divergence_loss_limit"], limit, rtol=1e-12)
    # Just below the limit's reach: the same rate with fewer epochs finishes (no early stop).
    quiet = Session(SCENE, dict(values, epochs=epoch - 1), seed=0)
    quiet.forward(100)
    assert not quiet.frame.data["diverged"][0] and quiet.frame.message == f"all runs finished {epoch - 1} epochs"


@pytest.mark.parametrize("model,batch", [("linear", 5000), ("linear", 8), ("double_well", 4)])
def test_range_test_divergence_agrees_with_runs_at_those_rates(model, batch):
    n, epochs, seed = 80, 12, 5
    start = {"init_w": 1.5} if model == "double_well" else {}
    p = one_run(model, n, batch, rate=0.1, epochs=epochs, **start)
    data = Simulation(p, seed=seed).frame().data
    edge = float(data["range_test_divergence_lr"][0])
    assert np.isfinite(edge) and data["range_test_updates"][0] == epochs * math.ceil(n / min(batch, n))

    def diverges(rate):
        sim = Simulation(dict(p, run1_learning_rate=rate), seed=seed)
        while not sim.done:
            frame = sim.step(coarse=True)
        return bool(frame.data["diverged"][0])

    assert diverges(edge) and diverges(edge * 1.05)
    assert not diverges(edge * 0.98) and not diverges(edge * 0.5)
    # A rate that did not diverge: its range-test loss is the loss a run at that rate ends with.
    rates = data["range_test_learning_rate"]
    i = int(np.searchsorted(rates, edge * 0.3))
    sim = Simulation(dict(p, run1_learning_rate=float(rates[i])), seed=seed)
    while not sim.done:
        frame = sim.step(coarse=True)
    np.testing.assert_allclose(data["range_test_loss"][0][i], frame.data["loss"][0], rtol=1e-9)


@pytest.mark.parametrize("model", ["linear", "logistic", "double_well"])
def test_frame_loss_is_the_loss_at_the_current_parameters_after_thinning(model):
    n = 200
    p = one_run(model, n, 1, rate=0.01, epochs=30)  # 6,000 updates: every 2nd one is recorded
    sim = Simulation(p, seed=0)
    assert sim.strides[0] > 1
    x, y = make_data(model, n, p["noise"], p["data_seed"])
    for _ in range(3001):
        frame = sim.step()
    assert frame.data["updates"][0] == 3001
    theta = frame.data["theta"][0]
    assert not np.array_equal(frame.data["run1_trajectory"][-1], theta)  # the last record is older
    np.testing.assert_allclose(frame.data["loss"][0], hand_loss(model, theta, x, y), rtol=1e-9, atol=1e-12)


def test_logistic_loss_shown_is_the_loss_minimised():
    """The ridge is part of the loss: the full-batch update is exactly -lr x the gradient of the
    shown loss (finite differences of the hand formula)."""
    p = one_run("logistic", 120, 5000, rate=0.5, epochs=5)
    sim = Simulation(p, seed=0)
    x, y = make_data("logistic", 120, p["noise"], p["data_seed"])
    before = sim.frame()
    np.testing.assert_allclose(before.data["loss"][0], hand_loss("logistic", [-2.5, 2.5], x, y), rtol=1e-12)
    after = sim.step()
    step = (before.data["theta"][0] - after.data["theta"][0]) / 0.5
    h = 1e-6
    fd = [(hand_loss("logistic", [-2.5 + h, 2.5], x, y) - hand_loss("logistic", [-2.5 - h, 2.5], x, y)) / (2 * h),
          (hand_loss("logistic", [-2.5, 2.5 + h], x, y) - hand_loss("logistic", [-2.5, 2.5 - h], x, y)) / (2 * h)]
    np.testing.assert_allclose(step, fd, rtol=1e-6)
    assert "½·0.001·w²" in SCENE.explainer and "½·0.001·w²" in SCENE.params[0].help


def test_basin_share_equals_a_hand_loop_over_the_seeds():
    n, seed, epochs = 50, 3, 3
    values = dict(SCENE.preset("Local-minimum escape").values, n_samples=n, epochs=epochs, runs=2,
                  run1_batch_size=1, run2_batch_size=8)
    sim = Simulation(SCENE.resolve(values), seed=seed)
    frame = sim.step(coarse=True)
    for _ in range(epochs - 1):
        frame = sim.step(coarse=True)
    tilt, _ = make_data("double_well", n, 1.0, 0)
    seeds = 200
    assert frame.data["basin_seeds"] == seeds
    barrier = np.sort(np.roots([1.0, 0.0, -1.0, -0.2]).real)[1]
    for run, batch in ((0, 1), (1, 8)):
        u = np.full(seeds, -1.3)
        for e in range(epochs):
            orders = np.random.default_rng([seed, e, 1]).permuted(np.tile(tilt, (seeds, 1)), axis=1)
            for lo in range(0, n, batch):
                m = orders[:, lo:lo + batch].mean(axis=1)
                u = u - 0.1 * (u ** 3 - u - 0.2 - m)
        np.testing.assert_allclose(frame.data["deep_basin_share"][run], np.mean(u > barrier), atol=0.5 / seeds)
    assert frame.data["deep_basin_share"][0] > 0.3


def test_json_alone_recomputes_the_run():
    import json

    session = Session(SCENE, {"n_samples": 80, "compare": "batch_size", "runs": 2, "run1_batch_size": 1,
                              "run2_batch_size": 16}, seed=21)
    session.forward(12)
    document = json.loads(json.dumps({**session.to_dict(), "frame": frame_to_jsonable(session.frame)}))
    frame, p = document["frame"], document["params"]
    x, y = np.array(frame["data_x"]), np.array(frame["data_y"])
    for run in (1, 2):
        batch, rate = frame["batch_size"][run - 1], frame["learning_rate"][run - 1]
        theta = np.array([p["init_w"], p["init_b"]])
        want, done, epoch = [theta], 0, 0
        while done < 12:
            order = np.random.default_rng([document["seed"], epoch]).permutation(len(x))
            if epoch == frame["epoch"][run - 1] // 1:
                assert order.tolist() == frame[f"run{run}_batch_order"]
            for lo in range(0, len(x), batch):
                if done == 12:
                    break
                idx = order[lo:lo + batch]
                r = theta[0] * x[idx] + theta[1] - y[idx]
                theta = theta - rate * np.array([np.mean(r * x[idx]), np.mean(r)])
                want.append(theta)
                done += 1
            epoch += 1
        np.testing.assert_allclose(frame[f"run{run}_trajectory"], want, rtol=1e-10)
        np.testing.assert_allclose(frame["loss"][run - 1], 0.5 * np.mean((theta[0] * x + theta[1] - y) ** 2),
                                   rtol=1e-9)
    for key in ("range_test_learning_rate", "range_test_loss", "range_test_diverged", "range_test_batch_size",
                "range_test_updates", "range_test_divergence_lr", "start_loss", "divergence_loss_limit"):
        assert key in frame, key
    assert len(frame["range_test_loss"]) == len(frame["range_test_batch_size"]) == 2


def test_double_well_json_carries_tilts_and_basin_shares():
    session = Session(SCENE, dict(SCENE.preset("Local-minimum escape").values, n_samples=60, epochs=3), seed=0)
    session.forward(1, coarse=True)
    frame = frame_to_jsonable(session.frame)
    assert len(frame["sample_tilt"]) == 60 and abs(sum(frame["sample_tilt"])) < 1e-9
    assert len(frame["deep_basin_share"]) == len(frame["basin_diverged_share"]) == 4
    assert frame["basin_seeds"] == 200


def test_session_pickles_to_the_identical_frame():
    import pickle

    for values in ({"n_samples": 70}, dict(SCENE.preset("Local-minimum escape").values, n_samples=70)):
        session = Session(SCENE, values, seed=4)
        session.forward(5)
        session.forward(1, coarse=True)
        clone = pickle.loads(pickle.dumps(session))
        assert_same_frame(clone.frame, session.frame)
        assert_same_frame(clone.forward(3), session.forward(3))
        fresh = pickle.loads(pickle.dumps(Session(SCENE, values, seed=4)))
        assert_same_frame(fresh.frame, Session(SCENE, values, seed=4).frame)
        # Constant arrays stay shared read-only (not copied into every new frame).
        assert fresh.forward().data["data_x" if "data_x" in fresh.frame.data else "sample_tilt"] is \
            fresh.simulation._static["data_x" if "data_x" in fresh.frame.data else "sample_tilt"]


def assert_same_frame(a, b):
    assert a.step == b.step and a.message == b.message and a.done == b.done
    assert set(a.data) == set(b.data)
    for key in a.data:
        np.testing.assert_array_equal(np.asarray(a.data[key]), np.asarray(b.data[key]), err_msg=key)


def test_replay_of_thinned_frames_repeats_their_coarse_steps():
    from explorer.timeline import Timeline

    p = params(n_samples=50, epochs=40)
    timeline = Timeline(Simulation(p, seed=6), p, capacity=8, recent=2)
    straight, frames = Simulation(p, seed=6), [None]
    for k in range(30):
        coarse = k % 3 == 1
        timeline.forward(coarse=coarse)
        frames.append(straight.step(coarse=coarse))
    assert timeline.kept_count < 30
    for step in (29, 13, 5, 2, 20):
        assert_same_frame(timeline.seek(step), frames[step])


def test_prepare_key_ignores_live_parameters_and_prepare_is_bounded():
    from scenes.learning_rate_batch import analysis
    from scenes.learning_rate_batch.sim import RANGE_TEST_MAX_UPDATES, range_test_updates

    view_class = SCENE.view_class()
    base = params(model="double_well", n_samples=5000, epochs=500)
    key = view_class.prepare_key(base, 0)
    for p in SCENE.params:
        if p.live:  # a live change never redoes the view's preparation
            if isinstance(p.default, bool):
                value = not p.default
            else:
                value = p.choices[-1] if getattr(p, "choices", ()) else p.maximum
            assert view_class.prepare_key(dict(base, **{p.name: value}), 0) == key, p.name
    assert set(name for name, _ in key) == set(analysis.PREPARE_PARAMS)
    assert all(not next(q for q in SCENE.params if q.name == name).live for name in analysis.PREPARE_PARAMS)
    # The range test's length is bounded whatever the settings (a count, not a time).
    for kind in ("linear", "logistic", "double_well"):
        for batch in (1, 16, 5000):
            u = range_test_updates(kind, 5000, batch, 500)
            assert 1 <= u <= RANGE_TEST_MAX_UPDATES
            if kind == "logistic":
                assert u * 61 * batch <= max(6_000_000, 20 * 61 * batch)


# -- properties over the whole declared space (log-scale parameters drawn on a log scale) ---------
# n_samples and epochs are narrowed so 200 examples stay within ~30 s; everything else spans its range.
_SPACE = param_space(SCENE.params, {"n_samples": st.integers(50, 300), "epochs": st.integers(1, 40)},
                     log_scale=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=_SPACE, seed=st.integers(0, 2**31), moves=st.lists(st.booleans(), min_size=2, max_size=6))
def test_property_restore_coarse_and_json_round_trip(values, seed, moves):
    import json

    session = Session(SCENE, values, seed=seed)
    for coarse in moves:
        session.forward(coarse=coarse)
    frame = session.frame
    # A session survives a JSON round trip to the same frame.
    again = Session.from_dict(json.loads(json.dumps(session.to_dict())))
    assert_same_frame(again.frame, frame)
    # Restore-then-step reproduces the next frames.
    sim = session.simulation
    nxt = [sim.step(), sim.step(coarse=True)]
    sim.restore(frame)
    assert_same_frame(sim.step(), nxt[0])
    assert_same_frame(sim.step(coarse=True), nxt[1])
    # A coarse step from an epoch boundary equals its single steps (every run at a boundary only
    # when there is one run or every run has the same number of updates per epoch).
    fresh_a, fresh_b = Simulation(session.params, seed), Simulation(session.params, seed)
    a = fresh_a.step(coarse=True)
    singles = max(fresh_b.per_epoch)
    if len(set(fresh_b.per_epoch)) == 1:
        for _ in range(singles):
            b = fresh_b.step()
        for key in ("theta", "loss", "updates", "diverged", "diverged_epoch") + \
                (("deep_basin_share",) if "deep_basin_share" in a.data else ()):
            np.testing.assert_array_equal(a.data[key], b.data[key], err_msg=key)
    # The frame's loss is the loss at its parameters; diverged runs are past the limit or at a wall.
    model = session.simulation.model
    np.testing.assert_allclose(frame.data["loss"], model.loss(frame.data["theta"]), rtol=1e-12)
    for r in np.flatnonzero(frame.data["diverged"]):
        assert frame.data["loss"][r] > frame.data["divergence_loss_limit"] or session.simulation._stopped(r)
        assert f"run {r + 1} (" in frame.message and "diverged at epoch" in frame.message
    if not frame.data["diverged"].any():
        assert "diverged" not in frame.message


# -- the view draws exactly the frame -------------------------------------------------------------
def make_view(qtbot, session, size=(1000, 640)):
    view = SCENE.view_class()(SCENE, session.params)
    qtbot.addWidget(view.widget)
    view.widget.resize(*size)
    view.apply_prepared(view.prepare(session.params, session.seed))
    return view


def assert_view_matches(view, frame, model):
    data = frame.data
    runs = len(data["theta"])
    for r in range(runs):
        trajectory, raw = data[f"run{r + 1}_trajectory"], data[f"run{r + 1}_loss"]
        epochs, shown = view.curves[r].getData()
        np.testing.assert_array_equal(epochs, data[f"run{r + 1}_epochs"])
        want = np.maximum(raw, 1e-12) if model == "double_well" else np.log10(np.maximum(raw, 1e-12))
        np.testing.assert_allclose(shown, want, rtol=1e-12)  # never clipped
        if model == "double_well":
            x, y = view.recent[r].getData()
            np.testing.assert_array_equal(x, trajectory[-50:, 0])
            np.testing.assert_array_equal(y, raw[-50:])
            assert view.recent[r].isVisible() and not view.trails[r].isVisible()
        else:
            x, y = view.trails[r].getData()
            np.testing.assert_array_equal(np.column_stack([x, y]), trajectory)
            fx, fy = view.fits[r].getData()
            w, b = data["theta"][r]
            want_fit = 1 / (1 + np.exp(-(w * fx + b))) if model == "logistic" else w * fx + b
            np.testing.assert_allclose(fy, want_fit, rtol=1e-9, atol=1e-12)
    dx, dy = view.dots.getData()
    np.testing.assert_array_equal(dx, data["theta"][:, 0])
    np.testing.assert_array_equal(dy, data["loss"] if model == "double_well" else data["theta"][:, 1])
    if model == "double_well":
        heights = view.bars.opts["height"]
        np.testing.assert_array_equal(heights, data["deep_basin_share"])


@pytest.mark.parametrize("model", ["linear", "logistic", "double_well"])
def test_view_items_equal_the_frame_after_every_show_and_after_a_new_run(qtbot, model):
    values = {"model": model, "n_samples": 60, "epochs": 6}
    session = Session(SCENE, values, seed=1)
    view = make_view(qtbot, session)
    for coarse in (False, False, True, False, True):
        frame = session.forward(coarse=coarse)
        view.show(frame)
        assert_view_matches(view, frame, model)
    back = session.back()
    view.show(back)
    assert_view_matches(view, back, model)
    # A new run (another seed, the same parameters): nothing stale stays on screen.
    other = Session(SCENE, values, seed=2)
    other.forward(4)
    view.set_params(other.params)
    view.show(other.frame)
    assert_view_matches(view, other.frame, model)
    fresh = Session(SCENE, values, seed=3)
    fresh.forward(4)  # the same step and record count as the run shown before
    view.show(fresh.frame)  # even without set_params: a different run's buffers are redrawn
    assert_view_matches(view, fresh.frame, model)
    # A thinned run (batch 1, 6,000 updates: every second one recorded): frames between two
    # records keep the record count but move the current parameters, fits and dots.
    thinned = Session(SCENE, dict(values, n_samples=200, epochs=30), seed=1)
    view.set_params(thinned.params)
    view.apply_prepared(view.prepare(thinned.params, thinned.seed))
    assert thinned.simulation.strides[0] == 2
    for _ in range(5):
        frame = thinned.forward()
        view.show(frame)
        assert_view_matches(view, frame, model)


def test_view_double_well_dot_sits_on_its_curve_after_thinning(qtbot):
    values = dict(SCENE.preset("Local-minimum escape").values, n_samples=200, epochs=30)
    session = Session(SCENE, values, seed=0)
    view = make_view(qtbot, session)
    session.forward(3001)  # batch 1: every second update is recorded, the last record is old
    view.show(session.frame)
    us, curve = view.well.getData()
    dx, dy = view.dots.getData()
    from scenes.learning_rate_batch.sim import double_well
    np.testing.assert_allclose(dy, double_well(dx), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dy, np.interp(dx, us, curve), atol=2e-3)  # on the drawn curve


def test_view_axes_use_plain_units(qtbot):
    values = dict(SCENE.preset("Local-minimum escape").values, n_samples=60, epochs=3)
    session = Session(SCENE, values, seed=0)
    view = make_view(qtbot, session)
    session.forward(200)
    view.show(session.frame)
    view.widget.show()
    qtbot.wait(10)
    for name, plot in view.plots.items():
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert axis.autoSIPrefixScale == 1.0 and "(x" not in axis.labelString(), (name, side)


def test_view_shows_divergence_without_clipping(qtbot):
    session = Session(SCENE, SCENE.preset("Learning rate too large").values, seed=0)
    view = make_view(qtbot, session)
    session.forward(100)
    frame = session.frame
    view.show(frame)
    top = float(np.log10(frame.data["run1_loss"][-1]))
    assert top > np.log10(frame.data["divergence_loss_limit"])
    (_, _), (y0, y1) = view.plots["loss"].viewRange()
    assert y1 >= top  # the whole diverging curve is inside the plot
    ex, ey = view.ends[0].getData()
    assert view.ends[0].isVisible() and ey[0] == pytest.approx(top)
    assert "diverged (epoch" in view.legend.items[0][1].text
    # The range test: the curve is the frame's loss where the rate did not diverge, x marks the rest.
    rates, loss = view.range_curves[0].getData()
    diverged = frame.data["range_test_diverged"][0]
    np.testing.assert_allclose(loss[~diverged], np.log10(frame.data["range_test_loss"][0][~diverged]))
    assert np.all(np.isnan(loss[diverged]))
    mx, _ = view.range_diverged.getData()
    np.testing.assert_allclose(mx, np.log10(frame.data["range_test_learning_rate"][diverged]))
    edge = frame.data["range_test_divergence_lr"][0]
    assert f"diverges from lr ≈ {edge:.3g}" in view.plots["range_test"].titleLabel.text


def test_view_double_well_diverged_run_is_drawn_to_the_edge_and_labelled(qtbot):
    values = dict(SCENE.preset("Local-minimum escape").values, n_samples=60, epochs=5, learning_rate=3.0)
    session = Session(SCENE, values, seed=0)
    view = make_view(qtbot, session)
    session.forward(4, coarse=True)
    frame = session.frame
    assert frame.data["diverged"].any()
    view.show(frame)
    (_, _), (y0, y1) = view.plots["loss"].viewRange()
    clipped = labelled = 0
    for r in range(len(frame.data["theta"])):
        _, ey = view.ends[r].getData()
        if frame.data["diverged"][r] and frame.data[f"run{r + 1}_loss"][-1] > y1:
            clipped += 1
            assert y1 - 0.05 * (y1 - y0) <= ey[0] <= y1 and view.ends[r].isVisible()  # at the top edge
            if view.end_labels[r].isVisible():  # one word per cluster of markers
                labelled += 1
                assert "diverged" in view.end_labels[r].textItem.toPlainText()
        else:
            assert not view.end_labels[r].isVisible()
    assert clipped >= 1 and labelled >= 1
    # The other runs' curves fit inside the range.
    for r in np.flatnonzero(~frame.data["diverged"]):
        assert frame.data[f"run{r + 1}_loss"].max() <= y1


@pytest.mark.parametrize("batch", [1, 8, 40])
def test_logistic_range_test_is_the_runs_at_those_rates(batch):
    """Each rate's range-test loss is the full-data loss (ridge included) a constant-rate run at
    that rate ends with (the same batches, the same number of updates)."""
    n, epochs, seed = 60, 3, 2
    p = one_run("logistic", n, batch, rate=0.1, epochs=epochs)
    data = Simulation(p, seed=seed).frame().data
    assert data["range_test_updates"][0] == epochs * math.ceil(n / batch)
    rates = data["range_test_learning_rate"]
    for i in (20, 45, 60):  # 1e-3, 0.18, 10
        sim = Simulation(dict(p, run1_learning_rate=float(rates[i])), seed=seed)
        while not sim.done:
            frame = sim.step(coarse=True)
        np.testing.assert_allclose(data["range_test_loss"][0][i], frame.data["loss"][0], rtol=1e-9)


def test_basin_seeds_follow_a_live_learning_rate_change():
    n, seed = 50, 4
    values = dict(SCENE.preset("Local-minimum escape").values, n_samples=n, epochs=4, runs=1, run1_batch_size=5)
    session = Session(SCENE, values, seed=seed)
    session.forward(1, coarse=True)
    session.set_params({"learning_rate": 0.3})
    session.forward(2, coarse=True)
    tilt, _ = make_data("double_well", n, 1.0, 0)
    seeds = int(session.frame.data["basin_seeds"])
    barrier = np.sort(np.roots([1.0, 0.0, -1.0, -0.2]).real)[1]
    u = np.full(seeds, -1.3)
    for e, rate in enumerate((0.1, 0.3, 0.3)):
        orders = np.random.default_rng([seed, e, 1]).permuted(np.tile(tilt, (seeds, 1)), axis=1)
        for lo in range(0, n, 5):
            u = u - rate * (u ** 3 - u - 0.2 - orders[:, lo:lo + 5].mean(axis=1))
        # Diverged by the runs' rule at each epoch end (loss past 1000 x max(start loss, 1)).
        u[~((np.abs(u) <= 1e6) & (hand_loss("double_well", [u], None, None) <= 1000 * max(
            hand_loss("double_well", [-1.3], None, None), 1.0)))] = np.nan
    fine = np.abs(u) <= 1e6
    np.testing.assert_allclose(session.frame.data["deep_basin_share"][0], np.mean(fine & (u > barrier)), atol=0.5 / seeds)
    np.testing.assert_allclose(session.frame.data["basin_diverged_share"][0], np.mean(~fine), atol=0.5 / seeds)


def test_divergence_limit_has_a_floor_for_starts_near_a_minimum():
    """1000 x max(start loss, 1): a start next to a minimum (loss ~0.01) does not make every
    small bump of the loss a "divergence"."""
    p = one_run("double_well", 50, 1, rate=0.05, epochs=3, init_w=1.0)
    sim = Simulation(p, seed=0)
    start_loss = hand_loss("double_well", [1.0], make_data("double_well", 50, p["noise"], 0)[0], None)
    data = sim.frame().data
    assert start_loss < 0.05
    np.testing.assert_allclose(data["start_loss"], start_loss, rtol=1e-9, atol=1e-15)
    assert data["divergence_loss_limit"] == 1000.0  # not 1000 x 0.01
