"""The neural-network playground in the real window: the diagram's + buttons, the panel, the step
action, live learning-rate changes, typed weights, step back, weight export, neuron hover, the
small-window layout, the diverged and no-feature states, drawn and imported points; plus the
view's colour maps (pure NumPy) and `ml-explorer render neural-network`."""
import json
import math

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import cli
from scenes.neural_network import data as nn_data
from scenes.neural_network import net
from scenes.neural_network import sim as nn_sim
from scenes.neural_network import view as nn_view

from tests.conftest import wait_ready


@pytest.fixture
def window(open_window, qtbot):
    win = open_window("neural-network", size=(1280, 800))
    qtbot.waitUntil(lambda: win.view.frame is not None, timeout=20000)
    return win


def frame_weights(frame):
    layers = len(frame.data["sizes"]) - 1
    return ([np.array(frame.data[f"weights_{l}"]) for l in range(1, layers + 1)],
            [np.array(frame.data[f"biases_{l}"]) for l in range(1, layers + 1)])


def widget_point(view, box, point):
    """Widget (viewport) coordinates of a point in a view box's coordinates."""
    return view.widget.mapFromScene(box.mapViewToScene(QtCore.QPointF(point)))


def click_in(qtbot, view, box, point):
    qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     QtCore.Qt.KeyboardModifier.NoModifier, widget_point(view, box, point))


def move_to(view, pos):
    event = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, QtCore.QPointF(pos), QtCore.QPointF(pos),
                              QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.NoButton,
                              QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(view.widget.viewport(), event)


def step_action(window):
    return next(a for a in window.actions() if a.text() == "Step")


def independent_forward(document, x):
    """The exported network's output, computed from the JSON alone (the format's formula)."""
    columns = {"x1": x[:, 0], "x2": x[:, 1], "x1_squared": x[:, 0] ** 2, "x2_squared": x[:, 1] ** 2,
               "x1_x2": x[:, 0] * x[:, 1], "sin_x1": np.sin(x[:, 0]), "sin_x2": np.sin(x[:, 1])}
    a = np.column_stack([columns[name] for name in document["features"]])
    functions = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
                 "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    layers = document["layers"]
    for layer in layers[:-1]:
        a = functions[document["activation"]](a @ np.array(layer["weights"]) + np.array(layer["biases"]))
    z = a @ np.array(layers[-1]["weights"]) + np.array(layers[-1]["biases"])
    if document["output"] == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if document["output"] == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


# -- the network's structure from the diagram, the panel --------------------------------------------
@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_diagram_plus_buttons_add_a_layer_and_a_neuron(window, qtbot):
    view = window.view
    diagram = view.diagram
    plus_layer = diagram.layer_buttons[1]
    click_in(qtbot, view, view.diagram_box, plus_layer.rect.center())
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: list(window.session.frame.data["sizes"]) == [2, 4, 2, 2, 1], timeout=20000)
    assert window.params["hidden_layers"] == 3
    assert window.panel.controls["hidden_layers"].value == 3
    plus_neuron = diagram.neuron_buttons[0][1]  # + of hidden layer 1
    click_in(qtbot, view, view.diagram_box, plus_neuron.rect.center())
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: list(window.session.frame.data["sizes"]) == [2, 5, 2, 2, 1], timeout=20000)
    assert window.params["neurons_1"] == 5
    # The diagram draws the new network: a neuron square for each unit of the new layer sizes.
    assert diagram.neuron_rect(1, 4).width() > 0 and diagram.neuron_rect(3, 1).width() > 0
    # One thumbnail stack per layer went to the atlas; the output map is the new network's.
    frame = window.session.frame
    weights, biases = frame_weights(frame)
    features = nn_data.features(nn_view.grid_points(), ("x1", "x2"))
    expected = nn_view.output_rgba(net.predict(weights, biases, features, "tanh", "sigmoid"), "sigmoid")
    np.testing.assert_array_equal(view.image.image, expected.reshape(nn_view.GRID, nn_view.GRID, 4))


