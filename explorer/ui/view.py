"""Base class of every scene's pyqtgraph view.

A view creates its items once; ``show(frame)`` only updates their data. Heavy derived data
(a surface image, a probability grid) is computed by ``prepare(params)``, a pure function the
window runs in a worker (explorer.jobs) and the headless renderer runs inline.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.scene import Frame, Scene
from explorer.ui import theme


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``value``: axis limits that change rarely."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10.0 * power


def same_values(old: tuple | None, new: tuple) -> bool:
    """True if every value of ``new`` equals the one in ``old`` (arrays by value, NaN equal to NaN):
    a view redraws an item only when what it shows changed."""
    if old is None or len(old) != len(new):
        return False
    for a, b in zip(old, new):
        if a is b:
            continue
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
                return False
            if not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
                return False
        elif a != b:
            return False
    return True


def cache_static(*items: QtWidgets.QGraphicsItem) -> None:
    """Repaint these items from a pixmap until they change (export draws them directly, see
    explorer.export): for layers that stay put while trails and points move over them."""
    for item in items:
        item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def place_cells(layout, cells: Mapping[Any, tuple[int, int, int, int] | None],
                placed: dict[Any, tuple[int, int, int, int] | None]) -> None:
    """Put each item of a GraphicsLayout in its (row, col, rowspan, colspan) cell (None: out of the
    layout), moving only the items whose cell changed since ``placed`` (updated here): every
    layout change re-lays out all plots, so a resize that changes nothing must cost nothing."""
    moved = [item for item, cell in cells.items() if placed.get(item) != cell]
    for item in moved:
        if item in layout.items:
            layout.removeItem(item)
    for item in moved:
        if cells[item] is not None:
            row, col, rowspan, colspan = cells[item]
            layout.addItem(item, row=row, col=col, rowspan=rowspan, colspan=colspan)
        placed[item] = cells[item]


def square_main_plot(plot, wide: bool, width: float, height: float, wide_share: float, tall_share: float) -> None:
    """Size a view's main (square-ish) plot: in a wide view as wide as the view is high (at most
    ``wide_share`` of its width), in a tall one as high as it is wide (at most ``tall_share`` of its height)."""
    if wide:
        size = int(max(120, min(height - 8, width * wide_share)))
        plot.setMinimumWidth(size)
        plot.setMaximumWidth(size)
        plot.setMinimumHeight(0)
        plot.setMaximumHeight(1e6)
    else:
        size = int(max(120, min(width - 8, height * tall_share)))
        plot.setMinimumWidth(0)
        plot.setMaximumWidth(1e6)
        plot.setMinimumHeight(size)
        plot.setMaximumHeight(size)


def corner_text(plot: pg.PlotItem, alpha: int = 215, pos: tuple[float, float] = (4, 4),
                point_size: float = 8.5) -> pg.TextItem:
    """A small read-out text pinned to a plot's top-left corner (in pixels: it stays put when the plot's
    range changes), on a translucent white box."""
    font = QtGui.QFont()
    font.setPointSizeF(point_size)
    item = pg.TextItem(anchor=(0, 0), color=theme.FOREGROUND, fill=pg.mkBrush(255, 255, 255, alpha))
    item.setParentItem(plot.vb)
    item.setPos(*pos)
    item.setFont(font)
    item.setZValue(30)
    return item


class UniformScatter(pg.ScatterPlotItem):
    """A scatter whose points all have the item's one style (setData with positions only): the symbol
    atlas is looked up once instead of once per point (pyqtgraph's per-point style keys took ~4.5 ms
    per 10,000 points in setData)."""

    def updateSpots(self, dataSet=None) -> None:  # noqa: N802, N803 - pyqtgraph's names
        if dataSet is None:
            dataSet = self.data  # noqa: N806
        if not (self.opts["pxMode"] and self.opts["useCache"]) or not len(dataSet):
            super().updateSpots(dataSet)
            return
        mask = dataSet["sourceRect"]["w"] == 0
        if np.any(mask):
            style = (self.opts["symbol"], self.opts["size"], self.opts["pen"], self.opts["brush"])
            dataSet["sourceRect"][mask] = self.fragmentAtlas[[style]][0]
            self._maybeRebuildAtlas()
            self._updateMaxSpotSizes(data=dataSet)
            self.invalidate()
        else:
            self._updateMaxSpotSizes(data=dataSet)


class ToolStrip(QtWidgets.QWidget):
    """A scene's tool strip: a row of tool buttons, kept by their text in ``buttons``."""

    def __init__(self) -> None:
        super().__init__()
        self.row = QtWidgets.QHBoxLayout(self)
        self.row.setContentsMargins(4, 2, 4, 2)
        self.row.setSpacing(4)
        self.buttons: dict[str, QtWidgets.QToolButton] = {}

    def button(self, text: str, tip: str, slot, checkable: bool = False) -> QtWidgets.QToolButton:
        """Add a button (a checkable one calls ``slot`` with its state on every toggle)."""
        b = QtWidgets.QToolButton(text=text)
        b.setToolTip(tip)
        b.setCheckable(checkable)
        (b.toggled if checkable else b.clicked).connect(slot)
        self.row.addWidget(b)
        self.buttons[text] = b
        return b


