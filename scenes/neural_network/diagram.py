"""The network diagram of the neural-network scene, drawn as TensorFlow Playground draws it.

Columns of neurons (the input features, each hidden layer, the output), each neuron a square
thumbnail of its own output over the input plane; weights as curves between them, orange when
positive and blue when negative (the colours of the thumbnails' and the output map's diverging scale:
orange is high, blue is low), wider when larger; a bias dot at each neuron's lower-left;
+ / − buttons for the number of hidden layers and the neurons of each. It computes no maths: the
view (scenes/neural_network/view.py) hands it the sizes, weights, biases and thumbnails.

Performance (DESIGN.md): every thumbnail is pasted into ONE ImageItem atlas; all weights are a
few PlotCurveItems (sign x width bucket, NaN-separated, connect="finite"); every item is created
in ``__init__`` and ``show()`` only refills pixels and curve data. The view box's coordinates
are its own pixels (y down), so sizes, hit radii and buttons are in screen pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.ui import theme
from explorer.ui.view import cache_static

MAX_HIDDEN_LAYERS = 6
MIN_NEURONS = 1
MAX_NEURONS = 8
MAX_INPUTS = 7
MAX_OUTPUTS = 5
#: A typed weight or bias must lie in [-EDIT_LIMIT, EDIT_LIMIT] (the weight_edits contract).
EDIT_LIMIT = 100.0

# Orange high / blue low, as the diverging map of the thumbnails and the output map (theme.lut).
POSITIVE = theme.SERIES[1]   # vermillion / orange
NEGATIVE = theme.SERIES[0]   # blue
ZERO = "#aaaaaa"
#: |w| bucket edges: a curve's width and strength grow with |w| on this fixed scale.
WEIGHT_BUCKETS = (0.25, 0.75, 1.5)
#: Every pen is a 1-px cosmetic pen (DESIGN.md: Qt strokes wide antialiased pens slowly: 88 curves
#: of width 1.8-3.6 took ~30 ms to paint here, 1-px ones ~1 ms). A wider curve is drawn as this many
#: parallel 1-px copies LINE_SPACING px apart, so it looks 1 + (copies - 1) * LINE_SPACING px wide.
BUCKET_COPIES = (1, 2, 4, 6)
LINE_SPACING = 0.5
BUCKET_WIDTHS = tuple(1.0 + (n - 1) * LINE_SPACING for n in BUCKET_COPIES)
#: How much of the full colour each bucket shows, mixed with the background (opaque, so that the
#: parallel copies do not darken where their antialiased edges overlap).
BUCKET_STRENGTH = (0.40, 0.60, 0.80, 1.0)
#: With more curves than this each is one 1-px line (only its strength shows |w|): building and
#: stroking the paths grows with the number of points (6 x 8 with copies: 14 ms a frame, without: 7).
DENSE_CURVES = 150
#: Points sampled on each weight's cubic curve (hit-tests measure the distance to these segments).
CURVE_SAMPLES = 20
HIT_RADIUS = 5.0
BUTTON_SIZE = 20.0
BUTTON_MIN = 10.0
MARGIN = 6.0
TITLE_HEIGHT = 18.0
NEURON_MAX = 40.0
NEURON_MIN = 6.0
BIAS_DOT = 8.0
FRAME_COLOR = "#9a9a9a"
LABEL_COLOR = theme.FOREGROUND
TITLE_COLOR = "#555555"
PLACEHOLDER_RGBA = (238, 238, 238, 255)
MINUS = "\u2212"


def _font(point_size: float, bold: bool = False) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def signed(value: float, digits: int = 3) -> str:
    """A number as the diagram prints it: a true minus sign, fixed decimals."""
    text = f"{value:.{digits}f}"
    return text.replace("-", MINUS)


def parse_value(text: str) -> float:
    """A typed weight: a finite number within ±EDIT_LIMIT (ValueError with the reason otherwise)."""
    cleaned = text.strip().replace(MINUS, "-").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"“{text.strip()}” is not a number") from None
    if not math.isfinite(value):
        raise ValueError("the value must be a finite number")
    if abs(value) > EDIT_LIMIT:
        raise ValueError(f"the value must lie between {MINUS}{EDIT_LIMIT:g} and {EDIT_LIMIT:g}")
    return value


class _Button(QtWidgets.QGraphicsObject):
    """A + or − button drawn in the diagram (the view box's pixels). Clicks reach it through the
    diagram's hit-test; it only draws itself (hovered, disabled)."""

    def __init__(self, sign: int) -> None:
        super().__init__()
        self.sign = sign
        self.rect = QtCore.QRectF(0, 0, BUTTON_SIZE, BUTTON_SIZE)
        self.enabled = True
        self.hovered = False
        self.request: dict | None = None
        self.help = ""

    def place(self, x: float, y: float, size: float, enabled: bool, request: dict | None, help_text: str) -> None:
        self.prepareGeometryChange()
        self.rect = QtCore.QRectF(x, y, size, size)
        self.enabled = enabled
        self.request = request
        self.help = help_text
        self.update()

    def set_hovered(self, hovered: bool) -> None:
        if hovered != self.hovered:
            self.hovered = hovered
            self.update()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        return self.rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        if self.enabled:
            border, fill, mark = QtGui.QColor("#8c8c8c"), QtGui.QColor("#e6e6e6" if self.hovered else "#f7f7f7"), \
                QtGui.QColor(theme.FOREGROUND)
        else:
            border, fill, mark = QtGui.QColor("#d6d6d6"), QtGui.QColor("#fbfbfb"), QtGui.QColor("#c4c4c4")
        painter.setPen(QtGui.QPen(border, 1.0))
        painter.setBrush(fill)
        painter.drawRoundedRect(self.rect.adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        pen = QtGui.QPen(mark, 1.8)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        c = self.rect.center()
        arm = self.rect.width() * 0.26
        painter.drawLine(QtCore.QPointF(c.x() - arm, c.y()), QtCore.QPointF(c.x() + arm, c.y()))
        if self.sign > 0:
            painter.drawLine(QtCore.QPointF(c.x(), c.y() - arm), QtCore.QPointF(c.x(), c.y() + arm))


class _HitArea(pg.GraphicsObject):
    """An invisible item over the whole diagram that passes pyqtgraph's hover and click events to
    the diagram, which hit-tests buttons, bias dots, neurons and weights itself (in NumPy)."""

    def __init__(self, diagram: "NetworkDiagram") -> None:
        super().__init__()
        self._diagram = diagram
        self._rect = QtCore.QRectF(0, 0, 1, 1)

    def set_rect(self, rect: QtCore.QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QtCore.QRectF(rect)

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        pass

    def hoverEvent(self, event) -> None:  # noqa: N802 - pyqtgraph's name
        if event.isExit():
            self._diagram._hover_at(None)
            return
        target = self._diagram._hover_at(event.pos())
        if target is not None and target[0] in ("button", "weight", "bias"):
            event.acceptClicks(QtCore.Qt.MouseButton.LeftButton)

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - pyqtgraph's name
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        if self._diagram._click_at(event.pos()):
            event.accept()


class _WeightEditor(QtWidgets.QLineEdit):
    """The inline editor of a clicked weight: Enter applies (see NetworkDiagram), Esc or leaving it cancels."""

    cancelled = QtCore.Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == QtCore.Qt.Key.Key_Escape:
            event.accept()
            self.cancelled.emit()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        super().focusOutEvent(event)
        if event.reason() != QtCore.Qt.FocusReason.PopupFocusReason:  # a context menu keeps the edit
            self.cancelled.emit()


@dataclass
class _Layout:
    """Where everything of one structure at one view-box size is (view-box pixels, y down)."""
    sizes: tuple[int, ...]
    rects: list[np.ndarray]            # per layer (units, 4): x, y, w, h of each neuron
    atlas_cells: list[tuple[int, int, int]]  # per layer: atlas column, first row, row pitch (atlas px)
    atlas_shape: tuple[int, int]       # (rows, cols) of the atlas array
    atlas_rect: QtCore.QRectF
    thumb: tuple[int, int]             # (h, w) of a thumbnail
    curve_index: np.ndarray            # (n, 3) int: layer (1-based), i, j of each curve
    curve_points: np.ndarray           # (n, CURVE_SAMPLES + 1, 2): samples then a NaN break
    bias_index: np.ndarray             # (b, 2) int: layer (1-based), j
    bias_points: np.ndarray            # (b, 2)
    curve_normals: np.ndarray          # (n, CURVE_SAMPLES + 1, 2): unit normals (0 at the NaN break)
    dense: bool                        # more than DENSE_CURVES curves: one 1-px line each


class NetworkDiagram(QtCore.QObject):
    """The network diagram inside ``view_box`` (which it configures: pixel coordinates, no mouse
    pan or zoom, no menu). ``show`` draws a network; the signals are the user's requests."""

    #: (layer, unit) under the mouse, layer 0 = the inputs and L = the output; None when it left.
    neuronHovered = QtCore.Signal(object)
    #: layer (1-based weight matrix), i (source unit; -1 = the bias of unit j), j, the typed value.
    weightEditRequested = QtCore.Signal(int, int, int, float)
    #: {"hidden_layers": n} or {"neurons_k": n} (k 1-based), always within 0..6 and 1..8.
    structureRequested = QtCore.Signal(dict)

    def __init__(self, view_box: pg.ViewBox) -> None:
        super().__init__(view_box)
        self.view_box = view_box
        view_box.setMouseEnabled(False, False)
        view_box.setMenuEnabled(False)
        view_box.disableAutoRange()
        view_box.setAspectLocked(False)
        view_box.invertY(True)
        self._layout: _Layout | None = None
        self._structure_key: tuple | None = None
        self._data: tuple | None = None   # the last show()'s arguments, redrawn on resize
        self._groups = np.zeros(0, dtype=np.int8)
        self._bias_groups = np.zeros(0, dtype=np.int8)
        self._refill_all = True
        self._hover: tuple | None = None
        self._hover_pos: QtCore.QPointF | None = None
        self._bias_dot = BIAS_DOT
        self._hovered_neuron: tuple[int, int] | None = None
        self._edit: tuple[int, int, int] | None = None
        self._edit_text = ""
        self._editor: _WeightEditor | None = None
        self._feature_labels: tuple[str, ...] = ()
        self._output_labels: tuple[str, ...] = ()
        self._label_font = _font(9)
        self._title_font = _font(8.5)
        self._metrics = QtGui.QFontMetricsF(self._label_font)

        def add(item, z):
            item.setZValue(z)
            view_box.addItem(item, ignoreBounds=True)
            return item

        # Weight curves: sign (0 positive, 1 negative) x width bucket, then one group of zero weights.
        self.curve_items: dict[tuple[str, int], pg.PlotCurveItem] = {}
        for sign in ("positive", "negative"):
            for bucket in range(len(BUCKET_WIDTHS)):
                # Stronger buckets on top: their opaque colour covers the fainter curves they cross.
                self.curve_items[(sign, bucket)] = add(pg.PlotCurveItem(connect="finite", antialias=True),
                                                       0.1 * bucket)
        self.curve_items[("zero", 0)] = add(pg.PlotCurveItem(connect="finite", antialias=True), 0)
        self._group_keys = list(self.curve_items)
        for key, item in self.curve_items.items():
            item.setPen(self._pen(key))
        self.highlight = add(pg.PlotCurveItem(connect="finite", antialias=True,
                                              pen=pg.mkPen(theme.FOREGROUND, width=2.2)), 1)
        self.atlas = add(pg.ImageItem(axisOrder="row-major"), 2)
        self.atlas_array = np.zeros((1, 1, 4), dtype=np.uint8)
        self.frames = add(pg.PlotCurveItem(connect="finite", antialias=False, pen=pg.mkPen(FRAME_COLOR, width=1)), 3)
        self.neuron_highlight = add(pg.PlotCurveItem(connect="finite", antialias=False,
                                                     pen=pg.mkPen(theme.FOREGROUND, width=2)), 3.5)
        self.bias_items = {
            "positive": add(pg.ScatterPlotItem(size=BIAS_DOT, symbol="o", brush=pg.mkBrush(POSITIVE),
                                               pen=pg.mkPen("w", width=1), antialias=True), 4),
            "negative": add(pg.ScatterPlotItem(size=BIAS_DOT, symbol="o", brush=pg.mkBrush(NEGATIVE),
                                               pen=pg.mkPen("w", width=1), antialias=True), 4),
            "zero": add(pg.ScatterPlotItem(size=BIAS_DOT, symbol="o", brush=pg.mkBrush(ZERO),
                                           pen=pg.mkPen("w", width=1), antialias=True), 4),
        }
        # Buttons: [0] − and [1] + for the layer count, then − / + for each hidden layer's neurons.
        self.layer_buttons = (add(_Button(-1), 5), add(_Button(+1), 5))
        self.neuron_buttons: list[tuple[_Button, _Button]] = [
            (add(_Button(-1), 5), add(_Button(+1), 5)) for _ in range(MAX_HIDDEN_LAYERS)]
        self.layer_count_text = add(self._text(bold=True), 5)
        self.input_labels: list[pg.TextItem] = []
        self.output_label_items: list[pg.TextItem] = []
        self.column_titles: list[pg.TextItem] = []
        self._grow_pools(MAX_INPUTS, MAX_OUTPUTS, MAX_HIDDEN_LAYERS + 2)
        self.hover_label = add(pg.TextItem(color=theme.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 235),
                                           border=pg.mkPen("#bbbbbb")), 10)
        self.hover_label.setFont(self._label_font)
        self.hover_label.hide()
        self.error_label = add(pg.TextItem(color=theme.DIVERGED, fill=pg.mkBrush(255, 255, 255, 240),
                                           border=pg.mkPen(theme.DIVERGED)), 11)
        self.error_label.setFont(self._label_font)
        self.error_label.hide()
        self.hit_area = add(_HitArea(self), 20)
        for item in self._buttons():
            item.hide()
        # Buttons, labels and neuron frames change only with the structure: repainted from pixmaps.
        cache_static(*self._buttons(), self.frames, self.layer_count_text.textItem)
        view_box.sigResized.connect(self._resized)

    # -- public -----------------------------------------------------------------------------------
    def show(self, sizes: Sequence[int], feature_labels: Sequence[str], weights: Sequence[np.ndarray],
             biases: Sequence[np.ndarray], neuron_rgba: Sequence[np.ndarray | None],
             output_labels: Sequence[str] | None = None) -> None:
        """Draw a network. ``sizes`` = [n_features, hidden..., n_outputs]; ``weights[l]`` is
        (sizes[l], sizes[l+1]) and ``biases[l]`` (sizes[l+1],); ``neuron_rgba[l]`` (layers 0..L)
        is a (units, h, w, 4) uint8 stack of thumbnails (the same h, w for every layer) in the
        orientation of a row-major ImageItem in an ordinary plot: row 0 is the BOTTOM of the
        input plane (x₂ = −6). A missing layer (None) is drawn as grey squares. The same structure
        as last time only refills the atlas pixels and the curve data."""
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 0:
            raise ValueError(f"sizes must be [inputs, hidden..., outputs], got {sizes}")
        n_layers = len(sizes) - 1
        if len(weights) != n_layers or len(biases) != n_layers:
            raise ValueError(f"{n_layers} weight matrices and bias vectors expected for sizes {sizes}")
        for l in range(n_layers):
            if np.shape(weights[l]) != (sizes[l], sizes[l + 1]) or np.shape(biases[l]) != (sizes[l + 1],):
                raise ValueError(f"layer {l + 1}: weights {np.shape(weights[l])}, biases {np.shape(biases[l])} "
                                 f"do not fit sizes {sizes}")
        thumb = self._thumb_shape(sizes, neuron_rgba)
        feature_labels = tuple(str(s) for s in feature_labels)[:sizes[0]]
        feature_labels += tuple(f"X{k + 1}" for k in range(len(feature_labels), sizes[0]))
        output_labels = tuple(str(s) for s in output_labels)[:sizes[-1]] if output_labels else ()
        key = (sizes, feature_labels, output_labels, thumb)
        self._data = (sizes, weights, biases, neuron_rgba)
        if key != self._structure_key:
            self._structure_key = key
            self._feature_labels, self._output_labels = feature_labels, output_labels
            self._cancel_edit()
            self._relayout()
        self._fill_atlas(neuron_rgba)
        self._update_weights(weights, biases)
        self._refresh_hover()

    def neuron_rect(self, layer: int, unit: int) -> QtCore.QRectF:
        """The square of neuron ``unit`` of ``layer`` (0 = inputs), in view-box coordinates."""
        x, y, w, h = self._require_layout().rects[layer][unit]
        return QtCore.QRectF(float(x), float(y), float(w), float(h))

    def weight_midpoint(self, layer: int, i: int, j: int) -> QtCore.QPointF:
        """The middle of the curve of weight (layer, i, j) (layer 1-based); i = -1: the bias dot of j."""
        lay = self._require_layout()
        if i < 0:
            row = np.flatnonzero((lay.bias_index[:, 0] == layer) & (lay.bias_index[:, 1] == j))[0]
            x, y = lay.bias_points[row]
        else:
            row = self._curve_row(layer, i, j)
            x, y = lay.curve_points[row, CURVE_SAMPLES // 2]
        return QtCore.QPointF(float(x), float(y))

    def atlas_slices(self, layer: int, unit: int) -> tuple[slice, slice]:
        """The (rows, columns) of the atlas array that hold this neuron's thumbnail (flipped to y down)."""
        lay = self._require_layout()
        col, row0, pitch = lay.atlas_cells[layer]
        h, w = lay.thumb
        top = row0 + unit * pitch
        return slice(top, top + h), slice(col, col + w)

    def target_at(self, x: float, y: float) -> tuple | None:
        """What is at view-box point (x, y): ("button", button), ("bias", layer, -1, j),
        ("neuron", layer, unit), ("weight", layer, i, j) or None (buttons first, weights last)."""
        lay = self._layout
        for button in self._buttons():
            if button.isVisible() and button.rect.contains(QtCore.QPointF(x, y)):
                return ("button", button)
        if lay is None:
            return None
        if len(lay.bias_points):
            d2 = np.sum((lay.bias_points - (x, y)) ** 2, axis=1)
            k = int(np.argmin(d2))
            if d2[k] <= (self._bias_dot / 2 + 2) ** 2:
                return ("bias", int(lay.bias_index[k, 0]), -1, int(lay.bias_index[k, 1]))
        for layer, rects in enumerate(lay.rects):
            if len(rects):
                inside = ((rects[:, 0] <= x) & (x <= rects[:, 0] + rects[:, 2])
                          & (rects[:, 1] <= y) & (y <= rects[:, 1] + rects[:, 3]))
                if inside.any():
                    return ("neuron", layer, int(np.argmax(inside)))
        row = self._nearest_curve(x, y)
        if row is not None:
            layer, i, j = (int(v) for v in lay.curve_index[row])
            return ("weight", layer, i, j)
        return None

    def weight_text(self, layer: int, i: int, j: int) -> str:
        """The hover text of a weight (i = -1: the bias of j)."""
        if self._data is None:
            return ""
        _, weights, biases, _ = self._data
        if i < 0:
            value = float(biases[layer - 1][j])
            return f"b = {signed(value)}, bias of {self._neuron_name(layer, j)}\nclick to type a new value"
        value = float(weights[layer - 1][i, j])
        return (f"w = {signed(value)}, from {self._neuron_name(layer - 1, i)} to {self._neuron_name(layer, j)}"
                "\nclick to type a new value")

    @property
    def editor(self) -> QtWidgets.QLineEdit | None:
        """The inline weight editor while it is open (else None)."""
        return self._editor if self._edit is not None else None

    # -- structure --------------------------------------------------------------------------------
    def _text(self, bold: bool = False, anchor=(0.5, 0.0), color: str = LABEL_COLOR) -> pg.TextItem:
        item = pg.TextItem(color=color, anchor=anchor)
        item.setFont(_font(8.5, bold) if bold else self._label_font)
        item.hide()
        return item

    def _grow_pools(self, inputs: int, outputs: int, titles: int) -> None:
        """Text items for at least this many labels (created once; only beyond the playground's
        bounds would a structure ever need more)."""
        def add(item):
            item.setZValue(5)
            self.view_box.addItem(item, ignoreBounds=True)
            cache_static(item.textItem)
            return item
        while len(self.input_labels) < inputs:
            self.input_labels.append(add(self._text(anchor=(1.0, 0.5))))
        while len(self.output_label_items) < outputs:
            self.output_label_items.append(add(self._text(anchor=(0.0, 0.5))))
        while len(self.column_titles) < titles:
            item = add(self._text(color=TITLE_COLOR))
            item.setFont(self._title_font)
            self.column_titles.append(item)

    def _buttons(self) -> list[_Button]:
        return [*self.layer_buttons, *(b for pair in self.neuron_buttons for b in pair)]

    @staticmethod
    def _thumb_shape(sizes, neuron_rgba) -> tuple[int, int]:
        for l in range(min(len(sizes), len(neuron_rgba))):
            stack = neuron_rgba[l]
            if stack is not None and np.ndim(stack) == 4 and np.shape(stack)[0] > 0:
                h, w = np.shape(stack)[1:3]
                if h > 0 and w > 0:
                    return int(h), int(w)
        return 16, 16

    def _resized(self) -> None:
        if self._data is None:
            return
        self._cancel_edit()
        self._relayout()
        sizes, weights, biases, rgba = self._data
        self._fill_atlas(rgba)
        self._update_weights(weights, biases, force=True)
        self._hover_at(None)

    def _relayout(self) -> None:
        """Place every item for the current structure and view-box size (structure changes and
        resizes only)."""
        sizes, feature_labels, output_labels, thumb = self._structure_key
        n_layers = len(sizes) - 1
        hidden = n_layers - 1
        self._grow_pools(sizes[0], sizes[-1], n_layers + 1)
        box = self.view_box.boundingRect()
        width, height = max(box.width(), 60.0), max(box.height(), 60.0)
        self.view_box.setRange(xRange=(0, width), yRange=(0, height), padding=0, update=True)
        self.hit_area.set_rect(QtCore.QRectF(0, 0, width, height))

        text_w = max([self._metrics.horizontalAdvance(s) for s in feature_labels] + [0.0])
        out_w = max([self._metrics.horizontalAdvance(s) for s in output_labels] + [0.0])
        left = MARGIN + text_w + (10 if text_w else 0) + BIAS_DOT
        right = width - 2 * MARGIN - out_w - (10 if out_w else 0)
        n_cols = n_layers + 1
        n_max = max(max(sizes), 1)
        spacing_guess = (right - left) / max(n_cols - 1, 1)
        # Full-size buttons side by side whenever a column's pair fits; where it would overlap the next
        # column's (many layers in a small window), + above −, so they stay big enough to hit.
        stacked = (0.9 * spacing_guess - 4) / 2 < BUTTON_SIZE
        button = float(np.clip(0.9 * spacing_guess, BUTTON_MIN, BUTTON_SIZE)) if stacked else BUTTON_SIZE
        gap = 4.0 if button >= BUTTON_SIZE else 2.0
        layer_button = BUTTON_SIZE  # the layer-count pair is alone on its row
        # Columns too close even for stacked buttons (far below a real window's diagram): no neuron
        # buttons at all (the panel keeps its controls) rather than overlapping ones.
        neuron_buttons = 0.9 * spacing_guess >= BUTTON_MIN
        # Vertical bands: layer-count row, neuron buttons row, column titles, then the neurons.
        y_layers = MARGIN
        y_buttons = y_layers + layer_button + 8
        y_titles = y_buttons + (2 * button + gap if stacked else button) + 3
        grid_top = y_titles + TITLE_HEIGHT + 6
        grid_h = max(height - grid_top - MARGIN - BIAS_DOT / 2, 10.0)
        pitch_v = grid_h / n_max
        s = max(NEURON_MIN, min(NEURON_MAX, pitch_v * 0.72, spacing_guess * 0.45))
        row_pitch = min(pitch_v, s * 1.45)
        spacing = (right - left - s) / max(n_cols - 1, 1)
        th, tw = thumb
        kx, ky = s / tw, s / th
        ox = left
        pitch_a = max(th + 1, int(round(row_pitch / ky)))
        tall_a = n_max * pitch_a - (pitch_a - th)
        # Columns centred on one midline, the block near the titles (as the playground's) when tall space is left.
        oy = grid_top + min(max((grid_h - tall_a * ky) / 2, 0.0), 2 * s)
        rects, cells = [], []
        for c, units in enumerate(sizes):
            col_a = int(round(c * spacing / kx))
            row0 = int(round((tall_a - (units * pitch_a - (pitch_a - th))) / 2)) if units else 0
            cells.append((col_a, row0, pitch_a))
            u = np.arange(units)
            rect = np.empty((units, 4))
            rect[:, 0] = ox + col_a * kx
            rect[:, 1] = oy + (row0 + u * pitch_a) * ky
            rect[:, 2] = s
            rect[:, 3] = s
            rects.append(rect)
        atlas_w = cells[-1][0] + tw
        # Whole pitches tall, so each column's cells are one reshaped block (the last gap stays empty).
        atlas_shape = (n_max * pitch_a, atlas_w)
        atlas_rect = QtCore.QRectF(ox, oy, atlas_w * kx, atlas_shape[0] * ky)

        # Weight curves: right edge middle of i -> left edge middle of j, a horizontal-tangent cubic.
        index, starts, ends = [], [], []
        for l in range(1, n_layers + 1):
            src, dst = rects[l - 1], rects[l]
            ii, jj = np.meshgrid(np.arange(sizes[l - 1]), np.arange(sizes[l]), indexing="ij")
            ii, jj = ii.ravel(), jj.ravel()
            index.append(np.column_stack([np.full(ii.size, l), ii, jj]))
            starts.append(np.column_stack([src[ii, 0] + src[ii, 2], src[ii, 1] + src[ii, 3] / 2]))
            ends.append(np.column_stack([dst[jj, 0], dst[jj, 1] + dst[jj, 3] / 2]))
        curve_index = np.concatenate(index).astype(int) if index else np.zeros((0, 3), dtype=int)
        p0 = np.concatenate(starts) if starts else np.zeros((0, 2))
        p3 = np.concatenate(ends) if ends else np.zeros((0, 2))
        t = np.linspace(0.0, 1.0, CURVE_SAMPLES)[None, :]
        dx = (p3[:, :1] - p0[:, :1]) * 0.5
        xs = ((1 - t) ** 3 * p0[:, :1] + 3 * (1 - t) ** 2 * t * (p0[:, :1] + dx)
              + 3 * (1 - t) * t ** 2 * (p3[:, :1] - dx) + t ** 3 * p3[:, :1])
        ys = ((1 - t) ** 3 + 3 * (1 - t) ** 2 * t) * p0[:, 1:] + (3 * (1 - t) * t ** 2 + t ** 3) * p3[:, 1:]
        points = np.full((len(curve_index), CURVE_SAMPLES + 1, 2), np.nan)
        points[:, :CURVE_SAMPLES, 0] = xs
        points[:, :CURVE_SAMPLES, 1] = ys
        tangents = np.gradient(points[:, :CURVE_SAMPLES], axis=1) if CURVE_SAMPLES > 1 else np.zeros((0, 1, 2))
        normals = np.zeros_like(points)
        normals[:, :CURVE_SAMPLES, 0] = -tangents[..., 1]
        normals[:, :CURVE_SAMPLES, 1] = tangents[..., 0]
        normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)

        bias_index = np.array([(l, j) for l in range(1, n_layers + 1) for j in range(sizes[l])],
                              dtype=int).reshape(-1, 2)
        bias_points = np.array([(rects[l][j, 0], rects[l][j, 1] + rects[l][j, 3]) for l, j in bias_index],
                               dtype=float).reshape(-1, 2)
        self._layout = _Layout(sizes, rects, cells, atlas_shape, atlas_rect, thumb, curve_index, points,
                               bias_index, bias_points, normals, dense=len(curve_index) > DENSE_CURVES)
        self._segments = (points[:, :CURVE_SAMPLES - 1].reshape(-1, 2), points[:, 1:CURVE_SAMPLES].reshape(-1, 2))

        # Items that only move with the structure.
        self.atlas_array = np.zeros(atlas_shape + (4,), dtype=np.uint8)
        self.atlas.setImage(self.atlas_array, levels=None, autoLevels=False)
        self.atlas.setRect(atlas_rect)
        all_rects = np.concatenate(rects) if any(len(r) for r in rects) else np.zeros((0, 4))
        frame_pts = np.full((len(all_rects), 6, 2), np.nan)
        x0, y0 = all_rects[:, 0] - 0.5, all_rects[:, 1] - 0.5
        x1, y1 = x0 + all_rects[:, 2] + 1, y0 + all_rects[:, 3] + 1
        frame_pts[:, :5, 0] = np.column_stack([x0, x1, x1, x0, x0])
        frame_pts[:, :5, 1] = np.column_stack([y0, y0, y1, y1, y0])
        self.frames.setData(frame_pts[:, :, 0].ravel(), frame_pts[:, :, 1].ravel())
        # Bias dots shrink with small neurons, so they never cover a neighbour.
        self._bias_dot = float(np.clip(s * 0.3, 5.0, BIAS_DOT))
        for item in self.bias_items.values():
            item.setSize(self._bias_dot)
        self._refill_all = True

        centres_x = [float(ox + cells[c][0] * kx + s / 2) for c in range(n_cols)]
        for k, item in enumerate(self.input_labels):
            item.setVisible(k < sizes[0])
            if k < sizes[0]:
                item.setText(feature_labels[k])
                item.setPos(rects[0][k, 0] - 6, rects[0][k, 1] + s / 2)
        for k, item in enumerate(self.output_label_items):
            item.setVisible(k < len(output_labels))
            if k < len(output_labels):
                item.setText(output_labels[k])
                item.setPos(rects[-1][k, 0] + s + 6, rects[-1][k, 1] + s / 2)
        compact = spacing < 64
        for c, item in enumerate(self.column_titles):
            item.setVisible(c < n_cols)
            if c >= n_cols:
                continue
            if c == 0:
                title = ("in" if compact else "features") if sizes[0] else "no input feature"
            elif c == n_cols - 1:
                title = "out" if compact else "output"
            else:
                units = sizes[c]
                title = str(units) if compact else f"{units} neuron{'s' if units != 1 else ''}"
            item.setText(title)
            # Centred on its column, but never past the diagram's edges ("no input feature" is wider
            # than the empty first column).
            half = QtGui.QFontMetricsF(self._title_font).horizontalAdvance(title) / 2 + 2
            item.setPos(float(np.clip(centres_x[c], MARGIN + half, max(MARGIN + half, width - MARGIN - half))),
                        y_titles)

        pair_w = 2 * button + gap
        for k, (minus, plus) in enumerate(self.neuron_buttons):
            if k >= hidden or not neuron_buttons:
                minus.hide()
                plus.hide()
                continue
            units, name = sizes[k + 1], f"neurons_{k + 1}"
            x = centres_x[k + 1] - (button / 2 if stacked else pair_w / 2)
            minus_x, minus_y = (x, y_buttons + button + gap) if stacked else (x, y_buttons)
            plus_x = x if stacked else x + button + gap
            minus.place(minus_x, minus_y, button, units > MIN_NEURONS,
                        {name: units - 1} if units > MIN_NEURONS else None,
                        f"Remove a neuron from hidden layer {k + 1}" if units > MIN_NEURONS
                        else f"Hidden layer {k + 1} has the fewest neurons ({MIN_NEURONS})")
            plus.place(plus_x, y_buttons, button, units < MAX_NEURONS,
                       {name: units + 1} if units < MAX_NEURONS else None,
                       f"Add a neuron to hidden layer {k + 1}" if units < MAX_NEURONS
                       else f"Hidden layer {k + 1} has the most neurons ({MAX_NEURONS})")
            minus.show()
            plus.show()
        count_text = f"{hidden} hidden layer{'s' if hidden != 1 else ''}"
        self.layer_count_text.setText(count_text)
        self.layer_count_text.setAnchor((0.0, 0.5))
        text_width = QtGui.QFontMetricsF(_font(8.5, True)).horizontalAdvance(count_text)
        centre = float(np.mean(centres_x[1:-1])) if hidden else (centres_x[0] + centres_x[-1]) / 2
        layer_pair_w = 2 * layer_button + 4
        x = centre - (layer_pair_w + 8 + text_width) / 2
        minus, plus = self.layer_buttons
        minus.place(x, y_layers, layer_button, hidden > 0, {"hidden_layers": hidden - 1} if hidden > 0 else None,
                    "Remove the last hidden layer" if hidden > 0 else "There is no hidden layer to remove")
        plus.place(x + layer_button + 4, y_layers, layer_button, hidden < MAX_HIDDEN_LAYERS,
                   {"hidden_layers": hidden + 1} if hidden < MAX_HIDDEN_LAYERS else None,
                   "Add a hidden layer" if hidden < MAX_HIDDEN_LAYERS
                   else f"{MAX_HIDDEN_LAYERS} hidden layers is the most")
        minus.show()
        plus.show()
        self.layer_count_text.setPos(x + layer_pair_w + 8, y_layers + layer_button / 2)
        self.layer_count_text.show()
        # A hovered neuron that no longer exists is left.
        if self._hovered_neuron is not None:
            layer, unit = self._hovered_neuron
            if layer > n_layers or unit >= sizes[layer]:
                self._set_hovered_neuron(None)
        self._hover = None
        self.hover_label.hide()
        self.highlight.setData([], [])
        self.neuron_highlight.setData([], [])

    def _require_layout(self) -> _Layout:
        if self._layout is None:
            raise RuntimeError("show() has not drawn a network yet")
        return self._layout

    def _curve_row(self, layer: int, i: int, j: int) -> int:
        sizes = self._require_layout().sizes
        offset = sum(sizes[l - 1] * sizes[l] for l in range(1, layer))
        return offset + i * sizes[layer] + j

    # -- per frame --------------------------------------------------------------------------------
    def _fill_atlas(self, neuron_rgba) -> None:
        lay = self._layout
        atlas = self.atlas_array
        h, w = lay.thumb
        for layer, units in enumerate(lay.sizes):
            if units == 0:
                continue
            col, row0, pitch = lay.atlas_cells[layer]
            # The column's cells as one strided block: (units, pitch, w, 4), the last rows a gap.
            block = atlas[row0:row0 + units * pitch].reshape(units, pitch, -1, 4)[:, :h, col:col + w]
            stack = neuron_rgba[layer] if layer < len(neuron_rgba) else None
            if stack is not None and np.shape(stack) == (units, h, w, 4):
                block[...] = np.asarray(stack)[:, ::-1]   # row 0 = bottom of the plane -> y down
            elif stack is not None and np.ndim(stack) == 4 and np.shape(stack)[0] == units and np.shape(stack)[3] == 4:
                sh, sw = np.shape(stack)[1:3]   # another size: nearest-neighbour to the atlas cell
                rows = (np.arange(h) * sh // h)[::-1]
                cols = np.arange(w) * sw // w
                block[...] = np.asarray(stack)[:, rows][:, :, cols]
            else:
                block[...] = PLACEHOLDER_RGBA
        self.atlas.setImage(atlas, levels=None, autoLevels=False)

    def _update_weights(self, weights, biases, force: bool = False) -> None:
        lay = self._layout
        flat = (np.concatenate([np.asarray(w, dtype=float).ravel() for w in weights])
                if len(weights) else np.zeros(0))
        groups = self._group_of(flat)
        # Only the groups a curve entered or left are refilled (each refill rebuilds that item's path);
        # after a relayout every group is, emptied ones too.
        if force or self._refill_all:
            touched = set(range(len(self._group_keys)))
        else:
            changed = np.flatnonzero(groups != self._groups)
            touched = set(groups[changed].tolist()) | set(self._groups[changed].tolist())
        for g in touched:
            mask = groups == g
            offsets = self._copy_offsets(self._group_keys[g], lay.dense)
            pts = lay.curve_points[mask]
            if len(offsets) > 1:   # the copies, copy-major: (copies * curves, samples + 1, 2)
                normals = lay.curve_normals[mask]
                pts = np.concatenate([pts + normals * offset for offset in offsets])
            pts = pts.reshape(-1, 2)
            self.curve_items[self._group_keys[g]].setData(pts[:, 0], pts[:, 1])
        self._groups = groups
        bias_flat = (np.concatenate([np.asarray(b, dtype=float).ravel() for b in biases])
                     if len(biases) else np.zeros(0))
        bias_groups = np.where(~np.isfinite(bias_flat) | (bias_flat == 0), 2, np.where(bias_flat > 0, 0, 1))
        if force or self._refill_all or not np.array_equal(bias_groups, self._bias_groups):
            for g, name in enumerate(("positive", "negative", "zero")):
                pts = lay.bias_points[bias_groups == g]
                self.bias_items[name].setData(pos=pts)
            self._bias_groups = bias_groups.astype(np.int8)
        self._refill_all = False

    @staticmethod
    def _copy_offsets(key: tuple[str, int], dense: bool = False) -> np.ndarray:
        """Normal offsets (px) of the parallel 1-px copies that draw one curve of this group."""
        copies = 1 if key[0] == "zero" or dense else BUCKET_COPIES[key[1]]
        return (np.arange(copies) - (copies - 1) / 2) * LINE_SPACING

    @staticmethod
    def _pen(key: tuple[str, int]) -> QtGui.QPen:
        """The 1-px pen of a curve group: its sign's colour at its bucket's strength, opaque."""
        sign, bucket = key
        color = QtGui.QColor({"positive": POSITIVE, "negative": NEGATIVE, "zero": ZERO}[sign])
        strength = 1.0 if sign == "zero" else BUCKET_STRENGTH[bucket]
        background = QtGui.QColor(theme.BACKGROUND)
        mixed = [round(b + (c - b) * strength) for c, b in zip(color.getRgb()[:3], background.getRgb()[:3])]
        return pg.mkPen(QtGui.QColor(*mixed), width=1)

    def _group_of(self, values: np.ndarray) -> np.ndarray:
        """The curve group of each weight: sign x |w| bucket, or the zero / non-finite group."""
        bucket = np.searchsorted(WEIGHT_BUCKETS, np.abs(values), side="right")
        groups = np.where(values > 0, bucket, len(BUCKET_WIDTHS) + bucket)
        return np.where(~np.isfinite(values) | (values == 0), len(self._group_keys) - 1, groups).astype(np.int8)

    # -- hover, clicks, editing -------------------------------------------------------------------
    def _nearest_curve(self, x: float, y: float) -> int | None:
        a, b = self._segments
        if not len(a):
            return None
        ab = b - a
        length2 = np.maximum(np.sum(ab * ab, axis=1), 1e-12)
        t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / length2, 0.0, 1.0)
        d2 = (a[:, 0] + t * ab[:, 0] - x) ** 2 + (a[:, 1] + t * ab[:, 1] - y) ** 2
        k = int(np.argmin(d2))
        if d2[k] > HIT_RADIUS ** 2:
            return None
        return k // (CURVE_SAMPLES - 1)

    def _neuron_name(self, layer: int, unit: int) -> str:
        sizes = self._layout.sizes
        if layer == 0:
            return self._feature_labels[unit] if unit < len(self._feature_labels) else f"input {unit + 1}"
        if layer == len(sizes) - 1:
            if sizes[-1] == 1:
                return "the output"
            name = f"output {unit + 1}"
            return f"{name} ({self._output_labels[unit]})" if unit < len(self._output_labels) else name
        return f"neuron {unit + 1} of layer {layer}"

    def _hover_at(self, pos) -> tuple | None:
        """Update the hover state for a view-box point (None: the mouse left); returns the target."""
        target = None if pos is None or self._layout is None else self.target_at(pos.x(), pos.y())
        previous = self._hover
        self._hover = target
        self._hover_pos = pos
        neuron = (target[1], target[2]) if target is not None and target[0] == "neuron" else None
        self._set_hovered_neuron(neuron)
        for button in self._buttons():
            button.set_hovered(target is not None and target[0] == "button" and target[1] is button
                               and button.enabled)
        if target != previous:
            self._draw_highlight(target)
        self._refresh_hover()
        self.hit_area.setCursor(QtCore.Qt.CursorShape.PointingHandCursor
                                if target is not None and target[0] in ("weight", "bias")
                                or (target is not None and target[0] == "button" and target[1].enabled)
                                else QtCore.Qt.CursorShape.ArrowCursor)
        return target

    def _set_hovered_neuron(self, neuron) -> None:
        if neuron != self._hovered_neuron:
            self._hovered_neuron = neuron
            self.neuronHovered.emit(neuron)

    def _draw_highlight(self, target) -> None:
        lay = self._layout
        if target is not None and target[0] == "weight":
            pts = lay.curve_points[self._curve_row(*target[1:])]
            self.highlight.setData(pts[:, 0], pts[:, 1])
        elif self.highlight.xData is not None and len(self.highlight.xData):
            self.highlight.setData([], [])
        if target is not None and target[0] == "neuron":
            r = self.neuron_rect(target[1], target[2]).adjusted(-1.5, -1.5, 1.5, 1.5)
            xs = [r.left(), r.right(), r.right(), r.left(), r.left()]
            ys = [r.top(), r.top(), r.bottom(), r.bottom(), r.top()]
            self.neuron_highlight.setData(xs, ys)
        elif self.neuron_highlight.xData is not None and len(self.neuron_highlight.xData):
            self.neuron_highlight.setData([], [])

    def _refresh_hover(self) -> None:
        """The hover label for the current target (its value may have changed with the frame)."""
        target = self._hover
        if target is None or target[0] == "neuron" or self._edit is not None:
            if self.hover_label.isVisible():
                self.hover_label.hide()
            return
        if target[0] == "button":
            text = target[1].help
        else:
            text = self.weight_text(*target[1:])
        pos = self._hover_pos
        box = self.view_box.boundingRect()
        self.hover_label.setText(text)
        # Open towards the middle, so the label is never cut by the diagram's edge.
        right, upper = pos.x() > box.width() / 2, pos.y() < box.height() / 2
        self.hover_label.setAnchor((1.0 if right else 0.0, 0.0 if upper else 1.0))
        self.hover_label.setPos(pos.x() + (-10 if right else 12), pos.y() + (16 if upper else -8))
        self.hover_label.show()

    def _click_at(self, pos) -> bool:
        """A left click at a view-box point: a button requests a structure, a weight opens the editor."""
        if self._layout is None:
            return False
        target = self.target_at(pos.x(), pos.y())
        if target is None or target[0] == "neuron":
            return False
        if target[0] == "button":
            if target[1].enabled and target[1].request is not None:
                self.structureRequested.emit(dict(target[1].request))
            return True
        self.open_editor(*target[1:], at=QtCore.QPointF(pos))
        return True

    def open_editor(self, layer: int, i: int, j: int, at: QtCore.QPointF | None = None) -> QtWidgets.QLineEdit:
        """Open the inline editor of weight (layer, i, j) (i = -1: bias of j) at view-box point ``at``."""
        views = self.view_box.scene().views() if self.view_box.scene() is not None else []
        if not views:
            raise RuntimeError("the diagram's view box is in no widget")
        view = views[0]
        if self._editor is None or self._editor.parent() is not view:
            self._editor = _WeightEditor(view)
            self._editor.setFixedWidth(96)
            self._editor.returnPressed.connect(self._commit_edit)
            self._editor.cancelled.connect(self._cancel_edit)
            self._editor.textEdited.connect(self._clear_error)
            self._editor.hide()
        _, weights, biases, _ = self._data
        value = float(biases[layer - 1][j]) if i < 0 else float(weights[layer - 1][i, j])
        if at is None:
            at = self.weight_midpoint(layer, i, j)
        self._edit = (layer, i, j)
        self._edit_at = QtCore.QPointF(at)
        self._edit_text = f"{value:.6g}"
        editor = self._editor
        self._clear_error()
        editor.setText(self._edit_text)
        editor.setToolTip(f"Type a new {'bias' if i < 0 else 'weight'} between {MINUS}{EDIT_LIMIT:g} and "
                          f"{EDIT_LIMIT:g}; Enter applies, Esc cancels")
        scene_pt = self.view_box.mapViewToScene(at)
        local = view.viewport().mapTo(view, view.mapFromScene(scene_pt))
        x = min(max(local.x() - editor.width() // 2, 0), max(view.width() - editor.width(), 0))
        y = min(max(local.y() - editor.sizeHint().height() - 6, 0), max(view.height() - editor.sizeHint().height(), 0))
        editor.move(int(x), int(y))
        editor.show()
        editor.raise_()
        editor.selectAll()
        editor.setFocus(QtCore.Qt.FocusReason.MouseFocusReason)
        self.hover_label.hide()
        return editor

    def _clear_error(self, *_args) -> None:
        if self._editor is not None and self._editor.styleSheet():
            self._editor.setStyleSheet("")
        if self.error_label.isVisible():
            self.error_label.hide()

    def _commit_edit(self) -> None:
        if self._edit is None or self._editor is None:
            return
        text = self._editor.text()
        try:
            value = parse_value(text)
        except ValueError as error:
            reason = str(error)
            message = f"{reason[0].upper()}{reason[1:]}: type a number between {MINUS}{EDIT_LIMIT:g} and {EDIT_LIMIT:g}"
            self._editor.setStyleSheet(f"QLineEdit {{ border: 2px solid {theme.DIVERGED}; }}")
            self._editor.setToolTip(message)
            # Shown at once under the editor (a QToolTip popup is a window of its own, raised by the platform).
            self.error_label.setText(message)
            upper = self._edit_at.y() < self.view_box.height() / 2
            self.error_label.setAnchor((0.5, 0.0) if upper else (0.5, 1.0))
            self.error_label.setPos(self._edit_at.x(), self._edit_at.y() + (8 if upper else -34))
            self.error_label.show()
            return
        layer, i, j = self._edit
        unchanged = text.strip() == self._edit_text
        self._close_editor()
        if not unchanged:
            self.weightEditRequested.emit(layer, i, j, value)

    def _cancel_edit(self) -> None:
        if self._edit is not None:
            self._close_editor()

    def _close_editor(self) -> None:
        self._edit = None  # first: hiding takes the focus away, and focus-out cancels
        if self._editor is not None:
            self._clear_error()
            self._editor.hide()