def test_activation_chosen_in_the_panel_redraws_the_network_and_the_activation_plot(window, qtbot):
    combo = window.panel.controls["activation"].editor
    combo.setCurrentIndex(combo.findData("relu"))
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.session.frame.data["activation"] == "relu", timeout=20000)
    view = window.view
    z, f = view.activation_curve.getData()
    _, derivative = view.derivative_curve.getData()
    np.testing.assert_array_equal(f, np.maximum(z, 0))
    np.testing.assert_array_equal(derivative, (z > 0).astype(float))
    assert "relu" in view.plots["activation"].titleLabel.text
    # A hidden neuron's map is its ReLU output over the grid.
    weights, biases = frame_weights(window.session.frame)
    features = nn_data.features(nn_view.grid_points(), ("x1", "x2"))
    hidden = np.maximum(features @ weights[0] + biases[0], 0)
    np.testing.assert_allclose(view.maps.layers[1], hidden, rtol=1e-12, atol=1e-12)


# -- stepping, live changes, step back --------------------------------------------------------------
def test_five_steps_add_five_loss_points_and_change_the_output_map(window, qtbot):
    view = window.view
    x_before, _ = view.loss_curves["train"].getData()
    image_before = view.image.image.copy()
    action = step_action(window)
    for _ in range(5):
        action.trigger()
    frame = window.session.frame
    assert frame.step == 5
    x, y = view.loss_curves["train"].getData()
    assert len(x) == len(x_before) + 5
    np.testing.assert_array_equal(x, np.arange(6))
    np.testing.assert_array_equal(y, frame.data["train_loss"])
    np.testing.assert_array_equal(view.loss_curves["test"].getData()[1], frame.data["test_loss"])
    assert not np.array_equal(view.image.image, image_before)
    assert view.corner.textItem.toPlainText().startswith("epoch 5")
    # The gradient plot has one curve per weight layer, with the frame's norms (getData is log10 on a log axis).
    norms = frame.data["gradient_norms"]
    for layer in range(3):
        np.testing.assert_allclose(10 ** view.gradient_curves[layer].getData()[1], norms[:, layer], rtol=1e-12)
    assert not view.gradient_curves[3].isVisible()
    text = view.plots["gradient"].titleLabel.text
    assert "layer" in text and all(f">{l}<" in text for l in (1, 2, 3)) and ">4<" not in text
    # Confusion counts as text, equal to the frame's matrix.
    matrix = frame.data["confusion_matrix"]
    shown = [[int(view.count_texts[i * nn_view.MAX_CLASSES + j].textItem.toPlainText()) for j in range(2)]
             for i in range(2)]
    assert shown == matrix.tolist()


