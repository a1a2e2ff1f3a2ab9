"""Sweeps beyond one machine: a figure's missing runs as a job array, through submitit.

``prunestab sweep FIG --executor slurm`` submits every run of the figure that is not
stored, not being computed (a fresh lease), not queued in a job that still exists, and
not failed ``max_retries`` times, as one SLURM job array: ``runs_per_task`` runs per array
task, side by side in that many processes on the task's GPU (one VGG11 at batch 128 leaves
most of an H100 idle). ``--executor submitit-local`` does the same with submitit's local
executor (detached processes on this machine, no server). Nothing here schedules: submitit writes the
sbatch file and SLURM runs it.

A task that is preempted or reaches its time limit is requeued by submitit (its
``checkpoint`` hook returns the same task). The task's runs train in worker processes
that listen for the warning signal (``prunestab.training.preempt``): each checkpoints the epoch it
is in and releases its lease before the requeue, so every run resumes from that epoch,
and a run another task finished meanwhile is skipped. A run that fails is
recorded in its folder (``failures.json``: time, host, job, error, log path) and is not
submitted again after ``max_retries`` failures; ``prunestab status`` lists it.
"""

from __future__ import annotations

import math
import shutil
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import submitit
from submitit.slurm.slurm import SlurmInfoWatcher

from prunestab.config import RunConfig, config_hash
from prunestab.store import RunLockedError, RunStore
from prunestab.store.lease import job_id as current_job
from prunestab.store.lease import process_exited
from prunestab.sweep.runner import DataCache, execute
from prunestab.sweep.status import DEFAULT_MAX_RETRIES, run_state
from prunestab.sweep.workers import prepare_worker, worker_context, worker_setup
from prunestab.training import preempt

#: ``slurm``: a SLURM job array; ``submitit-local``: the same tasks as detached processes
#: on this machine (submitit's local executor; the cluster path without a cluster). The
#: CLI's default, ``local``, does not come here: it computes in this process and its
#: workers (``runner.execute_many``).
EXECUTORS = ("slurm", "submitit-local")
#: SLURM states of a job that will still run (``sacct``), as submitit reports them.
ALIVE_STATES = (
    "PENDING",
    "RUNNING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "CONFIGURING",
    "COMPLETING",
    "SUSPENDED",
    "RESIZING",
    "UNKNOWN",
)


@dataclass(frozen=True)
class ClusterOptions:
    """How a sweep is submitted: the executor, the log folder and each task's resources.

    ``sbatch``: extra ``#SBATCH`` options as ``KEY=VALUE`` (``account=abc``, ``qos=high``,
    ``constraint=a100``).

    Raises:
        ValueError: an unknown executor, a count below its least value, or an ``sbatch``
        line that is not ``KEY=VALUE``; the message names the field and what is allowed.

    >>> ClusterOptions(executor="submitit-local", runs_per_task=2).runs_per_task
    2
    >>> ClusterOptions(executor="pbs")
    Traceback (most recent call last):
    ...
    ValueError: executor='pbs'; allowed: slurm, submitit-local
    """

    executor: str = "slurm"
    log_dir: str = "store/submitit"
    partition: str | None = None
    time_min: int = 240
    gpus_per_task: int = 0
    cpus_per_task: int = 2
    array_parallelism: int = 64
    runs_per_task: int = 1
    max_retries: int = DEFAULT_MAX_RETRIES
    sbatch: tuple[str, ...] = ()
    job_name: str = "prunestab"

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor={self.executor!r}; allowed: {', '.join(EXECUTORS)}")
        for name in ("time_min", "cpus_per_task", "array_parallelism", "runs_per_task"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}; allowed: an integer >= 1")
        for name in ("gpus_per_task", "max_retries"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r}; allowed: an integer >= 0")
        self.extra_sbatch()  # validates the KEY=VALUE lines

    def extra_sbatch(self) -> dict[str, str]:
        """The extra ``#SBATCH`` options as submitit's ``slurm_additional_parameters``.

        Returns:
            ``{key: value}``, a leading ``--`` dropped from each key.

        Raises:
            ValueError: a line is not ``KEY=VALUE``.

        >>> ClusterOptions(sbatch=("--account=abc", "qos = high")).extra_sbatch()
        {'account': 'abc', 'qos': 'high'}
        """
        extra = {}
        for line in self.sbatch:
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ValueError(
                    f"sbatch option {line!r}; allowed: KEY=VALUE, e.g. account=abc or qos=high"
                )
            extra[key.strip().removeprefix("--")] = value.strip()
        return extra


