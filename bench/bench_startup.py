"""Cold start: seconds from launching a fresh ``ml-explorer --scene ID`` process to the first frame
drawn in its window (budget < 1 s; scikit-learn must load lazily). Median of several processes.

The clock starts in this (parent) process just before the child is launched, so interpreter
start-up, site-packages and the command-line parsing count too. The child runs the real entry
point (explorer.cli.main -> explorer.ui.app.run); only ``run`` is wrapped so that, instead of
entering Qt's event loop, it waits for the first frame, paints it, prints the time and exits.

Run: python bench/bench_startup.py [runs] [scene ...] [--no-bytecode-cache]
(offscreen Qt; set QT_QPA_PLATFORM to override). The load average is printed: on a busy machine
the wall-clock figure grows, the CPU seconds much less.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys, time
import explorer.ui.app as gui  # light: no Qt, NumPy or pyqtgraph until open_window()

def run_until_first_frame(scene_id=None, session_path=None):
    app, window = gui.open_window(scene_id, session_path)
    # Wait as app.exec() would (sleeping until an event arrives), not spinning: a busy loop here
    # would take the GIL and a core from the worker that builds the first run.
    from PySide6 import QtCore
    wake = QtCore.QTimer()
    wake.start(5)
    while window.session is None or window.busy:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    wake.stop()
    window.view.widget.viewport().repaint()
    app.processEvents()
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("first-frame", time.time(), usage.ru_utime + usage.ru_stime, " ".join(sorted({m.split(".")[0] for m in sys.modules})), flush=True)
    window.close()
    return 0

gui.run = run_until_first_frame
from explorer.cli import main  # what the ml-explorer console script runs
sys.exit(main(["--scene", sys.argv[1]]))
"""

SCENES = ("gradient-descent", "learning-rate-batch", "decision-boundaries")
#: Packages the first frame of gradient descent / learning rate should not need.
HEAVY = ("sklearn", "scipy", "PIL", "contourpy", "markdown_it", "matplotlib", "imageio", "imageio_ffmpeg")


def first_frame_seconds(scene: str, bytecode_cache: bool = True) -> tuple[float, float, set[str]]:
    """(wall seconds from launch to the first frame, CPU seconds of the window's process, its modules).

    With ``bytecode_cache`` the child may write and read compiled bytecode (in a directory of its
    own, PYTHONPYCACHEPREFIX), as every launch after the first does on a user's machine; without
    it, every module is compiled from source (PYTHONDONTWRITEBYTECODE, as in some sandboxes)."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "ml-explorer-bench-pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    start = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, scene], env=env, capture_output=True,
                         text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("first-frame"))
    _, stamp, cpu, *modules = line.split()
    return float(stamp) - start, float(cpu), set(modules)


def main(runs: int = 5, scenes: tuple[str, ...] = SCENES, bytecode_cache: bool = True) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cache = "bytecode cached" if bytecode_cache else "no bytecode cache (every module compiled)"
    print(f"{runs} fresh processes per scene, {cache}; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'scene':22} {'first frame s: median':>22} {'(min-max)':>12} {'CPU s of the window':>20}"
          "  loaded before the first frame")
    if bytecode_cache:
        first_frame_seconds(scenes[0], bytecode_cache)  # writes the bytecode cache (a user's 2nd launch on)
    for scene in scenes:
        times, cpus, modules = [], [], set()
        for _ in range(runs):
            seconds, cpu, modules = first_frame_seconds(scene, bytecode_cache)
            times.append(seconds)
            cpus.append(cpu)
        heavy = [m for m in HEAVY if m in modules]
        print(f"{scene:22} {statistics.median(times):22.2f} {min(times):5.2f}-{max(times):4.2f}"
              f" {statistics.median(cpus):20.2f}  {', '.join(heavy) or '-'}")


if __name__ == "__main__":
    # python bench/bench_startup.py [runs] [scene ...] [--no-bytecode-cache]
    options = [a for a in sys.argv[1:] if a.startswith("--")]
    words = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(words[0]) if words else 5, tuple(words[1:]) or SCENES, "--no-bytecode-cache" not in options)
