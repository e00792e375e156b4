"""The main window: scene list, plot area, parameter panel, playback bar, status bar, menus."""
from __future__ import annotations

import itertools
import traceback
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from explorer import scene as registry
from explorer.jobs import JobRunner
from explorer.params import ParamError, find
from explorer.scene import Scene
from explorer.session import Session
from explorer.worker import new_session, tagged
from explorer.ui.layout import SCENE_LIST_LIMITS, AdaptiveSplitter, SceneList
from explorer.ui.panel import ParamPanel
from explorer.ui.playback import PlaybackBar
from explorer.ui.view import SceneView

#: Longest time one playback tick spends computing steps before it draws (keeps 60 fps).
TICK_BUDGET_MS = 12
#: A job running longer than this shows the busy indicator (elapsed time, Cancel) and marks the
#: picture as out of date; quicker ones never flash it.
BUSY_AFTER_S = 0.3

EXPORT_FILTERS = {
    ".png": "PNG image (*.png)",
    ".svg": "SVG vector image (*.svg)",
    ".csv": "Frame data as CSV (*.csv)",
    ".gif": "Animated GIF of the run (*.gif)",
    ".mp4": "MP4 video of the run (*.mp4)",
    ".json": "Session + frame data as JSON (*.json)",
}


def load_session_job(path: str) -> tuple[Session | None, str]:
    """Worker job of File > Open session: (session, "") or (None, the one-line refusal)."""
    try:
        return Session.load(path), ""
    except ParamError as error:
        return None, str(error)


def what_is_opening(keys: list[str]) -> bool:
    """True while a session file is being opened (the picture on screen is not out of date)."""
    return any(key.startswith("open#") for key in keys)


