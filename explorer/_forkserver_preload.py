"""Imported only by the multiprocessing fork server (explorer.jobs puts it last in the preload
list): import explorer.worker.BACKGROUND one module at a time whenever the server is idle.

The fork server imports its preload list before it serves any fork, so preloading scikit-learn
there would delay the window's first run by ~2 s. Instead the server serves at once and fills in
the heavy modules between requests; a fork waits at most for one module's import, and every
later worker starts with PySide6, pyqtgraph and scikit-learn already in memory (copy-on-write).
"""
from __future__ import annotations

import selectors
import types

from explorer import worker

_pending = [name for name in worker.BACKGROUND]


class _ImportWhenIdle(selectors.DefaultSelector):
    def select(self, timeout=None):
        while _pending:
            ready = super().select(0)
            if ready:
                return ready
            worker.import_all((_pending.pop(0),))
        return super().select(timeout)


def _install() -> None:
    try:
        import multiprocessing.forkserver as forkserver
    except ImportError:  # pragma: no cover - no fork server on this platform
        return
    shim = types.ModuleType("selectors")
    shim.__dict__.update(vars(selectors))
    shim.DefaultSelector = _ImportWhenIdle
    # forkserver.main() looks up `selectors.DefaultSelector` after importing the preload list.
    forkserver.selectors = shim


_install()
