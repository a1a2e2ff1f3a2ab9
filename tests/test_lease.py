"""Leases keep two machines off one run where flock is unreliable (NFS, Lustre): one
claimant wins, a fresh lease blocks, a stale or dead holder's lease is taken over."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from prunestab.store.lease import LEASE_FILE, Holder, Lease, LeaseHeldError, read


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_fresh_lease_blocks_and_a_released_one_can_be_claimed(tmp_path):
    first = Lease(tmp_path, ttl=60, heartbeat=False)
    holder = first.acquire()
    assert read(tmp_path / LEASE_FILE) == holder
    with pytest.raises(LeaseHeldError, match="being computed by"):
        Lease(tmp_path, ttl=60, heartbeat=False).acquire()
    first.release()
    assert read(tmp_path / LEASE_FILE) is None
    Lease(tmp_path, ttl=60, heartbeat=False).acquire()


def test_another_hosts_lease_is_taken_over_only_after_its_ttl_and_a_watch(tmp_path):
    clock, watched = Clock(), []
    stale = Holder("old", "node-17", 4242, "991_3", clock.now, clock.now, epoch=12)
    (tmp_path / LEASE_FILE).write_text(json.dumps(stale.__dict__))
    clock.now += 59
    with pytest.raises(LeaseHeldError, match=r"node-17 pid 4242, job 991_3, last epoch 13"):
        Lease(tmp_path, ttl=60, clock=clock, heartbeat=False, sleep=watched.append).acquire()
    assert watched == []  # a fresh-looking lease is held without watching it
    clock.now += 2  # heartbeat now 61 s old
    mine = Lease(tmp_path, ttl=60, clock=clock, heartbeat=False, sleep=watched.append).acquire()
    # Unchanged over two heartbeat intervals (ttl / 4 each, the lease names none): dead.
    assert watched == [30.0]
    assert read(tmp_path / LEASE_FILE).token == mine.token != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [LEASE_FILE]  # nothing left aside


def test_a_live_holder_is_kept_however_far_behind_its_clock_runs(tmp_path):
    """Clocks that disagree by an hour: the holder's heartbeats look stale to the
    claimant, but the lease changes while the claimant watches it, so it stays held."""
    holder_clock, claimant_clock, watched = Clock(1_000.0), Clock(1_000.0 + 3_600), []
    holder = Lease(tmp_path, ttl=60, clock=holder_clock, heartbeat=False)
    held = holder.acquire()
    assert held.beat_every is None  # no heartbeat thread: the claimant uses its own ttl

    def watch(seconds):  # the holder beats while the claimant waits
        watched.append(seconds)
        holder_clock.now += seconds
        assert holder.beat(epoch=3)

    claimant = Lease(tmp_path, ttl=60, clock=claimant_clock, heartbeat=False, sleep=watch)
    with pytest.raises(LeaseHeldError, match="last epoch 4"):
        claimant.acquire()
    assert watched == [30.0]
    assert read(tmp_path / LEASE_FILE).token == held.token and not holder.lost
    # Its clock one hour ahead instead: the lease looks fresh and is held at once.
    ahead = Lease(tmp_path, ttl=60, clock=Clock(1_000.0 - 3_600), heartbeat=False, sleep=watch)
    with pytest.raises(LeaseHeldError, match="ahead of this machine's clock"):
        ahead.acquire()
    assert watched == [30.0]


def test_a_lease_is_watched_for_two_of_its_holders_heartbeat_intervals(tmp_path):
    holder = Lease(tmp_path, ttl=40)  # heartbeats every 10 s
    held = holder.acquire()
    try:
        assert held.beat_every == 10.0
        watched = []
        late = Clock(held.heartbeat + 3_600)
        claimant = Lease(tmp_path, ttl=600, clock=late, heartbeat=False, sleep=watched.append)
        assert claimant.watch_seconds(read(tmp_path / LEASE_FILE)) == 20.0
    finally:
        holder.release()


def _holder_in_another_process(tmp_path):
    """A process on this host that holds the lease at ``tmp_path`` until killed."""
    code = (
        "import sys, time\n"
        "from prunestab.store.lease import Lease\n"
        f"Lease({str(tmp_path)!r}, ttl=3600).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_killed_holder_on_this_host_is_taken_over_at_once(tmp_path):
    holder = _holder_in_another_process(tmp_path)
    with pytest.raises(LeaseHeldError):
        Lease(tmp_path, ttl=3600, heartbeat=False).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    Lease(tmp_path, ttl=3600, heartbeat=False).acquire()  # no waiting for the TTL


def test_a_killed_holder_left_unreaped_is_taken_over_at_once(tmp_path):
    """A holder killed with its parent is reparented to PID 1, which in many containers
    (CI's among them) never reaps it: it stays a zombie, and ``kill(pid, 0)`` still
    succeeds on it. It holds nothing and must not make a requeued task wait its TTL."""
    holder = _holder_in_another_process(tmp_path)
    holder.send_signal(signal.SIGKILL)
    deadline = time.time() + 30
    while _state(holder.pid) != "Z":  # dead, and not reaped (no wait() here)
        assert time.time() < deadline
        time.sleep(0.01)
    try:
        Lease(tmp_path, ttl=3600, heartbeat=False).acquire()  # no waiting for the TTL
    finally:
        holder.wait()


def _state(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]


def test_heartbeats_carry_the_epoch_and_a_lease_taken_over_is_known_lost(tmp_path):
    clock = Clock()
    lease = Lease(tmp_path, ttl=60, clock=clock, heartbeat=False)
    lease.acquire()
    clock.now += 30
    assert lease.beat(epoch=7)
    held = read(tmp_path / LEASE_FILE)
    assert (held.epoch, held.heartbeat) == (7, clock.now)
    clock.now += 61  # a frozen holder: someone else takes over
    other = Lease(tmp_path, ttl=60, clock=clock, heartbeat=False, sleep=lambda s: None)
    other.acquire()
    assert lease.beat(epoch=8) is False and lease.lost
    lease.release()  # must not remove the new holder's lease
    assert read(tmp_path / LEASE_FILE).token == other.holder.token


def test_a_holder_stalled_mid_heartbeat_cannot_overwrite_a_takeover(tmp_path, monkeypatch):
    """The holder checks that the lease is still its own, then stalls (a stopped process,
    a hung filesystem) past the TTL and the watch; another claimant takes the lease over;
    the stalled heartbeat then completes. The lease must stay the new holder's, and the
    old holder learns at its next heartbeat that it lost it."""
    import threading

    from prunestab.store import lease as lease_module

    clock = Clock()
    stalled = Lease(tmp_path, ttl=60, clock=clock, heartbeat=False)
    stalled.acquire()
    checked, taken_over = threading.Event(), threading.Event()
    real_read = lease_module.read

    def read_then_stall(path):
        found = real_read(path)
        if threading.current_thread().name == "stalled-beat":
            checked.set()
            taken_over.wait(30)
        return found

    monkeypatch.setattr(lease_module, "read", read_then_stall)
    beat = threading.Thread(target=stalled.beat, kwargs={"epoch": 5}, name="stalled-beat")
    beat.start()
    assert checked.wait(30)
    clock.now += 61
    taker = Lease(tmp_path, ttl=60, clock=clock, heartbeat=False, sleep=lambda s: None)
    taker.acquire()
    taken_over.set()
    beat.join(30)
    assert read(tmp_path / LEASE_FILE).token == taker.holder.token
    assert taker.beat(epoch=6) and read(tmp_path / LEASE_FILE).epoch == 6
    assert stalled.beat(epoch=6) is False and stalled.lost
    stalled.release()
    taker.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lease, no heartbeat left


def _race(folder: str, ready, outcomes, done) -> None:
    ready.wait(120)  # every racer started: they are released together
    try:
        Lease(folder, ttl=3600, heartbeat=False).acquire()
    except LeaseHeldError:
        outcomes.put("lost")
        return
    outcomes.put("won")
    done.wait(120)  # hold it until every racer has tried (a dead holder is taken over)


@pytest.mark.parametrize("round_", range(5))
def test_of_processes_racing_for_one_lease_exactly_one_wins(tmp_path, round_):
    context = multiprocessing.get_context("spawn")
    outcomes, done, ready = context.Queue(), context.Event(), context.Barrier(4)
    racers = [
        context.Process(target=_race, args=(str(tmp_path), ready, outcomes, done)) for _ in range(4)
    ]
    for p in racers:
        p.start()
    results = sorted(outcomes.get(timeout=120) for _ in racers)
    done.set()
    for p in racers:
        p.join(60)
    assert results == ["lost", "lost", "lost", "won"]


def test_the_ttl_must_be_positive(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="allowed: a positive number of seconds"):
        Lease(tmp_path, ttl=0)
    monkeypatch.setenv("PRUNESTAB_LEASE_TTL_S", "soon")
    with pytest.raises(ValueError, match=r"PRUNESTAB_LEASE_TTL_S='soon'; allowed"):
        Lease(tmp_path)


def test_a_lease_with_fields_of_a_newer_version_is_read_and_watched(tmp_path):
    """Versions can share a store: unknown fields are ignored, so a beating holder of a
    newer version is seen to change and is kept."""
    clock, path = Clock(), tmp_path / LEASE_FILE
    newer = Holder("new", "node-3", 5, None, clock.now, clock.now).__dict__ | {"gpu": 0}
    path.write_text(json.dumps(newer))
    assert read(path) == Holder("new", "node-3", 5, None, clock.now, clock.now)

    def holder_beats(seconds):
        path.write_text(json.dumps(newer | {"heartbeat": clock.now + seconds}))

    clock.now += 3_600
    with pytest.raises(LeaseHeldError, match="node-3 pid 5"):
        Lease(tmp_path, ttl=60, clock=clock, heartbeat=False, sleep=holder_beats).acquire()


def test_a_requeued_task_takes_over_its_own_earlier_attempts_lease_at_once(tmp_path, monkeypatch):
    """After preemption SLURM requeues the array task onto another node; the lease its
    killed attempt left (fresh heartbeat, other host) is this task's own, so it is taken
    over without waiting for the TTL. Another job's fresh lease still blocks."""
    clock = Clock()
    earlier = Holder("old", "node-a", 4242, "991_3", clock.now, clock.now, epoch=40)
    (tmp_path / LEASE_FILE).write_text(json.dumps(earlier.__dict__))

    def no_wait(seconds):
        raise AssertionError(f"waited {seconds} s for a lease that is ours")

    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "991")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "4")  # another task of the same array
    with pytest.raises(LeaseHeldError, match="job 991_3"):
        Lease(tmp_path, ttl=600, clock=clock, heartbeat=False, sleep=no_wait).acquire()
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")  # the same task, requeued
    mine = Lease(tmp_path, ttl=600, clock=clock, heartbeat=False, sleep=no_wait).acquire()
    assert read(tmp_path / LEASE_FILE) == mine and mine.job == "991_3"


