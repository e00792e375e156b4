"""pyqtgraph view of the neural-network playground: the network diagram (scenes.neural_network.diagram),
the output map with the data points, loss curves, gradient flow, the activation and its derivative,
and the confusion matrix (or R² and RMSE); a tool strip to regenerate, draw or import points and to
export the weights.

Every frame, one ``net.forward`` over a 100 x 100 grid of the input square gives every neuron's
output everywhere; the colours are mapped in NumPy (uint8 RGBA, lookup tables): the output map is
one ImageItem, the neuron thumbnails (the grid sub-sampled to 25 x 25) go to the diagram's single
atlas image. Weights typed in the diagram at the shown epoch are applied for display with
``sim.apply_weight_edits`` (the simulation applies them for the next epoch).

Exported weights (tool strip: Export weights…) are a JSON document::

    {"format": "ml-explorer-network", "version": 1,
     "sizes": [n_features, hidden_1, ..., n_outputs],
     "features": ["x1", "x2", ...],          # input feature names, in input order (data.FEATURES)
     "activation": "tanh",                   # hidden layers: relu, tanh, sigmoid or linear
     "output": "sigmoid",                    # sigmoid (2 classes), softmax (3-5 classes), linear (regression)
     "problem": "classification", "n_classes": 2,
     "layers": [{"weights": [[...], ...],    # sizes[l] rows x sizes[l+1] columns: row i = from unit i
                 "biases": [...]}, ...],      # sizes[l+1] values
     "epoch": 200}                            # epochs trained (the frame shown, typed weights included)

The network computes, for a point (x1, x2) with the listed features f (x1_squared = x1², x1_x2 =
x1·x2, sin_x1 = sin(x1), …, on raw coordinates in [-6, 6]): a_0 = f, a_l = activation(a_{l-1} @ W_l + b_l)
for the hidden layers and output(a_{L-1} @ W_L + b_L) for the last (the probability of class 1,
the class probabilities, or the value).
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import datasets
from explorer.jobs import JobRunner
from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, ToolStrip, cache_static, nice_ceiling, place_cells, same_values
from scenes.neural_network import data as nn_data
from scenes.neural_network import net
from scenes.neural_network import sim as nn_sim
from scenes.neural_network.diagram import NetworkDiagram

#: Output map resolution (cells per side) over [-DOMAIN, DOMAIN]².
GRID = 100
#: Neuron thumbnails take every THUMB_STEP-th grid cell (100 / 4 = 25 x 25 pixels).
THUMB_STEP = 4
#: Most classes the view draws (the data sets have 2..5).
MAX_CLASSES = 5
#: Most weight layers (6 hidden + the output).
MAX_LAYERS = 7
#: Below this view width the four small plots go 2 x 2 (the 1024 x 640 window gives ~540 px).
WIDE_WIDTH = 1000
#: z range of the activation panel.
ACTIVATION_RANGE = 4.0
#: Lightness of a discretised cell (share of the class colour) and of a sure prediction.
#: Region colours stay lighter than the points' (the class colours at full strength) so that points of
#: a class stay visible on their own region.
HARD_STRENGTH = 0.6
SOFT_RANGE = (0.08, 0.6)
#: Share of the diverging map the output map uses (its middle): p = 0 and 1 are not the points' colours.
REGION_SPAN = 0.8
TITLE_SIZE = "9pt"
#: Pixels per confusion-matrix cell in its image.
CELL_PIXELS = 32
FORMAT_NAME = "ml-explorer-network"
FORMAT_VERSION = 1


def _rgb(color: str) -> np.ndarray:
    c = QtGui.QColor(color)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float32)


CLASS_RGB = np.stack([_rgb(theme.CLASS_COLORS[k % len(theme.CLASS_COLORS)]) for k in range(MAX_CLASSES)])
DIVERGING = theme.lut("diverging")


def class_color(label: int) -> str:
    return theme.CLASS_COLORS[int(label) % len(theme.CLASS_COLORS)]


# -- colours (pure NumPy) --------------------------------------------------------------------------
def diverging_rgba(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """uint8 RGBA of ``values`` on the blue-white-orange map (low blue, the middle white, high
    orange), clipped to [low, high]; NaN as the middle."""
    index = np.asarray(values, dtype=np.float32) - np.float32(low)
    index *= np.float32((len(DIVERGING) - 1) / (high - low))
    np.clip(index, 0, len(DIVERGING) - 1, out=index)  # +-inf to the ends
    if not np.isfinite(index).all():  # NaN (only from a broken network): the middle
        index[np.isnan(index)] = (len(DIVERGING) - 1) / 2
    return DIVERGING[(index + np.float32(0.5)).astype(np.uint8)]


def class_rgba(proba: np.ndarray, discretize: bool = False) -> np.ndarray:
    """(m, k) class probabilities -> (m, 4) uint8: the likeliest class's colour, stronger when
    surer (discretised: one fixed strength, hard regions)."""
    proba = np.asarray(proba, dtype=np.float32)
    k = proba.shape[1]
    best = np.argmax(proba, axis=1)
    if discretize:
        strength = np.full(len(proba), HARD_STRENGTH, dtype=np.float32)
    else:
        top = np.take_along_axis(proba, best[:, None], axis=1)[:, 0]
        sure = np.clip((top - 1.0 / k) * (k / (k - 1.0)), 0.0, 1.0)
        strength = SOFT_RANGE[0] + (SOFT_RANGE[1] - SOFT_RANGE[0]) * np.nan_to_num(sure)
    rgba = np.empty((len(proba), 4), dtype=np.uint8)
    rgba[:, :3] = 255.0 - (255.0 - CLASS_RGB[best % MAX_CLASSES]) * strength[:, None]
    rgba[:, 3] = 255
    return rgba


def output_rgba(out: np.ndarray, output: str, discretize: bool = False) -> np.ndarray:
    """The output map's colours for network outputs (m, n_out): 2 classes (sigmoid) diverging by the
    probability of class 1; 3-5 classes (softmax) by class; regression (linear) diverging by the
    value in [-1, 1]; on the middle REGION_SPAN of the diverging map. ``discretize``: hard colours (the
    class, or the sign of the value)."""
    out = np.asarray(out)
    if output == "softmax":
        return class_rgba(out, discretize)
    if output == "sigmoid":
        p = out[:, 0]
        if discretize:
            p = np.where(p >= 0.5, 1.0, 0.0)
        return diverging_rgba(p, 0.5 - 0.5 / REGION_SPAN, 0.5 + 0.5 / REGION_SPAN)
    v = np.clip(out[:, 0], -1.0, 1.0)  # beyond [-1, 1]: the colour of -1 or 1
    if discretize:
        v = np.where(v >= 0.0, 1.0, -1.0)
    return diverging_rgba(v, -1.0 / REGION_SPAN, 1.0 / REGION_SPAN)


def unit_rgba(values: np.ndarray, kind: str, activation: str, output: str, unit: int = 0,
              scale: np.ndarray | None = None) -> np.ndarray:
    """(m, units) neuron outputs -> (m, units, 4) uint8. kind "input": each feature divided by its
    largest size (``scale``) on the diverging map; "hidden": the activation on [-1, 1] ([0, 1] for
    sigmoid), as TensorFlow Playground; "output": probabilities on [0, 1] (a softmax unit from
    white to its class colour), values on [-1, 1]."""
    values = np.asarray(values, dtype=np.float32)
    if kind == "input":
        s = np.ones(values.shape[1], dtype=np.float32) if scale is None else np.asarray(scale, np.float32)
        return diverging_rgba(values / np.where(s > 0, s, 1), -1.0, 1.0)
    if kind == "hidden":
        return diverging_rgba(values, 0.0, 1.0) if activation == "sigmoid" else diverging_rgba(values, -1.0, 1.0)
    if output == "softmax":
        m, units = values.shape
        strength = np.clip(np.nan_to_num(values), 0.0, 1.0) * SOFT_RANGE[1]
        rgba = np.empty((m, units, 4), dtype=np.uint8)
        colors = CLASS_RGB[(np.arange(units) + unit) % MAX_CLASSES]
        rgba[..., :3] = 255.0 - (255.0 - colors[None]) * strength[..., None]
        rgba[..., 3] = 255
        return rgba
    return diverging_rgba(values, 0.0, 1.0) if output == "sigmoid" else diverging_rgba(values, -1.0, 1.0)


def grid_points(domain: float = nn_data.DOMAIN, n: int = GRID) -> np.ndarray:
    """(n², 2) cell centres of the square, row-major with row 0 at the bottom (x₂ = -domain)."""
    coords = -domain + (np.arange(n) + 0.5) * (2 * domain / n)
    x1, x2 = np.meshgrid(coords, coords)
    return np.column_stack([x1.ravel(), x2.ravel()])


class GridMaps:
    """Every neuron's output over the grid for one network (one forward pass), and its colours."""

    def __init__(self, features: np.ndarray, scale: np.ndarray, weights, biases, activation: str,
                 output: str, n: int = GRID) -> None:
        self.n = n
        self.activation, self.output = activation, output
        self.scale = scale
        with np.errstate(all="ignore"):
            self.layers = net.forward(weights, biases, features, activation, output)
        self.sizes = [layer.shape[1] for layer in self.layers]

    def kind(self, layer: int) -> str:
        return "input" if layer == 0 else "output" if layer == len(self.layers) - 1 else "hidden"

    def output_image(self, discretize: bool) -> np.ndarray:
        return output_rgba(self.layers[-1], self.output, discretize).reshape(self.n, self.n, 4)

    def neuron_image(self, layer: int, unit: int) -> np.ndarray:
        """(n, n, 4) map of one neuron (layer 0 = inputs)."""
        values = self.layers[layer][:, unit:unit + 1]
        scale = self.scale[unit:unit + 1] if layer == 0 else None
        return unit_rgba(values, self.kind(layer), self.activation, self.output, unit, scale).reshape(
            self.n, self.n, 4)

    def thumbnails(self, step: int = THUMB_STEP) -> list[np.ndarray]:
        """Per layer (units, h, w, 4) thumbnails, row 0 = the bottom of the plane."""
        start = step // 2
        cells = np.arange(start, self.n, step)
        index = (cells[:, None] * self.n + cells[None, :]).ravel()
        side = len(cells)
        stacks = []
        for layer, values in enumerate(self.layers):
            sample = values[index]
            scale = self.scale if layer == 0 else None
            rgba = unit_rgba(sample, self.kind(layer), self.activation, self.output, 0, scale)
            stacks.append(np.ascontiguousarray(rgba.reshape(side, side, -1, 4).transpose(2, 0, 1, 3)))
        return stacks


