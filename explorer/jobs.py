"""Background work in worker processes that can be stopped; the newest request per key wins.

``submit(key, function, *args)`` runs ``function(*args)`` in a worker *process*. A newer request
for the same key supersedes the old one: a queued job is dropped, a running one is stopped by
terminating its process (SIGTERM, SIGKILL 0.2 s later), and a warm spare process takes the new
job at once. ``cancel(key)``, ``cancel_all(prefix)`` and ``shutdown()`` stop work the same way;
``shutdown()`` never waits for a job. Results are read and unpickled in a background thread and
delivered on the UI thread (``finished``/``failed``, queued signals), only for the newest request.

Why processes: a thread cannot interrupt a running scikit-learn fit (a never-ending SVM froze
Close for 18 minutes), and a fit in a thread holds the GIL against the UI thread.

Why stdlib ``multiprocessing`` with the "forkserver" start method, not loky/joblib
(``bench/bench_jobs.py`` on the 2-core development machine, measured at load average ~10 while
other work ran, so every figure is inflated):

- A worker forked from the warm fork server is ready in 0.04-0.06 s with NumPy, PySide6,
  pyqtgraph and scikit-learn already in memory (copy-on-write); a superseding job is answered
  0.02-0.05 s after it was submitted, and the superseded process is gone 0.04-0.1 s later.
- A spawned interpreter (also what loky starts) is ready in 0.3 s with the core modules but
  needs 7-10 s here (~2 s on an idle machine) to import scikit-learn before its first fit, so a
  respawn after every superseded fit would make a slider drag wait for seconds.
- loky's reusable executor cannot stop one running task, only the whole executor (0.9-1.4 s to
  get a new cold worker), which also drops every other key's work. Here each job owns its
  process, so stopping one job stops only that one.
- Never a plain fork of the Qt process (it has threads): the fork server is started by
  fork+exec. It imports a small core first (explorer.worker.PRELOAD), so a first job waits
  ~0.3 s (0.9-2 s here) and not for scikit-learn, then imports the heavy modules while
  idle. The window starts it only after its first frame (built by an ``in_thread`` job), since
  on 2 cores its imports delayed that frame by 0.8 s (explorer._forkserver_preload, done ~3 s later on an idle machine, 10-12 s here);
  workers forked before that import what their job needs and are replaced once idle.
- Where there is no fork server (Windows, some macOS set-ups), or it cannot start, workers are
  spawned and import the modules themselves while they wait as spares.

Transfer: jobs and results are pickled (protocol 5). A decision-boundaries session with 200
boosting stages is 6.9 MB: 45-60 ms to pickle in the worker, 14-37 ms to unpickle here, in the
reader thread, through a Python-level file (see ``loads``) so the UI thread gets the GIL between
64 KB frames; the window keeps its user data instead of getting 100,000 rows back. A fine-map job
sends its refiner (0.3-0.9 MB, 14-43 ms) for 370-630 ms of work. A job that does not pickle fails
with a message naming the reason; it never hangs.
"""
from __future__ import annotations

import gc
import itertools
import os
import pickle
import queue
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing import connection
from typing import Any, Callable

from PySide6 import QtCore

from explorer import worker as worker_side

#: A terminated worker still alive after this long is killed (SIGKILL).
KILL_AFTER_S = 0.2
#: An idle worker forked before the fork server had loaded everything is replaced after this long.
RETIRE_COLD_S = 3.0

class _ChunkWriter:
    """A file for pickle.Pickler: it writes 64 KB frames through this Python-level method, and
    each call lets the UI thread take the GIL (a plain pickle.dumps holds it throughout)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        chunk = bytes(data)  # protocol 5 writes a large array's buffer as a PickleBuffer: no len()
        self.parts.append(chunk)
        return len(chunk)


class _ChunkReader:
    """A file for pickle.Unpickler with Python-level reads: the UI thread gets the GIL between frames."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._pos + size)
        chunk = bytes(self._data[self._pos:end])
        self._pos = end
        return chunk

    def readinto(self, buffer) -> int:
        chunk = self._data[self._pos:self._pos + len(buffer)]
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def readline(self) -> bytes:
        rest = bytes(self._data[self._pos:self._pos + 4096])
        cut = rest.find(b"\n")
        return self.read(len(rest) if cut < 0 else cut + 1)