def test_learning_rate_changed_mid_run_applies_without_a_reset(window, qtbot):
    action = step_action(window)
    for _ in range(2):
        action.trigger()
    early = frame_weights(window.session.frame)
    for _ in range(2):
        action.trigger()
    session = window.session
    window.panel.controls["learning_rate"].editor.setValue(0.3)  # typed in the panel
    assert window.params["learning_rate"] == 0.3
    assert window.session is session and not window.busy  # live: no new run
    action.trigger()
    frame = window.session.frame
    assert frame.step == 5 and len(frame.data["train_loss"]) == 6
    assert frame.data["learning_rate_now"] == pytest.approx(0.3)
    # The history is kept: epoch 2 is the same as before the change.
    window.seek(2)
    again = frame_weights(window.session.frame)
    for a, b in zip(early[0] + early[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_a_typed_weight_is_drawn_and_the_next_epoch_starts_from_it(window, qtbot):
    action = step_action(window)
    for _ in range(3):
        action.trigger()
    view = window.view
    before = window.session.frame
    click_in(qtbot, view, view.diagram_box, view.diagram.weight_midpoint(1, 0, 2))
    editor = view.diagram.editor
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, "1.75")
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    assert json.loads(window.params["weight_edits"]) == {"step": 3, "sizes": [2, 4, 2, 1], "edits": [[1, 0, 2, 1.75]]}
    assert window.session.frame.step == 3
    shown_w, shown_b = view.shown_weights()
    assert shown_w[0][0, 2] == 1.75
    # The diagram holds the typed value; every other weight is the frame's.
    expected = [w.copy() for w in frame_weights(before)[0]]
    expected[0][0, 2] = 1.75
    assert "1.750" in view.diagram.weight_text(1, 0, 2)
    assert view.diagram.weight_text(1, 1, 2) == view.diagram.weight_text(1, 1, 2) and \
        f"{expected[0][1, 2]:.3f}".replace("-", "\u2212") in view.diagram.weight_text(1, 1, 2)
    # ... and the output map is the edited network's.
    features = nn_data.features(nn_view.grid_points(), ("x1", "x2"))
    out = net.predict(expected, frame_weights(before)[1], features, "tanh", "sigmoid")
    np.testing.assert_array_equal(view.image.image.reshape(-1, 4), nn_view.output_rgba(out, "sigmoid"))
    # Typing a bias at the same epoch adds to the same step's edits.
    click_in(qtbot, view, view.diagram_box, view.diagram.weight_midpoint(2, -1, 1))
    editor = view.diagram.editor
    editor.selectAll()
    qtbot.keyClicks(editor, "-0.5")
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    assert json.loads(window.params["weight_edits"])["edits"] == [[1, 0, 2, 1.75], [2, -1, 1, -0.5]]
    # The next epoch trains from the typed values: the same epoch computed independently.
    simulation = window.scene.simulation(dict(window.params, weight_edits=""), window.seed)
    simulation.restore(before)
    simulation.weights[0][0, 2] = 1.75
    simulation.biases[1][1] = -0.5
    expected_next = simulation.step()
    action.trigger()
    after = window.session.frame
    assert after.step == 4
    for a, b in zip(sum(frame_weights(after), []), sum(frame_weights(expected_next), [])):
        np.testing.assert_array_equal(a, b)
    # A weight typed at epoch 4 starts a new edit list (the string holds one step's edits).
    view._weight_edit_requested(1, 1, 0, 0.25)
    assert json.loads(window.params["weight_edits"]) == {"step": 4, "sizes": [2, 4, 2, 1], "edits": [[1, 1, 0, 0.25]]}


def test_step_back_shows_the_exact_earlier_weights(window, qtbot):
    action = step_action(window)
    for _ in range(3):
        action.trigger()
    at_three = frame_weights(window.session.frame)
    for _ in range(4):
        action.trigger()
    assert window.session.frame.step == 7
    back = next(a for a in window.actions() if a.text() == "Step back")
    for _ in range(4):
        back.trigger()
    assert window.session.frame.step == 3
    for a, b in zip(at_three[0] + at_three[1], frame_weights(window.session.frame)[0]
                    + frame_weights(window.session.frame)[1]):
        np.testing.assert_array_equal(a, b)
    shown_w, shown_b = window.view.shown_weights()
    for a, b in zip(at_three[0] + at_three[1], shown_w + shown_b):
        np.testing.assert_array_equal(a, b)
    expected = f"{at_three[0][0][0, 1]:.3f}".replace("-", "\u2212")
    assert expected in window.view.diagram.weight_text(1, 0, 1)
    assert len(window.view.loss_curves["train"].getData()[0]) == 4


# -- export, hover ----------------------------------------------------------------------------------
def test_exported_weights_load_back_with_the_same_numbers(window, qtbot, tmp_path):
    action = step_action(window)
    for _ in range(6):
        action.trigger()
    frame = window.session.frame
    path = window.view.export_weights(tmp_path / "network.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "ml-explorer-network" and document["version"] == 1
    assert document["sizes"] == [2, 4, 2, 1] and document["features"] == ["x1", "x2"]
    assert (document["activation"], document["output"], document["epoch"]) == ("tanh", "sigmoid", 6)
    weights, biases = frame_weights(frame)
    assert len(document["layers"]) == 3
    for layer, w, b in zip(document["layers"], weights, biases):
        np.testing.assert_array_equal(np.array(layer["weights"]), w)
        np.testing.assert_array_equal(np.array(layer["biases"]), b)
    # The documented formula on the exported numbers gives the network's own predictions.
    x = np.asarray(frame.data["test_x"])
    np.testing.assert_allclose(independent_forward(document, x),
                               net.predict(weights, biases, x, "tanh", "sigmoid"), rtol=1e-12, atol=1e-14)


def test_hovering_a_neuron_shows_its_map_until_the_mouse_leaves(window, qtbot):
    view = window.view
    output_image = view.image.image.copy()
    rect = view.diagram.neuron_rect(1, 2)
    # pyqtgraph drops mouse moves that come within 1/60 s of the last one: move until it is seen.
    target = widget_point(view, view.diagram_box, rect.center())
    qtbot.waitUntil(lambda: move_to(view, target) or view.hovered == (1, 2), timeout=3000)
    np.testing.assert_array_equal(view.image.image, view.maps.neuron_image(1, 2))
    assert not np.array_equal(view.image.image, output_image)
    assert view.map_label.isVisible() and "neuron 3 of layer 1" in view.map_label.textItem.toPlainText()
    # The shown neuron map is that neuron's tanh output over the grid.
    weights, biases = frame_weights(window.session.frame)
    features = nn_data.features(nn_view.grid_points(), ("x1", "x2"))
    values = np.tanh(features @ weights[0] + biases[0])[:, 2]
    np.testing.assert_array_equal(view.image.image.reshape(-1, 4), nn_view.diverging_rgba(values, -1.0, 1.0))
    # The mouse leaves the diagram (onto the map): the output map is back.
    away = widget_point(view, view.plots["map"].vb, QtCore.QPointF(0, 0))
    qtbot.waitUntil(lambda: move_to(view, away) or view.hovered is None, timeout=3000)
    np.testing.assert_array_equal(view.image.image, output_image)
    assert not view.map_label.isVisible()


# -- layout -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_every_plot_has_room_and_nothing_overlaps(open_window, qtbot, size):
    window = open_window("neural-network", size=size)
    qtbot.waitUntil(lambda: window.view.frame is not None, timeout=20000)
    QtWidgets.QApplication.processEvents()
    view = window.view
    items = {**view.plots, "diagram": view.diagram_box}
    rects = {name: item.sceneBoundingRect() for name, item in items.items()}
    bounds = QtCore.QRectF(view.widget.sceneRect())
    for name, rect in rects.items():
        assert rect.width() > 40 and rect.height() > 40, (name, rect)
        assert bounds.contains(rect), (name, rect, bounds)
    names = list(rects)
    for a in names:
        for b in names:
            if a < b:
                overlap = rects[a].intersected(rects[b])
                assert overlap.width() * overlap.height() < 1.0, (a, b, overlap)
    for name, plot in view.plots.items():
        assert plot.vb.width() > 30 and plot.vb.height() > 30, name  # the data area itself
        title = plot.titleLabel
        # The title's text fits its label (never cut).
        assert title.item.boundingRect().width() <= title.boundingRect().width() + 1, name
    # The map is square in data: its view box shows the whole square.
    vb = view.plots["map"].vb
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 <= -6 and x1 >= 6 and y0 <= -6 and y1 >= 6
    strip = view.tools()
    for button in view.tool_buttons.values():
        if button.isVisible():
            assert strip.rect().contains(button.geometry()), button.text()
            assert button.width() >= button.sizeHint().width(), button.text()


# -- states ---------------------------------------------------------------------------------------------
def test_a_diverged_run_says_so_and_plots_no_nan(window, qtbot):
    window.apply_preset("Rate too large")
    wait_ready(qtbot, window)
    for _ in range(30):
        step_action(window).trigger()
        if window.session.done:
            break
    frame = window.session.frame
    assert frame.data["diverged"]
    view = window.view
    assert view.overlay.isVisible() and view.overlay.textItem.toPlainText().startswith("diverged")
    assert QtGui.QColor(view.overlay.color).name().lower() == QtGui.QColor(nn_view.theme.DIVERGED).name().lower()
    for item in [*view.loss_curves.values(), *view.gradient_curves]:
        x, y = item.getData()
        if x is not None and len(x):
            assert np.isfinite(x).all() and np.isfinite(y).all()
    assert np.isfinite(view.maps.layers[-1]).all()
    # Back to a learning rate that works: the overlay goes with the new run.
    window.set_params({"learning_rate": 0.01})
    back = next(a for a in window.actions() if a.text() == "Reset")
    back.trigger()
    assert not view.overlay.isVisible()


def test_no_input_feature_is_a_message_on_the_map(window, qtbot):
    window.set_params({"feature_x1": False, "feature_x2": False})
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: int(window.session.frame.data["sizes"][0]) == 0, timeout=20000)
    overlay = window.view.overlay
    assert overlay.isVisible() and "turn on at least one input feature" in overlay.textItem.toPlainText()
    window.set_params({"feature_x1": True})
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: int(window.session.frame.data["sizes"][0]) == 1, timeout=20000)
    assert not overlay.isVisible()


