"""The attempts at a run: the cluster job it was last submitted to, and each failure.

``queued.json`` tells a sweep that a run is waiting in a queue, so it is not submitted
twice; ``failures.json`` lists every failed attempt (time, host, job, error, log), which
bounds retries. Both outlive the run's completion: a completed run's record is kept.
"""

from __future__ import annotations

from typing import Any

from prunestab.store.files import read_json, write_json_atomic
from prunestab.store.folder import RunFolder


def record_failure(folder: RunFolder, failure: dict[str, Any]) -> int:
    """Append ``failure`` to the run's ``failures.json`` (atomically).

    Args:
        folder: the run; its folder is created if needed.
        failure: what to record (time, host, job, error, log), JSON-serialisable.

    Returns:
        How many failures the run now records.

    Raises:
        ValueError: the existing ``failures.json`` is not valid JSON (it is left as is).

    >>> import tempfile
    >>> from prunestab.config import RunConfig
    >>> folder = RunFolder.of(tempfile.mkdtemp(), RunConfig("conv4", epochs=2))
    >>> record_failure(folder, {"error": "CUDA out of memory"})
    1
    >>> failures(folder)
    [{'error': 'CUDA out of memory'}]
    """
    recorded = failures(folder) + [failure]
    folder.create()
    write_json_atomic(folder.failures_file, recorded)
    return len(recorded)


def failures(folder: RunFolder) -> list[dict[str, Any]]:
    """Every failure recorded for the run, oldest first (``[]`` if none).

    Raises:
        ValueError: ``failures.json`` is not valid JSON.
    """
    path = folder.failures_file
    return read_json(path) if path.exists() else []


def mark_queued(folder: RunFolder, submission: dict[str, Any]) -> None:
    """Record that the run was submitted, replacing an earlier mark.

    Args:
        folder: the run; its folder is created if needed.
        submission: what to record (executor, job id, log folder, time),
            JSON-serialisable.

    >>> import tempfile
    >>> from prunestab.config import RunConfig
    >>> folder = RunFolder.of(tempfile.mkdtemp(), RunConfig("conv4", epochs=2))
    >>> queued(folder) is None
    True
    >>> mark_queued(folder, {"job": "991_3"})
    >>> queued(folder)
    {'job': '991_3'}
    """
    folder.create()
    write_json_atomic(folder.queued_file, submission)


def queued(folder: RunFolder) -> dict[str, Any] | None:
    """The run's last submission (:func:`mark_queued`), or ``None`` if it has none.

    Raises:
        ValueError: ``queued.json`` is not valid JSON.
    """
    path = folder.queued_file
    return read_json(path) if path.exists() else None
