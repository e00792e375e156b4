"""The worker-process side of :mod:`explorer.jobs` (no Qt): run pickled jobs, send pickled results.

A worker reads ``(token, function, args)`` from its pipe, runs ``function(*args)`` and answers
``("ok", token, result)`` or ``("error", token, message)``; it says ``("hello", pid, warm)`` once
when it is ready. It dies with the app (Linux: the kernel kills it when its parent goes) and runs
at a lower CPU priority than the window, so a fit never takes the UI's core from it.
"""
from __future__ import annotations

import importlib
import os
import pickle
import signal
import sys
import threading
import traceback
from typing import Any

#: Imported by the fork server before it serves its first fork: the core, the scenes and their
#: views (a view's static ``prepare`` runs in a worker, so the first frame needs pyqtgraph there
#: anyway); ~1 s, overlapping the window's own start-up. Not scikit-learn (~2 s more).
PRELOAD: tuple[str, ...] = (
    "numpy",
    "explorer.params", "explorer.scene", "explorer.timeline", "explorer.session", "explorer.datasets",
    "explorer.worker",
    "scenes.gradient_descent", "scenes.learning_rate_batch", "scenes.decision_boundaries",
    "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "pyqtgraph",
    "explorer.contours", "explorer.ui.theme", "explorer.ui.view",
    "scenes.gradient_descent.view", "scenes.learning_rate_batch.view",
)
#: Imported by the fork server afterwards, one module per idle moment (explorer._forkserver_preload),
#: so later forks start with scikit-learn already loaded; a fork waits for one module at most.
BACKGROUND: tuple[str, ...] = (
    "numpy.testing", "scipy._lib._array_api", "scipy.sparse", "joblib", "scipy.special", "scipy.linalg",
    "scipy.sparse.linalg", "scipy.spatial", "scipy.optimize", "scipy.interpolate",
    "scipy.stats._distn_infrastructure", "scipy.stats._continuous_distns", "scipy.stats", "narwhals",
    "sklearn.utils", "sklearn.base", "sklearn.preprocessing", "sklearn.pipeline", "sklearn.linear_model",
    "sklearn.svm", "sklearn.neighbors", "sklearn.tree", "sklearn.ensemble", "sklearn.naive_bayes",
    "sklearn.exceptions", "scenes.decision_boundaries.view",
)
#: Lower CPU priority of workers (Unix nice increment): the window's own thread comes first.
NICE = 0


#: Modules this process tried to import (one that is not installed counts as done).
_attempted: set[str] = set()


def warm() -> bool:
    """True when every module of PRELOAD and BACKGROUND has been imported (or tried) here."""
    return all(name in sys.modules or name in _attempted for name in PRELOAD + BACKGROUND)


def import_all(names: tuple[str, ...]) -> None:
    for name in names:
        _attempted.add(name)
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - an optional module; the job imports what it needs
                pass


def _die_with_parent() -> None:
    """Exit when the process that started us goes away, even in the middle of a long C call."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel kills us with our parent
        except Exception:  # noqa: BLE001 - the watchdog thread below still covers a clean exit
            pass
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None:
        from multiprocessing.connection import wait

        def watch() -> None:
            wait([parent.sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="ml-explorer-parent-watch", daemon=True).start()


def describe(function: Any) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__


def main(conn, preload: bool) -> None:
    """Serve jobs from ``conn`` until it closes (the entry point of every worker process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the window's to handle
    _die_with_parent()
    try:
        os.nice(NICE)
    except (AttributeError, OSError):
        pass
    if preload:  # spawn start method: nothing was inherited, import what a fork server would have
        import_all(PRELOAD + BACKGROUND)
    conn.send_bytes(pickle.dumps(("hello", os.getpid(), warm())))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        token, function = 0, None
        try:
            token, function, args = pickle.loads(message)
        except Exception as error:  # noqa: BLE001
            reply = ("error", token, f"the job could not be read in the worker process: "
                                     f"{type(error).__name__}: {error}")
        else:
            try:
                reply = ("ok", token, function(*args))
            except Exception as error:  # noqa: BLE001 - reported to the UI, never raised into Qt
                traceback.print_exc()
                reply = ("error", token, f"{type(error).__name__}: {error}")
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001
            payload = pickle.dumps(("error", token, f"the result of {describe(function)} cannot be sent "
                                                    f"back from the worker process: {type(error).__name__}: {error}"))
        try:
            conn.send_bytes(payload)
        except (EOFError, OSError):
            return


def tagged(tag: Any, function: Any, *args: Any) -> tuple[Any, Any]:
    """``(tag, function(*args))``: a job whose result says which request it answers."""
    return tag, function(*args)


def new_session(scene: Any, params: Any, seed: int, data: Any) -> Any:
    """``Session(scene, params, seed, data)`` sent back without ``data``: the caller keeps the data
    it sent and puts it back (unpickling 100,000 rows of lists again would cost the UI thread)."""
    from explorer.session import Session

    session = Session(scene, params, seed, data)
    session.data = None
    return session


WORKER_NAME = "ml-explorer-worker"
_context_lock = threading.Lock()
_context: tuple[Any, bool] | None = None


def _preparation_data(name: str) -> dict:
    """multiprocessing's start-up data for a child, without re-running the app's main script in
    our workers (a script run as ``python x.py`` would run again in every worker; a job names its
    function by module, so the main script is never needed)."""
    data = _stdlib_preparation_data(name)
    if name == WORKER_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


_stdlib_preparation_data = None


def process_context(spawn_only: bool = False) -> tuple[Any, bool]:
    """(multiprocessing context for workers, whether a worker must import the modules itself):
    the fork server where there is one, else (or with ``spawn_only``, after it failed) spawn."""
    global _context, _stdlib_preparation_data
    import multiprocessing
    from multiprocessing import spawn

    with _context_lock:
        if _stdlib_preparation_data is None:
            _stdlib_preparation_data = spawn.get_preparation_data
            spawn.get_preparation_data = _preparation_data
        if spawn_only:
            _context = (multiprocessing.get_context("spawn"), True)
        elif _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload([*PRELOAD, "explorer._forkserver_preload"])
                _context = (ctx, False)
            else:
                _context = (multiprocessing.get_context("spawn"), True)
        return _context


def start_fork_server() -> None:
    """Start the fork server now and return at once (it preloads in its own process). The app
    may call this first thing, so that the server's imports overlap the window's start-up."""
    ctx, _ = process_context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        try:
            forkserver.ensure_running()
        except Exception:  # noqa: BLE001 - explorer.jobs falls back to spawn when it starts a worker
            pass
