"""The run store: one folder per run, named by the hash of its configuration.

A run is a pure function of its :class:`~prunestab.config.RunConfig`, so its results are
kept under ``root / f"{model}-{config_hash(config)[:16]}"`` and an identical run is found
instead of recomputed (the open_lth layout). This module only stores; the runner decides
what to compute. A run folder holds:

* ``config.json``: the config of the first process that locked the run, plus ``"hash"``,
  so a folder explains itself. ``device`` and ``label`` are not part of the hash, so
  they record that first process's choice, not the only valid one;
* ``.lease``: the holder of an active run (host, pid, SLURM job; its heartbeat and last
  epoch in ``.lease.TOKEN.beat``; ``prunestab.lease``), which keeps processes and
  machines apart, on NFS and Lustre too (no ``flock``); a holder that died leaves a
  stale lease, taken over at once on its own host and elsewhere after its TTL and a
  watch of two heartbeat intervals in which it did not change;
* ``checkpoint.pt``: the latest resumable state of an unfinished run;
* ``queued.json``: the cluster job it was last submitted to; ``failures.json``: each
  failed attempt (time, host, job, error, log), which bounds retries;
* ``result.json``: the completed result. It is written once and never overwritten.

Every file is written to a temporary file in the same folder, fsynced, and moved into
place with ``os.replace`` (the result with ``link``, which fails if one exists), so a
reader sees the old file or the new one, never a partial one; an interrupted run resumes
from its last checkpoint. The authors shared pickled logs between
concurrent runs (book/authors_code.md, section 5); here concurrent processes are kept
apart by the lease, and a completed result is immutable.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from prunestab.config import RunConfig, config_hash
from prunestab.lease import LEASE_FILE, Holder, Lease, LeaseHeldError
from prunestab.lease import read as read_lease

RESULT_FILE = "result.json"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
FAILURES_FILE = "failures.json"
QUEUED_FILE = "queued.json"
MODEL_FILE = "model.pt"
PROBE_FILE = "probe.json"


class RunLockedError(RuntimeError):
    """Another process holds the lock on this run folder."""


class ResultExistsError(ValueError):
    """A result is already stored where one was to be written: it is never overwritten."""


class CorruptResultError(ValueError):
    """A ``result.json`` that does not parse, or that records another config's hash than
    its folder's: it does not count as done, and nothing deletes or replaces it."""


