"""Decision boundaries in the real window: clicks become data (every one of them), the run is
rebuilt off the UI thread, and the items on screen equal the frame; CSV import runs in the
background, names the axes and classes, and a bad file is a dialog that changes nothing."""
import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import datasets

from tests.conftest import wait_ready


@pytest.fixture
def window(open_window, qtbot):
    win = open_window("decision-boundaries", size=(1200, 800))
    win.set_params({"n_samples": 60, "classifier": "knn"})
    wait_ready(qtbot, win)
    return win


def click_at(qtbot, view, x, y, button=QtCore.Qt.MouseButton.LeftButton):
    scene_pos = view.plots["map"].vb.mapViewToScene(QtCore.QPointF(x, y))
    qtbot.mouseClick(view.widget.viewport(), button, QtCore.Qt.KeyboardModifier.NoModifier,
                     view.widget.mapFromScene(scene_pos))


@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_clicked_points_flow_into_a_new_run_and_the_map(window, qtbot):
    view = window.view
    session_before = window.session
    image_before = view.image.image.copy()
    view.class_buttons[1].click()
    for dx in (0.0, 0.05, -0.05, 0.1, -0.1):  # a cluster of class 1 where class 0 lives
        click_at(qtbot, view, dx, 1.3)
        qtbot.waitUntil(lambda: window.session is not session_before and not window.busy, timeout=20000)
        session_before = window.session
    frame = window.session.frame
    assert frame.data["x"].shape[0] == 65
    assert window.data is not None and window.session.data is window.data
    assert frame.data["user_data"] is True
    assert not np.array_equal(view.image.image, image_before)
    # The new points are labelled 1 in the run the window built, where they were clicked.
    np.testing.assert_array_equal(frame.data["labels"][-5:], 1)
    np.testing.assert_allclose(frame.data["x"][-5:, 1], 1.3, atol=0.05)


def test_switching_classifier_in_the_panel_changes_the_map(window, qtbot):
    before = window.view.image.image.copy()
    combo = window.panel.controls["classifier"].editor
    combo.setCurrentIndex(combo.findData("tree"))
    wait_ready(qtbot, window)
    assert window.session.params["classifier"] == "tree"
    assert not np.array_equal(window.view.image.image, before)
    # Only the chosen model's hyperparameters are in the panel.
    assert window.panel.controls["tree_max_depth"].widget.isVisible()
    assert not window.panel.controls["knn_k"].widget.isVisible()


