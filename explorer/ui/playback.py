"""The playback bar: reset, step back, play/pause, step, speed, frame counter and scrubber.

It owns the one playback QTimer (DESIGN.md); the window stops it on close.
"""
from __future__ import annotations

import weakref

from PySide6 import QtCore, QtGui, QtWidgets

#: Every playback timer ever made, so a test fixture can fail a test that leaves one running.
TIMERS: "weakref.WeakSet[QtCore.QTimer]" = weakref.WeakSet()

FRAME_INTERVAL_MS = 16  # ~60 fps
#: The scrubber never gets narrower than this (a stub cannot be dragged).
SCRUB_MIN_WIDTH = 120
#: The frame counter is at least as wide as this text, so it does not jump while playing.
COUNTER_TEMPLATE = "step 0000 / 0000"
GAP = 12


class PlaybackBar(QtWidgets.QWidget):
    resetRequested = QtCore.Signal()
    backRequested = QtCore.Signal()
    stepRequested = QtCore.Signal()
    coarseStepRequested = QtCore.Signal()
    #: new cursor position from the scrubber
    seekRequested = QtCore.Signal(int)
    #: while playing: how many steps to take now
    tick = QtCore.Signal(int)
    playingChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_timer)
        TIMERS.add(self.timer)
        self._clock = QtCore.QElapsedTimer()
        self._owed = 0.0

        # Two groups (the buttons and speed; the scrubber and counter) side by side, or stacked
        # when the bar is too narrow for one row: see _fit(). The layout must not impose its
        # one-row minimum width on the window (minimumSizeHint says what the bar really needs).
        self._rows = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight, self)
        self._rows.setContentsMargins(8, 4, 8, 4)
        self._rows.setSizeConstraint(QtWidgets.QLayout.SizeConstraint.SetNoConstraint)
        controls = QtWidgets.QHBoxLayout()
        position = QtWidgets.QHBoxLayout()
        self._rows.addLayout(controls)
        self._rows.addLayout(position, 1)
        style = self.style()
        icon = QtWidgets.QStyle.StandardPixmap
        #: Never shown: measures a button's width with and without its label.
        self._probe = QtWidgets.QToolButton(self)
        self._probe.hide()
        self._buttons: list[QtWidgets.QToolButton] = []
        self._widths: dict[tuple, int] = {}

        def button(name: str, text: str, pixmap, tip: str) -> QtWidgets.QToolButton:
            widget = QtWidgets.QToolButton()
            widget.setObjectName(name)
            widget.setIcon(style.standardIcon(pixmap))
            widget.setText(text)
            widget.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            widget.setToolTip(tip)
            widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            controls.addWidget(widget)
            self._buttons.append(widget)
            return widget

        self.reset_button = button("reset", "Reset", icon.SP_MediaSkipBackward, "Start the run again (R)")
        self.back_button = button("back", "Back", icon.SP_MediaSeekBackward, "Step back one frame (Left)")
        self.play_button = button("play", "Play", icon.SP_MediaPlay, "Play / pause (Space)")
        self.step_button = button("step", "Step", icon.SP_MediaSeekForward, "Step forward one frame (Right)")
        self.coarse_button = button("coarse", "Step more", icon.SP_MediaSkipForward, "")
        self.coarse_button.hide()
        self.reset_button.clicked.connect(self.resetRequested)
        self.back_button.clicked.connect(self.backRequested)
        self.play_button.clicked.connect(self.toggle)
        self.step_button.clicked.connect(self.stepRequested)
        self.coarse_button.clicked.connect(self.coarseStepRequested)

        controls.addSpacing(GAP)
        self.speed_label = QtWidgets.QLabel("Speed")
        controls.addWidget(self.speed_label)
        self.speed = QtWidgets.QSpinBox()
        self.speed.setObjectName("speed")
        self.speed.setRange(1, 2000)
        self.speed.setValue(30)
        self.speed.setSuffix(" steps/s")
        self.speed.setToolTip("How many steps per second Play computes (the display stays at up to 60 fps).")
        controls.addWidget(self.speed)
        controls.addStretch(1)  # on its own row the buttons stay together on the left

        self.scrub = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.scrub.setObjectName("scrub")
        self.scrub.setRange(0, 0)
        self.scrub.setMinimumWidth(SCRUB_MIN_WIDTH)
        self.scrub.setToolTip("Scrub through the history of this run.")
        self.scrub.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.scrub.valueChanged.connect(self.seekRequested)
        position.addWidget(self.scrub, 1)
        self.counter = QtWidgets.QLabel()
        self.counter.setObjectName("counter")
        self.counter.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        self.counter.setFont(font)
        self.counter.setMinimumWidth(self._text_width(self.counter, COUNTER_TEMPLATE))
        position.addWidget(self.counter)
        #: (labels on the buttons, two rows) as last laid out.
        self.mode: tuple[bool, bool] | None = (True, False)
        self.set_position(0, 0, 0)

    def set_coarse_label(self, label: str | None) -> None:
        self.coarse_button.setVisible(bool(label))
        if label:
            self.coarse_button.setText(label)
            self.coarse_button.setToolTip(f"{label} (Shift+Right)")
        self._fit()

    # -- fitting the width ---------------------------------------------------------------
    @staticmethod
    def _text_width(label: QtWidgets.QLabel, text: str) -> int:
        margins = label.contentsMargins()
        return label.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right() + 2

    def _button_width(self, button: QtWidgets.QToolButton, labels: bool) -> int:
        """The width the button asks for with its label (or icon only), whatever it shows now."""
        style = (QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon if labels
                 else QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
        self._probe.setIcon(button.icon())
        self._probe.setToolButtonStyle(style)
        texts = ("Play", "Pause") if button is self.play_button else (button.text(),)
        widths = []
        for text in texts:  # Play and Pause take the same room, so pressing Play never re-flows the bar
            self._probe.setText(text)
            widths.append(self._probe.sizeHint().width())
        return max(widths)

    def _controls_width(self, labels: bool) -> int:
        buttons = [b for b in self._buttons if not b.isHidden()]
        # Layouts ask for the size hints on every pass (each frame the counter changes): measure once
        # per set of labels.
        key = (labels, tuple(b.text() for b in buttons), self.font().key())
        if key not in self._widths:
            self._widths[key] = self._measure_controls(buttons, labels)
        return self._widths[key]

    def _measure_controls(self, buttons: list[QtWidgets.QToolButton], labels: bool) -> int:
        spacing = max(self._rows.spacing(), 0)
        width = sum(self._button_width(b, labels) for b in buttons) + spacing * (len(buttons) - 1)
        width += GAP + spacing + self.speed.sizeHint().width()
        if labels:
            width += spacing + self.speed_label.sizeHint().width()
        return width

    def _position_width(self) -> int:
        return SCRUB_MIN_WIDTH + max(self._rows.spacing(), 0) + self.counter.minimumWidth()

    def _choose(self, width: int) -> tuple[bool, bool]:
        """(labels, two rows) for a bar this wide: one row with labels, one row of icons, two rows
        with labels, two rows of icons, in this order of preference."""
        margins = self._rows.contentsMargins()
        room = width - margins.left() - margins.right()
        spacing = max(self._rows.spacing(), 0)
        position = self._position_width()
        for labels, wrapped in ((True, False), (False, False), (True, True)):
            controls = self._controls_width(labels)
            need = max(controls, position) if wrapped else controls + spacing + position
            if need <= room:
                return labels, wrapped
        return False, True

    def _fit(self) -> None:
        labels, wrapped = mode = self._choose(self.width())
        if mode == self.mode:
            return
        self.mode = mode
        style = (QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon if labels
                 else QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
        for button in self._buttons:
            button.setToolButtonStyle(style)
        self.speed_label.setVisible(labels)
        self._rows.setDirection(QtWidgets.QBoxLayout.Direction.TopToBottom if wrapped
                                else QtWidgets.QBoxLayout.Direction.LeftToRight)
        self.updateGeometry()

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        # The narrowest the bar can be: two rows of icons. Height: what the current mode needs.
        margins = self._rows.contentsMargins()
        width = max(self._controls_width(False), self._position_width()) + margins.left() + margins.right()
        return QtCore.QSize(width, self._rows.minimumSize().height())

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return QtCore.QSize(max(self._rows.sizeHint().width(), self.minimumSizeHint().width()),
                            self._rows.sizeHint().height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    # -- playing -------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.playing:
            return
        self._owed = 0.0
        self._clock.start()
        self.timer.start(FRAME_INTERVAL_MS)
        self._show_playing(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self.timer.stop()
        self._show_playing(False)

    def _show_playing(self, playing: bool) -> None:
        pixmap = QtWidgets.QStyle.StandardPixmap
        self.play_button.setIcon(self.style().standardIcon(pixmap.SP_MediaPause if playing else pixmap.SP_MediaPlay))
        self.play_button.setText("Pause" if playing else "Play")
        self.playingChanged.emit(playing)

    def _on_timer(self) -> None:
        # Steps owed since the last tick at the chosen speed; at least one per tick keeps it lively.
        elapsed = self._clock.restart() / 1000.0
        self._owed += elapsed * self.speed.value()
        count = int(self._owed)
        if count >= 1:
            self._owed -= count
            self.tick.emit(min(count, 500))

    # -- position ------------------------------------------------------------------------
    def set_position(self, cursor: int, head: int, start: int = 0) -> None:
        with QtCore.QSignalBlocker(self.scrub):
            self.scrub.setRange(start, head)
            self.scrub.setValue(cursor)
        text = f"step {cursor} / {head}"
        self.counter.setText(text)
        needed = self._text_width(self.counter, text)
        if needed > self.counter.minimumWidth():  # grows with the run, never clipped
            self.counter.setMinimumWidth(needed)
            self.mode = None  # re-choose the layout for the wider counter
            self._fit()
        self.back_button.setEnabled(cursor > start)
