"""Leases: who is computing a run, safe on shared filesystems (NFS, Lustre).

``flock`` is not reliable across machines on NFS or Lustre. A lease is a small JSON file
(``.lease`` in the run folder) naming its holder (host, pid, SLURM job, a random token,
and what tells its process from a later one with the same pid: boot, PID namespace,
process start time),
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
writing anything more (``prunestab.sweep.runner``). Fields a newer version adds to the lease
are ignored when read, so versions can share a store; a version older than the
``beat_every`` field reads such a lease as damaged and takes it over at once, and one
older than the heartbeat files sees a live holder's heartbeat as never renewed, so stop
old processes before starting new ones on one store.
"""

from __future__ import annotations

import errno
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
    """The lease TTL to use when none is given: ``$PRUNESTAB_LEASE_TTL_S``, else 600 s.

    Returns:
        Seconds without a heartbeat after which a lease is stale.

    Raises:
        ValueError: the variable is set to something other than a positive number (the
            message quotes it).

    >>> default_ttl() > 0
    True
    """
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
    """The cluster job this process runs in, if any, as a lease records it.

    Returns:
        ``ARRAY_TASK`` for a SLURM array task (``$SLURM_ARRAY_JOB_ID`` and
        ``$SLURM_ARRAY_TASK_ID``), else ``$SLURM_JOB_ID`` or submitit's
        ``$SUBMITIT_LOCAL_JOB_ID``, else ``None``.
    """
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID")


@dataclass(frozen=True)
class Holder:
    """The content of a lease: who holds it, since when, and its latest heartbeat.

    Attributes:
        token: random, unique to one claim; it names the holder's heartbeat file.
        host: the holder's host name.
        pid: the holder's process id on ``host``.
        job: the holder's cluster job (:func:`job_id`), or ``None``.
        started: when the lease was claimed (seconds since the epoch, holder's clock).
        heartbeat: the holder's latest heartbeat (same clock).
        epoch: the last epoch the holder finished (0-based), if any.
        beat_every: seconds between the holder's heartbeats (``None``: a lease written
            before this field, or a holder without a heartbeat thread).
        boot_id: the holder's host's boot (``/proc/sys/kernel/random/boot_id``), so a
            lease from before a reboot is not taken for a live process.
        pid_namespace: the holder's PID namespace (``/proc/self/ns/pid``): its pid names
            a process only in that namespace (a container, a job's own namespace).
        pid_start: when the holder's process started (``/proc/PID/stat``'s starttime,
            clock ticks after boot), so a reused pid is not taken for the holder.
        (The last three are ``None`` in leases written before them, or without ``/proc``;
        :func:`identity` gives this process's.)

    >>> Holder("ab12", "node-3", 5, "991_3", 0.0, 0.0, epoch=40).describe()
    'node-3 pid 5, job 991_3, last epoch 41'
    """

    token: str
    host: str
    pid: int
    job: str | None
    started: float
    heartbeat: float
    epoch: int | None = None
    beat_every: float | None = None
    boot_id: str | None = None
    pid_namespace: str | None = None
    pid_start: int | None = None

    def is_stale(self, ttl: float, now: float) -> bool:
        """Whether the heartbeat looks older than ``ttl`` by the clock ``now`` came from:
        a suspicion, since clocks may disagree (:meth:`Lease.acquire` confirms it).

        Args:
            ttl: seconds without a heartbeat after which a lease is stale.
            now: the reader's time (seconds since the epoch).

        >>> Holder("ab12", "node-3", 5, None, 0.0, 100.0).is_stale(ttl=600, now=800.0)
        True
        """
        return now - self.heartbeat > ttl

    def describe(self) -> str:
        """The holder for a message: host, pid, and its job and last epoch if known
        (epochs counted from 1)."""
        job = f", job {self.job}" if self.job else ""
        epoch = f", last epoch {self.epoch + 1}" if self.epoch is not None else ""
        return f"{self.host} pid {self.pid}{job}{epoch}"


