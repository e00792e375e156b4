"""The PCA scene in the real window: the rotation slider turns the drawn principal axes, stepping the
story shows each stage's items, the components slider redraws the digit reconstructions, dragging on
the plot turns your axis (2-D) and the view (3-D), the data sets' side plots, both window sizes; plus
the view's NumPy helpers and `ml-explorer render pca`."""
import json
import math

import numpy as np
import pytest
from PySide6 import QtCore

from explorer import cli
from scenes.pca import sim as pca_sim
from scenes.pca import view as pca_view

from tests.conftest import wait_ready
from tests.mouse import drag


def action(window, text):
    return next(a for a in window.actions() if a.text() == text)


def drawn(item):
    x, y = item.getData()
    return np.column_stack([x, y]) if x is not None and len(x) else np.zeros((0, 2))


def set_dataset(window, qtbot, dataset, **values):
    window.set_params({"dataset": dataset, **values})
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.view.frame is not None and window.view.frame.data["points"].shape
                    == window.session.frame.data["points"].shape, timeout=20000)


def step_to(window, stage):
    for _ in range(200):
        if window.session.frame.data["stage"] == stage:
            return window.session.frame
        action(window, "Step").trigger()
    raise AssertionError(f"never reached {stage}")






@pytest.fixture
def window(open_window, qtbot):
    win = open_window("pca", size=(1280, 800))
    qtbot.waitUntil(lambda: win.view.frame is not None, timeout=20000)
    return win


# -- the story ------------------------------------------------------------------------------------------------
def test_stepping_the_story_draws_each_stage(window, qtbot):
    view = window.view
    frame = window.session.frame
    assert frame.data["stage"] == "data"
    raw = np.vstack([drawn(item) for item in view.class_items if item.isVisible()])
    np.testing.assert_allclose(np.sort(raw, axis=0), np.sort(np.asarray(frame.data["points"]), axis=0))
    assert not view.component_arrows[0].isVisible() and not view.ellipse_curve.isVisible()

    frame = step_to(window, "centre")
    centred = drawn(view.class_items[0])
    np.testing.assert_allclose(centred.mean(axis=0), 0.0, atol=1e-9)

    frame = step_to(window, "covariance")
    assert view.ellipse_curve.isVisible()
    assert "covariance C =" in view.corner.textItem.toPlainText()

    frame = step_to(window, "power_pc1")
    first = drawn(view.candidate)
    action(window, "Step").trigger()
    assert window.session.frame.data["stage"] == "power_pc1"
    assert not np.allclose(drawn(view.candidate), first)  # the candidate direction turned
    assert f"iteration {window.session.frame.data['candidate_iteration']}" in view.corner.textItem.toPlainText()

    frame = step_to(window, "pc1")
    assert view.component_arrows[0].isVisible() and not view.component_arrows[1].isVisible()
    tip = drawn(view.component_arrows[0])[1]  # origin -> tip is the first segment
    pc1 = np.asarray(frame.data["components"])[0] * 2 * math.sqrt(frame.data["eigenvalues"][0])
    np.testing.assert_allclose(tip, pc1, atol=1e-9)

    frame = step_to(window, "project")
    assert view.segments.isVisible()
    frame = step_to(window, "projected")
    # Every point sits on the PC1 line: the drawn points' PC2 coordinate is zero.
    drawn_points = drawn(view.class_items[0])
    np.testing.assert_allclose(drawn_points @ np.asarray(frame.data["components"])[1], 0.0, atol=1e-9)
    assert frame.done
    # Step back gives the exact earlier frame and drawing.
    action(window, "Step back").trigger()
    assert window.session.frame.data["stage"] == "project"
    assert not np.allclose(drawn(view.class_items[0]) @ np.asarray(frame.data["components"])[1], 0.0)


def test_rotation_slider_turns_the_principal_axes(window, qtbot):
    view = window.view
    step_to(window, "pc2")
    before = drawn(view.component_arrows[0]).copy()
    slider = window.panel.controls["rotation"].slider
    slider.setValue(slider.value() + slider.maximum() // 6)  # +60 degrees
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.session.frame.data["points"] is not None, timeout=20000)
    step_to(window, "pc2")
    after = drawn(view.component_arrows[0])
    assert not np.allclose(before, after)
    frame = window.session.frame
    angle = math.degrees(math.atan2(*np.asarray(frame.data["components"])[0][::-1]))
    expected = window.params["rotation"]
    assert min(abs((angle - expected + 90) % 180 - 90), 180) < 8  # PC1 follows the cloud's long axis


