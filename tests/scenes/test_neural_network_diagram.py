"""The network diagram in a real GraphicsLayoutWidget (offscreen): what it draws equals what it was
given (atlas pixels, curve groups, positions), and the mouse drives it like a user: hovering a neuron
or a weight, clicking + / − buttons, clicking a weight and typing a new value."""
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui

from explorer.ui import theme
from scenes.neural_network import diagram as diagram_module
from scenes.neural_network.diagram import CURVE_SAMPLES, NetworkDiagram

LABELS = ("X₁", "X₂", "X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)")
THUMB = 12
LEFT = QtCore.Qt.MouseButton.LeftButton
# pyqtgraph's scene takes clicks on release without accepting the press (as in the other views' tests).
pytestmark = pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")


def make_net(sizes, seed=0, thumb=THUMB):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 1, (sizes[l], sizes[l + 1])) for l in range(len(sizes) - 1)]
    biases = [rng.normal(0, 0.5, sizes[l + 1]) for l in range(len(sizes) - 1)]
    rgba = [rng.integers(0, 256, (n, thumb, thumb, 4), dtype=np.uint8) for n in sizes]
    for stack in rgba:
        stack[..., 3] = 255
    return weights, biases, rgba


@pytest.fixture
def shown(qtbot):
    """(widget, diagram, show): a diagram filling a 1200 x 700 widget; show(sizes, ...) draws a net."""
    theme.setup()
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    view_box = widget.addViewBox()
    diagram = NetworkDiagram(view_box)
    widget.resize(1200, 700)
    widget.show()
    qtbot.waitExposed(widget)

    def show(sizes, seed=0, weights=None, biases=None, rgba=None):
        w, b, r = make_net(sizes, seed)
        net = (weights if weights is not None else w, biases if biases is not None else b,
               rgba if rgba is not None else r)
        diagram.show(sizes, LABELS[:sizes[0]], *net)
        return net

    return widget, diagram, show


def widget_point(widget, diagram, point) -> QtCore.QPoint:
    """The viewport pixel of a view-box point of the diagram."""
    return widget.mapFromScene(diagram.view_box.mapViewToScene(point))


def move_to(qtbot, widget, diagram, point) -> None:
    qtbot.wait(15)  # pyqtgraph drops mouse moves closer than 10 ms (mouseRateLimit)
    qtbot.mouseMove(widget.viewport(), widget_point(widget, diagram, point))


def click_at(qtbot, widget, diagram, point) -> None:
    move_to(qtbot, widget, diagram, point)
    qtbot.mouseClick(widget.viewport(), LEFT, QtCore.Qt.KeyboardModifier.NoModifier,
                     widget_point(widget, diagram, point))


def drawn_curves(diagram, key, n_weights):
    """(centre lines (curves, CURVE_SAMPLES, 2), drawn width in px) of one curve group: a wide curve
    is drawn as parallel 1-px copies, copy-major, each NaN-terminated."""
    item = diagram.curve_items[key]
    if item.xData is None or not len(item.xData):
        return np.zeros((0, CURVE_SAMPLES, 2)), 0.0
    assert item.opts["connect"] == "finite"
    rows = np.stack([item.xData, item.yData], axis=-1).reshape(-1, CURVE_SAMPLES + 1, 2)
    assert np.isnan(rows[:, -1]).all() and np.isfinite(rows[:, :-1]).all()
    dense = n_weights > diagram_module.DENSE_CURVES
    copies = 1 if key[0] == "zero" or dense else diagram_module.BUCKET_COPIES[key[1]]
    rows = rows[:, :-1].reshape(copies, -1, CURVE_SAMPLES, 2)
    spread = np.linalg.norm(rows[-1] - rows[0], axis=-1)  # outermost copies: parallel, a constant gap
    np.testing.assert_allclose(spread, spread.flat[0], atol=0.05)
    return rows.mean(axis=0), 1.0 + float(spread.flat[0])


def curve_count(diagram, n_weights) -> int:
    return sum(len(drawn_curves(diagram, key, n_weights)[0]) for key in diagram.curve_items)