class LeaseHeldError(RuntimeError):
    """Another holder's lease is fresh.

    Args:
        path: the lease file.
        holder: who holds it, kept as :attr:`holder`.
        age: seconds since its heartbeat, by the claimant's clock.
    """

    def __init__(self, path: Path, holder: Holder, age: float) -> None:
        self.holder = holder
        self.age = age
        super().__init__(
            f"{path.parent} is being computed by {holder.describe()} ({describe_age(age)})."
            " Wait for it to finish, then load its result."
        )


def describe_age(age: float) -> str:
    """A heartbeat's age for people; a negative one means the holder's clock runs ahead.

    Args:
        age: seconds since the heartbeat, by the reader's clock.

    >>> describe_age(42.4)
    'heartbeat 42 s ago'
    >>> print(describe_age(-3))
    heartbeat stamped 3 s ahead of this machine's clock
    """
    if age < 0:
        return f"heartbeat stamped {-age:.0f} s ahead of this machine's clock"
    return f"heartbeat {age:.0f} s ago"


def identity(pid: int | None = None) -> dict[str, str | int | None]:
    """What tells process ``pid`` of this host apart from a later one with the same pid:
    the host's boot, the PID namespace, the process's start time (``None`` where
    ``/proc`` does not say).

    Args:
        pid: a process of this host (``None``: this process).

    Returns:
        ``boot_id``, ``pid_namespace`` and ``pid_start``, as :class:`Holder` records them.

    >>> identity()["pid_start"] == identity(os.getpid())["pid_start"]
    True
    """
    return {
        "boot_id": _read_proc("/proc/sys/kernel/random/boot_id"),
        "pid_namespace": _pid_namespace(),
        "pid_start": process_start(os.getpid() if pid is None else pid),
    }


def _read_proc(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def process_start(pid: int) -> int | None:
    """When process ``pid`` of this host started: ``/proc/PID/stat``'s 22nd field, in
    clock ticks after boot (``None`` if it is gone or ``/proc`` is absent).

    >>> process_start(os.getpid()) == process_start(os.getpid()) is not None
    True
    """
    stat = _read_proc(f"/proc/{pid}/stat")
    fields = [] if stat is None else stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])  # fields after the name start at the 3rd (state)
    except (IndexError, ValueError):
        return None


def dead_here(holder: Holder) -> bool:
    """Whether ``holder`` ran on this host in a process that has exited.

    Its lease is then stale at once, without waiting for the TTL. A process that exited
    but was never reaped (a zombie) counts as exited; one this user may not signal
    counts as alive. A holder from before this host's last boot is dead; a pid now used
    by a process that started at another time than the holder's is a reused pid, so the
    holder is dead (issue 35: a requeue in a fresh PID namespace gets the old pid again).
    A holder in another PID namespace cannot be judged by this one's pids: it is not
    dead here (its heartbeat, or :func:`earlier_attempt`, decides).

    Args:
        holder: a lease's holder.

    Returns:
        ``True`` only if ``holder.host`` is this host and its process is gone.

    >>> dead_here(Holder("ab12", socket.gethostname(), os.getpid(), None, 0.0, 0.0))
    False
    """
    if holder.host != socket.gethostname():
        return False
    here = identity(holder.pid)
    if None not in (holder.boot_id, here["boot_id"]) and holder.boot_id != here["boot_id"]:
        return True
    if not _same_namespace(holder, here):
        return False
    if process_exited(holder.pid):
        return True
    return None not in (holder.pid_start, here["pid_start"]) and (
        holder.pid_start != here["pid_start"]
    )


def _same_namespace(holder: Holder, here: dict) -> bool:
    """Whether ``holder``'s pid names a process of this PID namespace (assumed where
    either side does not record it, as before leases recorded it)."""
    return None in (holder.pid_namespace, here["pid_namespace"]) or (
        holder.pid_namespace == here["pid_namespace"]
    )