def test_regression_shows_r2_and_rmse(window, qtbot):
    window.set_params({"problem": "regression"})
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.session.frame.data["problem"] == "regression", timeout=20000)
    for _ in range(3):
        step_action(window).trigger()
    data = window.session.frame.data
    text = window.view.metrics_text.textItem.toPlainText()
    assert f"R² test  {data['test_r2'][-1]:.3g}" in text and f"RMSE train  {data['train_rmse'][-1]:.3g}" in text
    assert not window.view.confusion.isVisible()
    assert window.view.value_train.isVisible() and not window.view.train_items[0].isVisible()


# -- your own points -----------------------------------------------------------------------------------
@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_drawn_points_become_the_data(window, qtbot):
    view = window.view
    n = sum(len(window.session.frame.data[f"{s}_x"]) for s in ("train", "validation", "test"))
    view.tool_buttons["Draw points"].setChecked(True)
    assert view.class_buttons[1].isVisible() and not view.class_buttons[2].isVisible()
    view.class_buttons[1].click()
    click_in(qtbot, view, view.plots["map"].vb, QtCore.QPointF(-5.0, 5.0))
    click_in(qtbot, view, view.plots["map"].vb, QtCore.QPointF(-4.8, 5.2))
    assert window.data is not None and len(window.data["x"]) == n + 2
    wait_ready(qtbot, window)
    data = window.session.frame.data
    x = np.concatenate([data[f"{s}_x"] for s in ("train", "validation", "test")])
    y = np.concatenate([data[f"{s}_y"] for s in ("train", "validation", "test")])
    assert len(x) == n + 2
    new = np.flatnonzero(np.all(np.abs(x - [-5.0, 5.0]) < 0.1, axis=1) | np.all(np.abs(x - [-4.8, 5.2]) < 0.1, axis=1))
    assert len(new) == 2 and (y[new] == 1).all()
    # Regenerate returns to generated data with a new data seed.
    seed = window.params["data_seed"]
    view.tool_buttons["Regenerate"].click()
    wait_ready(qtbot, window)
    assert window.data is None and window.params["data_seed"] == seed + 1


