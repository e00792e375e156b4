"""The regularization scene in the real window: the degree slider changes the drawn fit and the error
points, switching the penalty changes the coefficients and the path, steps grow the bundle and the
bias² / variance bars, dragging alpha moves the path marker, early stopping draws its losses, the
ill-conditioned corner is a message on a finite plot; `ml-explorer render regularization`."""
import json
import math
import time

import numpy as np
import pytest

from explorer import cli
from scenes.regularization import analysis
from scenes.regularization import sim as S
from scenes.regularization import view as reg_view

from tests.conftest import wait_ready


@pytest.fixture
def window(open_window, qtbot):
    win = open_window("regularization", size=(1280, 800))
    qtbot.waitUntil(lambda: win.view.frame is not None, timeout=20000)
    return win


def action(window, text):
    return next(a for a in window.actions() if a.text() == text)


def xy(item):
    x, y = item.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def settled(window, qtbot):
    """Until the run and the prepared curves for the panel's parameters are shown."""
    wait_ready(qtbot, window)
    key = analysis.prepare_key(window.params, window.seed)
    qtbot.waitUntil(lambda: window.view.prepared is not None and window.view.prepared["key"] == key
                    and window.session.params == window.params, timeout=20000)
    window._refresh()


def test_the_window_shows_the_frame_and_the_prepared_curves(window, qtbot):
    settled(window, qtbot)
    view, frame = window.view, window.session.frame
    x, y = xy(view.fit_curve)
    np.testing.assert_array_equal(x, frame.data["x_grid"])
    np.testing.assert_array_equal(y, frame.data["y_fit_grid"])
    tx, ty = view.train_points.getData()
    np.testing.assert_array_equal(tx, frame.data["x_train"])
    text = view.corner.textItem.toPlainText()
    assert f"RMSE train {frame.data['train_rmse']:.3g}" in text and f"test {frame.data['test_rmse']:.3g}" in text
    prepared = analysis.prepare(window.params, window.seed)
    dx, dy = xy(view.error_items["degree"]["test"])
    np.testing.assert_array_equal(dx, analysis.DEGREES)
    # The plot's log mode holds log10 of what it was given.
    np.testing.assert_allclose(10 ** dy, reg_view.positive(prepared["degree_test"]), rtol=1e-9)
    # The test error at the current degree is the frame's (the same first draw, the same test set).
    assert prepared["degree_test"][window.params["degree"] - 1] == pytest.approx(frame.data["test_rmse"], rel=1e-9)
    assert prepared["degree_cv"][window.params["degree"] - 1] == pytest.approx(frame.data["cv_rmse"], rel=1e-9)


def test_moving_the_degree_slider_changes_the_curve_and_the_error_points(window, qtbot):
    settled(window, qtbot)
    view = window.view
    before_curve = xy(view.fit_curve)[1].copy()
    before_coef = view.coef_bars.opts["height"].copy()
    before_line = view.error_items["degree"]["current"].value()
    before_alpha_test = xy(view.error_items["alpha"]["test"])[1].copy()
    slider = window.panel.controls["degree"].slider
    slider.setValue(9)
    assert window.params["degree"] == 9
    settled(window, qtbot)
    frame = window.session.frame
    assert frame.data["degree"] == 9
    after_curve = xy(view.fit_curve)[1]
    assert not np.allclose(after_curve, before_curve)
    np.testing.assert_array_equal(after_curve, frame.data["y_fit_grid"])
    assert len(view.coef_bars.opts["height"]) == 9 != len(before_coef)
    assert view.error_items["degree"]["current"].value() == 9 != before_line
    # The error-vs-alpha points are those of degree 9 now.
    after_alpha_test = xy(view.error_items["alpha"]["test"])[1]
    assert not np.allclose(after_alpha_test, before_alpha_test)
    # The path has one curve per coefficient.
    assert sum(curve.isVisible() for curve in view.path_curves) == 9


