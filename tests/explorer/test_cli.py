"""The ``ml-explorer`` command, run as a user would: in a subprocess without a display."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer import cli
from explorer import scene as registry
from explorer.params import Float, Int
from explorer.session import Session, frame_to_jsonable

ROOT = Path(__file__).resolve().parents[2]
SCENE_ID = "gradient-descent"


def headless_env() -> dict[str, str]:
    """The environment of a machine with no display and no Qt platform chosen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def ml_explorer(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], cwd=cwd, env=headless_env(),
                          capture_output=True, text=True, timeout=120)


def live_float():
    """A live Float parameter of the scene and a valid non-default value for it."""
    scene = registry.get(SCENE_ID)
    param = next(p for p in scene.params if isinstance(p, Float) and p.live)
    value = param.from_unit(0.3) if abs(param.to_unit(param.default) - 0.3) > 0.05 else param.from_unit(0.6)
    return param, float(f"{value:.4g}")


def test_render_every_format_headless(tmp_path):
    param, value = live_float()
    outs = ["run.png", "run.svg", "run.gif", "run.mp4", "run.csv", "run.json"]
    result = ml_explorer("render", SCENE_ID, "--set", f"{param.name}={value}", "--seed", "5",
                         "--steps", "25", "--width", "480", "--max-frames", "10",
                         *[a for out in outs for a in ("--out", out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1 and "run.png" in result.stdout and "step" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outs)

    with Image.open(tmp_path / "run.png") as png:
        assert png.width == 480 and len(png.convert("RGB").getcolors(1 << 24)) > 20
    svg = ET.parse(tmp_path / "run.svg").getroot()
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}path"))) >= 3
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.width == 480 and 1 < gif.n_frames <= 10
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(tmp_path / "run.mp4"))
    meta = next(reader)
    assert meta["size"][0] == 480 and meta["codec"] == "h264" and sum(1 for _ in reader) == 10
    with open(tmp_path / "run.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) > 1 and all(len(row) == len(rows[0]) for row in rows)

    # The JSON is the session plus the frame's data; replaying it gives the same frame.
    document = json.loads((tmp_path / "run.json").read_text())
    assert document["scene"] == SCENE_ID and document["seed"] == 5
    assert document["params"][param.name] == value
    restored = Session.from_dict(document)
    assert restored.step == document["step"] and frame_to_jsonable(restored.frame) == document["frame"]
    assert f"step {document['step']}" in result.stdout


def test_csv_and_json_do_not_import_qt(tmp_path):
    code = ("import sys; from explorer.cli import main; "
            f"rc = main(['render', {SCENE_ID!r}, '--steps', '3', '--out', 'a.csv', '--out', 'a.json']); "
            "print('QT' if {'PySide6', 'pyqtgraph'} & set(sys.modules) else 'NO-QT'); sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=headless_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "NO-QT"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.json"]
    assert json.loads((tmp_path / "a.json").read_text())["step"] == 3


def bad_inputs():
    scene = registry.get(SCENE_ID)
    numeric = next(p for p in scene.params if isinstance(p, (Float, Int)))
    names = ", ".join(p.name for p in scene.params)
    return [
        pytest.param(["render", "no-such-scene"], "allowed: " + ", ".join(s.id for s in registry.scenes()),
                     id="unknown-scene"),
        pytest.param(["render", SCENE_ID, "--set", "no_such_param=1"], f"allowed: {names}", id="unknown-param"),
        pytest.param(["render", SCENE_ID, "--set", f"{numeric.name}={numeric.maximum * 10 + 1}"],
                     f"allowed: {numeric.allowed()}", id="out-of-range"),
        pytest.param(["render", SCENE_ID], "allowed: .png, .svg, .gif, .mp4, .csv, .json", id="bad-suffix"),
    ]


@pytest.mark.parametrize("args, allowed", bad_inputs())
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, allowed):
    out = "out.bmp" if "render" in args and len(args) == 2 and args[1] == SCENE_ID else "out.png"
    result = ml_explorer(*args, "--out", out, "--out", "also.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ml-explorer: error: ") and allowed in lines[0]
    assert list(tmp_path.iterdir()) == []


