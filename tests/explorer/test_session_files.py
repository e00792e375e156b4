"""Malformed and hostile session files: each is refused in one line naming the field, in the CLI
(exit 2, nothing written) and in the window (a message box, the current session unchanged);
valid files load to the same frames, with replay bounded in steps and time."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import cli, session_file
from explorer import scene as registry
from explorer.params import ParamError
from explorer.session import Session, frame_to_jsonable
from tests.strategies import param_strategy

ROOT = Path(__file__).resolve().parents[2]
GD, LR, DB = "gradient-descent", "learning-rate-batch", "decision-boundaries"

POINTS = {
    "x": [[-1.0, -1.0], [-1.2, -0.8], [-0.7, -1.1], [-1.1, -1.3], [-0.9, -0.6], [-1.4, -1.0],
          [1.0, 1.0], [1.2, 0.8], [0.7, 1.1], [1.1, 1.3], [0.9, 0.6], [1.4, 1.0]],
    "labels": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
    "names": ["cat", "dog"],
    "columns": ["width", "height"],
    "file": "pets.csv",
}


@cache
def saved_session(scene_id: str) -> Session:
    """A small saved run of each scene, with a live change (and a coarse step) where it has them."""
    scene = registry.get(scene_id)
    if scene_id == GD:
        session = Session(scene, {"max_steps": 200, "learning_rate": 0.01}, seed=3)
        session.forward(4)
        session.set_param("learning_rate", 0.02)
        session.forward(3)
        session.set_param("show_field", True)
        session.forward(2)
    elif scene_id == LR:
        session = Session(scene, {"n_samples": 50, "epochs": 3}, seed=4)
        session.forward(2)
        session.forward(coarse=True)
        session.set_param("learning_rate", 0.05)
        session.forward(2)
    else:
        session = Session(scene, {"classifier": "tree", "tree_max_depth": 3}, seed=5, data=copy.deepcopy(POINTS))
        session.forward(2)
    return session


def saved(scene_id: str) -> dict[str, Any]:
    return copy.deepcopy(saved_session(scene_id).to_dict())


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()


# -- the malformed files ---------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    content: Callable[[], bytes]  # the file's bytes (built lazily: some are large)
    expected: str  # a fragment of the one-line message


def edit(scene_id: str, change: Callable[[dict], Any]) -> Callable[[], bytes]:
    """The saved session of ``scene_id`` after ``change(document)`` (which edits it in place or returns a new one)."""
    def build() -> bytes:
        document = saved(scene_id)
        result = change(document)
        return dumps(document if result is None else result)
    return build


def raw(scene_id: str, old: str, new: str) -> Callable[[], bytes]:
    """The saved session's JSON text with ``old`` replaced by ``new`` (for what json.dumps cannot write)."""
    def build() -> bytes:
        text = json.dumps(saved(scene_id))
        assert old in text
        return text.replace(old, new, 1).encode()
    return build


def setter(path: tuple, value: Any) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def deleter(path: tuple) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def gd_log_with(entries: list[tuple[int, dict]]) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        first = document["param_log"][0][1]
        document["param_log"] = [[0, first]] + [[k, {**first, **values}] for k, values in entries]
    return change


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def alternating_epochs(document: dict) -> None:
    """The issue's replay bomb: a param_log that keeps switching a structural parameter."""
    first = document["param_log"][0][1]
    document["step"] = 5
    document["param_log"] = [[k, {**first, "epochs": 3 if k % 2 == 0 else 500}] for k in range(5)]


