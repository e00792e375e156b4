"""The generated parameter panel: one control per declaration, log sliders, conditional rows."""
import dataclasses
import math

import pytest
from PySide6 import QtCore, QtWidgets

from explorer.params import Bool, Choice, Float, Int
from explorer.scene import Frame, Preset, Scene
from explorer.ui.panel import ParamPanel


class _Sim:
    def __init__(self, params, seed, data=None):
        self.params = params

    def frame(self):
        return Frame(0, {})


PARAMS = (
    Choice("kind", "a", "Which kind.", choices=("a", "b")),
    Float("rate", 0.01, "A log-scaled rate.", minimum=1e-4, maximum=10.0, log=True, live=True),
    Int("depth", 3, "Only for kind b.", minimum=1, maximum=20, show_if={"kind": ("b",)}, group="B only"),
    Bool("flag", False, "A switch."),
)
SCENE = Scene("fake", "Fake", "A fake scene.", PARAMS, _Sim, "x:y")


@pytest.fixture
def panel(qtbot):
    widget = ParamPanel(SCENE, SCENE.resolve(), seed=3)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_log_slider_spans_the_range_evenly_in_log_space(panel, qtbot):
    control = panel.controls["rate"]
    with qtbot.waitSignal(panel.changed) as blocker:
        control.slider.setValue(0)
    assert blocker.args == ["rate", 1e-4]
    control.slider.setValue(control.slider.maximum())
    assert control.value == 10.0
    control.slider.setValue(control.slider.maximum() // 2)
    assert math.isclose(math.log10(control.value), -1.5, abs_tol=0.01)
    assert float(control.editor.value()) == pytest.approx(control.value)
    assert "log scale" in control.slider.toolTip() and "next step" in control.slider.toolTip()


def test_typing_a_value_moves_the_slider(panel):
    control = panel.controls["rate"]
    control.editor.setValue(1.0)
    assert control.value == 1.0
    assert control.slider.value() == round(control.param.to_unit(1.0) * control.slider.maximum())


def test_rows_are_shown_only_when_they_matter(panel):
    depth = panel.controls["depth"].widget
    assert not depth.isVisible()
    combo = panel.controls["kind"].editor
    combo.setCurrentIndex(combo.findData("b"))
    assert depth.isVisible()
    panel.set_values({"kind": "a"})
    assert not depth.isVisible()


def test_program_set_values_do_not_emit(panel, qtbot):
    with qtbot.assertNotEmitted(panel.changed):
        panel.set_values({"rate": 0.5, "flag": True, "depth": 7})
    assert panel.controls["flag"].editor.isChecked()
    assert panel.controls["depth"].editor.value() == 7


def test_seed_box_emits_new_seed(panel, qtbot):
    with qtbot.waitSignal(panel.seedChanged) as blocker:
        panel.seed.setValue(42)
    assert blocker.args == [42]


LONG = dataclasses.replace(SCENE, explainer="A long explanation of what this scene shows. " * 40,
                           presets=(Preset("One lesson", {"rate": 0.1}, "What it shows."),))


@pytest.mark.parametrize("height, shown", [(1000, True), (420, False)])
def test_explainer_folds_only_when_it_would_push_the_controls_out_of_view(qtbot, height, shown):
    widget = ParamPanel(LONG, LONG.resolve(), seed=0)
    qtbot.addWidget(widget)
    widget.resize(330, height)
    widget.show()
    for _ in range(3):
        QtWidgets.QApplication.processEvents()
        qtbot.wait(10)
    explainer_height = widget.explainer.heightForWidth(widget.explainer.width() or 280)
    assert explainer_height > 0.4 * height  # longer than its share: shown only if everything fits
    assert widget.explainer.isVisible() == shown
    assert widget.explainer_toggle.isChecked() == shown
    assert widget.presets.isVisible()
    presets = widget.presets.mapTo(widget.viewport(), QtCore.QPoint(0, widget.presets.height()))
    assert presets.y() <= widget.viewport().height()
    last = widget.seed.mapTo(widget.viewport(), QtCore.QPoint(0, widget.seed.height()))
    if shown:
        assert last.y() <= widget.viewport().height()  # all of it fits: nothing was hidden for nothing
