"""Worker processes for heavy jobs (explorer.jobs): start-up, transfer and stop costs, and the
longest UI-thread stall while heavy work runs, against the old one-thread runner.

1. Start-up: a worker forked from the warm fork server vs a spawned interpreter vs loky (joblib);
   a superseding job's answer when a warm spare is ready; a busy loop stopped (process gone).
2. Transfer: pickle size and dumps/loads time of sessions (what a worker sends back) and of a
   decision-boundaries refiner (what a fine map job sends out).
3. Stalls: a QTimer at 1 ms records the longest gap between its ticks (and the 99th percentile)
   (a) for 5 s while a 100,000-row SVM run is built in the background, (b) while the noise slider
   is dragged over 12 values in the decision-boundaries compare grid (6 models, 1,000 points).

    python bench/bench_jobs.py
"""
from __future__ import annotations

import os
import pickle
import statistics
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from explorer import datasets, jobs  # noqa: E402
from explorer import scene as registry  # noqa: E402
from explorer import worker as worker_side  # noqa: E402
from explorer.jobs import JobRunner  # noqa: E402
from explorer.session import Session  # noqa: E402


class ThreadRunner(QtCore.QObject):
    """The runner this project had before: one worker thread (for comparison only)."""

    finished = QtCore.Signal(str, object)
    failed = QtCore.Signal(str, str)
    _done = QtCore.Signal(str, int, object, str)

    def __init__(self) -> None:
        super().__init__()
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._latest: dict[str, int] = {}
        self._count = 0
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    def submit(self, key, function, *args):
        self._count += 1
        token = self._latest[key] = self._count
        self._executor.submit(self._run, key, token, function, args)
        return token

    def _run(self, key, token, function, args):
        if self._latest.get(key) != token:
            return
        try:
            self._done.emit(key, token, function(*args), "")
        except Exception as error:  # noqa: BLE001
            self._done.emit(key, token, None, str(error))

    def _deliver(self, key, token, result, error):
        if self._latest.get(key) == token:
            self._latest.pop(key)
            (self.failed.emit(key, error) if error else self.finished.emit(key, result))

    def busy(self, key=None):
        return bool(self._latest)

    def shutdown(self):
        self._latest.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)  # a running fit cannot be stopped


# -- 1. start-up -----------------------------------------------------------------------------------
def _hello_time(ctx, preload: bool) -> float:
    conn, child = ctx.Pipe()
    start = time.perf_counter()
    process = ctx.Process(target=worker_side.main, args=(child, preload), name=worker_side.WORKER_NAME, daemon=True)
    process.start()
    child.close()
    conn.recv_bytes()
    elapsed = time.perf_counter() - start
    process.terminate()
    process.join()
    conn.close()
    return elapsed


def _wait(app, condition, timeout=60.0) -> float:
    start = time.perf_counter()
    while not condition():
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 1)
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(0.0005)
    return time.perf_counter() - start


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def startup(app) -> list[tuple[str, float]]:
    import multiprocessing

    rows = []
    ctx, _ = worker_side.process_context()
    start = time.perf_counter()
    runner = JobRunner()
    results = []
    runner.finished.connect(lambda key, value: results.append(value))
    runner.submit("first", os.getpid)
    _wait(app, lambda: results)
    rows.append(("first job of a new app (starts the fork server; its core preload)", time.perf_counter() - start))
    _wait(app, lambda: any(w.warm for w in runner._workers), timeout=120)
    rows.append(("fork server has everything loaded (PySide6, pyqtgraph, scikit-learn) after",
                 time.perf_counter() - start))
    if ctx.get_start_method() == "forkserver":
        forks = [_hello_time(ctx, False) for _ in range(7)]
        rows.append(("warm worker: fork from the fork server to ready (median of 7)", statistics.median(forks)))
    spawn = multiprocessing.get_context("spawn")
    rows.append(("spawned worker to ready, core modules only", _hello_time(spawn, False)))
    rows.append(("spawned worker to ready with scikit-learn etc. (what a respawn would cost)", _hello_time(spawn, True)))
    try:
        from joblib.externals.loky import get_reusable_executor

        t = time.perf_counter()
        executor = get_reusable_executor(max_workers=1)
        executor.submit(os.getpid).result()
        rows.append(("loky: first task of a new executor (cold worker)", time.perf_counter() - t))
        t = time.perf_counter()
        executor.submit(worker_side.import_all, worker_side.BACKGROUND).result()
        rows.append(("loky: that worker importing scikit-learn etc. for its first fit", time.perf_counter() - t))
        t = time.perf_counter()
        executor = get_reusable_executor(max_workers=1, kill_workers=True)
        executor.shutdown(wait=True, kill_workers=True)
        executor = get_reusable_executor(max_workers=1)
        executor.submit(os.getpid).result()
        rows.append(("loky: stop a running task = kill the executor, first task again", time.perf_counter() - t))
        executor.shutdown(wait=True, kill_workers=True)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
    # Superseding: a busy loop is replaced by a trivial job; the spare answers at once.
    latencies, stops = [], []
    for _ in range(5):
        results.clear()
        runner.submit("fit", worker_side.tagged, "spin", time.sleep, 30)
        _wait(app, lambda: runner.pid("fit") is not None)
        pid = runner.pid("fit")
        t = time.perf_counter()
        runner.submit("fit", os.getpid)
        latencies.append(_wait(app, lambda: results))
        _wait(app, lambda: not _running(pid))
        stops.append(time.perf_counter() - t)
        time.sleep(0.3)  # the next spare gets ready
    rows.append(("superseding job answered (warm spare), median of 5", statistics.median(latencies)))
    rows.append(("superseded job's process gone (SIGTERM), worst of 5", max(stops)))
    runner.submit("fit", time.sleep, 60)
    _wait(app, lambda: runner.pid("fit") is not None)
    t = time.perf_counter()
    runner.shutdown()
    rows.append(("shutdown() while a 60 s job runs", time.perf_counter() - t))
    return rows