def test_switching_the_penalty_to_lasso_zeroes_coefficients_and_changes_the_path(window, qtbot):
    window.set_params({"degree": 15, "alpha": 0.01})
    settled(window, qtbot)
    view = window.view
    ridge_path = xy(view.path_curves[0])[1].copy()
    combo = window.panel.controls["penalty"].editor
    combo.setCurrentIndex(combo.findData("lasso"))
    assert window.params["penalty"] == "lasso"
    settled(window, qtbot)
    frame = window.session.frame
    coef = np.asarray(frame.data["coef"])
    np.testing.assert_array_equal(view.coef_bars.opts["height"], coef)
    zeros = int(np.sum(coef == 0))
    assert zeros >= 5
    zx, _ = view.coef_zeros.getData()
    np.testing.assert_array_equal(zx, np.flatnonzero(coef == 0) + 1)
    assert f"{zeros} exactly 0" in view.plots["coefficients"].titleLabel.text
    assert not np.allclose(xy(view.path_curves[0])[1], ridge_path)
    # No penalty: no path, a note instead.
    combo.setCurrentIndex(combo.findData("none"))
    settled(window, qtbot)
    assert not any(curve.isVisible() for curve in view.path_curves)
    assert "no penalty" in view.path_note.textItem.toPlainText()
    assert not view.error_items["alpha"]["legend"].isVisible() and view.error_items["degree"]["legend"].isVisible()
    assert not view.path_marker.isVisible()


