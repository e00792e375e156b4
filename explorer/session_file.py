"""Reading a session file safely: every field is checked before anything is built (no Qt).

Session files are the one kind of file users send each other, so opening one must be as safe
as opening a picture. :func:`load` reads at most :data:`MAX_BYTES` from a regular file,
decodes UTF-8, refuses nesting deeper than :data:`MAX_DEPTH` *before* the JSON parser recurses,
parses JSON as data only (non-finite constants and overflowing numbers are kept as markers so
the message can name their field), and :func:`validate` then checks the type, range and size of
every field the app uses. Any problem raises :class:`~explorer.params.ParamError` with one line
that starts with ``session:`` and names the field path, e.g.
``session: params.learning_rate: expected a number, got "abc"``.

The validator is hand-written rather than a schema library (pydantic, jsonschema): the rules
that matter are not shapes but the scene's own declarations — each value is checked by the
scene's ``Param.validate``, a ``param_log`` entry may change only *live* parameters, steps must
be increasing and within the session's step, user points must fit what the scene's data loader
accepts — and these would be custom validators in any library. A schema library would add a
dependency and its own message format without removing any of that code.

Fields the app does not use (such as the ``frame`` an export adds) are ignored. What a field
may hold is listed in :func:`validate`.
"""
from __future__ import annotations

import codecs
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from explorer import datasets
from explorer import scene as registry
from explorer.params import Bool, Choice, Float, Int, Param, ParamError
from explorer.scene import Scene

SESSION_FORMAT = "ml-explorer-session"
SESSION_VERSION = 1

#: Largest session file read (bytes).
MAX_BYTES = 50 * 1024 * 1024
#: Deepest nesting of JSON arrays/objects allowed (a real session needs 4).
MAX_DEPTH = 64
#: Largest seed: what NumPy's generators accept as one 64-bit signed number.
MAX_SEED = 2**63 - 1
#: Largest step a file may name; a step this large is not replayed in full (see MAX_REPLAY_STEPS).
MAX_FILE_STEP = 2**63 - 1
#: Most steps a load replays: the same cap as ``ml-explorer render --steps`` (explorer.cli.MAX_STEPS).
MAX_REPLAY_STEPS = 1_000_000
#: Wall time a load may spend replaying steps; past it the session opens at the step reached.
REPLAY_SECONDS = 10.0
#: Most digits a JSON integer may have (2**63 has 19).
MAX_INT_DIGITS = 40
#: Most user points: what Import CSV reads.
MAX_POINTS = datasets.MAX_IMPORT_ROWS
#: Longest class or column name (the CSV reader's longest field).
MAX_NAME_CHARS = datasets.MAX_FIELD_CHARS


# -- values the parser could not represent --------------------------------------------------------
class _Unrepresentable:
    """A JSON number that is not a finite float or a sane integer (NaN, Infinity, 1e400, 10**50)."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str) -> None:
        self.text = text if len(text) <= 24 else text[:20] + "…"
        self.why = why

    def __repr__(self) -> str:
        return self.text


def _parse_constant(text: str) -> _Unrepresentable:
    return _Unrepresentable(text, "is not a finite number")


def _parse_float(text: str) -> float | _Unrepresentable:
    value = float(text)
    return value if math.isfinite(value) else _Unrepresentable(text, "is too large to be a finite number")


def _parse_int(text: str) -> int | _Unrepresentable:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Unrepresentable(text, f"has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ParamError(f"session: the key {_show(key)} appears twice in one object")
            seen.add(key)
    return result


# -- reading ----------------------------------------------------------------------------------
def read_bytes(path: str | Path) -> bytes:
    """The file's bytes; refuses what is not a regular file or is larger than MAX_BYTES."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise ParamError(f"session: cannot read {path}: not a regular file")
        if info.st_size > MAX_BYTES:
            raise ParamError(f"session: {path} has {info.st_size:,} bytes: a session file may be at most "
                             f"{MAX_BYTES // 2**20} MB ({MAX_BYTES:,} bytes)")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise ParamError(f"session: cannot read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_BYTES:  # it grew while being read
        raise ParamError(f"session: {path} has more than {MAX_BYTES:,} bytes: a session file may be at most "
                         f"{MAX_BYTES // 2**20} MB ({MAX_BYTES:,} bytes)")
    return raw


def decode(raw: bytes) -> str:
    """UTF-8 text (a leading byte-order mark is allowed)."""
    start = 3 if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        raise ParamError(f"session: the file is not UTF-8 text (byte 0x{raw[offset]:02x} at offset "
                         f"{offset:,}); session files are JSON saved by ML Explorer") from None


_STRUCTURE = b'"[]{}'
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in _STRUCTURE)
_CHUNK = 1 << 22
_DELTA = np.zeros(256, np.int8)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1