def _unshare_pid_works() -> bool:
    try:
        return subprocess.run(["unshare", "-p", "-f", "--mount-proc", "true"]).returncode == 0
    except OSError:
        return False


_HOLD_IN_OWN_NAMESPACE = """
import os, sys
from prunestab.store.lease import Lease
holder = Lease(sys.argv[1], ttl=600, heartbeat=False).acquire()
print(holder.pid, flush=True)
os._exit(0)  # killed: the lease stays, its heartbeat fresh
"""


@pytest.mark.skipif(not _unshare_pid_works(), reason="no PID namespaces here (unshare -p)")
def test_a_requeue_in_a_new_pid_namespace_takes_over_its_reused_pid_at_once(tmp_path, monkeypatch):
    """Issue 35, item 3: two attempts of one job, each in a fresh PID namespace on the
    same node. Both run as pid 1 there, so the old lease names a pid that exists again;
    the holder's identity (its pid namespace, its process start time) tells the reused
    pid apart, and the requeued attempt takes the lease over without waiting."""
    monkeypatch.setenv("SLURM_JOB_ID", "4711")
    monkeypatch.setenv("PYTHONPATH", ":".join(sys.path))
    unshare = ["unshare", "-p", "-f", "--mount-proc", sys.executable]
    first = subprocess.run([*unshare, "-c", _HOLD_IN_OWN_NAMESPACE, str(tmp_path)], **_TEXT)
    assert first.returncode == 0, first.stderr
    again = _HOLD_IN_OWN_NAMESPACE.replace(
        "ttl=600, heartbeat=False", "ttl=600, heartbeat=False, sleep=sys.exit"
    )
    second = subprocess.run([*unshare, "-c", again, str(tmp_path)], **_TEXT, timeout=60)
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout == "1\n"  # the same pid, reused


