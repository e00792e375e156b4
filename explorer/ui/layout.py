"""Window layout that adapts to the window's size: the three-pane splitter and the scene list."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

#: Scene list and parameter panel widths as shares of the window width, with their limits (px).
SCENE_LIST_SHARE, SCENE_LIST_LIMITS = 0.16, (150, 240)
PANEL_SHARE, PANEL_LIMITS = 0.27, (300, 430)


def pane_widths(total: int, panel_minimum: int = PANEL_LIMITS[0]) -> tuple[int, int, int]:
    """(scene list, plots, panel) widths for a splitter ``total`` pixels wide: the side panes take a
    share of the width within their limits, the plots the rest."""
    scene_list = int(min(max(total * SCENE_LIST_SHARE, SCENE_LIST_LIMITS[0]), SCENE_LIST_LIMITS[1]))
    panel = int(min(max(total * PANEL_SHARE, PANEL_LIMITS[0], panel_minimum), max(PANEL_LIMITS[1], panel_minimum)))
    return scene_list, max(total - scene_list - panel, 0), panel


class AdaptiveSplitter(QtWidgets.QSplitter):
    """Scene list | plots | panel. Until the user drags a handle, every resize gives the side panes
    their share of the new width (pane_widths), so a small window keeps its room for the plots;
    after a drag the user's sizes stand (Qt then gives the plots the change)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(QtCore.Qt.Orientation.Horizontal, parent)
        self.user_sized = False
        self.splitterMoved.connect(self._moved)
        self._fitting = False

    def _moved(self, _position: int, _index: int) -> None:
        if not self._fitting:
            self.user_sized = True

    def fit(self) -> None:
        if self.user_sized or self.count() != 3:
            return
        handles = sum(self.handleWidth() for _ in range(self.count() - 1))
        panel = self.widget(2)
        self._fitting = True
        try:
            self.setSizes(list(pane_widths(self.width() - handles, panel.minimumSizeHint().width())))
        finally:
            self._fitting = False

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit()


class SceneList(QtWidgets.QListWidget):
    """The scene list: one word-wrapped label per scene whose row height follows the list's width,
    so a narrow list shows every summary in full instead of cutting it off."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setSpacing(2)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def add_scene(self, scene_id: str, title: str, summary: str) -> QtWidgets.QListWidgetItem:
        item = QtWidgets.QListWidgetItem()
        item.setData(QtCore.Qt.ItemDataRole.UserRole, scene_id)
        item.setData(QtCore.Qt.ItemDataRole.AccessibleTextRole, f"{title}: {summary}")
        item.setToolTip(summary)
        label = QtWidgets.QLabel()
        label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        label.setText(f"<b>{_escape(title)}</b><br><small>{_escape(summary)}</small>")
        label.setWordWrap(True)
        label.setContentsMargins(6, 4, 6, 4)
        label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.addItem(item)
        self.setItemWidget(item, label)
        self._fit_rows()
        return item

    def _fit_rows(self) -> None:
        width = max(self.viewport().width() - 2 * self.spacing(), 80)
        for row in range(self.count()):
            item = self.item(row)
            label = self.itemWidget(item)
            if label is not None:
                item.setSizeHint(QtCore.QSize(width, label.heightForWidth(width) + 4))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_rows()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
