"""Holding a run: its lease while it is computed, and the ``config.json`` that names it.

The lease (``prunestab.store.lease``) is the only exclusion between processes and machines: no
``flock``, which a hung holder would keep (blocking the takeover indefinitely), which a
dead NFS node may keep, and which Lustre mounted ``noflock`` refuses (ENOSYS). A holder
that died on this host is taken over at once; a stale one elsewhere, or a hung one here,
after its TTL and a watch of two heartbeat intervals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prunestab.store.files import read_json, write_json_atomic
from prunestab.store.folder import RunFolder
from prunestab.store.lease import Holder, Lease, LeaseHeldError, describe_age
from prunestab.store.lease import read as read_lease


class RunLockedError(RuntimeError):
    """Another process holds the lock on this run folder."""


class RunLocks:
    """The leases this process holds on runs of one store, and what they record.

    Args:
        lease_ttl_s: seconds without a heartbeat after which a lease is stale; ``None``:
            ``$PRUNESTAB_LEASE_TTL_S``, else 600 (:func:`prunestab.store.lease.default_ttl`).

    >>> import tempfile
    >>> from prunestab.config import RunConfig
    >>> folder = RunFolder.of(tempfile.mkdtemp(), RunConfig("conv4", epochs=2))
    >>> locks = RunLocks()
    >>> with locks.hold(folder):
    ...     locks.beat(folder, epoch=0)
    True
    >>> locks.holder(folder) is None
    True
    """

    def __init__(self, lease_ttl_s: float | None = None) -> None:
        self.lease_ttl_s = lease_ttl_s
        self._held: dict[str, Lease] = {}  # by the run's full hash

    @contextmanager
    def hold(self, folder: RunFolder) -> Iterator[Path]:
        """Claim ``folder``'s lease for the block; yields the folder's path.

        On the first hold ``config.json`` is written (the config and its full hash); if
        one exists, its hash must be this run's (the folder name keeps only 16 hex
        digits). The lease is released when the block ends, also by an exception.

        Args:
            folder: the run; its folder is created if needed.

        Raises:
            RunLockedError: at once (no waiting) if another holder's lease is fresh, this
                process's own included (holding one run twice fails).
            ValueError: ``config.json`` records another hash (two configs share the
                folder's 16-digit prefix); the lease is released.
        """
        lease = Lease(folder.create(), self.lease_ttl_s)
        try:
            lease.acquire()
        except LeaseHeldError as err:
            if err.age < 0:  # its clock runs ahead: a fresh-looking heartbeat proves nothing
                raise RunLockedError(
                    f"run folder {folder.path} is locked by {err.holder.describe()}, whose "
                    f"{describe_age(err.age)}: it may be computing this run, or have died; "
                    "its lease is taken over once that heartbeat is older than the TTL by "
                    "this clock and then does not change while watched. Rerun later."
                ) from None
            raise RunLockedError(
                f"run folder {folder.path} is locked: {err.holder.describe()} is computing "
                "this run right now. Wait for it to finish, then load its result."
            ) from None
        self._held[folder.digest] = lease
        try:
            _write_config(folder)
            yield folder.path
        finally:
            self._held.pop(folder.digest, None)
            lease.release()

    def beat(self, folder: RunFolder, epoch: int) -> bool:
        """Record in the lease of a run this process holds that ``epoch`` is finished.

        Args:
            folder: the run.
            epoch: the last finished epoch (0-based).

        Returns:
            ``False`` if another process has taken the lease over (it judged this one
            dead); ``True`` otherwise, also when this process holds no lease on the run
            and when the file system fails (the heartbeat thread tries again).
        """
        lease = self._held.get(folder.digest)
        if lease is None:
            return True
        try:
            return lease.beat(epoch)
        except OSError:
            return True

    def holder(self, folder: RunFolder) -> Holder | None:
        """Who holds ``folder``'s lease now (fresh or stale), or ``None`` if no one."""
        return read_lease(folder.lease_file)

    def taker(self, folder: RunFolder) -> str:
        """Who holds ``folder``'s lease now, in words for a message (``"no one (it was
        released)"`` if no one)."""
        holder = self.holder(folder)
        return holder.describe() if holder is not None else "no one (it was released)"


def _write_config(folder: RunFolder) -> None:
    """Write ``config.json`` (config and full hash) unless it exists with this hash."""
    path = folder.config_file
    if path.exists():
        stored = read_json(path).get("hash")
        if stored != folder.digest:
            raise ValueError(
                f"{path} belongs to a config with hash {stored}, not {folder.digest}; two "
                "configs share the folder's 16-digit prefix"
            )
        return
    write_json_atomic(path, folder.config.to_dict() | {"hash": folder.digest})