# -- in-process (no subprocess needed: nothing here touches Qt) -----------------------------------
def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("args, allowed", [
    (["--steps", "-1"], "allowed: a whole number from 0 to 1000000"),
    (["--steps", "many"], "invalid int value"),
    (["--width", "3"], "allowed: a whole number of pixels from 16 to 8192"),
    (["--preset", "no-such-preset"], "allowed:"),
    (["--set", "oops"], "expected NAME=VALUE"),
])
def test_bad_options_exit_2_with_one_line(capsys, tmp_path, args, allowed):
    code, out, err = run_main(capsys, "render", SCENE_ID, *args, "--out", str(tmp_path / "x.json"))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and allowed in err
    assert list(tmp_path.iterdir()) == []


def test_list_prints_every_scene(capsys):
    code, out, err = run_main(capsys, "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(registry.scenes())
    line = next(line for line in lines if line.startswith(SCENE_ID + " "))
    assert registry.get(SCENE_ID).title in line


def test_params_lists_names_defaults_and_allowed_values(capsys):
    code, out, err = run_main(capsys, "params", SCENE_ID)
    assert code == 0 and err == ""
    for param in registry.get(SCENE_ID).params:
        line = next(line for line in out.splitlines() if line.startswith(param.name + " "))
        assert param.allowed() in line
    code, out, err = run_main(capsys, "params", "nope")
    assert code == 2 and "allowed:" in err and len(err.splitlines()) == 1


def test_preset_then_set_overrides(capsys, tmp_path):
    scene = registry.get(SCENE_ID)
    if not scene.presets:
        pytest.skip("the scene has no presets")
    preset = scene.presets[0]
    param, value = live_float()
    path = tmp_path / "p.json"
    code, out, err = run_main(capsys, "render", SCENE_ID, "--preset", preset.name, "--set",
                              f"{param.name}={value}", "--steps", "2", "--out", str(path))
    assert code == 0, err
    params = json.loads(path.read_text())["params"]
    expected = scene.resolve({**preset.values, param.name: value})
    assert params == expected


def test_render_from_a_saved_session(capsys, tmp_path):
    session = Session(registry.get(SCENE_ID), seed=9)
    session.forward(6)
    saved = tmp_path / "saved.json"
    session.save(saved)
    out_path = tmp_path / "again.json"
    code, out, err = run_main(capsys, "render", "--session", str(saved), "--steps", "6", "--out", str(out_path))
    assert code == 0, err
    document = json.loads(out_path.read_text())
    assert document["seed"] == 9 and document["step"] == 6
    assert document["frame"] == frame_to_jsonable(session.frame)
    for key, value in session.frame.data.items():
        np.testing.assert_array_equal(Session.from_dict(document).frame.data[key], value)


def test_help_exits_0(capsys):
    code, out, _ = run_main(capsys, "render", "--help")
    assert code == 0 and "--out" in out and ".gif" in out


def test_gui_is_the_default_command(capsys, monkeypatch, tmp_path):
    import types

    calls = []
    fake = types.ModuleType("explorer.ui.app")
    fake.run = lambda scene_id=None, session_path=None: calls.append((scene_id, session_path)) or 0
    monkeypatch.setitem(sys.modules, "explorer.ui.app", fake)
    saved = tmp_path / "s.json"
    Session(registry.get(SCENE_ID)).save(saved)  # a valid session: the CLI checks it before the window
    assert cli.main([]) == 0
    assert cli.main(["gui", "--scene", SCENE_ID]) == 0
    assert cli.main(["--session", str(saved)]) == 0
    assert calls == [(None, None), (SCENE_ID, None), (None, str(saved))]
    code, _, err = run_main(capsys, "gui", "--scene", "nope")
    assert code == 2 and "allowed: " in err and len(err.splitlines()) == 1
    code, _, err = run_main(capsys, "gui", "--session", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err
    assert len(calls) == 3


def test_empty_preset_is_refused_with_the_allowed_presets(capsys, tmp_path):
    scene = registry.get(SCENE_ID)
    code, out, err = run_main(capsys, "render", SCENE_ID, "--preset", "", "--out", str(tmp_path / "x.json"))
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "unknown preset ''; allowed: " + ", ".join(p.name for p in scene.presets) in err
    assert list(tmp_path.iterdir()) == []


def write_error_cases():
    cases = [pytest.param("plain/x.png", "'plain' is a file, not a directory", id="under-a-file"),
             pytest.param("n" * 300 + ".png", "the file name is 304 bytes long; allowed: at most 255",
                          id="over-long-name")]
    for folder in ("/proc", "/sys"):  # not writable even by root
        if Path(folder).is_dir():
            cases.append(pytest.param(f"{folder}/x.png", "", id=f"unwritable-{folder[1:]}"))
    return cases


@pytest.mark.parametrize("bad, reason", write_error_cases())
def test_write_errors_exit_2_naming_the_given_path_and_write_nothing(tmp_path, bad, reason):
    (tmp_path / "plain").write_text("a regular file")
    # The good outputs come first: all or nothing, none of them may be left behind.
    result = ml_explorer("render", SCENE_ID, "--steps", "3", "--width", "64", "--out", "ok.json",
                         "--out", "ok.png", "--out", bad, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ml-explorer: error: output {bad!r}"), result.stderr
    assert reason in lines[0] and ".part" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_a_read_only_output_is_refused_and_kept(tmp_path):
    target = tmp_path / "ro.json"
    target.write_text("keep me")
    target.chmod(0o444)
    result = ml_explorer("render", SCENE_ID, "--steps", "3", "--out", "a.csv", "--out", "ro.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("ml-explorer: error: output 'ro.json' exists and is read-only; "
                                     "nothing was replaced (make it writable or choose another name)")
    assert target.read_text() == "keep me" and target.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.json"]


def test_a_failure_while_writing_leaves_no_output(capsys, monkeypatch, tmp_path):
    from explorer import export

    def disk_full(scene, frame, path):
        with export._atomic(path) as tmp:
            Path(tmp).write_text("half")
            raise OSError(28, "No space left on device", tmp)

    monkeypatch.setattr(export, "export_csv", disk_full)
    code, out, err = run_main(capsys, "render", SCENE_ID, "--steps", "2", "--out", str(tmp_path / "a.json"),
                              "--out", str(tmp_path / "b.csv"), "--out", str(tmp_path / "c.json"))
    assert code == 2 and out == ""
    assert err == f"ml-explorer: error: output {str(tmp_path / 'b.csv')!r}: cannot write it: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_a_picture_too_big_for_memory_is_refused_before_computing(capsys, monkeypatch, tmp_path):
    import time

    from explorer import export

    monkeypatch.setattr(export, "_available_memory", lambda: 2**30)
    started = time.monotonic()
    code, out, err = run_main(capsys, "render", SCENE_ID, "--steps", "1000000", "--width", "8192",
                              "--out", str(tmp_path / "big.gif"))
    assert code == 2 and "needs about 1.3 GiB of memory and 1.0 GiB are available" in err
    assert time.monotonic() - started < 5, "refused before the million steps"
    assert list(tmp_path.iterdir()) == []


class Terminal:
    """A stderr that says it is a terminal."""

    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, []

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_is_shown_on_a_terminal_only(monkeypatch, tmp_path, tty):
    terminal = Terminal(tty)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(cli, "PROGRESS_INTERVAL_S", 0.0)
    scene_args = ["--set", "max_steps=5000", "--set", "learning_rate=0.0001"]
    assert cli.main(["render", SCENE_ID, *scene_args, "--steps", "2500", "--out", str(tmp_path / "x.json")]) == 0
    text = "".join(terminal.text)
    if not tty:
        assert text == ""
        return
    updates = [part for part in text.split("\r") if part]
    assert updates[0].startswith("ml-explorer: computing step 1,000 of 2,500")
    assert updates[-1] == "ml-explorer: computing step 2,500 of 2,500\x1b[K\n"
    assert len(updates) == 3  # one line rewritten in place, ended once
