"""Background work off the UI thread; a newer request for the same key supersedes a stale one.

Results are delivered on the UI thread through a Qt signal, and only for the newest request of
each key: a stale job that was not yet started is cancelled, one that already ran is dropped.
"""
from __future__ import annotations

import itertools
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from PySide6 import QtCore


class JobRunner(QtCore.QObject):
    #: key, result of the newest request for that key
    finished = QtCore.Signal(str, object)
    #: key, one-line error message
    failed = QtCore.Signal(str, str)

    def __init__(self, parent: QtCore.QObject | None = None, workers: int = 1) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ml-explorer-job")
        self._tokens = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._pending: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._closed = False
        # Worker threads emit this; the queued connection brings results to the UI thread.
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    _done = QtCore.Signal(str, int, object, str)

    def submit(self, key: str, function: Callable[..., Any], *args: Any) -> int:
        """Run ``function(*args)`` in a worker; returns the request's token."""
        if self._closed:
            return 0
        token = next(self._tokens)
        with self._lock:
            self._latest[key] = token
            stale = self._pending.pop(key, None)
        if stale is not None:
            stale.cancel()
        future = self._executor.submit(self._run, key, token, function, args)
        with self._lock:
            self._pending[key] = future
        return token

    def busy(self, key: str | None = None) -> bool:
        with self._lock:
            futures = list(self._pending.values()) if key is None else [self._pending.get(key)]
        return any(f is not None and not f.done() for f in futures)

    def _run(self, key: str, token: int, function: Callable[..., Any], args: tuple) -> None:
        if self._latest.get(key) != token:
            return  # superseded before it started
        try:
            result, error = function(*args), ""
        except Exception as exc:  # reported to the UI, never raised into Qt
            result, error = None, f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        if not self._closed:
            self._done.emit(key, token, result, error)

    @QtCore.Slot(str, int, object, str)
    def _deliver(self, key: str, token: int, result: Any, error: str) -> None:
        if self._closed or self._latest.get(key) != token:
            return  # a newer request exists: this result is stale
        with self._lock:
            self._pending.pop(key, None)
        if error:
            self.failed.emit(key, error)
        else:
            self.finished.emit(key, result)

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        for future in pending:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