@dataclass
class SweepTask:
    """One array task: compute ``configs`` (``runs_per_task`` at once), each resuming from
    its checkpoint; picklable, so submitit can requeue it."""

    configs: list[dict]
    store_root: str
    data: str | None
    profile: str | None
    runs_at_once: int = 1
    max_retries: int = DEFAULT_MAX_RETRIES
    lease_ttl_s: float | None = None
    checkpoint_interval_s: float = 60.0
    outcomes: dict = field(default_factory=dict)
    #: Hashes of the runs that keep their final weights and the probe measured on them
    #: (``runner.execute``'s ``keep_model``; a figure decides which, e.g. Figure A1's).
    keep_model: tuple[str, ...] = ()
    #: Seconds :meth:`checkpoint` waits for the workers to checkpoint and release their
    #: runs before the task is requeued; keep it below the warning SLURM gives
    #: (``--signal=USR2@90``: 90 s, submitit's default) less the time to requeue.
    stop_grace_s: float = 60.0

    def __call__(self) -> dict[str, str]:
        """Returns ``{hash: "computed" | "stored" | "running elsewhere" | "failed: ..."}``;
        raises after the other runs if one failed or was stopped by a preemption signal
        (the job then shows as failed; a preempted run resumes from its checkpoint).

        The runs are computed in worker processes (``runs_at_once`` at a time), never in
        this one, which only supervises: when a preemption signal reaches this process
        (submitit calls :meth:`checkpoint`), or every process of the task, the workers
        finish their current epoch, checkpoint it, release their leases and return."""
        context = worker_context()
        stop = context.Event()
        workers = min(self.runs_at_once, len(self.configs))
        cuda = any(c.get("device") == "cuda" for c in self.configs)
        with ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(stop, *worker_setup(context, workers, cuda)),
        ) as pool:
            jobs = [pool.submit(self._one, c) for c in self.configs]
            _SUPERVISED.update(stop=stop, jobs=jobs, pool=pool)
            try:
                outcomes = [j.result() for j in jobs]
            finally:
                _SUPERVISED.clear()
        self.outcomes = dict(outcomes)
        failed = {h: o for h, o in self.outcomes.items() if o.startswith("failed")}
        stopped = {h: o for h, o in self.outcomes.items() if o.startswith("preempted")}
        if failed or stopped:
            raise RuntimeError(
                "; ".join(
                    f"{what}: " + "; ".join(f"{h[:16]} {o}" for h, o in runs.items())
                    for what, runs in (
                        ("runs failed", failed),
                        ("runs preempted (each resumes from its checkpoint)", stopped),
                    )
                    if runs
                )
            )
        return self.outcomes

    def _one(self, config_dict: dict) -> tuple[str, str]:
        config = RunConfig.from_dict(config_dict)
        digest = config_hash(config)
        store = RunStore(self.store_root, self.lease_ttl_s)
        keep = digest in self.keep_model
        state = run_state(store, config, self.lease_ttl_s, self.max_retries, keep_model=keep)
        if state.state == "done":
            return digest, "stored"
        if state.state == "failed":
            return digest, f"failed: not retried after {state.failures} failures"
        try:
            execute(
                config,
                store,
                DataCache(self.data),
                profile=self.profile,
                progress=False,
                keep_model=keep,
                checkpoint_interval_s=self.checkpoint_interval_s,
            )
        except RunLockedError:
            return digest, "running elsewhere"
        except preempt.Preempted as err:  # checkpointed, lease released: not a failure
            return digest, f"preempted: {err}"
        except Exception as err:  # recorded, reported, and counted against retries
            log = _log_path()
            store.record_failure(
                config,
                {
                    "time": time.time(),
                    "host": socket.gethostname(),
                    "job": current_job(),
                    "error": f"{type(err).__name__}: {err}",
                    "traceback": traceback.format_exc(limit=20),
                    "log": log,
                },
            )
            return digest, f"failed: {type(err).__name__}: {err} (log {log})"
        return digest, "computed"

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """submitit's preemption/timeout hook (the signal reached this process): ask the
        workers to stop after their current epoch with a checkpoint, wait for them at
        most ``stop_grace_s`` (a worker still running then is terminated: its run
        resumes from its last periodic checkpoint, and the requeued task takes over its
        lease at once), then requeue this same task; finished runs are skipped there.

        Args:
            args: what submitit passes (ignored).
            kwargs: what submitit passes (ignored).

        Returns:
            The requeue of this same task.
        """
        _stop_workers(self.stop_grace_s)
        return submitit.helpers.DelayedSubmission(self)


