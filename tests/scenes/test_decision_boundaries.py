"""Decision-boundary scene: maps against scikit-learn, staged ensembles, tree splits, UI."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import param_space

from explorer.session import Session
from scenes.decision_boundaries import SCENE
from scenes.decision_boundaries.models import CLASSIFIERS, STAGED, grid_points, svm_display
from scenes.decision_boundaries.sim import COARSE, FINE, Simulation

SMALL = {"n_samples": 60, "forest_n_estimators": 12, "bagging_n_estimators": 8, "adaboost_n_estimators": 10,
         "gb_n_estimators": 12}


def truth(sim, points):
    """scikit-learn's own answer for the fitted pipeline (SVM: sigmoid/softmax of decision_function)."""
    if sim.params["classifier"] == "svm":
        return svm_display(sim.pipe.decision_function(points), len(sim.classes))
    return sim.pipe.predict_proba(points)


def as_rows(grid):
    return np.asarray(grid).reshape(grid.shape[0], -1).T


@pytest.mark.parametrize("dataset", ["moons", "blobs"])
@pytest.mark.parametrize("cid", CLASSIFIERS)
def test_last_stage_map_equals_scikit_learn(cid, dataset):
    session = Session(SCENE, {**SMALL, "classifier": cid, "dataset": dataset, "n_classes": 3})
    sim = session.simulation
    assert sim.ok, session.frame.message
    session.forward(1000)
    frame = session.frame
    assert frame.done and frame.step == sim.n_stages - 1
    if cid not in STAGED:
        assert sim.n_stages == 1
    extent = tuple(frame.data["extent"])
    expected = truth(sim, grid_points(extent, COARSE))
    np.testing.assert_allclose(as_rows(frame.data["proba"]), expected, atol=1e-5)
    fine = frame.state.refiner.grid(frame.state.stage)
    assert fine.shape[1:] == (FINE, FINE)
    np.testing.assert_allclose(as_rows(fine), truth(sim, grid_points(extent, FINE)), atol=1e-5)
    # Accuracy and predictions of the final stage are the model's.
    predicted = sim.pipe.predict(frame.data["x"])
    np.testing.assert_array_equal(frame.data["predicted"], predicted)
    train = ~frame.data["test"]
    assert frame.data["train_accuracy"] == pytest.approx(np.mean(predicted[train] == frame.data["labels"][train]))