def button_centre(button) -> QtCore.QPointF:
    return button.rect.center()


# -- drawing ------------------------------------------------------------------------------------
def test_showing_the_same_structure_again_creates_no_items(shown):
    widget, diagram, show = shown
    show([2, 4, 2, 1], seed=0)
    items = set(widget.scene().items())
    atlas = diagram.atlas
    show([2, 4, 2, 1], seed=1)
    show([2, 4, 2, 1], seed=2)
    assert set(widget.scene().items()) == items
    assert diagram.atlas is atlas
    # Even another structure within the playground's bounds reuses the items made at construction.
    show([7, 8, 8, 8, 8, 8, 8, 5], seed=3)
    assert set(widget.scene().items()) == items


def test_each_neuron_shows_its_thumbnail_in_the_one_atlas(shown, qtbot):
    widget, diagram, show = shown
    sizes = [3, 5, 2, 2]
    _, _, rgba = show(sizes, seed=4)
    atlas_items = [item for item in widget.scene().items() if isinstance(item, pg.ImageItem)]
    assert atlas_items == [diagram.atlas]
    for layer, units in enumerate(sizes):
        for unit in range(units):
            rows, cols = diagram.atlas_slices(layer, unit)
            # Row 0 of a thumbnail is the bottom of the input plane; the diagram's y axis points down.
            np.testing.assert_array_equal(diagram.atlas.image[rows, cols], rgba[layer][unit][::-1])
            # That atlas region is drawn exactly on the neuron's square.
            region = QtCore.QRectF(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
            placed = diagram.atlas.mapRectToParent(region)
            rect = diagram.neuron_rect(layer, unit)
            for got, want in zip(placed.getRect(), rect.getRect()):
                assert got == pytest.approx(want, abs=1e-6)
    # A new frame with the same structure refills the pixels in place.
    _, _, rgba2 = show(sizes, seed=5)
    rows, cols = diagram.atlas_slices(2, 1)
    np.testing.assert_array_equal(diagram.atlas.image[rows, cols], rgba2[2][1][::-1])


def test_the_screen_shows_a_thumbnail_the_right_way_up(shown, qtbot):
    widget, diagram, show = shown
    sizes = [2, 3, 1]
    _, _, rgba = make_net(sizes)
    stack = rgba[1]
    stack[1, :THUMB // 2] = (255, 0, 0, 255)   # bottom half of the plane red
    stack[1, THUMB // 2:] = (0, 160, 0, 255)   # top half green
    show(sizes, rgba=rgba)
    image = widget.grab().toImage()
    rect = diagram.neuron_rect(1, 1)
    upper = widget_point(widget, diagram, QtCore.QPointF(rect.center().x(), rect.top() + rect.height() * 0.25))
    lower = widget_point(widget, diagram, QtCore.QPointF(rect.center().x(), rect.top() + rect.height() * 0.75))
    assert QtGui.QColor(image.pixel(upper)).getRgb()[:3] == (0, 160, 0)
    assert QtGui.QColor(image.pixel(lower)).getRgb()[:3] == (255, 0, 0)


def test_weight_curves_are_grouped_by_sign_and_magnitude(shown):
    widget, diagram, show = shown
    sizes = [2, 4, 1]
    # Layer 1 holds every sign x magnitude bucket once; layer 2 two zeros, a large and a small one.
    w1 = np.array([[0.1, 0.5, 1.0, 2.0], [-0.1, -0.5, -1.0, -2.0]])
    w2 = np.array([[0.0], [0.0], [-3.0], [0.2]])
    show(sizes, weights=[w1, w2], biases=[np.array([0.3, -0.2, 0.0, 1.0]), np.array([-0.4])])
    items = diagram.curve_items
    expected = {("positive", 0): [(1, 0, 0), (2, 3, 0)], ("positive", 1): [(1, 0, 1)],
                ("positive", 2): [(1, 0, 2)], ("positive", 3): [(1, 0, 3)],
                ("negative", 0): [(1, 1, 0)], ("negative", 1): [(1, 1, 1)], ("negative", 2): [(1, 1, 2)],
                ("negative", 3): [(1, 1, 3), (2, 2, 0)], ("zero", 0): [(2, 0, 0), (2, 1, 0)]}
    assert set(items) == set(expected)
    widths = {}
    for key, weights in expected.items():
        centres, widths[key] = drawn_curves(diagram, key, 12)
        assert len(centres) == len(weights), key
        # Each curve runs from its source's right edge to its target's left edge, at their middles.
        for row, (layer, i, j) in enumerate(weights):
            src, dst = diagram.neuron_rect(layer - 1, i), diagram.neuron_rect(layer, j)
            assert tuple(centres[row, 0]) == pytest.approx((src.right(), src.center().y()))
            assert tuple(centres[row, -1]) == pytest.approx((dst.left(), dst.center().y()))
        # Every pen is a 1-px pen (wide antialiased pens are slow); the copies make the width.
        assert items[key].opts["pen"].widthF() == 1.0
    # Wider for larger |w|, from 1 px to at least 3 px; the same for both signs.
    for sign in ("positive", "negative"):
        row = [widths[(sign, b)] for b in range(4)]
        assert row == sorted(row) and row[0] == 1.0 and row[1] > 1.0 and row[-1] >= 3.0
    assert widths[("zero", 0)] == 1.0
    # Orange for positive, blue for negative (theme.SERIES 1 and 0) at full strength for the largest,
    # paler (towards the white background) for smaller weights.
    white = np.array([255, 255, 255])
    for sign, full in (("positive", theme.SERIES[1]), ("negative", theme.SERIES[0])):
        colors = [np.array(items[(sign, b)].opts["pen"].color().getRgb()[:3]) for b in range(4)]
        assert items[(sign, 3)].opts["pen"].color().name() == full.lower()
        shares = [np.mean((white - c) / (white - colors[-1] + 1e-9)) for c in colors]
        assert shares == sorted(shares) and shares[0] < 0.6
        for c in colors:
            assert np.all((np.minimum(white, colors[-1]) - 1 <= c) & (c <= np.maximum(white, colors[-1]) + 1))
    # Bias dots: one per hidden and output neuron, by sign, at each neuron's lower-left corner.
    positive = diagram.bias_items["positive"].data["x"], diagram.bias_items["positive"].data["y"]
    assert len(positive[0]) == 2
    rect = diagram.neuron_rect(1, 3)
    assert (rect.left(), rect.bottom()) in set(zip(*positive))
    assert len(diagram.bias_items["negative"].data) == 2 and len(diagram.bias_items["zero"].data) == 1
    # Flipping a weight's sign moves its curve to the other colour.
    w1b = w1.copy()
    w1b[0, 3] = -2.0
    show(sizes, weights=[w1b, w2], biases=[np.array([0.3, -0.2, 0.0, 1.0]), np.array([-0.4])])
    assert len(drawn_curves(diagram, ("positive", 3), 12)[0]) == 0
    assert len(drawn_curves(diagram, ("negative", 3), 12)[0]) == 3


def test_many_curves_are_drawn_with_one_pixel_pens(shown):
    widget, diagram, show = shown
    show([7, 8, 8, 8, 8, 8, 8, 5])
    n_weights = 7 * 8 + 5 * 64 + 8 * 5
    assert n_weights > diagram_module.DENSE_CURVES
    assert curve_count(diagram, n_weights) == n_weights
    # One 1-px line per curve (drawn_curves checks the copies); |w| shows only as strength here.
    assert {drawn_curves(diagram, key, n_weights)[1] for key in diagram.curve_items
            if diagram.curve_items[key].xData is not None and len(diagram.curve_items[key].xData)} == {1.0}
    assert {item.opts["pen"].widthF() for item in diagram.curve_items.values()} == {1.0}
    reds = [diagram.curve_items[("positive", b)].opts["pen"].color().red() for b in range(4)]
    assert reds == sorted(reds, reverse=True) and reds[0] > reds[-1]  # paler for smaller |w|


def test_show_of_the_largest_net_is_fast(shown, qtbot):
    widget, diagram, show = shown
    sizes = [7, 8, 8, 8, 8, 8, 8, 5]
    nets = [make_net(sizes, seed) for seed in range(6)]
    diagram.show(sizes, LABELS, *nets[0])
    times = []
    for k in range(30):
        start = time.perf_counter()
        diagram.show(sizes, LABELS, *nets[k % len(nets)])
        times.append(time.perf_counter() - start)
        qtbot.wait(1)
    assert np.median(times) < 0.008


# -- hover --------------------------------------------------------------------------------------
def test_hovering_a_neuron_emits_it_once_and_none_when_leaving(shown, qtbot):
    widget, diagram, show = shown
    show([2, 4, 2, 1])
    seen = []
    diagram.neuronHovered.connect(seen.append)
    rect = diagram.neuron_rect(1, 2)
    move_to(qtbot, widget, diagram, rect.center())
    move_to(qtbot, widget, diagram, rect.center() + QtCore.QPointF(3, 3))
    assert seen == [(1, 2)]
    assert diagram.neuron_highlight.xData is not None and len(diagram.neuron_highlight.xData) == 5
    move_to(qtbot, widget, diagram, diagram.neuron_rect(0, 1).center())
    assert seen == [(1, 2), (0, 1)]
    move_to(qtbot, widget, diagram, QtCore.QPointF(diagram.neuron_rect(0, 1).center().x(), 695))
    assert seen == [(1, 2), (0, 1), None]


def test_hovering_a_weight_shows_its_value(shown, qtbot):
    widget, diagram, show = shown
    weights, biases, rgba = make_net([2, 3, 1])
    weights[0][0, 0] = -0.732
    show([2, 3, 1], weights=weights, biases=biases, rgba=rgba)
    move_to(qtbot, widget, diagram, diagram.weight_midpoint(1, 0, 0))
    assert diagram.hover_label.isVisible()
    assert diagram.hover_label.toPlainText().startswith("w = −0.732, from X₁ to neuron 1 of layer 1")
    assert len(diagram.highlight.xData) == CURVE_SAMPLES + 1
    # The label follows the frame while the mouse rests there.
    weights[0][0, 0] = 0.25
    show([2, 3, 1], weights=weights, biases=biases, rgba=rgba)
    assert diagram.hover_label.toPlainText().startswith("w = 0.250,")
    move_to(qtbot, widget, diagram, diagram.weight_midpoint(2, -1, 0))
    assert diagram.hover_label.toPlainText().startswith(f"b = {biases[1][0]:.3f}".replace("-", "−")
                                                        + ", bias of the output")
    move_to(qtbot, widget, diagram, QtCore.QPointF(600, 695))
    assert not diagram.hover_label.isVisible()


# -- buttons ------------------------------------------------------------------------------------
def test_plus_and_minus_buttons_request_structures(shown, qtbot):
    widget, diagram, show = shown
    show([2, 4, 2, 1])
    requests = []
    diagram.structureRequested.connect(requests.append)
    minus, plus = diagram.layer_buttons
    click_at(qtbot, widget, diagram, button_centre(plus))
    click_at(qtbot, widget, diagram, button_centre(minus))
    minus2, plus2 = diagram.neuron_buttons[1]
    click_at(qtbot, widget, diagram, button_centre(plus2))
    click_at(qtbot, widget, diagram, button_centre(minus2))
    assert requests == [{"hidden_layers": 3}, {"hidden_layers": 1}, {"neurons_2": 3}, {"neurons_2": 1}]
    assert not diagram.neuron_buttons[2][0].isVisible()
    # Its help text shows on hover.
    move_to(qtbot, widget, diagram, button_centre(plus2))
    assert diagram.hover_label.toPlainText() == "Add a neuron to hidden layer 2"


def test_buttons_at_their_bounds_are_disabled_and_request_nothing(shown, qtbot):
    widget, diagram, show = shown
    show([2, 8, 1, 2, 2, 2, 2, 1])
    requests = []
    diagram.structureRequested.connect(requests.append)
    clicks = [diagram.layer_buttons[1], diagram.neuron_buttons[0][1], diagram.neuron_buttons[1][0]]
    for button in clicks:
        assert not button.enabled
        click_at(qtbot, widget, diagram, button_centre(button))
    assert requests == []
    move_to(qtbot, widget, diagram, button_centre(diagram.layer_buttons[1]))
    assert diagram.hover_label.toPlainText() == "6 hidden layers is the most"
    show([2, 1])  # no hidden layer: nothing to remove
    click_at(qtbot, widget, diagram, button_centre(diagram.layer_buttons[0]))
    assert requests == []
    click_at(qtbot, widget, diagram, button_centre(diagram.layer_buttons[1]))
    assert requests == [{"hidden_layers": 1}]


def test_buttons_stay_clickable_in_a_small_diagram(shown, qtbot):
    """At a 1024 x 640 window the diagram gets about half of it: buttons keep >= 18 px and do not overlap."""
    widget, diagram, show = shown
    widget.resize(480, 300)
    qtbot.waitUntil(lambda: diagram.view_box.width() < 500)
    show([7, 8, 8, 8, 8, 8, 8, 5])
    buttons = [b for b in diagram._buttons() if b.isVisible()]
    assert len(buttons) == 14
    for k, button in enumerate(buttons):
        top_left = widget_point(widget, diagram, button.rect.topLeft())
        bottom_right = widget_point(widget, diagram, button.rect.bottomRight())
        assert bottom_right.x() - top_left.x() >= 18 and bottom_right.y() - top_left.y() >= 18
        assert widget.viewport().rect().contains(top_left) and widget.viewport().rect().contains(bottom_right)
        for other in buttons[k + 1:]:
            assert not button.rect.intersects(other.rect)
    requests = []
    diagram.structureRequested.connect(requests.append)
    click_at(qtbot, widget, diagram, button_centre(diagram.neuron_buttons[5][0]))
    assert requests == [{"neurons_6": 7}]
    # The diagram of a real 1024 x 640 window is only about 266 x 240 (the panel and the output map take
    # the rest): with 6 hidden layers each column's + sits above its −, both still >= 18 px.
    widget.resize(270, 245)
    qtbot.waitUntil(lambda: diagram.view_box.width() < 280)
    buttons = [b for b in diagram._buttons() if b.isVisible()]
    assert len(buttons) == 14
    for k, button in enumerate(buttons):
        top_left = widget_point(widget, diagram, button.rect.topLeft())
        bottom_right = widget_point(widget, diagram, button.rect.bottomRight())
        assert bottom_right.x() - top_left.x() >= 18 and bottom_right.y() - top_left.y() >= 18
        assert widget.viewport().rect().contains(top_left) and widget.viewport().rect().contains(bottom_right)
        for other in buttons[k + 1:]:
            assert not button.rect.intersects(other.rect)
    minus, plus = diagram.neuron_buttons[2]
    assert plus.rect.bottom() < minus.rect.top() and plus.rect.left() == minus.rect.left()
    requests.clear()
    click_at(qtbot, widget, diagram, button_centre(diagram.neuron_buttons[2][0]))
    assert requests == [{"neurons_3": 7}]
    # Squeezed far below any window's diagram, buttons shrink rather than overlap their neighbours.
    widget.resize(150, 220)
    qtbot.waitUntil(lambda: diagram.view_box.width() < 170)
    # Columns closer than the smallest button: no neuron buttons (the panel keeps its controls).
    assert not any(b.isVisible() for pair in diagram.neuron_buttons for b in pair)
    buttons = [b for b in diagram._buttons() if b.isVisible()]
    assert len(buttons) == 2
    for k, button in enumerate(buttons):
        assert button.rect.width() >= diagram_module.BUTTON_MIN
        for other in buttons[k + 1:]:
            assert not button.rect.intersects(other.rect)


# -- editing a weight -----------------------------------------------------------------------------
@pytest.fixture
def small_net(shown):
    widget, diagram, show = shown
    weights, biases, rgba = make_net([2, 3, 1])
    weights[0][0, 0] = -0.732
    biases[0][1] = 0.25
    show([2, 3, 1], weights=weights, biases=biases, rgba=rgba)
    edits = []
    diagram.weightEditRequested.connect(lambda *args: edits.append(args))
    return widget, diagram, show, edits


def test_clicking_a_weight_and_typing_a_value_requests_the_edit(small_net, qtbot):
    widget, diagram, show, edits = small_net
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(1, 0, 0))
    editor = diagram.editor
    assert editor is not None and editor.isVisible()
    assert editor.text() == "-0.732" and editor.selectedText() == "-0.732"
    qtbot.keyClicks(editor, "0.5")  # replaces the selected value
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    assert edits == [(1, 0, 0, 0.5)]
    assert diagram.editor is None and not editor.isVisible()


def test_typed_values_are_parsed_and_bounded():
    parse = diagram_module.parse_value
    assert parse(" −1.5 ") == -1.5 and parse("0,25") == 0.25 and parse("100") == 100.0 and parse("-1e2") == -100.0
    for text in ("", "abc", "100.001", "-101", "nan", "inf", "1/2"):
        with pytest.raises(ValueError):
            parse(text)


def test_clicking_a_bias_dot_edits_the_bias(small_net, qtbot):
    widget, diagram, show, edits = small_net
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(1, -1, 1))
    editor = diagram.editor
    assert editor.text() == "0.25"
    qtbot.keyClicks(editor, "-1.5")
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Enter)
    assert edits == [(1, -1, 1, -1.5)]