def test_shift_and_right_click_remove_the_nearest_point(window, qtbot):
    view = window.view
    view.tool_buttons["Draw points"].setChecked(True)
    view.class_buttons[1].click()
    for point in ((-5.5, 5.5), (5.5, -5.5)):
        click_in(qtbot, view, view.plots["map"].vb, QtCore.QPointF(*point))
    wait_ready(qtbot, window)
    n = len(window.data["x"])
    # Shift-click near the first drawn point removes it (and nothing else).
    qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     QtCore.Qt.KeyboardModifier.ShiftModifier,
                     widget_point(view, view.plots["map"].vb, QtCore.QPointF(-5.4, 5.4)))
    assert len(window.data["x"]) == n - 1
    # (a click lands within a pixel of the point asked for: 0.05 in data units)
    assert not np.any(np.all(np.abs(np.asarray(window.data["x"]) - [-5.5, 5.5]) < 0.05, axis=1))
    assert np.any(np.all(np.abs(np.asarray(window.data["x"]) - [5.5, -5.5]) < 0.05, axis=1))
    # A right-click removes the nearest too, counted before the new run is drawn.
    qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.RightButton,
                     QtCore.Qt.KeyboardModifier.NoModifier,
                     widget_point(view, view.plots["map"].vb, QtCore.QPointF(5.4, -5.4)))
    assert len(window.data["x"]) == n - 2
    wait_ready(qtbot, window)
    data = window.session.frame.data
    assert sum(len(data[f"{s}_x"]) for s in ("train", "validation", "test")) == n - 2


def test_a_point_drawn_on_a_scaled_import_lands_where_it_was_clicked(window, qtbot, tmp_path):
    # The file's points lie far outside the square: they are shown scaled into it; a drawn point is
    # in map coordinates, so the data becomes the shown points plus the new one (names kept).
    rows = ["x,y,label"] + [f"{100 * math.cos(t):.4f},{100 * math.sin(t):.4f},{'inner' if i % 2 else 'outer'}"
                            for i, t in enumerate(np.linspace(0, 6, 40))]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    view = window.view
    assert view.import_csv(str(path))
    wait_ready(qtbot, window)
    shown = np.concatenate([window.session.frame.data[f"{s}_x"] for s in ("train", "validation", "test")])
    assert np.abs(shown).max() <= 6.0
    view.tool_buttons["Draw points"].setChecked(True)
    click_in(qtbot, view, view.plots["map"].vb, QtCore.QPointF(0.5, -0.5))
    wait_ready(qtbot, window)
    data = window.session.frame.data
    after = np.concatenate([data[f"{s}_x"] for s in ("train", "validation", "test")])
    assert len(after) == 41
    assert np.any(np.all(np.abs(after - [0.5, -0.5]) < 0.05, axis=1))
    # The imported points stay where they were shown.
    for p in shown:
        assert np.any(np.all(np.abs(after - p) < 1e-9, axis=1))
    assert list(window.data["names"]) == ["inner", "outer"] or list(window.data["names"]) == ["outer", "inner"]