def test_stepping_gradient_boosting_grows_the_accuracy_curve(window, qtbot):
    window.set_params({"classifier": "gradient_boosting", "gb_n_estimators": 20})
    wait_ready(qtbot, window)
    for step in range(1, 6):
        qtbot.mouseClick(window.playback.step_button, QtCore.Qt.MouseButton.LeftButton)
        assert len(window.session.frame.data["train_accuracy_curve"]) == step + 1
    qtbot.mouseClick(window.playback.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.session.step == 4


# -- every click counts, and the view shows exactly the frame (issue 14 §2, §4, §8) -----------------
@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_quick_clicks_before_a_redraw_all_count(window, qtbot):
    view = window.view
    before = window.session.frame.data["x"].copy()
    view.class_buttons[1].click()
    clicked = [(-0.4, 1.2), (-0.2, 1.25), (0.0, 1.3), (0.2, 1.25), (0.4, 1.2)]
    for x, y in clicked:  # no event processing between clicks: no run is installed in between
        click_at(qtbot, view, x, y)
    assert window.data is not None and len(window.data["x"]) == len(before) + 5
    wait_ready(qtbot, window)
    frame = window.session.frame
    assert frame.data["x"].shape == (len(before) + 5, 2)
    np.testing.assert_array_equal(frame.data["x"][:len(before)], before)
    np.testing.assert_allclose(frame.data["x"][-5:], clicked, atol=0.03)
    np.testing.assert_array_equal(frame.data["labels"][-5:], 1)
    assert_view_matches_frame(view, frame)


@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_points_drawn_from_scratch_are_kept_while_too_few_to_fit(window, qtbot):
    view = window.view
    view.clear_points()
    wait_ready(qtbot, window)
    for i, (x, y) in enumerate([(-1, -1), (1, 1), (-1, 1)]):
        view.class_buttons[i % 2].click()
        click_at(qtbot, view, x, y)
        wait_ready(qtbot, window)  # each run fails ("need at least 4"), yet the points stay
    assert len(window.data["x"]) == 3
    drawn = np.concatenate([item.data["x"] for item in view.train_items + view.test_items if item.isVisible()])
    assert sorted(drawn.tolist()) == sorted(np.asarray(window.data["x"])[:, 0].tolist())
    view.class_buttons[1].click()
    click_at(qtbot, view, 1, -1)
    wait_ready(qtbot, window)
    assert window.session.frame.data["x"].shape == (4, 2)


def test_hover_read_out_is_cleared_when_the_mouse_leaves(window, qtbot):
    view = window.view
    vb = view.plots["map"].vb
    pos = view.widget.mapFromScene(vb.mapViewToScene(QtCore.QPointF(0.5, 0.25)))
    move = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, QtCore.QPointF(pos), QtCore.QPointF(pos),
                             QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.NoButton,
                             QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(view.widget.viewport(), move)
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    text = view.hover.textItem.toPlainText()
    assert "probability" in text and "class 0:" in text
    QtWidgets.QApplication.sendEvent(view.widget, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert not view.hover.isVisible()


def test_svm_hover_calls_its_map_a_score_not_a_probability(window, qtbot):
    window.set_params({"classifier": "svm"})
    wait_ready(qtbot, window)
    text = window.view.hover_text(0.5, 0.25)
    assert text.startswith("score:") and "not a calibrated probability" in text
    assert "probability" not in text.replace("not a calibrated probability", "")


def test_legend_explains_every_marker_on_screen(window, qtbot):
    window.set_params({"classifier": "svm", "svm_C": 0.1})
    wait_ready(qtbot, window)
    view = window.view
    texts = view.legend_texts()
    assert view.legend.isVisible()
    assert texts[:2] == ["class 0", "class 1"]
    assert "test point (outlined)" in texts and "support vector" in texts
    assert ("misclassified" in texts) == view.error_items.isVisible()
    window.set_params({"classifier": "knn"})
    wait_ready(qtbot, window)
    assert "support vector" not in view.legend_texts()
    assert_view_matches_frame(view, window.session.frame)


def test_accuracy_by_stage_only_for_models_built_in_stages(window, qtbot):
    view = window.view
    assert window.session.frame.data["n_stages"] == 1 and not view.accuracy_shown
    assert not view.plots["accuracy"].isVisible()
    wide = view.plots["map"].vb.sceneBoundingRect().width()
    window.set_params({"classifier": "gradient_boosting", "gb_n_estimators": 10})
    wait_ready(qtbot, window)
    qtbot.wait(20)
    assert view.accuracy_shown and view.plots["accuracy"].isVisible()
    assert view.plots["map"].vb.sceneBoundingRect().width() < 0.9 * wide


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_compare_grid_panels_are_equal_and_titles_outside_the_maps(open_window, qtbot, size):
    win = open_window("decision-boundaries", size=size)
    win.set_params({"n_samples": 60, "compare": True})
    wait_ready(qtbot, win)
    view = win.view
    qtbot.waitUntil(lambda: not view.compare_pending, timeout=10000)
    qtbot.wait(50)  # layout settles
    plots = [plot for plot in view.compare_plots if plot.isVisible()]
    assert len(plots) == 6
    boxes = [plot.vb.sceneBoundingRect() for plot in plots]
    for box in boxes:
        assert abs(box.width() - boxes[0].width()) <= 1 and abs(box.height() - boxes[0].height()) <= 1
    assert boxes[0].width() > 100 and boxes[0].height() > 80
    for plot, box in zip(plots, boxes):
        title = plot.titleLabel.item
        text_rect = title.mapRectToScene(title.boundingRect())
        assert "train" in title.toPlainText()
        assert text_rect.bottom() <= box.top() + 0.5, "title drawn over the map"
        for other in boxes:  # nor over the panel above or beside it
            assert not text_rect.intersects(other.adjusted(0.5, 0.5, -0.5, -0.5))


def assert_view_matches_frame(view, frame):
    """Every item of the main view shows exactly this frame (no stale points, maps, lines)."""
    from scenes.decision_boundaries.view import probability_image
    data = frame.data
    x, labels = np.asarray(data["x"]), np.asarray(data["labels"])
    test = np.asarray(data["test"], dtype=bool)
    for k in range(len(view.train_items)):
        for item, chosen in ((view.train_items[k], (labels == k) & ~test), (view.test_items[k], (labels == k) & test)):
            if chosen.any():
                assert item.isVisible()
                np.testing.assert_array_equal(np.c_[item.data["x"], item.data["y"]], x[chosen])
            else:
                assert not item.isVisible()
    predicted = np.asarray(data["predicted"])
    wrong = x[(predicted >= 0) & (predicted != labels)]
    assert view.error_items.isVisible() == bool(len(wrong))
    if len(wrong):
        np.testing.assert_array_equal(np.c_[view.error_items.data["x"], view.error_items.data["y"]], wrong)
    support = np.asarray(data["support_vectors"]).reshape(-1, 2)
    assert view.support_items.isVisible() == bool(len(support))
    if len(support):
        np.testing.assert_array_equal(np.c_[view.support_items.data["x"], view.support_items.data["y"]], support)
    splits = np.asarray(data["splits"]).reshape(-1, 4)
    assert view.split_lines.isVisible() == bool(len(splits))
    if len(splits):
        np.testing.assert_allclose(view.split_lines.xData, splits[:, [0, 2]].ravel())
    key, fine = view._applied
    assert key == view._frame_key(frame)
    proba = frame.state.refiner.grid(frame.state.stage) if fine else np.asarray(data["proba"])
    np.testing.assert_array_equal(view.image.image, probability_image(proba, data["classes"]))
    curve = np.asarray(data["train_accuracy_curve"])
    np.testing.assert_array_equal(view.train_curve.yData, curve[np.isfinite(curve)])
    assert view.accuracy_shown == (data["n_stages"] > 1)
    names = [data["names"][k] for k in np.unique(labels)]
    markers = [text for text, shown in (("test point (outlined)", test.any()), ("misclassified", len(wrong)),
                                        ("support vector", len(support))) if shown]
    assert view.legend_texts() == names + markers


def test_view_items_equal_the_frame_after_every_show(window, qtbot):
    view = window.view
    window.set_params({"classifier": "tree", "tree_max_depth": 5, "dataset": "xor"})
    wait_ready(qtbot, window)
    assert_view_matches_frame(view, window.session.frame)
    for _ in range(3):
        qtbot.mouseClick(window.playback.step_button, QtCore.Qt.MouseButton.LeftButton)
        assert_view_matches_frame(view, window.session.frame)
    qtbot.mouseClick(window.playback.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert_view_matches_frame(view, window.session.frame)
    assert view.wait_fine()  # the finer map for this stage, then still the frame's
    assert_view_matches_frame(view, window.session.frame)
    for values in ({"classifier": "svm"}, {"classifier": "gradient_boosting", "gb_n_estimators": 5},
                   {"classifier": "knn", "data_seed": 3}):  # new runs: nothing of the old fit may stay
        window.set_params(values)
        wait_ready(qtbot, window)
        assert_view_matches_frame(view, window.session.frame)


# -- CSV import in the window (issue 14 §5, §9; issue 16) --------------------------------------------
def import_through_button(window, qtbot, monkeypatch, path):
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kw: (str(path), "")))
    qtbot.mouseClick(window.view.tool_buttons["Import CSV…"], QtCore.Qt.MouseButton.LeftButton)


def test_imported_csv_names_axes_legend_and_data_control(window, qtbot, monkeypatch, tmp_path):
    path = tmp_path / "iris.csv"
    rows = "".join(f"{1 + i % 7};{2 + (i * 3) % 5},5;{('setosa', 'virginica')[i % 2]}\n" for i in range(40))
    path.write_bytes(("petal length;petal width;species\n" + rows).encode("utf-16"))
    view = window.view
    assert str(f"{datasets.MAX_IMPORT_ROWS:,}") in view.tool_buttons["Import CSV…"].toolTip()
    import_through_button(window, qtbot, monkeypatch, path)
    qtbot.waitUntil(lambda: not view.importing and window.data is not None, timeout=10000)
    wait_ready(qtbot, window)
    frame = window.session.frame
    assert frame.data["x"].shape == (40, 2) and list(frame.data["names"]) == ["setosa", "virginica"]
    plot = view.plots["map"]
    assert plot.getAxis("bottom").label.toPlainText().strip() == "petal length"
    assert plot.getAxis("left").label.toPlainText().strip() == "petal width"
    assert view.legend_texts()[:2] == ["setosa", "virginica"]
    assert view.data_label.text() == "Imported: iris.csv"
    status = window.statusBar().currentMessage()
    assert "Imported iris.csv: 40 rows" in status and "UTF-16" in status and "semicolon" in status
    assert_view_matches_frame(view, frame)


def test_html_in_class_column_and_file_names_is_shown_literally(window, qtbot, monkeypatch, tmp_path):
    names = ["<b>bold</b>", "<img src=x.png>"]
    path = tmp_path / "<i>data.csv"
    path.write_text("<u>left</u>,right,kind\n" + "".join(f"{i},{i % 3},{names[i % 2]}\n" for i in range(12)))
    view = window.view
    import_through_button(window, qtbot, monkeypatch, path)
    qtbot.waitUntil(lambda: not view.importing and window.data is not None, timeout=10000)
    wait_ready(qtbot, window)
    assert view.legend_texts()[:2] == sorted(names)
    assert view.plots["map"].getAxis("bottom").label.toPlainText().strip() == "<u>left</u>"
    assert view.data_label.text() == "Imported: <i>data.csv"
    assert view.data_label.textFormat() == QtCore.Qt.TextFormat.PlainText
    x0, x1, y0, y1 = window.session.frame.data["extent"]
    text = view.hover_text((x0 + x1) / 2, (y0 + y1) / 2)
    assert names[0] in view.hover.textItem.toPlainText() and names[0] in text


def test_import_error_is_a_dialog_and_a_status_message_and_changes_nothing(window, qtbot, monkeypatch, tmp_path):
    session = window.session
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n3,1e300,b\n5,6,a\n7,8,b\n")
    view = window.view
    import_through_button(window, qtbot, monkeypatch, bad)
    assert view.importing or view.error_box is not None  # read off the UI thread
    qtbot.waitUntil(lambda: view.error_box is not None and view.error_box.isVisible(), timeout=10000)
    box = view.error_box
    assert "row 3" in box.text() and "1e+12" in box.text()
    assert box.textFormat() == QtCore.Qt.TextFormat.PlainText
    assert "row 3" in window.statusBar().currentMessage()
    assert window.session is session and window.data is None
    assert not view.import_status.isVisible() and view.tool_buttons["Import CSV…"].isEnabled()
    box.accept()
    qtbot.waitUntil(lambda: view.error_box is None, timeout=2000)


def test_bad_csv_read_inline_is_a_status_message_and_changes_nothing(window, qtbot, tmp_path):
    session = window.session
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n3,,b\n5,6,a\n7,8,b\n")
    assert not window.view.import_csv(str(bad))
    assert "row 3" in window.statusBar().currentMessage()
    assert window.session is session and window.data is None


def test_a_large_import_draws_a_fixed_subset_and_says_so(window, qtbot, monkeypatch, tmp_path):
    from scenes.decision_boundaries.view import MAX_DRAWN_POINTS, drawn_index
    n = 3 * MAX_DRAWN_POINTS
    rng = np.random.default_rng(1)
    labels = np.arange(n) % 3
    x = rng.normal(size=(n, 2)) + 3 * np.c_[np.cos(labels * 2.1), np.sin(labels * 2.1)]
    path = tmp_path / "large.csv"
    path.write_text("a,b,c\n" + "".join(f"{p!r},{q!r},k{l}\n" for (p, q), l in zip(x.tolist(), labels)))
    view = window.view
    import_through_button(window, qtbot, monkeypatch, path)
    qtbot.waitUntil(lambda: not view.importing and window.data is not None, timeout=20000)
    wait_ready(qtbot, window, timeout=60000)
    frame = window.session.frame
    assert frame.data["x"].shape == (n, 2)
    index = drawn_index(n)
    assert len(index) == MAX_DRAWN_POINTS and len(np.unique(index)) == MAX_DRAWN_POINTS
    shown = {"x": frame.data["x"][index], "labels": frame.data["labels"][index], "test": frame.data["test"][index]}
    for k in range(3):
        for item, chosen in ((view.train_items[k], (shown["labels"] == k) & ~shown["test"]),
                             (view.test_items[k], (shown["labels"] == k) & shown["test"])):
            np.testing.assert_array_equal(np.c_[item.data["x"], item.data["y"]], shown["x"][chosen])
    assert f"showing {MAX_DRAWN_POINTS:,} of {n:,} points" in view.corner.textItem.toPlainText()
    # Appending a point keeps the drawn subset but for at most one point (the i-th key depends only on i).
    assert len(set(index.tolist()) & set(drawn_index(n + 1).tolist())) >= MAX_DRAWN_POINTS - 1


def test_a_running_import_shows_itself_and_cancel_changes_nothing(window, qtbot, tmp_path):
    path = tmp_path / "slow.csv"
    path.write_text("a,b,c\n" + "".join(f"{i * 0.001!r},{(i * 7) % 13},{'pq'[i % 2]}\n" for i in range(50_000)))
    view = window.view
    session = window.session
    view.start_import(str(path))  # returns at once: the file is read by the view's job runner
    assert view.importing and view.import_status.isVisible() and view.import_cancel.isVisible()
    assert view.import_status.text().startswith("Reading slow.csv…")
    assert not view.tool_buttons["Import CSV…"].isEnabled()
    qtbot.mouseClick(view.import_cancel, QtCore.Qt.MouseButton.LeftButton)
    assert not view.importing and not view.import_status.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()
    qtbot.wait(3000)  # long enough for the read to have finished had it not been stopped
    assert window.session is session and window.data is None
    assert view.tool_buttons["Import CSV…"].isEnabled()


def test_imported_rows_travel_as_arrays_and_the_session_still_saves_as_json(window, qtbot, monkeypatch, tmp_path):
    """The user data handed to the worker that builds the run are arrays (lists of lists of a
    100,000-row file stalled the UI ~275 ms while unpickled), and the session file has lists."""
    import json

    from explorer.session import Session

    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=(300, 2)), 3)
    path = tmp_path / "arrays.csv"
    path.write_text("u,v,w\n" + "".join(f"{a!r},{b!r},{'pq'[i % 2]}\n" for i, (a, b) in enumerate(x.tolist())))
    view = window.view
    import_through_button(window, qtbot, monkeypatch, path)
    qtbot.waitUntil(lambda: not view.importing and window.data is not None, timeout=10000)
    wait_ready(qtbot, window)
    for data in (window.data, window.session.data):
        assert isinstance(data["x"], np.ndarray) and data["x"].dtype == np.float64
        assert isinstance(data["labels"], np.ndarray) and data["labels"].dtype.kind == "i"
    np.testing.assert_array_equal(window.data["x"], x)
    # A click edits them as arrays too.
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as edited:
        view.add_point(0.0, 0.0, 1)
    assert isinstance(edited.args[0]["x"], np.ndarray) and edited.args[0]["x"].shape == (301, 2)
    wait_ready(qtbot, window)
    saved = json.loads(json.dumps(window.session.to_dict()))  # would raise on an array
    assert saved["data"]["x"][:300] == x.tolist() and saved["data"]["labels"][-1] == 1
    loaded = Session.from_dict(saved)
    np.testing.assert_array_equal(loaded.frame.data["x"], window.session.frame.data["x"])
    np.testing.assert_array_equal(loaded.frame.data["proba"], window.session.frame.data["proba"])


