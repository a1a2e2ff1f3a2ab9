"""Leases: who is computing a run, safe on shared filesystems (NFS, Lustre).

``flock`` is not reliable across machines on NFS or Lustre. A lease is a small JSON file
(``.lease`` in the run folder) naming its holder (host, pid, SLURM job, a random token),
when it started, its last heartbeat and the last epoch it finished. It is claimed the way
``open(2)`` recommends for NFS: the claimant writes a file of its own, then ``link(2)``
s it to ``.lease``; the link succeeds for exactly one claimant (if the reply is lost,
the link count of its own file tells). The holder renews its heartbeat every
``ttl / 4`` seconds (a heartbeat thread) and after every epoch, in a heartbeat file of
its own (``.lease.TOKEN.beat``; ``.lease`` itself is never rewritten, so a holder that
stalls mid-heartbeat cannot overwrite a lease taken over meanwhile). A lease belongs to a
holder that died (a killed job, a lost node) if its holder ran on this host in a process
that has exited, or if it has stopped changing: its heartbeat looks older than the TTL
and the lease then stays the same while the claimant watches it for two of the holder's
heartbeat intervals. A dead lease is moved aside by ``rename(2)`` (atomic; a second
claimant finds it gone), checked to be the lease that was read, and claimed anew.

Clocks: the heartbeat's age only raises the suspicion; the takeover rests on watching
the lease on the claimant's own monotonic clock. So whatever the machines' clocks say, a
live holder is kept as long as one of its heartbeats reaches the file within any two of
its intervals; one hung or failing heartbeat in that window can lose it the lease (with
clocks that agree, the margin is the TTL on top). Skew otherwise costs time: a holder
whose clock runs behind the claimant's makes the claimant watch for nothing
(``LeaseHeldError`` after the watch), and a dead holder whose clock ran ahead is
suspected that much later. ``prunestab status`` and cluster sweeps judge "stale" by the
clocks alone, so under skew they may resubmit a live run, whose task then waits out the
watch and reports it as running elsewhere. A holder whose lease was taken over learns it
at its next end-of-epoch heartbeat (``beat() -> False``); the runner then stops before
writing anything more (``prunestab.runner``). Fields a newer version adds to the lease
are ignored when read, so versions can share a store; a version older than the
``beat_every`` field reads such a lease as damaged and takes it over at once, and one
older than the heartbeat files (2026-12-04) sees a live holder's heartbeat as never
renewed, so stop old processes before starting new ones on one store.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

LEASE_FILE = ".lease"
#: Seconds without a heartbeat after which a lease is stale and may be taken over.
DEFAULT_TTL_S = 600.0
TTL_ENV_VAR = "PRUNESTAB_LEASE_TTL_S"


def default_ttl() -> float:
    value = os.environ.get(TTL_ENV_VAR)
    if not value:
        return DEFAULT_TTL_S
    try:
        ttl = float(value)
    except ValueError:
        ttl = -1.0
    if ttl <= 0:
        raise ValueError(f"${TTL_ENV_VAR}={value!r}; allowed: a positive number of seconds")
    return ttl


def job_id() -> str | None:
    """The SLURM job (``JOB_TASK`` for an array task), or submitit's local job, if this
    process is one."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID")


@dataclass(frozen=True)
class Holder:
    """The content of a lease."""

    token: str
    host: str
    pid: int
    job: str | None
    started: float
    heartbeat: float
    epoch: int | None = None
    #: Seconds between the holder's heartbeats (``None``: a lease written before this
    #: field, or a holder without a heartbeat thread).
    beat_every: float | None = None

    def is_stale(self, ttl: float, now: float) -> bool:
        """Whether the heartbeat looks older than ``ttl`` by the clock ``now`` came from:
        a suspicion, since clocks may disagree (:meth:`Lease.acquire` confirms it)."""
        return now - self.heartbeat > ttl

    def describe(self) -> str:
        job = f", job {self.job}" if self.job else ""
        epoch = f", last epoch {self.epoch + 1}" if self.epoch is not None else ""
        return f"{self.host} pid {self.pid}{job}{epoch}"


