"""A stored run as analyses read it: its config beside its result, and small views of many.

Knows no figure: a :class:`Run` is any :class:`~prunestab.config.RunConfig` with the
``result.json`` the runner stored for it, so an experiment of one's own can use these
views as the paper's chapters do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from prunestab.config import RunConfig, config_hash


@dataclass(frozen=True, eq=False)
class Run:
    """One configuration (with its label) and its stored result.

    Args:
        config: the run's configuration; its ``label`` names its group in tables and plots.
        result: the stored ``result.json`` (``summary``, per-epoch ``epochs``, provenance).

    >>> run = Run(RunConfig("vgg11", 3, label="a"), {"summary": {"final_test_acc": 50.0},
    ...                                   "epochs": [{"test_acc": 40.0}, {"test_acc": None}]})
    >>> run.label, run.summary["final_test_acc"], run.series("test_acc").tolist()
    ('a', 50.0, [40.0, nan])
    """

    config: RunConfig
    result: dict

    @property
    def label(self) -> str:
        """The run's display label (``RunConfig.display_label``)."""
        return self.config.display_label()

    @property
    def summary(self) -> dict:
        """The result's per-run summary values (``final_test_acc``, ``mean_instability`` ...)."""
        return self.result["summary"]

    def series(self, key: str) -> np.ndarray:
        """A per-epoch quantity.

        Args:
            key: a per-epoch record's field (``test_acc``, ``train_acc`` ...).

        Returns:
            One float per epoch, NaN where the record lacks it.
        """
        return np.array([nan_if_none(r.get(key)) for r in self.result["epochs"]], dtype=float)


def nan_if_none(value: float | None) -> float:
    """``value`` as a float, NaN for ``None`` (a quantity a run did not record).

    Args:
        value: a recorded number, or ``None``.

    Returns:
        ``float(value)``, or ``nan`` for ``None``.

    >>> nan_if_none(None), nan_if_none(3)
    (nan, 3.0)
    """
    return float("nan") if value is None else float(value)


def unique_runs(runs: Iterable[Run]) -> list[Run]:
    """Each stored run once: a grid can list one run under two labels.

    Args:
        runs: runs in grid order.

    Returns:
        The runs with distinct config hashes, each at its first place, first label kept.
    """
    return list({config_hash(r.config): r for r in runs}.values())


def by_label(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """Runs grouped by label.

    Args:
        runs: runs in grid order.

    Returns:
        ``{label: runs}``, labels in order of first appearance, runs in grid order.
    """
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.label].append(run)
    return dict(groups)


def curves(runs: Iterable[Run], key: str = "test_acc") -> np.ndarray:
    """One per-epoch quantity of several runs.

    Args:
        runs: runs of equal length.
        key: the per-epoch field.

    Returns:
        A ``[runs, epochs]`` array (NaN where absent).

    Raises:
        ValueError: the runs have different numbers of epochs (numpy's stacking error).
    """
    return np.stack([run.series(key) for run in runs])


def points(runs: Iterable[Run], x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """Two summary values per run, e.g. ``("mean_instability", "final_test_acc")``.

    Args:
        runs: the runs.
        x: the summary field of the first array.
        y: the summary field of the second.

    Returns:
        ``(xs, ys)``, one float per run each, NaN where a run lacks the value.
    """
    pairs = [(nan_if_none(run.summary.get(x)), nan_if_none(run.summary.get(y))) for run in runs]
    xs, ys = zip(*pairs, strict=True) if pairs else ((), ())
    return np.array(xs, dtype=float), np.array(ys, dtype=float)


def value_at_epoch(run: Run, key: str, epoch: int) -> float:
    """A per-epoch quantity at one epoch.

    Args:
        run: the run.
        key: the per-epoch field.
        epoch: 0-based; past the run's end it is clamped to its last epoch.

    Returns:
        The value, NaN where the record lacks it.
    """
    records = run.result["epochs"]
    return nan_if_none(records[min(epoch, len(records) - 1)].get(key))