def test_invalid_text_keeps_the_editor_with_a_red_border(small_net, qtbot):
    widget, diagram, show, edits = small_net
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(1, 0, 0))
    editor = diagram.editor
    for text in ("abc", "150", "nan"):
        editor.selectAll()
        qtbot.keyClicks(editor, text)
        qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
        assert edits == [] and diagram.editor is editor and editor.isVisible()
        assert theme.DIVERGED in editor.styleSheet() and "between −100 and 100" in editor.toolTip()
        assert diagram.error_label.isVisible() and diagram.error_label.toPlainText() == editor.toolTip()
    editor.selectAll()
    qtbot.keyClicks(editor, "-100")
    assert editor.styleSheet() == "" and not diagram.error_label.isVisible()  # typing again clears the error
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    assert edits == [(1, 0, 0, -100.0)]


def test_escape_or_an_unchanged_value_requests_nothing(small_net, qtbot):
    widget, diagram, show, edits = small_net
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(1, 0, 0))
    editor = diagram.editor
    qtbot.keyClicks(editor, "3")
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Escape)
    assert diagram.editor is None and not editor.isVisible()
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(1, 0, 0))
    qtbot.keyClick(diagram.editor, QtCore.Qt.Key.Key_Return)  # the value as it was: no edit
    assert edits == [] and diagram.editor is None


