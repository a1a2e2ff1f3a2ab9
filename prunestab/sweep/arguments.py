"""Command-line options shared by ``prunestab`` (``cli``) and ``prunestab book``
(``book``): the positive-integer type and the options of a sweep beyond this machine.
Both commands import this module; neither imports the other's parser."""

from __future__ import annotations

import argparse
from pathlib import Path

from prunestab.store import RunStore
from prunestab.sweep.cluster import EXECUTORS, ClusterOptions
from prunestab.sweep.status import DEFAULT_MAX_RETRIES


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, or one line naming the bad value.

    Args:
        text: the option's value as typed.

    Returns:
        The integer.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not an integer of at least 1.

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '0'; allowed: a positive integer
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; allowed: a positive integer")
    return value


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of a sweep beyond this machine (``--executor`` ...) to ``parser``.

    Args:
        parser: the command's parser; the options form one group of it.

    >>> parser = argparse.ArgumentParser()
    >>> add_cluster_arguments(parser)
    >>> parser.parse_args(["--executor", "slurm", "--runs-per-task", "2"]).runs_per_task
    2
    """
    group = parser.add_argument_group(
        "beyond this machine (submitit)",
        "--executor slurm submits the missing runs as one SLURM job array and returns; "
        "submitit-local runs the same tasks as detached processes here",
    )
    group.add_argument(
        "--executor",
        default="local",
        choices=["local", *EXECUTORS],
        help="local (default): compute here, in this process and --jobs workers",
    )
    group.add_argument("--partition", default=None, help="SLURM partition")
    group.add_argument(
        "--time-min", type=positive_int, default=240, help="time limit per task, minutes"
    )
    group.add_argument("--gpus-per-task", type=int, default=0, help="GPUs per array task")
    group.add_argument("--cpus-per-task", type=positive_int, default=2)
    group.add_argument(
        "--array-parallelism", type=positive_int, default=64, help="tasks running at once"
    )
    group.add_argument(
        "--runs-per-task",
        type=positive_int,
        default=1,
        metavar="K",
        help="runs side by side in each task (K processes sharing its GPU)",
    )
    group.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra #SBATCH option, e.g. account=abc (repeatable)",
    )
    group.add_argument(
        "--log-dir", default=None, help="submitit's folder (default: STORE/../submitit-logs)"
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help="failed attempts after which a run is not submitted again",
    )


def cluster_options(args: argparse.Namespace, store: RunStore) -> ClusterOptions:
    """The options of :func:`add_cluster_arguments` as :class:`ClusterOptions`.

    Args:
        args: the parsed command line.
        store: the run store; the log folder defaults to ``submitit-logs/`` beside it.

    Returns:
        The options.

    Raises:
        ValueError: an option :class:`ClusterOptions` refuses (the message names it).

    >>> parser = argparse.ArgumentParser()
    >>> add_cluster_arguments(parser)
    >>> args = parser.parse_args(["--executor", "submitit-local", "--log-dir", "logs"])
    >>> cluster_options(args, RunStore("results")).log_dir
    'logs'
    """
    return ClusterOptions(
        executor=args.executor,
        log_dir=args.log_dir or str(Path(store.root).resolve().parent / "submitit-logs"),
        partition=args.partition,
        time_min=args.time_min,
        gpus_per_task=args.gpus_per_task,
        cpus_per_task=args.cpus_per_task,
        array_parallelism=args.array_parallelism,
        runs_per_task=args.runs_per_task,
        max_retries=args.max_retries,
        sbatch=tuple(args.sbatch),
    )
