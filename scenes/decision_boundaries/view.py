"""pyqtgraph view of the decision-boundary scene: probability map, points, splits, accuracy curve,
compare grid, a drawing tool strip; a finer map replaces the coarse one when the view is idle."""
from __future__ import annotations

import gc
import html
import itertools
import sys
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import datasets
from explorer.contours import contour_path
from explorer.jobs import JobRunner
from explorer.scene import Frame, Scene
from explorer.ui import theme
from explorer.ui.view import SceneView, same_values
from scenes.decision_boundaries import models
from scenes.decision_boundaries import sim as scene_sim

MAX_CLASSES = 10
IDLE_MS = 120
#: Height of each compare panel's two-line title, kept outside its map (pixels).
COMPARE_TITLE_HEIGHT = 38
#: A running import shows its elapsed time, refreshed this often (ms).
IMPORT_TICK_MS = 100
#: Most points drawn per view: above it a fixed random subset is drawn (and the corner says so);
#: pyqtgraph's scatter costs ~7 us per point in setData, so 100,000 points stalled the UI 1.3 s.
MAX_DRAWN_POINTS = 4000
#: Width of the class-border pen (pixels): a width-2 pen took ~350 ms to paint a complex border.
BORDER_PEN_WIDTH = 1
#: Longest UI-thread slice spent updating compare plots before yielding to the event loop.
COMPARE_SLICE_MS = 15


def _rgb(color: str) -> np.ndarray:
    c = QtGui.QColor(color)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float32)


CLASS_RGB = np.array([_rgb(theme.CLASS_COLORS[i % len(theme.CLASS_COLORS)]) for i in range(MAX_CLASSES)])


def class_color(label: int) -> str:
    return theme.CLASS_COLORS[int(label) % len(theme.CLASS_COLORS)]


