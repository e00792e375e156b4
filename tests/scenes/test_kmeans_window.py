"""The K-Means scene in the real window: assign and update half-steps drawn as the frame says (points
per cluster, the Voronoi shading, centroids at the means, arrows), a centroid dragged with the mouse,
manual placement, k changed in the panel, exact step back, k-means++ pick sizes, the k > n state,
drawn and imported points, the elbow / silhouette panels, the layout at two window sizes; plus the
view's NumPy helpers and `ml-explorer render kmeans`."""
import json

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import cli
from scenes.kmeans import view as km_view

from tests.conftest import wait_ready
from tests.mouse import drag, mouse, widget_point


@pytest.fixture
def window(open_window, qtbot):
    win = open_window("kmeans", size=(1280, 800))
    qtbot.waitUntil(lambda: win.view.frame is not None, timeout=20000)
    return win


def action(window, text):
    return next(a for a in window.actions() if a.text() == text)








def drawn_points(item):
    x, y = item.getData()
    return np.column_stack([x, y]) if x is not None and len(x) else np.zeros((0, 2))


def drawn_centroids(view):
    return drawn_points(view.centroid_item)


def brute_nearest(points, centroids):
    """Nearest centroid by explicit differences (independent of the GEMM form)."""
    d = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d, axis=1)


def drawn_state(view):
    """Everything the main plot and the inertia plot show, as arrays."""
    state = {f"cluster_{c}": drawn_points(item) for c, item in enumerate(view.cluster_items)}
    state["unassigned"] = drawn_points(view.unassigned_item)
    state["centroids"] = drawn_centroids(view)
    state["voronoi"] = np.array(view.voronoi.image)
    x, y = view.arrows.getData()
    state["arrows"] = np.column_stack([x, y]) if x is not None and len(x) else np.zeros((0, 2))
    x, y = view.inertia_curve.getData()
    state["inertia"] = np.column_stack([x, y]) if x is not None and len(x) else np.zeros((0, 2))
    state["corner"] = view.corner.textItem.toPlainText()
    return state