def process_exited(pid: int) -> bool:
    """Whether process ``pid`` of this host has exited: it is gone, or a zombie.

    A process this user may not signal counts as running.

    Args:
        pid: a process id of this host (<= 0: never a process, ``False``).

    Returns:
        ``True`` if no such process runs.

    >>> process_exited(os.getpid())
    False
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(pid)


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
    """Whether ``holder`` is this very SLURM job (the same array task) on another node,
    or in another PID namespace or boot of this one.

    That is an earlier attempt of this task, left by preemption (SLURM's SIGTERM, then
    SIGKILL) before a requeue onto a new node. Its lease is ours at once: waiting out
    its TTL would let the requeued task report "running elsewhere" and store nothing. (A
    task runs on one node at a time; its worker processes share that node, its boot and
    its PID namespace, so a live sibling never matches. On the same node in the same
    namespace, :func:`dead_here` covers the requeue.)

    Args:
        holder: a lease's holder.

    Returns:
        ``False`` whenever this process is no cluster job (:func:`job_id` is ``None``).

    >>> earlier_attempt(Holder("ab12", "node-a", 4242, None, 0.0, 0.0))
    False
    """
    me = job_id()
    if me is None or holder.job != me:
        return False
    if holder.host != socket.gethostname():
        return True
    here = identity()
    other_boot = None not in (holder.boot_id, here["boot_id"]) and holder.boot_id != here["boot_id"]
    return other_boot or not _same_namespace(holder, here)


def beat_path(path: Path, token: str) -> Path:
    """The heartbeat file of the holder ``token`` of the lease at ``path``.

    Args:
        path: the lease file (``.lease``).
        token: the holder's :attr:`Holder.token`.

    >>> beat_path(Path("runs/conv4-0123/.lease"), "ab12").name
    '.lease.ab12.beat'
    """
    return Path(path).with_name(f"{Path(path).name}.{token}.beat")


def read(path: Path) -> Holder | None:
    """The lease at ``path`` with its holder's latest heartbeat.

    Args:
        path: the lease file (``.lease``).

    Returns:
        Its holder, with the heartbeat and epoch of the holder's heartbeat file where
        there is one; a holder with token ``"damaged"`` and heartbeat 0 (stale at any
        TTL) if the file does not parse; ``None`` if there is no lease (or it vanished
        meanwhile).

    >>> import tempfile
    >>> read(Path(tempfile.mkdtemp()) / LEASE_FILE) is None
    True
    """
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


class NoHardLinksError(ValueError):
    """The store's filesystem does not support ``link(2)``, which leases need."""


#: What ``link(2)`` answers where a filesystem has no hard links (FAT, some FUSE and
#: object-store mounts).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def _link(path: Path, holder: Holder) -> bool:
    """Claim the lease at ``path`` for ``holder``: ``link`` a file of its own there.
    Whether the link succeeded; exactly one claimant's does.

    Raises:
        NoHardLinksError: the filesystem has no hard links (one line naming the folder).
    """
    own = _write_own(path, holder)
    try:
        os.link(own, path)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        # NFS may lose the reply of a link that succeeded: the link count tells.
        if os.stat(own).st_nlink == 2:
            return True
        if err.errno in _NO_LINKS:
            raise NoHardLinksError(
                f"{path.parent}: its filesystem does not support hard links (link(2): "
                f"{err.strerror or err}), which the store's leases need; allowed: a store on "
                "a filesystem with hard links (a local disk, NFS, Lustre), named with --store"
            ) from None
        return False
    finally:
        own.unlink(missing_ok=True)


