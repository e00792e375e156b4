"""The playback bar: reset, step back, play/pause, step, speed, frame counter and scrubber.

It owns the one playback QTimer (DESIGN.md); the window stops it on close.
"""
from __future__ import annotations

import weakref

from PySide6 import QtCore, QtGui, QtWidgets

#: Every playback timer ever made, so a test fixture can fail a test that leaves one running.
TIMERS: "weakref.WeakSet[QtCore.QTimer]" = weakref.WeakSet()

FRAME_INTERVAL_MS = 16  # ~60 fps


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

        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        style = self.style()
        icon = QtWidgets.QStyle.StandardPixmap

        def button(name: str, text: str, pixmap, tip: str) -> QtWidgets.QToolButton:
            widget = QtWidgets.QToolButton()
            widget.setObjectName(name)
            widget.setIcon(style.standardIcon(pixmap))
            widget.setText(text)
            widget.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            widget.setToolTip(tip)
            widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            layout.addWidget(widget)
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

        layout.addSpacing(12)
        layout.addWidget(QtWidgets.QLabel("Speed"))
        self.speed = QtWidgets.QSpinBox()
        self.speed.setObjectName("speed")
        self.speed.setRange(1, 2000)
        self.speed.setValue(30)
        self.speed.setSuffix(" steps/s")
        self.speed.setToolTip("How many steps per second Play computes (the display stays at up to 60 fps).")
        layout.addWidget(self.speed)

        layout.addSpacing(12)
        self.scrub = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.scrub.setObjectName("scrub")
        self.scrub.setRange(0, 0)
        self.scrub.setToolTip("Scrub through the history of this run.")
        self.scrub.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.scrub.valueChanged.connect(self.seekRequested)
        layout.addWidget(self.scrub, 1)
        self.counter = QtWidgets.QLabel()
        self.counter.setObjectName("counter")
        self.counter.setMinimumWidth(130)
        self.counter.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        self.counter.setFont(font)
        layout.addWidget(self.counter)
        self.set_position(0, 0, 0)

    def set_coarse_label(self, label: str | None) -> None:
        self.coarse_button.setVisible(bool(label))
        if label:
            self.coarse_button.setText(label)
            self.coarse_button.setToolTip(f"{label} (Shift+Right)")

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
        self.counter.setText(f"step {cursor} / {head}")
        self.back_button.setEnabled(cursor > start)