def test_a_structure_change_closes_the_editor_and_rebuilds(shown, qtbot):
    widget, diagram, show = shown
    show([2, 4, 3, 2, 1])
    items = set(widget.scene().items())
    seen = []
    diagram.neuronHovered.connect(seen.append)
    move_to(qtbot, widget, diagram, diagram.neuron_rect(3, 1).center())
    assert seen == [(3, 1)]
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(2, 0, 0))
    assert diagram.editor is not None
    weights, biases, rgba = show([2, 5, 1], seed=7)
    assert diagram.editor is None
    assert seen == [(3, 1), None]  # that neuron is gone
    assert set(widget.scene().items()) == items
    assert curve_count(diagram, 15) == 2 * 5 + 5 * 1
    assert [b.isVisible() for pair in diagram.neuron_buttons for b in pair] == [True, True] + [False] * 10
    titles = [t.toPlainText() for t in diagram.column_titles if t.isVisible()]
    assert titles == ["features", "5 neurons", "output"]
    assert diagram.layer_count_text.toPlainText() == "1 hidden layer"
    rows, cols = diagram.atlas_slices(2, 0)
    np.testing.assert_array_equal(diagram.atlas.image[rows, cols], rgba[2][0][::-1])
    for layer, units in enumerate([2, 5, 1]):
        for unit in range(units):
            assert diagram.target_at(*diagram.neuron_rect(layer, unit).center().toTuple()) == ("neuron", layer, unit)


