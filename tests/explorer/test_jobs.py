"""Background jobs: results come back on the UI thread, only for the newest request of a key."""
import threading

from PySide6 import QtCore

from explorer.jobs import JobRunner


def test_newest_request_wins_and_stale_results_are_dropped(qtbot):
    runner = JobRunner()
    release = threading.Event()
    started = threading.Event()
    results = []
    runner.finished.connect(lambda key, value: results.append((key, value)))

    def slow(value):
        started.set()
        release.wait(5)
        return value

    runner.submit("fit", slow, 1)          # runs, but will be stale
    assert started.wait(5)
    runner.submit("fit", slow, 2)          # queued, superseded before it starts
    runner.submit("fit", lambda v: v, 3)   # the newest
    runner.submit("other", lambda v: v * 10, 4)
    release.set()
    qtbot.waitUntil(lambda: ("fit", 3) in results and ("other", 40) in results, timeout=5000)
    qtbot.wait(50)  # let any stale delivery arrive, to prove it is dropped
    assert results.count(("fit", 3)) == 1
    assert ("fit", 1) not in results and ("fit", 2) not in results
    runner.shutdown()


def test_results_arrive_on_the_ui_thread_and_errors_become_messages(qtbot):
    runner = JobRunner()
    threads = []
    runner.finished.connect(lambda key, value: threads.append(QtCore.QThread.currentThread()))
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.submit("a", lambda: threading.current_thread().name)
    assert threads == [QtCore.QCoreApplication.instance().thread()]

    def broken():
        raise ValueError("singular matrix")

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("b", broken)
    assert blocker.args == ["b", "ValueError: singular matrix"]
    assert not runner.busy()
    runner.shutdown()
    assert runner.submit("c", lambda: 1) == 0  # closed: nothing runs