class SceneView(QtCore.QObject):
    #: The view asks the window to change parameters (e.g. a click sets the start point).
    paramsRequested = QtCore.Signal(dict)
    #: The view asks the window to replace the user data (drawn/imported points); JSON-able.
    dataRequested = QtCore.Signal(object)
    #: A one-line message for the status bar (e.g. "CSV row 4, column x: not a number").
    messageRequested = QtCore.Signal(str)

    def __init__(self, scene: Scene, params: Mapping[str, Any]) -> None:
        super().__init__()
        theme.setup()
        self.scene = scene
        self.params = dict(params)
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setMinimumSize(320, 240)
        #: Named plots, for export and tests.
        self.plots: dict[str, pg.PlotItem] = {}

    # -- the contract ----------------------------------------------------------------------
    @staticmethod
    def prepare(params: Mapping[str, Any], seed: int) -> Any:
        """Heavy, pure-NumPy work for these parameters and seed (runs off the UI thread). Default: none."""
        return None

    @staticmethod
    def prepare_key(params: Mapping[str, Any], seed: int) -> Any:
        """A hashable key of what ``prepare`` depends on; None means nothing to prepare."""
        return None

    def apply_prepared(self, data: Any) -> None:
        """Show the result of ``prepare`` (UI thread; only setData/setImage)."""

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Parameters changed (a new run or a live change)."""
        self.params = dict(params)

    def show(self, frame: Frame) -> None:  # pragma: no cover - every view overrides
        raise NotImplementedError

    def settle(self) -> None:
        """Finish now any drawing the view defers to later event-loop turns or workers (time-sliced
        updates, a finer map when idle), so an export or a headless render shows it all."""

    def resized(self, width: float, height: float) -> None:
        """The view's widget got this size (a view that lays itself out by size overrides this and
        installs the view as its widget's event filter)."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget and event.type() == QtCore.QEvent.Type.Resize:
            self.resized(event.size().width(), event.size().height())
        return False

    def tools(self) -> QtWidgets.QWidget | None:
        """An optional scene-specific tool strip the window shows above the plots."""
        return None

    def cache_axes(self) -> None:
        """Keep every axis (ticks, labels, grid) as a pixmap: axes are the costliest items to
        repaint (~7 ms each here) and change only when a plot's range changes."""
        cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        for item in self.widget.scene().items():
            # Setting the mode again would throw the pixmap away: only where it is missing.
            if isinstance(item, pg.AxisItem) and item.cacheMode() != cached:
                cache_static(item)

    # -- shared by the scenes that import points ------------------------------------------
    def _show_error(self, title: str, text: str) -> None:
        """A non-blocking warning dialog whose text is plain (it quotes file contents); a newer one
        replaces it."""
        if getattr(self, "error_box", None) is not None:
            self.error_box.close()
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, text,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self.widget)
        box.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result, box=box: self._forget_error_box(box))
        self.error_box = box
        box.open()

    def _forget_error_box(self, box) -> None:
        if getattr(self, "error_box", None) is box:
            self.error_box = None

    def import_csv_dialog(self) -> None:
        """Ask for a CSV file and hand it to the scene's ``start_import`` (read off the UI thread)."""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.widget, "Import CSV", "",
                                                        "CSV files (*.csv *.tsv *.txt);;All files (*)")
        if path:
            self.start_import(path)

    def start_import(self, path: str) -> None:  # pragma: no cover - scenes with Import CSV override
        raise NotImplementedError

    # -- export --------------------------------------------------------------------------
    def export_scene(self) -> QtWidgets.QGraphicsScene:
        return self.widget.scene()

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()
