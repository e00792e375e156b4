"""The parameter panel, generated from a scene's PARAMS: never a hand-wired slider."""
from __future__ import annotations

import html
import math
from typing import Any, Mapping

from PySide6 import QtCore, QtGui, QtWidgets

from explorer.params import Bool, Choice, Float, Int, Param, ParamError, Text
from explorer.scene import Scene

SLIDER_STEPS = 1000
#: The panel is never narrower than this, nor than its widest row.
MIN_WIDTH = 300
#: The explainer folds away when open it would fill more than this share of the panel's height.
EXPLAINER_SHARE = 0.4


def tooltip(param: Param) -> str:
    when = "Applies at the next step." if param.live else "Changing it starts a new run."
    return f"<b>{param.title}</b> (<code>{param.name}</code>)<br>{param.help}<br><i>{param.allowed()}. {when}</i>"


def _decimals(param: Float) -> int:
    if param.log:
        return max(param.decimals, int(math.ceil(-math.log10(param.minimum))) + 2)
    return param.decimals


class Control(QtCore.QObject):
    """One parameter's widgets; emits ``changed(name, value)`` on user edits only."""

    changed = QtCore.Signal(str, object)

    def __init__(self, param: Param, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.param = param
        self.widget = QtWidgets.QWidget(parent)
        self.widget.setObjectName(f"control-{param.name}")
        layout = QtWidgets.QHBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider: QtWidgets.QSlider | None = None
        self.editor: QtWidgets.QWidget
        # A small integer range maps slider positions to values one to one.
        self._direct = isinstance(param, Int) and not param.log and param.maximum - param.minimum <= SLIDER_STEPS
        if isinstance(param, (Float, Int)):
            self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            self.slider.setObjectName(f"slider-{param.name}")
            self.slider.setMinimumWidth(60)
            if self._direct:
                self.slider.setRange(param.minimum, param.maximum)
            else:
                self.slider.setRange(0, SLIDER_STEPS)
            self.slider.valueChanged.connect(self._slider_moved)
            layout.addWidget(self.slider, 3)
            if isinstance(param, Float):
                spin = QtWidgets.QDoubleSpinBox()
                spin.setDecimals(_decimals(param))
                spin.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            else:
                spin = QtWidgets.QSpinBox()
            spin.setRange(param.minimum, param.maximum)
            spin.setKeyboardTracking(False)
            # Wide enough for the longest value it can show (a set minimum would override that hint).
            spin.setMinimumWidth(max(72, spin.minimumSizeHint().width()))
            spin.valueChanged.connect(self._typed)
            self.editor = spin
            layout.addWidget(spin, 1)
        elif isinstance(param, Choice):
            combo = QtWidgets.QComboBox()
            # Long choice names must not widen the panel; the open list shows them in full.
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            for value in param.choices:
                combo.addItem(param.display(value), value)
            combo.currentIndexChanged.connect(lambda index: self._emit(combo.itemData(index)))
            self.editor = combo
            layout.addWidget(combo)
        elif isinstance(param, Bool):
            box = QtWidgets.QCheckBox(param.title)
            box.toggled.connect(lambda checked: self._emit(bool(checked)))
            self.editor = box
            layout.addWidget(box)
        elif isinstance(param, Text):
            # Typed text applies on Enter; a refused text keeps the field as typed with the reason below
            # it (pointing at the column) and changes nothing else.
            column = QtWidgets.QWidget()
            rows = QtWidgets.QVBoxLayout(column)
            rows.setContentsMargins(0, 0, 0, 0)
            rows.setSpacing(2)
            edit = QtWidgets.QLineEdit()
            edit.setMaxLength(param.max_length)
            edit.setPlaceholderText("type and press Enter")
            edit.returnPressed.connect(self._text_entered)
            self.error = QtWidgets.QLabel()
            self.error.setObjectName(f"error-{param.name}")
            self.error.setWordWrap(True)
            self.error.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            self.error.setStyleSheet("color: #B00020;")
            self.error.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Minimum)
            self.error.hide()
            rows.addWidget(edit)
            rows.addWidget(self.error)
            self.editor = edit
            layout.addWidget(column)
        else:  # pragma: no cover - a new Param kind needs a control here
            raise TypeError(f"no control for {type(param).__name__}")
        self.editor.setObjectName(f"editor-{param.name}")
        for widget in (self.widget, self.editor, self.slider):
            if widget is not None:
                widget.setToolTip(tooltip(param))
        self._value: Any = None
        self.set_value(param.default)

    # Slider position <-> value
    def _value_from_slider(self, position: int) -> Any:
        param = self.param
        if self._direct:
            return int(position)
        unit = position / SLIDER_STEPS
        if isinstance(param, Int):
            if param.log and param.minimum > 0:
                value = math.exp(math.log(param.minimum) + unit * (math.log(param.maximum) - math.log(param.minimum)))
            else:
                value = param.minimum + unit * (param.maximum - param.minimum)
            return int(round(min(param.maximum, max(param.minimum, value))))
        value = param.from_unit(unit)
        # Round to what the read-out shows, so the slider never yields unreadable values.
        return float(min(param.maximum, max(param.minimum, round(value, _decimals(param)))))

    def _slider_from_value(self, value: Any) -> int:
        param = self.param
        if self._direct:
            return int(value)
        if isinstance(param, Int):
            if param.log and param.minimum > 0:
                unit = (math.log(value) - math.log(param.minimum)) / (math.log(param.maximum) - math.log(param.minimum))
            else:
                unit = (value - param.minimum) / (param.maximum - param.minimum)
        else:
            unit = param.to_unit(value)
        return int(round(unit * SLIDER_STEPS))

    def _slider_moved(self, position: int) -> None:
        value = self._value_from_slider(position)
        self._show(value, slider=False)
        self._emit(value)

    def _typed(self, value: Any) -> None:
        value = int(value) if isinstance(self.param, Int) else float(value)
        self._show(value, editor=False)
        self._emit(value)

    def _text_entered(self) -> None:
        text = self.editor.text()
        try:
            value = self.param.validate(text)
        except ParamError as error:
            message = str(error)
            prefix = f"{self.param.name}: "
            message = message[len(prefix):] if message.startswith(prefix) else message
            # The reason in place (what and where, before any "; allowed: ..." list); all of it as the tooltip.
            self.error.setText(message.split("; ")[0])
            self.error.setToolTip(message)
            self.error.show()
            self.editor.setStyleSheet("border: 1px solid #B00020;")
            return
        self.error.hide()
        self.editor.setStyleSheet("")
        self._emit(value)

    def _emit(self, value: Any) -> None:
        if value != self._value:
            self._value = value
            self.changed.emit(self.param.name, value)

    def _show(self, value: Any, slider: bool = True, editor: bool = True) -> None:
        if slider and self.slider is not None:
            with QtCore.QSignalBlocker(self.slider):
                self.slider.setValue(self._slider_from_value(value))
        if editor:
            with QtCore.QSignalBlocker(self.editor):
                if isinstance(self.editor, QtWidgets.QComboBox):
                    self.editor.setCurrentIndex(self.editor.findData(value))
                elif isinstance(self.editor, QtWidgets.QCheckBox):
                    self.editor.setChecked(bool(value))
                elif isinstance(self.editor, QtWidgets.QLineEdit):
                    self.editor.setText(str(value))
                    self.error.hide()
                    self.editor.setStyleSheet("")
                else:
                    self.editor.setValue(value)

    @property
    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        """Show a value set by the program (no ``changed`` signal)."""
        self._value = value
        self._show(value)