def _umask() -> int:
    """The process's umask, read without changing it where ``/proc`` tells (``os.umask``
    can only be read by setting it, which races with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _shareable(tmp_name: str) -> None:
    """Give a temporary file the mode a plain ``open`` would (``0o666`` less the umask):
    ``tempfile`` makes it 0600, which would lock a group-shared store to its writer."""
    os.chmod(tmp_name, 0o666 & ~_umask())


def _write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file in its folder and ``os.replace``.

    The temporary file lives in the same folder so the final rename stays on one file
    system, where it is atomic. On any exception the temporary file is removed and an
    existing ``path`` is left as it was.
    """
    path = Path(path)
    tmp = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        _shareable(tmp.name)
        os.replace(tmp.name, path)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def _write_once(path: Path, data: bytes) -> None:
    """Write ``path`` whole, only if it does not exist: a temporary file, fsynced, then
    ``link`` (atomic on NFS too, and it fails if ``path`` exists: no overwrite even when
    two machines finish the same run)."""
    tmp = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        _shareable(tmp.name)
        try:
            os.link(tmp.name, path)
        except FileExistsError:
            raise ResultExistsError(
                f"{path} already exists; a completed result is never overwritten "
                "(delete the file by hand to recompute)"
            ) from None
    finally:
        Path(tmp.name).unlink(missing_ok=True)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON (``indent=1``) to ``path`` atomically.

    NaN and infinities are written as Python's ``json`` writes them (``NaN``,
    ``Infinity``): not strict JSON, but ``json.load`` reads them back, and an accuracy
    that diverged to NaN is a result worth keeping. An object that is not serialisable
    raises ``TypeError`` and leaves the previous file (if any) untouched.
    """

    def write(f: IO[bytes]) -> None:
        text = json.dumps(obj, indent=1)
        f.write(text.encode())

    _write_atomic(Path(path), write)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}). The store writes atomically, so the file "
            "was damaged outside it; inspect it, and delete it to recompute the run"
        ) from err


def _lookup(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    """Follow ``a.b.c`` into nested dicts: ``(found, value)``.

    A step through ``None`` (e.g. ``pruning.target`` of an unpruned run) is "not
    found"; a key that the dict does not have is a typo and raises ``KeyError``.
    """
    value: Any = data
    for part in dotted.split("."):
        if value is None:
            return False, None
        if not isinstance(value, dict):
            raise KeyError(f"{dotted!r}: {part!r} follows a {type(value).__name__}, not a dict")
        if part not in value:
            raise KeyError(f"{dotted!r}: no key {part!r}; allowed: {', '.join(sorted(value))}")
        value = value[part]
    return True, value


def _load_checked(path: Path, config: RunConfig, kind: str, redo: str) -> Any:
    """A stored JSON file of ``config``'s run (a result or a probe), or ``None`` if there is
    none; :class:`CorruptResultError` naming the file if it does not parse or records
    another hash than ``config``'s. Nothing is deleted or replaced."""
    if not path.exists():
        return None
    try:
        data = _read_json(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise CorruptResultError(
            f"{path} is not a readable {kind} ({err}); nothing was deleted. Move it "
            f"aside (or restore it, e.g. with git checkout) to {redo}"
        ) from None
    digest = config_hash(config)
    found = data.get("hash") if isinstance(data, dict) else None
    if found != digest:
        raise CorruptResultError(
            f"{path} records hash {found!r}, not its folder's config hash {digest}: "
            f"it is not this run's {kind}; nothing was deleted. Move it aside (or "
            f"restore it) to {redo}"
        )
    return data


class RunStore:
    """Results and checkpoints of runs under ``root``, one folder per config hash.

    ``root`` is created on the first write, so a store can be opened on a path that does
    not exist yet (reads then find nothing).
    """

    def __init__(self, root: str | os.PathLike[str], lease_ttl_s: float | None = None) -> None:
        self.root = Path(root)
        self.lease_ttl_s = lease_ttl_s
        self._leases: dict[str, Lease] = {}

    def run_dir(self, config: RunConfig) -> Path:
        """``root / "{model}-{first 16 hex digits of config_hash}"``.

        ``device`` and ``label`` are not hashed, so a CPU result answers a GPU request and
        two figures that name the same run differently share it.
        """
        return self.root / f"{config.model}-{config_hash(config)[:16]}"

    def check_writable(self) -> None:
        """Create the store's folder if needed and write and remove a probe file in it.

        Raises:
            ValueError: the folder cannot be created or written (read-only, full, not
                ours), naming it and the system's reason, before anything is computed
                or submitted.
        """
        probe = self.root / f".write-probe.{os.getpid()}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            with contextlib.suppress(OSError):
                probe.unlink(missing_ok=True)
            raise ValueError(
                f"run store {self.root} is not writable ({err.strerror or err}); allowed: "
                "a folder this user can create files in (name another with --store)"
            ) from None

    def result_path(self, config: RunConfig) -> Path:
        return self.run_dir(config) / RESULT_FILE

    def config_path(self, config: RunConfig) -> Path:
        return self.run_dir(config) / CONFIG_FILE

    def checkpoint_path(self, config: RunConfig) -> Path:
        return self.run_dir(config) / CHECKPOINT_FILE

    def load(self, config: RunConfig) -> dict[str, Any] | None:
        """The completed result of ``config``, or ``None`` if it has not completed.

        Args:
            config: the run.

        Returns:
            The parsed ``result.json``, or ``None`` when there is none.

        Raises:
            CorruptResultError: the file does not parse (truncated, damaged) or records
                another hash than ``config``'s. The message names the file and what to
                do; nothing is deleted or recomputed over it, since silently recomputing
                would hide whatever damaged it.
        """
        return _load_checked(self.result_path(config), config, "result", "recompute the run")

    def is_complete(self, config: RunConfig) -> bool:
        """Whether ``config``'s run has a valid result (:meth:`load`'s checks; a corrupt
        one raises :class:`CorruptResultError` rather than counting as done or not)."""
        return self.load(config) is not None

    @contextmanager
    def lock(self, config: RunConfig) -> Iterator[Path]:
        """Hold ``config``'s run: claim its lease (``prunestab.lease``); yields the folder.

        Raises :class:`RunLockedError` at once (no waiting) if another holder's lease is
        fresh, this process's own included (holding one run twice fails). A holder that
        died on this host is taken over at once; a stale one elsewhere, or a hung one
        here, after its TTL and a watch of two heartbeat intervals. The lease is the only
        exclusion: no ``flock``, which a hung holder would keep (blocking the takeover
        indefinitely), which a dead NFS node may keep, and which Lustre mounted
        ``noflock`` refuses (ENOSYS). The lease is released when the block ends, also by
        an exception.

        On first lock, ``config.json`` is written; if one exists, its hash must be this
        config's full hash (the folder name keeps only 16 hex digits).
        """
        run_dir = self.run_dir(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        lease = Lease(run_dir, self.lease_ttl_s)
        try:
            lease.acquire()
        except LeaseHeldError as err:
            raise RunLockedError(
                f"run folder {run_dir} is locked: {err.holder.describe()} is computing this "
                "run right now. Wait for it to finish, then load its result."
            ) from None
        self._leases[config_hash(config)] = lease
        try:
            self._write_config(config)
            yield run_dir
        finally:
            self._leases.pop(config_hash(config), None)
            lease.release()

    def beat(self, config: RunConfig, epoch: int) -> bool:
        """Record in the lease of a run this process holds that ``epoch`` is finished.

        ``False`` if another process has taken the lease over (it judged this one dead);
        a filesystem error counts as still held (the heartbeat thread tries again)."""
        lease = self._leases.get(config_hash(config))
        if lease is None:
            return True
        try:
            return lease.beat(epoch)
        except OSError:
            return True

    def lease_taker(self, config: RunConfig) -> str:
        """Who holds ``config``'s lease now, for a message."""
        holder = self.lease_holder(config)
        return holder.describe() if holder is not None else "no one (it was released)"

    def record_failure(self, config: RunConfig, failure: dict[str, Any]) -> int:
        """Append ``failure`` (time, host, job, error, log) to the run's ``failures.json``;
        returns how many failures it now records. A completed run's record is kept."""
        path = self.run_dir(config) / FAILURES_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        failures = self.failures(config) + [failure]
        write_json_atomic(path, failures)
        return len(failures)

    def failures(self, config: RunConfig) -> list[dict[str, Any]]:
        path = self.run_dir(config) / FAILURES_FILE
        return _read_json(path) if path.exists() else []

    def mark_queued(self, config: RunConfig, submission: dict[str, Any]) -> None:
        """Record that ``config`` was submitted (executor, job id, log folder, time)."""
        path = self.run_dir(config) / QUEUED_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, submission)

    def queued(self, config: RunConfig) -> dict[str, Any] | None:
        path = self.run_dir(config) / QUEUED_FILE
        return _read_json(path) if path.exists() else None

    def lease_holder(self, config: RunConfig) -> Holder | None:
        """Who holds ``config``'s lease now (fresh or stale), if anyone."""
        return read_lease(self.run_dir(config) / LEASE_FILE)

    def _write_config(self, config: RunConfig) -> None:
        path = self.config_path(config)
        digest = config_hash(config)
        if path.exists():
            stored = _read_json(path).get("hash")
            if stored != digest:
                raise ValueError(
                    f"{path} belongs to a config with hash {stored}, not {digest}; two "
                    "configs share the folder's 16-digit prefix"
                )
            return
        write_json_atomic(path, config.to_dict() | {"hash": digest})

    def save_result(self, config: RunConfig, result: dict[str, Any]) -> Path:
        """Write ``result`` as ``result.json`` of ``config``'s run; returns the path.

        ``result`` must be a JSON-serialisable dict with a ``"config"`` key (the runner's
        record of the config; its content is not checked here), else ``ValueError``. An
        existing result is never overwritten (``ValueError``). Call it inside
        :meth:`lock`: the lock is what makes check-then-write safe between processes.
        """
        if not isinstance(result, dict) or "config" not in result:
            raise ValueError(
                f"result must be a dict with a 'config' key; got {type(result).__name__}"
                + (f" with keys {sorted(result)}" if isinstance(result, dict) else "")
            )
        path = self.result_path(config)
        if path.exists():
            raise ResultExistsError(
                f"{path} already exists; a completed result is never overwritten "
                "(delete the file by hand to recompute)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = json.dumps(result, indent=1).encode()
        except TypeError as err:
            raise ValueError(f"result for {path} is not JSON-serialisable: {err}") from err
        _write_once(path, text)
        return path

    def save_checkpoint(self, config: RunConfig, state: dict[str, Any]) -> None:
        """Atomically replace the run's ``checkpoint.pt`` with ``state``.

        ``state`` should hold only what ``torch.load(weights_only=True)`` accepts (tensors,
        numbers, strings, and dicts/lists/tuples of them), since :meth:`load_checkpoint`
        refuses anything else.
        """
        import torch  # here, not at the top: reading results should not cost torch's import

        path = self.checkpoint_path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, lambda f: torch.save(state, f))

    def load_checkpoint(self, config: RunConfig) -> dict[str, Any] | None:
        """The saved state on the CPU (``weights_only=True``), or ``None`` if absent."""
        path = self.checkpoint_path(config)
        if not path.exists():
            return None
        import torch

        return torch.load(path, map_location="cpu", weights_only=True)

    def model_path(self, config: RunConfig) -> Path:
        return self.run_dir(config) / MODEL_FILE

    def save_model(self, config: RunConfig, state_dict: dict[str, Any]) -> None:
        """Atomically write the final weights (kept only for runs that ask, e.g. Fig. A1)."""
        import torch

        path = self.model_path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, lambda f: torch.save({k: v.cpu() for k, v in state_dict.items()}, f))

    def load_model(self, config: RunConfig) -> dict[str, Any] | None:
        """The final weights saved with :meth:`save_model`, or ``None``."""
        path = self.model_path(config)
        if not path.exists():
            return None
        import torch

        return torch.load(path, map_location="cpu", weights_only=True)

    def probe_path(self, config: RunConfig) -> Path:
        return self.run_dir(config) / PROBE_FILE

    def save_probe(self, config: RunConfig, probe: dict[str, Any]) -> Path:
        """Write ``probe`` (``prunestab.probe.measure``'s measurements of the run's final
        weights) as the run's ``probe.json``, once: like a result, it is never
        overwritten (:class:`ResultExistsError`). Returns the path."""
        path = self.probe_path(config)
        if path.exists():
            raise ResultExistsError(f"{path} already exists; a stored probe is never overwritten")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_once(path, json.dumps(probe, indent=None, separators=(",", ":")).encode())
        return path

    def load_probe(self, config: RunConfig) -> dict[str, Any] | None:
        """The stored probe of ``config``, or ``None`` if there is none.

        Raises:
            CorruptResultError: the file does not parse or records another hash than
                ``config``'s (the message names the file; nothing is deleted).
        """
        return _load_checked(self.probe_path(config), config, "probe", "measure it again")

    def clear_checkpoint(self, config: RunConfig) -> None:
        """Remove the checkpoint, if any (once the result is saved, it is not needed)."""
        self.checkpoint_path(config).unlink(missing_ok=True)

    def iter_results(self) -> Iterator[dict[str, Any]]:
        """Every completed result under ``root``, in order of folder name."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob(f"*/{RESULT_FILE}")):
            yield _read_json(path)

    def find(
        self, predicate: Callable[[dict[str, Any]], bool] | None = None, **equal: Any
    ) -> list[dict[str, Any]]:
        """Completed results whose ``result["config"]`` matches every criterion.

        A keyword is a key of the config dict, or a dotted path into it, with the value it
        must equal: ``find(model="vgg11", **{"pruning.target": "largest"})``. Values are
        compared as JSON (a tuple matches the list it is stored as). A run whose path
        passes through ``None`` (``pruning.target`` of an unpruned run) does not match; a
        key the config does not have raises ``KeyError``, so a typo is not an empty
        answer. ``predicate``, if given, is called with the whole result and must also
        return true.
        """
        wanted = {key: json.loads(json.dumps(value)) for key, value in equal.items()}
        matches = []
        for result in self.iter_results():
            config = result["config"]
            if all(_lookup(config, key) == (True, value) for key, value in wanted.items()):
                if predicate is None or predicate(result):
                    matches.append(result)
        return matches