# -- half-steps -------------------------------------------------------------------------------------------
def test_assign_then_update_moves_the_drawn_centroids_to_the_means_of_their_points(window, qtbot):
    view = window.view
    frame = window.session.frame
    assert frame.step == 0 and frame.data["phase"] == "init"
    start = np.array(frame.data["centroids"])
    np.testing.assert_array_equal(drawn_centroids(view), start)
    action(window, "Step").trigger()
    frame = window.session.frame
    assert frame.data["phase"] == "assign"
    points, labels = np.array(frame.data["points"]), np.array(frame.data["labels"])
    np.testing.assert_array_equal(labels, brute_nearest(points, start))
    # One scatter per cluster holding exactly that cluster's points; nothing unassigned.
    for c in range(3):
        np.testing.assert_array_equal(drawn_points(view.cluster_items[c]), points[labels == c])
        assert view.cluster_items[c].opts["brush"].color().name() == QtGui.QColor(km_view.cluster_color(c)).name()
    assert not view.unassigned_item.isVisible()
    # The shading: every grid cell in the region colour of its nearest centroid.
    x0, y0, w, h = (view.voronoi.mapRectToParent(view.voronoi.boundingRect()).getRect())
    n = km_view.GRID
    xs, ys = x0 + (np.arange(n) + 0.5) * w / n, y0 + (np.arange(n) + 0.5) * h / n
    gx, gy = np.meshgrid(xs, ys)
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    expected = km_view.REGION_RGBA[brute_nearest(cells, start)].reshape(n, n, 4)
    mismatched = np.any(view.voronoi.image != expected, axis=2).mean()
    assert mismatched < 0.002  # float32 ties on region borders only
    assert "iteration 1 · assign" in view.corner.textItem.toPlainText()
    assert not view.arrows.isVisible()

    action(window, "Step").trigger()
    frame = window.session.frame
    assert frame.data["phase"] == "update"
    means = np.array([points[labels == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(drawn_centroids(view), means, rtol=0, atol=1e-12)
    # Arrows old -> new: each arrow's shaft runs from the start to its mean.
    x, y = view.arrows.getData()
    segments = np.column_stack([x, y]).reshape(-1, 2, 2)
    for old, new in zip(start, means):
        assert any(np.allclose(s[0], old) and np.allclose(s[1], new) for s in segments)
    assert view.arrows.isVisible() and "iteration 1 · update" in view.corner.textItem.toPlainText()
    # Inertia per iteration: the frame's history (log10 on the plot's log axis).
    ix, iy = view.inertia_curve.getData()
    np.testing.assert_allclose(10 ** iy, frame.data["inertia_history"], rtol=1e-12)
    assert view.plots["inertia"].getAxis("left").logMode
    np.testing.assert_array_equal(ix, np.arange(1, len(iy) + 1))


def test_step_back_twice_restores_the_earlier_drawing_exactly(window, qtbot):
    step = action(window, "Step")
    for _ in range(3):
        step.trigger()
    at_three = drawn_state(window.view)
    assert window.session.frame.step == 3
    for _ in range(2):
        step.trigger()
    after = drawn_state(window.view)
    assert not np.array_equal(after["centroids"], at_three["centroids"]) or \
        not np.array_equal(after["voronoi"], at_three["voronoi"])
    back = action(window, "Step back")
    back.trigger()
    back.trigger()
    assert window.session.frame.step == 3
    again = drawn_state(window.view)
    for name, value in at_three.items():
        if isinstance(value, str):
            assert again[name] == value, name
        else:
            np.testing.assert_array_equal(again[name], value, err_msg=name)


def test_coarse_step_finishes_an_iteration(window, qtbot):
    window.coarse_step()
    frame = window.session.frame
    assert frame.data["phase"] == "update" and frame.data["iteration"] == 1
    assert "iteration 1 · update" in window.view.corner.textItem.toPlainText()
    window.coarse_step()
    frame = window.session.frame
    assert frame.data["phase"] == "update" and frame.data["iteration"] == 2
    np.testing.assert_array_equal(drawn_centroids(window.view), frame.data["centroids"])
    assert "iteration 2 · update" in window.view.corner.textItem.toPlainText()


# -- dragging and placing centroids --------------------------------------------------------------------
@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_a_dragged_centroid_is_recorded_and_the_next_assign_uses_it(window, qtbot):
    step = action(window, "Step")
    for _ in range(2):
        step.trigger()
    view = window.view
    frame = window.session.frame
    assert frame.step == 2
    centroids = np.array(frame.data["centroids"])
    x0, y0, w, h = view._extent
    target = (x0 + 0.12 * w, y0 + 0.85 * h)
    drag(qtbot, view, centroids[0], target)
    qtbot.waitUntil(lambda: window.params["centroids_set"] != "", timeout=3000)
    document = json.loads(window.params["centroids_set"])
    assert document["step"] == 2 and len(document["centroids"]) == 3
    moved = np.array(document["centroids"])
    pixel = max(view.plots["main"].vb.viewPixelSize())
    assert np.hypot(*(moved[0] - target)) < 3 * pixel  # where the mouse was let go
    np.testing.assert_array_equal(moved[1:], centroids[1:])
    assert window.session.frame.step == 2  # live: the same run, the same frame
    np.testing.assert_array_equal(drawn_centroids(view), moved)
    step.trigger()
    frame = window.session.frame
    assert frame.step == 3 and frame.data["phase"] == "assign"
    np.testing.assert_array_equal(np.array(frame.data["centroids"]), moved)
    points = np.array(frame.data["points"])
    np.testing.assert_array_equal(np.array(frame.data["labels"]), brute_nearest(points, moved))
    for c in range(3):
        np.testing.assert_array_equal(drawn_points(view.cluster_items[c]), points[frame.data["labels"] == c])


@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_a_drag_that_starts_away_from_the_centroids_changes_nothing(window, qtbot):
    view = window.view
    centroids = np.array(window.session.frame.data["centroids"])
    x0, y0, w, h = view._extent
    far = np.array([x0 + 0.02 * w, y0 + 0.02 * h])
    assert np.hypot(*(centroids - far).T).min() > 0.1 * w
    drag(qtbot, view, far, far + [0.2 * w, 0.2 * h])
    assert window.params["centroids_set"] == ""
    np.testing.assert_array_equal(drawn_centroids(view), centroids)


@pytest.mark.qt_log_ignore(r"Mouse event .* not accepted")
def test_manual_init_places_centroids_by_clicking(window, qtbot):
    window.set_params({"init": "manual", "k": 2})
    wait_ready(qtbot, window)
    view = window.view
    assert view.overlay.isVisible() and "place" in view.overlay.textItem.toPlainText()
    x0, y0, w, h = view._extent
    spots = [(x0 + 0.3 * w, y0 + 0.4 * h), (x0 + 0.7 * w, y0 + 0.6 * h)]
    for spot in spots:
        qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton,
                         QtCore.Qt.KeyboardModifier.NoModifier, widget_point(view, view.plots["main"].vb, spot))
    document = json.loads(window.params["centroids_set"])
    assert document["step"] == 0
    placed = np.array(document["centroids"])
    pixel = max(view.plots["main"].vb.viewPixelSize())
    np.testing.assert_allclose(placed, spots, atol=2 * pixel)
    wait_ready(qtbot, window)
    np.testing.assert_array_equal(drawn_centroids(view), placed)
    assert not view.overlay.isVisible()
    action(window, "Step").trigger()
    frame = window.session.frame
    assert frame.data["phase"] == "assign"
    np.testing.assert_array_equal(frame.data["labels"], brute_nearest(np.array(frame.data["points"]), placed))


# -- panel, states ---------------------------------------------------------------------------------------
def test_k_changed_in_the_panel_draws_k_clusters_and_marks_k_in_the_elbow(window, qtbot):
    window.panel.controls["k"].editor.setValue(5)
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.session.frame.data["k"] == 5, timeout=20000)
    view = window.view
    assert len(drawn_centroids(view)) == 5
    action(window, "Step").trigger()
    frame = window.session.frame
    labels = np.array(frame.data["labels"])
    shown = [c for c, item in enumerate(view.cluster_items) if item.isVisible()]
    assert shown == sorted(set(labels.tolist()))
    assert sum(len(drawn_points(item)) for item in view.cluster_items) == len(labels)
    assert view.elbow_k.value() == 5 and view.silhouette_k_line.value() == 5
    mx, my = view.elbow_mark.getData()
    assert list(mx) == [5]
    ks, inertia = view.elbow_curve.getData()
    assert my[0] == inertia[list(ks).index(5)]
    # This run's inertia as a cross at k = 5.
    rx, ry = view.elbow_run.getData()
    assert list(rx) == [5] and list(ry) == [frame.data["inertia"]] and view.elbow_run.isVisible()


def test_k_more_than_the_points_is_a_message(window, qtbot):
    window.set_params({"n_samples": 10, "k": 12})
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.session.frame.data["k"] == 12, timeout=20000)
    overlay = window.view.overlay
    assert overlay.isVisible() and "12" in overlay.textItem.toPlainText()
    action(window, "Step").trigger()  # nothing to do, nothing raised
    assert overlay.isVisible()