class LeaseHeldError(RuntimeError):
    """Another holder's lease is fresh."""

    def __init__(self, path: Path, holder: Holder, age: float) -> None:
        self.holder = holder
        super().__init__(
            f"{path.parent} is being computed by {holder.describe()} ({describe_age(age)})."
            " Wait for it to finish, then load its result."
        )


def describe_age(age: float) -> str:
    """A heartbeat's age for people; a negative one means the holder's clock runs ahead."""
    if age < 0:
        return f"heartbeat stamped {-age:.0f} s ahead of this machine's clock"
    return f"heartbeat {age:.0f} s ago"


def dead_here(holder: Holder) -> bool:
    """Whether ``holder`` ran on this host in a process that no longer exists (its lease
    is then stale at once, without waiting for the TTL)."""
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(holder.pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but not been reaped. ``kill(pid, 0)`` succeeds on such
    a process; a holder killed with its parent becomes one for good where PID 1 never
    reaps orphans (many containers). Where ``/proc`` is absent, ``False``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces or ')'
    return bool(fields) and fields[0] in ("Z", "X")


def earlier_attempt(holder: Holder) -> bool:
    """Whether ``holder`` is this very SLURM job (the same array task) on another node:
    an earlier attempt of this task, left by preemption (SLURM's SIGTERM, then SIGKILL)
    before a requeue onto a new node. Its lease is ours at once: waiting out its TTL
    would let the requeued task report "running elsewhere" and store nothing. (A task
    runs on one node at a time; its worker processes share that node, so a live sibling
    never matches. On the same node, :func:`dead_here` covers the requeue.)"""
    me = job_id()
    return me is not None and holder.job == me and holder.host != socket.gethostname()


def beat_path(path: Path, token: str) -> Path:
    """The heartbeat file of the holder ``token`` of the lease at ``path``."""
    return Path(path).with_name(f"{Path(path).name}.{token}.beat")


def read(path: Path) -> Holder | None:
    """The lease at ``path`` with its holder's latest heartbeat, or ``None`` if there is
    no lease (or it vanished meanwhile)."""
    try:
        fields = json.loads(Path(path).read_text())
        known = {name: fields[name] for name in Holder.__dataclass_fields__ if name in fields}
        holder = Holder(**known)  # fields of a newer version are ignored
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, TypeError):
        # Written by link of a complete file, so never partial; treat damage as stale.
        return Holder("damaged", "?", -1, None, 0.0, 0.0)
    try:
        beat = json.loads(beat_path(path, holder.token).read_text())
        return replace(holder, heartbeat=float(beat["heartbeat"]), epoch=beat.get("epoch"))
    except (OSError, ValueError, KeyError, TypeError):
        return holder  # no heartbeat yet (or one being replaced): the claim's time stands