def frame_weights(frame: Frame, edits: str = "") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The frame's weights and biases with the weight edits typed at its step (copies)."""
    data = frame.data
    layers = len(np.asarray(data["sizes"])) - 1
    weights = [data[f"weights_{l}"] for l in range(1, layers + 1)]
    biases = [data[f"biases_{l}"] for l in range(1, layers + 1)]
    return nn_sim.apply_weight_edits(weights, biases, edits or "", int(frame.step))


def weights_document(frame: Frame, edits: str = "") -> dict[str, Any]:
    """The exported weights of a frame (the format in this module's docstring)."""
    data = frame.data
    weights, biases = frame_weights(frame, edits)
    return {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "sizes": [int(s) for s in np.asarray(data["sizes"])],
        "features": [str(f) for f in np.asarray(data["feature_names"])],
        "activation": str(data["activation"]), "output": str(data["output"]),
        "problem": str(data["problem"]), "n_classes": int(data["n_classes"]),
        "layers": [{"weights": w.tolist(), "biases": b.tolist()} for w, b in zip(weights, biases)],
        "epoch": int(frame.step),
    }


def shown_epoch(data) -> int:
    """The epoch whose weights a frame holds (its curves' index): the last, except after early stopping
    (the best epoch's weights are restored) or divergence (the last finite ones, one epoch back)."""
    last = len(data["epochs"]) - 1
    if bool(data["stopped_early"]) and int(data["best_epoch"]) >= 0:
        return int(data["best_epoch"])
    if bool(data["diverged"]):
        return max(last - 1, 0)
    return last


def edits_with(text: str, step: int, layer: int, i: int, j: int, value: float,
               sizes: Any = None) -> str:
    """The weight_edits string after typing ``value`` for (layer, i, j) at ``step``: added to the
    edits of that step (replacing an earlier value of the same weight), or a new list when the
    string holds another step's edits. ``sizes`` (the network's [inputs, hidden..., outputs]) goes
    with them, so a network of other sizes ignores them."""
    try:
        parsed = nn_sim.parse_weight_edits(text or "")
    except Exception:  # noqa: BLE001 - a bad string is replaced
        parsed = None
    edits = []
    if parsed is not None and parsed[0] == step:
        edits = [[a, b, c, v] for a, b, c, v in parsed[1] if (a, b, c) != (layer, i, j)]
    edits.append([int(layer), int(i), int(j), float(value)])
    document: dict[str, Any] = {"step": int(step)}
    if sizes is not None:
        document["sizes"] = [int(n) for n in sizes]
    document["edits"] = edits
    return json.dumps(document, separators=(",", ":"))