def test_kmeans_plus_plus_picks_show_the_d2_probabilities_as_point_size(window, qtbot):
    window.set_params({"init": "kmeans_plus_plus"})
    wait_ready(qtbot, window)
    action(window, "Step").trigger()
    frame = window.session.frame
    assert frame.data["phase"] == "init_pick" and len(frame.data["centroids"]) == 1
    view = window.view
    p = np.array(frame.data["pick_probabilities"])
    sizes = np.array([spot.size() for spot in view.unassigned_item.points()])
    np.testing.assert_array_equal(drawn_points(view.unassigned_item), np.array(frame.data["points"]))
    np.testing.assert_array_equal(sizes, np.round(2 + 12 * np.sqrt(p / p.max())))
    # The pick itself has probability 0: the smallest size.
    picked = np.flatnonzero(np.all(np.array(frame.data["points"]) == frame.data["centroids"][0], axis=1))
    assert len(picked) and (sizes[picked] == 2).all()
    assert "pick 2" in view.corner.textItem.toPlainText()


# -- elbow and silhouette ----------------------------------------------------------------------------------
def test_elbow_and_silhouette_panels_show_the_analysis_of_the_shown_points(window, qtbot):
    from scenes.kmeans import analysis

    view = window.view
    points = np.array(window.session.frame.data["points"])
    ks, inertia = view.elbow_curve.getData()
    np.testing.assert_array_equal(ks, np.arange(1, 11))
    np.testing.assert_allclose(inertia, analysis.elbow(points, ks=list(range(1, 11)), n_init=3, seed=window.seed),
                               rtol=1e-12)
    sks, silhouette = view.silhouette_k_curve.getData()
    np.testing.assert_array_equal(sks, np.arange(2, 11))
    np.testing.assert_allclose(silhouette, analysis.silhouette_vs_k(points, ks=list(range(2, 11)), seed=window.seed),
                               rtol=1e-12)
    assert np.all(np.diff(inertia) <= 1e-9 * inertia[0])
    # The silhouette plot of the clustering after an assign: the samples of the subsample, sorted per cluster.
    action(window, "Step").trigger()
    labels = np.array(window.session.frame.data["labels"])
    index = km_view.subsample_index(len(points))
    from sklearn.metrics import silhouette_samples

    expected = silhouette_samples(points[index], labels[index])
    for c in range(3):
        rows, width = view.silhouette_shown[c]
        np.testing.assert_allclose(width, np.sort(expected[labels[index] == c])[::-1], rtol=1e-9, atol=1e-12)
        # The drawn outline reaches each value on its row.
        rect = view.silhouette_bars[c].path().boundingRect()
        assert rect.right() == pytest.approx(max(width.max(), 0)) and rect.top() == rows[0]
    assert view.silhouette_mean.label.textItem.toPlainText() == f"mean {expected.mean():.2f}"
    assert view.silhouette_mean.value() == pytest.approx(expected.mean(), rel=1e-9)