class MainWindow(QtWidgets.QMainWindow):
    #: True only while __init__ opens the first scene (see explorer.jobs.JobRunner.submit(in_thread)).
    _startup_lane = False

    def __init__(self, scene_id: str | None = None, session: Session | None = None) -> None:
        super().__init__()
        self.setWindowTitle("ML Explorer")
        self.resize(1440, 900)
        # Worker processes start once the first frame is on screen (or after 1.5 s): on 2 cores
        # the fork server's imports would otherwise delay that frame (the first run is built in a
        # thread, see _startup_lane).
        self.jobs = JobRunner(self, start_workers=False)
        self._workers_started = False
        QtCore.QTimer.singleShot(1500, self, self._start_workers)
        self.jobs.finished.connect(self._job_finished)
        self.jobs.failed.connect(self._job_failed)
        self._generation = itertools.count(1)
        self._current_generation = 0

        self.scene: Scene | None = None
        self.session: Session | None = None
        self.view: SceneView | None = None
        self.panel: ParamPanel | None = None
        self.params: dict[str, Any] = {}
        self.seed = 0
        self.data: Any = None
        self._pending_session = False
        #: Why the picture no longer matches the panel after a cancelled or failed job (None: it does).
        self._stale_reason: str | None = None
        self._prepared_key: Any = object()
        self._pending_prepare_key: Any = object()
        #: Last chosen pixel width per picture format.
        self.export_widths = {".png": 1920, ".gif": 640, ".mp4": 1280}

        # Left: the scene list (rows follow its width; narrower and collapsible in small windows).
        self.scene_list = SceneList()
        self.scene_list.setObjectName("scene-list")
        self.scene_list.setMinimumWidth(SCENE_LIST_LIMITS[0] - 10)
        for item_scene in registry.scenes():
            self.scene_list.add_scene(item_scene.id, item_scene.title, item_scene.summary)
        self.scene_list.currentItemChanged.connect(self._scene_chosen)

        # Centre: tool strip + plots + playback bar.
        self.centre = QtWidgets.QWidget()
        centre_layout = QtWidgets.QVBoxLayout(self.centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(0)
        self.tools_holder = QtWidgets.QVBoxLayout()
        centre_layout.addLayout(self.tools_holder)
        self.plot_holder = QtWidgets.QVBoxLayout()
        centre_layout.addLayout(self.plot_holder, 1)
        self.playback = PlaybackBar()
        centre_layout.addWidget(self.playback)
        self.playback.resetRequested.connect(self.reset)
        self.playback.backRequested.connect(self.step_back)
        self.playback.stepRequested.connect(self.step)
        self.playback.coarseStepRequested.connect(self.coarse_step)
        self.playback.seekRequested.connect(self.seek)
        self.playback.tick.connect(self._advance)

        # Right: the parameter panel (rebuilt per scene).
        self.panel_holder = QtWidgets.QWidget()
        self.panel_layout = QtWidgets.QVBoxLayout(self.panel_holder)
        self.panel_layout.setContentsMargins(0, 0, 0, 0)

        # Side panes take a share of the width that suits the window's size (explorer.ui.layout).
        self.splitter = splitter = AdaptiveSplitter()
        splitter.addWidget(self.scene_list)
        splitter.addWidget(self.centre)
        splitter.addWidget(self.panel_holder)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(1, False)
        splitter.setCollapsible(2, False)
        self.setCentralWidget(splitter)

        # The frame's message is data (it may quote class names from a CSV): plain text, and a long
        # one is cut at the window's edge (full text in the tooltip) instead of widening the window.
        self.frame_message = QtWidgets.QLabel()
        self.frame_message.setObjectName("frame-message")
        self.frame_message.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.frame_message.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                         QtWidgets.QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.frame_message, 1)
        self._build_busy_indicator()
        self._build_menus()

        if session is not None:
            self.open_session(session)
        else:
            ids = [s.id for s in registry.scenes()]
            # The first run has default settings (bounded work): build it in a thread here rather
            # than wait for the fork server to boot; every later job runs in a worker process.
            self._startup_lane = True
            try:
                self.open_scene(scene_id or ids[0])
            finally:
                self._startup_lane = False

    # -- menus and shortcuts ---------------------------------------------------------------
    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "&Open session…", "Ctrl+O", self._open_session_dialog)
        self._action(file_menu, "&Save session…", "Ctrl+S", self._save_session_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Export…", "Ctrl+E", self._export_dialog)
        export_menu = file_menu.addMenu("Export &as")
        for suffix, label in EXPORT_FILTERS.items():
            self._action(export_menu, label.split(" (")[0] + "…", None,
                         lambda checked=False, s=suffix: self._export_dialog(s))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QtGui.QKeySequence.StandardKey.Quit, self.close)

        play_menu = menu.addMenu("&Playback")
        self.play_action = self._action(play_menu, "Play / pause", "Space", self.playback.toggle)
        self._action(play_menu, "Step", "Right", self.step)
        self.coarse_action = self._action(play_menu, "Coarse step", "Shift+Right", self.coarse_step)
        self._action(play_menu, "Step back", "Left", self.step_back)
        self._action(play_menu, "Reset", "R", self.reset)
        play_menu.addSeparator()
        self._action(play_menu, "Go to first frame", "Home", lambda: self.seek(0))
        self._action(play_menu, "Go to last frame", "End",
                     lambda: self.session and self.seek(self.session.timeline.head))

        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", "F1", self._show_shortcuts)
        self._action(help_menu, "&About ML Explorer", None, self._show_about)

    def _action(self, menu: QtWidgets.QMenu, text: str, shortcut, slot) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, action) for every action of this window that has a shortcut, in menu order:
        what F1 lists, read from the actions themselves so it cannot go stale."""
        rows = []
        for action in self.actions():
            keys = " or ".join(k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys:
                rows.append((keys, action.text().replace("&", "").rstrip("…").strip()))
        return rows

    def _show_shortcuts(self) -> None:
        """F1: a table of every keyboard shortcut (a dialog that does not block the window)."""
        dialog = QtWidgets.QDialog(self)
        dialog.setObjectName("shortcuts")
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        rows = self.shortcut_rows()
        table = QtWidgets.QTableWidget(len(rows), 2, dialog)
        table.setObjectName("shortcut-table")
        table.setHorizontalHeaderLabels(["Key", "Action"])
        table.verticalHeader().hide()
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        for row, (keys, text) in enumerate(rows):
            table.setItem(row, 0, QtWidgets.QTableWidgetItem(keys))
            table.setItem(row, 1, QtWidgets.QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        height = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(len(rows))) + 4
        table.setMinimumSize(table.horizontalHeader().length() + 40, min(height, 600))
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QtWidgets.QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.shortcuts_dialog = dialog
        dialog.open()

    def _show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About ML Explorer",
                                    "ML Explorer: see machine-learning algorithms work.\n"
                                    "PySide6 + pyqtgraph + NumPy + scikit-learn.")

    # -- scenes ----------------------------------------------------------------------------
    def _scene_chosen(self, item: QtWidgets.QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            scene_id = item.data(QtCore.Qt.ItemDataRole.UserRole)
            if self.scene is None or scene_id != self.scene.id:
                self.open_scene(scene_id)

    def open_scene(self, scene_id: str, session: Session | None = None) -> None:
        """Show a scene with default parameters (or with a loaded session)."""
        scene = registry.get(scene_id)
        self.playback.pause()
        self._teardown_scene()
        self.scene = scene
        self._current_generation = next(self._generation)
        self.setWindowTitle(f"ML Explorer — {scene.title}")
        for row in range(self.scene_list.count()):
            if self.scene_list.item(row).data(QtCore.Qt.ItemDataRole.UserRole) == scene.id:
                with QtCore.QSignalBlocker(self.scene_list):
                    self.scene_list.setCurrentRow(row)
        if session is not None:
            self.params, self.seed, self.data = dict(session.params), session.seed, session.data
        else:
            self.params, self.seed, self.data = scene.resolve(), 0, None

        self._prepared_key = self._pending_prepare_key = object()
        if session is None:
            # Start the run and the view's heavy data in the worker while the widgets are built.
            self._rebuild_session()
            self._request_prepare()

        self.view = scene.view_class()(scene, self.params)
        self.view.paramsRequested.connect(self._params_requested)
        self.view.dataRequested.connect(self._data_requested)
        self.view.messageRequested.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.plot_holder.addWidget(self.view.widget)
        tools = self.view.tools()
        if tools is not None:
            self.tools_holder.addWidget(tools)

        self.panel = ParamPanel(scene, self.params, self.seed)
        self.panel.changed.connect(self.set_param)
        self.panel.presetChosen.connect(self.apply_preset)
        self.panel.seedChanged.connect(self.set_seed)
        self.panel_layout.addWidget(self.panel)

        self.playback.set_coarse_label(scene.coarse_step)
        self.coarse_action.setEnabled(scene.coarse_step is not None)
        self.coarse_action.setText(scene.coarse_step or "Coarse step")
        if session is not None:
            self._install_session(session)

    def _teardown_scene(self) -> None:
        self.jobs.cancel_all()  # the old scene's runs and heavy data: their processes stop now
        self.session = None
        self._pending_session = False
        self._stale_reason = None
        self._update_busy()
        if self.view is not None:
            tools = self.view.tools()
            if tools is not None:
                tools.setParent(None)
            self.view.close()
            self.view.deleteLater()
            self.view = None
        if self.panel is not None:
            self.panel.setParent(None)
            self.panel.deleteLater()
            self.panel = None

    # -- parameters ------------------------------------------------------------------------
    def set_param(self, name: str, value: Any) -> None:
        self.set_params({name: value})

    def set_params(self, values: dict[str, Any]) -> None:
        """Apply parameter values: live ones at the next step, structural ones by a new run."""
        assert self.scene is not None
        try:
            checked = {n: find(self.scene.params, n).validate(v) for n, v in values.items()}
        except ParamError as error:
            self.statusBar().showMessage(str(error), 10000)
            return
        changed = {n: v for n, v in checked.items() if self.params.get(n) != v}
        if not changed:
            return
        self.params.update(changed)
        if self.panel is not None:
            self.panel.set_values(changed)
        structural = any(not find(self.scene.params, n).live for n in changed)
        if structural or self._pending_session or self.session is None or self._stale_reason:
            self._rebuild_session()  # after a Cancel, any change builds the run of the panel's settings
        else:
            self.session.set_params(changed)
            self._after_params()
            self._refresh()

    def apply_preset(self, name: str) -> None:
        assert self.scene is not None
        preset = self.scene.preset(name)
        values = self.scene.resolve(preset.values)
        self.set_params(values)
        self.statusBar().showMessage(f"Preset: {preset.name}", 5000)

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        if self.panel is not None:
            self.panel.set_seed(self.seed)
        self._rebuild_session()

    def _params_requested(self, values: dict) -> None:
        self.set_params(dict(values))

    def _data_requested(self, data: Any) -> None:
        self.data = data
        self._rebuild_session()

    # -- sessions (built off the UI thread) --------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a new run or a view's heavy data is being computed."""
        return self._pending_session or self._pending_prepare_key != self._prepared_key

    def _rebuild_session(self) -> None:
        assert self.scene is not None
        self._pending_session = True
        self._stale_reason = None
        # In a worker process: a newer request stops this one's process (explorer.jobs).
        self.jobs.submit(f"session#{self._current_generation}", new_session,
                         self.scene, dict(self.params), self.seed, self.data, in_thread=self._startup_lane)
        self._watch_jobs()

    def _install_session(self, session: Session) -> None:
        self.session = session
        self._pending_session = False
        # Live values the user changed while this run was being built.
        live = {n: v for n, v in self.params.items()
                if session.params.get(n) != v and find(self.scene.params, n).live}
        if live:
            session.set_params(live)
        self._after_params()
        self._refresh()

    def _after_params(self) -> None:
        assert self.view is not None
        self.view.set_params(self.params)
        self.view.cache_axes()  # a view may have added plots for these parameters
        self._request_prepare()

    def _request_prepare(self) -> None:
        """Compute the view's heavy data for the current parameters in a worker, unless it is
        already shown or on its way."""
        assert self.scene is not None
        view_class = self.scene.view_class()
        key = view_class.prepare_key(self.params, self.seed)
        if key is None:
            self._prepared_key = self._pending_prepare_key = None
        elif key != self._pending_prepare_key and key != self._prepared_key:
            self._pending_prepare_key = key
            self.jobs.submit(f"prepare#{self._current_generation}", tagged, key,
                             view_class.prepare, dict(self.params), self.seed, in_thread=self._startup_lane)
            self._watch_jobs()
        elif key == self._prepared_key:
            self._pending_prepare_key = key

    def _job_finished(self, key: str, result: Any) -> None:
        kind, _, generation = key.partition("#")
        if int(generation) != self._current_generation or self.view is None:
            return  # a result for a scene that is no longer shown
        if kind == "open":
            session, refusal = result
            if refusal:
                self.statusBar().showMessage(f"Cannot open session: {refusal}", 15000)
                self._warning_box("Cannot open session", refusal, "open-session-error")
            else:
                self.open_session(session)
            return
        if kind == "session":
            # Built from self.data (only the newest request is delivered), which stayed here.
            result.data = self.data
            self._install_session(result)
        elif kind == "prepare":
            prepared_key, data = result
            if prepared_key == self._pending_prepare_key:
                self.view.apply_prepared(data)
                self._prepared_key = prepared_key
                self._refresh()
        self._update_busy()

    def _job_failed(self, key: str, message: str) -> None:
        kind, _, generation = key.partition("#")
        if int(generation) != self._current_generation:
            return
        if kind == "session":
            self._pending_session = False
            if self.session is not None:  # the old run stays on screen: say so
                self._stale_reason = "Could not compute the new run: the picture shows the previous settings"
        elif kind == "prepare":
            self._prepared_key = self._pending_prepare_key
        self.statusBar().showMessage(f"Could not compute this scene: {message}", 15000)
        self._update_busy()

    # -- busy indicator, Cancel, out-of-date picture -------------------------------------------
    def _build_busy_indicator(self) -> None:
        self.busy_label = QtWidgets.QLabel()
        self.busy_label.setObjectName("busy-indicator")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel-job")
        self.cancel_button.setToolTip("Stop computing the new run; the picture keeps the previous settings")
        self.cancel_button.clicked.connect(self.cancel_jobs)
        for widget in (self.busy_label, self.cancel_button):
            widget.hide()
            self.statusBar().addPermanentWidget(widget)
        # A veil over the plots while they show a run that no longer matches the panel.
        self.stale_overlay = StaleVeil(self.centre)
        self._busy_timer = QtCore.QTimer(self)
        self._busy_timer.setInterval(100)
        self._busy_timer.timeout.connect(self._update_busy)

    def _watch_jobs(self) -> None:
        if not self._busy_timer.isActive():
            self._busy_timer.start()
        self._update_busy()

    def _window_jobs(self) -> list[str]:
        suffix = f"#{self._current_generation}"
        return [key for key in self.jobs.active_keys() if key.endswith(suffix)]

    def _update_busy(self) -> None:
        """Busy indicator with elapsed time and Cancel after BUSY_AFTER_S; the out-of-date veil."""
        keys = self._window_jobs()
        elapsed = max((self.jobs.elapsed(key) or 0.0 for key in keys), default=0.0)
        slow = bool(keys) and elapsed >= BUSY_AFTER_S
        if slow:
            what = ("Opening the session" if any(k.startswith("open#") for k in keys)
                    else "Computing the new run" if any(k.startswith("session#") for k in keys)
                    else "Preparing the picture")
            self.busy_label.setText(f"{what}… {elapsed:.1f} s")
        self.busy_label.setVisible(slow or bool(self._stale_reason))
        if not slow and self._stale_reason:
            self.busy_label.setText(self._stale_reason)
        self.cancel_button.setVisible(slow)
        veil = ""
        if self.view is not None and self.session is not None and not what_is_opening(keys):
            if slow:
                veil = "Out of date — computing the new run" if self._pending_session \
                    else "Out of date — preparing the picture for these settings"
            elif self._stale_reason:
                veil = self._stale_reason.replace(": ", "\n", 1)
        if veil:
            self.stale_overlay.setText(veil)
            self.stale_overlay.setGeometry(self.view.widget.geometry())
            self.stale_overlay.raise_()
        self.stale_overlay.setVisible(bool(veil))
        if not keys:
            self._busy_timer.stop()

    def cancel_jobs(self) -> None:
        """Stop the new run (and the view's heavy data) being computed; the old picture stays and
        says so, and the next change of any setting computes again."""
        if not self.jobs.cancel_all():
            return
        self._pending_session = False
        self._pending_prepare_key = self._prepared_key
        if self.session is None:
            message = "Cancelled: nothing is shown yet — change a setting to compute again"
        else:
            message = "Cancelled: the picture shows the previous settings"
        self._stale_reason = message
        self.statusBar().showMessage(message, 15000)
        self._update_busy()

    def _not_while_computing(self, action: str) -> bool:
        """True (and say why) while a new run is being computed: the run on screen is out of date."""
        if self._pending_session and self.session is not None:
            self.statusBar().showMessage(f"Computing the new run: {action} once it is shown, "
                                         f"or press Cancel to keep the previous one", 8000)
            return True
        return False

    # -- playback --------------------------------------------------------------------------
    def _guarded(self, action) -> None:
        """Run a simulation action; a failure is a message, never an exception into Qt."""
        if self.session is None or self._not_while_computing("stepping works"):
            return
        try:
            action()
        except Exception as error:  # noqa: BLE001 - shown to the user, logged for developers
            traceback.print_exc()
            self.playback.pause()
            self.statusBar().showMessage(f"Error: {type(error).__name__}: {error}", 15000)
        self._refresh()

    def step(self) -> None:
        self._guarded(lambda: self.session.forward())

    def coarse_step(self) -> None:
        if self.scene is not None and self.scene.coarse_step:
            self._guarded(lambda: self.session.forward(coarse=True))

    def step_back(self) -> None:
        self._guarded(lambda: self.session.back())

    def seek(self, step: int) -> None:
        self._guarded(lambda: self.session.seek(step))

    def reset(self) -> None:
        self.playback.pause()
        self._guarded(lambda: self.session.restart())

    def _advance(self, count: int) -> None:
        if self.session is None or self._pending_session:
            return
        if self.session.done:
            self.playback.pause()
            self._refresh()
            return

        def run() -> None:
            clock = QtCore.QElapsedTimer()
            clock.start()
            for _ in range(count):
                if self.session.done or clock.elapsed() > TICK_BUDGET_MS:
                    break
                self.session.forward()
        self._guarded(run)

    def _start_workers(self) -> None:
        if not self._workers_started:
            self._workers_started = True
            self.jobs.start()

    def _refresh(self) -> None:
        if not self._workers_started:
            QtCore.QTimer.singleShot(100, self, self._start_workers)  # after this frame is painted
        if self.session is None or self.view is None:
            return
        frame = self.session.frame
        try:
            self.view.show(frame)
        except Exception as error:  # noqa: BLE001
            traceback.print_exc()
            self.statusBar().showMessage(f"Could not draw this frame: {error}", 15000)
        timeline = self.session.timeline
        self.playback.set_position(timeline.cursor, timeline.head, timeline.start)
        message = frame.message or ("finished" if frame.done else "")
        self.frame_message.setText(message)
        self.frame_message.setToolTip(message)

    # -- sessions on disk ------------------------------------------------------------------
    def open_session(self, source: Session | str | Path) -> bool:
        """Open a session (object or JSON file); on a bad file say why in a message box (and the
        status bar) and change nothing. A session opened short of its saved step says why."""
        try:
            session = source if isinstance(source, Session) else Session.load(source)
        except ParamError as error:
            self.statusBar().showMessage(f"Cannot open session: {error}", 15000)
            self._warning_box("Cannot open session", str(error), "open-session-error")
            return False
        self.open_scene(session.scene.id, session)
        if session.load_note:
            self.statusBar().showMessage(f"Session {session.load_note}", 20000)
        else:
            self.statusBar().showMessage(f"Opened session at step {session.step}", 5000)
        return True

    def save_session(self, path: str | Path) -> None:
        assert self.session is not None
        self.session.save(path)
        self.statusBar().showMessage(f"Saved session to {path}", 5000)

    def open_session_in_background(self, path: str | Path) -> None:
        """Read, check and replay a session file in a worker (a replay may take seconds: the
        window stays responsive, shows it is busy, and Cancel stops it); then open it, or say in
        a message box why not, changing nothing."""
        self.jobs.submit(f"open#{self._current_generation}", load_session_job, str(path))
        self._watch_jobs()

    def _open_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open session", "", "Session (*.json)")
        if path:
            self.open_session_in_background(path)  # a bad file is explained in a message box

    def _save_session_dialog(self) -> None:
        if self.session is None or self._not_while_computing("save"):
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save session", "session.json", "Session (*.json)")
        if path:
            self.save_session(path)

    # -- export ----------------------------------------------------------------------------
    def export_to(self, path: str | Path, width: int | None = None) -> Path:
        """Export by file suffix: .png/.svg (plots), .csv (frame data), .gif (run), .json (session+frame)."""
        from explorer import export

        if self.session is None or self.view is None:
            raise ParamError("nothing to export yet")
        path = Path(path)
        suffix = path.suffix.lower()
        self.playback.pause()
        progress = None
        if suffix in (".gif", ".mp4"):
            dialog = QtWidgets.QProgressDialog("Rendering the animation…", "Cancel", 0, 100, self)
            dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(400)

            def progress(done: int, total: int) -> bool:
                dialog.setMaximum(total)
                dialog.setValue(done)
                return not dialog.wasCanceled()
        try:
            export.write(self.session, path, view=self.view,
                         width=width or self.export_widths.get(suffix), progress=progress)
        except export.ExportCancelled:
            self.statusBar().showMessage("Export cancelled; nothing was written.", 8000)
            return path
        finally:
            if progress is not None:
                dialog.close()
            self.view.show(self.session.frame)
        self.statusBar().showMessage(f"Exported {path}", 8000)
        return path

    def _export_dialog(self, suffix: str | None = None) -> None:
        if self.session is None or self._not_while_computing("export"):
            return
        dialog = ExportDialog(self, suffix or ".png", self.export_widths, self.scene.id if self.scene else "scene")
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        chosen = dialog.kind.currentData()
        width = None
        if chosen in self.export_widths:
            width = self.export_widths[chosen] = dialog.width.value()
        try:
            self.export_to(dialog.path(), width)
        except (ParamError, OSError) as error:
            self._warning_box("Export failed", str(error), "export-error")

    def _warning_box(self, title: str, text: str, name: str) -> QtWidgets.QMessageBox:
        """A warning whose text (it may hold a user's path or file content) is shown as plain
        text, never as HTML; window-modal without a nested event loop: nothing blocks."""
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, "",
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        box.setText(text)
        box.setObjectName(name)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.playback.pause()
        self._busy_timer.stop()
        self.jobs.shutdown()  # stops the worker processes; never waits for a running job
        self._teardown_scene()  # stops the view's own timers and workers too
        super().closeEvent(event)