def dumps(value: Any) -> bytes:
    """pickle.dumps that lets other threads run every 64 KB (used off the UI thread)."""
    writer = _ChunkWriter()
    pickle.Pickler(writer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return b"".join(writer.parts)


def loads(data: bytes) -> Any:
    """pickle.loads that lets other threads run between frames, without a garbage collection
    in the middle (unpickling 100,000 small lists triggers full collections that hold the GIL)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.Unpickler(_ChunkReader(data)).load()
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Job:
    key: str
    token: int
    function: Callable[..., Any]
    args: tuple
    submitted: float
    worker: "_Worker | None" = None


class _Worker:
    def __init__(self, process, conn) -> None:
        self.process = process
        self.conn = conn
        self.pid: int = process.pid
        self.ready = False   # said hello
        self.warm = False    # started with every preloaded module
        self.job: _Job | None = None
        self.dead = False
        self.started = time.monotonic()


class JobRunner(QtCore.QObject):
    #: key, result of the newest request for that key
    finished = QtCore.Signal(str, object)
    #: key, one-line error message
    failed = QtCore.Signal(str, str)

    # Emitted by the reader thread; the queued connection brings results to the UI thread.
    _done = QtCore.Signal(str, int, object, str)

    def __init__(self, parent: QtCore.QObject | None = None, workers: int = 2, spares: int = 1,
                 start_workers: bool = True) -> None:
        """At most ``workers`` jobs run at once; ``spares`` idle processes wait, started and warm.
        With ``start_workers=False`` no process starts until the first job or :meth:`start` (the
        window defers them past its first frame: on 2 cores the fork server's imports made the
        first frame 1.04 -> 1.83 s)."""
        super().__init__(parent)
        self.max_workers = max(1, int(workers))
        self.spares = max(0, int(spares))
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()
        self._active: dict[str, _Job] = {}              # newest request per key, until delivered
        self._queue: OrderedDict[str, _Job] = OrderedDict()  # waiting for a worker
        self._running: dict[str, _Job] = {}
        self._workers: list[_Worker] = []
        self._starting = 0
        self._warm_seen = False
        self._closed = False
        # A socket pair, not os.pipe(): once closed, a late _wake() cannot write into a reused fd.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)
        self._reap_queue: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        self._reaping = True
        threading.Thread(target=self._reaper, name="ml-explorer-reaper", daemon=True).start()
        self._thread = threading.Thread(target=self._loop, name="ml-explorer-jobs", daemon=True)
        self._thread.start()
        if start_workers:
            self._wake()  # starts the spares

    def start(self) -> None:
        """Start the spare worker processes now (if they are not yet)."""
        self._wake()

    # -- the public API (UI thread) ------------------------------------------------------------
    def submit(self, key: str, function: Callable[..., Any], *args: Any, in_thread: bool = False) -> int:
        """Run ``function(*args)`` in a worker process; returns the request's token (0 once closed).

        ``function`` and ``args`` must pickle (module-level functions, plain data); the result
        comes back pickled too. A request supersedes the previous one for ``key``.

        ``in_thread`` runs a *short, bounded* job in a daemon thread of this process instead: for
        the window's first run at start-up, which would otherwise wait for the fork server to
        boot (measured: first frame 1.97 s -> see bench/bench_startup.py). Such a job cannot be
        stopped, only dropped (a newer request or ``cancel`` makes its result stale), and it is
        never waited for."""
        if self._closed:
            return 0
        job = _Job(key, next(self._tokens), function, args, time.monotonic())
        with self._lock:
            self._active[key] = job
            self._queue.pop(key, None)
            if not in_thread:
                self._queue[key] = job
            stale = self._running.pop(key, None)
        if stale is not None and stale.worker is not None:
            self._kill(stale.worker)
        if in_thread:
            threading.Thread(target=self._run_in_thread, args=(job,), name="ml-explorer-startup-job",
                             daemon=True).start()
        else:
            self._wake()  # a worker takes it (spares are started if there are none)
        return job.token

    def _run_in_thread(self, job: _Job) -> None:
        try:
            result, error = job.function(*job.args), ""
        except Exception as exc:  # noqa: BLE001 - reported to the UI, never raised into Qt
            result, error = None, f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        with self._lock:
            current = self._active.get(job.key) is job
        if current:
            self._emit(job, result, error)

    def busy(self, key: str | None = None) -> bool:
        """True while a request (for ``key``, or any) is queued, running or not yet delivered."""
        with self._lock:
            return bool(self._active) if key is None else key in self._active

    def active_keys(self) -> list[str]:
        with self._lock:
            return list(self._active)

    def elapsed(self, key: str) -> float | None:
        """Seconds since the pending request for ``key`` was submitted; None when there is none."""
        with self._lock:
            job = self._active.get(key)
        return None if job is None else time.monotonic() - job.submitted

    def pid(self, key: str) -> int | None:
        """Process id of the worker running ``key``'s request (None while queued or idle)."""
        with self._lock:
            job = self._running.get(key)
            return None if job is None or job.worker is None else job.worker.pid

    def cancel(self, key: str) -> bool:
        """Forget the pending request for ``key`` and stop its process; True if there was one."""
        with self._lock:
            job = self._active.pop(key, None)
            self._queue.pop(key, None)
            running = self._running.pop(key, None)
        if running is not None and running.worker is not None:
            self._kill(running.worker)
        self._wake()
        return job is not None

    def cancel_all(self, prefix: str = "") -> list[str]:
        """Cancel every pending request whose key starts with ``prefix``; returns their keys."""
        keys = [key for key in self.active_keys() if key.startswith(prefix)]
        return [key for key in keys if self.cancel(key)]

    def shutdown(self) -> None:
        """Stop every worker without waiting for any job; nothing is delivered afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
            self._queue.clear()
            self._running.clear()
            self._active.clear()
        for worker in workers:
            self._kill(worker)
        self._reaping = False
        self._reap_queue.put(None)  # the reaper ends after these
        self._wake()
        self._thread.join(0.2)  # it only reads pipes; a daemon, so a slow unpickle never blocks exit

    # -- delivery (UI thread) ------------------------------------------------------------------
    @QtCore.Slot(str, int, object, str)
    def _deliver(self, key: str, token: int, result: Any, error: str) -> None:
        with self._lock:
            job = self._active.get(key)
            if self._closed or job is None or job.token != token:
                return  # superseded or cancelled meanwhile: this result is stale
            del self._active[key]
        if error:
            self.failed.emit(key, error)
        else:
            self.finished.emit(key, result)

    # -- processes -----------------------------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # already awake (buffer full) or closed

    def _kill(self, worker: _Worker) -> None:
        """Stop a worker now (SIGTERM; SIGKILL from a reaper thread if it lingers)."""
        with self._lock:
            if worker.dead:
                return
            worker.dead = True
            if worker in self._workers:
                self._workers.remove(worker)
        try:
            worker.process.terminate()
        except Exception:  # noqa: BLE001 - already gone
            pass
        # Reaped by a long-lived thread: starting a thread here would make the UI thread wait
        # until the new thread first runs, which takes tens of ms on a busy machine.
        if self._reaping:
            self._reap_queue.put(worker)
        else:  # after shutdown (a spare that finished starting late): rare, never on the UI thread
            threading.Thread(target=self._reap, args=(worker,), daemon=True).start()

    def _reaper(self) -> None:
        while (worker := self._reap_queue.get()) is not None:
            self._reap(worker)

    @staticmethod
    def _reap(worker: _Worker) -> None:
        try:
            worker.process.join(KILL_AFTER_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2.0)
        except Exception:  # noqa: BLE001
            pass
        try:
            worker.conn.close()
        except OSError:
            pass

    def _spawn(self) -> None:
        """Start one worker process (in its own thread: the first start also starts the fork server)."""
        ctx, preload = worker_side.process_context()
        process = conn = None
        for attempt in (0, 1):
            conn, child = ctx.Pipe(duplex=True)
            process = ctx.Process(target=worker_side.main, args=(child, preload),
                                  name=worker_side.WORKER_NAME, daemon=True)
            try:
                process.start()
            except Exception as error:  # noqa: BLE001
                conn.close()
                child.close()
                process = None
                if attempt == 0 and ctx.get_start_method() == "forkserver":
                    print(f"ml-explorer: no fork server ({error}); workers are spawned", file=sys.stderr)
                    ctx, preload = worker_side.process_context(spawn_only=True)
                    continue
                self._cannot_start(f"cannot start a worker process: {type(error).__name__}: {error}")
                return
            child.close()
            break
        worker = _Worker(process, conn)
        with self._lock:
            self._starting -= 1
            closed = self._closed
            if not closed:
                self._workers.append(worker)
        if closed:
            self._kill(worker)
        self._wake()

    def _cannot_start(self, message: str) -> None:
        with self._lock:
            self._starting -= 1
            jobs = list(self._queue.values())
            self._queue.clear()
        for job in jobs:
            self._emit(job, None, message)

    def _emit(self, job: _Job, result: Any, error: str) -> None:
        if self._closed:
            return
        try:
            self._done.emit(job.key, job.token, result, error)
        except RuntimeError:  # the runner's Qt object is gone (window closed)
            pass

    # -- the reader thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._closed:
                with self._lock:
                    watched = {worker.conn: worker for worker in self._workers}
                    # Look again soon while an idle worker is cold (see RETIRE_COLD_S).
                    timeout = 1.0 if any(w.ready and not w.warm and w.job is None for w in watched.values()) else None
                try:
                    ready = connection.wait([*watched, self._wake_r], timeout)
                except (OSError, ValueError):
                    continue  # a connection was closed by a reaper meanwhile
                try:
                    for item in ready:
                        if item is self._wake_r:
                            self._wake_r.recv(4096)
                        else:
                            self._receive(watched[item])
                    self._dispatch()
                except Exception:  # noqa: BLE001 - a bug here must not stop every later job
                    traceback.print_exc()
        finally:
            self._wake_r.close()
            self._wake_w.close()

    def _receive(self, worker: _Worker) -> None:
        if worker.dead:
            return
        try:
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._lost(worker)
            return
        try:
            message = loads(data)
        except Exception as error:  # noqa: BLE001 - e.g. a class the window cannot import
            token = worker.job.token if worker.job is not None else 0
            message = ("error", token, f"the result could not be read: {type(error).__name__}: {error}")
        if message[0] == "hello":
            worker.ready, worker.warm = True, bool(message[2])
            if worker.warm:
                self._warm_seen = True
            return
        kind, token, payload = message
        with self._lock:
            job, worker.job = worker.job, None
            current = job is not None and job.token == token and self._running.get(job.key) is job
            if current:
                del self._running[job.key]
        if current:
            self._emit(job, payload if kind == "ok" else None, "" if kind == "ok" else str(payload))

    def _lost(self, worker: _Worker) -> None:
        """A worker died on its own (killed by the system, crashed in C code)."""
        with self._lock:
            job, worker.job = worker.job, None
            current = job is not None and self._running.get(job.key) is job
            if current:
                del self._running[job.key]
            worker.dead = True
            if worker in self._workers:
                self._workers.remove(worker)
        self._wake()  # a spare takes the next job

        def report() -> None:
            # The exit code comes from the fork server, which may be busy importing for a moment.
            worker.process.join(3.0)
            code = worker.process.exitcode
            self._reap(worker)
            if current:
                self._emit(job, None, f"the worker process stopped unexpectedly (exit code {code}) "
                                      f"while running {worker_side.describe(job.function)}")

        threading.Thread(target=report, name="ml-explorer-lost-worker", daemon=True).start()

    def _dispatch(self) -> None:
        sends: list[tuple[_Worker, _Job]] = []
        cold: list[_Worker] = []
        with self._lock:
            if self._closed:
                return
            now = time.monotonic()
            # Replace idle workers that started before the fork server had scikit-learn & co. loaded.
            cold = [w for w in self._workers if w.ready and not w.warm and w.job is None
                    and (self._warm_seen or now - w.started > RETIRE_COLD_S)]
            idle = [w for w in self._workers if w.ready and w.job is None and w not in cold]
            idle.sort(key=lambda w: not w.warm)
            running = sum(w.job is not None for w in self._workers)
            while self._queue and idle and running < self.max_workers:
                key, job = self._queue.popitem(last=False)
                worker = idle.pop(0)
                worker.job, job.worker = job, worker
                self._running[key] = job
                running += 1
                sends.append((worker, job))
            free = len(idle) + self._starting + sum(not w.ready for w in self._workers)
            wanted = self.spares + min(len(self._queue), self.max_workers - running)
            room = self.max_workers + self.spares - (len(self._workers) - len(cold)) - self._starting
            spawn = max(0, min(wanted - free, room))
            self._starting += spawn
        for worker in cold:
            self._kill(worker)
        for _ in range(spawn):
            threading.Thread(target=self._spawn, name="ml-explorer-spawn", daemon=True).start()
        for worker, job in sends:
            try:
                payload = dumps((job.token, job.function, job.args))
            except Exception as error:  # noqa: BLE001 - a lambda, a lock, an open file...
                with self._lock:
                    worker.job = None
                    current = self._running.get(job.key) is job
                    if current:
                        del self._running[job.key]
                if current:
                    self._emit(job, None, f"{worker_side.describe(job.function)} cannot run in a worker "
                                          f"process: it does not pickle ({type(error).__name__}: {error})")
                self._wake()
                continue
            try:
                worker.conn.send_bytes(payload)
            except (OSError, ValueError):
                pass  # the worker was stopped meanwhile (superseded or cancelled)