# -- your own points --------------------------------------------------------------------------------------
def test_drawn_points_become_the_data_and_are_analysed(window, qtbot):
    view = window.view
    n = len(window.session.frame.data["points"])
    view.tool_buttons["Draw points"].setChecked(True)
    x0, y0, w, h = view._extent
    spots = [(x0 + 0.05 * w, y0 + 0.95 * h), (x0 + 0.07 * w, y0 + 0.93 * h)]
    for spot in spots:
        qtbot.mouseClick(view.widget.viewport(), QtCore.Qt.MouseButton.LeftButton,
                         QtCore.Qt.KeyboardModifier.NoModifier, widget_point(view, view.plots["main"].vb, spot))
    assert window.data is not None and len(window.data["x"]) == n + 2
    wait_ready(qtbot, window)
    points = np.array(window.session.frame.data["points"])
    assert len(points) == n + 2
    pixel = max(view.plots["main"].vb.viewPixelSize())
    np.testing.assert_allclose(points[-2:], spots, atol=2 * pixel)
    assert view.data_label.text() == f"Your points: {n + 2}"
    # The elbow of the user's points is computed in the view's worker.
    qtbot.waitUntil(lambda: view.prepared is not None and view.prepared["fingerprint"] == km_view.fingerprint(points),
                    timeout=30000)
    view.show(window.session.frame)
    assert view.elbow_curve.isVisible()
    seed = window.params["data_seed"]
    view.tool_buttons["Regenerate"].click()
    wait_ready(qtbot, window)
    assert window.data is None and window.params["data_seed"] == seed + 1


