"""The ``ml-explorer`` command: the GUI, plus headless ``render``, ``list`` and ``params``.

    ml-explorer [gui] [--scene ID] [--session FILE]
    ml-explorer list
    ml-explorer params SCENE
    ml-explorer render SCENE [--set NAME=VALUE ...] [--preset NAME] [--seed N] [--steps N]
                       [--width PX] --out FILE [--out FILE ...]

Bad input and outputs that cannot be written exit with code 2 and one line on stderr that names
the allowed values or the output; nothing is written then (several --out: all or nothing). On a
terminal, long runs and animations show their progress on stderr. ``render`` needs no display,
and for .csv/.json output it does not import Qt.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from explorer import __version__
from explorer.params import Bool, Float, Param, ParamError, parse_assignments

PROG = "ml-explorer"
MAX_STEPS = 1_000_000
DEFAULT_STEPS = 100
#: Seconds between two progress updates on a terminal's stderr.
PROGRESS_INTERVAL_S = 0.5


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (usage stays available through --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """Bad command-line input; the message is one user-facing line."""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="See machine-learning algorithms work. "
                     "Without a command, opens the app.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--scene", metavar="ID", help="open this scene (see `ml-explorer list`)")
    parser.add_argument("--session", metavar="FILE", help="open a saved session (.json)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the app (the default)", description="Open the app.")
    gui.add_argument("--scene", metavar="ID", help="open this scene (see `ml-explorer list`)")
    gui.add_argument("--session", metavar="FILE", help="open a saved session (.json)")

    commands.add_parser("list", help="list the scenes", description="List the scenes: id, title, summary.")

    params = commands.add_parser("params", help="list a scene's parameters and presets",
                                 description="List a scene's parameters: name, default, allowed values, help.")
    params.add_argument("scene", metavar="SCENE", help="scene id (see `ml-explorer list`)")

    from explorer import export  # Qt-free

    formats = "; ".join(f"{suffix} {what}" for suffix, what in export.FORMATS.items())
    render = commands.add_parser(
        "render", help="run a scene headless and write pictures, an animation, data or the session",
        description="Run a scene without a window and write its output. The format follows each "
                    f"--out file's suffix: {formats}.",
        epilog="example: ml-explorer render gradient-descent --set learning_rate=0.1 --steps 50 "
               "--out run.png --out run.json")
    render.add_argument("scene", metavar="SCENE", nargs="?",
                        help="scene id (see `ml-explorer list`); optional with --session")
    render.add_argument("--session", metavar="FILE",
                        help="start from a saved session (.json) instead of the defaults")
    render.add_argument("--preset", metavar="NAME", help="start from one of the scene's presets")
    render.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], dest="assignments",
                        help="set a parameter (repeatable; applied after --preset); "
                             "see `ml-explorer params SCENE`")
    render.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    render.add_argument("--steps", type=int, default=None,
                        help=f"steps to run (default {DEFAULT_STEPS}; fewer if the run finishes; "
                             "with --session, the step to reach)")
    render.add_argument("--width", type=int, default=None,
                        help="picture width in pixels (default: .png "
                             f"{export.DEFAULT_WIDTH['.png']}, .svg {export.DEFAULT_WIDTH['.svg']}, "
                             f".gif {export.DEFAULT_WIDTH['.gif']}, .mp4 {export.DEFAULT_WIDTH['.mp4']})")
    render.add_argument("--fps", type=float, default=30.0, help="GIF/MP4 frames per second (default 30)")
    render.add_argument("--max-frames", type=int, default=240,
                        help="most frames in a GIF/MP4; longer runs are evenly subsampled (default 240)")
    render.add_argument("--out", metavar="FILE", action="append", required=True,
                        help=f"output file (repeatable): {', '.join(export.FORMATS)}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help, --version, or a usage error (one line, code 2)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        if args.command == "list":
            return _list()
        if args.command == "params":
            return _params(args.scene)
        if args.command == "render":
            return _render(args)
        return _gui(args.scene, args.session)
    except (ParamError, UsageError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1


# -- commands ------------------------------------------------------------------------------------
def _gui(scene_id: str | None, session_path: str | None) -> int:
    from explorer import scene as registry

    if scene_id is not None:
        registry.get(scene_id)  # an unknown id is a one-line error, not a window
    if session_path is not None and not Path(session_path).is_file():
        raise UsageError(f"--session {session_path!r}: no such file")
    if session_path is not None:
        from explorer import session_file

        session_file.load(session_path)  # a bad file is one line and exit 2, not a window
    from explorer.ui.app import run

    result = run(scene_id=scene_id, session_path=session_path)
    return int(result or 0)


def _list() -> int:
    from explorer import scene as registry

    rows = [(s.id, s.title, s.summary) for s in registry.scenes()]
    width_id = max((len(r[0]) for r in rows), default=0)
    width_title = max((len(r[1]) for r in rows), default=0)
    for scene_id, title, summary in rows:
        print(f"{scene_id:<{width_id}}  {title:<{width_title}}  {summary}".rstrip())
    return 0


def _format_value(param: Param, value: Any) -> str:
    if isinstance(param, Bool):
        return "true" if value else "false"
    if isinstance(param, Float):
        return f"{value:g}"
    return str(value)


def _params(scene_id: str) -> int:
    from explorer import scene as registry

    scene = registry.get(scene_id)
    rows = [(p.name, _format_value(p, p.default), p.allowed(), "live" if p.live else "restarts", p.help)
            for p in scene.params]
    header = ("name", "default", "allowed", "change", "help")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[4])
    if scene.presets:
        print("\npresets (--preset NAME):")
        width = max(len(p.name) for p in scene.presets)
        for preset in scene.presets:
            values = " ".join(f"{k}={v}" for k, v in preset.values.items())
            print(f"  {preset.name:<{width}}  {preset.description or values}".rstrip())
    return 0


def _ensure_headless_qt() -> None:
    """Without a display, make Qt render offscreen (must run before Qt is imported)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _check_number(name: str, value: int | None, low: int, high: int, what: str) -> None:
    if value is not None and not low <= value <= high:
        raise UsageError(f"--{name}: {value} is out of range; allowed: {what} from {low} to {high}")


