"""Background jobs run in worker processes that are stopped when superseded, cancelled or closed;
results come back on the UI thread, only for the newest request of a key."""
import os
import pickle
import time

import numpy as np
import pytest
from PySide6 import QtCore

from explorer import scene as registry
from explorer.jobs import JobRunner
from explorer.session import Session
from tests.explorer._job_functions import broken, crash, identity, pid, slow, spin, times_ten, unpicklable_result


def running(process_id: int) -> bool:
    """True while the process exists and is not a zombie (i.e. it can still use CPU)."""
    try:
        with open(f"/proc/{process_id}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.fixture
def runner(qtbot):
    runners = []

    def make(**kwargs):
        job_runner = JobRunner(**kwargs)
        runners.append(job_runner)
        return job_runner

    yield make
    for job_runner in runners:
        job_runner.shutdown()


def wait_running(qtbot, job_runner, key):
    qtbot.waitUntil(lambda: job_runner.pid(key) is not None, timeout=20000)
    return job_runner.pid(key)


def test_newest_request_wins_and_the_superseded_process_stops(qtbot, runner):
    jobs = runner()
    results = []
    jobs.finished.connect(lambda key, value: results.append((key, value)))
    jobs.submit("fit", slow, 1)
    old = wait_running(qtbot, jobs, "fit")
    assert running(old) and old != os.getpid()
    jobs.submit("fit", slow, 2)                # superseded before it could start (or at once)
    jobs.submit("fit", identity, 3)            # the newest
    jobs.submit("other", times_ten, 4)
    qtbot.waitUntil(lambda: not running(old), timeout=500)  # stops using CPU within 0.5 s
    qtbot.waitUntil(lambda: ("fit", 3) in results and ("other", 40) in results, timeout=20000)
    assert results.count(("fit", 3)) == 1
    assert ("fit", 1) not in results and ("fit", 2) not in results
    assert not jobs.busy()


def test_a_busy_loop_is_stopped_within_half_a_second_and_a_spare_takes_the_next_job(qtbot, runner):
    jobs = runner()
    results = []
    jobs.finished.connect(lambda key, value: results.append(value))
    jobs.submit("fit", spin)
    spinning = wait_running(qtbot, jobs, "fit")
    jobs.submit("fit", pid)
    qtbot.waitUntil(lambda: not running(spinning), timeout=500)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=20000)
    assert results[0] not in (spinning, os.getpid())


def test_cancel_stops_the_process_and_nothing_is_delivered(qtbot, runner):
    jobs = runner()
    delivered = []
    jobs.finished.connect(lambda *args: delivered.append(args))
    jobs.failed.connect(lambda *args: delivered.append(args))
    jobs.submit("session#1", slow, 1)
    jobs.submit("prepare#1", slow, 2)
    jobs.submit("session#2", identity, 5)
    first = wait_running(qtbot, jobs, "session#1")
    second = wait_running(qtbot, jobs, "prepare#1")
    assert jobs.elapsed("session#1") > 0 and jobs.elapsed("nothing") is None
    assert sorted(jobs.cancel_all("session#1") + jobs.cancel_all("prepare#1")) == ["prepare#1", "session#1"]
    assert not jobs.busy("session#1") and not jobs.busy("prepare#1")
    qtbot.waitUntil(lambda: not running(first) and not running(second), timeout=500)
    qtbot.waitUntil(lambda: ("session#2", 5) in delivered, timeout=20000)
    qtbot.wait(100)  # a stale delivery would arrive by now
    assert delivered == [("session#2", 5)]
    assert not jobs.cancel("session#1")


def test_shutdown_returns_within_a_second_while_a_long_job_runs(qtbot, runner):
    jobs = runner()
    jobs.submit("fit", slow, 1, 60.0)
    process_id = wait_running(qtbot, jobs, "fit")
    start = time.monotonic()
    jobs.shutdown()
    assert time.monotonic() - start < 1.0
    qtbot.waitUntil(lambda: not running(process_id), timeout=1000)
    assert jobs.submit("fit", identity, 1) == 0  # closed: nothing runs
    assert not jobs.busy()


