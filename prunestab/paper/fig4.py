"""Figure 4 (Section 4.3, A.3.4): the iterative pruning rate against instability and
accuracy, VGG11, five methods.

Decision where the paper is silent: r = 100 is added to A.3.4's r = 4, 20, 40, 60: the
text's "30%" rate needs it. Random targets ignore the score: prune_R is run once per
rate (as l2, whose scores it never reads) and counted once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from prunestab.config import PruningConfig, RunConfig
from prunestab.paper.claim import BEST_AFTER, ClaimSpec, Parts, PartsOf, grouped, values
from prunestab.paper.common import VGG11_SCHEDULE, Chapter, Figure, Label, base_config, pruned
from prunestab.paper.profiles import Profile, get_profile
from prunestab.runs import Run, nan_if_none, unique_runs
from prunestab.verdicts import ordering

RETRAIN_PERIODS = (4, 20, 40, 60, 100)
#: Figure 4's methods as (score, target); random targets ignore the score (run as l2).
METHODS = (
    ("l2", "smallest"),
    ("l2", "largest"),
    ("ebn", "smallest"),
    ("ebn", "largest"),
    ("l2", "random"),
)


def method(pruning: PruningConfig) -> str:
    """Figure 4's name of a pruning method: ``l2 prune_S``, ``E[BN] prune_L``; random
    targets ignore the score, so they are one method, ``prune_R``."""
    return "prune_R" if pruning.target == "random" else pruning.label


def _run(base: RunConfig, profile: Profile, period: int, score: str, target: str) -> RunConfig:
    """One Figure 4 run: a method at a retrain period, labelled with both."""
    config = pruned(base, profile, VGG11_SCHEDULE, period, score, target)
    return config.replace(label=Label.rate(method(config.pruning), period))


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 4's runs of one seed: unpruned, then each method at every retrain period."""
    base = base_config(profile, "vgg11", seed, device)
    return [base.replace(label=Label.UNPRUNED)] + [
        _run(base, profile, period, score, target)
        for score, target in METHODS
        for period in RETRAIN_PERIODS
    ]


def rate_configs(
    profile: str | Profile, retrain_period: int, seeds: int | None = None, device: str = "cpu"
) -> list[RunConfig]:
    """Figure 4's five methods at any retrain period (the explorer computes a rate the
    grid lacks with these).

    Args:
        profile: the scale (a name or a :class:`Profile`).
        retrain_period: the paper's r, in epochs.
        seeds: seeds ``0 .. seeds-1`` (default: the profile's).
        device: where they train.

    Returns:
        The configs, seed by seed, methods in ``METHODS`` order.

    Raises:
        ValueError: ``seeds`` is not a positive integer (the message names it).

    >>> [c.label for c in rate_configs("smoke", 40, seeds=1)][:2]
    ['l2 prune_S r=40', 'l2 prune_L r=40']
    """
    prof = get_profile(profile)
    seeds = prof.seeds if seeds is None else seeds
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds={seeds!r}; allowed: an integer >= 1")
    return [
        _run(base_config(prof, "vgg11", seed, device), prof, retrain_period, score, target)
        for seed in range(seeds)
        for score, target in METHODS
    ]


def rate_percent(run: Run) -> float:
    """A run's largest iterative pruning rate, in percent (two decimals)."""
    return round(100 * run.config.pruning.schedule.max_iterative_rate(), 2)


def by_method(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Figure 4's pruned runs by method (``l2 prune_S``, ``prune_R``, ...), rates pooled."""
    found: dict[str, list[Run]] = {}
    for run in unique_runs(runs):
        if run.config.pruning is not None:
            found.setdefault(method(run.config.pruning), []).append(run)
    return found


def rate_series(runs: Iterable[Run], key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per method (:func:`method`), each run's largest iterative rate (%) and a summary
    value (``key``); random targets are one method whatever the score."""
    series: dict[str, tuple[list, list]] = {}
    for run in unique_runs(runs):
        pruning = run.config.pruning
        if pruning is None:
            continue
        rates, found = series.setdefault(method(pruning), ([], []))
        rates.append(100 * pruning.schedule.max_iterative_rate())
        found.append(nan_if_none(run.summary.get(key)))
    return {k: (np.array(r), np.array(v)) for k, (r, v) in sorted(series.items())}


def _rate_raises_instability(runs: Sequence[Run], profile: str) -> Parts:
    return [
        (name, grouped(rates, values(members, "mean_instability"), rates))
        for name, members in sorted(by_method(runs).items())
        for rates in ([rate_percent(m) for m in members],)
    ]


def _instability_order(lower: str, higher: str) -> PartsOf:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        found = by_method(runs)
        if lower not in found or higher not in found:
            return []
        return [
            (
                f"{higher} - {lower}",
                ordering(
                    values(found[higher], "mean_instability"),
                    values(found[lower], "mean_instability"),
                ),
            )
        ]

    return parts


def _ebn_ordering(runs: Sequence[Run], profile: str) -> Parts:
    return _instability_order("E[BN] prune_S", "prune_R")(runs, profile) + _instability_order(
        "prune_R", "E[BN] prune_L"
    )(runs, profile)


def _largest_rate_best(runs: Sequence[Run], profile: str) -> Parts:
    """Per method (prune_S, prune_R): the largest rate against every other rate."""
    parts = []
    for name, members in sorted(by_method(runs).items()):
        if members[0].config.pruning.target == "largest":
            continue
        by_rate: dict[float, list[Run]] = {}
        for run in members:
            by_rate.setdefault(rate_percent(run), []).append(run)
        top = max(by_rate)
        for rate in sorted(r for r in by_rate if r != top):
            top_values, other = values(by_rate[top], BEST_AFTER), values(by_rate[rate], BEST_AFTER)
            parts.append((f"{name} {top:.0f}% vs {rate:g}%", ordering(top_values, other)))
    return parts


CLAIMS = (
    ClaimSpec(
        "fig4",
        "VGG11: a larger iterative pruning rate gives more instability (r(rate, instability) > 0 for every method)",
        "instability rises with the rate for every method (Figure 4 left)",
        _rate_raises_instability,
        slope_unit="points of instability per percentage point of rate",
    ),
    ClaimSpec(
        "fig4",
        "E[BN] orders instabilities as expected: prune_S < prune_R < prune_L (rates pooled)",
        "expected ordering (Figure 4 left)",
        _ebn_ordering,
        gain="excess instability",
    ),
    ClaimSpec(
        "fig4",
        "l2 does not: its prune_S is more unstable than prune_R (rates pooled)",
        "l2 prune_S more unstable than prune_R, almost as unstable as prune_L",
        _instability_order("prune_R", "l2 prune_S"),
        gain="excess instability",
    ),
    ClaimSpec(
        "fig4",
        "prune_S and prune_R reach their best accuracy at the largest rate (30%), above every other rate",
        '"pruning random or small magnitude parameters performs best at the largest iterative rate (30%)"',
        _largest_rate_best,
    ),
)

FIGURE = Figure("fig4", grid, CLAIMS)
CHAPTER = Chapter(
    "notebooks/fig4_rates.ipynb",
    "Figure 4",
    "Sec. 4.3",
    "higher iterative pruning rates give more instability",
    computes=("fig4",),
    decides="fig4",
)
