"""Sweeps beyond one machine, on a 2-core machine without a cluster: submitit's local
executor end to end, the SLURM submission through a fake sbatch/sacct, preemption that
resumes from checkpoints, bounded retries, and two sweeps racing on one store."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tiny_runs import SHORT_DATA

from prunestab.cli import main
from prunestab.config import config_hash
from prunestab.paper.registry import figure_grid
from prunestab.store import RunStore
from prunestab.store.lease import process_exited
from prunestab.sweep.cluster import ClusterOptions, JobLiveness, SweepTask, submit
from prunestab.sweep.status import grid_status


@pytest.mark.slow
def test_submitit_local_computes_every_missing_run_once_and_a_second_sweep_nothing(
    tmp_path, tiny_cifar
):
    store = RunStore(tmp_path / "store")
    configs = figure_grid("fig5", "smoke", 1)
    distinct = {config_hash(c) for c in configs}
    options = ClusterOptions(executor="submitit-local", log_dir=str(tmp_path / "logs"))
    first = submit(configs, store, options, str(tiny_cifar), "smoke")
    assert first.submitted == len(distinct) and len(first.jobs) == len(distinct)
    again = submit(configs, store, options, str(tiny_cifar), "smoke")
    assert again.submitted == 0  # all queued in live jobs (or running, or done)
    outcomes = {}
    for job in first.jobs:
        for digest, outcome in job.result().items():
            outcomes.setdefault(digest, []).append(outcome)
    assert set(outcomes) == distinct
    assert all(o == ["computed"] for o in outcomes.values())
    assert all(s.state == "done" for s in grid_status(figure_grid("fig5", "smoke", 1), store))
    last = submit(configs, store, options, str(tiny_cifar), "smoke")
    assert (last.submitted, last.stored) == (0, len(distinct))


def _fake_slurm(tmp_path: Path, state: str) -> dict:
    """sbatch/sacct on PATH: sbatch keeps the submission file and answers job 4242."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    kept = tmp_path / "submitted"
    kept.mkdir(exist_ok=True)
    (bin_dir / "sbatch").write_text(
        f'#!/bin/sh\nfor last; do :; done\ncp "$last" {kept}/\necho "Submitted batch job 4242"\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sacct").write_text(
        f"#!/bin/sh\necho called >> {tmp_path / 'sacct-calls'}\necho 'JobID|State|NodeList'\n"
        + "".join(f"echo '4242_{i}|{state}|node1'\n" for i in range(200))
    )
    for tool in ("sbatch", "srun", "sacct"):
        (bin_dir / tool).chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "kept": kept}