#: Width limits of the export dialog's path field (it grows with the path between them).
PATH_FIELD_MIN_WIDTH, PATH_FIELD_MAX_WIDTH = 360, 900


class StaleVeil(QtWidgets.QWidget):
    """A translucent veil over the plots with a readable message in the middle; mouse events
    pass through (the plots stay usable)."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("stale-overlay")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel { background: rgba(255, 255, 255, 235); color: #222222; font-size: 14pt;"
                           " font-weight: bold; padding: 10px 16px; border: 1px solid #999999; border-radius: 6px; }")
        layout = QtWidgets.QVBoxLayout(self)
        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.label, 0, QtCore.Qt.AlignmentFlag.AlignCenter)
        self.hide()

    def paintEvent(self, event) -> None:
        QtGui.QPainter(self).fillRect(self.rect(), QtGui.QColor(255, 255, 255, 140))

    def setText(self, text: str) -> None:
        self.label.setText(text)

    def text(self) -> str:
        return self.label.text()


class ExportDialog(QtWidgets.QDialog):
    """Choose what to export, the pixel width of images, and the file."""

    def __init__(self, parent: QtWidgets.QWidget, suffix: str, widths: dict[str, int], stem: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        form = QtWidgets.QFormLayout(self)
        self.kind = QtWidgets.QComboBox()
        for key, label in EXPORT_FILTERS.items():
            self.kind.addItem(label, key)
        self.kind.setCurrentIndex(list(EXPORT_FILTERS).index(suffix))
        form.addRow("Export", self.kind)
        self.width = QtWidgets.QSpinBox()
        self.width.setRange(200, 8000)
        self.width.setSingleStep(160)
        self._widths = widths
        self.width.setSuffix(" px")
        self.width.setToolTip("Pixel width of the PNG (or GIF) image; the height keeps the plot's aspect.")
        form.addRow("Width", self.width)
        row = QtWidgets.QHBoxLayout()
        self.file = QtWidgets.QLineEdit()
        self.file.setObjectName("export-path")
        self.file.textChanged.connect(self._path_changed)
        self.file.setText(str(Path.cwd() / f"{stem}{suffix}"))
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Save
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        suffix = self.kind.currentData()
        self.width.setEnabled(suffix in self._widths)
        if suffix in self._widths:
            self.width.setValue(self._widths[suffix])
        self.file.setText(str(Path(self.file.text()).with_suffix(suffix)))

    def _browse(self) -> None:
        suffix = self.kind.currentData()
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export", self.file.text(), EXPORT_FILTERS[suffix])
        if path:
            self.file.setText(str(Path(path).with_suffix(suffix)))

    def _path_changed(self, text: str) -> None:
        # The whole path in view: the field is as wide as the path (up to PATH_FIELD_MAX_WIDTH;
        # beyond that the end, i.e. the file name, stays in view), the tooltip always has all of it.
        self.file.setToolTip(text)
        margins = self.file.textMargins()
        needed = self.file.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right() + 16
        self.file.setMinimumWidth(min(max(needed, PATH_FIELD_MIN_WIDTH), PATH_FIELD_MAX_WIDTH))
        if not self.file.hasFocus():
            self.file.end(False)

    def path(self) -> Path:
        return Path(self.file.text())