def probability_image(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(C, h, w) probabilities -> (h, w, 4) uint8: the likeliest class's colour, stronger when surer."""
    proba = np.asarray(proba, dtype=np.float32)
    n = proba.shape[0]
    h, w = proba.shape[1:]
    if n == 0 or len(classes) != n:
        return np.full((h, w, 4), 255, dtype=np.uint8)
    best = np.argmax(proba, axis=0)
    top = np.max(proba, axis=0)
    confidence = np.clip((top - 1.0 / n) / (1.0 - 1.0 / n), 0.0, 1.0) if n > 1 else np.ones_like(top)
    strength = (0.1 + 0.6 * confidence)[..., None]
    colors = CLASS_RGB[np.asarray(classes, dtype=int) % MAX_CLASSES][best]
    rgba = np.empty((h, w, 4), dtype=np.uint8)
    rgba[..., :3] = (255.0 + (colors - 255.0) * strength).astype(np.uint8)
    rgba[..., 3] = 255
    return rgba


def boundary_lines(proba: np.ndarray, extent) -> tuple[np.ndarray, np.ndarray]:
    """The 0.5 contour (binary) or the class borders (multi-class) as x, y with NaN breaks."""
    n, h, w = proba.shape
    if n < 2:
        return np.zeros(0), np.zeros(0)
    x0, x1, y0, y1 = extent
    xs = x0 + (np.arange(w) + 0.5) * (x1 - x0) / w
    ys = y0 + (np.arange(h) + 0.5) * (y1 - y0) / h
    fields = [proba[1] - 0.5] if n == 2 else [
        proba[k] - np.max(np.delete(proba, k, axis=0), axis=0) for k in range(n)]
    xy = np.concatenate([contour_path(xs, ys, field, [0.0]) for field in fields])
    return xy[:, 0], xy[:, 1]


def render(proba: np.ndarray, classes: np.ndarray, extent) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Image and boundary lines of a probability map (pure NumPy; runs in a worker for fine maps)."""
    return probability_image(proba, classes), boundary_lines(proba, extent)


#: In a worker process: the last refiners it computed for, by key, so a later stage resumes the
#: staged computation instead of starting over (each job brings a fresh unpickled copy).
_worker_refiners: OrderedDict[int, models.Refiner] = OrderedDict()


def _refine_job(key, refiner: models.Refiner, stage: int, classes: np.ndarray):
    """The fine map of one stage (runs in a worker process of the view's JobRunner)."""
    refiner = _worker_refiners.setdefault(key[0], refiner)
    _worker_refiners.move_to_end(key[0])
    while len(_worker_refiners) > 4:
        _worker_refiners.popitem(last=False)
    proba = refiner.grid(stage)
    return key, proba, *render(proba, classes, refiner.extent)


#: A number per refiner object, unique in this process: Refiner.token comes from a counter in
#: whichever worker process built the run, so tokens of runs built in fresh workers repeat.
_refiner_ids: "weakref.WeakKeyDictionary[models.Refiner, int]" = weakref.WeakKeyDictionary()
_refiner_numbers = itertools.count(1)


def _refiner_id(refiner: models.Refiner) -> int:
    number = _refiner_ids.get(refiner)
    if number is None:
        number = _refiner_ids[refiner] = next(_refiner_numbers)
    return number


def _read_csv_job(path: str, test_fraction: float) -> tuple[str, Any]:
    """Read and validate a CSV in a worker: ("ok", user data) or ("error", the message to show)."""
    try:
        data = datasets.read_csv(path)
        datasets.from_user(data, test_fraction)
    except ValueError as error:  # CSVError / DataError: a message for the user, never a traceback
        return "error", str(error)
    return "ok", data


#: The user data has not been edited since the shown frame (see DecisionBoundaryView._pending).
_NO_EDIT = object()


def _plain_label(text: str = "") -> QtWidgets.QLabel:
    """A QLabel that never interprets its text as HTML (file, column and class names are user text)."""
    label = QtWidgets.QLabel()
    label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
    label.setText(text)
    return label


class ElidedLabel(QtWidgets.QLabel):
    """A plain-text label that shrinks with its row and ends in "…" when its text does not fit
    (text() stays the whole text; the tooltip shows it too)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), QtCore.Qt.TextElideMode.ElideRight, self.width())
        painter.drawText(self.rect(), int(self.alignment()), shown)


class FlowLayout(QtWidgets.QLayout):
    """Items left to right at their preferred widths, wrapping to a new line when the row is too
    narrow (the tool strip fits a 1024 px window); the last item, if given ``stretch_last``, takes
    the rest of its line when at least its minimum width is left there."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, spacing: int = 4,
                 stretch_last: bool = True) -> None:
        super().__init__(parent)
        self._items: list[QtWidgets.QLayoutItem] = []
        self._spacing = spacing
        self._stretch_last = stretch_last

    def addItem(self, item: QtWidgets.QLayoutItem) -> None:  # noqa: N802 - Qt's name
        self._items.append(item)

    def addSpacing(self, width: int) -> None:  # noqa: N802 - as QBoxLayout's
        self.addItem(QtWidgets.QSpacerItem(width, 0, QtWidgets.QSizePolicy.Policy.Fixed,
                                           QtWidgets.QSizePolicy.Policy.Minimum))

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> QtCore.Qt.Orientation:  # noqa: N802
        return QtCore.Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QtCore.QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QtCore.QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - one line when there is room
        width = height = 0
        for item in self._shown():
            hint = item.sizeHint()
            width += hint.width() + self._spacing
            height = max(height, hint.height())
        m = self.contentsMargins()
        return QtCore.QSize(max(0, width - self._spacing) + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QtCore.QSize:  # noqa: N802 - the widest single item
        size = QtCore.QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QtCore.QSize(m.left() + m.right(), m.top() + m.bottom())

    def _shown(self) -> list[QtWidgets.QLayoutItem]:
        return [item for item in self._items if not (item.widget() is not None and item.widget().isHidden())]

    def _arrange(self, rect: QtCore.QRect, move: bool) -> int:
        """Place (or only measure) the items in ``rect``; the height they need."""
        m = self.contentsMargins()
        left, top, right = rect.x() + m.left(), rect.y() + m.top(), rect.right() - m.right()
        items = self._shown()
        lines: list[list[tuple[QtWidgets.QLayoutItem, int, int]]] = [[]]  # (item, x, width)
        x = left
        for index, item in enumerate(items):
            width = item.sizeHint().width()
            if item.widget() is None:  # a spacer: only between items on one line
                if lines[-1] and x + width - 1 <= right:
                    x += width
                continue
            if self._stretch_last and index == len(items) - 1:
                minimum = item.minimumSize().width()
                if lines[-1] and right - x + 1 < minimum:
                    lines.append([])
                    x = left
                lines[-1].append((item, x, max(minimum, right - x + 1)))
                break
            if lines[-1] and x + width - 1 > right:
                lines.append([])
                x = left
            lines[-1].append((item, x, width))
            x += width + self._spacing
        y = top
        for line in lines:
            height = max((item.sizeHint().height() for item, _, _ in line), default=0)
            if move:
                for item, x, width in line:
                    item.setGeometry(QtCore.QRect(x, y, width, height))
            y += height + self._spacing
        return y - self._spacing - rect.y() + m.bottom()

_drawn_cache: dict[int, np.ndarray] = {}


def drawn_index(n: int) -> np.ndarray:
    """Indices of the points drawn out of ``n``: all of them up to MAX_DRAWN_POINTS, else the
    MAX_DRAWN_POINTS with the smallest fixed random keys (the i-th key depends only on i, so
    appending points keeps the drawn subset), in their original order."""
    if n <= MAX_DRAWN_POINTS:
        return np.arange(n)
    index = _drawn_cache.get(n)
    if index is None:
        keys = np.random.default_rng(20240611).random(n)
        index = np.sort(np.argpartition(keys, MAX_DRAWN_POINTS)[:MAX_DRAWN_POINTS])
        _drawn_cache.clear()
        _drawn_cache[n] = index
    return index


def _set_points(item: pg.ScatterPlotItem, points: np.ndarray, **style) -> None:
    # An empty setData makes pyqtgraph compute bounds of nothing (an All-NaN warning);
    # an empty item is hidden, so a repaint does not visit it at all.
    if len(points):
        item.setData(points[:, 0], points[:, 1], **style)
        item.setVisible(True)
    elif item.isVisible() or len(item.data):
        item.clear()
        item.setVisible(False)


_frozen_with: set[str] = set()


def _freeze_heap(reason: str) -> None:
    """Move every object alive now to the collector's permanent generation (gc.freeze), once per
    ``reason``. The UI process holds ~150,000 objects once scikit-learn is loaded, and a full
    collection of them took 70-380 ms on the UI thread whenever one fell due (during a
    100,000-row import: 100-180 ms stalls); frozen, a full collection only visits newer objects.
    Cyclic garbage alive at that moment is never freed (a few objects)."""
    if reason not in _frozen_with:
        _frozen_with.add(reason)
        gc.freeze()


class DecisionBoundaryView(SceneView):
    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__(scene, params)
        self.frame: Frame | None = None
        self.selected_class = 0
        self.n_draw_classes = 2
        self._shown_proba: np.ndarray | None = None
        self._shown_key: Any = None
        self._fine: OrderedDict[Any, tuple] = OrderedDict()
        self._compare_mode = False
        self._compare_queue: list[int] = []
        self._compare_frame: Frame | None = None
        #: What each group of items last showed (see _changed), the map applied as (key, fine),
        #: and rendered coarse maps by frame key (stepping back and forth renders nothing twice).
        self._last: dict[str, tuple] = {}
        self._applied: Any = None
        self._coarse: OrderedDict[Any, tuple] = OrderedDict()
        #: The user data last asked for (None: generated data) until a frame shows it: the
        #: authoritative points for the next click, so quick clicks before a redraw all count.
        self._pending: Any = _NO_EDIT
        self._pending_arrays: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 2)), np.zeros(0, dtype=int))
        self._sent: list[tuple[np.ndarray, np.ndarray] | None] = []
        #: Where the current user data came from (file, columns, read_as) while frames show it.
        self._source: dict[str, Any] | None = None
        self._hover_at: tuple[float, float] | None = None
        self._import_path: str | None = None
        self._import_clock = QtCore.QElapsedTimer()
        self._import_timer = QtCore.QTimer(self)
        self._import_timer.setInterval(IMPORT_TICK_MS)
        self._import_timer.timeout.connect(self._import_tick)
        self.error_box: QtWidgets.QMessageBox | None = None
        self._runner = JobRunner(self, start_workers=False)  # processes start with its first job
        self._runner.finished.connect(self._refined)
        self._runner.finished.connect(self._import_finished)
        self._runner.failed.connect(self._import_failed)
        self._idle = QtCore.QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_MS)
        self._idle.timeout.connect(self._request_fine)
        self._tools: QtWidgets.QWidget | None = None
        self._build_main()
        self._build_compare()
        self.widget.ci.addItem(self.main_layout)
        self.cache_axes()
        scene = self.widget.scene()
        scene.sigMouseClicked.connect(self._clicked)
        scene.sigMouseMoved.connect(self._moved)
        # Leave clears the hover read-out (on the view widget, not its viewport: close() deletes that).
        self.widget.installEventFilter(self)
        _freeze_heap("view")

    # -- building (once) ---------------------------------------------------------------------
    def _build_main(self) -> None:
        self.main_layout = pg.GraphicsLayout()
        plot = self.main_layout.addPlot(row=0, col=0)
        plot.setAspectLocked(False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", "x₁")
        plot.setLabel("left", "x₂")
        self.plots["map"] = plot
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        plot.addItem(self.image)
        # Width 1 (DESIGN.md): a wide pen strokes the many-segment class borders of a large
        # data set in ~350 ms on the UI thread, a cosmetic 1-px pen in a few ms.
        self.boundary = pg.PlotDataItem(pen=pg.mkPen(theme.FOREGROUND, width=BORDER_PEN_WIDTH), connect="finite")
        self.split_lines = pg.PlotDataItem(pen=pg.mkPen("#444444", width=1, style=QtCore.Qt.PenStyle.DashLine),
                                           connect="pairs")
        plot.addItem(self.split_lines)
        plot.addItem(self.boundary)
        self.train_items, self.test_items = [], []
        for label in range(MAX_CLASSES):
            color = class_color(label)
            train = pg.ScatterPlotItem(size=8, symbol=theme.TRAIN_SYMBOL, brush=pg.mkBrush(color),
                                       pen=pg.mkPen("w", width=1), antialias=False)
            test = pg.ScatterPlotItem(size=8, symbol=theme.TEST_SYMBOL, brush=pg.mkBrush(255, 255, 255, 200),
                                      pen=pg.mkPen(color, width=2), antialias=False)
            for item in (train, test):
                item.setVisible(False)  # shown once it holds points
                plot.addItem(item)
            self.train_items.append(train)
            self.test_items.append(test)
        self.support_items = pg.ScatterPlotItem(size=15, symbol="o", brush=None, pen=pg.mkPen("#000000", width=1),
                                                antialias=False)
        self.error_items = pg.ScatterPlotItem(size=7, symbol=theme.ERROR_SYMBOL, brush=pg.mkBrush("#000000"),
                                              pen=pg.mkPen("#000000", width=1), antialias=False)
        self.support_items.setVisible(False)
        self.error_items.setVisible(False)
        plot.addItem(self.support_items)
        plot.addItem(self.error_items)
        # What every marker means, for the classes and markers on screen (see _show_legend).
        self.legend = pg.LegendItem(offset=(-8, 8), pen=pg.mkPen("#bbbbbb"), brush=pg.mkBrush(255, 255, 255, 215),
                                    labelTextSize="8pt", verSpacing=-6)
        self.legend.setParentItem(plot.vb)
        self.legend.setZValue(30)
        self.legend.setVisible(False)
        self._legend_entries: tuple[str, ...] = ()
        self._legend_samples = {
            "test": pg.ScatterPlotItem(size=8, symbol=theme.TEST_SYMBOL, brush=pg.mkBrush(255, 255, 255, 200),
                                       pen=pg.mkPen(theme.MUTED, width=2)),
            "error": pg.ScatterPlotItem(size=7, symbol=theme.ERROR_SYMBOL, brush=pg.mkBrush("#000000"),
                                        pen=pg.mkPen("#000000", width=1)),
            "support": pg.ScatterPlotItem(size=15, symbol="o", brush=None, pen=pg.mkPen("#000000", width=1)),
        }
        self._class_samples = [pg.ScatterPlotItem(size=8, symbol=theme.TRAIN_SYMBOL, brush=pg.mkBrush(class_color(k)),
                                                  pen=pg.mkPen("w", width=1)) for k in range(MAX_CLASSES)]
        self.corner = pg.TextItem(anchor=(0, 0), color=theme.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 200))
        self.corner.setParentItem(plot.vb)
        self.corner.setPos(6, 6)
        self.notice = pg.TextItem(anchor=(0, 0), color=theme.DIVERGED, fill=pg.mkBrush(255, 255, 255, 220))
        self.notice.setParentItem(plot.vb)
        self.notice.setPos(6, 56)
        self.hover = pg.TextItem(anchor=(0, 1), color=theme.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 220))
        self.hover.setZValue(20)
        self.hover.hide()
        plot.addItem(self.hover, ignoreBounds=True)

        accuracy = self.main_layout.addPlot(row=0, col=1)
        accuracy.setMenuEnabled(False)
        accuracy.hideButtons()
        accuracy.setTitle("accuracy by stage")
        accuracy.setLabel("bottom", "stage")
        accuracy.setYRange(0, 1.02)
        accuracy.showGrid(y=True, alpha=0.3)
        accuracy.addLegend(offset=(-10, -10))
        self.plots["accuracy"] = accuracy
        self.train_curve = accuracy.plot(pen=pg.mkPen(theme.SERIES[0], width=2), symbol="o", symbolSize=4,
                                         symbolBrush=theme.SERIES[0], symbolPen=None, name="train")
        self.test_curve = accuracy.plot(pen=pg.mkPen(theme.SERIES[1], width=2, style=QtCore.Qt.PenStyle.DashLine),
                                        symbol="o", symbolSize=4, symbolBrush=theme.SERIES[1], symbolPen=None,
                                        name="test")
        self.main_layout.layout.setColumnStretchFactor(0, 3)
        self.main_layout.layout.setColumnStretchFactor(1, 1)
        self.accuracy_shown = True

    def _build_compare(self) -> None:
        self.compare_layout = pg.GraphicsLayout()
        self.compare_plots: list[pg.PlotItem] = []
        self.compare_images: list[pg.ImageItem] = []
        self.compare_lines: list[pg.PlotDataItem] = []
        #: (plot index, "train" or "test", class) -> one scatter per class with a single brush and pen.
        self.compare_points: dict[tuple[int, str, int], pg.ScatterPlotItem] = {}
        for i in range(6):
            plot = self.compare_layout.addPlot(row=i // 3, col=i % 3)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            # A two-line title in a row of its own, as tall as its text: never drawn over the map.
            plot.setTitle(" ", size="10pt")
            plot.titleLabel.setMaximumHeight(COMPARE_TITLE_HEIGHT)
            plot.titleLabel.setMinimumHeight(COMPARE_TITLE_HEIGHT)
            plot.layout.setRowFixedHeight(0, COMPARE_TITLE_HEIGHT)
            # Equal preferred sizes: the grid then shares space equally, whatever each title's width.
            plot.setPreferredSize(120, 100)
            image = pg.ImageItem(axisOrder="row-major")
            line = pg.PlotDataItem(pen=pg.mkPen(theme.FOREGROUND, width=1), connect="finite")
            for item in (image, line):
                plot.addItem(item)
            self.plots[f"compare_{i}"] = plot
            self.compare_plots.append(plot)
            self.compare_images.append(image)
            self.compare_lines.append(line)
        for index in range(3):  # equal panels whatever their titles and contents
            self.compare_layout.layout.setColumnStretchFactor(index, 1)
        for index in range(2):
            self.compare_layout.layout.setRowStretchFactor(index, 1)

    # -- tool strip ----------------------------------------------------------------------------
    def tools(self) -> QtWidgets.QWidget:
        if self._tools is not None:
            return self._tools
        strip = QtWidgets.QWidget()
        # Wraps onto a second line when the window is narrow (1024 px with ten classes).
        row = FlowLayout(strip)
        row.setContentsMargins(4, 2, 4, 2)
        draw_label = QtWidgets.QLabel("Draw class:")
        draw_label.setToolTip("The class a click on the map adds (right- or Shift-click removes the nearest point)")
        row.addWidget(draw_label)
        self.class_group = QtWidgets.QButtonGroup(strip)
        self.class_group.setExclusive(True)
        self.class_buttons: list[QtWidgets.QToolButton] = []
        for label in range(MAX_CLASSES):
            button = QtWidgets.QToolButton()
            button.setCheckable(True)
            button.setText(str(label))
            button.setToolTip(f"Click on the map to add a point of class {label}")
            button.setStyleSheet(f"QToolButton {{ background: {class_color(label)}; color: white; "
                                 f"min-width: 18px; border-radius: 3px; }} QToolButton:checked {{ border: 2px solid black; }}")
            self.class_group.addButton(button, label)
            self.class_buttons.append(button)
            row.addWidget(button)
        self.class_group.idClicked.connect(self._select_class)
        self.add_class_button = QtWidgets.QToolButton(text="+")
        self.add_class_button.setToolTip("Add a class to draw with")
        self.add_class_button.clicked.connect(self.add_class)
        self.remove_class_button = QtWidgets.QToolButton(text="−")
        self.remove_class_button.setToolTip("Remove the last class and its points")
        self.remove_class_button.clicked.connect(self.remove_class)
        row.addWidget(self.add_class_button)
        row.addWidget(self.remove_class_button)
        row.addSpacing(12)
        limits = (f"at most {datasets.MAX_IMPORT_ROWS:,} rows, values within ±{datasets.MAX_ABS_VALUE:g}; "
                  "comma, semicolon or tab separated, any common encoding")
        #: Tool buttons, not push buttons: Fusion makes a push button at least 80 px wide.
        self.tool_buttons: dict[str, QtWidgets.QToolButton] = {}
        for text, tip, slot in (
            ("Clear", "Remove every point and start drawing from scratch", self.clear_points),
            ("Regenerate", "A new random draw of the generated data set", self.regenerate),
            ("Import CSV…", f"Load x, y, label rows from a CSV file ({limits})", self.import_csv_dialog),
        ):
            button = QtWidgets.QToolButton(text=text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.tool_buttons[text] = button
        # A running import: what is read, for how long, and a way out.
        self.import_status = _plain_label()
        self.import_status.setVisible(False)
        self.import_progress = QtWidgets.QProgressBar()
        self.import_progress.setRange(0, 0)  # busy: the reader cannot tell how far it is
        self.import_progress.setMaximumWidth(80)
        self.import_progress.setMaximumHeight(14)
        self.import_progress.setTextVisible(False)
        self.import_progress.setVisible(False)
        self.import_cancel = QtWidgets.QToolButton(text="Cancel")
        self.import_cancel.setToolTip("Stop importing; the current data stays")
        self.import_cancel.clicked.connect(self.cancel_import)
        self.import_cancel.setVisible(False)
        for widget in (self.import_progress, self.import_status, self.import_cancel):
            row.addWidget(widget)
        self.compare_button = QtWidgets.QToolButton(text="Compare")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("Show the chosen classifiers side by side on the same data")
        self.compare_button.setChecked(bool(self.params.get("compare")))
        self.compare_button.toggled.connect(lambda on: self.paramsRequested.emit({"compare": bool(on)}))
        row.addWidget(self.compare_button)
        row.addSpacing(8)
        #: What the points on screen are: generated, drawn or "Imported: name.csv".
        self.data_label = ElidedLabel()
        self.data_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.data_label)  # the last item: it takes the rest of its line
        self._tools = strip
        self._update_data_label()
        self._update_class_buttons()
        return strip

    def _update_class_buttons(self) -> None:
        if self._tools is None:
            return
        self.selected_class = min(self.selected_class, self.n_draw_classes - 1)
        for label, button in enumerate(self.class_buttons):
            button.setVisible(label < self.n_draw_classes)
            button.setChecked(label == self.selected_class)

    def _select_class(self, label: int) -> None:
        self.selected_class = int(label)

    def add_class(self) -> None:
        self.n_draw_classes = min(MAX_CLASSES, self.n_draw_classes + 1)
        self.selected_class = self.n_draw_classes - 1
        self._update_class_buttons()

    # -- user data -----------------------------------------------------------------------------
    def _points(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The user's points: the pending edit if one is on its way, else the shown frame's."""
        if self._pending is not _NO_EDIT and self._pending is not None:
            x, labels = self._pending_arrays
            return x, labels, list(self._pending.get("names") or [])
        if self.frame is None:
            return np.zeros((0, 2)), np.zeros(0, dtype=int), []
        data = self.frame.data
        return np.asarray(data["x"]), np.asarray(data["labels"], dtype=int), list(data["names"])

    def _data(self, x: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, Any]:
        k = int(labels.max()) + 1 if len(labels) else 0
        names = list(names) + [f"class {i}" for i in range(len(names), k)]
        # Arrays, as datasets.read_csv returns them: an edited 100,000-row import crosses to the
        # worker process in milliseconds (lists of lists took ~370 ms, holding the UI's GIL).
        data = {"x": np.array(x, dtype=np.float64).reshape(-1, 2),
                "labels": np.array(labels, dtype=np.int64).reshape(-1), "names": names}
        if self._source is not None:  # edited imported data keeps its column names
            data.update({key: self._source[key] for key in ("columns", "label_column", "file") if key in self._source})
            data["edited"] = True
        return data

    def request_data(self, data: dict[str, Any] | None) -> None:
        """Ask the window for new user data (None: generated data), remembered until a frame shows it."""
        self._pending = data
        if data is not None:  # converted once: an import has up to 100,000 rows
            self._pending_arrays = (np.asarray(data["x"], dtype=float).reshape(-1, 2),
                                    np.asarray(data["labels"], dtype=int))
        # Every edit asked for since a frame last showed the user's data: a frame of one of them
        # is on the way to the latest, one of none of them replaced the data from elsewhere.
        self._sent = self._sent[-63:] + [None if data is None else self._pending_arrays]
        if data is None:
            self._source = None
        elif "file" in data:
            self._source = {key: data[key] for key in ("file", "columns", "label_column", "read_as", "edited")
                            if key in data}
        else:
            self._source = None
        if not self._compare_mode and data is not None:
            self._show_pending_points()
        self._update_data_label()
        self.dataRequested.emit(data)

    def _pending_settled(self, frame: Frame) -> bool:
        """True if ``frame`` ends the pending edit: it shows it, or data that came from elsewhere
        (not one of the edits asked for). A frame of an earlier edit, or of data the run could not
        use (no points: too few, one class), leaves the edit pending."""
        data = frame.data
        if self._pending is None:
            return not data["user_data"]
        if not data["user_data"]:
            return False  # still the generated data of before the edit
        shown_x, shown_labels = np.asarray(data["x"]), np.asarray(data["labels"])

        def same(sent) -> bool:
            return (sent is not None and sent[0].shape == shown_x.shape and np.array_equal(sent[0], shown_x)
                    and np.array_equal(sent[1], shown_labels))

        if same(self._pending_arrays):
            return True
        if not len(shown_x) or any(same(sent) for sent in self._sent[:-1]):
            return False
        self._source = None  # another data set: not the file this view imported
        return True

    def add_point(self, x: float, y: float, label: int | None = None) -> None:
        points, labels, names = self._points()
        label = self.selected_class if label is None else int(label)
        self.request_data(self._data(np.vstack([points, [[x, y]]]), np.append(labels, label), names))

    def remove_nearest(self, x: float, y: float) -> None:
        points, labels, names = self._points()
        if not len(points) or self.frame is None:
            return
        extent = np.asarray(self.frame.data["extent"])
        scale = np.array([extent[1] - extent[0], extent[3] - extent[2]])
        nearest = int(np.argmin((((points - [x, y]) / scale) ** 2).sum(axis=1)))
        keep = np.arange(len(points)) != nearest
        self.request_data(self._data(points[keep], labels[keep], names))

    def clear_points(self) -> None:
        self._source = None
        self.request_data({"x": np.zeros((0, 2)), "labels": np.zeros(0, dtype=np.int64), "names": []})

    def regenerate(self) -> None:
        generated = self._pending is None or (self._pending is _NO_EDIT and self.frame is not None
                                              and not self.frame.data["user_data"])
        if not generated:
            self.request_data(None)
        seed = (int(self.params.get("data_seed", 0)) + 1) % 100000
        self.paramsRequested.emit({"data_seed": seed})

    def remove_class(self) -> None:
        if self.n_draw_classes <= 2:
            self.messageRequested.emit("Two classes are the minimum")
            return
        self.n_draw_classes -= 1
        removed = self.n_draw_classes
        self._update_class_buttons()
        x, labels, names = self._points()
        if (labels == removed).any():
            keep = labels != removed
            self.request_data(self._data(x[keep], labels[keep], names))

    # -- CSV import ----------------------------------------------------------------------------
    def import_csv(self, path: str) -> bool:
        """Read a CSV now (on the calling thread) and ask for it as the data; on a problem emit
        messageRequested and change nothing. The Import button uses :meth:`start_import`."""
        outcome, result = _read_csv_job(str(path), float(self.params.get("test_fraction", 0.3)))
        return self._use_import(str(path), outcome, result, dialog=False)

    def start_import(self, path: str) -> None:
        """Read a CSV in the background (the view's job runner); the tool strip shows it running."""
        self._import_path = str(path)
        self._runner.submit("import", _read_csv_job, str(path), float(self.params.get("test_fraction", 0.3)))
        self._import_clock.start()
        self._import_timer.start()
        self._import_tick()
        if self._tools is not None:
            for widget in (self.import_status, self.import_progress, self.import_cancel):
                widget.setVisible(True)
            self.tool_buttons["Import CSV…"].setEnabled(False)

    @property
    def importing(self) -> bool:
        return self._import_path is not None

    def cancel_import(self) -> None:
        """Forget the running import (its result is dropped); the current data stays."""
        if self._import_path is None:
            return
        cancel = getattr(self._runner, "cancel", None)
        if cancel is not None:
            cancel("import")
        name = Path(self._import_path).name
        self._end_import()
        self.messageRequested.emit(f"Import of {name} cancelled; the data did not change")

    def _import_tick(self) -> None:
        if self._tools is not None and self._import_path is not None:
            seconds = self._import_clock.elapsed() / 1000.0
            self.import_status.setText(f"Reading {Path(self._import_path).name}… {seconds:.1f} s")

    def _end_import(self) -> None:
        self._import_path = None
        self._import_timer.stop()
        if self._tools is not None:
            for widget in (self.import_status, self.import_progress, self.import_cancel):
                widget.setVisible(False)
            self.tool_buttons["Import CSV…"].setEnabled(True)

    def _import_finished(self, key: str, result) -> None:
        if key != "import" or self._import_path is None:
            return
        path = self._import_path
        self._end_import()
        self._use_import(path, *result, dialog=True)

    def _import_failed(self, key: str, message: str) -> None:
        if key != "import" or self._import_path is None:
            return
        path = self._import_path
        self._end_import()
        self._use_import(path, "error", message, dialog=True)

    def _use_import(self, path: str, outcome: str, result, dialog: bool) -> bool:
        name = Path(path).name
        if outcome != "ok":
            text = f"CSV import of {name}: {result}"
            self.messageRequested.emit(text)
            if dialog:
                self._show_error("Cannot import CSV", text)
            return False
        data = result
        data["file"] = name
        self.n_draw_classes = max(2, len(data["names"]))
        self._update_class_buttons()
        self.request_data(data)
        fit_limit = int(self.params.get("fit_max_points", getattr(scene_sim, "MAX_FIT_POINTS", 0)) or 0)
        n_train = round(len(data["x"]) * (1 - float(self.params.get("test_fraction", 0.3))))
        note = (f"; models are fitted on a random {fit_limit:,} of the ≈{n_train:,} training points "
                "('Fit on at most')" if fit_limit and n_train > fit_limit else "")
        self.messageRequested.emit(f"Imported {name}: {len(data['x']):,} rows, {len(data['names'])} classes "
                                   f"(read as {data.get('read_as', 'UTF-8')}){note}")
        return True

    def _update_data_label(self) -> None:
        if self._tools is None:
            return
        frame = self.frame
        if self._source is not None:
            text = f"Imported: {self._source['file']}" + (" (edited)" if self._source.get("edited") else "")
            tip = f"{self._source['file']}, read as {self._source['read_as']}" if "read_as" in self._source else ""
        elif (self._pending not in (_NO_EDIT, None)) or (self._pending is _NO_EDIT and frame is not None
                                                        and frame.data["user_data"]):
            count = len(self._points()[0])
            text, tip = f"Your points: {count}", "Regenerate returns to generated data"
        else:
            n = int(self.params.get("n_samples", 0))
            name = self.params.get("dataset", "")
            label = dict(zip(datasets.DATASETS, datasets.DATASET_LABELS)).get(name, name)
            text, tip = f"Generated: {label}, {n:,} points", "Draw or import points to use your own data"
        self.data_label.setText(text)
        whole = f"{text}: {tip}" if tip else text
        self.data_label.setToolTip(f"<p>{html.escape(whole)}</p>")

    # -- mouse -----------------------------------------------------------------------------------
    def _clicked(self, event) -> None:
        if self._compare_mode:
            for i, plot in enumerate(self.compare_plots):
                if plot.isVisible() and plot.sceneBoundingRect().contains(event.scenePos()):
                    names = self.frame.data["compare_names"] if self.frame is not None else ()
                    if i < len(names):
                        self.paramsRequested.emit({"classifier": names[i], "compare": False})
                    return
            return
        vb = self.plots["map"].vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        if self.legend.isVisible() and self.legend.sceneBoundingRect().contains(event.scenePos()):
            return  # a click on the legend is not a point
        point = vb.mapSceneToView(event.scenePos())
        remove = (event.button() == QtCore.Qt.MouseButton.RightButton
                  or bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))
        if remove:
            self.remove_nearest(point.x(), point.y())
        elif event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.add_point(point.x(), point.y())
        event.accept()

    def _moved(self, scene_pos) -> None:
        if self._compare_mode or self.frame is None or self._shown_proba is None:
            return
        vb = self.plots["map"].vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            self.clear_hover()
            return
        point = vb.mapSceneToView(scene_pos)
        self.hover_text(point.x(), point.y())

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Leave:
            self.clear_hover()  # the mouse left the plots: a read-out would describe nothing
        return False

    def clear_hover(self) -> None:
        self._hover_at = None
        if self.hover.isVisible():
            self.hover.hide()

    def map_meaning(self) -> str:
        """What the map's values are, as the hover read-out names them (the frame's score_kind)."""
        kind = str(self.frame.data.get("score_kind", "")) if self.frame is not None else ""
        if not kind:  # a frame from before score_kind: only the SVM's map is not a probability
            kind = ("sigmoid of the SVM decision function (not a calibrated probability)"
                    if self.params.get("classifier") == "svm" else "probability")
        return kind if kind.startswith("probability") else f"score: {kind}"

    def hover_text(self, x: float, y: float) -> str:
        """Show (and return) what the map says at (x, y): the value of each class."""
        proba = self._shown_proba
        if self.frame is None or proba is None:
            self.clear_hover()
            return ""
        classes = self.frame.data["classes"]
        x0, x1, y0, y1 = self.frame.data["extent"]
        if not len(classes) or not (x0 <= x <= x1 and y0 <= y <= y1):
            self.clear_hover()
            return ""
        h, w = proba.shape[1:]
        col = min(w - 1, int((x - x0) / (x1 - x0) * w))
        row = min(h - 1, int((y - y0) / (y1 - y0) * h))
        names = list(self.frame.data["names"])
        lines = self.map_meaning().replace(" (", "\n(").split("\n")  # the SVM's note on a line of its own
        lines += [f"{names[c] if c < len(names) else c}: {proba[j, row, col]:.2f}" for j, c in enumerate(classes)]
        text = "\n".join(lines)
        self._hover_at = (x, y)
        self.hover.setText(text)  # TextItem.setText is plain text: class names are shown as typed
        # Open towards the middle of the map, so the read-out is never cut by the plot's edge.
        self.hover.setAnchor((1.0 if x > (x0 + x1) / 2 else 0.0, 1.0 if y < (y0 + y1) / 2 else 0.0))
        self.hover.setPos(x, y)
        self.hover.show()
        return text

    # -- showing -----------------------------------------------------------------------------------
    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)
        if self._tools is not None:
            self.compare_button.blockSignals(True)
            self.compare_button.setChecked(bool(params.get("compare")))
            self.compare_button.blockSignals(False)

    def _set_mode(self, compare: bool) -> None:
        if compare == self._compare_mode:
            return
        self.widget.ci.removeItem(self.compare_layout if self._compare_mode else self.main_layout)
        self.widget.ci.addItem(self.compare_layout if compare else self.main_layout)
        self._compare_mode = compare
        self.clear_hover()

    def show(self, frame: Frame) -> None:
        self.frame = frame
        if "sklearn" in sys.modules:  # a run's models were unpickled here: their modules are loaded
            _freeze_heap("sklearn")
        data = frame.data
        if self._pending is not _NO_EDIT and self._pending_settled(frame):
            self._pending = _NO_EDIT  # the frame is the truth again
            self._sent = []
        if not data["user_data"] and self._pending is _NO_EDIT:
            self._source = None
        labels = np.asarray(data["labels"])
        present = int(labels.max()) + 1 if len(labels) else 0
        if present > self.n_draw_classes:
            self.n_draw_classes = min(MAX_CLASSES, present)
            self._update_class_buttons()
        compare = len(data["compare_names"]) > 0
        self._set_mode(compare)
        if compare:
            self._show_compare(frame)
        else:
            self._show_main(frame)
        self._update_data_label()

    def _changed(self, name: str, *values) -> bool:
        """True (and remember ``values``) unless they equal what ``name`` last showed. Items are
        only touched when their data changes: any setData, setRange or setText repaints them."""
        if same_values(self._last.get(name), values):
            return False
        self._last[name] = values
        return True

    def _extent_rect(self, extent) -> QtCore.QRectF:
        x0, x1, y0, y1 = (float(v) for v in extent)
        return QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)

    def _show_pending_points(self) -> None:
        """Draw the user's points at once, before the run they start is built: a point of the
        shown frame keeps its test outline, a new one is drawn as training data until then."""
        x, labels, _ = self._points()
        test = np.zeros(len(x), dtype=bool)
        if self.frame is not None and self.frame.data["user_data"]:
            shown, shown_test = np.asarray(self.frame.data["x"]), np.asarray(self.frame.data["test"], dtype=bool)
            n = min(len(x), len(shown))
            same = np.all(x[:n] == shown[:n], axis=1) if n else np.zeros(0, dtype=bool)
            test[:n] = shown_test[:n] & same
        self._draw_points(x, labels, test)

    def _draw_points(self, x: np.ndarray, labels: np.ndarray, test: np.ndarray) -> None:
        if len(x) > MAX_DRAWN_POINTS:
            index = drawn_index(len(x))
            x, labels, test = x[index], labels[index], test[index]
        if self._changed("points", x, labels, test):
            for label in range(MAX_CLASSES):
                mine = labels == label
                _set_points(self.train_items[label], x[mine & ~test])
                _set_points(self.test_items[label], x[mine & test])

    def _show_points(self, data) -> None:
        if self._pending is not _NO_EDIT and self._pending is not None:
            self._show_pending_points()  # the run for the user's latest edit is on its way
        else:
            self._draw_points(np.asarray(data["x"]), np.asarray(data["labels"]),
                              np.asarray(data["test"], dtype=bool))
        x = np.asarray(data["x"])
        labels = np.asarray(data["labels"])
        predicted = np.asarray(data["predicted"])
        if self._changed("errors", x, labels, predicted):
            index = drawn_index(len(x))  # crosses on the drawn points only
            x, labels, predicted = x[index], labels[index], predicted[index]
            wrong = x[(predicted >= 0) & (predicted != labels)] if len(x) else np.zeros((0, 2))
            _set_points(self.error_items, wrong)
        support = np.asarray(data["support_vectors"]).reshape(-1, 2)
        if self._changed("support", support):
            _set_points(self.support_items, support[drawn_index(len(support))])

    def _show_main(self, frame: Frame) -> None:
        data = frame.data
        plot = self.plots["map"]
        extent = data["extent"]
        rect = self._extent_rect(extent)
        if plot.vb.targetRect() != rect:  # only when it differs: setRange invalidates the axes
            plot.setRange(rect, padding=0)
        key = self._frame_key(frame)
        fine = self._fine.get(key)
        self._shown_key = key
        if fine is not None:
            if self._applied != (key, True):
                self._apply_map(key, True, *fine, rect)
        elif key is None or self._applied != (key, False):
            coarse = self._coarse.get(key) if key is not None else None
            if coarse is None:
                proba = np.asarray(data["proba"])
                coarse = (proba, *render(proba, data["classes"], extent))
                if key is not None:
                    self._coarse[key] = coarse
                    while len(self._coarse) > 64:
                        self._coarse.popitem(last=False)
            self._apply_map(key, False, *coarse, rect)
        splits = np.asarray(data["splits"]).reshape(-1, 4)
        if self._changed("splits", splits):
            self.split_lines.setData(splits[:, [0, 2]].ravel(), splits[:, [1, 3]].ravel())
            self.split_lines.setVisible(len(splits) > 0)
        self._show_points(data)
        train_curve = np.asarray(data["train_accuracy_curve"])
        test_curve = np.asarray(data["test_accuracy_curve"])
        if self._changed("curves", train_curve, test_curve):
            stages = np.arange(1, len(train_curve) + 1)
            for item, curve in ((self.train_curve, train_curve), (self.test_curve, test_curve)):
                finite = np.isfinite(curve)  # no model (or no test points): nothing to plot
                item.setData(stages[finite], curve[finite])
        # One stage is one dot: the panel only earns its space when a model is built in stages.
        self._set_accuracy_shown(int(data["n_stages"]) > 1)
        n_stages = max(2, int(data["n_stages"]))
        accuracy = self.plots["accuracy"]
        if accuracy.vb.targetRange()[0] != [0.5, n_stages + 0.5]:
            accuracy.setXRange(0.5, n_stages + 0.5, padding=0)
        columns = list(self._source.get("columns", ())) if self._source is not None else []
        axis_names = tuple(columns[:2]) if len(columns) >= 2 else ("x₁", "x₂")
        if self._changed("axis_names", axis_names):
            plot.setLabel("bottom", html.escape(str(axis_names[0])))  # axis labels are HTML
            plot.setLabel("left", html.escape(str(axis_names[1])))
        self._show_legend(data)
        text = f"train {data['train_accuracy']:.1%}   test {data['test_accuracy']:.1%}"
        if not np.isfinite(data["train_accuracy"]):
            text = "no model"
        label = models.label(self.params.get("classifier", "svm")) if "classifier" in self.params else ""
        text = f"{label}\n{text}" if label else text
        if self._source is not None:  # the tool strip may be too narrow to show it
            text = f"Imported: {self._source['file']}\n{text}"
        if len(data["x"]) > MAX_DRAWN_POINTS:
            text += f"\nshowing {MAX_DRAWN_POINTS:,} of {len(data['x']):,} points"
        if self._changed("corner", text):
            self.corner.setText(text)
        problem = frame.message if not len(data["classes"]) else ""
        if self._changed("notice", problem):
            self.notice.setText(problem)
            self.notice.setVisible(bool(problem))
        if key is not None and fine is None:
            self._idle.start()

    def _set_accuracy_shown(self, shown: bool) -> None:
        if shown == self.accuracy_shown:
            return
        accuracy = self.plots["accuracy"]
        if shown:
            self.main_layout.addItem(accuracy, row=0, col=1)
            self.main_layout.layout.setColumnStretchFactor(1, 1)
        else:
            self.main_layout.removeItem(accuracy)
            self.main_layout.layout.setColumnStretchFactor(1, 0)
        accuracy.setVisible(shown)
        self.accuracy_shown = shown

    def legend_entries(self, data) -> tuple[str, ...]:
        """The legend's rows for this frame: each class present, then the markers on screen."""
        x, labels, names = self._points() if self._pending is not _NO_EDIT else (
            np.asarray(data["x"]), np.asarray(data["labels"], dtype=int), list(data["names"]))
        entries = [f"class:{k}:{names[k] if k < len(names) else f'class {k}'}"
                   for k in np.unique(labels).tolist() if k < MAX_CLASSES]
        if self.test_items and any(item.isVisible() for item in self.test_items):
            entries.append("test")
        if self.error_items.isVisible():
            entries.append("error")
        if self.support_items.isVisible():
            entries.append("support")
        return tuple(entries)

    def _show_legend(self, data) -> None:
        entries = self.legend_entries(data)
        if not self._changed("legend", entries):
            return
        texts = {"test": "test point (outlined)", "error": "misclassified", "support": "support vector"}
        self.legend.clear()
        for entry in entries:
            if entry.startswith("class:"):
                _, k, name = entry.split(":", 2)
                sample, text = self._class_samples[int(k)], name
            else:
                sample, text = self._legend_samples[entry], texts[entry]
            self.legend.addItem(sample, html.escape(text))  # legend labels are HTML: show names as typed
        for item_sample, _label in self.legend.items:
            item_sample.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)  # no click-to-hide
        self.legend.setColumnCount(2 if len(entries) > 7 else 1)
        self.legend.setVisible(bool(entries))

    def legend_texts(self) -> list[str]:
        """The legend's labels as shown (plain text), for tests and exports."""
        return [label.item.toPlainText() for _sample, label in self.legend.items]

    def _apply_map(self, key, fine: bool, proba, rgba, lines, rect) -> None:
        self._shown_proba = proba
        self._applied = (key, fine)
        self.image.setImage(rgba, levels=None, autoLevels=False)
        # setRect scales by the image's pixel size: redo it when the size (coarse/fine) changes.
        if self._changed("image_rect", rect.x(), rect.y(), rect.width(), rect.height(), rgba.shape[:2]):
            self.image.setRect(rect)
        self.boundary.setData(*lines)
        if self._hover_at is not None and self.hover.isVisible():
            self.hover_text(*self._hover_at)  # the read-out describes the map now shown

    def _compare_points(self, i: int, kind: str, label: int) -> pg.ScatterPlotItem:
        """The compare plot's scatter of one class (train or test), made on first use."""
        item = self.compare_points.get((i, kind, label))
        if item is None:
            color = class_color(label)
            if kind == "train":
                item = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(color), pen=pg.mkPen("w", width=0.5),
                                          antialias=False)
            else:
                item = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(255, 255, 255, 200),
                                          pen=pg.mkPen(color, width=1.5), antialias=False)
            item.setZValue(1)
            self.compare_plots[i].addItem(item)
            self.compare_points[(i, kind, label)] = item
        return item

    def _show_compare(self, frame: Frame) -> None:
        """Update the grid in time slices: the plots that fit in COMPARE_SLICE_MS now, the rest on
        the next turns of the event loop, so a new data set never stalls the UI in one go."""
        self._compare_frame = frame
        self._compare_queue = list(range(len(self.compare_plots)))
        self._compare_slice()

    @property
    def compare_pending(self) -> bool:
        """True while compare plots of the shown frame still wait for their slice."""
        return bool(self._compare_queue)

    def _compare_slice(self) -> None:
        clock = QtCore.QElapsedTimer()
        clock.start()
        first = True
        while self._compare_queue and (first or clock.elapsed() < COMPARE_SLICE_MS):
            first = False
            self._show_compare_plot(self._compare_queue.pop(0), self._compare_frame)
        if self._compare_queue:
            QtCore.QTimer.singleShot(0, self._compare_slice)

    def settle(self) -> None:
        while self._compare_queue:
            self._show_compare_plot(self._compare_queue.pop(0), self._compare_frame)
        if not self._compare_mode:
            self.wait_fine()

    def _show_compare_plot(self, i: int, frame: Frame) -> None:
        if frame is not self.frame:
            return  # a newer frame took over; its own queue draws this plot
        data = frame.data
        names = list(data["compare_names"])
        plot = self.compare_plots[i]
        if i >= len(names):
            if plot.isVisible():
                plot.hide()
            return
        if not plot.isVisible():
            plot.show()
        maps = data["compare_proba"]
        classes = np.asarray(data["classes"])
        extent = np.asarray(data["extent"], dtype=float)
        rect = self._extent_rect(extent)
        if self._changed(f"compare_map_{i}", maps[i], classes, extent):
            rgba, lines = render(maps[i], classes, extent)
            self.compare_images[i].setImage(rgba, levels=None, autoLevels=False)
            self.compare_images[i].setRect(rect)
            self.compare_lines[i].setData(*lines)
        x = np.asarray(data["x"])
        labels = np.asarray(data["labels"])
        test = np.asarray(data["test"], dtype=bool)
        if self._changed(f"compare_points_{i}", x, labels, test):
            present = set(np.unique(labels).tolist())
            index = drawn_index(len(x))
            x, labels, test = x[index], labels[index], test[index]
            for label in range(MAX_CLASSES):
                mine = labels == label
                for kind, chosen in (("train", mine & ~test), ("test", mine & test)):
                    if label in present or (i, kind, label) in self.compare_points:
                        _set_points(self._compare_points(i, kind, label), x[chosen])
        accuracy = np.asarray(data["compare_accuracy"])
        title = (f"{models.label(names[i])}<br><span style='font-size:9pt'>train {accuracy[i, 0]:.0%} · "
                 f"test {accuracy[i, 1]:.0%}</span>")
        if self._changed(f"compare_title_{i}", title):
            plot.titleLabel.setText(title, size="10pt")  # not setTitle: it would reset the row height
            plot.titleLabel.setMinimumWidth(0)  # a long title must not widen its column: panels stay equal
        if plot.vb.targetRect() != rect:
            plot.setRange(rect, padding=0)

    # -- fine map when idle --------------------------------------------------------------------
    @staticmethod
    def _frame_key(frame: Frame):
        state = frame.state
        refiner = getattr(state, "refiner", None)
        return None if refiner is None else (_refiner_id(refiner), int(state.stage))

    def _request_fine(self) -> None:
        frame = self.frame
        key = None if frame is None or self._compare_mode else self._frame_key(frame)
        if key is None or key in self._fine:
            self._runner.cancel("refine")  # a map for another frame is no longer wanted: stop it
            return
        # In a worker process: a newer request (or close()) stops this one at once.
        self._runner.submit("refine", _refine_job, key, frame.state.refiner, int(frame.state.stage),
                            np.asarray(frame.data["classes"]))

    def _refined(self, _job: str, result) -> None:
        if _job != "refine":
            return  # the CSV import's result has its own slot (_import_finished)
        key, proba, rgba, lines = result
        self._fine[key] = (proba, rgba, lines)
        while len(self._fine) > 24:
            self._fine.popitem(last=False)
        if key == self._shown_key and self.frame is not None and not self._compare_mode:
            self._apply_map(key, True, proba, rgba, lines, self._extent_rect(self.frame.data["extent"]))

    def wait_fine(self, timeout_ms: int = 10000) -> bool:
        """Compute the fine map of the shown frame now (headless rendering, tests); True if shown."""
        frame = self.frame
        key = None if frame is None else self._frame_key(frame)
        if key is None:
            return False
        self._idle.stop()
        if key not in self._fine:
            self._refined("refine", _refine_job(key, frame.state.refiner, int(frame.state.stage),
                                                np.asarray(frame.data["classes"])))
        elif self._applied != (key, True):
            self._apply_map(key, True, *self._fine[key], self._extent_rect(frame.data["extent"]))
        return True

    def close(self) -> None:
        self._compare_queue.clear()
        self._idle.stop()
        self._runner.shutdown()  # stops its worker processes; never waits for a fine map
        super().close()