class ParamPanel(QtWidgets.QScrollArea):
    """Presets, explainer, one control per parameter, and the seed."""

    #: name, value (user edits)
    changed = QtCore.Signal(str, object)
    #: preset name
    presetChosen = QtCore.Signal(str)
    seedChanged = QtCore.Signal(int)

    def __init__(self, scene: Scene, values: Mapping[str, Any], seed: int,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.setWidgetResizable(True)
        # Text wraps to the panel's width; only a vertical scroll bar is ever needed.
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QtWidgets.QWidget()
        self._body = body
        layout = QtWidgets.QVBoxLayout(body)
        layout.setContentsMargins(10, 10, 10, 10)

        title = QtWidgets.QLabel()
        title.setTextFormat(QtCore.Qt.TextFormat.RichText)
        title.setText(f"<h3 style='margin:0'>{html.escape(scene.title)}</h3>")
        title.setWordWrap(True)
        layout.addWidget(title)
        # The explainer folds away behind "What this shows": on its own when it would take more
        # than EXPLAINER_SHARE of the panel's height (so Presets and the first controls stay in
        # view), until the user opens or closes it.
        self.explainer: QtWidgets.QLabel | None = None
        self.explainer_toggle: QtWidgets.QToolButton | None = None
        self._explainer_auto = True
        if scene.explainer:
            toggle = QtWidgets.QToolButton()
            toggle.setObjectName("explainer-toggle")
            toggle.setText("What this shows")
            toggle.setCheckable(True)
            toggle.setChecked(True)
            toggle.setAutoRaise(True)
            toggle.setArrowType(QtCore.Qt.ArrowType.DownArrow)
            toggle.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            toggle.setToolTip("Show or hide the explanation of this scene.")
            toggle.toggled.connect(self._explainer_toggled)
            layout.addWidget(toggle)
            explainer = QtWidgets.QLabel(scene.explainer)
            explainer.setObjectName("explainer")
            explainer.setTextFormat(QtCore.Qt.TextFormat.MarkdownText)  # **bold**, lists
            explainer.setWordWrap(True)
            explainer.setStyleSheet("color: #444;")
            layout.addWidget(explainer)
            self.explainer, self.explainer_toggle = explainer, toggle

        self.presets = QtWidgets.QComboBox()
        self.presets.setObjectName("presets")
        self.presets.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.presets.setMinimumContentsLength(8)
        self.presets.addItem("Presets…", None)
        for preset in scene.presets:
            self.presets.addItem(preset.name, preset.name)
            self.presets.setItemData(self.presets.count() - 1, preset.description,
                                     QtCore.Qt.ItemDataRole.ToolTipRole)
        self.presets.setToolTip("Load a set of parameter values that shows one lesson.")
        self.presets.activated.connect(self._preset_activated)
        self.presets.setVisible(bool(scene.presets))
        layout.addWidget(self.presets)
        self.preset_note = QtWidgets.QLabel()
        self.preset_note.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.preset_note.setWordWrap(True)
        self.preset_note.setStyleSheet("color: #0072B2;")
        self.preset_note.hide()
        layout.addWidget(self.preset_note)

        self.controls: dict[str, Control] = {}
        self._rows: dict[str, tuple[QtWidgets.QFormLayout, QtWidgets.QWidget]] = {}
        self._boxes: dict[str, QtWidgets.QWidget] = {}
        groups: dict[str, QtWidgets.QFormLayout] = {}
        for param in scene.params:
            if param.hidden:  # set by the view (e.g. typed weights), not by a control
                continue
            form = groups.get(param.group)
            if form is None:
                box = QtWidgets.QGroupBox(param.group) if param.group else QtWidgets.QWidget()
                form = QtWidgets.QFormLayout(box)
                form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
                if not param.group:
                    form.setContentsMargins(0, 0, 0, 0)
                groups[param.group] = form
                self._boxes[param.group] = box
                layout.addWidget(box)
            control = Control(param, body)
            control.changed.connect(self.changed)
            control.changed.connect(lambda *_: self.update_visibility())
            self.controls[param.name] = control
            if isinstance(param, Bool):
                form.addRow(control.widget)
            else:
                label = QtWidgets.QLabel(param.title)
                label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
                label.setToolTip(tooltip(param))
                form.addRow(label, control.widget)
            self._rows[param.name] = (form, control.widget)

        seed_row = QtWidgets.QHBoxLayout()
        seed_row.addWidget(QtWidgets.QLabel("Seed"))
        self.seed = QtWidgets.QSpinBox()
        self.seed.setObjectName("seed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Random seed of the run: the same seed and parameters give the same run.")
        self.seed.setValue(seed)
        self.seed.valueChanged.connect(self.seedChanged)
        seed_row.addWidget(self.seed, 1)
        reseed = QtWidgets.QPushButton("New seed")
        reseed.setToolTip("Draw a new random seed and start a new run.")
        reseed.clicked.connect(self._new_seed)
        seed_row.addWidget(reseed)
        layout.addLayout(seed_row)
        layout.addStretch(1)
        self.setWidget(body)
        self.set_values(values)

    # -- fitting the panel's size --------------------------------------------------------
    def _explainer_toggled(self, shown: bool) -> None:
        self._explainer_auto = False  # the user decided; no more automatic folding
        self._show_explainer(shown)

    def _show_explainer(self, shown: bool) -> None:
        if self.explainer is None or self.explainer_toggle is None:
            return
        with QtCore.QSignalBlocker(self.explainer_toggle):
            self.explainer_toggle.setChecked(shown)
        self.explainer_toggle.setArrowType(QtCore.Qt.ArrowType.DownArrow if shown else QtCore.Qt.ArrowType.RightArrow)
        self.explainer.setVisible(shown)

    def explainer_fits(self) -> bool:
        """Whether the open explainer leaves Presets and the first controls in view: it takes at
        most EXPLAINER_SHARE of the panel's height, or everything fits without scrolling anyway."""
        if self.explainer is None:
            return True
        # As if the scroll bar were there, so showing or hiding the explainer cannot flip the choice.
        layout = self._body.layout()
        margins = layout.contentsMargins()
        body_width = self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()
        explainer = self.explainer.heightForWidth(max(body_width - margins.left() - margins.right(), 50))
        others = layout.heightForWidth(body_width) if layout.hasHeightForWidth() else layout.sizeHint().height()
        if self.explainer.isVisibleTo(self._body):
            others -= explainer + layout.spacing()
        room = self.viewport().height()
        return explainer <= max(EXPLAINER_SHARE * room, room - others)

    def _fit(self) -> None:
        # Wide enough for the widest row, so no label is ever cut off (there is no horizontal scrolling).
        scroll_bar = self.verticalScrollBar().sizeHint().width()
        needed = max(self._body.minimumSizeHint().width() + scroll_bar + 2 * self.frameWidth(), MIN_WIDTH)
        if needed != self.minimumWidth():
            self.setMinimumWidth(needed)
        if self._explainer_auto:
            self._show_explainer(self.explainer_fits())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._fit()

    def _preset_activated(self, index: int) -> None:
        name = self.presets.itemData(index)
        if name:
            preset = self.scene.preset(name)
            self.preset_note.setText(preset.description)
            self.preset_note.setVisible(bool(preset.description))
            self.presetChosen.emit(name)

    def _new_seed(self) -> None:
        import random
        self.seed.setValue(random.randrange(0, 2**31 - 1))

    def set_values(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name in self.controls and self.controls[name].value != value:
                self.controls[name].set_value(value)
        self.update_visibility()

    def update_visibility(self) -> None:
        """Show only the controls that matter for the current values (Param.show_if)."""
        current = {name: control.value for name, control in self.controls.items()}
        shown_groups: set[str] = set()
        for param in self.scene.params:
            if param.name not in self._rows:  # hidden: no control
                continue
            form, widget = self._rows[param.name]
            visible = param.relevant(current)
            form.setRowVisible(widget, visible)
            if visible:
                shown_groups.add(param.group)
        for group, box in self._boxes.items():
            box.setVisible(group in shown_groups)
        self._fit()

    def set_seed(self, seed: int) -> None:
        with QtCore.QSignalBlocker(self.seed):
            self.seed.setValue(seed)