def nesting_depth(raw: bytes, limit: int | None = None) -> int:
    """Deepest nesting of [ and { outside strings in JSON bytes.

    With ``limit``, only "more than limit or not" is exact: counting stops once the depth passes
    it, and a text with at most ``limit`` opening brackets is not scanned. Linear time and bounded
    memory, so it can run before the JSON parser recurses. Escapes are paired left to right as
    JSON does (\\\\ then \\"), which leaves every remaining quote a string delimiter; UTF-8
    multi-byte characters contain none of these bytes.
    """
    openers = raw.count(b"[") + raw.count(b"{")
    if limit is not None and openers <= limit:
        return openers
    reduced = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    codes = np.frombuffer(reduced, np.uint8)
    parity = depth = deepest = 0
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start:start + _CHUNK]
        step = _DELTA[chunk]  # +1 opens, -1 closes, 0 for a quote
        quotes = np.flatnonzero(chunk == ord('"'))
        if parity or len(quotes):
            # Zero the brackets inside strings: between a quote that opens and the one that closes.
            edges = np.zeros(len(chunk) + 1, np.int8)
            if parity:
                edges[0] += 1
            edges[quotes] += np.where(np.arange(len(quotes)) % 2 == parity, 1, -1).astype(np.int8)
            inside = np.cumsum(edges[:-1], dtype=np.int8) > 0
            step[inside] = 0
            parity = (parity + len(quotes)) & 1
        level = np.cumsum(step, dtype=np.int32)
        level += depth
        deepest = max(deepest, int(level.max()))
        depth = int(level[-1])
        if limit is not None and deepest > limit:
            break
    return deepest