#: The running task's workers (this process supervises at most one task at a time).
_SUPERVISED: dict = {}


def _start_worker(stop, *setup) -> None:
    """A task's worker: its signals (or ``stop``, set by the supervisor) turned into a
    stop after the current epoch, then the setup every worker gets
    (``workers.prepare_worker``: environment, share of cores, its own GPU)."""
    preempt.listen(stop)  # before prepare_worker unblocks the signals it handles
    prepare_worker(*setup)


def _stop_workers(grace_s: float) -> None:
    if not _SUPERVISED:
        return
    _SUPERVISED["stop"].set()
    _, running = wait(_SUPERVISED["jobs"], timeout=grace_s)
    if running:
        for process in list(getattr(_SUPERVISED["pool"], "_processes", {}).values()):
            process.terminate()


def _log_path() -> str | None:
    try:
        return str(submitit.JobEnvironment().paths.stdout)
    except Exception:  # not inside a submitit job
        return None


@dataclass(frozen=True)
class Submission:
    """What a sweep submitted, and what it left out and why."""

    job_ids: tuple[str, ...]
    log_dir: str
    submitted: int
    stored: int
    running: tuple[str, ...]
    queued: tuple[str, ...]
    failed: tuple[str, ...]
    jobs: tuple = ()  # submitit Job objects (job.result() waits for a task's outcomes)

    def report(self) -> str:
        """A few lines for a terminal: what was submitted, where its logs go, what not.

        Returns:
            Newline-joined lines: the runs submitted (with the job ids, when any) and those
            already stored, running, queued in earlier jobs or failed too often; the log
            files' pattern when tasks were submitted; one ``not resubmitted:`` line per
            entry of ``failed``.

        >>> print(Submission(("77_0", "77_1"), "logs", 2, 1, (), (), ()).report())
        2 run(s) submitted as 2 task(s): 77 (array of 2 tasks); 1 already stored, 0 running, 0 queued in earlier jobs, 0 failed too often.
        logs: logs/77_<task>_0_log.out (and .err)
        """
        lines = [
            f"{self.submitted} run(s) submitted"
            + (
                f" as {len(self.job_ids)} task(s): {_job_range(self.job_ids)}"
                if self.job_ids
                else ""
            )
            + f"; {self.stored} already stored, {len(self.running)} running, "
            f"{len(self.queued)} queued in earlier jobs, {len(self.failed)} failed too often."
        ]
        if self.job_ids:
            if all("_" in i for i in self.job_ids):
                array = self.job_ids[0].split("_")[0]
                pattern = f"{array}_<task>_0_log.out"
            else:
                pattern = "<job id>_0_log.out"
            lines.append(f"logs: {self.log_dir}/{pattern} (and .err)")
        lines += [f"  not resubmitted: {line}" for line in self.failed]
        return "\n".join(lines)


def _job_range(ids: Sequence[str]) -> str:
    """``123 (array of 4 tasks)`` for SLURM arrays, ``4411, 4412`` for local processes."""
    arrays = sorted({i.split("_")[0] for i in ids})
    if all("_" in i for i in ids):
        return ", ".join(
            f"{a} (array of {sum(i.startswith(a + '_') for i in ids)} tasks)" for a in arrays
        )
    return ", ".join(ids)


class JobLiveness:
    """Whether the job a run was queued in can still run it, asking SLURM once per array.

    One object answers for one look at the store (a sweep's triage, a status report):
    ``sacct`` is asked about a job array the first time one of its tasks is asked about,
    and that answer serves every task of the array. (submitit's shared watcher asks
    ``sacct`` again for each task id it has not seen: a second sweep of Figure 4's 260
    paper runs called it 260 times.)

    A submitit-local job is alive while its process is (on this host; another host's
    record is trusted); a SLURM job while ``sacct`` reports one of :data:`ALIVE_STATES`,
    ``UNKNOWN`` included (``sacct`` could not be asked, or does not know the job yet):
    the record is kept rather than the run submitted twice.

    >>> JobLiveness()({"executor": "submitit-local", "job_id": "1", "host": "elsewhere.invalid"})
    True
    """

    def __init__(self) -> None:
        self._watcher = SlurmInfoWatcher()
        self._asked: set[str] = set()

    def __call__(self, submission: dict) -> bool:
        """Whether the job of ``submission`` can still run its run.

        Args:
            submission: the run's queue record (``RunStore.mark_queued``): ``executor``,
                ``job_id``, ``host``.

        Returns:
            ``False`` only when the job is known to be gone.
        """
        job = str(submission.get("job_id", ""))
        if submission.get("executor") == "submitit-local":
            return _local_job_alive(job, submission.get("host"))
        return self.slurm_state(job).upper().split()[0] in ALIVE_STATES

    def slurm_state(self, job_id: str) -> str:
        """SLURM's state of ``job_id`` (``"123"`` or an array task ``"123_4"``).

        Args:
            job_id: the job, as submitit names it.

        Returns:
            Its state in ``sacct``'s latest answer to this object (asked when an array
            is first asked about, for every unfinished array asked about so far), or
            ``"UNKNOWN"``.
        """
        array = job_id.split("_")[0]
        if array not in self._asked:
            self._asked.add(array)
            self._watcher.register_job(job_id)
            self._watcher.update()  # one sacct call for every array registered so far
        return self._watcher.get_state(job_id, mode="cache")