def test_import_runs_in_a_worker_and_a_bad_file_changes_nothing(window, qtbot, tmp_path):
    view = window.view
    messages = []
    view.messageRequested.connect(messages.append)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n1,oops,b\n", encoding="utf-8")
    session = window.session
    assert not view.import_csv(str(bad))
    assert messages[-1].startswith("CSV import of bad.csv:") and window.session is session
    rng = np.random.default_rng(1)
    rows = ["a,b,kind"] + [f"{x:.4f},{y:.4f},{'p' if i % 2 else 'q'}" for i, (x, y) in
                           enumerate(rng.normal(size=(60, 2)) * 3)]
    good = tmp_path / "cloud.csv"
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    view.start_import(str(good))
    assert view.importing and window.data is None
    qtbot.waitUntil(lambda: not view.importing, timeout=30000)
    wait_ready(qtbot, window)
    points = np.array(window.session.frame.data["points"])
    assert points.shape == (60, 2)
    assert view.data_label.text() == "Imported: cloud.csv (60 points)"


# -- layout ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_every_plot_has_room_and_nothing_overlaps(open_window, qtbot, size):
    window = open_window("kmeans", size=size)
    qtbot.waitUntil(lambda: window.view.frame is not None, timeout=20000)
    QtWidgets.QApplication.processEvents()
    view = window.view
    rects = {name: plot.sceneBoundingRect() for name, plot in view.plots.items()}
    bounds = QtCore.QRectF(view.widget.sceneRect())
    for name, rect in rects.items():
        assert rect.width() > 40 and rect.height() > 40, (name, rect)
        assert bounds.contains(rect), (name, rect, bounds)
        assert view.plots[name].vb.width() > 30 and view.plots[name].vb.height() > 30, name
        title = view.plots[name].titleLabel
        assert title.item.boundingRect().width() <= title.boundingRect().width() + 1, name  # never cut
        assert bounds.contains(title.item.sceneBoundingRect()), name
    names = list(rects)
    for a in names:
        for b in names:
            if a < b:
                overlap = rects[a].intersected(rects[b])
                assert overlap.width() * overlap.height() < 1.0, (a, b, overlap)
    # The main plot is the largest and shows all the points.
    main = rects["main"]
    assert all(main.width() * main.height() > 2 * r.width() * r.height() for n, r in rects.items() if n != "main")
    (x0, x1), (y0, y1) = view.plots["main"].vb.viewRange()
    # The shading covers everything the main plot shows.
    shaded = view.voronoi.mapRectToParent(view.voronoi.boundingRect())
    assert shaded.left() <= x0 and shaded.right() >= x1 and shaded.top() <= y0 and shaded.bottom() >= y1
    points = np.array(window.session.frame.data["points"])
    assert x0 <= points[:, 0].min() and x1 >= points[:, 0].max()
    assert y0 <= points[:, 1].min() and y1 >= points[:, 1].max()
    strip = view.tools()
    for button in view.tool_buttons.values():
        assert strip.rect().contains(button.geometry()), button.text()


# -- NumPy helpers ------------------------------------------------------------------------------------
def test_voronoi_image_is_the_nearest_centroid_of_every_cell():
    extent = (-3.0, -2.0, 6.0, 6.0)
    grid = km_view.grid_points(extent, 50)
    centroids = np.array([[-1.0, 0.0], [2.0, 2.5], [0.5, -1.5]])
    rgba = km_view.voronoi_rgba(grid, (grid * grid).sum(axis=1), centroids, 50)
    np.testing.assert_array_equal(rgba.reshape(-1, 4), km_view.REGION_RGBA[brute_nearest(grid, centroids)])
    # Row 0 is the bottom of the square: the first cell's centre is the lower-left corner's.
    np.testing.assert_allclose(grid[0], [-3.0 + 0.06, -2.0 + 0.06])
    assert (km_view.voronoi_rgba(grid, (grid * grid).sum(axis=1), np.zeros((0, 2)), 50) == 255).all()