def test_imported_csv_is_the_data_and_a_bad_one_changes_nothing(window, qtbot, tmp_path):
    view = window.view
    messages = []
    view.messageRequested.connect(messages.append)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n1,oops,b\n", encoding="utf-8")
    session = window.session
    assert not view.import_csv(str(bad))
    assert messages and messages[-1].startswith("CSV import of bad.csv:")
    assert window.data is None and window.session is session and not window.busy
    good = tmp_path / "good.csv"
    rows = ["x,y,label"] + [f"{math.cos(t):.4f},{math.sin(t):.4f},{'inner' if i % 2 else 'outer'}"
                            for i, t in enumerate(np.linspace(0, 6, 40))]
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert view.import_csv(str(good))
    wait_ready(qtbot, window)
    data = window.session.frame.data
    assert sum(len(data[f"{s}_x"]) for s in ("train", "validation", "test")) == 40
    assert view.data_label.text().startswith("Imported: good.csv")


# -- colour maps (NumPy) ----------------------------------------------------------------------------------
def test_output_colours_follow_the_documented_maps():
    lut = nn_view.DIVERGING
    p = np.array([[0.0], [0.5], [1.0], [0.7]])
    rgba = nn_view.output_rgba(p, "sigmoid")
    ends = np.round(255 * (0.5 + np.array([-0.5, 0.5]) * nn_view.REGION_SPAN)).astype(int)
    # class 0 blue, class 1 orange, lighter than the points' full colours (one table step of rounding)
    np.testing.assert_allclose(rgba[[0, 2]], lut[ends], atol=3)
    assert (rgba[1, :3] > 240).all()  # undecided: white
    hard = nn_view.output_rgba(p, "sigmoid", discretize=True)
    np.testing.assert_array_equal(hard[3], hard[2])  # 0.7 and 1.0 are both class 1
    assert not np.array_equal(hard[0], hard[2])
    proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])
    colours = nn_view.output_rgba(proba, "softmax")
    for row, k in ((0, 0), (1, 2)):  # the likeliest class's hue
        target = nn_view.CLASS_RGB[k]
        mixed = 255 - (255 - target) * (colours[row, :3] - 255.0).mean() / (target - 255).mean()
        np.testing.assert_allclose(colours[row, :3], mixed, atol=2)
    assert (colours[2, :3] >= 255 - (255 - nn_view.CLASS_RGB[0].min()) * 0.11).all()  # a tie: nearly white
    values = np.array([[-1.0], [0.0], [1.0], [3.0]])
    np.testing.assert_allclose(nn_view.output_rgba(values, "linear")[[0, 2, 3]], lut[ends[[0, 1, 1]]], atol=3)


def test_edits_with_keeps_one_steps_edits():
    text = nn_view.edits_with("", 4, 1, 0, 1, 0.5)
    text = nn_view.edits_with(text, 4, 2, -1, 0, -2.0)
    text = nn_view.edits_with(text, 4, 1, 0, 1, 0.75)  # the same weight again: its newest value
    assert json.loads(text) == {"step": 4, "edits": [[2, -1, 0, -2.0], [1, 0, 1, 0.75]]}
    nn_sim.parse_weight_edits(text)  # valid for the simulation
    assert json.loads(nn_view.edits_with(text, 5, 1, 1, 1, 1.0)) == {"step": 5, "edits": [[1, 1, 1, 1.0]]}
    assert json.loads(nn_view.edits_with("", 0, 1, 0, 0, 2.0, sizes=[2, 4, 1])) == \
        {"step": 0, "sizes": [2, 4, 1], "edits": [[1, 0, 0, 2.0]]}


