"""Your own f(x, y) and the 3-D view of the gradient-descent scene: the whitelist parser refuses hostile
and malformed text without evaluating it; gradients equal central differences; typed built-in surfaces
race exactly as the built-in ones; f* is found over the domain; undefined regions are states; in the
real window: type an expression, a bad one, the 3-D toggle and a drag that turns it."""
import builtins
import json
import math

import numpy as np
import pytest
from PySide6 import QtCore, QtTest

from explorer import cli
from explorer.projection import orthographic, turned
from explorer.session import Session
from scenes.gradient_descent import SCENE
from scenes.gradient_descent import expression as ex
from scenes.gradient_descent import view as gd_view
from scenes.gradient_descent.sim import GradientDescentSimulation
from scenes.gradient_descent.surfaces import custom, make_surface

from tests.conftest import wait_ready
from tests.mouse import drag_pixels

HOSTILE = [
    "__import__('os').system('echo hi')", "().__class__.__bases__", "x.__class__", "x.real", "eval('1')",
    "exec('x=1')", "open('/etc/passwd')", "lambda x: x", "[x for x in (1, 2)]", "{x: 1}", "'abc'", '"x"',
    "x if y else 1", "x; y", "x = 1", "x == y", "x < y", "not x", "x and y", "x @ y", "x % 2", "x // 2",
    "x ^ 2", "9**9**9", "exp(1e5)", "1e999", "(" * 60 + "x" + ")" * 60, "-" * 80 + "x", "x" + "+x" * 300,
    "sin", "sin x", "sin()", "min(x)", "max(x, y, 1)", "z + 1", "foo(x)", "", "   ", "x +", "* x", "(x",
    "x)", "x y", "x,y", "$x", "x\ny", "x # comment", "\\x", "log(-1)", "sqrt(-1) + x", "1/0 + x", "π*x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_parser_refuses_hostile_and_malformed_text_without_evaluating_it(text, monkeypatch):
    def forbidden(*_args, **_kwargs):
        raise AssertionError("the parser called eval/exec/compile")

    for name in ("eval", "exec", "compile", "__import__"):
        if name != "__import__":
            monkeypatch.setattr(builtins, name, forbidden)
    with pytest.raises(ex.ExpressionError) as error:
        ex.parse(text)
    message = str(error.value)
    assert message and len(message) < 400
    with pytest.raises(Exception):
        SCENE.resolve({"surface": "custom", "expression": text})


def test_messages_point_at_the_character():
    with pytest.raises(ex.ExpressionError, match=r"unknown name 'z' at column 7"):
        ex.parse("x + y*z")
    with pytest.raises(ex.ExpressionError, match=r"unbalanced parenthesis: '\(' at column 5 is never closed"):
        ex.parse("x + (y - 1")
    with pytest.raises(ex.ExpressionError, match=r"unbalanced parenthesis: '\)' at column 6 has no '\('"):
        ex.parse("x + y)")
    with pytest.raises(ex.ExpressionError, match=r"write powers as \*\*"):
        ex.parse("x^2")


def random_expression(rng, depth=0):
    """A random expression text over x and y, defined near the sample points (log and sqrt of squares + 1)."""
    if depth > 3 or rng.random() < 0.25:
        return str(rng.choice(["x", "y", f"{rng.uniform(-2, 2):.3f}", "pi"]))
    kind = rng.integers(0, 10)
    a, b = random_expression(rng, depth + 1), random_expression(rng, depth + 1)
    if kind < 4:
        return f"({a} {rng.choice(['+', '-', '*'])} {b})"
    if kind == 4:
        return f"({a}) / (1.5 + ({b})**2)"
    if kind == 5:
        return f"({a})**{rng.integers(2, 4)}"
    if kind == 6:
        return f"{rng.choice(['sin', 'cos', 'tanh', 'sigmoid', 'atan'])}({a})"
    if kind == 7:
        return f"{rng.choice(['log', 'sqrt'])}(1 + ({a})**2)"
    if kind == 8:
        return f"exp(-({a})**2) * {b}"
    return f"{rng.choice(['min', 'max'])}({a}, {b}) + abs({a} - {b})"


def test_gradients_of_20_random_expressions_equal_central_differences():
    rng = np.random.default_rng(13)
    checked = 0
    while checked < 20:
        text = random_expression(rng)
        tree = ex.parse(text)
        if not ex.uses_variables(tree):
            continue
        checked += 1
        points = rng.uniform(-2, 2, (15, 2))
        h = 1e-6
        for x, y in points:
            x, y = np.float64(x), np.float64(y)
            gx, gy = ex.gradient(tree, x, y)
            fd_x = (ex.evaluate(tree, x + h, y) - ex.evaluate(tree, x - h, y)) / (2 * h)
            fd_y = (ex.evaluate(tree, x, y + h) - ex.evaluate(tree, x, y - h)) / (2 * h)
            # min/max/abs have kinks: skip points within h of one (the difference quotient straddles it).
            kinked = any(abs(fd - g) > 1e-3 * (1 + abs(fd)) for fd, g in ((fd_x, gx), (fd_y, gy))) and \
                any(name in text for name in ("min", "max", "abs"))
            if kinked:
                continue
            scale = 1.0 + abs(fd_x) + abs(fd_y)
            assert gx == pytest.approx(fd_x, abs=1e-5 * scale), text
            assert gy == pytest.approx(fd_y, abs=1e-5 * scale), text


def test_vector_evaluation_equals_pointwise_and_numpy():
    tree = ex.parse("sin(x)*cos(y) + 0.1*(x**2 + y**2) - sigmoid(x*y) + max(x, y)")
    gx, gy = np.meshgrid(np.linspace(-3, 3, 7), np.linspace(-2, 2, 5))
    grid = ex.evaluate(tree, gx, gy)
    expected = np.sin(gx) * np.cos(gy) + 0.1 * (gx**2 + gy**2) - 1 / (1 + np.exp(-gx * gy)) + np.maximum(gx, gy)
    np.testing.assert_allclose(grid, expected, rtol=1e-12)
    assert grid[2, 3] == pytest.approx(float(ex.evaluate(tree, np.float64(gx[2, 3]), np.float64(gy[2, 3]))))


def test_abs_subgradient_at_zero_is_zero_and_min_takes_the_first_at_a_tie():
    assert ex.gradient(ex.parse("abs(x) + y**2"), np.float64(0.0), np.float64(0.0)) == (0.0, 0.0)
    assert tuple(map(float, ex.gradient(ex.parse("min(x, y)"), np.float64(1.0), np.float64(1.0)))) == (1.0, 0.0)


@pytest.mark.parametrize("name, text, domain", [
    ("rosenbrock", "(1 - x)**2 + 100*(y - x**2)**2", (-2.0, 2.0, -1.0, 3.0)),
    ("himmelblau", "(x*x + y - 11)**2 + (x + y*y - 7)**2", (-5.0, 5.0, -5.0, 5.0)),
    ("saddle", "x*x + 0.25*y**4 - y*y", (-2.5, 2.5, -2.5, 2.5)),
])
def test_a_typed_built_in_surface_races_exactly_as_the_built_in_one(name, text, domain):
    common = {"use_gd": True, "use_momentum": True, "use_adam": True, "use_rmsprop": True, "start_x": -1.5,
              "start_y": 2.0, "learning_rate": 0.002, "max_steps": 300}
    built_in = GradientDescentSimulation(SCENE.resolve({**common, "surface": name}), seed=1)
    typed = GradientDescentSimulation(SCENE.resolve({**common, "surface": "custom", "expression": text,
                                                     "x_min": domain[0], "x_max": domain[1], "y_min": domain[2],
                                                     "y_max": domain[3]}), seed=1)
    # The gradients are the same function written in another order: equal to round-off ...
    rng = np.random.default_rng(2)
    for x, y in rng.uniform(-2, 2, (200, 2)):
        for g_typed, g_built in zip(typed.surface.gradient(np.float64(x), np.float64(y)),
                                    built_in.surface.gradient(np.float64(x), np.float64(y))):
            assert g_typed == pytest.approx(g_built, rel=1e-13, abs=1e-12)
    for _ in range(300):
        a, b = built_in.step(), typed.step()
    for optimiser in ("gd", "momentum", "adam", "rmsprop"):
        # ... so the races agree to round-off for the first 100 steps; later the oscillation across
        # Rosenbrock's narrow valley amplifies 1e-16 differences (to ~1e-6 by step 300), as it would any
        # re-ordering of the same arithmetic.
        ours, theirs = b.data[f"{optimiser}.trail"], a.data[f"{optimiser}.trail"]
        np.testing.assert_allclose(ours[:101], theirs[:101], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
        assert b.data[f"{optimiser}.status"].split(" at ")[0] == a.data[f"{optimiser}.status"].split(" at ")[0]
    # f* found numerically equals the known minimum value.
    assert typed.f_star == pytest.approx(built_in.f_star, abs=1e-9)
    assert "f* ≈" in b.message and "estimated" in b.message


def test_f_star_is_the_domain_minimum_and_minima_are_stationary():
    surface = custom("sin(x)*cos(y) + 0.1*(x**2 + y**2)", (-3, 3, -3, 3))
    grid = np.linspace(-3, 3, 601)
    gx, gy = np.meshgrid(grid, grid)
    brute = float(np.min(np.sin(gx) * np.cos(gy) + 0.1 * (gx**2 + gy**2)))
    assert surface.f_min <= brute + 1e-12 and surface.f_min == pytest.approx(brute, abs=1e-4)
    assert len(surface.minima) == 3  # the global well and the two local ones at y = ±2.57
    for mx, my in surface.minima:
        assert math.hypot(*surface.gradient(np.float64(mx), np.float64(my))) < 1e-9


def test_undefined_regions_are_drawn_grey_and_stepping_into_them_is_divergence():
    values = {"surface": "custom", "expression": "sqrt(x) + y**2", "x_min": -2.0, "x_max": 2.0, "y_min": -2.0,
              "y_max": 2.0, "start_x": 0.5, "start_y": 1.0, "learning_rate": 0.5, "use_gd": True,
              "use_momentum": False, "use_adam": False, "max_steps": 50}
    simulation = GradientDescentSimulation(SCENE.resolve(values), seed=0)
    frame = simulation.frame()
    for _ in range(50):
        frame = simulation.step()
    assert frame.data["gd.status"].startswith("diverged at step")
    assert np.all(np.isfinite(frame.data["gd.trail"])) and np.all(np.isfinite(frame.data["gd.loss_gap"]))
    prepared = gd_view.prepare_surface(make_surface("custom", expression="sqrt(x) + y**2", domain=(-2, 2, -2, 2)))
    left = prepared.image[prepared.image.shape[0] // 2, prepared.image.shape[1] // 2 - 10]
    assert tuple(left) == (236, 236, 236, 255)
    assert np.isnan(prepared.wire[:, 0]).all() and np.isfinite(prepared.wire[:, -1]).all()


def test_undefined_everywhere_is_a_state_not_an_exception():
    simulation = GradientDescentSimulation(SCENE.resolve({"surface": "custom", "expression": "sqrt(-1 - x**2)",
                                                          "x_min": -1.0, "x_max": 1.0}), seed=0)
    frame = simulation.step()
    assert "f is undefined on the whole domain" in frame.message
    assert all(frame.data[f"{n}.status"].startswith("diverged") for n in ("gd", "momentum", "adam"))


def test_reversed_domain_is_put_in_order_and_said():
    surface = custom("x**2 + y**2", (2.0, -2.0, 1.0, 1.0))
    assert surface.domain == (-2.0, 2.0, 0.0, 2.0)
    assert "x range reversed" in surface.note and "y range empty" in surface.note


def test_session_json_and_render_carry_the_expression(tmp_path):
    out = tmp_path / "run.json"
    text = "abs(x) + y**2"
    assert cli.main(["render", "gradient-descent", "--set", "surface=custom", "--set", f"expression={text}",
                     "--steps", "30", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["params"]["expression"] == text
    again = Session.load(out)
    assert again.frame.data["gd.trail"].tolist() == document["frame"]["gd.trail"]
    png = tmp_path / "run.png"
    assert cli.main(["render", "gradient-descent", "--set", "surface=custom", "--set", "expression=x*y",
                     "--set", "view_3d=true", "--steps", "20", "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000
    assert cli.main(["render", "gradient-descent", "--set", "surface=custom", "--set", "expression=x +* y",
                     "--out", str(tmp_path / "bad.png")]) != 0


# -- 3-D helpers ------------------------------------------------------------------------------------------
def test_wire_lines_and_lifted_trails_share_one_height_scale():
    prepared = gd_view.prepare_surface(make_surface("bowl"))
    lines = gd_view.wire_lines(prepared.wire, prepared.domain)
    n = prepared.wire.shape[0]
    assert lines.shape == (2 * n * (n + 1), 3)
    # A trail point at a wire node has the node's height.
    x0, x1, y0, y1 = prepared.domain
    node = (np.linspace(x0, x1, n)[7], np.linspace(y0, y1, n)[11])
    gap = float(make_surface("bowl").f(np.float64(node[0]), np.float64(node[1])))
    point = gd_view.lifted(np.array([node]), np.array([gap]), prepared)[0]
    assert point[2] == pytest.approx(gd_view.WIRE_HEIGHT * prepared.wire[11, 7] - 0.5 * gd_view.WIRE_HEIGHT, abs=1e-9)
    assert turned(170.0, 80.0, -40.0, 40.0) == (-170.0, 90.0)
    np.testing.assert_allclose(orthographic(np.array([[0.0, 0.0, 1.0]]), 33.0, 0.0), [[0.0, 1.0]], atol=1e-12)


# -- the real window ------------------------------------------------------------------------------------------
@pytest.fixture
def window(open_window, qtbot):
    return open_window("gradient-descent", size=(1280, 800))


def action(window, text):
    return next(a for a in window.actions() if a.text() == text)


def test_type_an_expression_press_enter_and_step_along_it(window, qtbot):
    window.panel.controls["surface"].editor.setCurrentIndex(
        window.panel.controls["surface"].editor.findData("custom"))
    wait_ready(qtbot, window)
    editor = window.panel.controls["expression"].editor
    assert editor.isVisible()
    editor.setFocus()
    editor.selectAll()
    QtTest.QTest.keyClicks(editor, "(x - 1)**2 + 3*(y + 0.5)**2")
    QtTest.QTest.keyClick(editor, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.params["expression"] == "(x - 1)**2 + 3*(y + 0.5)**2", timeout=20000)
    wait_ready(qtbot, window)
    for _ in range(5):
        action(window, "Step").trigger()
    frame = window.session.frame
    independent = GradientDescentSimulation(dict(window.session.params), seed=window.seed)
    for _ in range(5):
        expected = independent.step()
    np.testing.assert_array_equal(frame.data["gd.trail"], expected.data["gd.trail"])
    xs, ys = window.view.trails["gd"].getData()
    np.testing.assert_allclose(np.column_stack([xs, ys]), frame.data["gd.trail"])
    # The minimum found is this function's: (1, -0.5), f* = 0.
    qtbot.waitUntil(lambda: window.view._prepared is not None and window.view._prepared.title == "Your own f(x, y)",
                    timeout=20000)
    np.testing.assert_allclose(window.view._prepared.global_minima, [[1.0, -0.5]], atol=1e-6)


def test_a_bad_expression_shows_the_message_and_keeps_the_surface(window, qtbot):
    window.set_params({"surface": "custom"})
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.view._prepared is not None and window.view._prepared.title == "Your own f(x, y)",
                    timeout=20000)
    image_before = window.view._prepared.image.copy()
    control = window.panel.controls["expression"]
    control.editor.setText("sin(x) + z")
    QtTest.QTest.keyClick(control.editor, QtCore.Qt.Key.Key_Return)
    assert control.error.isVisible()
    assert "unknown name 'z' at column 10" in control.error.text()
    assert window.session.params["expression"] == SCENE.resolve()["expression"]
    qtbot.wait(100)
    np.testing.assert_array_equal(window.view._prepared.image, image_before)
    # A good one clears the message.
    control.editor.setText("x**2 + y**2")
    QtTest.QTest.keyClick(control.editor, QtCore.Qt.Key.Key_Return)
    assert not control.error.isVisible()
    qtbot.waitUntil(lambda: window.session.params["expression"] == "x**2 + y**2", timeout=20000)


def test_toggle_3d_and_turn_it_with_the_mouse(window, qtbot):
    for _ in range(10):
        action(window, "Step").trigger()
    window.panel.controls["view_3d"].editor.setChecked(True)
    qtbot.waitUntil(lambda: window.view.plots["surface3d"].isVisible(), timeout=5000)
    view = window.view
    assert not view.plots["surface"].isVisible()
    wx, wy = view.wireframe.getData()
    assert len(wx) > 1000 and np.isfinite(wx).sum() > 900
    trail_before = np.column_stack(view.trails3d["gd"].getData())
    assert len(trail_before) == 11
    # A real drag on the 3-D plot.
    centre = view.widget.mapFromScene(view.plots["surface3d"].getViewBox().sceneBoundingRect().center())
    drag_pixels(qtbot, view, centre, centre + QtCore.QPoint(80, 32))
    qtbot.waitUntil(lambda: window.params["azimuth"] != SCENE.resolve()["azimuth"], timeout=5000)
    assert window.params["elevation"] != SCENE.resolve()["elevation"]
    trail_after = np.column_stack(view.trails3d["gd"].getData())
    assert not np.allclose(trail_after, trail_before)
    frame = window.session.frame
    expected = orthographic(gd_view.lifted(frame.data["gd.trail"], frame.data["gd.loss_gap"], view._prepared),
                            window.params["azimuth"], window.params["elevation"])
    np.testing.assert_allclose(trail_after, expected, atol=1e-9)
    # Back to the map.
    window.panel.controls["view_3d"].editor.setChecked(False)
    qtbot.waitUntil(lambda: view.plots["surface"].isVisible(), timeout=5000)
    assert not view.plots["surface3d"].isVisible()