def test_ellipse_is_two_sigma_of_the_covariance():
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    x, y = km_view.ellipse_lines([[1.0, -2.0]], [cov])
    d = np.column_stack([x, y])[np.isfinite(x)] - [1.0, -2.0]
    # Every point of the 2-sigma ellipse has Mahalanobis distance 2.
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d), 4.0, rtol=1e-9)


def test_centroids_document_round_trips_and_the_simulation_accepts_it():
    from scenes.kmeans import sim

    text = km_view.centroids_document(7, np.array([[1.5, -2.0], [0.25, 3.0]]))
    assert json.loads(text) == {"step": 7, "centroids": [[1.5, -2.0], [0.25, 3.0]]}
    step, centroids = km_view.parse_centroids(text)
    assert step == 7 and centroids.tolist() == [[1.5, -2.0], [0.25, 3.0]]
    sim.check_centroids_set(text)
    assert km_view.parse_centroids("") is None and km_view.parse_centroids("{oops") is None


# -- headless render ------------------------------------------------------------------------------------
def test_render_writes_points_labels_centroids_and_inertia(tmp_path, qapp):
    out_json, out_png = tmp_path / "km.json", tmp_path / "km.png"
    assert cli.main(["render", "kmeans", "--steps", "20", "--width", "900",
                     "--out", str(out_json), "--out", str(out_png)]) == 0
    document = json.loads(out_json.read_text(encoding="utf-8"))
    frame = document["frame"]
    points, labels = np.array(frame["points"]), np.array(frame["labels"])
    centroids = np.array(frame["centroids"])
    assert points.shape == (500, 2) and labels.shape == (500,) and centroids.shape == (3, 2)
    # Another program can check the run: the labels are the nearest centroids or the centroids the
    # means (whichever half-step the render stopped at), and the inertia is theirs.
    if frame["phase"] == "update":
        np.testing.assert_allclose(centroids, [points[labels == c].mean(axis=0) for c in range(3)], atol=1e-9)
    else:
        np.testing.assert_array_equal(labels, brute_nearest(points, centroids))
    if frame["phase"] == "assign":
        assert frame["inertia"] == pytest.approx(((points - centroids[labels]) ** 2).sum(), rel=1e-9)
    assert len(frame["inertia_history"]) >= 1
    image = QtGui.QImage(str(out_png))
    assert image.width() == 900 and image.height() > 300


def test_every_half_step_of_a_whole_run_draws_exactly_the_frames_clusters(window, qtbot):
    # Late assigns move a few points: only the clusters that gained or lost some are redrawn.
    window.set_params({"dataset": "uniform", "n_samples": 2000, "k": 6})
    wait_ready(qtbot, window)
    view = window.view
    step = action(window, "Step")
    only_lost = 0
    previous = None
    for _ in range(120):
        step.trigger()
        frame = window.session.frame
        points, labels = np.array(frame.data["points"]), np.array(frame.data["labels"])
        for c in range(6):
            np.testing.assert_array_equal(drawn_points(view.cluster_items[c]), points[labels == c])
        if previous is not None:
            lost = set(previous[previous != labels].tolist()) - set(labels[previous != labels].tolist())
            only_lost += bool(lost)
        previous = labels
        if window.session.done:
            break
    assert only_lost > 0  # the run had an assign where some cluster only lost points
    # Back through the run: each frame's clusters again.
    back = action(window, "Step back")
    for _ in range(10):
        back.trigger()
        frame = window.session.frame
        points, labels = np.array(frame.data["points"]), np.array(frame.data["labels"])
        for c in range(6):
            np.testing.assert_array_equal(drawn_points(view.cluster_items[c]), points[labels == c])