def parse(raw: bytes) -> Any:
    """UTF-8 JSON bytes to Python data: depth checked first; NaN, Infinity, 1e400 and 10**50
    become markers that :func:`validate` reports with their field; duplicate keys are refused."""
    text = decode(raw)
    if nesting_depth(raw, MAX_DEPTH) > MAX_DEPTH:
        raise ParamError(f"session: the JSON is nested deeper than {MAX_DEPTH} levels; "
                         "a session file needs only a few")
    try:
        return json.loads(text, parse_constant=_parse_constant, parse_float=_parse_float,
                          parse_int=_parse_int, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        raise ParamError(f"session: not valid JSON: {error.msg} at line {error.lineno}, "
                         f"column {error.colno}") from None
    except RecursionError:  # cannot happen after the depth check; never a traceback anyway
        raise ParamError(f"session: the JSON is nested too deeply") from None


# -- what a valid file holds ---------------------------------------------------------------------
@dataclass(frozen=True)
class SessionFile:
    """The checked content of a session file, ready to replay."""

    scene: Scene
    seed: int
    step: int
    #: (step, parameters in force after that step), steps increasing, the first at 0; all resolved.
    param_log: tuple[tuple[int, dict[str, Any]], ...]
    #: The parameters at the saved step (resolved); None when the file has none.
    params: dict[str, Any] | None
    coarse_steps: frozenset[int]
    data: Any


def load(path: str | Path) -> SessionFile:
    """Read, parse and check a session file; raises ParamError with one line on any problem."""
    return validate(parse(read_bytes(path)))


def validate(document: Any) -> SessionFile:
    """Check a parsed session document field by field.

    - ``format``: "ml-explorer-session"; ``version``: a whole number from 1 to SESSION_VERSION (optional);
    - ``scene``: a registered scene id;
    - ``seed``: a whole number from 0 to 2**63 - 1 (default 0);
    - ``step``: a whole number from 0 to 2**63 - 1 (default 0); replay is bounded separately;
    - ``params``: an object of the scene's parameters, each valid for its declaration;
    - ``param_log``: a list of [step, parameters] pairs, the first at step 0, steps strictly
      increasing and not after ``step``; after the first, only live parameters may change
      (a structural change starts a new run, so it cannot appear mid-run); ``params`` must agree
      with the log on every structural parameter;
    - ``coarse_steps``: whole numbers from 1 to ``step``, strictly increasing, only for a scene
      with a coarse step;
    - ``data``: the scene's user data (null for scenes that take none).
    """
    if not isinstance(document, dict):
        raise ParamError(f"session: expected a JSON object at the top level, got {_show(document)}")
    if document.get("format") != SESSION_FORMAT:
        got = f", got {_show(document['format'])}" if "format" in document else ""
        raise ParamError(f"session: format: not an ML Explorer session file (expected \"format\": "
                         f"\"{SESSION_FORMAT}\"{got})")
    if "version" in document:
        version = _whole(document["version"], "version", 1, None)
        if version > SESSION_VERSION:
            raise ParamError(f"session: version: {version} is newer than this app reads "
                             f"(version {SESSION_VERSION}); update ML Explorer")
    scene_id = document.get("scene")
    if not isinstance(scene_id, str):
        raise ParamError(f"session: scene: expected a scene id, got {_show(scene_id)}; "
                         f"allowed: {', '.join(s.id for s in registry.scenes())}")
    scenes = {s.id: s for s in registry.scenes()}
    if scene_id not in scenes:
        shown = repr(scene_id) if len(scene_id) <= 40 else repr(scene_id[:36]) + "…"
        raise ParamError(f"session: scene: unknown scene {shown}; allowed: {', '.join(scenes)}")
    scene = scenes[scene_id]
    seed = _whole(document.get("seed", 0), "seed", 0, MAX_SEED)
    step = _whole(document.get("step", 0), "step", 0, MAX_FILE_STEP)

    given = None if document.get("params") is None else _params(scene, document["params"], "params")
    log = _param_log(scene, document.get("param_log"), step, given)
    params = None
    if given is not None:
        # Parameters the file leaves out are those of the last logged change.
        params = {**log[-1][1], **given}
        _same_structure(scene, log[0][1], params, "params", "param_log[0]")
    coarse = _coarse_steps(scene, document.get("coarse_steps"), step)
    data = _data(scene, document.get("data"))
    return SessionFile(scene, seed, step, log, params, coarse, data)


# -- field checks -----------------------------------------------------------------------------------
def _show(value: Any) -> str:
    """A value as the JSON it came from, short: "abc", 3, true, null, a list, an object."""
    if isinstance(value, _Unrepresentable):
        return value.text
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, float):
        return f"{value:g}"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:36] + "…" + text[-1]


def _count(number: int) -> str:
    """A whole number for a message: 1,234,567, or 1.23e+30 when it is huge."""
    return f"{number:,}" if abs(number) < 10**21 else f"{float(number):.3g}"


