"""Worker processes (``prunestab.sweep.workers``): nothing a sweep starts outlives it,
and a cluster's SIGTERM to every process of a task leaves its fork server running."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork server")

_POOL = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from prunestab.sweep import workers
from prunestab.training import preempt


def listening_worker(*setup):  # a cluster task's worker: SIGTERM is a stop request
    workers.prepare_worker(*setup)
    preempt.listen()


def started(pid):  # its initializer ran: SIGUSR2 unblocked, SIGTERM caught if listening
    status = dict(line.split(":\t") for line in open(f"/proc/{pid}/status"))
    caught = int(status["SigCgt"], 16) & (1 << 14)
    return not int(status["SigBlk"], 16) & (1 << 11) and (caught or not sys.argv[1:])


if __name__ == "__main__":
    signal_to_ignore = sys.argv[1:]
    if signal_to_ignore:  # a cluster task's supervisor: it handles SIGTERM itself
        import signal
        signal.signal(signal.SIGTERM, lambda *a: None)
    context = workers.worker_context()
    setup = workers.worker_setup(context, 2, False)
    start = listening_worker if signal_to_ignore else workers.prepare_worker
    with ProcessPoolExecutor(2, context, start, setup) as pool:
        sleeping = [pool.submit(time.sleep, 600) for _ in range(2)]
        while len(pool._processes) < 2 or not all(map(started, pool._processes)):
            time.sleep(0.1)
        print(*pool._processes, flush=True)
        for future in sleeping:
            future.result()
"""


def _descendants(pid: int) -> set[int]:
    """Every process whose chain of parents reaches ``pid`` (or was reparented from it:
    those carrying the pool script's marker in their command line)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if _MARKER.encode() in command and int(entry.name) != pid:
            found.add(int(entry.name))
    return found


_MARKER = "prunestab-test-workers-marker"


def _start_pool(tmp_path, *args) -> tuple[subprocess.Popen, set[int]]:
    script = tmp_path / "pool.py"
    script.write_text(_POOL)
    env = os.environ | {"PYTHONPATH": ":".join(sys.path)}
    # The marker travels in sys.path, which the fork server's command line lists.
    env["PYTHONPATH"] += f":/nonexistent/{_MARKER}"
    main = subprocess.Popen(
        [sys.executable, str(script), *args], env=env, stdout=subprocess.PIPE, text=True
    )
    workers = {int(pid) for pid in main.stdout.readline().split()}
    assert len(workers) == 2
    return main, workers


@pytest.fixture
def cleanup():
    """Kills what a failing test leaves of its processes."""
    yield
    for pid in _descendants(-1):
        os.kill(pid, signal.SIGKILL)


def _gone_within(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = {pid for pid in alive if _alive(pid)}
    return alive


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _kill_and_expect_nothing_left(main, ours: set[int]) -> None:
    """``kill -9`` the sweep's main process; within 30 s none of ``ours`` may be left
    (any that are get SIGKILL, so a failing test leaves no process behind)."""
    main.kill()
    main.wait()
    left = _gone_within(ours, 30)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == set()


def test_nothing_a_sweep_started_outlives_its_killed_main_process(tmp_path, cleanup):
    """Issue 35, item 4: ``kill -9`` of a local sweep's main process left its fork
    server and both workers running for good."""
    main, workers = _start_pool(tmp_path)
    ours = _descendants(main.pid)
    assert workers <= ours and len(ours) >= 3  # the fork server, two workers (a tracker)
    _kill_and_expect_nothing_left(main, ours)


def test_sigterm_to_every_process_of_a_task_leaves_its_fork_server_running(tmp_path, cleanup):
    """Issue 35, item 4: SLURM's SIGTERM to every process of a task killed the fork server
    (only SIGUSR2 was blocked there: the resource tracker's start unblocked SIGTERM), the
    pool broke and its workers were orphaned. The fork server blocks both; once the
    supervisor exits, nothing of ours is left."""
    main, workers = _start_pool(tmp_path, "supervisor")
    ours = _descendants(main.pid)
    for pid in ours | {main.pid}:
        os.kill(pid, signal.SIGTERM)
    time.sleep(3)
    assert main.poll() is None  # the supervisor and its workers handle SIGTERM
    assert all(_alive(pid) for pid in ours)  # the fork server (and tracker) live on
    _kill_and_expect_nothing_left(main, ours)
