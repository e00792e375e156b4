"""Real mouse events on a view's plots (the window tests of the scenes that are dragged: K-Means
centroids, the PCA axis and 3-D view, the gradient-descent 3-D view)."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def widget_point(view, box, point):
    """The widget position of a data point of view box ``box``."""
    return view.widget.mapFromScene(box.mapViewToScene(QtCore.QPointF(*point)))


def mouse(view, kind, pos, buttons):
    """Send one mouse event (press, move or release of the left button) to the view's viewport."""
    button = QtCore.Qt.MouseButton.LeftButton
    event = QtGui.QMouseEvent(kind, QtCore.QPointF(pos), QtCore.QPointF(view.widget.viewport().mapToGlobal(pos)),
                              button if kind != QtCore.QEvent.Type.MouseMove else QtCore.Qt.MouseButton.NoButton,
                              buttons, QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(view.widget.viewport(), event)


def drag_pixels(qtbot, view, a, b, steps=8):
    """A real left-button drag from widget position ``a`` to ``b`` in ``steps`` moves."""
    held = QtCore.Qt.MouseButton.LeftButton
    mouse(view, QtCore.QEvent.Type.MouseButtonPress, a, held)
    for i in range(1, steps + 1):
        p = QtCore.QPoint(round(a.x() + (b.x() - a.x()) * i / steps), round(a.y() + (b.y() - a.y()) * i / steps))
        mouse(view, QtCore.QEvent.Type.MouseMove, p, held)
        qtbot.wait(20)  # pyqtgraph handles at most one mouse move per 1/60 s
    mouse(view, QtCore.QEvent.Type.MouseButtonRelease, b, QtCore.Qt.MouseButton.NoButton)


def drag(qtbot, view, start, end, steps=8, plot="main"):
    """A real left-button drag on a plot of the view from ``start`` to ``end`` (data coordinates)."""
    vb = view.plots[plot].vb
    drag_pixels(qtbot, view, widget_point(view, vb, start), widget_point(view, vb, end), steps)