CASES = [
    # wrong JSON types
    Case("params-text", edit(GD, setter(("params",), "text")),
         'session: params: expected an object of parameters, got "text"'),
    Case("params-list", edit(GD, setter(("params",), [1, 2])),
         "session: params: expected an object of parameters, got a list"),
    Case("param-string", edit(GD, setter(("params", "learning_rate"), "abc")),
         'session: params.learning_rate: expected a number, got "abc"'),
    Case("param-bool-text", edit(GD, setter(("params", "use_adam"), "yes")),
         'session: params.use_adam: expected true or false, got "yes"'),
    Case("param-choice-number", edit(GD, setter(("params", "surface"), 7)),
         "session: params.surface: 7 is not allowed; allowed: one of bowl"),
    Case("log-entry-text", edit(GD, setter(("param_log", 1), "x")),
         'session: param_log[1]: expected a [step, parameters] pair, got "x"'),
    Case("log-entry-object", edit(GD, setter(("param_log", 0), {"step": 0})),
         "session: param_log[0]: expected a [step, parameters] pair, got an object"),
    Case("log-params-number", edit(GD, setter(("param_log", 1, 1), 5)),
         "session: param_log[1][1]: expected an object of parameters, got 5"),
    Case("log-not-list", edit(GD, setter(("param_log",), {"0": {}})),
         "session: param_log: expected a list of [step, parameters] pairs, got an object"),
    Case("seed-text", edit(GD, setter(("seed",), "7")), 'session: seed: expected a whole number, got "7"'),
    Case("seed-bool", edit(GD, setter(("seed",), True)), "session: seed: expected a whole number, got true"),
    Case("step-list", edit(GD, setter(("step",), [9])), "session: step: expected a whole number, got a list"),
    Case("scene-number", edit(GD, setter(("scene",), 3)), "session: scene: expected a scene id, got 3"),
    Case("top-level-list", lambda: b"[1, 2, 3]", "session: expected a JSON object at the top level, got a list"),
    Case("coarse-not-list", edit(LR, setter(("coarse_steps",), 3)),
         "session: coarse_steps: expected a list of whole numbers, got 3"),
    # ranges
    Case("seed-negative", edit(GD, setter(("seed",), -1)),
         "session: seed: -1 is out of range; allowed: a whole number from 0 to 9,223,372,036,854,775,807"),
    Case("seed-2**63", edit(GD, setter(("seed",), 2**63)), "session: seed: 9,223,372,036,854,775,808 is out of range"),
    Case("step-negative", edit(GD, setter(("step",), -3)), "session: step: -3 is out of range"),
    Case("step-fraction", edit(GD, setter(("step",), 2.5)), "session: step: expected a whole number, got 2.5"),
    Case("param-out-of-range", edit(GD, setter(("params", "learning_rate"), 50)),
         "session: params.learning_rate: 50 is out of range; allowed: a number from 0.0001 to 10, log scale"),
    Case("int-param-1e300", edit(GD, setter(("params", "max_steps"), 1e300)),
         "session: params.max_steps: 1e+300 is out of range; allowed: a whole number from 1 to 100,000"),
    Case("version-newer", edit(GD, setter(("version",), 2)), "session: version: 2 is newer than this app reads"),
    Case("format-other", edit(GD, setter(("format",), "png")),
         'session: format: not an ML Explorer session file (expected "format": "ml-explorer-session", got "png")'),
    # non-finite and unrepresentable numbers
    Case("seed-1e400", raw(GD, '"seed": 3', '"seed": 1e400'), "session: seed: 1e400 is too large to be a finite number"),
    Case("seed-Infinity", raw(GD, '"seed": 3', '"seed": Infinity'), "session: seed: Infinity is not a finite number"),
    Case("step-NaN", raw(GD, '"step": 9', '"step": NaN'), "session: step: NaN is not a finite number"),
    Case("param-minus-Infinity", raw(GD, '"learning_rate": 0.02', '"learning_rate": -Infinity'),
         "session: params.learning_rate: -Infinity is not a finite number"),
    Case("step-100-digits", raw(GD, '"step": 9', '"step": ' + "9" * 100),
         "session: step: 99999999999999999999… has more than 40 digits"),
    Case("point-Infinity", raw(DB, "[-0.7, -1.1]", "[-0.7, Infinity]"),
         "session: data.x[2][1]: Infinity is not a finite number"),
    Case("point-1e300", raw(DB, "[-0.7, -1.1]", "[1e300, -1.1]"), "session: data.x[2][0]: 1e+300 is beyond ±1e+12"),
    # nesting
    Case("nested-100000", raw(GD, '"learning_rate": 0.02', '"learning_rate": ' + "[" * 100_000 + "1" + "]" * 100_000),
         "session: the JSON is nested deeper than 64 levels"),
    Case("nested-65-in-ignored-field", edit(GD, setter(("frame",), nested(65))),
         "session: the JSON is nested deeper than 64 levels"),
    Case("nested-objects-in-a-string-ok-but-deep-outside",
         raw(GD, '"seed": 3', '"seed": 3, "note": "[[[[{{{{", "deep": ' + "{\"a\": " * 70 + "1" + "}" * 70),
         "session: the JSON is nested deeper than 64 levels"),
    # sizes
    Case("file-over-50-MB", lambda: b" " * (session_file.MAX_BYTES + 1),
         "has 52,428,801 bytes: a session file may be at most 50 MB (52,428,800 bytes)"),
    Case("bom-then-latin-1", lambda: b"\xef\xbb\xbf" + dumps(saved(DB)).replace(b'"cat"', '"caté"'.encode("latin-1")),
         "session: the file is not UTF-8 text (byte 0xe9 at offset "),
    Case("too-many-points", edit(DB, lambda d: d.update(data={**d["data"], "x": [[0.0, 0.0]] * 100_001,
                                                               "labels": [0] * 100_001})),
         "session: data.x: 100,001 entries; at most 100,000 points are supported"),
    Case("name-too-long", edit(DB, setter(("data", "names", 0), "n" * 200_000)),
         "session: data.names[0]: 200,000 characters; at most 131,072 are allowed"),
    Case("too-many-names", edit(DB, setter(("data", "names"), [f"c{i}" for i in range(11)])),
         "session: data.names: 11 names; at most 10 are allowed"),
    Case("log-longer-than-run", edit(GD, lambda d: d.update(param_log=[[k, d["params"]] for k in range(12)])),
         "session: param_log: 12 entries, but a session at step 9 has at most 10 (one per step)"),
    Case("coarse-longer-than-run", edit(LR, setter(("coarse_steps",), list(range(1, 8)))),
         "session: coarse_steps: 7 entries, but a session at step 5 has at most 5"),
    # contradictory logs
    Case("structural-change-mid-run", edit(GD, gd_log_with([(4, {"surface": "saddle"})])),
         'session: param_log[1][1].surface: "saddle" contradicts param_log[0] ("bowl")'),
    Case("structural-switching-replay-bomb", edit(LR, alternating_epochs),
         "session: param_log[1][1].epochs: 500 contradicts param_log[0] (3)"),
    Case("params-contradict-log", edit(GD, setter(("params", "max_steps"), 300)),
         "session: params.max_steps: 300 contradicts param_log[0] (200)"),
    Case("log-steps-not-increasing", edit(GD, gd_log_with([(5, {}), (3, {})])),
         "session: param_log[2][0]: step 3 is not after the previous entry's step 5"),
    Case("log-step-after-session-step", edit(GD, gd_log_with([(12, {})])),
         "session: param_log[1][0]: step 12 is after the session's step 9"),
    Case("log-first-not-at-0", edit(GD, setter(("param_log", 0, 0), 2)),
         "session: param_log[0][0]: the first entry must be at step 0, got 2"),
    Case("coarse-after-step", edit(LR, setter(("coarse_steps",), [99])),
         "session: coarse_steps[0]: 99 is out of range; allowed: a whole number from 1 to 5"),
    Case("coarse-not-increasing", edit(LR, setter(("coarse_steps",), [3, 2])),
         "session: coarse_steps[1]: 2 is not after the previous entry (3)"),
    Case("coarse-in-a-scene-without", edit(GD, setter(("coarse_steps",), [1])),
         "session: coarse_steps: the scene gradient-descent has no coarse step"),
    # encodings and syntax
    Case("utf-16", lambda: json.dumps(saved(GD)).encode("utf-16"),
         "session: the file is not UTF-8 text (byte 0xff at offset 0)"),
    Case("latin-1-name", lambda: dumps(saved(DB)).replace(b'"cat"', '"caté"'.encode("latin-1")),
         "session: the file is not UTF-8 text (byte 0xe9 at offset"),
    Case("png-bytes", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
         "session: the file is not UTF-8 text (byte 0x89 at offset 0)"),
    Case("truncated", lambda: dumps(saved(GD))[:40], "session: not valid JSON: "),
    Case("duplicate-key", raw(GD, '"seed": 3', '"seed": 3, "seed": 4'), 'session: the key "seed" appears twice'),
    # unknown scene or parameter
    Case("unknown-scene", edit(GD, setter(("scene",), "nope")),
         "session: scene: unknown scene 'nope'; allowed: gradient-descent, learning-rate-batch, decision-boundaries"),
    Case("unknown-param", edit(GD, setter(("params", "speed"), 1)),
         "session: params.speed: unknown parameter of gradient-descent; allowed: surface, "),
    Case("unknown-param-in-log", edit(GD, setter(("param_log", 1, 1, "speed"), 1)),
         "session: param_log[1][1].speed: unknown parameter of gradient-descent"),
    Case("param-name-with-newline", edit(GD, setter(("params", "a\nb"), 1)),
         'session: params["a\\nb"]: unknown parameter of gradient-descent'),
    # bad user data
    Case("data-list", edit(DB, setter(("data",), [1, 2])),
         'session: data: expected an object with "x" and "labels", got a list'),
    Case("data-name-number", edit(DB, setter(("data", "names", 1), 5)),
         "session: data.names[1]: expected a name (a string), got 5"),
    Case("label-out-of-range", edit(DB, setter(("data", "labels", 0), 3)),
         "session: data.labels[0]: 3 is out of range; allowed: 0 to 1 (one per name in data.names)"),
    Case("label-negative", edit(DB, setter(("data", "labels", 4), -1)), "session: data.labels[4]: -1 is out of range"),
    Case("label-huge-without-names", edit(DB, lambda d: d["data"].pop("names") and setter(("data", "labels", 0),
                                                                                          10**18)(d)),
         "session: data.labels[0]: 1,000,000,000,000,000,000 is out of range; allowed: 0 to 9 (at most 10 classes)"),
    Case("label-text", edit(DB, setter(("data", "labels", 2), "1")),
         'session: data.labels[2]: expected a whole number, got "1"'),
    Case("labels-shorter", edit(DB, lambda d: d["data"].update(labels=[0, 1, 0])),
         "session: data.labels: 3 labels for 12 points"),
    Case("point-triple", edit(DB, setter(("data", "x", 1), [1.0, 2.0, 3.0])),
         "session: data.x[1]: expected a point [x, y], got a list"),
    Case("point-text", edit(DB, setter(("data", "x", 0, 0), "1")),
         'session: data.x[0][0]: expected a number, got "1"'),
    Case("data-missing-labels", edit(DB, lambda d: d["data"].pop("labels") and None),
         'session: data.labels: missing (user data needs "x" and "labels")'),
    Case("data-in-a-scene-without", edit(GD, setter(("data",), POINTS)),
         "session: data: the scene gradient-descent takes no user data"),
    Case("data-extra-field-non-finite", raw(DB, '"file": "pets.csv"', '"file": "pets.csv", "scale": NaN'),
         "session: data.scale: NaN is not a finite number"),
]