def test_steps_grow_the_bundle_and_the_bias_variance_bars(window, qtbot):
    settled(window, qtbot)
    view = window.view
    assert not view.bundle.isVisible()
    step = action(window, "Step")
    counts = []
    for _ in range(4):
        step.trigger()
        x, _ = view.bundle.getData()
        counts.append(len(x) // S.N_GRID)
    assert counts == [2, 3, 4, 5] and view.bundle.isVisible()
    frame = window.session.frame
    x, y = view.bundle.getData()
    np.testing.assert_allclose(y.reshape(5, S.N_GRID), frame.data["bundle"], rtol=1e-6)
    heights = view.bias_bars.opts["height"] + view.bias_bars.opts["y0"]
    expected, _ = reg_view.log_bars(np.array([frame.data["bias2"], frame.data["variance"],
                                              frame.data["noise_variance"], frame.data["expected_test_mse"]]))
    np.testing.assert_allclose(heights, expected)
    assert "5 fits" in view.bias_text.textItem.toPlainText()
    action(window, "Step ×10").trigger()
    assert len(view.bundle.getData()[0]) // S.N_GRID == 15
    # Step back: the smaller bundle again.
    action(window, "Step back").trigger()
    assert len(view.bundle.getData()[0]) // S.N_GRID == 5


def test_dragging_alpha_moves_the_path_marker_without_stalling_the_window(window, qtbot):
    window.set_params({"degree": 10})
    settled(window, qtbot)
    view = window.view
    slider = window.panel.controls["alpha"].slider
    before = view.path_marker.value()
    assert before == pytest.approx(math.log10(window.params["alpha"]))
    stalls = []
    for position in np.linspace(slider.value(), slider.maximum() * 0.9, 12).astype(int)[1:]:
        start = time.perf_counter()
        slider.setValue(int(position))  # the panel -> window -> view chain runs synchronously here
        stalls.append(time.perf_counter() - start)
        qtbot.wait(5)
    alpha = window.params["alpha"]
    # The fits run in the worker: the UI-thread part of every drag event stays well inside 50 ms.
    assert np.median(stalls) < 0.05, stalls
    settled(window, qtbot)
    assert window.session.frame.data["alpha"] == alpha
    assert view.path_marker.value() == pytest.approx(math.log10(alpha)) and view.path_marker.value() > before + 2
    assert view.error_items["alpha"]["current"].value() == pytest.approx(math.log10(alpha))
    # The dots on the path are the current coefficients' path values at the marker.
    px, py = view.path_points.getData()
    np.testing.assert_allclose(px, math.log10(alpha))
    assert len(py) == 10


def test_early_stopping_draws_the_losses_and_marks_the_best_epoch(window, qtbot):
    window.apply_preset("Early stopping")
    settled(window, qtbot)
    view = window.view
    assert view.plots["early_stopping"] in view.widget.ci.items
    assert view.plots["bias_variance"] not in view.widget.ci.items
    for _ in range(5):
        action(window, "Step ×10").trigger()
    frame = window.session.frame
    ex, ey = xy(view.es_val)
    assert len(ex) == frame.data["epoch"] + 1 == 51
    np.testing.assert_allclose(10 ** ey, np.maximum(frame.data["val_history"], 1e-12), rtol=1e-6)
    assert view.es_best.value() == frame.data["best_epoch"]
    assert view.val_points.isVisible() and view.best_curve.isVisible() and not view.bundle.isVisible()
    assert "epoch 50" in view.corner.textItem.toPlainText()


def test_degree_20_at_alpha_1e_6_is_a_message_on_a_finite_plot(window, qtbot):
    window.set_params({"degree": 20, "alpha": 1e-6, "penalty": "lasso", "n_train": 15})
    settled(window, qtbot)
    view = window.view
    assert view.overlay.isVisible()
    assert "did not converge within" in view.overlay.textItem.toPlainText()
    failed = int(np.sum(~view.prepared["path_converged"]))
    assert failed and f"at\n{failed} of {len(analysis.ALPHAS)} alphas" in view.path_note.textItem.toPlainText()
    action(window, "Step").trigger()
    for item in (view.fit_curve, view.error_items["degree"]["test"], view.error_items["alpha"]["cv"],
                 *view.path_curves[:20]):
        _, y = xy(item)
        assert np.all(np.isfinite(y))
    window.set_params({"penalty": "none"})
    settled(window, qtbot)
    assert "ill-conditioned" in view.overlay.textItem.toPlainText()
    assert np.all(np.isfinite(xy(view.fit_curve)[1]))


def test_render_writes_json_with_data_coefficients_and_errors(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert cli.main(["render", "regularization", "--steps", "5", "--out", str(out)]) == 0
    frame = json.loads(out.read_text())["frame"]
    assert len(frame["x_train"]) == 30 and len(frame["y_test"]) == S.N_TEST
    assert len(frame["coef"]) == 3 and len(frame["bundle"]) == 6
    for key in ("train_rmse", "test_rmse", "cv_rmse", "bias2", "variance", "noise_variance", "expected_test_mse"):
        assert isinstance(frame[key], float), key


def test_render_png_of_the_overfit_preset(tmp_path):
    out = tmp_path / "overfit.png"
    assert cli.main(["render", "regularization", "--preset", "Overfit: degree 15, no penalty", "--steps", "10",
                     "--width", "1024", "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000


# -- the view over the declared space -----------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from scenes.regularization import PARAMS  # noqa: E402
from tests.strategies import param_space  # noqa: E402


@pytest.fixture(scope="module")
def shared_view(qapp):
    """One view for every example (building one per example would cost more than the example)."""
    from scenes.regularization import SCENE
    view = SCENE.view_class()(SCENE, SCENE.resolve())
    view.widget.resize(900, 600)
    yield view
    view.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=param_space(PARAMS, log_scale=True), seed=st.integers(0, 2**31 - 1))
def test_the_view_draws_only_finite_data_for_any_declared_parameters(shared_view, values, seed):
    """Every drawn item holds finite numbers (the plot never gets a NaN), whatever the parameters."""
    view = shared_view
    sim = S.Simulation(values, seed)
    view.set_params(values)
    for frame in (sim.frame(), sim.step()):
        view.show(frame)
        for item in (view.fit_curve, view.true_curve, view.best_curve, view.es_train, view.es_val):
            _, y = xy(item)
            assert np.all(np.isfinite(y))
        _, y = view.bundle.getData()
        assert y is None or np.all(np.isfinite(y))
        assert np.all(np.isfinite(view.coef_bars.opts["height"]))
        if values["mode"] == "resample":
            assert np.all(np.isfinite(view.bias_bars.opts["height"])) and np.all(np.isfinite(view.bias_bars.opts["y0"]))
        assert view.corner.textItem.toPlainText().startswith("RMSE train")


def test_the_layout_has_every_plot_at_both_widths_and_swaps_the_side_plot_by_mode(shared_view, qtbot):
    view = shared_view
    from scenes.regularization import SCENE
    for width, narrow in ((700, True), (1400, False)):
        view.set_params(SCENE.resolve())
        view.widget.resize(width, 700)
        view._arrange(width)
        assert view._narrow is narrow
        placed = {name for name, plot in view.plots.items() if plot in view.widget.ci.items}
        assert placed == set(view.plots) - {"early_stopping"}
        view.set_params(SCENE.resolve({"mode": "early_stopping"}))
        placed = {name for name, plot in view.plots.items() if plot in view.widget.ci.items}
        assert placed == set(view.plots) - {"bias_variance"}


def test_seeking_back_through_a_long_run_gives_the_exact_frames(tmp_path):
    from explorer.session import Session
    from scenes.regularization import SCENE
    session = Session(SCENE, SCENE.resolve({"degree": 8, "penalty": "elasticnet", "alpha": 0.01}), seed=3)
    session.forward(60)
    kept = {step: session.seek(step) for step in (0, 17, 60)}
    path = tmp_path / "run.json"
    session.save(path)
    again = Session.load(path)
    assert again.step == 60
    for step, frame in kept.items():
        other = again.seek(step)
        for key in ("bundle", "coef", "x_train", "bias2", "variance"):
            np.testing.assert_array_equal(np.asarray(other.data[key]), np.asarray(frame.data[key]), err_msg=key)