def _read_csv_job(path: str) -> tuple[str, Any]:
    """Read a CSV in a worker: ("ok", user data) or ("error", the message to show)."""
    try:
        data = datasets.read_csv(path)
        datasets.from_user(data, 0.5)
    except ValueError as error:  # CSVError / DataError: a message, never a traceback
        return "error", str(error)
    return "ok", data


def _colored(text: str, color: str) -> str:
    return f'<span style="color:{color}">{html.escape(text)}</span>'


def gradient_title(layers: int) -> str:
    """The gradient plot's title, its legend: "layer" and each layer's number in its curve's colour."""
    numbers = " ".join(_colored(str(l + 1), theme.series_color(l)) for l in range(layers))
    return f"Gradient norm, layer {numbers}"


def _plot(title: str) -> pg.PlotItem:
    plot = pg.PlotItem()
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    plot.setTitle(title, size=TITLE_SIZE)
    return plot


def _curve(pen) -> pg.PlotCurveItem:
    # PlotCurveItem, not PlotDataItem: a third of the setData cost, and the data is filtered here.
    return pg.PlotCurveItem(pen=pen, antialias=False, skipFiniteCheck=True)


def _set_curve(item: pg.PlotCurveItem, x: np.ndarray, y: np.ndarray) -> None:
    if len(x):
        item.setData(x, y)
        item.setVisible(True)
    elif item.isVisible():
        item.setData([], [])
        item.setVisible(False)