def _write_own(path: Path, holder: Holder) -> Path:
    """Write ``holder`` to a file of this claimant's own beside ``path``; return it."""
    own = path.with_name(f"{path.name}.{holder.token}.tmp")
    try:
        with open(own, "w") as f:
            json.dump(asdict(holder), f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:  # a full disk (ENOSPC) or a signal: leave no .tmp behind
        own.unlink(missing_ok=True)
        raise
    return own


class Lease:
    """The lease of one run folder: ``acquire()``, heartbeats while held, ``release()``."""

    def __init__(
        self,
        folder: Path,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
        heartbeat: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(folder) / LEASE_FILE
        self.ttl = default_ttl() if ttl is None else ttl
        if self.ttl <= 0:
            raise ValueError(f"lease ttl={self.ttl}; allowed: a positive number of seconds")
        self.clock = clock
        self.sleep = sleep
        self.holder: Holder | None = None
        self.lost = False  # set if another claimant took the lease over while we held it
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def acquire(self) -> Holder:
        """Claim the lease, taking over a dead one; raise :class:`LeaseHeldError` if it
        is held. A lease whose heartbeat looks older than the TTL is watched (``sleep``)
        for two of its holder's heartbeat intervals first: one that changes meanwhile is
        held, whatever the clocks say."""
        for _ in range(3):
            now = self.clock()
            mine = Holder(
                uuid.uuid4().hex,
                socket.gethostname(),
                os.getpid(),
                job_id(),
                now,
                now,
                beat_every=self.ttl / 4 if self._heartbeat else None,
            )
            if self._link(mine):
                self.holder = mine
                if self._heartbeat:
                    self._thread = threading.Thread(target=self._beat_loop, daemon=True)
                    self._thread.start()
                return mine
            current = read(self.path)
            if current is None:
                continue  # released between our link and our read: try again
            if not (dead_here(current) or earlier_attempt(current)):
                if not current.is_stale(self.ttl, self.clock()):
                    raise LeaseHeldError(self.path, current, self.clock() - current.heartbeat)
                self.sleep(self.watch_seconds(current))
                again = read(self.path)
                if again is None:
                    continue  # released while we watched
                if again != current:  # it beat (or another claimant took it): held
                    raise LeaseHeldError(self.path, again, self.clock() - again.heartbeat)
            self._take_over(current)
        current = read(self.path)
        if current is None:
            raise RuntimeError(f"could not claim {self.path}: it kept changing hands")
        raise LeaseHeldError(self.path, current, self.clock() - current.heartbeat)

    def watch_seconds(self, holder: Holder) -> float:
        """How long a lease that looks stale is watched before it is taken over: two of
        its holder's heartbeat intervals (this lease's ``ttl / 4`` where it does not
        say)."""
        return 2 * (holder.beat_every or self.ttl / 4)

    def _link(self, holder: Holder) -> bool:
        own = _write_own(self.path, holder)
        try:
            os.link(own, self.path)
            return True
        except FileExistsError:
            return False
        except OSError:
            # NFS may lose the reply of a link that succeeded: the link count tells.
            return os.stat(own).st_nlink == 2
        finally:
            own.unlink(missing_ok=True)

    def _take_over(self, stale: Holder) -> None:
        """Move the stale lease aside, if it is still the one that was read."""
        aside = self.path.with_name(f"{self.path.name}.stale.{uuid.uuid4().hex}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another claimant moved it first
        moved = read(aside)
        if moved is not None and moved.token != stale.token:
            # A fresh lease was claimed between our read and our rename: give it back.
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        elif moved is not None:
            beat_path(self.path, moved.token).unlink(missing_ok=True)
        aside.unlink(missing_ok=True)

    def beat(self, epoch: int | None = None) -> bool:
        """Refresh the heartbeat (and the last finished epoch); ``False`` if the lease is
        no longer ours.

        The heartbeat goes to this holder's own file (``.lease.TOKEN.beat``), never to
        ``.lease`` itself: a holder that stalls between checking the lease and writing
        its heartbeat (a stopped process, a hung filesystem) can then only rewrite its
        own file, not a lease another claimant has taken over meanwhile."""
        with self._lock:
            if self.holder is None:
                return False
            mine = beat_path(self.path, self.holder.token)
            current = read(self.path)
            if current is None or current.token != self.holder.token:
                self.lost = True
                mine.unlink(missing_ok=True)
                return False
            self.holder = replace(
                self.holder,
                heartbeat=self.clock(),
                epoch=self.holder.epoch if epoch is None else epoch,
            )
            fresh = mine.with_name(f"{mine.name}.{uuid.uuid4().hex}.tmp")
            try:
                fresh.write_text(
                    json.dumps({"heartbeat": self.holder.heartbeat, "epoch": self.holder.epoch})
                )
                os.replace(fresh, mine)
            except BaseException:
                fresh.unlink(missing_ok=True)
                raise
            return True

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.beat()
            except OSError:
                pass  # a transient filesystem error: the next beat tries again

    def release(self) -> None:
        """Stop the heartbeat and remove the lease if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            current = read(self.path)
            if self.holder is not None and current is not None:
                if current.token == self.holder.token:
                    self.path.unlink(missing_ok=True)
            if self.holder is not None:
                beat_path(self.path, self.holder.token).unlink(missing_ok=True)
            self.holder = None