_TEXT = {"capture_output": True, "text": True}


def test_a_reused_pid_is_not_mistaken_for_the_holder_that_died(tmp_path):
    """Issue 35, item 3, with the holder's identity faked: a lease naming a live pid of
    this host whose process started at another time (the pid was reused), or written
    before this host last booted, is dead at once; a live holder in another PID
    namespace (another container) is not judged by this namespace's pids."""
    from prunestab.store import lease

    me = Holder("x", lease.socket.gethostname(), os.getpid(), None, 0.0, 0.0)
    here = me.__dict__ | lease.identity()
    assert not lease.dead_here(Holder(**here))
    assert lease.dead_here(Holder(**here | {"pid_start": here["pid_start"] - 1}))
    assert lease.dead_here(Holder(**here | {"boot_id": "an-earlier-boot"}))
    elsewhere = Holder(**here | {"pid_start": 1, "pid_namespace": "pid:[1]", "pid": 999_999})
    assert not lease.dead_here(elsewhere)
    fresh = Holder(**here | {"pid_start": here["pid_start"] - 1, "heartbeat": time.time()})
    (tmp_path / LEASE_FILE).write_text(json.dumps(fresh.__dict__))
    mine = Lease(tmp_path, ttl=600, heartbeat=False, sleep=sys.exit).acquire()
    assert read(tmp_path / LEASE_FILE) == mine


def test_a_filesystem_without_hard_links_is_named_in_one_line(tmp_path, monkeypatch):
    """Issue 35, item 10: where ``link(2)`` is not supported the claim failed three
    times and said the lease "kept changing hands"; it now says what is missing."""
    import errno

    from prunestab.store import lease

    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(lease.os, "link", no_links)
    with pytest.raises(ValueError, match=r"hard links") as raised:
        Lease(tmp_path, ttl=60, heartbeat=False).acquire()
    assert str(tmp_path) in str(raised.value) and "\n" not in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary file left