def test_class_borders_are_drawn_with_one_pixel_pens(window, qtbot):
    """DESIGN.md: pens of width 1; a width-2 pen took ~350 ms to stroke the border of a large import."""
    view = window.view
    window.set_params({"classifier": "knn", "knn_k": 1})
    wait_ready(qtbot, window)
    for line in [view.boundary, *view.compare_lines]:
        assert line.opts["pen"].widthF() <= 1.0
    assert len(view.boundary.xData) > 0


def test_tool_strip_fits_a_1024_window_with_every_control_whole_and_explained(window, qtbot):
    view = window.view
    for _ in range(8):
        view.add_class()  # ten class buttons: the widest strip
    window.resize(1024, 640)
    for _ in range(3):
        QtWidgets.QApplication.processEvents()
        qtbot.wait(20)
    assert (window.width(), window.height()) == (1024, 640)
    strip = view.tools()
    controls = [w for w in strip.findChildren(QtWidgets.QAbstractButton) if w.isVisible()]
    assert len(controls) >= 10 + 2 + 4
    rows = set()
    for widget in controls + [view.data_label]:
        geometry = widget.geometry()
        assert strip.rect().contains(geometry), f"{widget.text()!r} is outside the strip"
        if widget is not view.data_label:
            assert geometry.width() >= widget.sizeHint().width(), f"{widget.text()!r} is cut off"
            assert widget.toolTip().strip(), f"{widget.text()!r} has no tooltip"
        rows.add(geometry.y())
    for a in controls:  # no two controls overlap
        for b in controls:
            assert a is b or not a.geometry().intersects(b.geometry()), (a.text(), b.text())
    assert len(rows) >= 2  # it wrapped rather than widening the window
    assert strip.height() >= strip.layout().heightForWidth(strip.width())


def test_the_heap_is_frozen_once_models_are_loaded_so_full_collections_stay_short(window, qtbot):
    """A full garbage collection of the ~150,000 objects alive once scikit-learn is loaded took
    70-380 ms on the UI thread (bench/bench_import.py); frozen objects are not visited again."""
    import gc
    import sys

    from scenes.decision_boundaries import view as view_module

    assert "sklearn" in sys.modules and window.session.frame.data["classes"].size  # a fitted run is shown
    assert {"view", "sklearn"} <= view_module._frozen_with
    assert gc.get_freeze_count() > 50_000