def test_the_slurm_submission_is_one_array_with_the_options_asked(tmp_path, monkeypatch, capsys):
    fake = _fake_slurm(tmp_path, "PENDING")
    monkeypatch.setenv("PATH", fake["PATH"])
    argv = [
        "sweep",
        "fig4",
        "--profile",
        "paper",
        "--seeds",
        "1",
        "--executor",
        "slurm",
        "--store",
        str(tmp_path / "store"),
        "--log-dir",
        str(tmp_path / "logs"),
        "--partition",
        "gpu",
        "--time-min",
        "600",
        "--gpus-per-task",
        "1",
        "--cpus-per-task",
        "8",
        "--array-parallelism",
        "3",
        "--runs-per-task",
        "4",
        "--sbatch",
        "account=lab",
        "--device",
        "cuda",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    runs = len({config_hash(c) for c in figure_grid("fig4", "paper", 1)})
    tasks = -(-runs // 4)
    assert f"{runs} run(s) submitted as {tasks} task(s): 4242 (array of {tasks} tasks)" in out
    assert "logs: " in out and "prunestab status fig4" in out
    (script,) = fake["kept"].iterdir()
    text = script.read_text()
    for line in (
        f"#SBATCH --array=0-{tasks - 1}%3",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=600",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --account=lab",
    ):
        assert line in text, line
    # A second sweep while the array is pending submits nothing, asking sacct once for
    # the whole array (not once per task).
    assert main(argv) == 0
    assert f"0 run(s) submitted; 0 already stored, 0 running, {runs} queued" in (
        capsys.readouterr().out
    )
    assert (tmp_path / "sacct-calls").read_text().count("called") == 1
    # Once SLURM says the array failed, the runs are submitted again.
    monkeypatch.setenv("PATH", _fake_slurm(tmp_path, "FAILED")["PATH"])
    assert main(argv) == 0
    assert f"{runs} run(s) submitted" in capsys.readouterr().out


def test_a_job_that_sacct_cannot_be_asked_about_is_trusted_to_run(tmp_path, monkeypatch):
    """No sacct (or a failing one): the queue record is kept rather than the run
    submitted twice; a job SLURM reports as failed is not alive."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert JobLiveness()({"executor": "slurm", "job_id": "4242_3"}) is True
    monkeypatch.setenv("PATH", _fake_slurm(tmp_path, "FAILED")["PATH"])
    assert JobLiveness()({"executor": "slurm", "job_id": "4242_3"}) is False


def test_a_local_job_whose_process_exited_unreaped_is_not_alive():
    """A submitit-local job is alive while its process runs; one that exited but was never
    reaped (a zombie, as where PID 1 reaps no orphans) is gone, as for a lease holder."""
    import socket

    here = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.time() < deadline
        time.sleep(0.05)
    try:
        alive = JobLiveness()
        assert (
            alive({"executor": "submitit-local", "job_id": str(child.pid), "host": here}) is False
        )
        assert alive({"executor": "submitit-local", "job_id": str(os.getpid()), "host": here})
    finally:
        child.wait()


def test_bad_cluster_options_are_named(tmp_path, monkeypatch, capsys):
    store = ["--store", str(tmp_path / "store"), "--log-dir", str(tmp_path / "logs")]
    assert main(["sweep", "fig4", "--executor", "slurm", "--sbatch", "account", *store]) == 2
    assert "sbatch option 'account'; allowed: KEY=VALUE" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no SLURM here
    assert main(["sweep", "fig4", "--executor", "slurm", *store]) == 2
    assert "sbatch and srun not found on PATH; allowed here" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"runs_per_task=0; allowed: an integer >= 1"):
        ClusterOptions(runs_per_task=0)


@pytest.mark.slow
def test_a_preempted_task_is_requeued_and_resumes_from_its_checkpoint(tmp_path, tiny_cifar):
    config = [c for c in figure_grid("fig1", "smoke", 1) if c.pruning is not None][0]
    config = config.replace(epochs=40)
    task = SweepTask(
        [config.to_dict()],
        str(tmp_path / "store"),
        str(tiny_cifar),
        "smoke",
        checkpoint_interval_s=0.0,
    )
    store = RunStore(tmp_path / "store")
    code = (
        f"import pickle, sys\ntask = pickle.loads({__import__('pickle').dumps(task)!r})\ntask()\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.time() + 300
    while not store.checkpoint_path(config).exists():  # wait for the first checkpoint
        assert worker.poll() is None and time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(worker.pid, signal.SIGKILL)  # preempted without warning: every process
    worker.wait()
    assert not store.is_complete(config)
    requeued = task.checkpoint()  # what submitit calls on preemption or timeout
    assert requeued.function is task
    outcomes = requeued.function()
    assert outcomes == {config_hash(config): "computed"}
    assert store.load(config)["resumed_from_epoch"] is not None


REACHES = ["the task's process", "every process of the task"]


def _two_run_task(tmp_path: Path, tiny_cifar: Path) -> tuple[list, RunStore, SweepTask]:
    """``--runs-per-task 2``: two 20-epoch smoke runs on 100 images, checkpointed only on
    preemption."""
    unpruned = [c for c in figure_grid("fig1", "smoke", 2) if c.pruning is None]
    configs = [
        c.replace(epochs=20, data=SHORT_DATA) for c in unpruned if c.model == unpruned[0].model
    ]
    assert [c.seed for c in configs] == [0, 1]
    task = SweepTask(
        [c.to_dict() for c in configs],
        str(tmp_path / "store"),
        str(tiny_cifar),
        "smoke",
        runs_at_once=2,
        checkpoint_interval_s=3600.0,  # no periodic checkpoint: only the preemption's
    )
    return configs, RunStore(tmp_path / "store"), task


def _holders_past_epoch_2(store: RunStore, configs: list, running) -> list:
    """Wait until both runs have finished epoch 2; their lease holders."""
    from prunestab.store.lease import read as read_lease

    deadline = time.time() + 300
    leases = [store.run_dir(c) / ".lease" for c in configs]
    while True:
        holders = [read_lease(p) for p in leases]
        if all(h is not None and (h.epoch or 0) >= 2 for h in holders):
            return holders
        assert running() and time.time() < deadline, "runs did not start"
        time.sleep(0.05)


def _checkpointed_released_then_resumed(store: RunStore, configs: list, task: SweepTask):
    """Each run checkpointed mid-way, released its lease and recorded no failure; the
    requeued task resumes both from exactly those checkpoints."""
    epochs = {}
    for config in configs:
        state = store.load_checkpoint(config)
        assert state is not None and 2 <= state["epoch"] < 20
        epochs[config_hash(config)] = state["epoch"]
        assert store.lease_holder(config) is None  # released, not left for the TTL
        assert store.failures(config) == [] and not store.is_complete(config)
    requeued = task.checkpoint()  # what submitit calls: the same task, requeued
    assert requeued.function is task
    assert requeued.function() == {config_hash(c): "computed" for c in configs}
    for config in configs:
        result = store.load(config)
        assert result["resumed_from_epoch"] == epochs[config_hash(config)]
        assert result["environment"]["cpu_threads"] == 1  # execution.CPU_THREADS


@pytest.mark.parametrize("reaches", REACHES)
def test_a_task_stopped_as_submitit_stops_it_checkpoints_releases_and_resumes(
    tmp_path, tiny_cifar, reaches
):
    """The task runs here (in a thread), and this process does what submitit's SIGUSR2
    handler does, ``task.checkpoint()``; when the signal reaches every process of the
    task, the workers and the fork server they came from receive it too. Each run checkpoints the epoch it is in, releases
    its lease, is not a failure, and the requeued task resumes it from there. The same
    with a real signal to a real supervising process: the slow test below."""
    configs, store, task = _two_run_task(tmp_path, tiny_cifar)
    errors = []

    def run_task() -> None:
        try:
            task()
        except RuntimeError as err:
            errors.append(str(err))

    supervisor = threading.Thread(target=run_task)
    supervisor.start()
    holders = _holders_past_epoch_2(store, configs, supervisor.is_alive)
    workers = [holder.pid for holder in holders]
    if reaches == "every process of the task":  # the workers and the fork server
        server = _parent(workers[0])
        assert os.getpid() not in (*workers, server) and _parent(workers[1]) == server
        for pid in (*workers, server):
            os.kill(pid, signal.SIGUSR2)
    task.checkpoint()
    supervisor.join(120)
    assert not supervisor.is_alive()
    assert len(errors) == 1 and "runs preempted (each resumes from its checkpoint)" in errors[0]
    _gone(workers)  # the pool ended them: none is left running
    _checkpointed_released_then_resumed(store, configs, task)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _gone(pids: list[int]) -> None:
    deadline = time.time() + 30
    for pid in pids:
        while not process_exited(pid):
            assert time.time() < deadline, f"worker {pid} still running"
            time.sleep(0.05)


SUPERVISOR = """
import pickle, signal, sys, time
task = pickle.loads({task!r})

def submitit_handler(signum, frame):  # what submitit does on SIGUSR2: checkpoint, requeue, exit
    started = time.monotonic()
    task.checkpoint()
    print(f"requeued after {{time.monotonic() - started:.1f}} s", flush=True)
    sys.exit(-1)

signal.signal(signal.SIGUSR2, submitit_handler)
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # submitit only logs SIGTERM
task()
"""


@pytest.mark.slow
@pytest.mark.parametrize("reaches", REACHES)
def test_a_preempted_task_checkpoints_and_releases_every_run_within_the_warning(
    tmp_path, tiny_cifar, reaches
):
    """A real supervising process and a real SIGUSR2, to the task's main process only
    (submitit's handler), or to every process (``scancel --signal``, SLURM's preemption):
    the task exits well within SLURM's 90 s warning, with each run checkpointed and
    released, and the requeued task resumes both runs from exactly those checkpoints."""
    import pickle

    configs, store, task = _two_run_task(tmp_path, tiny_cifar)
    code = SUPERVISOR.format(task=pickle.dumps(task))
    supervisor = subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    _holders_past_epoch_2(store, configs, lambda: supervisor.poll() is None)
    sent = time.monotonic()
    if reaches == "the task's process":
        supervisor.send_signal(signal.SIGUSR2)
    else:
        os.killpg(supervisor.pid, signal.SIGUSR2)
    supervisor.wait(timeout=120)
    assert time.monotonic() - sent < 30
    _checkpointed_released_then_resumed(store, configs, task)


def test_a_failing_run_is_recorded_and_not_retried_forever(tmp_path, capsys):
    config = figure_grid("fig5", "smoke", 1)[0]
    task = SweepTask(
        [config.to_dict()], str(tmp_path / "store"), str(tmp_path / "no-data"), "smoke"
    )
    for _ in range(2):
        with pytest.raises(RuntimeError, match="runs failed: .*DataNotFoundError"):
            task()
    store = RunStore(tmp_path / "store")
    assert len(store.failures(config)) == 2
    assert task._one(config.to_dict())[1] == "failed: not retried after 2 failures"
    (state,) = [
        s
        for s in grid_status(figure_grid("fig5", "smoke", 1), store)
        if s.hash == config_hash(config)[:16]
    ]
    assert state.state == "failed" and "DataNotFoundError" in state.last_error
    options = ClusterOptions(executor="submitit-local", log_dir=str(tmp_path / "logs"))
    left_out = submit([config], store, options, None, "smoke")
    assert left_out.submitted == 0 and config_hash(config)[:16] in left_out.failed[0]
    assert "2 failures" in left_out.report()


@pytest.mark.slow
def test_two_sweeps_racing_on_one_store_compute_each_run_once(tmp_path, tiny_cifar):
    store_dir = tmp_path / "store"
    command = [
        sys.executable,
        "-m",
        "prunestab.cli",
        "sweep",
        "fig5",
        "--profile",
        "smoke",
        "--seeds",
        "1",
        "--store",
        str(store_dir),
        "--data",
        str(tiny_cifar),
        "--no-progress",
    ]
    racers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=900) for p in racers]
    assert [p.returncode for p in racers] == [0, 0], outputs
    ran = [re.findall(r"\] ran (.+?):", out) for out, _ in outputs]
    distinct = {config_hash(c) for c in figure_grid("fig5", "smoke", 1)}
    assert len(ran[0]) + len(ran[1]) == len(distinct)  # each run trained by one of them
    assert not set(ran[0]) & set(ran[1])
    results = list(store_dir.glob("*/result.json"))
    assert len(results) == len(distinct)
    assert not list(store_dir.glob("*/.*.tmp")) and not list(store_dir.glob("*/.lease"))
    for path in results:
        json.loads(path.read_text())  # whole, never partial


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


class _RecordingExecutor:
    """Stands in for submitit's executor: records what would be submitted."""

    def __init__(self, submitted: list) -> None:
        self.submitted = submitted

    def batch(self):
        import contextlib

        return contextlib.nullcontext()

    def submit(self, task):
        self.submitted.append(task)
        return type("Job", (), {"job_id": str(len(self.submitted))})()


@pytest.mark.parametrize("left", ["0", "12k"])
def test_a_full_or_nearly_full_store_submits_nothing(tmp_path, capsys, monkeypatch, left):
    """Issue 35, item 7: on a nearly full disk a sweep submitted all its jobs, then failed
    writing their queue marks and said to free space and rerun, which would submit them
    again. The store here is a 1 MiB tmpfs filled to ``left`` bytes free: one line,
    exit code 2, and nothing submitted."""
    from prunestab.sweep import cluster

    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1m"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        (disk / "store").mkdir()
        free = shutil.disk_usage(disk).free - int(left.rstrip("k") or 0) * 1024
        with open(disk / "filler", "wb") as filler:
            filler.write(b"\0" * free)
        submitted: list = []
        monkeypatch.setattr(cluster, "_executor", lambda *a: _RecordingExecutor(submitted))
        command = [
            "sweep",
            "fig1",
            "--profile",
            "smoke",
            "--executor",
            "submitit-local",
            "--store",
            str(disk / "store"),
            "--log-dir",
            str(tmp_path / "logs"),
        ]
        code = main(command)
        err = capsys.readouterr().err.strip()
        assert submitted == []
        assert code == 2 and len(err.splitlines()) == 1 and "nothing was submitted" in err, err
    finally:
        subprocess.run(["umount", str(disk)])