def _take_over(path: Path, stale: Holder) -> None:
    """Move the stale lease at ``path`` aside, if it is still the one that was read."""
    aside = path.with_name(f"{path.name}.stale.{uuid.uuid4().hex}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another claimant moved it first
    moved = read(aside)
    if moved is not None and moved.token != stale.token:
        # A fresh lease was claimed between our read and our rename: give it back.
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
    elif moved is not None:
        beat_path(path, moved.token).unlink(missing_ok=True)
    aside.unlink(missing_ok=True)


def _write_beat(mine: Path, holder: Holder) -> None:
    """Replace the heartbeat file ``mine`` with ``holder``'s heartbeat and epoch."""
    fresh = mine.with_name(f"{mine.name}.{uuid.uuid4().hex}.tmp")
    try:
        fresh.write_text(json.dumps({"heartbeat": holder.heartbeat, "epoch": holder.epoch}))
        os.replace(fresh, mine)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise


class Lease:
    """The lease of one run folder: :meth:`acquire`, heartbeats while held, :meth:`release`.

    Args:
        folder: the run folder; the lease is its ``.lease`` file (:attr:`path`).
        ttl: seconds without a heartbeat after which the lease is stale; ``None``:
            :func:`default_ttl`.
        clock: the wall clock heartbeats are stamped with (injected by tests).
        heartbeat: whether a thread renews the heartbeat every ``ttl / 4`` seconds while
            the lease is held.
        sleep: how the claimant waits while it watches a lease that looks stale.

    Raises:
        ValueError: ``ttl`` is not positive.

    >>> import tempfile
    >>> lease = Lease(tempfile.mkdtemp(), ttl=60, heartbeat=False)
    >>> lease.acquire().pid == os.getpid()
    True
    >>> Lease(lease.path.parent, ttl=60, heartbeat=False).acquire()
    Traceback (most recent call last):
    ...
    prunestab.store.lease.LeaseHeldError: ... is being computed by ...
    >>> lease.beat(epoch=3), read(lease.path).epoch
    (True, 3)
    >>> lease.release()
    >>> read(lease.path) is None
    True
    """

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
        """Claim the lease, taking over a dead one, and start the heartbeat thread.

        A lease whose holder died on this host (:func:`dead_here`) or was an earlier
        attempt of this very job (:func:`earlier_attempt`) is taken over at once. One
        whose heartbeat looks older than the TTL is watched (``sleep``) for two of its
        holder's heartbeat intervals first: one that changes meanwhile is held, whatever
        the clocks say.

        Returns:
            This claimant's :class:`Holder`, also kept as :attr:`holder`.

        Raises:
            LeaseHeldError: another holder's lease is fresh, or changed while watched.
            RuntimeError: the lease kept changing hands over three tries.
        """
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
                **identity(),
            )
            if _link(self.path, mine):
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
            _take_over(self.path, current)
        current = read(self.path)
        if current is None:
            raise RuntimeError(f"could not claim {self.path}: it kept changing hands")
        raise LeaseHeldError(self.path, current, self.clock() - current.heartbeat)

    def watch_seconds(self, holder: Holder) -> float:
        """How long a lease that looks stale is watched before it is taken over.

        Args:
            holder: the lease's holder.

        Returns:
            Two of its holder's heartbeat intervals, in seconds (this lease's ``ttl / 4``
            where the holder does not say).
        """
        return 2 * (holder.beat_every or self.ttl / 4)

    def beat(self, epoch: int | None = None) -> bool:
        """Refresh the heartbeat (and the last finished epoch).

        The heartbeat goes to this holder's own file (``.lease.TOKEN.beat``), never to
        ``.lease`` itself: a holder that stalls between checking the lease and writing
        its heartbeat (a stopped process, a hung filesystem) can then only rewrite its
        own file, not a lease another claimant has taken over meanwhile.

        Args:
            epoch: the last finished epoch (0-based); ``None`` keeps the recorded one.

        Returns:
            ``False`` if the lease is no longer ours (never acquired, released, or taken
            over: then :attr:`lost` is set); else ``True``.

        Raises:
            OSError: the heartbeat file could not be written (the lease is still ours).
        """
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
            _write_beat(mine, self.holder)
            return True

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.beat()
            except OSError:
                pass  # a transient filesystem error: the next beat tries again

    def release(self) -> None:
        """Stop the heartbeat thread and remove the lease if it is still ours, with this
        holder's heartbeat file. Safe to call twice, or after the lease was lost."""
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
