"""The real window at small and large sizes: every control usable, nothing cut off (issue 14 §4).

Each test resizes a real MainWindow (offscreen) and measures the widgets' on-screen geometry."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import scene as registry
from explorer.ui import theme
from explorer.ui.layout import pane_widths
from explorer.ui.playback import SCRUB_MIN_WIDTH, PlaybackBar

SMALL, LARGE = (1024, 640), (1920, 1080)
SCENES = [s.id for s in registry.scenes()]


def resized(qtbot, window, size):
    window.resize(*size)
    for _ in range(3):  # a resize re-flows the playback bar and the panel, which may re-lay out again
        QtWidgets.QApplication.processEvents()
        qtbot.wait(20)
    return window


def right_edge_in(widget: QtWidgets.QWidget, container: QtWidgets.QWidget) -> int:
    return widget.mapTo(container, QtCore.QPoint(widget.width(), 0)).x()


def text_width(widget: QtWidgets.QWidget, text: str) -> int:
    return widget.fontMetrics().horizontalAdvance(text)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["1024x640", "1920x1080"])
@pytest.mark.parametrize("scene_id", SCENES)
def test_every_control_is_usable(open_window, qtbot, scene_id, size):
    window = resized(qtbot, open_window(scene_id), size)
    assert window.height() == size[1] and window.width() <= size[0] + 50  # exactly: see the next test

    # Playback: every button shows its whole label or is an icon button at its full size.
    bar = window.playback
    for button in (bar.reset_button, bar.back_button, bar.play_button, bar.step_button, bar.coarse_button):
        if button.isHidden():
            continue
        assert button.isVisible() and button.width() >= button.sizeHint().width(), button.objectName()
        if button.toolButtonStyle() == QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly:
            assert not button.icon().isNull() and button.toolTip()
        else:
            assert button.width() >= text_width(button, button.text()) + button.iconSize().width()
        assert right_edge_in(button, window) <= window.width()
    # The frame counter in full, inside the window; a scrubber that can be dragged.
    assert bar.counter.isVisible()
    assert bar.counter.width() >= text_width(bar.counter, bar.counter.text())
    assert right_edge_in(bar.counter, window) <= window.width()
    assert bar.scrub.isVisible() and bar.scrub.width() >= SCRUB_MIN_WIDTH
    assert bar.speed.isVisible() and bar.speed.width() >= bar.speed.minimumSizeHint().width()

    # The plots keep most of the window.
    plot = window.view.widget
    assert plot.width() >= 0.45 * size[0] and plot.height() >= 0.6 * size[1], (plot.width(), plot.height())

    # The panel: Presets in view without scrolling, no label or check box cut off.
    panel = window.panel
    viewport = panel.viewport()
    presets = panel.presets
    assert presets.isVisible()
    bottom_right = presets.mapTo(viewport, QtCore.QPoint(presets.width(), presets.height()))
    assert 0 < bottom_right.y() <= viewport.height() and bottom_right.x() <= viewport.width()
    checked = 0
    for widget in panel.widget().findChildren(QtWidgets.QWidget):
        if not widget.isVisible() or not isinstance(widget, (QtWidgets.QLabel, QtWidgets.QAbstractButton,
                                                             QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox)):
            continue
        assert right_edge_in(widget, viewport) <= viewport.width(), widget.objectName() or widget
        if isinstance(widget, QtWidgets.QLabel) and not widget.wordWrap():
            assert widget.width() >= text_width(widget, widget.text()), f"label {widget.text()!r} is cut off"
            checked += 1
        elif isinstance(widget, QtWidgets.QCheckBox):
            assert widget.width() >= widget.sizeHint().width(), f"check box {widget.text()!r} is cut off"
            checked += 1
        elif isinstance(widget, QtWidgets.QAbstractSpinBox):  # the longest value it can hold fits
            assert widget.width() >= widget.minimumSizeHint().width(), f"{widget.objectName()} cuts off its value"
            checked += 1
    assert checked >= 4
    # The scene list shows every scene's title and summary in full.
    scene_list = window.scene_list
    if scene_list.width() > 0:
        for row in range(scene_list.count()):
            item = scene_list.item(row)
            label = scene_list.itemWidget(item)
            assert label.height() >= label.heightForWidth(label.width()), f"scene {row} is cut off"


@pytest.mark.parametrize("scene_id", SCENES)
def test_window_can_be_made_1024x640(open_window, qtbot, scene_id):
    window = resized(qtbot, open_window(scene_id), SMALL)
    assert (window.width(), window.height()) == SMALL


def test_long_explainer_folds_away_in_a_short_window_and_the_user_decides(open_window, qtbot):
    window = resized(qtbot, open_window("learning-rate-batch"), SMALL)
    panel = window.panel
    assert panel.explainer_toggle.isVisible() and not panel.explainer.isVisible()  # folded on its own
    panel.explainer_toggle.click()  # the user opens it
    assert panel.explainer.isVisible()
    resized(qtbot, window, (1100, 650))
    assert panel.explainer.isVisible(), "the user's choice must stand over the automatic one"
    panel.explainer_toggle.click()
    assert not panel.explainer.isVisible()


def test_explainer_is_open_when_there_is_room(open_window, qtbot):
    window = resized(qtbot, open_window("gradient-descent"), LARGE)
    assert window.panel.explainer.isVisible()
    assert window.panel.explainer.height() >= window.panel.explainer.heightForWidth(window.panel.explainer.width())


@pytest.mark.parametrize("width", [1100, 700, 480, 380])
def test_playback_bar_drops_labels_then_wraps_but_keeps_counter_and_scrubber(qtbot, width):
    bar = PlaybackBar()
    qtbot.addWidget(bar)
    bar.set_coarse_label("Step epoch")
    bar.set_position(1234, 56789)
    bar.show()
    bar.resize(max(width, bar.minimumSizeHint().width()), bar.sizeHint().height())
    qtbot.wait(20)
    bar.resize(bar.width(), bar.minimumSizeHint().height())
    QtWidgets.QApplication.processEvents()
    labels, wrapped = bar.mode
    assert bar.width() <= max(width, 380)  # the bar can be this narrow
    for button in (bar.reset_button, bar.back_button, bar.play_button, bar.step_button, bar.coarse_button):
        assert button.width() >= button.sizeHint().width()
        assert (button.toolButtonStyle() == QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly) == (not labels)
    assert bar.counter.width() >= text_width(bar.counter, "step 1234 / 56789")
    assert bar.scrub.width() >= SCRUB_MIN_WIDTH
    if width >= 1100:
        assert (labels, wrapped) == (True, False)
    if width <= 480:
        assert wrapped and bar.counter.y() > bar.play_button.y()  # the second row
    bar.play()
    assert bar.mode == (labels, wrapped)  # "Pause" never re-flows the bar
    bar.pause()


def test_side_panes_share_the_width():
    scene_list, plots, panel = pane_widths(1024)
    assert scene_list == 163 and panel == 300 and plots == 1024 - 163 - 300
    assert pane_widths(1920) == (240, 1920 - 240 - 430, 430)
    assert pane_widths(1024, panel_minimum=340)[2] == 340


def test_splitter_gives_a_small_window_narrower_side_panes(open_window, qtbot):
    window = resized(qtbot, open_window("gradient-descent"), LARGE)
    large = window.splitter.sizes()
    resized(qtbot, window, SMALL)
    small = window.splitter.sizes()
    assert small[0] < large[0] and small[2] < large[2]
    assert small[1] >= 0.5 * SMALL[0]


def test_frame_message_is_plain_text(open_window, qtbot, monkeypatch):
    window = open_window("gradient-descent")
    frame = dataclasses.replace(window.session.frame, message="<b>x</b> <img src='y.png'>")
    monkeypatch.setattr(type(window.session), "frame", property(lambda self: frame))
    window._refresh()
    label = window.frame_message
    assert label.text() == "<b>x</b> <img src='y.png'>"
    assert label.textFormat() == QtCore.Qt.TextFormat.PlainText
    # Drawn as the characters typed, not as bold "x" and an image.
    assert label.sizeHint().width() >= text_width(label, "<b>x</b> <img src='y.png'>")
    assert label.toolTip() == label.text()


def test_long_frame_message_does_not_widen_the_window(open_window, qtbot, monkeypatch):
    window = resized(qtbot, open_window("gradient-descent"), SMALL)
    frame = dataclasses.replace(window.session.frame, message="a very long message " * 40)
    monkeypatch.setattr(type(window.session), "frame", property(lambda self: frame))
    window._refresh()
    resized(qtbot, window, SMALL)
    assert window.width() == SMALL[0]


def test_f1_lists_every_shortcut_in_a_table(open_window, qtbot):
    window = open_window("learning-rate-batch")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(window, "shortcuts_dialog", None) is not None
                    and window.shortcuts_dialog.isVisible())
    table = window.shortcuts_dialog.findChild(QtWidgets.QTableWidget, "shortcut-table")
    shown = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    expected = [(" or ".join(k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()),
                 a.text().replace("&", "").rstrip("…").strip()) for a in window.actions() if a.shortcuts()]
    assert shown == expected
    keys = {k for k, _ in shown}
    assert {"Space", "Right", "Left", "Shift+Right", "R", "Home", "End", "Ctrl+E", "Ctrl+S", "Ctrl+O", "F1"} <= keys
    assert ("Shift+Right", "Step epoch") in shown  # the scene's own name for its coarse step
    # Aligned: one column for the keys, wide enough for the longest.
    assert table.columnWidth(0) >= max(text_width(table, k) for k in keys)
    window.shortcuts_dialog.close()


def test_readme_shortcut_table_matches_the_window(open_window):
    import pathlib
    window = open_window("gradient-descent")
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| key | action |"):].split("\n\n")[0]
    documented = set()
    for line in table.splitlines()[2:]:
        documented.update(k.strip() for k in line.split("|")[1].split(" / "))
    actual = {k for keys, _ in window.shortcut_rows() for k in keys.split(" or ")}
    assert actual <= documented, "a shortcut the README does not list"
    assert documented - actual <= {"Ctrl+Q"}, "the README lists a shortcut the window lacks"  # Quit: per platform


def test_export_dialog_shows_the_whole_path(open_window, qtbot, tmp_path):
    from explorer.ui.main_window import ExportDialog

    window = open_window("gradient-descent")
    dialog = ExportDialog(window, ".png", dict(window.export_widths), "gradient-descent")
    qtbot.addWidget(dialog)
    long_dir = tmp_path / "a fairly long folder name" / "and another one inside it"
    dialog.file.setText(str(long_dir / "gradient-descent.png"))
    dialog.show()
    QtWidgets.QApplication.processEvents()
    field = dialog.file
    assert field.toolTip() == field.text()
    assert field.width() >= text_width(field, field.text()), "part of the path is hidden"
    dialog.kind.setCurrentIndex(dialog.kind.findData(".svg"))
    assert field.text().endswith("gradient-descent.svg") and field.toolTip() == field.text()
    dialog.close()


def test_log_axis_labels_use_one_style():
    # A range test over 1e-5 .. 10: every label a power of ten, minor ones as m·10ⁿ.
    assert theme.log_tick_labels([-5, -4, 0, 1], -5.2, 1.1) == ["10⁻⁵", "10⁻⁴", "10⁰", "10¹"]
    assert theme.log_tick_labels(np.log10([2e-5, 5e1, 3e-3]), -5.2, 2) == ["2·10⁻⁵", "5·10¹", "3·10⁻³"]
    # A short axis within 0.001 .. 10,000: plain decimals, never 10ⁿ.
    assert theme.log_tick_labels(np.log10([0.1, 0.2, 0.5, 1, 2, 5, 10, 20]), -1.1, 1.4) == \
        ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20"]
    assert theme.log_tick_labels(np.log10([0.001, 0.003, 1000]), -3, -0.5) == ["0.001", "0.003", "1000"]


@pytest.mark.parametrize("low, high", [(-5.2, 1.1), (-1.1, 1.4), (-3.3, 4.2), (0.2, 0.9), (-8, -6.5)])
def test_log_axis_tick_strings_share_one_style_at_every_level(qtbot, low, high):
    widget = theme.pg.PlotWidget(axisItems={"left": theme.LogAxis("left")})
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.setLogMode(y=True)
    widget.setYRange(low, high, padding=0)
    widget.show()
    QtWidgets.QApplication.processEvents()
    axis = widget.getPlotItem().getAxis("left")
    levels = axis.tickValues(*axis.range, 300)
    labels = [s for _, values in levels for s in axis.tickStrings(values, 1.0, 1.0)]
    assert labels
    powers = ["10" in s and any(c in s for c in "⁰¹²³⁴⁵⁶⁷⁸⁹") for s in labels]
    assert all(powers) or not any(powers), labels


#: Scenes whose default view has no log axis (so the check above would be empty for them).
WITHOUT_LOG_AXES = {"decision-boundaries", "pca"}


@pytest.mark.parametrize("scene_id", SCENES)
def test_every_log_axis_in_the_window_labels_in_one_style(open_window, scene_id):
    window = open_window(scene_id)
    log_axes = 0
    for name, plot in window.view.plots.items():
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            if axis.logMode:
                log_axes += 1
                assert isinstance(axis, theme.LogAxis), f"{scene_id} {name} {side} axis mixes label styles"
    if scene_id not in WITHOUT_LOG_AXES:
        assert log_axes >= 1