def _local_job_alive(job: str, host: str | None) -> bool:
    if host != socket.gethostname():
        return True  # another machine's process: trust the record
    try:
        pid = int(job.split("_")[0])
    except ValueError:
        return False
    return not process_exited(pid)


def submit(
    configs: Sequence[RunConfig],
    store: RunStore,
    options: ClusterOptions,
    data: str | None = None,
    profile: str | None = None,
    alive: Callable[[dict], bool] | None = None,
    keep_model: Callable[[RunConfig], bool] = lambda config: False,
) -> Submission:
    """Submit the runs of ``configs`` that need computing, as one job array.

    A run is submitted unless it is stored, being computed (a fresh lease), queued in a
    job that ``alive`` says can still run it, or failed ``options.max_retries`` times
    (the module docstring); each submitted run is marked queued in its folder.

    Args:
        configs: the runs wanted (repeats are submitted once).
        store: the run store the tasks compute into.
        options: the executor and the job's resources.
        data: the CIFAR-10 folder the tasks load (``None``: their default place).
        profile: the profile name recorded in each result.
        alive: whether the job of a run's queue record can still run it (default: a
            new :class:`JobLiveness`).
        keep_model: which runs keep their final weights and their probe (a figure
            decides, e.g. Figure A1's).

    Returns:
        The :class:`Submission`: job ids, log folder, and what was left out and why.

    Raises:
        ValueError: ``--executor slurm`` where ``sbatch`` or ``srun`` is not on ``PATH``
            (the message names the executors allowed here), or the store or log folder
            has less than :data:`MIN_FREE_BYTES` free (:func:`check_room`); nothing is
            submitted then.
    """
    distinct = list({config_hash(c): c for c in configs}.values())
    triage = _triage(distinct, store, options, alive or JobLiveness(), keep_model)
    log_dir = Path(options.log_dir).resolve()
    jobs: list = []
    if triage.todo:
        check_room(store.root, log_dir, len(triage.todo))
        executor = _executor(options, log_dir)
        k = options.runs_per_task
        chunks = [triage.todo[i : i + k] for i in range(0, len(triage.todo), k)]
        tasks = [_sweep_task(chunk, store, options, data, profile, keep_model) for chunk in chunks]
        with executor.batch():
            jobs = [executor.submit(task) for task in tasks]
        _mark_queued(store, options, log_dir, jobs, chunks)
    return Submission(
        tuple(str(job.job_id) for job in jobs),
        str(log_dir),
        len(triage.todo),
        triage.stored,
        tuple(triage.running),
        tuple(triage.queued),
        tuple(triage.failed),
        tuple(jobs),
    )


#: Free space the store and the log folder need before a sweep submits: the queue marks
#: are written after the jobs are submitted (they name the jobs), so a store that cannot
#: hold them must refuse first, or a rerun would submit the same runs again (issue 35).
#: 64 MiB also leaves the tasks room for their leases, logs and first checkpoints.
MIN_FREE_BYTES = 64 * 2**20


def check_room(store_root: str | Path, log_dir: str | Path, runs: int) -> None:
    """Check that the store and the log folder have :data:`MIN_FREE_BYTES` free.

    Args:
        store_root: the run store's folder.
        log_dir: the jobs' log folder.
        runs: the runs about to be submitted (for the message).

    Raises:
        ValueError: one of them has less; names it, what is free and what to do.

    >>> import tempfile
    >>> check_room(tempfile.gettempdir(), tempfile.gettempdir(), 1)
    """
    for folder, flag in ((Path(store_root), "--store"), (Path(log_dir), "--log-dir")):
        existing = next(p for p in (folder.resolve(), *folder.resolve().parents) if p.exists())
        free = shutil.disk_usage(existing).free
        if free < MIN_FREE_BYTES:
            raise ValueError(
                f"{folder} has {free / 2**20:.1f} MiB free; a sweep needs "
                f"{MIN_FREE_BYTES / 2**20:.0f} MiB there before it submits {runs} run(s) "
                f"(their queue marks, leases, logs and checkpoints): free some space or "
                f"name another folder with {flag}; nothing was submitted"
            )