class _Progress:
    """One rewriting line on a terminal, updated at most every PROGRESS_INTERVAL_S seconds."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.last = time.monotonic()
        self.shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S and not (self.shown and done == total):
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r{PROG}: {what} {done:,} of {total:,}\x1b[K")
        self.stream.flush()

    def end(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


def _run(session, steps: int, progress: _Progress | None, chunk: int = 1000) -> None:
    """Step ``steps`` times (fewer if the run ends), reporting progress between chunks."""
    done = 0
    while done < steps and not session.done:
        count = min(chunk, steps - done)
        session.forward(count)
        done += count
        if progress is not None:
            progress("computing step", session.step, steps)
    if progress is not None:
        progress.end()


def _render(args: argparse.Namespace) -> int:
    from explorer import export
    from explorer import scene as registry
    from explorer.session import Session

    # Check everything before computing or writing anything.
    _check_number("steps", args.steps, 0, MAX_STEPS, "a whole number")
    _check_number("seed", args.seed, 0, 2**63 - 1, "a whole number")
    _check_number("max-frames", args.max_frames, 1, 10_000, "a whole number")
    if not 0.1 <= args.fps <= 100:
        raise UsageError(f"--fps: {args.fps:g} is out of range; allowed: a number from 0.1 to 100")
    if args.width is not None:
        export.check_width(args.width)
    suffixes = [export.check_output(out, args.width) for out in args.out]
    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None

    if args.session is not None:
        if args.preset is not None:
            raise UsageError("--preset cannot be combined with --session; use --set to change parameters")
        session = Session.load(args.session)
        scene = session.scene
        if args.scene is not None and args.scene != scene.id:
            raise UsageError(f"SCENE {args.scene!r} does not match the session's scene {scene.id!r}")
        overrides = parse_assignments(scene.params, args.assignments)
        if args.seed is not None:
            session.set_seed(args.seed)
        session.set_params(overrides)
        if args.steps is not None:
            session.run_to(args.steps)
        if session.load_note:
            print(f"{PROG}: note: {session.load_note}", file=sys.stderr)
    else:
        if args.scene is None:
            raise UsageError(f"render: a SCENE is needed (or --session FILE); allowed: "
                             f"{', '.join(s.id for s in registry.scenes())}")
        scene = registry.get(args.scene)
        # `--preset ""` is a preset name too (an unknown one), not "no preset".
        values: dict[str, Any] = dict(scene.preset(args.preset).values) if args.preset is not None else {}
        values.update(parse_assignments(scene.params, args.assignments))
        session = Session(scene, scene.resolve(values), seed=args.seed or 0)
        _run(session, DEFAULT_STEPS if args.steps is None else args.steps, progress)

    view = None
    if any(suffix in export.PICTURES for suffix in suffixes):
        _ensure_headless_qt()
        view = export.build_view(session)
    try:
        export.write_all(session, args.out, view=view, width=args.width, include_frame=True,
                         max_frames=args.max_frames, fps=args.fps,
                         progress=None if progress is None else
                         (lambda out, done, total: progress(f"writing {out}: frame", done, total)))
    finally:
        if view is not None:
            view.close()
        if progress is not None:
            progress.end()

    frame = session.frame
    state = "done" if session.done else "running"
    note = f": {frame.message}" if frame.message else ""
    print(f"wrote {', '.join(args.out)} ({scene.id}, step {session.step}, {state}{note})")
    return 0