def test_a_resize_lays_the_diagram_out_again(shown, qtbot):
    widget, diagram, show = shown
    show([2, 4, 2, 1])
    before = diagram.neuron_rect(3, 0)
    widget.resize(800, 500)
    qtbot.waitUntil(lambda: diagram.neuron_rect(3, 0) != before)
    rect = diagram.neuron_rect(3, 0)
    assert rect.right() <= diagram.view_box.width() and rect.bottom() <= diagram.view_box.height()
    assert diagram.target_at(*rect.center().toTuple()) == ("neuron", 3, 0)


def test_no_input_feature_and_an_empty_net_are_drawn_without_stale_curves(shown):
    widget, diagram, show = shown
    show([2, 4, 1])
    show([0, 4, 1])  # "turn on at least one input feature": no input column, only layer 2's curves
    assert curve_count(diagram, 4) == 4
    assert diagram.column_titles[0].toPlainText() == "no input feature"
    # The title is wider than its empty column: it stays inside the diagram (it was cut at the left).
    for title in diagram.column_titles:
        if title.isVisible():
            # The view box's coordinates are its pixels; a title is centred on its position.
            half = title.textItem.boundingRect().width() / 2
            assert half > 10
            assert title.pos().x() - half >= 0 and title.pos().x() + half <= diagram.view_box.width()
    assert not any(label.isVisible() for label in diagram.input_labels)
    show([0, 1])
    assert curve_count(diagram, 0) == 0
    assert diagram.target_at(*diagram.neuron_rect(1, 0).center().toTuple()) == ("neuron", 1, 0)


