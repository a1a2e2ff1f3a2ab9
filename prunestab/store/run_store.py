"""The run store's façade: :class:`RunStore`, which hashes a run's config once into its
:class:`~prunestab.store.folder.RunFolder` and hands it to the part that does the job
(``prunestab.store`` describes a run folder and its parts)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prunestab.config import RunConfig
from prunestab.store import attempts, results
from prunestab.store.files import check_writable, read_torch, write_torch_atomic
from prunestab.store.folder import StoreLayout
from prunestab.store.lease import Holder
from prunestab.store.locks import RunLocks


class RunStore(StoreLayout):
    """Results, checkpoints and leases of runs under ``root``, one folder per config hash.

    Each method's ``config`` is the run it concerns; it is hashed once per call, into
    :meth:`folder`'s :class:`RunFolder`, which a caller doing several things to one run
    can build once and hand to the parts (:class:`RunLocks`, ``results``,
    ``attempts``) itself. The paths (:meth:`run_dir`, :meth:`result_path` and the
    like) come from :class:`StoreLayout`.

    Args:
        root: the store's folder, created on the first write, so a store can be opened
            on a path that does not exist yet (reads then find nothing).
        lease_ttl_s: seconds without a heartbeat after which a run's lease is stale;
            ``None``: ``$PRUNESTAB_LEASE_TTL_S``, else 600.

    >>> import tempfile
    >>> store = RunStore(tempfile.mkdtemp())
    >>> config = RunConfig("conv4", epochs=2)
    >>> result = {"config": config.to_dict(), "hash": store.folder(config).digest}
    >>> with store.lock(config):
    ...     _ = store.save_result(config, result | {"test_accuracy": [0.5, 0.6]})
    >>> store.load(config)["test_accuracy"], store.is_complete(config)
    ([0.5, 0.6], True)
    """

    def __init__(self, root: str | os.PathLike[str], lease_ttl_s: float | None = None) -> None:
        super().__init__(root)
        self.locks = RunLocks(lease_ttl_s)

    @property
    def lease_ttl_s(self) -> float | None:
        """The lease TTL this store was opened with (``None``: the default)."""
        return self.locks.lease_ttl_s

    def check_writable(self) -> None:
        """Create the store's folder if needed and check that files can be written in it
        (:func:`prunestab.store.files.check_writable`), before anything is computed or submitted.

        Raises:
            ValueError: it cannot (read-only, full, not ours); names it and the reason.
        """
        check_writable(self.root)

    @contextmanager
    def lock(self, config: RunConfig) -> Iterator[Path]:
        """Hold the run while the block runs (its lease, :meth:`RunLocks.hold`); yields
        its folder, where ``config.json`` is written on the first lock.

        Raises:
            RunLockedError: at once if another holder's lease is fresh (this process's
                own included); a dead holder's is taken over.
            ValueError: ``config.json`` records another config's hash.
        """
        with self.locks.hold(self.folder(config)) as run_dir:
            yield run_dir

    def beat(self, config: RunConfig, epoch: int) -> bool:
        """Record that ``epoch`` is finished in the lease this process holds on the run.

        Returns:
            ``False`` if another process has taken the lease over; else ``True``.
        """
        return self.locks.beat(self.folder(config), epoch)

    def lease_holder(self, config: RunConfig) -> Holder | None:
        """Who holds the run's lease now (fresh or stale), or ``None`` if no one."""
        return self.locks.holder(self.folder(config))

    def lease_taker(self, config: RunConfig) -> str:
        """Who holds the run's lease now, in words for a message."""
        return self.locks.taker(self.folder(config))

    def record_failure(self, config: RunConfig, failure: dict[str, Any]) -> int:
        """Append ``failure`` (time, host, job, error, log) to the run's ``failures.json``;
        returns how many it now records (:func:`attempts.record_failure`)."""
        return attempts.record_failure(self.folder(config), failure)

    def failures(self, config: RunConfig) -> list[dict[str, Any]]:
        """Every failure recorded for the run, oldest first (``[]`` if none)."""
        return attempts.failures(self.folder(config))

    def mark_queued(self, config: RunConfig, submission: dict[str, Any]) -> None:
        """Record that the run was submitted (executor, job id, log folder, time)."""
        attempts.mark_queued(self.folder(config), submission)

    def queued(self, config: RunConfig) -> dict[str, Any] | None:
        """The run's last submission (:meth:`mark_queued`), or ``None``."""
        return attempts.queued(self.folder(config))

    def save_result(self, config: RunConfig, result: dict[str, Any]) -> Path:
        """Write ``result`` as the run's ``result.json``, once; returns its path.

        Call it inside :meth:`lock`, which makes check-then-write safe between processes.

        Raises:
            ValueError: ``result`` is not a JSON-serialisable dict with a ``"config"``
                key (:func:`results.save_result`).
            ResultExistsError: the run already has a result; it is never overwritten.
        """
        return results.save_result(self.folder(config), result)

    def load(self, config: RunConfig) -> dict[str, Any] | None:
        """The run's completed result, or ``None`` if it has not completed.

        Raises:
            CorruptResultError: ``result.json`` does not parse or records another hash;
                the message names the file, and nothing is deleted.
        """
        return results.load_result(self.folder(config))

    def is_complete(self, config: RunConfig) -> bool:
        """Whether the run has a valid result (:meth:`load`'s checks: a corrupt one
        raises :class:`CorruptResultError` rather than counting as done or not)."""
        return self.load(config) is not None

    def save_probe(self, config: RunConfig, probe: dict[str, Any]) -> Path:
        """Write ``probe`` (``prunestab.training.probe.measure``'s) as the run's ``probe.json``,
        once; returns its path.

        Raises:
            ResultExistsError: the run already has a probe; it is never overwritten.
        """
        return results.save_probe(self.folder(config), probe)

    def load_probe(self, config: RunConfig) -> dict[str, Any] | None:
        """The run's stored probe, or ``None`` if there is none.

        Raises:
            CorruptResultError: ``probe.json`` does not parse or records another hash.
        """
        return results.load_probe(self.folder(config))

    def save_checkpoint(self, config: RunConfig, state: dict[str, Any]) -> None:
        """Atomically replace the run's ``checkpoint.pt`` with ``state``, which should hold
        only what ``torch.load(weights_only=True)`` accepts (:meth:`load_checkpoint`)."""
        folder = self.folder(config)
        folder.create()
        write_torch_atomic(folder.checkpoint_file, state)

    def load_checkpoint(self, config: RunConfig) -> dict[str, Any] | None:
        """The run's saved state on the CPU (``weights_only=True``), or ``None``."""
        return read_torch(self.checkpoint_path(config))

    def clear_checkpoint(self, config: RunConfig) -> None:
        """Remove the run's checkpoint, if any (once the result is saved, it is not
        needed)."""
        self.checkpoint_path(config).unlink(missing_ok=True)

    def save_model(self, config: RunConfig, state_dict: dict[str, Any]) -> None:
        """Atomically write the run's final weights, moved to the CPU, as ``model.pt``
        (kept only for runs that ask to keep them)."""
        weights = {name: tensor.cpu() for name, tensor in state_dict.items()}
        folder = self.folder(config)
        folder.create()
        write_torch_atomic(folder.model_file, weights)

    def load_model(self, config: RunConfig) -> dict[str, Any] | None:
        """The run's final weights saved with :meth:`save_model`, or ``None``."""
        return read_torch(self.model_path(config))

    def iter_results(self) -> Iterator[dict[str, Any]]:
        """Every completed result under ``root``, in order of folder name."""
        return results.iter_results(self.root)

    def find(
        self, predicate: Callable[[dict[str, Any]], bool] | None = None, **equal: Any
    ) -> list[dict[str, Any]]:
        """Completed results whose ``result["config"]`` matches every criterion.

        ``find(model="vgg11", **{"pruning.target": "largest"})``: a keyword is a key of
        the config dict or a dotted path into it, with the value it must equal (compared
        as JSON); ``predicate``, if given, must also return true for the whole result.

        Raises:
            KeyError: a key the config does not have (:func:`results.find`).
        """
        return results.find(self.root, predicate, **equal)
