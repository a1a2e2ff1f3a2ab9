"""What every pre-registered study of ``book/budget.md`` shares: the runs the protocol
covers (fp32, one copy of CIFAR-10), read from the store once; what they cost; and where a
study stands (:func:`follow_up`): nothing is decided until every planned run is stored.

A study is one module of ``prunestab.paper`` (``budget``, ``width``, ``windows``,
``rates``) that declares its grid, its planned new runs, its decision and its
pre-registered readings; each builds its status with :func:`follow_up`, so the next
study's science is one new file. How the pages show it is not: its report is a function of
``prunestab.book.tables`` and its place on the front page a field of
``prunestab.book.frontpage.FollowUps``, written per study. (Figure 5's windows study reads
its grids from ``paper.fig5``, where the figure's configurations are defined once.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from prunestab.config import RunConfig
from prunestab.paper.profiles import BUDGET_PROFILES, default_store
from prunestab.runs import Run
from prunestab.store import RunStore

#: What every run of the budget profiles is computed in (book/budget.md): fp32. A config's
#: ``precision="auto"`` is bf16 on CUDA devices, and the device is not hashed, so a GPU
#: run would be stored under the same folder as the CPU run it replaces.
PROTOCOL_PRECISION = "fp32"


def check_comparable(runs: Sequence[Run], profile: str) -> None:
    """Refuse (``ValueError``, naming the runs) a budget profile's runs that the protocol
    does not cover: computed in another precision than fp32, or from copies of CIFAR-10
    that differ (another variant or other mismatched files than the rest)."""
    if profile not in BUDGET_PROFILES:
        return
    problems = []
    for run in runs:
        precision = run.result.get("execution", {}).get("precision", PROTOCOL_PRECISION)
        if precision != PROTOCOL_PRECISION:
            problems.append(
                f"{run.config.display_label()} seed {run.config.seed} was computed in "
                f"{precision} on {run.result.get('device', '?')}"
            )
    copies = {
        (run.result["dataset"].get("variant"), tuple(run.result["dataset"].get("mismatched", [])))
        for run in runs
        if "dataset" in run.result
    }
    if len(copies) > 1:
        problems.append(
            "the runs come from different copies of CIFAR-10 ("
            + "; ".join(f"variant {v}, mismatched files {list(m)}" for v, m in sorted(copies))
            + ")"
        )
    if problems:
        raise ValueError(
            f"{profile}: " + "; ".join(problems) + ". The protocol (book/budget.md) runs "
            f"every budget in {PROTOCOL_PRECISION} on one copy of CIFAR-10; move such run "
            "folders out of the store, or the verdicts would mix them in."
        )


def stored(
    configs: Sequence[RunConfig], profile: str, store: str | os.PathLike | RunStore | None = None
) -> list[Run]:
    """The runs of ``configs`` (at ``profile``) that are complete in the store, refused by
    :func:`check_comparable` if the protocol does not cover them; nothing is trained."""
    runs_store = store if isinstance(store, RunStore) else default_store(store, profile)
    found = []
    for config in configs:
        result = runs_store.load(config)
        if result is not None:
            found.append(Run(config, result))
    check_comparable(found, profile)
    return found


def core_hours(runs: Sequence[Run]) -> float:
    """The core-hours ``runs`` took: each run's recorded ``train_seconds`` (the wall-clock
    time of its one thread from start to end, evaluation and checkpoints included; time
    lost to an interrupted session before its last checkpoint is not counted), times its
    threads. Runs that shared a machine with another count the contention too."""
    seconds = sum(
        r.result.get("train_seconds", 0.0) * r.result["environment"].get("cpu_threads", 1)
        for r in runs
    )
    return seconds / 3600


def spent(runs: Sequence[Run], planned: int) -> str:
    """How far a grid of ``planned`` runs is and what it cost, for the chapters' status
    lines: "so far" while runs are missing.

    >>> spent([], 25)
    '0 of 25 runs stored, 0.0 core-hours so far'
    """
    hours = f"{core_hours(runs):.1f} core-hours"
    if len(runs) < planned:
        return f"{len(runs)} of {planned} runs stored, {hours} so far"
    return f"all {planned} runs stored, {hours}"


R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class FollowUp(Generic[R, T]):
    """A study as the store holds it, read once: its stored ``runs`` (whatever the study
    reads them as), the ``added`` runs it trains itself, the ``test`` once every planned
    run is stored (else ``None``) and the ``status`` sentence."""

    runs: R
    added: list[Run]
    test: T | None
    status: str


def follow_up(
    head: str,
    runs: R,
    added: Sequence[Run],
    planned: int,
    decide: Callable[[], T],
    describe: Callable[[T], str],
    lacking: str = "",
) -> FollowUp[R, T]:
    """Where a study stands: ``head`` (its name, profile and date of registration), then
    how many of its ``planned`` new runs are stored and what they cost (:func:`spent`);
    once all are (and ``lacking``, what else it waits for, is empty), its ``decide()`` and
    the reading ``describe(test)``.

    >>> said = follow_up("Study X", [], [], 3, lambda: 1, str).status
    >>> said
    'Study X: 0 of 3 runs stored, 0.0 core-hours so far; nothing is decided until all are.'
    """
    added = list(added)
    if len(added) < planned or lacking:
        said = f"{head}: {spent(added, planned)}{lacking}; nothing is decided until all are."
        return FollowUp(runs, added, None, said)
    test = decide()
    return FollowUp(runs, added, test, f"{head}, {spent(added, planned)}: {describe(test)}.")


#: The columns of :func:`provenance`.
PROVENANCE_FIELDS = (
    "runs",
    "commits of the package",
    "runs with local changes",
    "runs that did not record it",
    "runs with no segment record",
)


def provenance(runs: Sequence[Run]) -> list[int]:
    """What ``runs`` record about the code that trained them, counted: runs; distinct
    commits (of their segments, else of their environment); runs trained with
    uncommitted changes in the package (``package_dirty`` true in any segment); runs whose
    segments do not say (``package_dirty`` null); runs with no segment record at all.

    >>> provenance([])
    [0, 0, 0, 0, 0]
    """
    commits, dirty, unknown, bare = set(), 0, 0, 0
    for run in runs:
        segments = run.result.get("segments") or []
        if not segments:
            bare += 1
            commits.add(run.result.get("environment", {}).get("git_commit"))
            continue
        commits.update(segment.get("git_commit") for segment in segments)
        flags = [segment.get("package_dirty") for segment in segments]
        dirty += any(flag is True for flag in flags)
        unknown += any(flag is None for flag in flags) and not any(flags)
    return [len(runs), len(commits - {None}), dirty, unknown, bare]