def test_gaussian_mixture_blends_colours_shades_likeliest_components_and_draws_2_sigma_ellipses(window, qtbot):
    from scenes.kmeans import sim

    window.apply_preset("Anisotropic: EM succeeds")
    wait_ready(qtbot, window)
    view = window.view
    step = action(window, "Step")
    for _ in range(20):
        step.trigger()
        if window.session.frame.data["phase"] == "e_step" and window.session.frame.data["iteration"] >= 2:
            break
    frame = window.session.frame
    data = frame.data
    assert data["algorithm"] == "gmm" and data["phase"] == "e_step"
    points = np.array(data["points"])
    r = np.array(data["responsibilities"], dtype=float)
    k = r.shape[1]
    # Every point in the responsibility-weighted mix of the component colours (5-bit channels).
    assert view.blend_item.isVisible() and not any(item.isVisible() for item in view.cluster_items)
    np.testing.assert_array_equal(drawn_points(view.blend_item), points)
    colours = np.array([[b.color().red(), b.color().green(), b.color().blue()]
                        for b in view.blend_item.data["brush"]], dtype=float)
    expected = r @ km_view.CLUSTER_RGB[:k] / r.sum(axis=1, keepdims=True)
    assert np.abs(colours - expected).max() <= 8
    # The shading: the most likely component of every cell (the simulation's own E-step on the grid).
    x0, y0, w, h = view.voronoi.mapRectToParent(view.voronoi.boundingRect()).getRect()
    n = km_view.GRID
    xs, ys = x0 + (np.arange(n) + 0.5) * w / n, y0 + (np.arange(n) + 0.5) * h / n
    gx, gy = np.meshgrid(xs, ys)
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    grid_r, _ = sim.e_step(cells, np.array(data["mixture_weights"]), np.array(data["centroids"]),
                           np.array(data["covariances"]))
    shaded = km_view.REGION_RGBA[np.argmax(grid_r, axis=1)].reshape(n, n, 4)
    assert np.any(view.voronoi.image != shaded, axis=2).mean() < 0.002
    # Ellipses: every drawn point at Mahalanobis distance 2 from its component.
    x, y = view.ellipses.getData()
    assert view.ellipses.isVisible()
    pieces = np.split(np.column_stack([x, y]), np.flatnonzero(~np.isfinite(x)) + 1)
    pieces = [p[np.isfinite(p[:, 0])] for p in pieces if np.isfinite(p[:, 0]).any()]
    assert len(pieces) == k
    for piece, mean, cov in zip(pieces, data["centroids"], data["covariances"]):
        d = piece - mean
        np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d), 4.0, rtol=1e-6)
    assert "E-step" in view.corner.textItem.toPlainText()
    assert not view.plots["inertia"].getAxis("left").logMode  # a log-likelihood
    ix, iy = view.inertia_curve.getData()
    np.testing.assert_allclose(iy, data["log_likelihood_history"])


def test_minibatch_rings_the_batch_points(window, qtbot):
    window.set_params({"algorithm": "minibatch", "batch_size": 40})
    wait_ready(qtbot, window)
    view = window.view
    assert not view.batch_item.isVisible()
    action(window, "Step").trigger()
    data = window.session.frame.data
    assert data["phase"] == "assign"
    batch = np.array(data["points"])[np.unique(data["batch_indices"])]
    np.testing.assert_array_equal(drawn_points(view.batch_item), batch)
    window.set_params({"algorithm": "lloyd"})
    wait_ready(qtbot, window)
    assert not view.batch_item.isVisible()


