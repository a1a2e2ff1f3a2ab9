"""The rate study (``book/budget.md``, "The rate study", pre-registered 2026-12-06): a
powered test of the paper's central claim at the largest CPU budget.

Figure 1's correlation over 4 configuration means could not have seen the paper's
effect: at r = .84 between configuration means the rule says "reproduced" about 31% of
the time. This study puts Figure 4's E[BN] rate grid at ``steps10400`` and width 0.5
(prune_S, prune_L and prune_R at retrain periods 4, 20, 40 and 60) beside the stored
l2 prune_S 1%: 13 configurations, 9 of them new (3 seeds each, 27 runs), and decides over
the configuration means:

* **the central claim**: more mean instability, higher accuracy (the best accuracy from
  the last pruning event on, the paper's measure), by ``grouped.grouped_correlation``;
* **its dose-response slope**: accuracy points per point of instability, with its 95%
  interval (the same test, ``grouped.dose_response``);
* **Figure 4's claims at this scale**: instability rises with the rate for each of the
  three methods, and prune_S and prune_R reach their best accuracy at their largest rate
  (``fig4``'s own rules, on the 12 rate-grid configurations).

Every configuration uses all its stored seeds: 5 for the four the width test stored, 3
for the nine new ones. Nothing is decided until all 27 new runs are stored. The study's
power against the paper's effect is stated before the runs from a planning design
(:func:`planning_design`) and, beside the verdict, from the runs' own instability means
and spreads (:func:`power_table`); neither looks at how accuracy relates to instability.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prunestab.config import RunConfig, config_hash
from prunestab.grouped import (
    dose_response,
    grouped_power,
    sampling_variances,
    slope_for_correlation,
)
from prunestab.paper import budget, fig4, study, width
from prunestab.paper.claim import BEST_AFTER, LAST_EPOCH, Claim, grouped, part, values
from prunestab.paper.common import Label
from prunestab.paper.profiles import default_store, get_profile
from prunestab.runs import Run, by_label
from prunestab.store import RunStore
from prunestab.verdicts import CONTRADICTED, INCONCLUSIVE, REPRODUCED, Evidence

PROFILE = "steps10400"
WIDTH = 0.5
SEEDS = 3
RETRAIN_PERIODS = (4, 20, 40, 60)
#: Figure 4's E[BN] methods and random pruning, as (score, target); random targets ignore
#: the score (run as l2, as Figure 4 runs them).
METHODS = (("ebn", "smallest"), ("ebn", "largest"), ("l2", "random"))
#: The paper's Figure 1 (left) correlation between VGG11 configurations' mean instability
#: and test accuracy (Section 4.1): the effect the study is powered against.
PAPER_R = budget.PAPER_R_VGG11
#: ``PAPER_R`` as the pages write it (".84").
PAPER_R_TEXT = f"{PAPER_R:.2f}".replace("0.", ".", 1)
#: The configuration-level spread of accuracy unrelated to instability assumed for the
#: power statements (points): the issue's 0.5, and 0.25 as a milder case.
BETWEEN_SD = 0.5
BETWEEN_SD_MILD = 0.25
#: The power at and above which an inconclusive central verdict is read as "an effect as
#: large as the paper's would have been found" rather than "we could not tell".
POWERED = 0.8
#: The unit of the dose-response slope.
SLOPE_UNIT = "points of accuracy per point of instability"
#: Effects of the power table: slopes that move accuracy by 1 and 2 points across the
#: design's range of instability, and the paper's r.
SLOPE_POINTS = (1.0, 2.0)


def rate_grid(seeds: int = SEEDS, device: str = "cpu") -> list[RunConfig]:
    """The 12 rate-grid configurations' runs at ``PROFILE``, width 0.5, seeds ``0 ..
    seeds - 1`` (36 runs; E[BN] prune_S at r = 4 and 40 and prune_L at r = 40 are the
    width test's prune_S 1%, prune_S 13% and prune_L 13%).

    >>> grid = rate_grid()
    >>> len(grid), {c.width for c in grid}, len({c.label for c in grid})
    (36, {0.5}, 12)
    """
    profile = get_profile(PROFILE)
    wanted = set(METHODS)
    return [
        config.replace(width=WIDTH)
        for period in RETRAIN_PERIODS
        for config in fig4.rate_configs(profile, period, seeds, device)
        if (config.pruning.score, config.pruning.target) in wanted
    ]


def study_configs(device: str = "cpu") -> list[RunConfig]:
    """Every run the study reads: :func:`rate_grid`, the width test's seeds 3 and 4 of the
    three configurations it shares, and the width test's l2 prune_S 1% (seeds 0 to 4):
    13 configurations, 47 runs. Labels are the rate grid's (``E[BN] prune_S r=4``); the
    l2 configuration keeps ``l2 prune_S 1%``."""
    grid = rate_grid(SEEDS, device)
    in_grid = {config_hash(c) for c in grid}
    five = {config_hash(c): c for c in rate_grid(5, device)}
    extra = []
    for config in width.grid(device=device):
        key = config_hash(config)
        if config.label == Label.L2_PRUNE_S_1:
            extra.append(config)
        elif key in five and key not in in_grid:
            extra.append(five[key])
    return grid + extra


def new_runs(device: str = "cpu") -> list[RunConfig]:
    """The runs the study trains: :func:`rate_grid`'s that the width test did not store
    (27), in the order they are queued (seed by seed, so that an interrupted grid has
    whole seeds).

    >>> len(new_runs())
    27
    """
    stored = {config_hash(c) for c in width.grid(device=device)}
    grid = [c for c in rate_grid(SEEDS, device) if config_hash(c) not in stored]
    return sorted(grid, key=lambda c: c.seed)


def stored_runs(store: str | os.PathLike | RunStore | None = None) -> list[Run]:
    """The study's runs that are stored (none trained), refused like any budget run the
    protocol does not cover (``study.check_comparable``)."""
    return study.stored(study_configs(), PROFILE, store)


def _configuration(run: Run) -> str:
    return run.config.label


def _rate_grid_only(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r.config.label != Label.L2_PRUNE_S_1]


# --- power, stated before the runs and beside the verdict -----------------------------------


@dataclass(frozen=True)
class Design:
    """What the power of the central test depends on, without any accuracy-instability
    relation: per configuration, its mean instability, the SD of its runs' accuracy and
    its runs."""

    labels: tuple[str, ...]
    instability: np.ndarray
    run_sd: np.ndarray
    runs: np.ndarray

    def subset(self, labels: Sequence[str]) -> Design:
        """The design of the named configurations only."""
        at = [self.labels.index(x) for x in labels]
        return Design(tuple(labels), self.instability[at], self.run_sd[at], self.runs[at])


#: The power table's designs: the width test's four configurations, the eight E[BN]
#: configurations of the rate grid, and all 13.
WIDTH_TEST_FOUR = (
    "E[BN] prune_S r=4",
    Label.L2_PRUNE_S_1,
    "E[BN] prune_S r=40",
    "E[BN] prune_L r=40",
)


def subsets(design: Design) -> dict[int, tuple[str, ...]]:
    """The configurations of each row of the power table, by their number."""
    ebn = tuple(x for x in design.labels if x.startswith("E[BN]"))
    return {4: WIDTH_TEST_FOUR, len(ebn): ebn, len(design.labels): design.labels}


def planning_design(store: str | os.PathLike | RunStore | None = None) -> Design:
    """The design the protocol's power analysis assumed, before the new runs: the four
    stored configurations as the width test measured them; for the nine new ones, the
    instability of the same configuration at ``quick`` (Figure 4's stored runs) times the
    median ratio of width-0.5 ``steps10400`` to ``quick`` instability over the shared
    configurations, the pooled run SD of the four, and 3 runs."""
    quick_store = store if isinstance(store, RunStore) else default_store(store, "quick")
    wide = study.stored(study_configs(), PROFILE, store)
    shared = by_label(wide)
    quick_runs = by_label(
        [Run(c, r) for c in fig4.FIGURE.configs("quick") if (r := quick_store.load(c)) is not None]
    )
    quick_runs[Label.L2_PRUNE_S_1] = [
        Run(c, r)
        for c in budget.FIGURE.configs("quick")
        if c.label == Label.L2_PRUNE_S_1 and (r := quick_store.load(c)) is not None
    ]
    known = {label: runs for label, runs in shared.items() if len(runs) == 5}
    ratios = [
        np.mean(values(runs, "mean_instability"))
        / np.mean(values(quick_runs[label], "mean_instability"))
        for label, runs in known.items()
    ]
    pooled = math.sqrt(
        np.mean([np.var(values(runs, BEST_AFTER), ddof=1) for runs in known.values()])
    )
    labels = sorted({c.label for c in study_configs()})
    x, sd, n = [], [], []
    for label in labels:
        if label in known:
            x.append(np.mean(values(known[label], "mean_instability")))
            sd.append(np.std(values(known[label], BEST_AFTER), ddof=1))
            n.append(5)
        else:
            x.append(np.median(ratios) * np.mean(values(quick_runs[label], "mean_instability")))
            sd.append(pooled)
            n.append(SEEDS)
    return Design(tuple(labels), np.array(x), np.array(sd), np.array(n))


def observed_design(runs: Sequence[Run]) -> Design:
    """The design of the stored runs as the rule sees it: per configuration with a usable
    run (instability and best accuracy after the last event both finite), its mean
    instability, its run SD of that accuracy (a configuration of one run: the pooled run
    SD, as ``grouped.sampling_variances`` gives the rule) and its usable runs; their
    accuracy means unused."""
    usable: dict[str, list[tuple[float, float]]] = {}
    for label, group in by_label(runs).items():
        pairs = zip(values(group, "mean_instability"), values(group, BEST_AFTER), strict=True)
        kept = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
        if kept:
            usable[label] = kept
    labels = sorted(usable)
    accuracy = [np.array([y for _, y in usable[label]]) for label in labels]
    sizes = np.array([len(usable[label]) for label in labels])
    return Design(
        tuple(labels),
        np.array([np.mean([x for x, _ in usable[label]]) for label in labels]),
        np.sqrt(sampling_variances(accuracy) * sizes),
        sizes,
    )


@dataclass(frozen=True)
class PowerRow:
    """The central test's power over one design (``configurations`` of it) against the
    paper's r and against slopes moving accuracy by 1 and 2 points across its range."""

    configurations: int
    between_sd: float
    paper_r: float
    slope_1: float
    slope_2: float


def power_row(design: Design, between_sd: float = BETWEEN_SD, draws: int = 20_000) -> PowerRow:
    """The power of the central rule over ``design`` (``grouped.grouped_power``)."""
    x, sd, n = design.instability, design.run_sd, design.runs
    span = float(np.ptp(x))
    paper = slope_for_correlation(x, sd, n, PAPER_R, between_sd)
    rates = [
        grouped_power(x, sd, n, slope, between_sd, draws=draws)
        for slope in (paper, *(points / span for points in SLOPE_POINTS))
    ]
    return PowerRow(x.size, between_sd, *rates)


def power_table(design: Design, draws: int = 20_000) -> list[PowerRow]:
    """:func:`power_row` over the configurations of :func:`subsets` (the width test's 4,
    E[BN]'s 8, all 13) at both configuration spreads."""
    return [
        power_row(design.subset(labels), between, draws)
        for labels in subsets(design).values()
        for between in (BETWEEN_SD, BETWEEN_SD_MILD)
    ]


# --- the decision, fixed before the runs --------------------------------------------------


#: The pre-registered reading of the central verdict, with ``powered`` whether its power
#: against the paper's r is at least ``POWERED``. Written before any of the study's runs.
READINGS = {
    (REPRODUCED, None): (
        "the tradeoff appears at this scale: across the {k} configurations, more "
        "instability goes with higher accuracy"
    ),
    (CONTRADICTED, None): (
        "at this scale more instability goes with lower accuracy, the opposite of the "
        "paper's tradeoff"
    ),
    (INCONCLUSIVE, True): (
        "no relation could be told, although the test would have found one as strong as "
        "the paper's (r = {paper_r}) with probability {power:.0%}: an effect that large is "
        "unlikely at this scale; the data bound any benefit of instability below {high:+.2f} "
        "points of accuracy per point of instability (95%)"
    ),
    (INCONCLUSIVE, False): (
        "we could not tell: the test would have found an effect as strong as the paper's "
        "(r = {paper_r}) with probability {power:.0%} only; the slope lies between "
        "{low:+.2f} and {high:+.2f} points per point of instability (95%)"
    ),
}


#: Added 2026-12-07, before the study's last runs (20 of 27 stored, nothing decided): an
#: inconclusive reading also says where the slope the paper's r would give on the observed
#: design stands against the slope's interval. Power alone does not make an effect as
#: large as the paper's unlikely in the data at hand; the interval does (book/budget.md).
PAPER_SLOPE = {
    True: (
        "; the slope the paper's r would give on this design, {paper:+.2f} points per point "
        "of instability, lies above that interval"
    ),
    False: (
        "; the slope the paper's r would give on this design, {paper:+.2f} points per point "
        "of instability, lies inside the interval, so these runs do not rule it out"
    ),
}
#: A run whose last-epoch accuracy is below this (percent; chance is 10%) is named in the
#: report as near chance, a divergence that left finite numbers; it is not excluded.
NEAR_CHANCE = 20.0


#: What the front page's central row says for each reading (book/budget.md, the "front
#: page" column of the readings table, written before the runs).
FRONT_PAGE = {
    (REPRODUCED, None): "reproduced at 10,400 steps, width 0.5",
    (CONTRADICTED, None): "contradicted",
    (INCONCLUSIVE, True): "not found, with {power:.0%} power against the paper's effect",
    (INCONCLUSIVE, False): "we could not tell ({power:.0%} power against the paper's effect)",
}

#: What the chapter adds when instability rises with the rate (Figure 4's first claim
#: reproduced) while the central claim is inconclusive (book/budget.md, written before the
#: runs).
FOLLOWS_NOT = (
    "Instability varies with the rate as Figure 4 says, but accuracy does not detectably follow it."
)


def _reading_key(central: Evidence, power: float) -> tuple[str, bool | None]:
    """The row of :data:`READINGS` and :data:`FRONT_PAGE` a verdict falls in."""
    return central.verdict, None if central.verdict != INCONCLUSIVE else power >= POWERED


def reading(
    central: Evidence, slope: Evidence, power: float, k: int, paper: float = math.nan
) -> str:
    """The pre-registered reading of the central verdict (:data:`READINGS`), and where it
    is inconclusive, where ``paper`` (the slope the paper's r gives on the design) stands
    against the slope's interval (:data:`PAPER_SLOPE`).

    >>> e = Evidence("inconclusive", 0.3, 0.7, (13,), "", 0.1, -0.2, 0.4)
    >>> reading(e, e, 0.9, 13)[:40]
    'no relation could be told, although the '
    >>> reading(e, e, 0.9, 13, paper=1.8).endswith("+1.80 points per point of instability, lies above that interval")
    True
    """
    said = READINGS[_reading_key(central, power)].format(
        k=k,
        paper_r=PAPER_R_TEXT,
        power=power,
        low=slope.low,
        high=slope.high,
    )
    if central.verdict == INCONCLUSIVE and math.isfinite(paper):
        said += PAPER_SLOPE[paper > slope.high].format(paper=paper)
    return said


@dataclass(frozen=True)
class RateTest:
    """The study's decisions on its stored runs.

    Attributes:
        central: the central claim (``grouped_correlation`` of mean instability and the
            best accuracy after the last event over the configuration means).
        slope: the same test as a dose-response slope with its 95% interval.
        power: the central test's power against the paper's r over the observed design
            (configuration SD ``BETWEEN_SD``).
        figure4: Figure 4's claims at this scale, decided on the 12 rate-grid
            configurations.
        configurations: the configurations decided over.
        runs: the runs behind their means.
        diverged: the runs with no finite accuracy or instability (a diverged run), as
            "label seed N"; their configurations' means use the other runs
            (book/budget.md).
        paper_slope: the slope the paper's r would give on the observed design (points of
            accuracy per point of instability; :data:`PAPER_SLOPE`).
        near_chance: runs kept whose last-epoch accuracy is below :data:`NEAR_CHANCE`, as
            "label seed N" (named, not excluded).
        last_epoch: the same slope test on last-epoch accuracy: shown, never deciding (the
            best after the last event is a maximum over more evaluations at larger
            retrain periods).
    """

    central: Evidence
    slope: Evidence
    power: float
    figure4: list[Claim]
    configurations: int
    runs: int
    diverged: tuple[str, ...] = ()
    paper_slope: float = math.nan
    near_chance: tuple[str, ...] = ()
    last_epoch: Evidence | None = None
    provenance: tuple[tuple[str, list[int]], ...] = ()

    @property
    def provenance_line(self) -> str:
        """Which code trained the runs, per part of the study (``study.provenance``)."""
        said = [
            f"{name}: {runs} runs from {commits} commit{'' if commits == 1 else 's'}, {dirty} "
            f"with uncommitted changes, {unknown} not recording it, {bare} with no segment "
            "record"
            for name, (runs, commits, dirty, unknown, bare) in self.provenance
        ]
        return "Which code trained the runs: " + "; ".join(said) if said else ""

    @property
    def reading(self) -> str:
        return reading(self.central, self.slope, self.power, self.configurations, self.paper_slope)

    @property
    def front_page(self) -> str:
        """The front page's verdict words (:data:`FRONT_PAGE`)."""
        return FRONT_PAGE[_reading_key(self.central, self.power)].format(power=self.power)

    @property
    def slope_line(self) -> str:
        """The dose-response slope with its interval, in the reader's units."""
        s = self.slope
        return f"slope {s.estimate:+.2f} [{s.low:+.2f}, {s.high:+.2f}] {SLOPE_UNIT} (95%)"

    @property
    def bound(self) -> str:
        """The bound the data support, where the central verdict is inconclusive (the
        slope's upper end); else empty."""
        if self.central.verdict != INCONCLUSIVE:
            return ""
        return f"any benefit of instability is below {self.slope.high:+.2f} {SLOPE_UNIT} (95%)"

    @property
    def note(self) -> str:
        """:data:`FOLLOWS_NOT` where it applies (instability rises with the rate, the
        central claim inconclusive); else empty."""
        rises = [c for c in self.figure4 if c.claim.startswith(FIGURE4_CLAIMS[0])]
        applies = self.central.verdict == INCONCLUSIVE and any(
            c.verdict == REPRODUCED for c in rises
        )
        return FOLLOWS_NOT if applies else ""

    @property
    def claim(self) -> Claim:
        """The central verdict as a row of the claims tables and forest plots, with its
        power over the runs' own design and, where inconclusive, the bound."""
        c = self.central
        paper_r = f"r = {PAPER_R_TEXT}"
        return Claim(
            "fig1",
            f"VGG11: more mean instability, higher accuracy, over the rate study's "
            f"{self.configurations} configurations (best accuracy after the last pruning "
            "event)",
            f"{paper_r} over its 40 runs (Figure 1 left)",
            f"{c.text}; {self.slope_line}",
            c.verdict,
            PROFILE,
            f"{self.configurations} configuration means, {self.runs} runs",
            self.power,
            paper_r,
            self.bound,
            (
                part(
                    f"rate study, width {WIDTH:g}, {self.configurations} configurations",
                    c,
                    SLOPE_UNIT,
                ),
            ),
        )


#: Figure 4's claims this study decides, by their wording's start.
FIGURE4_CLAIMS = ("VGG11: a larger iterative pruning rate", "prune_S and prune_R reach")


def rate_test(runs: Sequence[Run], draws: int = 20_000) -> RateTest:
    """Decide the study on ``runs`` (all of :func:`study_configs`, stored)."""
    pruned = [r for r in runs if r.config.pruning is not None]
    x, y = values(pruned, "mean_instability"), values(pruned, BEST_AFTER)
    last = values(pruned, LAST_EPOCH)
    labels = [_configuration(r) for r in pruned]
    lost = ~(np.isfinite(x) & np.isfinite(y))
    # The rules drop NaN pairs; an infinite value is a divergence too.
    x, y = np.where(lost, np.nan, x), np.where(lost, np.nan, y)
    names = [f"{r.label} seed {r.config.seed}" for r in pruned]
    diverged = tuple(name for name, gone in zip(names, lost, strict=True) if gone)
    near_chance = tuple(
        name
        for name, acc, gone in zip(names, last, lost, strict=True)
        if not gone and acc < NEAR_CHANCE
    )
    central = grouped(x, y, labels)
    slope = dose_response(x, y, labels)
    last = np.where(np.isfinite(last), last, np.nan)
    design = observed_design([r for r, gone in zip(pruned, lost, strict=True) if not gone])
    sx, sd, n = design.instability, design.run_sd, design.runs
    paper = slope_for_correlation(sx, sd, n, PAPER_R, BETWEEN_SD)
    power = grouped_power(sx, sd, n, paper, BETWEEN_SD, draws=draws)
    grid = _rate_grid_only(pruned)
    figure4 = [
        claim
        for spec in fig4.CLAIMS
        if spec.wording.startswith(FIGURE4_CLAIMS)
        and (claim := spec.decide(grid, PROFILE)) is not None
    ]
    return RateTest(
        central,
        slope,
        power,
        figure4,
        len(design.labels),
        int(n.sum()),
        diverged,
        paper,
        near_chance,
        dose_response(x, last, labels),
        _provenance(runs),
    )


def _provenance(runs: Sequence[Run]) -> tuple[tuple[str, list[int]], ...]:
    """``study.provenance`` of the study's new runs and of those it reads from the width
    test (trained before it, at another commit)."""
    new = {config_hash(c) for c in new_runs()}
    added = [r for r in runs if config_hash(r.config) in new]
    read = [r for r in runs if config_hash(r.config) not in new]
    return (
        (f"the {len(added)} new runs", study.provenance(added)),
        (f"the {len(read)} read from the width test", study.provenance(read)),
    )


def follow_up(store: str | os.PathLike | RunStore | None = None) -> study.FollowUp:
    """Read the study's runs once and say where it stands; once all 27 new runs are
    stored, the central verdict and its pre-registered reading."""
    runs = stored_runs(store)
    new = {config_hash(c) for c in new_runs()}
    # The study reads 20 stored runs besides its 27: it decides on all 47 or not at all.
    planned = study_configs()
    missing = len(planned) - len(new) - sum(config_hash(r.config) not in new for r in runs)

    def describe(test: RateTest) -> str:
        return (
            f"the central claim is {test.central.verdict} ({test.front_page}); the rate "
            "study's report gives its reading, slope and every claim with its power"
        )

    return study.follow_up(
        f"Rate study (`{PROFILE}`, width {WIDTH:g}, pre-registered 2026-12-06)",
        runs,
        [r for r in runs if config_hash(r.config) in new],
        len(new),
        lambda: rate_test(runs),
        describe,
        f"; {missing} of the {len(planned) - len(new)} runs it reads from the width test "
        "are missing"
        if missing
        else "",
    )