def test_results_arrive_on_the_ui_thread_from_another_process(qtbot, runner):
    jobs = runner()
    seen = []
    jobs.finished.connect(lambda key, value: seen.append((value, QtCore.QThread.currentThread())))
    with qtbot.waitSignal(jobs.finished, timeout=20000):
        jobs.submit("a", pid)
    (worker_pid, thread), = seen
    assert worker_pid != os.getpid()
    assert thread == QtCore.QCoreApplication.instance().thread()


@pytest.mark.parametrize("submit, message", [
    (lambda jobs: jobs.submit("b", broken), "ValueError: singular matrix"),
    (lambda jobs: jobs.submit("b", lambda: 1), "cannot run in a worker process: it does not pickle"),
    (lambda jobs: jobs.submit("b", identity, QtCore.QObject()), "does not pickle"),
    (lambda jobs: jobs.submit("b", unpicklable_result), "cannot be sent back from the worker process"),
    (lambda jobs: jobs.submit("b", crash), "the worker process stopped unexpectedly (exit code 3)"),
])
def test_errors_become_messages_and_never_hang(qtbot, runner, submit, message):
    jobs = runner()
    with qtbot.waitSignal(jobs.failed, timeout=20000) as blocker:
        submit(jobs)
    assert blocker.args[0] == "b"
    assert message in blocker.args[1]
    assert not jobs.busy()
    with qtbot.waitSignal(jobs.finished, timeout=20000) as blocker:  # the runner still works
        jobs.submit("c", times_ten, 2)
    assert blocker.args == ["c", 20]


# -- everything a window sends to a worker pickles --------------------------------------------------
def same_frame(a, b) -> None:
    assert (a.step, a.message, a.done) == (b.step, b.message, b.done)
    assert list(a.data) == list(b.data)
    for key in a.data:
        x, y = a.data[key], b.data[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
            assert x.shape == y.shape and x.dtype == y.dtype, key
            assert np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"), key
        else:
            assert x == y, key


def test_a_frame_pickles_with_its_read_only_data():
    frame = registry.Frame(3, {"w": np.arange(4.0), "name": "run"}, state=(1, 2), message="m", done=True)
    copy = pickle.loads(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))
    same_frame(frame, copy)
    assert copy.state == (1, 2)
    assert not copy.data["w"].flags.writeable
    with pytest.raises(TypeError):
        copy.data["w2"] = 1  # still a read-only mapping


@pytest.mark.parametrize("scene_id", [s.id for s in registry.scenes()])
def test_every_scene_session_round_trips_through_pickle(scene_id):
    scene = registry.get(scene_id)
    session = Session(scene, seed=3)
    session.forward(3)
    copy = pickle.loads(pickle.dumps(session, protocol=pickle.HIGHEST_PROTOCOL))
    same_frame(session.frame, copy.frame)
    for _ in range(3):  # the copy runs on exactly like the original
        same_frame(session.forward(), copy.forward())
    same_frame(session.back(), copy.back())


def test_a_session_built_in_a_worker_equals_one_built_here(qtbot, runner):
    scene = registry.get("decision-boundaries")
    params = scene.resolve({"classifier": "gradient_boosting", "gb_n_estimators": 20})
    jobs = runner()
    with qtbot.waitSignal(jobs.finished, timeout=30000) as blocker:
        jobs.submit("session", Session, scene, params, 1, None)
    remote, local = blocker.args[1], Session(scene, params, 1)
    for _ in range(5):
        same_frame(local.frame, remote.frame)
        local.forward(), remote.forward()


def test_a_start_up_job_runs_in_this_process_and_a_newer_request_drops_its_result(qtbot, runner):
    """The window's first run goes through ``in_thread`` (no wait for the fork server): it runs
    here, is delivered like any job, and a newer request for its key makes its result stale."""
    jobs = runner()
    results = []
    jobs.finished.connect(lambda key, value: results.append((key, value)))
    jobs.submit("first", pid, in_thread=True)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results == [("first", os.getpid())] and not jobs.busy()

    jobs.submit("first", slow, "stale", 0.3, in_thread=True)
    jobs.submit("first", identity, "newest")  # a worker process
    qtbot.waitUntil(lambda: ("first", "newest") in results, timeout=20000)
    qtbot.wait(500)  # the thread's result arrives meanwhile and is dropped
    assert ("first", "stale") not in results

    jobs.submit("gone", slow, "cancelled", 0.2, in_thread=True)
    assert jobs.cancel("gone")
    qtbot.wait(400)
    assert ("gone", "cancelled") not in results and not jobs.busy()
