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