class NeuralNetworkView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.frame: Frame | None = None
        self.maps: GridMaps | None = None
        self.hovered: tuple[int, int] | None = None
        self.selected_class = 0
        self.n_draw_classes = 2
        #: User data asked for and not yet replaced (None: generated data).
        self.user_data: dict[str, Any] | None = None
        self._last: dict[str, Any] = {}
        self._cells: dict = {}
        self._wide: bool | None = None
        self._grid_features: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._tools: QtWidgets.QWidget | None = None
        self._import_path: str | None = None
        self._runner: JobRunner | None = None
        self.error_box: QtWidgets.QMessageBox | None = None
        self._build()
        self.cache_axes()
        self.widget.installEventFilter(self)
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        self._arrange(self.widget.width(), self.widget.height())

    # -- building (once) ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = self.widget.ci
        layout.setContentsMargins(2, 2, 2, 2)
        self.top = pg.GraphicsLayout()
        self.bottom = pg.GraphicsLayout()
        layout.addItem(self.top, row=0, col=0)
        layout.addItem(self.bottom, row=1, col=0)

        # The diagram in a plain view box; the diagram sets its coordinates (pixels).
        self.diagram_box = pg.ViewBox(enableMenu=False)
        self.top.addItem(self.diagram_box, row=0, col=0)
        self.diagram = NetworkDiagram(self.diagram_box)
        self.diagram.neuronHovered.connect(self._neuron_hovered)
        self.diagram.weightEditRequested.connect(self._weight_edit_requested)
        self.diagram.structureRequested.connect(self._structure_requested)

        domain = nn_data.DOMAIN
        plot = _plot("Output")
        plot.setAspectLocked(True)
        plot.setRange(QtCore.QRectF(-domain, -domain, 2 * domain, 2 * domain), padding=0)
        plot.setLabel("bottom", "X₁")
        plot.setLabel("left", "X₂")
        self.top.addItem(plot, row=0, col=1)
        self.plots["map"] = plot
        self.image = pg.ImageItem(axisOrder="row-major")
        # setRect scales by the image's size: set it once the first image is in (see _show_map).
        self.image.setImage(np.full((GRID, GRID, 4), 255, dtype=np.uint8), levels=None, autoLevels=False)
        self.image.setRect(QtCore.QRectF(-domain, -domain, 2 * domain, 2 * domain))
        self.image.setZValue(-10)
        plot.addItem(self.image)
        self.train_items, self.test_items = [], []
        for label in range(MAX_CLASSES):
            color = class_color(label)
            train = pg.ScatterPlotItem(size=6, symbol=theme.TRAIN_SYMBOL, brush=pg.mkBrush(color),
                                       pen=pg.mkPen("w", width=1), antialias=False)
            test = pg.ScatterPlotItem(size=6, symbol=theme.TEST_SYMBOL, brush=None,
                                      pen=pg.mkPen(color, width=1.5), antialias=False)
            for item in (train, test):
                item.setVisible(False)
                plot.addItem(item)
                cache_static(item)  # the points change with the data only; the map under them every frame
            self.train_items.append(train)
            self.test_items.append(test)
        # Regression: one scatter each for train and test, coloured by target (brush lists).
        self.value_train = pg.ScatterPlotItem(size=6, symbol=theme.TRAIN_SYMBOL, pen=pg.mkPen("w", width=1),
                                              antialias=False)
        self.value_test = pg.ScatterPlotItem(size=6, symbol=theme.TEST_SYMBOL, brush=None, antialias=False)
        for item in (self.value_train, self.value_test):
            item.setVisible(False)
            plot.addItem(item)
            cache_static(item)
        self._brushes = [pg.mkBrush(*DIVERGING[i, :3]) for i in range(len(DIVERGING))]
        self._pens = [pg.mkPen(tuple(int(c) for c in DIVERGING[i, :3]), width=1.5) for i in range(len(DIVERGING))]
        self.corner = pg.TextItem(anchor=(0, 0), color=theme.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 200))
        self.corner.setParentItem(plot.vb)
        self.corner.setPos(4, 4)
        small = QtGui.QFont()
        small.setPointSizeF(8)
        self.corner.setFont(small)
        self.map_label = pg.TextItem(anchor=(1, 0), color=theme.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 220))
        self.map_label.setParentItem(plot.vb)
        self.map_label.hide()
        self.overlay = pg.TextItem(anchor=(0.5, 0.5), color=theme.DIVERGED, fill=pg.mkBrush(255, 255, 255, 225),
                                   border=pg.mkPen(theme.DIVERGED, width=1))
        font = QtGui.QFont()
        font.setPointSize(13)
        font.setBold(True)
        self.overlay.setFont(font)
        self.overlay.setZValue(50)
        self.overlay.setPos(0, 0)
        self.overlay.hide()
        plot.addItem(self.overlay, ignoreBounds=True)

        loss = _plot("Loss")
        loss.setLabel("bottom", "epoch")
        loss.showGrid(y=True, alpha=0.25)
        # Legends are coloured words in the titles: a legend box would cover the small plots' curves.
        self.loss_curves = {}
        for index, (name, style) in enumerate((("train", QtCore.Qt.PenStyle.SolidLine),
                                               ("test", QtCore.Qt.PenStyle.DashLine),
                                               ("validation", QtCore.Qt.PenStyle.DotLine))):
            pen = pg.mkPen(theme.SERIES[index], width=1, style=style)
            self.loss_curves[name] = _curve(pen)
            loss.addItem(self.loss_curves[name])
        self.best_line = pg.InfiniteLine(angle=90, movable=False, label="best {value:.0f}",
                                         labelOpts={"position": 0.9, "color": theme.FOREGROUND,
                                                    "fill": (255, 255, 255, 200)},
                                         pen=pg.mkPen(theme.MUTED, width=1, style=QtCore.Qt.PenStyle.DashLine))
        self.best_line.hide()
        loss.addItem(self.best_line, ignoreBounds=True)
        self.plots["loss"] = loss

        gradient = pg.PlotItem(axisItems={"left": theme.LogAxis(orientation="left")})
        gradient.setMenuEnabled(False)
        gradient.hideButtons()
        gradient.setMouseEnabled(False, False)
        gradient.setTitle("Gradient norm per layer", size=TITLE_SIZE)
        # Log10 of the norms on a linear view box with a log axis (what setLogMode does, without
        # PlotDataItem's per-frame transform).
        gradient.getAxis("left").setLogMode(True)
        gradient.setLabel("bottom", "epoch")
        gradient.showGrid(y=True, alpha=0.25)
        self.gradient_curves = [_curve(pg.mkPen(theme.series_color(l), width=1)) for l in range(MAX_LAYERS)]
        for item in self.gradient_curves:
            item.setVisible(False)
            gradient.addItem(item)
        self.plots["gradient"] = gradient

        activation = _plot("Activation")
        activation.setLabel("bottom", "z")
        activation.showGrid(x=True, y=True, alpha=0.25)
        self.activation_curve = _curve(pg.mkPen(theme.SERIES[0], width=1))
        self.derivative_curve = _curve(pg.mkPen(theme.SERIES[1], width=1, style=QtCore.Qt.PenStyle.DashLine))
        for item in (self.activation_curve, self.derivative_curve):
            activation.addItem(item)
        cache_static(self.activation_curve, self.derivative_curve)  # redrawn only with the activation
        self._activation_shown = None
        self.plots["activation"] = activation

        metrics = _plot("Test set: true × predicted")
        metrics.setAspectLocked(True)
        metrics.invertY(True)
        metrics.setLabel("bottom", "predicted")
        metrics.setLabel("left", "true")
        self.confusion = pg.ImageItem(axisOrder="row-major")
        metrics.addItem(self.confusion)
        self.count_texts = []
        for _ in range(MAX_CLASSES * MAX_CLASSES):
            text = pg.TextItem(anchor=(0.5, 0.5), color=theme.FOREGROUND)
            text.hide()
            metrics.addItem(text, ignoreBounds=True)
            self.count_texts.append(text)
        self.metrics_text = pg.TextItem(anchor=(0.5, 0.5), color=theme.FOREGROUND)
        metrics.addItem(self.metrics_text, ignoreBounds=True)
        self._metrics_mode: tuple | None = None
        self.plots["metrics"] = metrics
        metrics.vb.sigResized.connect(self._place_metrics)

        for name in ("loss", "gradient", "activation", "metrics"):
            self.plots[name].setPreferredSize(150, 120)
            self.plots[name].setMinimumSize(60, 60)
        self.diagram_box.setMinimumSize(120, 100)
        plot.setMinimumSize(100, 100)

    def cache_axes(self) -> None:
        """Axes, and every text (titles, labels, the corner and count texts, the diagram's labels), as
        pixmaps: about a hundred text items here, each ~0.02 ms to repaint, most unchanged per frame
        (a changed text re-renders its pixmap once)."""
        super().cache_axes()
        cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        for item in self.widget.scene().items():
            # The text only: a pg.TextItem's own fill and border were lost when cached.
            if isinstance(item, QtWidgets.QGraphicsTextItem) and item.cacheMode() != cached:
                item.setCacheMode(cached)

    # -- layout ----------------------------------------------------------------------------------------
    def resized(self, width: float, height: float) -> None:
        self._arrange(width, height)

    def _arrange(self, width: float, height: float) -> None:
        """Diagram and the square output map on top; the four small plots in a row below in a wide
        view, 2 x 2 in a narrow one. The map is as wide as the top row is high (square, never
        more than half the width); the diagram takes the rest."""
        wide = width >= WIDE_WIDTH
        loss, gradient, activation, metrics = (self.plots[n] for n in ("loss", "gradient", "activation", "metrics"))
        if wide != self._wide:
            if wide:
                cells = {loss: (0, 0, 1, 1), gradient: (0, 1, 1, 1), activation: (0, 2, 1, 1), metrics: (0, 3, 1, 1)}
            else:
                cells = {loss: (0, 0, 1, 1), gradient: (0, 1, 1, 1), activation: (1, 0, 1, 1), metrics: (1, 1, 1, 1)}
            place_cells(self.bottom, cells, self._cells)
            grid = self.bottom.layout
            for index in range(4):
                grid.setColumnStretchFactor(index, 1 if wide or index < 2 else 0)
            for index in range(2):
                grid.setRowStretchFactor(index, 1 if index == 0 or not wide else 0)
            self._wide = wide
            for name in ("loss", "gradient", "activation"):  # narrow: the titles say what x is
                self.plots[name].getAxis("bottom").showLabel(wide)
        top_share = 0.58 if wide else 0.48
        top_height = max(100, int(height * top_share))
        self.top.setMinimumHeight(top_height)
        self.top.setMaximumHeight(top_height)
        self.bottom.setMinimumHeight(max(60, int(height) - top_height - 6))
        # The plot's left axis is wider than its title and bottom axis are tall by about this much.
        map_width = int(min(top_height - 16, width * 0.5))
        map_plot = self.plots["map"]
        map_plot.setMinimumWidth(map_width)
        map_plot.setMaximumWidth(map_width)

    # -- tool strip --------------------------------------------------------------------------------------
    def tools(self) -> QtWidgets.QWidget:
        if self._tools is not None:
            return self._tools
        strip = ToolStrip()
        row, button = strip.row, strip.button
        self.tool_buttons: dict[str, QtWidgets.QToolButton] = strip.buttons

        button("Regenerate", "A new random draw of the data set (back to generated data)", self.regenerate)
        button("Draw points", "Click on the output map to add points of the chosen class, shift-click or "
                              "right-click to remove the nearest (your own classification data; Regenerate "
                              "returns to generated data)",
               self._draw_toggled, checkable=True)
        self.class_group = QtWidgets.QButtonGroup(strip)
        self.class_group.setExclusive(True)
        self.class_buttons: list[QtWidgets.QToolButton] = []
        for label in range(MAX_CLASSES):
            b = QtWidgets.QToolButton(text=str(label))
            b.setCheckable(True)
            b.setToolTip(f"Clicks on the map add points of class {label}")
            b.setStyleSheet(f"QToolButton {{ background: {class_color(label)}; color: white; min-width: 16px; "
                            "border-radius: 3px; } QToolButton:checked { border: 2px solid black; }")
            self.class_group.addButton(b, label)
            self.class_buttons.append(b)
            row.addWidget(b)
        self.class_group.idClicked.connect(self._select_class)
        self.add_class_button = button("+", "Draw with one more class (at most 5)", self.add_class)
        limits = f"at most {datasets.MAX_IMPORT_ROWS:,} rows, values within ±{datasets.MAX_ABS_VALUE:g}"
        button("Import CSV…", f"Load x, y, label rows from a CSV file ({limits}); points outside "
                              "±6 are scaled into the square", self.import_csv_dialog)
        button("Export weights…", "Save the shown network's weights and biases as JSON "
                                  "(format: ml-explorer-network, see README)", self.export_weights_dialog)
        self.data_label = QtWidgets.QLabel()
        self.data_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.data_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        row.addWidget(self.data_label, 1)
        self._tools = strip
        self._update_tools()
        return strip

    @property
    def drawing(self) -> bool:
        return self._tools is not None and self.tool_buttons["Draw points"].isChecked()

    def _draw_toggled(self, on: bool) -> None:
        if on and self.params.get("problem") == "regression":
            self.messageRequested.emit("Drawn points are classification data: set the problem to classification")
        self._update_tools()

    def _select_class(self, label: int) -> None:
        self.selected_class = int(label)

    def add_class(self) -> None:
        self.n_draw_classes = min(MAX_CLASSES, self.n_draw_classes + 1)
        self.selected_class = self.n_draw_classes - 1
        self._update_tools()

    def _update_tools(self) -> None:
        if self._tools is None:
            return
        drawing = self.drawing
        self.selected_class = min(self.selected_class, self.n_draw_classes - 1)
        for label, b in enumerate(self.class_buttons):
            b.setVisible(drawing and label < self.n_draw_classes)
            b.setChecked(label == self.selected_class)
        self.add_class_button.setVisible(drawing)
        self.add_class_button.setEnabled(self.n_draw_classes < MAX_CLASSES)
        if self.user_data is not None:
            text = f"Your points: {len(self.user_data['x'])}"
            if self.user_data.get("file"):
                text = f"Imported: {self.user_data['file']} ({len(self.user_data['x'])} points)"
        else:
            text = ""
        self.data_label.setText(text)
        self.data_label.setToolTip(text)

    # -- user data --------------------------------------------------------------------------------------
    def _frame_points(self) -> tuple[np.ndarray, np.ndarray]:
        if self.frame is None or self.frame.data["problem"] != "classification":
            return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        d = self.frame.data
        x = np.concatenate([np.asarray(d[f"{s}_x"]).reshape(-1, 2) for s in ("train", "validation", "test")])
        y = np.concatenate([np.asarray(d[f"{s}_y"]).reshape(-1) for s in ("train", "validation", "test")])
        return x, y.astype(np.int64)

    def request_data(self, data: dict[str, Any] | None) -> None:
        self.user_data = data
        self._update_tools()
        self.dataRequested.emit(data)

    def add_point(self, x: float, y: float, label: int | None = None) -> None:
        """Add a point of ``label`` (default: the chosen class) to the user's points (the shown
        points become the user's on the first one)."""
        if self.params.get("problem") == "regression":
            self.messageRequested.emit("Drawn points are classification data: set the problem to classification")
            return
        label = self.selected_class if label is None else int(label)
        points, labels = self._editable_points()
        points = np.vstack([points, [[x, y]]])
        labels = np.append(labels, label)
        self._request_points(points, labels)

    def remove_nearest(self, x: float, y: float) -> bool:
        """Remove the point nearest to (x, y) (map coordinates) from the user's points (the shown
        points become the user's first); False when there is none to remove."""
        if self.params.get("problem") == "regression":
            self.messageRequested.emit("Drawn points are classification data: set the problem to classification")
            return False
        points, labels = self._editable_points()
        if len(points) == 0:
            return False
        nearest = int(np.argmin(np.hypot(points[:, 0] - x, points[:, 1] - y)))
        self._request_points(np.delete(points, nearest, axis=0), np.delete(labels, nearest))
        return True

    def _editable_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The user's points in map coordinates (an import scaled into the square, as shown), or the
        shown generated points; every click counts, even before the new run is drawn."""
        if self.user_data is not None:
            points = np.asarray(self.user_data["x"], dtype=float).reshape(-1, 2)
            return nn_data.fit_into_square(points)[0], np.asarray(self.user_data["labels"], dtype=np.int64)
        return self._frame_points()

    def _request_points(self, points: np.ndarray, labels: np.ndarray) -> None:
        k = int(labels.max()) + 1 if len(labels) else 2
        names = list((self.user_data or {}).get("names") or [])
        if len(names) < k:
            names = [f"class {i}" for i in range(k)]
        self.request_data({"x": points, "labels": labels, "names": names[:max(k, 2)]})

    def regenerate(self) -> None:
        """Back to generated data (also after a session with the user's points was opened: the view
        cannot tell, so it always asks) with a new data seed."""
        self.user_data = None
        self._update_tools()
        self.dataRequested.emit(None)
        seed = (int(self.params.get("data_seed", 0)) + 1) % 100000
        self.paramsRequested.emit({"data_seed": seed})

    def import_csv(self, path: str) -> bool:
        """Read a CSV now and ask for it as the data; a problem is a status message and changes nothing."""
        return self._use_import(str(path), *_read_csv_job(str(path)))

    def start_import(self, path: str) -> None:
        """Read a CSV in a worker process; the result arrives as for import_csv."""
        if self._runner is None:
            self._runner = JobRunner(self, start_workers=False)
            self._runner.finished.connect(self._import_finished)
            self._runner.failed.connect(lambda key, message: self._import_finished(key, ("error", message)))
        self._import_path = str(path)
        self._runner.submit("import", _read_csv_job, str(path))

    @property
    def importing(self) -> bool:
        return self._import_path is not None

    def _import_finished(self, key: str, result) -> None:
        if key != "import" or self._import_path is None:
            return
        path, self._import_path = self._import_path, None
        if not self._use_import(path, *result):
            self._show_error("Cannot import CSV", f"CSV import of {Path(path).name}: {result[1]}")

    def _use_import(self, path: str, outcome: str, result) -> bool:
        name = Path(path).name
        if outcome != "ok":
            self.messageRequested.emit(f"CSV import of {name}: {result}")
            return False
        if self.params.get("problem") == "regression":
            self.messageRequested.emit(f"CSV import of {name}: imported points are classification data; "
                                       "set the problem to classification")
            return False
        data = dict(result)
        data["file"] = name
        self.n_draw_classes = max(2, min(MAX_CLASSES, len(data["names"])))
        self.request_data(data)
        self.messageRequested.emit(f"Imported {name}: {len(data['x']):,} rows, {len(data['names'])} classes")
        return True

    # -- weights -------------------------------------------------------------------------------------------
    def shown_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The weights and biases on screen: the frame's, with the edits typed at its epoch."""
        assert self.frame is not None
        return frame_weights(self.frame, self.params.get("weight_edits", ""))

    def export_weights(self, path: str | Path) -> Path:
        """Write the shown network as JSON (format in the module docstring)."""
        if self.frame is None:
            raise ValueError("nothing to export yet")
        document = weights_document(self.frame, self.params.get("weight_edits", ""))
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    def export_weights_dialog(self) -> None:
        if self.frame is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.widget, "Export weights", "network.json",
                                                        "Network weights (*.json)")
        if not path:
            return
        try:
            self.export_weights(path)
        except (OSError, ValueError) as error:
            self.messageRequested.emit(f"Could not export the weights: {error}")
            return
        self.messageRequested.emit(f"Exported the weights of epoch {self.frame.step} to {path}")

    def _weight_edit_requested(self, layer: int, i: int, j: int, value: float) -> None:
        if self.frame is None:
            return
        step = int(self.frame.step)
        text = edits_with(self.params.get("weight_edits", ""), step, layer, i, j, value,
                          sizes=np.asarray(self.frame.data["sizes"]).tolist())
        what = f"bias of unit {j + 1} in layer {layer}" if i < 0 else f"weight {i + 1}→{j + 1} of layer {layer}"
        self.paramsRequested.emit({"weight_edits": text})
        self.messageRequested.emit(f"{what} set to {value:g} at epoch {step}: the losses update at the next epoch")

    def _structure_requested(self, values: dict) -> None:
        # A new structure is a new run: weights typed for the old one do not carry over.
        self.paramsRequested.emit({**dict(values), "weight_edits": ""})

    # -- hover ----------------------------------------------------------------------------------------------
    def _neuron_hovered(self, neuron) -> None:
        self.hovered = None if neuron is None else (int(neuron[0]), int(neuron[1]))
        self._show_map()

    def _clicked(self, event) -> None:
        if not self.drawing:
            return
        vb = self.plots["map"].vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        remove = (event.button() == QtCore.Qt.MouseButton.RightButton
                  or bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))
        if event.button() not in (QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton):
            return
        point = vb.mapSceneToView(event.scenePos())
        domain = nn_data.DOMAIN
        if abs(point.x()) <= domain and abs(point.y()) <= domain:
            if remove:
                self.remove_nearest(point.x(), point.y())
            else:
                self.add_point(point.x(), point.y())
            event.accept()

    # -- showing ----------------------------------------------------------------------------------------------
    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)

    def _changed(self, name: str, *values) -> bool:
        """True (and remember ``values``) unless they equal what ``name`` last showed."""
        if same_values(self._last.get(name), values):
            return False
        self._last[name] = values
        return True

    def _features(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        cached = self._grid_features.get(names)
        if cached is None:
            features = nn_data.features(grid_points(), names)
            scale = np.abs(features).max(axis=0) if features.shape[1] else np.zeros(0)
            features.flags.writeable = False
            if len(self._grid_features) >= 8:  # 10,000 x up to 7 floats each: keep a few
                self._grid_features.pop(next(iter(self._grid_features)))
            cached = self._grid_features[names] = (features, scale)
        return cached

    def show(self, frame: Frame) -> None:
        self.frame = frame
        data = frame.data
        sizes = [int(s) for s in np.asarray(data["sizes"])]
        names = tuple(str(n) for n in np.asarray(data["feature_names"]))
        weights, biases = self.shown_weights()
        activation, output = str(data["activation"]), str(data["output"])
        if self.maps is None or self._changed("network", names, activation, output, *weights, *biases):
            features, scale = self._features(names)
            self.maps = GridMaps(features, scale, weights, biases, activation, output)
            self._last["network"] = (names, activation, output, *weights, *biases)
            labels_of = dict(zip(nn_data.FEATURES, nn_data.FEATURE_LABELS))
            output_labels = [f"class {k}" for k in range(sizes[-1])] if output == "softmax" else None
            self.diagram.show(sizes, [labels_of.get(n, n) for n in names], weights, biases,
                              self.maps.thumbnails(), output_labels)
            self._last.pop("map", None)
        self._show_map()
        self._show_points(data)
        self._show_curves(frame)
        self._show_metrics(data)
        self._show_state(frame)

    def _show_map(self) -> None:
        if self.maps is None:
            return
        discretize = bool(self.params.get("discretize", False))
        hovered = self.hovered
        if hovered is not None and not (hovered[0] < len(self.maps.sizes) and hovered[1] < self.maps.sizes[hovered[0]]):
            hovered = None
        if not self._changed("map", id(self.maps), discretize, hovered):
            return
        if hovered is None:
            self.image.setImage(self.maps.output_image(discretize), levels=None, autoLevels=False)
            self.map_label.hide()
        else:
            layer, unit = hovered
            self.image.setImage(self.maps.neuron_image(layer, unit), levels=None, autoLevels=False)
            last = len(self.maps.sizes) - 1
            if layer == 0:
                names = self._last["network"][0]
                labels_of = dict(zip(nn_data.FEATURES, nn_data.FEATURE_LABELS))
                what = f"input {labels_of.get(names[unit], names[unit])}"
            elif layer == last:
                what = "the output" if self.maps.sizes[-1] == 1 else f"output {unit + 1} (class {unit})"
            else:
                what = f"neuron {unit + 1} of layer {layer}"
            self.map_label.setText(f"showing {what}")
            vb = self.plots["map"].vb
            self.map_label.setPos(vb.width() - 4, 4)
            self.map_label.show()

    def _show_points(self, data) -> None:
        show_test = bool(self.params.get("show_test", False))
        problem = str(data["problem"])
        train_x, train_y = np.asarray(data["train_x"]).reshape(-1, 2), np.asarray(data["train_y"])
        test_x, test_y = np.asarray(data["test_x"]).reshape(-1, 2), np.asarray(data["test_y"])
        if not self._changed("points", problem, show_test, train_x, train_y, test_x, test_y):
            return
        classification = problem == "classification"
        for label in range(MAX_CLASSES):
            for item, x, y, on in ((self.train_items[label], train_x, train_y, True),
                                   (self.test_items[label], test_x, test_y, show_test)):
                mine = x[(y == label)] if classification and on else np.zeros((0, 2))
                if len(mine):
                    item.setData(mine[:, 0], mine[:, 1])
                    item.setVisible(True)
                elif item.isVisible():
                    item.clear()
                    item.setVisible(False)
        for item, x, y, on, train in ((self.value_train, train_x, train_y, True, True),
                                      (self.value_test, test_x, test_y, show_test, False)):
            if classification or not on or not len(x):
                if item.isVisible():
                    item.clear()
                    item.setVisible(False)
                continue
            index = np.clip(((np.asarray(y, dtype=float) + 1) / 2 * 255 + 0.5), 0, 255).astype(int)
            if train:
                item.setData(x[:, 0], x[:, 1], brush=[self._brushes[i] for i in index])
            else:
                item.setData(x[:, 0], x[:, 1], pen=[self._pens[i] for i in index], brush=None)
            item.setVisible(True)

    def _show_curves(self, frame: Frame) -> None:
        data = frame.data
        epochs = np.asarray(data["epochs"], dtype=float)
        curves = {name: np.asarray(data[f"{name}_loss"], dtype=float) for name in ("train", "test", "validation")}
        # The y range fits the curves after their first tenth (a large start loss, e.g. unscaled X₁X₂,
        # would flatten the rest: the start runs off the top instead), and not a diverged run's last
        # entry (the epoch that blew up).
        first = len(epochs) // 10 if len(epochs) > 10 else 0
        last = len(epochs) - 1 if bool(data["diverged"]) and len(epochs) > 1 else len(epochs)
        scaled = slice(first, max(last, first + 1))
        high = 0.0
        for name, values in curves.items():
            finite = np.isfinite(values)
            _set_curve(self.loss_curves[name], epochs[finite], values[finite])
            kept = values[scaled][finite[scaled]]
            if len(kept):
                high = max(high, float(kept.max()))
        validating = bool(np.isfinite(curves["validation"]).any())
        names = ("train", "test", "validation") if validating else ("train", "test")
        if self._changed("loss_title", names):
            self.plots["loss"].setTitle("Loss: " + " ".join(_colored(name, theme.SERIES[i])
                                                            for i, name in enumerate(names)), size=TITLE_SIZE)
        x_high = float(max(10.0, nice_ceiling(float(frame.step))))
        loss = self.plots["loss"]
        y_high = nice_ceiling(high) if high > 0 else 1.0
        if self._changed("loss_range", x_high, y_high):
            loss.setXRange(0, x_high, padding=0.02)
            loss.setYRange(0, y_high, padding=0.02)
        best = int(data["best_epoch"])
        if best >= 0 and validating:
            self.best_line.show()
            self.best_line.setValue(best)
            self.best_line.label.valueChanged()  # a hidden label ignores position changes: refresh it
        else:
            self.best_line.hide()

        norms = np.asarray(data["gradient_norms"], dtype=float).reshape(len(epochs), -1)
        layers = norms.shape[1]
        low, top = math.inf, -math.inf
        for l, item in enumerate(self.gradient_curves):
            if l >= layers:
                _set_curve(item, np.zeros(0), np.zeros(0))
                continue
            values = norms[:, l]
            good = np.isfinite(values) & (values > 0)
            _set_curve(item, epochs[good], np.log10(values[good]))
            if good.any():
                low, top = min(low, float(values[good].min())), max(top, float(values[good].max()))
        if self._changed("gradient_title", layers):
            self.plots["gradient"].setTitle(gradient_title(layers), size=TITLE_SIZE)
        gradient = self.plots["gradient"]
        if math.isfinite(low):
            y_range = (math.floor(math.log10(low)), max(math.ceil(math.log10(top)), math.floor(math.log10(low)) + 1))
        else:
            y_range = (-3, 0)
        if self._changed("gradient_range", x_high, y_range):
            gradient.setXRange(0, x_high, padding=0.02)
            gradient.setYRange(*y_range, padding=0.02)

        activation = str(data["activation"])
        if activation != self._activation_shown:
            z = np.linspace(-ACTIVATION_RANGE, ACTIVATION_RANGE, 201)
            self.activation_curve.setData(z, net.activate(activation, z))
            self.derivative_curve.setData(z, net.activation_derivative(activation, z))
            self.plots["activation"].setTitle(f"{_colored(activation, theme.SERIES[0])} and its "
                                              f"{_colored('derivative', theme.SERIES[1])}", size=TITLE_SIZE)
            plot = self.plots["activation"]
            plot.setXRange(-ACTIVATION_RANGE, ACTIVATION_RANGE, padding=0.02)
            top = {"relu": ACTIVATION_RANGE, "linear": ACTIVATION_RANGE}.get(activation, 1.0)
            bottom = {"tanh": -1.0, "linear": -ACTIVATION_RANGE}.get(activation, 0.0)
            plot.setYRange(bottom, top, padding=0.05)
            self._activation_shown = activation

    def _show_metrics(self, data) -> None:
        metrics = self.plots["metrics"]
        classification = str(data["problem"]) == "classification"
        if classification:
            matrix = np.asarray(data["confusion_matrix"], dtype=np.int64)
            k = matrix.shape[0]
            mode = ("classification", k)
        else:
            k = 0
            mode = ("regression",)
        if mode != self._metrics_mode:
            self._metrics_mode = mode
            if classification:
                metrics.setTitle("Test set: true × predicted", size=TITLE_SIZE)
                self.metrics_text.setFont(QtGui.QFont())
                for side in ("left", "bottom"):
                    metrics.showAxis(side)
                    metrics.getAxis(side).setTicks([[(i, str(i)) for i in range(k)], []])
                self.confusion.show()
            else:
                metrics.setTitle("Regression fit", size=TITLE_SIZE)
                big = QtGui.QFont()
                big.setPointSizeF(big.pointSizeF() * 1.4)  # four numbers alone in the panel: readable
                self.metrics_text.setFont(big)
                metrics.hideAxis("left")
                metrics.hideAxis("bottom")
                self.confusion.hide()
                for text in self.count_texts:
                    text.hide()
        if classification:
            if self._changed("confusion", matrix):
                rows = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
                share = (matrix / rows).astype(np.float32)
                diagonal = np.eye(k, dtype=bool)
                colors = np.where(diagonal[..., None], CLASS_RGB[0], CLASS_RGB[1])
                rgba = np.empty((k, k, 4), dtype=np.uint8)
                rgba[..., :3] = 255.0 - (255.0 - colors) * (0.85 * share[..., None])
                rgba[..., 3] = 255
                # Each cell as a block of pixels: a smoothed export of a k x k image would blend cells.
                rgba = np.repeat(np.repeat(rgba, CELL_PIXELS, axis=0), CELL_PIXELS, axis=1)
                self.confusion.setImage(rgba, levels=None, autoLevels=False)
                self.confusion.setRect(QtCore.QRectF(-0.5, -0.5, k, k))
                for index, text in enumerate(self.count_texts):
                    i, j = divmod(index, MAX_CLASSES)
                    if i < k and j < k:
                        text.setText(str(int(matrix[i, j])))
                        text.setColor("w" if share[i, j] > 0.55 else theme.FOREGROUND)
                        text.setPos(j, i)
                        text.show()
                    else:
                        text.hide()
            at = shown_epoch(data)
            test, train = float(data["test_accuracy"][at]), float(data["train_accuracy"][at])
            text = f"test accuracy {test:.1%}\ntrain {train:.1%}" if math.isfinite(test) else "no test points"
        else:
            at = shown_epoch(data)
            values = [float(data[name][at]) for name in ("test_r2", "train_r2", "test_rmse", "train_rmse")]
            text = "\n".join(f"{label}  {value:.3g}" if math.isfinite(value) else f"{label}  not defined"
                             for label, value in zip(("R² test", "R² train", "RMSE test", "RMSE train"), values))
        if self._changed("metrics_text", text):
            self.metrics_text.setText(text)
        self._place_metrics()

    def _place_metrics(self) -> None:
        """The confusion matrix with a band for the accuracy text beside it (a wide plot) or above
        it (a tall one); regression: the text in the middle. Only when the size or mode changed."""
        mode = self._metrics_mode
        vb = self.plots["metrics"].vb
        width, height = float(vb.width()), float(vb.height())
        if mode is None or width <= 0 or height <= 0:
            return
        text = self.metrics_text.textItem.boundingRect()
        if not self._changed("metrics_place", mode, width, height, round(text.width()), round(text.height())):
            return
        metrics = self.plots["metrics"]
        if mode[0] != "classification":
            metrics.setRange(QtCore.QRectF(-1, -1, 2, 2), padding=0)
            self.metrics_text.setPos(0, 0)
            return
        k = mode[1]
        text_w, text_h = text.width() + 8, text.height() + 4
        if width - height >= 0.8 * text_w:  # room beside the matrix
            unit = max(k / height, k / max(width - text_w, 1.0))  # data units per pixel
            band = text_w * unit
            metrics.setRange(QtCore.QRectF(-0.5 - band, -0.5, k + band, k), padding=0)
            self.metrics_text.setPos(-0.5 - band / 2, (k - 1) / 2)
        else:  # a band above (y runs down)
            unit = max(k / width, k / max(height - text_h, 1.0))
            band = text_h * unit
            metrics.setRange(QtCore.QRectF(-0.5, -0.5 - band, k, k + band), padding=0)
            self.metrics_text.setPos((k - 1) / 2, -0.5 - band / 2)

    def _show_state(self, frame: Frame) -> None:
        data = frame.data
        sizes = np.asarray(data["sizes"])
        blocked = int(sizes[0]) == 0 or len(np.asarray(data["train_x"])) == 0
        if bool(data["diverged"]):
            overlay = "diverged\nlower the learning rate"
        elif blocked:
            overlay = frame.message.split("; ")[0] if frame.message else "nothing to train"
        else:
            overlay = ""
        width = float(self.plots["map"].vb.width())
        if self._changed("overlay", overlay, width):
            self.overlay.setText(overlay)
            self.overlay.setTextWidth(-1)
            room = max(120.0, 0.85 * width)
            if self.overlay.textItem.boundingRect().width() > room:  # wrap a long message in the map
                self.overlay.setTextWidth(room)
            self.overlay.setVisible(bool(overlay))
        train = np.asarray(data["train_loss"], dtype=float)
        test = np.asarray(data["test_loss"], dtype=float)
        at = shown_epoch(data)
        if bool(data["diverged"]):
            head = f"epoch {frame.step}: diverged\nweights of epoch {at}"
        elif bool(data["stopped_early"]):
            head = f"epoch {frame.step}: stopped\nweights of epoch {at}"
        else:
            head = f"epoch {frame.step}"
        lines = [head]
        for name, values in (("train", train), ("test", test)):
            if len(values) and math.isfinite(values[at]):
                lines.append(f"{name} loss {values[at]:.3g}")
        text = "\n".join(lines)
        if self._changed("corner", text):
            self.corner.setText(text)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.shutdown()
        super().close()
