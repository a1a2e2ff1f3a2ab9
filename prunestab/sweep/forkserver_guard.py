"""Imported by the fork server only (first in ``workers.WORKER_PRELOAD``): it ends the
fork server when the process that started it is gone.

A fork server outlives a killed sweep otherwise (``kill -9`` of its main process left it
and, through it, the workers running for good; issue 35). Workers die with the fork
server (``workers.prepare_worker`` sets their parent-death signal), so one watch here
ends everything the sweep started. The watch polls the parent rather than using a
parent-death signal: that signal fires when the *thread* that started the server ends,
and a sweep may start its pool from a thread that ends before the sweep does.
"""

from __future__ import annotations

import multiprocessing.forkserver
import os
import sys
import threading
import time

#: Seconds between looks at the fork server's parent.
POLL_S = 0.5


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os._exit(0)  # the sweep is gone: nothing here is its to finish


def _in_fork_server() -> bool:
    """Whether this import runs from ``multiprocessing.forkserver.main`` (its preload),
    not from a process that merely imports the package (a test's doctest collection)."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code is multiprocessing.forkserver.main.__code__:
            return True
        frame = frame.f_back
    return False


if _in_fork_server():
    threading.Thread(target=_watch, args=(os.getppid(),), daemon=True).start()