@dataclass
class _Triage:
    """The runs of a sweep by what :func:`submit` does with them."""

    todo: list[RunConfig] = field(default_factory=list)
    stored: int = 0
    running: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _triage(
    configs: Sequence[RunConfig],
    store: RunStore,
    options: ClusterOptions,
    alive: Callable[[dict], bool],
    keep_model: Callable[[RunConfig], bool],
) -> _Triage:
    """Sort ``configs`` by their state in ``store``: to submit, or why not."""
    triage = _Triage()
    for config in configs:
        state = run_state(
            store,
            config,
            store.lease_ttl_s,
            options.max_retries,
            alive=alive,
            keep_model=keep_model(config),
        )
        name = f"{state.hash} {state.label}, seed {state.seed}"
        if state.state == "done":
            triage.stored += 1
        elif state.state == "running":
            triage.running.append(f"{name} ({state.where})")
        elif state.state == "queued":
            triage.queued.append(f"{name} ({state.where})")
        elif state.state == "failed":
            triage.failed.append(
                f"{name}: {state.failures} failures, last {state.last_error}"
                + (f", log {state.log}" if state.log else "")
            )
        else:
            triage.todo.append(config)
    return triage


def _executor(options: ClusterOptions, log_dir: Path) -> submitit.AutoExecutor:
    """submitit's executor for ``options``, its job's resources set.

    Raises:
        ValueError: the SLURM tools are missing for ``executor="slurm"``.
    """
    if options.executor == "slurm":
        missing = [tool for tool in ("sbatch", "srun") if shutil.which(tool) is None]
        if missing:
            raise ValueError(
                f"--executor slurm: {' and '.join(missing)} not found on PATH; allowed "
                "here: --executor local (this machine) or submitit-local (detached "
                "processes); run the slurm one on the cluster's login node"
            )
    cluster = "local" if options.executor == "submitit-local" else options.executor
    executor = submitit.AutoExecutor(folder=str(log_dir), cluster=cluster)
    parameters = dict(
        name=options.job_name,
        timeout_min=options.time_min,
        cpus_per_task=options.cpus_per_task,
        gpus_per_node=options.gpus_per_task,
    )
    if options.executor == "slurm":
        parameters.update(
            slurm_array_parallelism=options.array_parallelism,
            slurm_additional_parameters=options.extra_sbatch(),
        )
        if options.partition:
            parameters["slurm_partition"] = options.partition
    executor.update_parameters(**parameters)
    return executor


def _sweep_task(
    chunk: list[RunConfig],
    store: RunStore,
    options: ClusterOptions,
    data: str | None,
    profile: str | None,
    keep_model: Callable[[RunConfig], bool],
) -> SweepTask:
    """The array task that computes ``chunk``, with absolute paths (tasks run elsewhere)."""
    return SweepTask(
        [c.to_dict() for c in chunk],
        str(Path(store.root).resolve()),
        None if data is None else str(Path(data).resolve()),
        profile,
        runs_at_once=options.runs_per_task,
        max_retries=options.max_retries,
        lease_ttl_s=store.lease_ttl_s,
        keep_model=tuple(config_hash(c) for c in chunk if keep_model(c)),
    )


def _mark_queued(
    store: RunStore,
    options: ClusterOptions,
    log_dir: Path,
    jobs: list,
    chunks: list[list[RunConfig]],
) -> None:
    """Record in each submitted run's folder the job that will compute it."""
    for job, chunk in zip(jobs, chunks, strict=True):
        for config in chunk:
            store.mark_queued(
                config,
                {
                    "executor": options.executor,
                    "job_id": str(job.job_id),
                    "log_dir": str(log_dir),
                    "host": socket.gethostname(),
                    "submitted": time.time(),
                },
            )


def tasks_needed(n_runs: int, runs_per_task: int) -> int:
    """The array tasks that ``n_runs`` runs need at ``runs_per_task`` runs per task.

    Args:
        n_runs: the runs to submit.
        runs_per_task: runs one array task executes, at least 1.

    Returns:
        ``ceil(n_runs / runs_per_task)``.

    >>> tasks_needed(5, 2)
    3
    """
    return math.ceil(n_runs / runs_per_task)