# -- 2. transfer -----------------------------------------------------------------------------------
def transfer() -> list[tuple]:
    cases = [("gradient-descent", {}), ("learning-rate-batch", {}),
             ("decision-boundaries", {"classifier": "gradient_boosting", "gb_n_estimators": 200}),
             ("decision-boundaries", {"classifier": "random_forest", "forest_n_estimators": 200, "n_samples": 1000})]
    rows = []
    for scene_id, overrides in cases:
        scene = registry.get(scene_id)
        start = time.perf_counter()
        session = Session(scene, overrides)
        build = time.perf_counter() - start
        blob, dumps = _timed(lambda: pickle.dumps(session, protocol=pickle.HIGHEST_PROTOCOL))
        _, loads = _timed(lambda: pickle.loads(blob))
        label = scene_id + (f" {overrides.get('classifier')}, {session.simulation.n_stages} stages"
                            if scene_id == "decision-boundaries" else "")
        rows.append((f"session: {label}", len(blob) / 1e6, dumps, loads, build))
        refiner = getattr(session.frame.state, "refiner", None)
        if refiner is not None:
            blob, dumps = _timed(lambda: pickle.dumps(refiner, protocol=pickle.HIGHEST_PROTOCOL))
            _, loads = _timed(lambda: pickle.loads(blob))
            # A fresh copy each time, as a worker gets it (the refiner caches its grids).
            _, fine = _timed(lambda: pickle.loads(blob).grid(session.simulation.n_stages - 1))
            rows.append((f"refiner (fine-map job) of that run", len(blob) / 1e6, dumps, loads, fine))
    return rows


def _timed(function, repeats: int = 3):
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return value, best


# -- 3. stalls -------------------------------------------------------------------------------------
def _runqueue_wait() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat), else 0."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Ticker:
    """A 1 ms QTimer that records the gaps between its ticks, and each gap less the time the UI
    thread waited for a CPU (other processes on this machine): what our own code blocked."""

    def __init__(self) -> None:
        self.timer = QtCore.QTimer()
        self.timer.setInterval(1)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.own: list[float] = []
        self.last = time.perf_counter()
        self.last_wait = _runqueue_wait()

    def _tick(self) -> None:
        now, wait = time.perf_counter(), _runqueue_wait()
        self.gaps.append(now - self.last)
        self.own.append(max(0.0, (now - self.last) - (wait - self.last_wait)))
        self.last, self.last_wait = now, wait

    def start(self) -> None:
        self.gaps.clear()
        self.own.clear()
        self.last, self.last_wait = time.perf_counter(), _runqueue_wait()
        self.timer.start()

    def stop(self) -> tuple[float, float, float]:
        """(longest gap, 99th percentile gap, longest gap less CPU wait), in ms."""
        self.timer.stop()
        gaps = np.asarray(self.gaps or [0.0]) * 1000
        return float(gaps.max()), float(np.percentile(gaps, 99)), 1000 * max(self.own or [0.0])