def test_dragging_on_the_plot_turns_your_axis_and_its_captured_variance(window, qtbot):
    view = window.view
    step_to(window, "covariance")
    before = view.shown["axis_variance"]
    line_before = drawn(view.axis_line).copy()
    drag(qtbot, view, (1.0, 0.2), (1.0, 1.6))
    qtbot.waitUntil(lambda: abs(window.params["axis_angle"]) > 20, timeout=5000)
    assert window.params["axis_angle"] == pytest.approx(math.degrees(math.atan2(1.6, 1.0)), abs=3)
    assert view.shown["axis_variance"] != pytest.approx(before)
    assert not np.allclose(drawn(view.axis_line), line_before)
    # The corner compares it with PC1, which no axis beats.
    text = view.corner.textItem.toPlainText()
    assert "your axis" in text and "PC1: variance" in text
    assert view.shown["axis_variance"] <= window.session.frame.data["eigenvalues"][0] + 1e-9
    # The slider shows the dragged value (a live change: the run was not restarted).
    assert window.panel.controls["axis_angle"].value == window.params["axis_angle"]
    assert window.session.frame.data["stage"] == "covariance"


def test_dragging_the_3d_view_turns_it(window, qtbot):
    set_dataset(window, qtbot, "cloud_3d")
    view = window.view
    step_to(window, "pc3")
    before = drawn(view.class_items[0]).copy()
    azimuth = window.params["azimuth"]
    drag(qtbot, view, (0.0, 0.0), (2.0, 0.5))
    qtbot.waitUntil(lambda: window.params["azimuth"] != azimuth, timeout=5000)
    after = drawn(view.class_items[0])
    assert not np.allclose(before, after)
    expected = pca_view.orthographic(np.asarray(window.session.frame.data["points"]) -
                                     np.asarray(window.session.frame.data["mean"]),
                                     window.params["azimuth"], window.params["elevation"])
    np.testing.assert_allclose(np.sort(after, axis=0), np.sort(expected, axis=0), atol=1e-9)
    assert len(drawn(view.frame_lines)) == 6 and view.component_arrows[2].isVisible()


# -- real data ------------------------------------------------------------------------------------------------
def test_components_slider_redraws_the_digit_reconstructions(window, qtbot):
    set_dataset(window, qtbot, "digits", components=2)
    view = window.view
    assert view.plots["digits"].isVisible() and view.plots["error"].isVisible()
    assert not view.plots["projection"].isVisible()
    image_before = np.array(view.digit_image.image)
    error_before = view.shown["reconstruction_error"]
    window.panel.controls["components"].editor.setValue(20)
    qtbot.waitUntil(lambda: view.shown["reconstruction_error"] != error_before, timeout=5000)
    assert not np.array_equal(np.array(view.digit_image.image), image_before)
    assert view.shown["reconstruction_error"] < error_before
    x, y = view.error_mark.getData()
    assert x[0] == 20 and y[0] == pytest.approx(window.session.frame.data["reconstruction_error"][20])
    assert view.kept_line.value() == 20
    # With every component the reconstructions are the originals.
    window.panel.controls["components"].editor.setValue(64)
    qtbot.waitUntil(lambda: view.shown["reconstruction_error"] < 1e-6, timeout=5000)
    np.testing.assert_allclose(view.shown["digits.reconstruction"],
                               np.asarray(window.session.frame.data["points"])[: pca_sim.DIGITS_SHOWN], atol=1e-8)