def test_a_frame_whose_weights_stay_in_their_groups_refills_no_curve(shown):
    widget, diagram, show = shown
    weights, biases, rgba = show([2, 4, 2, 1])
    before = {key: item.xData for key, item in diagram.curve_items.items()}
    # Nudged within their buckets (no weight near a bucket edge at this seed): paths stay as they are.
    nudged = [w * (1 + 1e-9) for w in weights]
    diagram.show([2, 4, 2, 1], LABELS[:2], nudged, biases, rgba)
    assert all(diagram.curve_items[key].xData is x for key, x in before.items())
    nudged[1][0, 0] = -nudged[1][0, 0]
    diagram.show([2, 4, 2, 1], LABELS[:2], nudged, biases, rgba)
    changed = [key for key, x in before.items() if diagram.curve_items[key].xData is not x]
    assert 1 <= len(changed) <= 2


def test_leaving_the_editor_cancels_the_edit(small_net, qtbot):
    widget, diagram, show, edits = small_net
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    click_at(qtbot, widget, diagram, diagram.weight_midpoint(1, 0, 0))
    editor = diagram.editor
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClicks(editor, "7")
    widget.setFocus()  # e.g. a click elsewhere in the plots
    qtbot.waitUntil(lambda: diagram.editor is None)
    assert not editor.isVisible() and edits == []


def test_output_labels_name_the_output_units(shown, qtbot):
    widget, diagram, show = shown
    sizes = [2, 3, 3]
    weights, biases, rgba = make_net(sizes)
    weights[1][2, 2] = 1.25
    diagram.show(sizes, LABELS[:2], weights, biases, rgba, output_labels=["class 0", "class 1", "class 2"])
    shown_labels = [item for item in diagram.output_label_items if item.isVisible()]
    assert [item.toPlainText() for item in shown_labels] == ["class 0", "class 1", "class 2"]
    for unit, item in enumerate(shown_labels):  # right of their neurons, at their middles
        rect = diagram.neuron_rect(2, unit)
        assert item.pos().x() > rect.right() and item.pos().y() == pytest.approx(rect.center().y())
        assert item.pos().x() < diagram.view_box.width()
    assert diagram.weight_text(2, 2, 2).startswith("w = 1.250, from neuron 3 of layer 1 to output 3 (class 2)")
    move_to(qtbot, widget, diagram, diagram.weight_midpoint(2, 2, 2))  # no other curve crosses its middle
    assert diagram.hover_label.toPlainText().startswith("w = 1.250, from neuron 3 of layer 1 to output 3")