def big_svm_stall(app, runner_class, seconds: float = 5.0) -> tuple[float, float, float, str]:
    scene = registry.get("decision-boundaries")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100_000, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)
    data = {"x": x.tolist(), "labels": labels.tolist(), "names": ["a", "b"]}
    params = scene.resolve({"classifier": "svm"})
    runner = runner_class()
    outcome = []
    runner.finished.connect(lambda key, value: outcome.append(value.frame.message or "built"))
    runner.failed.connect(lambda key, message: outcome.append(message))
    ticker = Ticker()
    ticker.start()
    # As the window does: the process runner gets the run back without the 100,000 rows it sent.
    build = worker_side.new_session if runner_class is JobRunner else Session
    runner.submit("session", build, scene, params, 0, data)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and not outcome:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 1)
    gap, p99, own = ticker.stop()
    state = f"finished: {outcome[0][:40]}" if outcome else f"still fitting after {seconds:.0f} s"
    runner.shutdown()
    return gap, p99, own, state


def compare_drag_stall(app, runner_class, n_points: int = 1000) -> tuple[float, float, float, int]:
    from scenes.decision_boundaries import SCENE
    from scenes.decision_boundaries.view import DecisionBoundaryView

    base = {"compare": True, "n_samples": n_points, "dataset": "moons", "noise": 0.3}
    values = list(np.linspace(0.05, 0.6, 12))
    view = DecisionBoundaryView(SCENE, SCENE.resolve(base))
    view.widget.resize(1200, 800)
    view.widget.show()
    view.show(Session(SCENE, base).frame)
    _wait(app, lambda: not view.compare_pending)
    runner = runner_class()
    shown = []

    def delivered(_key, session):
        view.set_params(session.params)
        view.cache_axes()
        view.show(session.frame)
        shown.append(session)

    runner.finished.connect(delivered)
    ticker = Ticker()
    ticker.start()
    for value in values:  # one value every 30 ms, like a drag
        runner.submit("session", Session, SCENE, {**base, "noise": value})
        end = time.perf_counter() + 0.03
        while time.perf_counter() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 1)
    _wait(app, lambda: shown and shown[-1].params["noise"] == values[-1] and not view.compare_pending
          and not runner.busy(), timeout=120)
    gap, p99, own = ticker.stop()
    runner.shutdown()
    view.close()
    return gap, p99, own, len(shown)


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"explorer.jobs benchmark; {os.cpu_count()} cores, load average {load:.1f} at start\n")
    print(f"{'1. start-up and stopping':<82} {'seconds':>8}")
    for label, seconds in startup(app):
        print(f"{label:<82} {seconds:>8.3f}")
    print()
    print(f"{'2. transfer (pickle protocol 5)':<60} {'MB':>6} {'dumps ms':>9} {'loads ms':>9} {'build/compute ms':>17}")
    for label, size, dumps, loads, build in transfer():
        print(f"{label:<60} {size:>6.2f} {1000 * dumps:>9.1f} {1000 * loads:>9.1f} {1000 * build:>17.1f}")
    print()
    Session(registry.get("decision-boundaries"), {"n_samples": 50})  # scikit-learn imported here first
    print(f"{'3. UI-thread stall (1 ms QTimer), ms':<62} {'runner':>8} {'max gap':>8} {'p99':>6} "
          f"{'max gap less CPU wait':>22}  note")
    for runner_class, name in ((JobRunner, "process"), (ThreadRunner, "thread")):
        runs = [compare_drag_stall(app, runner_class) for _ in range(3)]
        gaps = sorted(r[0] for r in runs)
        print(f"{'(b) noise drag, compare grid, 6 models, 1,000 points (3 runs)':<62} {name:>8} "
              f"{statistics.median(gaps):>8.1f} {statistics.median(r[1] for r in runs):>6.1f} "
              f"{statistics.median(r[2] for r in runs):>22.1f}  median of 3 (worst gap {gaps[-1]:.1f})", flush=True)
    # The thread's fit cannot be stopped: it runs last, and the script ends with os._exit.
    for runner_class, name in ((JobRunner, "process"), (ThreadRunner, "thread")):
        gap, p99, own, state = big_svm_stall(app, runner_class)
        print(f"{'(a) 5 s of a 100,000-row SVM run being built':<62} {name:>8} {gap:>8.1f} {p99:>6.1f} "
              f"{own:>22.1f}  {state}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average {load:.1f} at the end (other work on this machine inflates every figure)", flush=True)
    os._exit(0)  # the old runner's 100,000-row fit would otherwise keep the interpreter alive


if __name__ == "__main__":
    main()