def test_iris_scatter_biplot_and_loadings(window, qtbot):
    set_dataset(window, qtbot, "iris", standardize=True)
    view = window.view
    frame = window.session.frame
    shown = [drawn(item) for item in view.class_items[:3]]
    labels = np.asarray(frame.data["labels"])
    scores = np.asarray(frame.data["scores"])
    for c in range(3):
        np.testing.assert_allclose(shown[c], scores[labels == c][:, :2])
    assert view.biplot.isVisible() and sum(label.isVisible() for label in view.biplot_labels) == 4
    # Another component on the vertical axis: the points move.
    window.panel.controls["pc_y"].editor.setValue(3)
    qtbot.waitUntil(lambda: np.allclose(drawn(view.class_items[0]), scores[labels == 0][:, [0, 2]]), timeout=5000)
    assert "PC3" in view.plots["main"].getAxis("left").labelText


def test_circles_show_kernel_pca(window, qtbot):
    set_dataset(window, qtbot, "circles", n_samples=300)
    view = window.view
    assert view.plots["kernel"].isVisible()
    projections = np.asarray(window.session.frame.data["kernel.projections"])
    labels = np.asarray(window.session.frame.data["kernel.labels"])
    np.testing.assert_allclose(drawn(view.kernel_items[0]), projections[labels == 0][:, :2])
    assert "γ = 5" in view.plots["kernel"].titleLabel.text


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
@pytest.mark.parametrize("dataset", ["cloud_2d", "digits", "wine"])
def test_side_plots_stay_inside_the_view_at_both_sizes(open_window, qtbot, size, dataset):
    window = open_window("pca", size=size)
    set_dataset(window, qtbot, dataset)
    qtbot.wait(50)
    view = window.view
    visible = [view.plots["main"]] + [view.plots[n] for n in pca_view.LAYOUTS[dataset]]
    rects = [plot.sceneBoundingRect() for plot in visible]
    bounds = QtCore.QRectF(view.widget.rect()).adjusted(-1, -1, 1, 1)
    for name, rect in zip(["main", *pca_view.LAYOUTS[dataset]], rects):
        assert bounds.contains(rect), (name, rect, bounds)
        assert rect.width() > 100 and rect.height() > 60, (name, rect)
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a.intersected(b).width() < 2 or a.intersected(b).height() < 2


# -- helpers and render ----------------------------------------------------------------------------------------
def test_orthographic_keeps_lengths_in_the_screen_plane():
    # Looking along x (azimuth 0, elevation 0) shows (y, z); a turn by 90 degrees shows (−x, z).
    points = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(pca_view.orthographic(points, 0, 0), [[2.0, 3.0]])
    np.testing.assert_allclose(pca_view.orthographic(points, 90, 0), [[-1.0, 3.0]], atol=1e-12)
    # Any view is a projection: it never lengthens a vector.
    rng = np.random.default_rng(1)
    p = rng.standard_normal((200, 3))
    for azimuth, elevation in rng.uniform(-180, 180, (10, 2)):
        screen = pca_view.orthographic(p, azimuth, elevation / 2)
        assert np.all(np.linalg.norm(screen, axis=1) <= np.linalg.norm(p, axis=1) + 1e-12)


def test_digit_atlas_and_fold_angle():
    atlas = pca_view.digit_atlas([np.full((2, 64), 16.0), np.zeros((1, 64))], [False, False])
    assert atlas.shape == (17, 17, 4)
    assert np.all(atlas[:8, :8, :3] == 0) and np.all(atlas[9:, :8, :3] == 255)
    signed = pca_view.digit_atlas([np.linspace(-1, 1, 64)[None, :]], [True])
    assert signed[0, 0, 2] > signed[0, 0, 0] and signed[7, 7, 0] > signed[7, 7, 2]  # blue low, orange high
    assert pca_view.fold_angle(120.0) == pytest.approx(-60.0)
    assert pca_view.fold_angle(-100.0) == pytest.approx(80.0)
    assert pca_view.fold_angle(90.0) == pytest.approx(90.0)


def test_render_json_carries_data_components_variance_and_projection(tmp_path):
    out = tmp_path / "run.json"
    assert cli.main(["render", "pca", "--steps", "100", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    data = document["frame"]
    assert np.asarray(data["points"]).shape == (300, 2)
    assert np.asarray(data["components"]).shape == (2, 2)
    assert len(data["explained_variance_ratio"]) == 2
    assert data["stage"] == "projected" and np.asarray(data["moved_points"]).shape == (300, 2)
    assert np.asarray(data["scores"]).shape == (300, 2)