def test_there_are_at_least_30_cases_with_distinct_ids():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.fixture
def bad_file(request, tmp_path) -> tuple[Path, Case]:
    case: Case = request.param
    path = tmp_path / "bad.json"
    path.write_bytes(case.content())
    return path, case


def one_line(message: str) -> str:
    assert "\n" not in message.rstrip("\n") and "Traceback" not in message, message
    return message.rstrip("\n")


# -- (a) the CLI -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad_file", CASES, ids=[c.id for c in CASES], indirect=True)
def test_cli_refuses_in_one_line_and_writes_nothing(bad_file, capsys, tmp_path):
    path, case = bad_file
    out = tmp_path / "out.json"
    code = cli.main(["render", "--session", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert code == 2, captured
    assert line.startswith("ml-explorer: error: session: "), line
    assert case.expected in line, line
    assert captured.out == "" and not out.exists()


@pytest.mark.parametrize("bad_file", [c for c in CASES if c.id in ("params-text", "nested-100000", "seed-1e400")],
                         ids=lambda c: c.id, indirect=True)
def test_gui_session_refuses_before_opening_a_window(bad_file, capsys, monkeypatch):
    import types

    opened = []
    fake = types.ModuleType("explorer.ui.app")
    fake.run = lambda scene_id=None, session_path=None: opened.append(session_path) or 0
    monkeypatch.setitem(sys.modules, "explorer.ui.app", fake)
    path, case = bad_file
    code = cli.main(["gui", "--session", str(path)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and case.expected in line and opened == []


def headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_the_real_command_refuses_hostile_files_without_a_traceback_or_a_hang(tmp_path):
    """The installed entry point in a fresh interpreter: nesting, 1e400, a FIFO (which would block a read)."""
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 200_000)
    huge = tmp_path / "huge.json"
    huge.write_bytes(raw(LR, '"seed": 4', '"seed": 1e400')())
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path, expected in ((deep, "nested deeper than 64 levels"), (huge, "seed: 1e400 is too large"),
                           (fifo, "not a regular file")):
        out = tmp_path / "out.png"
        result = subprocess.run([sys.executable, "-m", "explorer", "render", "--session", str(path), "--out", str(out)],
                                cwd=tmp_path, env=headless_env(), capture_output=True, text=True, timeout=60)
        line = one_line(result.stderr)
        assert result.returncode == 2 and expected in line and line.startswith("ml-explorer: error: session: ")
        assert not out.exists()


# -- (b) the window ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def window(qapp):
    """One window for every case (each refusal must leave it as it was)."""
    from explorer.ui.main_window import MainWindow

    window = MainWindow(scene_id=GD)
    window.show()
    deadline = time.monotonic() + 30
    while (window.session is None or window.busy) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    yield window
    window.close()
    window.deleteLater()


@pytest.fixture
def no_blocking_dialogs(monkeypatch):
    """A message box must not run its own event loop: the static helpers and exec() fail the test."""
    from PySide6 import QtWidgets

    def blocked(*args, **kwargs):
        raise AssertionError("a blocking message box was opened")
    for name in ("warning", "critical", "information", "exec"):
        monkeypatch.setattr(QtWidgets.QMessageBox, name, blocked)


def message_boxes(window) -> list:
    from PySide6 import QtWidgets

    return [box for box in window.findChildren(QtWidgets.QMessageBox) if box.isVisible()]


def close_boxes(window) -> None:
    for box in message_boxes(window):
        box.close()


@pytest.mark.parametrize("bad_file", CASES, ids=[c.id for c in CASES], indirect=True)
def test_window_shows_the_reason_and_keeps_the_current_session(bad_file, window, qtbot, no_blocking_dialogs):
    from tests.conftest import wait_ready

    wait_ready(qtbot, window)
    close_boxes(window)
    path, case = bad_file
    before = (window.session, window.scene.id, dict(window.params), window.session.step, window.seed)
    assert window.open_session(path) is False
    boxes = message_boxes(window)
    assert len(boxes) == 1
    text = one_line(boxes[0].text())
    assert text.startswith("session: ") and case.expected in text, text
    assert boxes[0].windowTitle() == "Cannot open session"
    assert case.expected in window.statusBar().currentMessage()
    assert (window.session, window.scene.id, dict(window.params), window.session.step, window.seed) == before
    close_boxes(window)


# -- valid files: the same frames, replay bounded ------------------------------------------------
def assert_same_frames(a: Session, b: Session) -> None:
    assert a.step == b.step and a.params == b.params and a.seed == b.seed
    assert frame_to_jsonable(a.frame) == frame_to_jsonable(b.frame)


@pytest.mark.parametrize("scene_id", [GD, LR, DB])
def test_a_valid_file_of_every_scene_loads_to_the_same_frame(scene_id, tmp_path, capsys):
    original = saved_session(scene_id)
    path = tmp_path / "s.json"
    original.save(path)
    loaded = Session.load(path)
    assert loaded.load_note == ""
    assert_same_frames(loaded, original)
    assert loaded.timeline.param_log == original.timeline.param_log
    out = tmp_path / "out.json"
    assert cli.main(["render", "--session", str(path), "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert json.loads(out.read_text())["frame"] == json.loads(json.dumps(frame_to_jsonable(original.frame)))


def test_a_saved_session_with_the_exported_frame_still_loads(tmp_path):
    from explorer import export

    original = saved_session(LR)
    path = tmp_path / "with-frame.json"
    export.export_session(original, path, include_frame=True)
    assert_same_frames(Session.load(path), original)


def long_lr_file(tmp_path: Path, step: int) -> Path:
    """A learning-rate session (batch 1, 5,000 samples, 500 epochs: 2.5 million updates) at ``step``."""
    session = Session(registry.get(LR), {"n_samples": 5000, "epochs": 500, "batch_size": 1,
                                         "compare": "learning_rate"}, seed=1)
    document = session.to_dict()
    document["step"] = step
    path = tmp_path / "long.json"
    path.write_text(json.dumps(document))
    return path


def test_a_step_too_far_to_replay_opens_at_the_step_reached_within_the_time_budget(tmp_path, monkeypatch, capsys):
    path = long_lr_file(tmp_path, 10**12)
    monkeypatch.setattr(session_file, "REPLAY_SECONDS", 0.5)
    started = time.monotonic()
    loaded = Session.load(path)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 2.0, elapsed  # the budget, plus building the run and one step
    assert 0 < loaded.step < 10**12 and not loaded.done
    assert loaded.load_note.startswith(f"opened at step {loaded.step:,}: replaying to step 1e+12 would take about ")
    assert "(a load replays for at most 0.5 s)" in loaded.load_note
    # Exactly the run's frame at that step (independent replay, no time limit).
    truth = Session(loaded.scene, loaded.timeline.param_log[0][1], loaded.seed)
    truth.forward(loaded.step)
    assert_same_frames(loaded, truth)
    # The CLI says so on stderr in one line and still writes the output.
    out = tmp_path / "out.json"
    assert cli.main(["render", "--session", str(path), "--out", str(out)]) == 0
    err = one_line(capsys.readouterr().err)
    assert err.startswith("ml-explorer: note: opened at step ") and "would take about" in err and out.exists()


def test_replay_stops_at_max_replay_steps_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(session_file, "MAX_REPLAY_STEPS", 40)
    loaded = Session.load(long_lr_file(tmp_path, 1000))
    assert loaded.step == 40
    assert loaded.load_note == "opened at step 40: a load replays at most 40 steps (the file says step 1,000)"


def test_a_step_past_the_end_of_the_run_opens_where_it_finishes(tmp_path):
    document = saved(GD)
    for _, values in document["param_log"]:
        values["max_steps"] = 20
    document["params"]["max_steps"] = 20
    document["step"] = 5000
    path = tmp_path / "s.json"
    path.write_text(json.dumps(document))
    loaded = Session.load(path)
    assert loaded.done and loaded.step == 20
    assert loaded.load_note == "opened at step 20, where this run finishes (the file says step 5,000)"


def test_window_status_bar_says_where_a_long_session_opened(window, qtbot, tmp_path, monkeypatch, no_blocking_dialogs):
    from tests.conftest import wait_ready

    monkeypatch.setattr(session_file, "REPLAY_SECONDS", 0.3)
    assert window.open_session(long_lr_file(tmp_path, 10**12))
    wait_ready(qtbot, window)
    assert window.scene.id == LR and message_boxes(window) == []
    message = window.statusBar().currentMessage()
    assert message.startswith(f"Session opened at step {window.session.step:,}: replaying to step 1e+12")
    window.open_scene(GD)  # back to the scene the other window tests expect
    wait_ready(qtbot, window)


# -- the depth scan against an independent count ------------------------------------------------
def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}"\\ab\n', max_size=8)
json_values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3),
    max_leaves=40)


@settings(max_examples=150, deadline=None)
@given(value=json_values, chunk=st.sampled_from([1, 2, 3, 7, 1 << 22]))
def test_nesting_depth_equals_the_parsed_depth(value, chunk):
    text = json.dumps(value, ensure_ascii=False).encode()
    original = session_file._CHUNK
    session_file._CHUNK = chunk  # small chunks exercise the carry between chunks (in and out of strings)
    try:
        assert session_file.nesting_depth(text) == depth_of(value)
        assert (session_file.nesting_depth(text, limit=2) > 2) == (depth_of(value) > 2)
    finally:
        session_file._CHUNK = original


# -- random damage to valid files ------------------------------------------------------------------
HOSTILE_TOKENS = ("1e400", "-1e400", "Infinity", "NaN", "9" * 60, "1e308", str(2**63), "-1", "0.5")


def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a document (the first few points of user data only, to keep the choice useful;
    not ``format``, whose refusal is one case above and would otherwise end a fifth of the examples)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix or key != "format":
                found += paths_of(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += paths_of(item, prefix + (index,))
    return found


plain_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6)


@st.composite
def damaged(draw, scene_id: str) -> bytes:
    document = saved(scene_id)
    by_name = {p.name: p for p in registry.get(scene_id).params}
    tokens: dict[str, str] = {}
    grown = False
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(document)
        path = draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        old = parent[path[-1]]
        kind = draw(st.sampled_from(["delete", "replace", "retype", "token", "nest", "huge-list", "valid-value"]))
        if kind == "delete":
            del parent[path[-1]]
            continue
        param = by_name.get(path[-1]) if isinstance(path[-1], str) and len(path) >= 2 else None
        if kind == "valid-value" and param is not None:
            new = draw(param_strategy(param))  # a value the control allows: live ones must load
        elif kind == "replace" or kind == "valid-value":
            new = draw(plain_json)
        elif kind == "retype":
            new = draw(st.sampled_from([str(old), [old], {"value": old}, None, True, 0, -1, 1.5]))
        elif kind == "token":
            marker = f"@token{len(tokens)}@"
            tokens[marker] = draw(st.sampled_from(HOSTILE_TOKENS))
            new = marker
        elif kind == "nest":
            new = nested(draw(st.integers(1, 120)))
        else:
            # Long lists of scalars only, once per file: a list of long lists, repeated, would be a
            # 10^8-element document that json.dumps alone needs minutes for (not what is tested).
            long = not isinstance(old, (list, dict)) and not grown
            new = [old] * (draw(st.sampled_from([2, 1000, 10_000])) if long else 2)
            grown = grown or long
        parent[path[-1]] = new
    text = json.dumps(document)
    for marker, token in tokens.items():
        text = text.replace(json.dumps(marker), token)
    return text.encode()


@pytest.mark.parametrize("scene_id", [GD, LR, DB])
def test_damaged_files_load_the_same_or_are_refused_in_one_line_within_5_s(scene_id, tmp_path):
    path = tmp_path / "damaged.json"
    saved_session(scene_id)  # built once, outside the examples

    @settings(max_examples=80, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(content=damaged(scene_id))
    def check(content: bytes) -> None:
        path.write_bytes(content)
        started = time.monotonic()
        try:
            loaded = Session.load(path, time_budget=2.0)
        except ParamError as error:
            message = str(error)
            assert message.startswith("session: ") and "\n" not in message, message
            assert time.monotonic() - started < 5.0
            return
        assert time.monotonic() - started < 5.0
        # It loaded: it is a consistent session of its own, which saves and reloads to the same frames.
        again = Session.from_dict(json.loads(json.dumps(loaded.to_dict())))
        assert_same_frames(again, loaded)

    check()


def test_utf8_errors_name_the_byte_and_its_offset_and_a_byte_order_mark_is_allowed(tmp_path):
    for prefix in (b"", b"\xef\xbb\xbf"):
        with pytest.raises(ParamError, match=rf"^session: the file is not UTF-8 text \(byte 0xe9 at offset "
                                             rf"{len(prefix) + 7}\);"):
            session_file.decode(prefix + b'{"a": "\xe9"}')
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + dumps(saved(GD)))
    assert_same_frames(Session.load(path), saved_session(GD))


def test_file_open_reads_and_replays_in_a_worker_shows_it_and_can_be_cancelled(window, qtbot, tmp_path,
                                                                              no_blocking_dialogs):
    """File > Open session goes through the job runner: a replay of seconds never holds the UI
    thread, shows 'Opening the session… s' with Cancel, and a bad file still gets its box."""
    from PySide6 import QtCore
    from tests.conftest import wait_ready

    wait_ready(qtbot, window)
    close_boxes(window)
    before = (window.session, window.scene.id, window.session.step)
    window.open_session_in_background(long_lr_file(tmp_path, 10**12))  # replays for the full 10 s budget
    assert window.session is before[0]  # returned at once
    qtbot.waitUntil(lambda: window.cancel_button.isVisible(), timeout=5000)
    assert window.busy_label.text().startswith("Opening the session… ")
    assert not window.stale_overlay.isVisible()  # the picture on screen is not out of date
    qtbot.mouseClick(window.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.cancel_button.isVisible(), timeout=2000)
    assert (window.session, window.scene.id, window.session.step) == before

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**saved(GD), "seed": "abc"}))
    window.open_session_in_background(bad)
    qtbot.waitUntil(lambda: len(message_boxes(window)) == 1, timeout=20000)
    assert one_line(message_boxes(window)[0].text()).startswith("session: seed")
    assert (window.session, window.scene.id) == before[:2]
    close_boxes(window)

    good = tmp_path / "good.json"
    reference = Session(registry.get(LR), {"batch_size": 4}, seed=3)
    reference.forward(7)
    reference.save(good)
    window.open_session_in_background(good)
    qtbot.waitUntil(lambda: window.scene.id == LR and window.session is not None
                    and window.session.step == 7, timeout=20000)
    wait_ready(qtbot, window)
    assert_same_frames(window.session, reference)
    window.open_scene(GD)  # back to the scene the other window tests expect
    wait_ready(qtbot, window)
