"""A stop request for the training in this process: preemption without lost work.

A cluster warns a job before it ends it: SLURM sends SIGTERM on preemption, and the
signal chosen with ``--signal`` (submitit's SIGUSR2) before the time limit, then SIGKILL
after a grace time. A process that calls :func:`listen` turns either signal into a
request (and so does a shared event its supervisor sets, for signals that reach only the
supervisor); training sees it at the end of the current epoch
(``prunestab.training.loop.RunOptions.should_stop``), writes a checkpoint of that epoch and
raises :class:`Preempted`, and the runner releases the run's lease on the way out. The
run then resumes from exactly that epoch wherever it is computed next.

Only processes that call :func:`listen` change how they answer these signals (cluster
workers); elsewhere :func:`requested` is always ``False``.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

#: The signals :func:`listen` turns into a stop request.
SIGNALS = (signal.SIGTERM, signal.SIGUSR2)

_requested = threading.Event()
_shared: Any = None  # a multiprocessing Event of the supervising process, once listening


class Preempted(RuntimeError):
    """Training stopped on request after checkpointing ``epoch`` (the next epoch to run)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        super().__init__(f"stopped on a preemption signal; checkpointed before epoch {epoch + 1}")


def request(signum: int | None = None, frame: Any = None) -> None:
    """Ask this process's training to stop at the end of its current epoch (a signal
    handler, also callable directly).

    Args:
        signum: the signal received (unused; a handler's signature).
        frame: the interrupted frame (unused).
    """
    _requested.set()


def requested() -> bool:
    """Whether a stop was requested here, or by the supervisor's shared event.

    Returns:
        ``True`` once :func:`request` ran in this process or the shared event is set.

    >>> requested()
    False
    """
    return _requested.is_set() or (_shared is not None and _shared.is_set())


def listen(shared: Any = None) -> None:
    """Turn :data:`SIGNALS` into stop requests in this process (a worker initializer).

    Args:
        shared: a ``multiprocessing`` ``Event`` the supervising process sets when only it
            received the signal (``None``: signals alone).

    Example (what ``prunestab.sweep.cluster`` gives its worker processes)::

        ProcessPoolExecutor(jobs, initializer=listen, initargs=(stop_event,))
    """
    global _shared
    _shared = shared
    for signum in SIGNALS:
        signal.signal(signum, request)