# -- headless render -------------------------------------------------------------------------------------
def test_render_writes_the_run_as_json_and_png(tmp_path, qapp):
    out_json, out_png = tmp_path / "run.json", tmp_path / "run.png"
    assert cli.main(["render", "neural-network", "--steps", "200", "--width", "900",
                     "--out", str(out_json), "--out", str(out_png)]) == 0
    document = json.loads(out_json.read_text(encoding="utf-8"))
    frame = document["frame"]
    assert document["frame_step"] == 200
    assert len(frame["train_loss"]) == 201 and len(frame["test_accuracy"]) == 201
    assert np.array(frame["weights_1"]).shape == (2, 4) and np.array(frame["weights_3"]).shape == (2, 1)
    assert np.array(frame["train_x"]).shape == (250, 2)
    image = QtGui.QImage(str(out_png))
    assert image.width() == 900 and image.height() > 300


def test_show_test_and_discretize_are_live_view_settings(window, qtbot):
    view = window.view
    session = window.session
    data = session.frame.data
    assert not any(item.isVisible() for item in view.test_items)
    window.set_params({"show_test": True})
    assert window.session is session  # live: the same run
    test_x, test_y = np.asarray(data["test_x"]), np.asarray(data["test_y"])
    for label in range(2):
        x, y = view.test_items[label].getData()
        np.testing.assert_array_equal(np.column_stack([x, y]), test_x[test_y == label])
        assert view.test_items[label].opts["brush"] is None or view.test_items[label].opts["brush"].style() == \
            QtCore.Qt.BrushStyle.NoBrush  # outlined
    soft = view.image.image.copy()
    window.set_params({"discretize": True})
    hard = view.image.image.reshape(-1, 4)
    p = view.maps.layers[-1][:, 0]
    np.testing.assert_array_equal(hard, nn_view.output_rgba(view.maps.layers[-1], "sigmoid", discretize=True))
    assert len(np.unique(hard, axis=0)) == len(np.unique(p >= 0.5))  # two hard colours (or one)
    assert not np.array_equal(soft, view.image.image)


def test_import_runs_in_a_worker_and_becomes_the_data(window, qtbot, tmp_path):
    path = tmp_path / "ring.csv"
    t = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    rows = ["a,b,kind"] + [f"{3 * math.cos(v):.3f},{3 * math.sin(v):.3f},{'x' if i < 15 else 'y'}"
                           for i, v in enumerate(t)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    view = window.view
    view.start_import(str(path))
    assert view.importing and window.data is None  # nothing changes until it is read
    qtbot.waitUntil(lambda: not view.importing, timeout=30000)
    wait_ready(qtbot, window)
    assert window.data is not None and len(window.data["x"]) == 30
    data = window.session.frame.data
    assert sum(len(data[f"{s}_x"]) for s in ("train", "validation", "test")) == 30


def test_early_stopping_marks_the_best_epoch_and_reports_the_restored_weights(window, qtbot):
    window.apply_preset("Early stopping")
    wait_ready(qtbot, window)
    for _ in range(400):
        window.session.forward()
        if window.session.done:
            break
    window.step()  # draws the last frame
    data = window.session.frame.data
    assert data["stopped_early"]
    best = int(data["best_epoch"])
    view = window.view
    assert view.best_line.isVisible() and view.best_line.value() == best
    assert view.best_line.label.textItem.toPlainText() == f"best {best}"
    assert view.loss_curves["validation"].isVisible()
    np.testing.assert_array_equal(view.loss_curves["validation"].getData()[1], data["validation_loss"])
    corner = view.corner.textItem.toPlainText()
    assert f"weights of epoch {best}" in corner and f"train loss {data['train_loss'][best]:.3g}" in corner
    # The accuracy shown is the restored weights' and agrees with their confusion matrix.
    matrix = np.asarray(data["confusion_matrix"])
    accuracy = np.trace(matrix) / matrix.sum()
    assert accuracy == pytest.approx(data["test_accuracy"][best])
    assert f"test accuracy {accuracy:.1%}" in view.metrics_text.textItem.toPlainText()
    assert "validation" in view.plots["loss"].titleLabel.text


def test_a_headless_render_labels_the_best_epoch(qapp):
    from explorer import export
    from explorer.session import Session
    from scenes.neural_network import SCENE

    session = Session(SCENE, SCENE.resolve(SCENE.preset("Early stopping").values))
    session.forward(400)
    best = int(session.frame.data["best_epoch"])
    assert session.frame.data["stopped_early"] and best > 0
    view = export.build_view(session)  # the line is shown for the first time with its value
    try:
        assert view.best_line.label.textItem.toPlainText() == f"best {best}"
    finally:
        view.close()
