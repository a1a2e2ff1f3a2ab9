"""Worker processes that are safe to start and share this process's cores and GPUs.

A sweep (``runner.execute_many`` with ``jobs``) and a cluster task
(``cluster.SweepTask``) train runs side by side in worker processes. Each worker is
forked from a fork server, never from its caller (:func:`worker_context`), starts with
its caller's environment, gets ``cores // workers`` CPU threads (:func:`worker_threads`)
and, with several GPUs, one GPU of its own (:func:`gpu_for_slot`).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import signal
import sys
from collections.abc import Sequence

import torch

from prunestab.training import preempt

#: What a worker process needs imported; the fork server imports it once (:func:`worker_context`).
#: ``torchvision.datasets`` holds the official checksums ``data.verify_checksums`` reads (its
#: import, about 1 s of CPU, is deferred there so that commands which load no data skip it).
#: ``prunestab.sweep.forkserver_guard`` comes first and only here: it ends the fork server
#: when its parent is gone.
WORKER_PRELOAD = (
    "prunestab.sweep.forkserver_guard",
    "prunestab.sweep.runner",
    "prunestab.sweep.cluster",
    "torchvision.datasets",
)


def worker_context() -> multiprocessing.context.BaseContext:
    """How prunestab starts worker processes: forked from a fork server on Linux, else spawned.

    A worker must not be a fork of its caller: a forked copy of an OpenMP or CUDA runtime
    the caller has started can hang. A spawned worker is safe but starts a fresh
    interpreter that imports torch and prunestab again, about 2 s of CPU per worker. A
    fork server is one fresh process that imports them once (``WORKER_PRELOAD``) and
    never trains, so forking it is safe; each worker is then a fork of it, in
    milliseconds (Python 3.14 made it Linux's default start method for the same
    reason). Its workers inherit the server's environment, not the caller's current one:
    worker initializers call :func:`prepare_worker` first. The server starts with the
    preemption signals (``preempt.SIGNALS``) blocked: a cluster that signals every
    process of a task must not end it, since the pool learns of its workers' exits
    through it (without it the pool breaks, and its workers are left running). Nothing
    started here outlives the caller: the server ends when its parent is gone
    (``prunestab.sweep.forkserver_guard``), and each worker with the server
    (:func:`prepare_worker`).

    Returns:
        A ``multiprocessing`` context: ``"forkserver"`` with ``WORKER_PRELOAD`` on Linux;
        ``"spawn"`` elsewhere (macOS system libraries are not fork-safe; Windows has no
        fork).
    """
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    # The resource tracker first: starting it unblocks SIGTERM (it blocks and then
    # unblocks SIGINT and SIGTERM around its own start), which would leave the server
    # blocking SIGUSR2 alone, and SLURM's SIGTERM to every process would end it.
    multiprocessing.resource_tracker.ensure_running()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, preempt.SIGNALS)
    try:
        multiprocessing.forkserver.ensure_running()  # once per process; inherits the mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return context


def worker_threads(workers: int) -> int:
    """CPU threads for each of ``workers`` processes that share this process's cores.

    The cores are those this process may run on (its affinity: a SLURM allocation or a
    container's cpuset, not the whole node), shared equally. Torch's default, a thread
    per core in every process, would oversubscribe them ``workers`` times, and OpenMP
    threads that spin while they wait then slow every worker down.

    Args:
        workers: processes training at once, >= 1.

    Returns:
        ``cores // workers``, at least 1.
    """
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, (len(cores) if cores else os.cpu_count() or 1) // workers)


def worker_setup(context, workers: int, cuda: bool) -> tuple:
    """What each of ``workers`` pool processes needs to start (:func:`prepare_worker`'s
    arguments): this process's environment now, a share of its cores, and, for CUDA runs
    on several GPUs, a counter that deals them one GPU each.

    Args:
        context: the pool's ``multiprocessing`` context (:func:`worker_context`).
        workers: processes in the pool, >= 1.
        cuda: whether the runs train on CUDA.

    Returns:
        ``(environ, threads, slots, gpus)``; ``gpus`` is empty unless there are several
        (:func:`visible_gpus`).
    """
    gpus = visible_gpus() if cuda else []
    return (
        dict(os.environ),
        worker_threads(workers),
        context.Value("i", 0),
        gpus if len(gpus) > 1 else [],
    )


def prepare_worker(environ: dict[str, str], threads: int, slots, gpus: Sequence[str]) -> None:
    """A worker process's first step (a pool's initializer, with :func:`worker_setup`'s
    arguments): ended with its parent (the fork server, which ends with the caller), the
    preemption signals unblocked, its caller's environment, its share of threads, and,
    with several GPUs, one GPU of its own.

    Args:
        environ: the caller's ``dict(os.environ)`` when the pool started; this process's
            environment becomes exactly that (``$PRUNESTAB_DATA``,
            ``$CUDA_VISIBLE_DEVICES`` ... as the caller has them, not as they were when
            the fork server started; libraries the server loaded read theirs then, e.g.
            OpenMP's ``OMP_*``).
        threads: torch's CPU threads here (:func:`worker_threads`).
        slots: a shared counter of the workers started so far.
        gpus: the GPUs dealt round-robin (:func:`gpu_for_slot`; ``CUDA_VISIBLE_DEVICES``
            is set before CUDA starts here); empty: no pinning.
    """
    _die_with_parent()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, preempt.SIGNALS)  # blocked in the fork server
    os.environ.clear()
    os.environ.update(environ)
    torch.set_num_threads(threads)
    if gpus:
        with slots.get_lock():
            slot = slots.value
            slots.value += 1
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_for_slot(slot, gpus)


#: ``prctl`` option: the signal this process gets when its parent ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Have the kernel kill this process when its parent (the fork server, which forks
    from its only thread) ends; if the parent already ended, exit now. Outside Linux,
    nothing (workers there are spawned children of the caller)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def visible_gpus() -> list[str]:
    """The GPUs this process may use: ``$CUDA_VISIBLE_DEVICES`` if set, else all.

    Returns:
        Their ids as ``CUDA_VISIBLE_DEVICES`` lists them (indices, or UUIDs).
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_for_slot(slot: int, gpus: Sequence[str]) -> str:
    """Worker ``slot``'s GPU: workers are dealt round-robin over ``gpus``.

    Args:
        slot: the worker's 0-based start order.
        gpus: the GPUs to deal (:func:`visible_gpus`).

    Returns:
        One of ``gpus``.

    >>> [gpu_for_slot(slot, ["0", "1"]) for slot in range(3)]
    ['0', '1', '0']
    """
    return gpus[slot % len(gpus)]
