"""Gradient descent as drawn: items equal to the frame after every show(), the map filling its plot
in the window (1440x900, 1024x640) and in exports, labels inside the map, a continuous colour map."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import export
from explorer.session import Session
from scenes.gradient_descent import SCENE
from scenes.gradient_descent.optimizers import OPTIMIZERS
from tests.conftest import wait_ready

NONE = {f"use_{name}": False for name in OPTIMIZERS}


def race(*names: str, **values) -> dict:
    return {**NONE, **{f"use_{name}": True for name in names}, **values}


def assert_drawn(view, frame) -> None:
    """Every drawn item says what the frame says: trails, loss-gap curves, current points, labels."""
    positions = []
    for name in OPTIMIZERS:
        trail_item, curve = view.trails[name], view.losses[name]
        if f"{name}.trail" not in frame.data:
            assert not trail_item.isVisible() and not curve.isVisible(), name
            continue
        assert trail_item.isVisible(), name
        xs, ys = trail_item.getData()
        assert_trail_drawn(view, np.column_stack([xs, ys]), frame.data[f"{name}.trail"], name)
        steps, gaps = curve.getOriginalDataset()
        if frame.step < 2000:  # short curves are drawn point for point
            np.testing.assert_array_equal(steps, np.arange(frame.step + 1), err_msg=name)
        np.testing.assert_array_equal(gaps, frame.data[f"{name}.loss_gap"][steps.astype(int)], err_msg=name)
        positions.append(frame.data[f"{name}.position"])
        diverged = frame.data[f"{name}.status"].startswith("diverged")
        assert view.notes[name].isVisible() == diverged, name
        if diverged:
            assert frame.data[f"{name}.status"] in view.notes[name].toPlainText()
    drawn = view.current.getData()
    np.testing.assert_array_equal(np.column_stack(drawn), np.array(positions).reshape(-1, 2))


def assert_trail_drawn(view, drawn: np.ndarray, trail: np.ndarray, name: str) -> None:
    """The drawn trail is the frame's trail, up to points closer than a pixel to a drawn one:
    the same first and last point, a subsequence of it, and no point of it farther than one
    pixel from the drawn points."""
    pixel = np.abs(np.asarray(view.plots["surface"].getViewBox().viewPixelSize()))
    np.testing.assert_array_equal(drawn[0], trail[0], err_msg=name)
    np.testing.assert_array_equal(drawn[-1], trail[-1], err_msg=name)
    position = 0
    for point in drawn:  # in order, each drawn point is a point of the trail
        while position < len(trail) and not np.array_equal(trail[position], point):
            position += 1
        assert position < len(trail), (name, point)
    distance = np.abs(trail[:, None, :] - drawn[None, :, :]) / pixel
    assert np.max(np.min(np.max(distance, axis=2), axis=1)) <= 1.0, name


@pytest.fixture
def view(qtbot):
    from scenes.gradient_descent.view import GradientDescentView
    session = Session(SCENE, race("gd", "momentum", "adam", learning_rate=0.05))
    view = GradientDescentView(SCENE, session.params)
    qtbot.addWidget(view.widget)
    view.widget.resize(1000, 700)
    view.widget.show()
    view.apply_prepared(GradientDescentView.prepare(session.params, session.seed))
    yield view, session
    view.close()


def test_drawn_items_equal_the_frame_after_every_show(view):
    view, session = view

    def show(frame):
        view.show(frame)
        assert_drawn(view, frame)

    show(session.frame)
    for _ in range(4):
        show(session.forward(3))
    for _ in range(5):  # step back: shorter trails, earlier points
        show(session.back())
    show(session.seek(2))
    show(session.seek(session.timeline.head))
    session.set_params({"learning_rate": 0.3})  # live change: GD on the κ = 10 bowl now diverges
    view.set_params(session.params)
    show(session.forward(30))
    assert session.frame.data["gd.status"].startswith("diverged")
    # A new run shown at the same step count, with the same statuses as the frame on screen
    # (momentum and Adam still running): no stale trail.
    length = session.step
    session.set_params({"start_x": 1.5, "start_y": -1.5})
    view.set_params(session.params)
    show(session.forward(length))
    show(session.seek(0))
    # Another surface and optimiser set: a new prepared map, then frames again.
    session.set_params({"surface": "himmelblau", "use_gd": False, "use_rmsprop": True, "learning_rate": 0.01})
    view.set_params(session.params)
    view.apply_prepared(view.prepare(session.params, session.seed))
    for _ in range(3):
        show(session.forward(7))
    show(session.back())


def _image_rect(view) -> QtCore.QRectF:
    image = view.image
    return image.mapRectToParent(image.boundingRect())


def assert_map_fills_the_plot(view, min_side: float = 150.0) -> None:
    box = view.plots["surface"].getViewBox()
    (x0, x1), (y0, y1) = box.viewRange()
    rect = _image_rect(view)
    tolerance = 1e-6 * max(rect.width(), rect.height())
    assert rect.left() - tolerance <= x0 and x1 <= rect.right() + tolerance, (x0, x1, rect)
    assert rect.top() - tolerance <= y0 and y1 <= rect.bottom() + tolerance, (y0, y1, rect)
    # The visible range covers the domain, and the map gets a real cell, not a strip.
    domain = view._prepared.domain
    assert x0 <= domain[0] + 1e-9 and x1 >= domain[1] - 1e-9 and y0 <= domain[2] + 1e-9 and y1 >= domain[3] - 1e-9
    size = box.size()
    assert size.width() >= min_side and size.height() >= min_side, size
    assert 1 / 2.4 <= size.height() / size.width() <= 2.4, size


def assert_labels_inside(view) -> None:
    box_rect = view.plots["surface"].getViewBox().sceneBoundingRect()
    shown = 0
    for note in view.notes.values():
        if note.isVisible():
            shown += 1
            rect = note.mapRectToScene(note.boundingRect())
            assert box_rect.adjusted(-1, -1, 1, 1).contains(rect), (rect, box_rect)
    assert shown, "a diverged label is on screen"


def _not_white_at(image: QtGui.QImage, x: float, y: float) -> bool:
    colour = image.pixelColor(int(x), int(y))
    return min(colour.red(), colour.green(), colour.blue()) < 245


def assert_exported_map_has_no_bands(view, image: QtGui.QImage) -> None:
    """Pixels just inside the top and bottom (and left and right) edges of the map's plot are map
    colours, not white bands."""
    source = QtCore.QRectF(view.widget.sceneRect())
    scale = image.width() / source.width()
    rect = view.plots["surface"].getViewBox().sceneBoundingRect().translated(-source.topLeft())
    inset = 4
    for fx in (0.3, 0.5, 0.7):
        x = (rect.left() + fx * rect.width()) * scale
        assert _not_white_at(image, x, (rect.top() + inset) * scale), ("top", fx)
        assert _not_white_at(image, x, (rect.bottom() - inset) * scale), ("bottom", fx)
    for fy in (0.3, 0.5, 0.7):
        y = (rect.top() + fy * rect.height()) * scale
        assert _not_white_at(image, (rect.left() + inset) * scale, y), ("left", fy)
        assert _not_white_at(image, (rect.right() - inset) * scale, y), ("right", fy)


@pytest.mark.parametrize("size", [(1440, 900), (1024, 640)])
def test_window_map_fills_its_plot_and_labels_stay_inside(open_window, qtbot, size, tmp_path):
    window = open_window(SCENE.id, size)
    for preset in ("Learning rate too large: diverges", "Adam vs GD on Rosenbrock", "Himmelblau: which minimum?",
                   "Fitting a line (MSE)"):
        window.apply_preset(preset)
        wait_ready(qtbot, window)
        for _ in range(40):
            window.step()
        QtWidgets.QApplication.processEvents()
        view = window.view
        assert_map_fills_the_plot(view)
        loss_box = view.plots["loss"].getViewBox().size()
        assert loss_box.width() >= 150 and loss_box.height() >= 80, (preset, loss_box)
        if preset.startswith(("Learning", "Adam")):
            assert_labels_inside(view)
        # Every plot lies wholly inside the view widget (a layout wider than its view is cut off).
        visible = QtCore.QRectF(view.widget.rect()).adjusted(-1, -1, 1, 1)
        for name, plot in view.plots.items():
            if plot.isVisible():
                assert visible.contains(plot.sceneBoundingRect()), (preset, name, plot.sceneBoundingRect())
        # An export from the window shows the same: no white bands in the map's plot.
        path = window.export_to(tmp_path / "window.png", width=1200)
        assert_exported_map_has_no_bands(view, QtGui.QImage(str(path)))


@pytest.mark.parametrize("preset", ["Learning rate too large: diverges", "Fitting a line (MSE)"])
def test_render_export_map_fills_its_plot(qapp, preset):
    session = Session(SCENE, SCENE.preset(preset).values)
    session.forward(100)
    view = export.build_view(session)  # what `ml-explorer render` draws
    try:
        assert_map_fills_the_plot(view)
        if preset.startswith("Learning rate"):
            assert_labels_inside(view)
        assert_exported_map_has_no_bands(view, export.render_image(view, 1280))
    finally:
        view.close()


def test_colour_map_is_continuous_in_the_condition_number():
    from scenes.gradient_descent.view import GradientDescentView

    def image(kappa):
        params = SCENE.resolve({"surface": "bowl", "condition_number": kappa})
        return GradientDescentView.prepare(params, 0).image[..., :3].astype(int)

    below, above = image(10.0 - 1e-3), image(10.0 + 1e-3)
    difference = np.abs(below - above)
    assert difference.max() <= 3 and difference.mean() < 0.05, (difference.max(), difference.mean())
    # Not vacuous: a real change of κ changes the picture.
    assert np.abs(image(5.0) - image(20.0)).mean() > 5


def test_long_runs_are_drawn_decimated_without_visible_loss():
    from scenes.gradient_descent.view import TRAIL_POINTS, drawn_loss_steps, drawn_trail
    rng = np.random.default_rng(0)
    # A 30,000-step trail creeping in tiny steps, then a few big jumps at the end.
    trail = np.cumsum(rng.normal(0, 1e-4, (30_000, 2)), axis=0)
    trail[-5:] += np.arange(1, 6)[:, None] * 0.5
    drawn = drawn_trail(trail, (1e-3, 1e-3))
    assert len(drawn) <= TRAIL_POINTS
    np.testing.assert_array_equal(drawn[-6:], trail[-6:])  # the big jumps are all drawn
    np.testing.assert_array_equal(drawn[0], trail[0])
    gaps = np.exp(-np.arange(30_000) / 3000) + 1e-3 * rng.random(30_000)
    gaps[12_345] = 50.0  # a spike
    steps = drawn_loss_steps(gaps)
    assert len(steps) <= 3 * 1000 + 1 and steps[0] == 0 and steps[-1] == 29_999
    assert 12_345 in steps and int(np.argmin(gaps)) in steps
    assert np.all(np.diff(steps) > 0)


def test_loss_curves_are_drawn_with_1_px_pens():
    """Peak-decimated loss curves (up to ~3,000 zig-zag points) with 2-px antialiased pens took
    ~500 ms to paint each after 100,000 steps, so every seek froze the window for seconds; 1-px
    pens take Qt's cosmetic fast path (< 10 ms)."""
    from scenes.gradient_descent.view import GradientDescentView

    view = GradientDescentView(SCENE, SCENE.resolve())
    try:
        assert view.losses and all(curve.opts["pen"].widthF() <= 1 for curve in view.losses.values())
    finally:
        view.close()


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_window_axis_labels_clear_of_tick_labels(open_window, qtbot, size):
    """In the stacked (narrow) and the side-by-side layout, no axis label (the map's "x" and
    "θ0 (intercept)" included) overlaps its tick labels, and every plot keeps a usable size."""
    from tests.scenes.test_learning_rate_batch_window import assert_axis_labels_clear, settle

    window = open_window(SCENE.id, size)
    for preset in ("Learning rate just right", "Fitting a line (MSE)", "Himmelblau: which minimum?"):
        window.apply_preset(preset)
        wait_ready(qtbot, window)
        for _ in range(10):
            window.step()
        settle(qtbot)
        view = window.view
        assert view._stacked == (size[0] < 1280), preset
        for name, plot in view.plots.items():
            if plot.isVisible():
                rect = plot.sceneBoundingRect()
                assert rect.width() >= 150 and rect.height() >= 100, (preset, name, rect)
                assert_axis_labels_clear(plot, f"{preset}: {name}")