def _key(path: str, key: str) -> str:
    """``path.key`` for a plain key, else ``path["odd key"]`` (escaped and shortened)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{_show(key)}]"


def _bad_number(value: Any, path: str) -> None:
    if isinstance(value, _Unrepresentable):
        raise ParamError(f"session: {path}: {value.text} {value.why}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value: Any, path: str, low: int, high: int | None) -> int:
    _bad_number(value, path)
    if not _is_number(value):
        raise ParamError(f"session: {path}: expected a whole number, got {_show(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ParamError(f"session: {path}: expected a whole number, got {_show(value)}")
        value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"from {low:,} to {high:,}" if high is not None else f"of at least {low:,}"
        raise ParamError(f"session: {path}: {_count(value)} is out of range; allowed: a whole number {allowed}")
    return value


def _param_value(param: Param, value: Any, path: str) -> Any:
    _bad_number(value, path)
    if isinstance(param, (Float, Int)) and not _is_number(value):
        raise ParamError(f"session: {path}: expected a {'whole ' if isinstance(param, Int) else ''}number, "
                         f"got {_show(value)}; allowed: {param.allowed()}")
    if isinstance(param, Int):
        value = _whole(value, path, param.minimum, param.maximum)
    if isinstance(param, Bool) and not isinstance(value, bool):
        raise ParamError(f"session: {path}: expected true or false, got {_show(value)}")
    if isinstance(param, Choice) and value not in param.choices:
        raise ParamError(f"session: {path}: {_show(value)} is not allowed; allowed: {param.allowed()}")
    try:
        return param.validate(value)
    except ParamError as error:
        message = str(error)
        prefix = f"{param.name}: "
        raise ParamError(f"session: {path}: {message[len(prefix):] if message.startswith(prefix) else message}") \
            from None


def _params(scene: Scene, values: Any, path: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ParamError(f"session: {path}: expected an object of parameters, got {_show(values)}")
    by_name = {p.name: p for p in scene.params}
    checked = {}
    for name, value in values.items():
        if name not in by_name:
            raise ParamError(f"session: {_key(path, name)}: unknown parameter of {scene.id}; "
                             f"allowed: {', '.join(by_name)}")
        checked[name] = _param_value(by_name[name], value, _key(path, name))
    return checked


def _same_structure(scene: Scene, first: Mapping[str, Any], values: Mapping[str, Any], path: str,
                    first_path: str) -> None:
    for param in scene.params:
        if not param.live and values[param.name] != first[param.name]:
            raise ParamError(
                f"session: {path}.{param.name}: {_show(values[param.name])} contradicts "
                f"{first_path} ({_show(first[param.name])}): {param.name} is structural (a change starts a "
                "new run), so it cannot change mid-run")


def _param_log(scene: Scene, log: Any, step: int,
               given: dict[str, Any] | None) -> tuple[tuple[int, dict[str, Any]], ...]:
    if log is None or log == []:
        return ((0, scene.resolve(given)),)
    if not isinstance(log, list):
        raise ParamError(f"session: param_log: expected a list of [step, parameters] pairs, got {_show(log)}")
    if len(log) > step + 1:
        raise ParamError(f"session: param_log: {len(log):,} entries, but a session at step {_count(step)} "
                         f"has at most {_count(step + 1)} (one per step)")
    entries: list[tuple[int, dict[str, Any]]] = []
    for index, entry in enumerate(log):
        path = f"param_log[{index}]"
        if not isinstance(entry, list) or len(entry) != 2:
            raise ParamError(f"session: {path}: expected a [step, parameters] pair, got {_show(entry)}")
        k = _whole(entry[0], f"{path}[0]", 0, MAX_FILE_STEP)
        if index == 0 and k != 0:
            raise ParamError(f"session: {path}[0]: the first entry must be at step 0, got {_count(k)}")
        if entries and k <= entries[-1][0]:
            raise ParamError(f"session: {path}[0]: step {_count(k)} is not after the previous entry's step "
                             f"{_count(entries[-1][0])}")
        if k > step:
            raise ParamError(f"session: {path}[0]: step {_count(k)} is after the session's step {_count(step)}")
        checked = _params(scene, entry[1], f"{path}[1]")
        if entries:
            # A later entry lists what is in force; what it leaves out is unchanged.
            values = {**entries[-1][1], **checked}
            _same_structure(scene, entries[0][1], values, f"{path}[1]", "param_log[0]")
        else:
            values = scene.resolve(checked)
        entries.append((k, values))
    return tuple(entries)


def _coarse_steps(scene: Scene, steps: Any, step: int) -> frozenset[int]:
    if steps is None or steps == []:
        return frozenset()
    if not isinstance(steps, list):
        raise ParamError(f"session: coarse_steps: expected a list of whole numbers, got {_show(steps)}")
    if scene.coarse_step is None:
        raise ParamError(f"session: coarse_steps: the scene {scene.id} has no coarse step, "
                         "so the list must be empty")
    if len(steps) > step:
        raise ParamError(f"session: coarse_steps: {len(steps):,} entries, but a session at step "
                         f"{_count(step)} has at most {_count(step)}")
    checked = []
    for index, value in enumerate(steps):
        k = _whole(value, f"coarse_steps[{index}]", 1, step)
        if checked and k <= checked[-1]:
            raise ParamError(f"session: coarse_steps[{index}]: {_count(k)} is not after the previous entry "
                             f"({_count(checked[-1])}); each step is listed once, in order")
        checked.append(k)
    return frozenset(checked)


# -- user data ----------------------------------------------------------------------------------
def _plain(value: Any, path: str) -> None:
    """Any JSON value without unrepresentable numbers (for fields the scene ignores)."""
    _bad_number(value, path)
    if isinstance(value, dict):
        for key, item in value.items():
            _plain(item, _key(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _plain(item, f"{path}[{index}]")


def _name_list(value: Any, path: str, most: int) -> list[str]:
    if not isinstance(value, list):
        raise ParamError(f"session: {path}: expected a list of names, got {_show(value)}")
    if len(value) > most:
        raise ParamError(f"session: {path}: {len(value):,} names; at most {most} are allowed")
    for index, name in enumerate(value):
        if not isinstance(name, str):
            raise ParamError(f"session: {path}[{index}]: expected a name (a string), got {_show(name)}")
        if len(name) > MAX_NAME_CHARS:
            raise ParamError(f"session: {path}[{index}]: {len(name):,} characters; at most "
                             f"{MAX_NAME_CHARS:,} are allowed")
    return value


def user_points(data: Any) -> Any:
    """Drawn or imported points as :func:`explorer.datasets.from_user` reads them:
    ``{"x": [[x, y], ...], "labels": [whole numbers], "names": [strings], "columns": [2 strings]}``
    plus descriptive fields (file name, encoding); points finite and within ±MAX_ABS_VALUE,
    at most MAX_POINTS of them, labels from 0 to (number of names or MAX_CLASSES) - 1.
    Too few points or a single class are allowed: the scene shows them as a state with a message.
    """
    if not isinstance(data, dict):
        raise ParamError(f"session: data: expected an object with \"x\" and \"labels\", got {_show(data)}")
    for key in ("x", "labels"):
        if key not in data:
            raise ParamError(f"session: data.{key}: missing (user data needs \"x\" and \"labels\")")
    points, labels = data["x"], data["labels"]
    for key, value in (("x", points), ("labels", labels)):
        if not isinstance(value, list):
            raise ParamError(f"session: data.{key}: expected a list, got {_show(value)}")
        if len(value) > MAX_POINTS:
            raise ParamError(f"session: data.{key}: {len(value):,} entries; at most {MAX_POINTS:,} points "
                             "are supported")
    if len(labels) != len(points):
        raise ParamError(f"session: data.labels: {len(labels):,} labels for {len(points):,} points")
    limit = datasets.MAX_ABS_VALUE
    for index, point in enumerate(points):
        if not isinstance(point, list) or len(point) != 2:
            raise ParamError(f"session: data.x[{index}]: expected a point [x, y], got {_show(point)}")
        for axis, value in enumerate(point):
            if type(value) is not float and type(value) is not int:  # fast path for the common case
                _bad_number(value, f"data.x[{index}][{axis}]")
                raise ParamError(f"session: data.x[{index}][{axis}]: expected a number, got {_show(value)}")
            if not -limit <= value <= limit:
                raise ParamError(f"session: data.x[{index}][{axis}]: {value:g} is beyond ±{limit:g}")
    names = None
    if data.get("names") is not None:
        names = _name_list(data["names"], "data.names", datasets.MAX_CLASSES)
    classes = len(names) if names is not None else datasets.MAX_CLASSES
    for index, label in enumerate(labels):
        if type(label) is not int:
            if isinstance(label, float) and label.is_integer():
                label = int(label)
            else:
                _bad_number(label, f"data.labels[{index}]")
                raise ParamError(f"session: data.labels[{index}]: expected a whole number, got {_show(label)}")
        if not 0 <= label < classes:
            which = "one per name in data.names" if names is not None else f"at most {classes} classes"
            raise ParamError(f"session: data.labels[{index}]: {_count(label)} is out of range; allowed: "
                             f"0 to {classes - 1} ({which})")
    if data.get("columns") is not None:
        columns = _name_list(data["columns"], "data.columns", 2)
        if len(columns) != 2:
            raise ParamError(f"session: data.columns: expected the 2 feature column names, got {len(columns)}")
    for key, value in data.items():
        if key not in ("x", "labels", "names", "columns"):
            _plain(value, _key("data", key))
    return data


#: Scene id -> checker of its user data. A scene not listed takes no user data. A new scene that
#: takes user points (datasets.from_user) lists itself here with ``user_points``.
USER_DATA: dict[str, Callable[[Any], Any]] = {"decision-boundaries": user_points, "neural-network": user_points,
                                               "kmeans": user_points}


def _data(scene: Scene, data: Any) -> Any:
    if data is None:
        return None
    check = USER_DATA.get(scene.id)
    if check is None:
        raise ParamError(f"session: data: the scene {scene.id} takes no user data (expected null or no field)")
    return check(data)