def test_svm_display_is_the_sigmoid_and_never_overflows():
    import warnings
    decision = np.array([-1e6, -800.0, -3.0, -0.5, 0.0, 0.5, 3.0, 800.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would be a RuntimeWarning
        shown = svm_display(decision, 2)
    assert np.all(np.isfinite(shown))
    np.testing.assert_allclose(shown.sum(axis=1), 1.0)
    moderate = np.abs(decision) < 10
    np.testing.assert_allclose(shown[moderate, 1], 1.0 / (1.0 + np.exp(-2.0 * decision[moderate])), rtol=1e-12)
    np.testing.assert_array_equal(shown[[0, -1], 1], [0.0, 1.0])


def test_forest_stage_k_is_the_average_of_its_first_k_trees():
    session = Session(SCENE, {**SMALL, "classifier": "random_forest"})
    session.forward(2)
    sim, frame = session.simulation, session.frame
    points = grid_points(tuple(frame.data["extent"]), COARSE)
    z = sim.pipe[0].transform(points)
    expected = np.mean([tree.predict_proba(z) for tree in sim.pipe[-1].estimators_[:3]], axis=0)
    np.testing.assert_allclose(as_rows(frame.data["proba"]), expected, atol=1e-6)


def test_boosting_stage_k_matches_staged_predict_proba_and_steps_reuse_the_fit():
    session = Session(SCENE, {**SMALL, "classifier": "gradient_boosting"})
    sim = session.simulation
    points = grid_points(sim.extent, COARSE)
    stages = list(sim.pipe[-1].staged_predict_proba(sim.pipe[0].transform(points)))
    estimators = sim.pipe[-1].estimators_
    for k in range(4):
        np.testing.assert_allclose(as_rows(session.frame.data["proba"]), stages[k], atol=1e-6)
        session.forward()
    assert session.simulation.pipe[-1].estimators_ is estimators  # never refitted
    # Stepping back gives the same earlier frame.
    back = session.back()
    np.testing.assert_array_equal(back.data["proba"], np.asarray(stages[3], np.float32).T.reshape(-1, COARSE, COARSE))


def test_tree_split_lines_equal_the_fitted_thresholds():
    session = Session(SCENE, {"classifier": "tree", "dataset": "xor", "tree_max_depth": 5, "n_samples": 150})
    sim = session.simulation
    tree, scaler = sim.pipe[-1].tree_, sim.pipe[0]
    assert len(session.frame.data["splits"]) == 0  # level 0: only the root
    session.forward(1000)
    segments = session.frame.data["splits"]
    internal = tree.children_left >= 0
    assert len(segments) == internal.sum()
    drawn = {0: [], 1: []}
    for x0, y0, x1, y1 in segments:
        feature = 0 if x0 == x1 else 1
        value = x0 if feature == 0 else y0
        drawn[feature].append((value - scaler.mean_[feature]) / scaler.scale_[feature])
    for feature in (0, 1):
        expected = np.sort(tree.threshold[internal & (tree.feature == feature)])
        np.testing.assert_allclose(np.sort(drawn[feature]), expected, atol=1e-9)
    # One level more of splits per step.
    session.seek(1)
    assert len(session.frame.data["splits"]) == 1


def test_bad_user_data_is_a_message_not_an_exception():
    for data, word in [({"x": [[0, 0]], "labels": [0]}, "at least 4"),
                       ({"x": [[0, 0], [1, 0], [0, 1], [1, 1]], "labels": [2, 2, 2, 2]}, "one class"),
                       ({"x": "garbage", "labels": 3}, "")]:
        frame = Simulation(SCENE.resolve(), 0, data=data).frame()
        assert frame.message and word in frame.message
        assert frame.done and not np.isfinite(frame.data["train_accuracy"])


def test_user_points_are_used():
    x = [[0, 0], [0, 1], [1, 0], [1, 1], [3, 3], [3, 4], [4, 3], [4, 4]]
    sim = Simulation(SCENE.resolve({"classifier": "knn", "knn_k": 1}), 0, data={"x": x, "labels": [0] * 4 + [1] * 4})
    frame = sim.frame()
    np.testing.assert_array_equal(frame.data["x"], x)
    assert frame.data["test_accuracy"] == 1.0


PARAM_SPACE = param_space(SCENE.params, {"n_samples": st.integers(10, 40)})  # small data: 25 fits stay fast


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=PARAM_SPACE, seed=st.integers(0, 2**31 - 1))
def test_constructing_and_stepping_never_raises(params, seed):
    session = Session(SCENE, params, seed)
    frames = [session.frame]
    for _ in range(5):
        frames.append(session.forward())
    for frame in frames:
        assert frame.data["proba"].ndim == 3
        assert len(frame.data["train_accuracy_curve"]) == frame.step + 1
    session.back()


# -- UI --------------------------------------------------------------------------------------------
@pytest.fixture
def make_view(qtbot):
    from scenes.decision_boundaries.view import DecisionBoundaryView
    views = []

    def make(session):
        view = DecisionBoundaryView(SCENE, session.params)
        qtbot.addWidget(view.tools())
        view.widget.resize(900, 600)
        view.widget.show()
        view.show(session.frame)
        qtbot.waitExposed(view.widget)
        views.append(view)
        return view
    yield make
    for view in views:
        view.close()


# QTest reports pyqtgraph's unaccepted press/release (the scene handles clicks itself).
ignore_unaccepted = pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")


def click_at(qtbot, view, x, y, button=None, modifier=None):
    from PySide6 import QtCore
    vb = view.plots["map"].vb
    scene_pos = vb.mapViewToScene(QtCore.QPointF(x, y))
    pos = view.widget.mapFromScene(scene_pos)
    qtbot.mouseClick(view.widget.viewport(), button or QtCore.Qt.MouseButton.LeftButton,
                     modifier or QtCore.Qt.KeyboardModifier.NoModifier, pos)


@ignore_unaccepted
def test_clicks_add_and_remove_points_and_the_map_follows(qtbot, make_view):
    from PySide6 import QtCore
    session = Session(SCENE, {"classifier": "knn", "n_samples": 40})
    view = make_view(session)
    before = view.image.image.copy()
    view.class_buttons[1].click()
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as blocker:
        click_at(qtbot, view, 0.0, 1.4)
    data = blocker.args[0]
    assert len(data["x"]) == 41 and data["labels"][-1] == 1
    np.testing.assert_allclose(data["x"][-1], [0.0, 1.4], atol=0.05)
    for _ in range(4):  # a small cluster of class 1 where class 0 was
        data["x"].append([0.02, 1.4]); data["labels"].append(1)
    session.set_data(data)
    view.show(session.frame)
    assert session.frame.data["x"].shape == (45, 2)
    assert not np.array_equal(view.image.image, before)
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as removed:
        click_at(qtbot, view, 0.02, 1.4, QtCore.Qt.MouseButton.RightButton)
    assert len(removed.args[0]["x"]) == 44
    with qtbot.waitSignal(view.dataRequested, timeout=2000) as shifted:
        click_at(qtbot, view, 0.02, 1.4, modifier=QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert len(shifted.args[0]["x"]) == 43  # every click counts: it edits the first removal's result


def test_clear_regenerate_and_classes(qtbot, make_view):
    session = Session(SCENE, {"n_samples": 40})
    view = make_view(session)
    with qtbot.waitSignal(view.dataRequested) as cleared:
        view.clear_points()
    session.set_data(cleared.args[0])
    view.show(session.frame)
    assert "at least 4" in session.frame.message and view.notice.isVisible()
    view.add_class()
    assert view.selected_class == 2 and view.class_buttons[2].isVisibleTo(view.tools())
    with qtbot.waitSignal(view.paramsRequested) as regenerated:
        view.regenerate()
    assert regenerated.args[0] == {"data_seed": 1}


def test_switching_classifier_changes_the_map(make_view):
    session = Session(SCENE, {"classifier": "logistic", "n_samples": 60})
    view = make_view(session)
    linear = view.image.image.copy()
    session.set_params({"classifier": "knn"})
    view.set_params(session.params)
    view.show(session.frame)
    assert not np.array_equal(view.image.image, linear)


def test_fine_map_replaces_the_coarse_one_when_idle(qtbot, make_view):
    session = Session(SCENE, {"classifier": "svm", "n_samples": 60})
    view = make_view(session)
    assert view.image.image.shape[:2] == (COARSE, COARSE)
    qtbot.waitUntil(lambda: view.image.image.shape[:2] == (FINE, FINE), timeout=5000)
    text = view.hover_text(0.5, 0.25)
    assert "class 0:" in text and "class 1:" in text


def test_the_map_shown_is_always_the_newest_frames(make_view):
    from scenes.decision_boundaries.view import _refine_job
    sessions = [Session(SCENE, {"classifier": "svm", "n_samples": 60, "svm_C": c}) for c in (0.1, 100.0)]
    view = make_view(sessions[0])
    view._idle.stop()

    def fine(session):
        frame = session.frame
        return _refine_job(view._frame_key(frame), frame.state.refiner, frame.state.stage, frame.data["classes"])
    old, new = fine(sessions[0]), fine(sessions[1])
    view.set_params(sessions[1].params)
    view.show(sessions[1].frame)
    coarse_new = view.image.image.copy()
    assert coarse_new.shape[:2] == (COARSE, COARSE)
    view._refined("refine", old)  # the older value's fine map arrives late: not shown
    np.testing.assert_array_equal(view.image.image, coarse_new)
    view._refined("refine", new)
    np.testing.assert_array_equal(view.image.image, new[2])
    assert_image_covers_extent(view, sessions[1].frame)
    # Back to the first value: its cached fine map, not the second's.
    view.show(sessions[0].frame)
    np.testing.assert_array_equal(view.image.image, old[2])
    np.testing.assert_array_equal(view._shown_proba, old[1])
    assert_image_covers_extent(view, sessions[0].frame)
    view.show(Session(SCENE, {"classifier": "knn", "n_samples": 60}).frame)  # coarse again
    assert view.image.image.shape[:2] == (COARSE, COARSE)
    assert_image_covers_extent(view, view.frame)


def assert_image_covers_extent(view, frame):
    x0, x1, y0, y1 = frame.data["extent"]
    shown = view.image.mapRectToParent(view.image.boundingRect())
    np.testing.assert_allclose([shown.left(), shown.right(), shown.top(), shown.bottom()], [x0, x1, y0, y1],
                               rtol=1e-9, atol=1e-9)


def test_a_new_run_on_the_same_points_only_redraws_what_changed(make_view):
    sessions = [Session(SCENE, {"classifier": "svm", "n_samples": 80, "svm_C": c}) for c in (0.05, 500.0)]
    view = make_view(sessions[0])
    train_data = [item.data for item in view.train_items]
    view.show(sessions[1].frame)
    assert all(item.data is data for item, data in zip(view.train_items, train_data))  # untouched
    assert sum(item.isVisible() for item in view.train_items) == 2  # empty classes are hidden
    frame = sessions[1].frame
    xs, ys = view.support_items.getData()
    np.testing.assert_array_equal(np.c_[xs, ys], frame.data["support_vectors"])
    wrong = frame.data["predicted"] != frame.data["labels"]
    assert len(view.error_items.data) == wrong.sum()


def test_gradient_boosting_accuracy_curve_grows_one_point_per_step(make_view):
    session = Session(SCENE, {**SMALL, "classifier": "gradient_boosting"})
    view = make_view(session)
    for step in range(1, 6):
        view.show(session.forward())
        xs, ys = view.train_curve.getData()
        assert len(xs) == step + 1 and len(view.test_curve.getData()[0]) == step + 1
    view.show(session.back())
    assert len(view.train_curve.getData()[0]) == 5


@ignore_unaccepted
def test_compare_grid_shows_one_map_per_chosen_classifier(qtbot, make_view):
    chosen = {f"compare_{cid}": cid in ("naive_bayes", "tree", "knn") for cid in CLASSIFIERS}
    session = Session(SCENE, {**SMALL, "compare": True, **chosen})
    view = make_view(session)
    qtbot.waitUntil(lambda: not view.compare_pending, timeout=5000)  # the grid is drawn in time slices
    assert list(session.frame.data["compare_names"]) == ["knn", "naive_bayes", "tree"]
    visible = [plot for plot in view.compare_plots if plot.isVisible()]
    assert len(visible) == 3
    images = [view.compare_images[i].image for i in range(3)]
    assert all(image is not None for image in images)
    assert not np.array_equal(images[0], images[1])
    qtbot.wait(10)
    rect = view.compare_plots[2].sceneBoundingRect()
    pos = view.widget.mapFromScene(rect.center())
    from PySide6 import QtCore
    with qtbot.waitSignal(view.paramsRequested) as picked:
        qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert picked.args[0] == {"classifier": "tree", "compare": False}
    session.set_params(picked.args[0])
    view.set_params(session.params)
    view.show(session.frame)
    assert not view.compare_plots[0].isVisible() or view.compare_layout.scene() is None or view.plots["map"].isVisible()


def test_csv_import_errors_are_messages_and_change_nothing(qtbot, make_view, tmp_path):
    session = Session(SCENE, {"n_samples": 40})
    view = make_view(session)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n3,zz,b\n5,6,a\n7,8,b\n")
    requested = []
    view.dataRequested.connect(requested.append)
    with qtbot.waitSignal(view.messageRequested) as message:
        assert not view.import_csv(str(bad))
    assert "row 3" in message.args[0] and "'y'" in message.args[0]
    assert requested == []
    good = tmp_path / "good.csv"
    good.write_text("1,2,a\n3,4,b\n5,6,a\n7,8,b\n9,9,c\n")
    assert view.import_csv(str(good))
    assert requested[-1]["names"] == ["a", "b", "c"] and view.n_draw_classes == 3


def test_compare_grid_of_a_large_data_set_is_drawn_in_slices_and_settles(qtbot, make_view):
    from scenes.decision_boundaries import view as view_module
    session = Session(SCENE, {"compare": True, "n_samples": 1000})
    view = make_view(session)
    names = list(session.frame.data["compare_names"])
    assert len(names) == 6
    # Nothing older than the newest frame is ever drawn, and the grid completes on its own.
    qtbot.waitUntil(lambda: not view.compare_pending, timeout=10000)
    assert all(plot.isVisible() for plot in view.compare_plots[:6])
    # Force one plot per slice: a new frame starts over, settle() finishes it at once.
    original = view_module.COMPARE_SLICE_MS
    view_module.COMPARE_SLICE_MS = 0
    try:
        session.set_params({"noise": 0.5})
        view.show(session.frame)
        assert view.compare_pending
        view.settle()
        assert not view.compare_pending
    finally:
        view_module.COMPARE_SLICE_MS = original
    titles = [plot.titleLabel.text for plot in view.compare_plots[:6]]
    accuracy = session.frame.data["compare_accuracy"]
    assert all(f"test {accuracy[i, 1]:.0%}" in titles[i] for i in range(6))