def test_an_empty_cluster_is_relocated_and_the_plot_says_so(window, qtbot):
    points = np.array(window.session.frame.data["points"])
    far = points.mean(axis=0) + 1000.0
    placed = km_view.centroids_document(0, np.array([points.mean(axis=0), far]))
    window.set_params({"init": "manual", "k": 2, "centroids_set": placed})
    wait_ready(qtbot, window)
    view = window.view
    step = action(window, "Step")
    step.trigger()  # assign: every point to the first centroid
    assert (np.array(window.session.frame.data["labels"]) == 0).all()
    assert not view.notice.isVisible()
    step.trigger()  # update: the empty cluster goes to the point farthest from its centroid
    data = window.session.frame.data
    assert list(data["empty_clusters"]) == [1]
    farthest = points[np.argmax(((points - points.mean(axis=0)) ** 2).sum(axis=1))]
    np.testing.assert_allclose(drawn_centroids(view)[1], farthest)
    assert view.notice.isVisible()
    text = view.notice.textItem.toPlainText()
    assert "empty cluster 1" in text and "farthest" in text  # numbered as in the status line
    assert "empty cluster 1" in window.session.frame.message
    # The notice sits inside the main plot.
    assert view.plots["main"].vb.sceneBoundingRect().contains(view.notice.sceneBoundingRect())
    step.trigger()
    assert not view.notice.isVisible()


def test_splat_points_draws_each_point_as_a_square_in_its_colour_later_over_earlier():
    rect = (0.0, 0.0, 10.0, 10.0)
    points = np.array([[0.5, 0.5], [5.5, 2.5], [6.2, 2.5], [99.0, 99.0], [np.nan, 1.0]])
    words = np.array([1, 2, 3, 4, 5], dtype=np.uint32)
    image = km_view.splat_points(points, words, rect, 10, radius=1).view(np.uint32)[..., 0]
    expected = np.zeros((10, 10), dtype=np.uint32)
    expected[0:2, 0:2] = 1           # clipped at the corner
    expected[1:4, 4:7] = 2
    expected[1:4, 5:8] = 3           # the later point covers the earlier one's right side
    np.testing.assert_array_equal(image, expected)  # off-image and NaN points draw nothing


def test_steady_range_moves_only_when_the_data_leave_it_or_fill_too_little():
    shown = km_view.steady_range(None, 10.0, 20.0)
    assert shown[0] < 10 and shown[1] > 20
    assert km_view.steady_range(shown, 11.0, 19.5) == shown  # inside and still filling it: unchanged
    assert km_view.steady_range(shown, 5.0, 19.0) != shown   # left it
    assert km_view.steady_range(shown, 14.0, 15.0) != shown  # fills under 70 %


def test_more_than_dense_points_are_one_image_with_every_cluster_colour(window, qtbot):
    window.set_params({"dataset": "uniform", "n_samples": 5000, "k": 4})
    wait_ready(qtbot, window)
    view = window.view
    step = action(window, "Step")
    step.trigger()  # an assign: every point has a cluster
    frame = window.session.frame
    points, labels = np.array(frame.data["points"]), np.array(frame.data["labels"])
    assert len(points) > km_view.DENSE_POINTS and str(frame.data["phase"]) == "assign"
    assert view.points_image.isVisible() and not any(item.isVisible() for item in view.cluster_items)
    image = np.asarray(view.points_image.image).view(np.uint32)[..., 0]
    x0, y0, w, h = view._shaded
    n = image.shape[0]
    col = np.floor((points[:, 0] - x0) * n / w).astype(int)
    row = np.floor((points[:, 1] - y0) * n / h).astype(int)
    drawn = image[row, col]
    # A point's centre pixel has its own colour unless a later (higher-cluster) point shares it.
    own = drawn == km_view.CLUSTER_WORDS[labels]
    assert own.mean() > 0.97
    assert set(np.unique(image[image != 0]).tolist()) == set(km_view.CLUSTER_WORDS[np.unique(labels)].tolist())
    before = image.copy()
    step.trigger()
    step.trigger()  # update, then the next assign recolours
    after = np.asarray(view.points_image.image).view(np.uint32)[..., 0]
    assert not np.array_equal(before, after)
