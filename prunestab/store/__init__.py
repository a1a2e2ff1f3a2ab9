"""The run store: one folder per run, named by the hash of its configuration.

A run is a pure function of its :class:`~prunestab.config.RunConfig`, so its results are
kept under ``root / f"{model}-{config_hash(config)[:16]}"`` and an identical run is found
instead of recomputed (the open_lth layout). This package only stores; the runner decides
what to compute. A run folder holds:

* ``config.json``: the config of the first process that locked the run, plus ``"hash"``,
  so a folder explains itself. ``device`` and ``label`` are not part of the hash, so
  they record that first process's choice, not the only valid one;
* ``.lease``: the holder of an active run (host, pid, SLURM job; its heartbeat and last
  epoch in ``.lease.TOKEN.beat``; ``prunestab.store.lease``), which keeps processes and
  machines apart, on NFS and Lustre too (no ``flock``); a holder that died leaves a
  stale lease, taken over at once on its own host and elsewhere after its TTL and a
  watch of two heartbeat intervals in which it did not change;
* ``checkpoint.pt``: the latest resumable state of an unfinished run; ``model.pt``: the
  final weights of a run that asks to keep them;
* ``queued.json``: the cluster job it was last submitted to; ``failures.json``: each
  failed attempt (time, host, job, error, log), which bounds retries;
* ``result.json``: the completed result, and ``probe.json``: measurements of its final
  weights. Each is written once and never overwritten.

Every file is written to a temporary file in the same folder, fsynced, and moved into
place with ``os.replace`` (the result with ``link``, which fails if one exists), so a
reader sees the old file or the new one, never a partial one; an interrupted run resumes
from its last checkpoint. The authors shared pickled logs between concurrent runs
(book/authors_code.md, section 5); here concurrent processes are kept apart by the
lease, and a completed result is immutable.

One job per module: ``run_store`` (:class:`RunStore`, the façade the rest of prunestab
uses: each of its methods hashes the config once into a
:class:`~prunestab.store.folder.RunFolder` and hands it to the part that does the job),
``folder`` (names and paths), ``locks`` (holding a run: its lease and ``config.json``),
``lease`` (the lease itself, safe on NFS and Lustre), ``attempts`` (queue marks and
failures), ``results`` (``result.json``, ``probe.json`` and queries), ``files`` (atomic
writes, JSON and torch) and ``migrations`` (one-time renames of stored runs).
"""

from prunestab.store.files import (
    ResultExistsError,
    StoreAccessError,
    check_access,
    check_writable,
    write_json_atomic,
)
from prunestab.store.folder import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    FAILURES_FILE,
    MODEL_FILE,
    PROBE_FILE,
    QUEUED_FILE,
    RESULT_FILE,
    RunFolder,
)
from prunestab.store.locks import RunLockedError
from prunestab.store.results import CorruptResultError
from prunestab.store.run_store import RunStore

__all__ = [
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "FAILURES_FILE",
    "MODEL_FILE",
    "PROBE_FILE",
    "QUEUED_FILE",
    "RESULT_FILE",
    "CorruptResultError",
    "ResultExistsError",
    "StoreAccessError",
    "check_access",
    "check_writable",
    "RunFolder",
    "RunLockedError",
    "RunStore",
    "write_json_atomic",
]
