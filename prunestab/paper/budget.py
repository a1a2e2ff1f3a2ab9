"""The training-budget study (``book/budget.md``): its grids, criteria and points.

Figure 1's VGG11 configurations at three budgets, 650 to 10,400 optimizer steps per run
(16x), on the paper's epoch axis; the central verdicts of Figures 1 and 5 are decided
here. The studies that followed it are modules of their own (``width``, ``windows``,
``rates``), on what ``study`` holds for all of them. Reads stored runs only
(:func:`stored_runs`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prunestab.config import RunConfig, config_hash
from prunestab.grouped import Robustness, correlation_robustness, grouped_correlation
from prunestab.paper import fig1, fig5
from prunestab.paper.claim import BEST_AFTER, LAST_EPOCH, values
from prunestab.paper.common import Chapter, Figure, Label, base_config
from prunestab.paper.profiles import Profile, default_store, get_profile
from prunestab.paper.study import stored
from prunestab.runs import Run, by_label
from prunestab.store import RunStore
from prunestab.verdicts import (
    CONTRADICTED,
    REPRODUCED,
    Evidence,
    detectable_difference,
    ordering,
)

#: Where the study decides the central claims: Figure 1 (VGG11) at the largest budget;
#: Figure 5's eight configurations cost 2.3x Figure 1's, so at the middle one.
CENTRAL_PROFILES = {"fig1": "steps10400", "fig5": "steps2600"}
#: The grid each central verdict reads there: Figure 1's VGG11 configurations are the
#: study's own grid (the protocol leaves ResNet18 out), Figure 5 is its own.
CENTRAL_GRIDS = {"fig1": "budget", "fig5": "fig5"}
#: The capacity check: is the width-0.25 model capacity-limited? One unpruned VGG11 at
#: width 0.5, at the middle budget, seed 0 (:func:`width_check_config`); the protocol's
#: criteria are reported for it beside the width-0.25 runs.
WIDTH_CHECK = ("steps2600", 0.5)


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 1's VGG11 configurations of one seed (the same runs as Figure A2's)."""
    return fig1.model_runs(profile, seed, device, "vgg11")


FIGURE = Figure("budget", grid)
CHAPTER = Chapter(
    "notebooks/budget_study.ipynb",
    "The budget study",
    "ours (book/budget.md)",
    "none: the study asks at which training budget Figures 1 and 5's claims appear",
    computes=(),
    decides=None,
    on_front_page=False,
)
#: The grids :func:`stored_runs` reads, by name.
_GRIDS = {"budget": FIGURE, "fig5": fig5.FIGURE}


def width_check_config(device: str = "cpu") -> RunConfig:
    """The capacity check's run: the middle budget's unpruned seed-0 run of the study's
    grid, at width 0.5 instead of 0.25 (``WIDTH_CHECK``)."""
    profile, width = WIDTH_CHECK
    base = base_config(get_profile(profile), "vgg11", 0, device)
    return base.replace(width=width, label=Label.UNPRUNED_WIDE)


#: The paper's VGG11 correlation of mean instability with final accuracy (Section 4.1).
PAPER_R_VGG11 = fig1.PAPER_CORRELATIONS["vgg11"][0]
#: Criteria of the protocol (book/budget.md), on unpruned runs and recovery only.
FITS_BEFORE_DECAY = 99.0  # running train accuracy at epoch 150 (0-based 149), percent
OVERFITS_GAP = 10.0  # train - test accuracy at the last epoch, points
PRECISE_SE = 0.5  # standard error of one run's final test accuracy, points
DECAY_EPOCH = 149  # the last epoch before the first learning-rate decay (0-based)


def stored_runs(
    figure: str, profile: str, store: str | os.PathLike | RunStore | None = None
) -> list[Run]:
    """The runs of ``figure`` at ``profile`` that are complete in the store (no training);
    at a budget profile, :func:`check_comparable` first."""
    if figure not in _GRIDS:
        raise ValueError(f"figure={figure!r}; allowed: {', '.join(_GRIDS)}")
    return stored(_GRIDS[figure].configs(profile), profile, store)


def central_runs(
    figure: str, store: str | os.PathLike | RunStore | None = None
) -> tuple[list[Run], int]:
    """The stored runs of a central verdict's grid (``CENTRAL_GRIDS[figure]`` at
    ``CENTRAL_PROFILES[figure]``), and how many runs that grid plans."""
    grid_figure, profile = CENTRAL_GRIDS[figure], CENTRAL_PROFILES[figure]
    return stored_runs(grid_figure, profile, store), len(_GRIDS[grid_figure].configs(profile))


def width_check_run(store: str | os.PathLike | RunStore | None = None) -> Run | None:
    """The capacity check's run (:func:`width_check_config`), if it is stored."""
    config = width_check_config()
    runs_store = store if isinstance(store, RunStore) else default_store(store, WIDTH_CHECK[0])
    result = runs_store.load(config)
    return None if result is None else Run(config, result)


def steps_per_run(profile: str) -> int:
    """Optimizer steps of one of Figure 1's 325-epoch runs at ``profile``."""
    prof = get_profile(profile)
    return prof.epochs(325) * prof.steps_per_epoch()


def _final_test_images(run: Run) -> int:
    return run.result["dataset"]["n_test"]


@dataclass(frozen=True)
class Criteria:
    """The protocol's four criteria at one budget (NaN where no run is stored yet)."""

    profile: str
    unpruned_runs: int
    train_acc_before_decay: float
    gap_at_last_epoch: float
    final_test_se: float  # binomial SE of one run's accuracy on all its test images
    final_test_sd: float  # run-to-run SD of the unpruned final accuracy (NaN below 2 runs)
    events_recovered: float  # fraction of prune_L 13% events recovered within r epochs
    median_recovery_epochs: float  # over the recovered events only
    recovery_events: int

    @property
    def verdicts(self) -> dict[str, str]:
        def mark(ok: bool | None) -> str:
            return "n/a" if ok is None else ("met" if ok else "not met")

        def known(x: float) -> bool:
            return not math.isnan(x)

        return {
            "fits before the decay": mark(
                self.train_acc_before_decay >= FITS_BEFORE_DECAY
                if known(self.train_acc_before_decay)
                else None
            ),
            "over-fits": mark(
                self.gap_at_last_epoch >= OVERFITS_GAP if known(self.gap_at_last_epoch) else None
            ),
            "precise": mark(self.final_test_se < PRECISE_SE if known(self.final_test_se) else None),
        }


def criteria(runs: Sequence[Run], profile: str) -> Criteria:
    """The protocol's criteria from one budget's stored runs."""
    groups = by_label(runs)
    # Unpruned at any width (the capacity check's run is labelled apart).
    unpruned = [r for r in runs if r.config.pruning is None and r.config.noise is None]
    decay = max(0, get_profile(profile).epoch(DECAY_EPOCH + 1) - 1)  # smoke: a shorter axis
    before = [r.result["epochs"][decay]["train_acc"] for r in unpruned]
    gaps, ses = [], []
    for run in unpruned:
        last = run.result["epochs"][-1]
        accuracy = run.summary[LAST_EPOCH]
        gaps.append(last["train_acc"] - accuracy)
        p = accuracy / 100
        ses.append(100 * math.sqrt(p * (1 - p) / _final_test_images(run)))
    recovered, delays = [], []
    for run in groups.get(Label.PRUNE_L_13, []):
        for ok, delay in event_recovery(run):
            recovered.append(ok)
            if ok:
                delays.append(delay)
    return Criteria(
        profile,
        len(unpruned),
        _mean(before),
        _mean(gaps),
        _mean(ses),
        _sd([run.summary[LAST_EPOCH] for run in unpruned]),
        _mean([float(x) for x in recovered]),
        float(np.median(delays)) if delays else math.nan,
        len(recovered),
    )


def event_recovery(run: Run) -> list[tuple[bool, int]]:
    """Per pruning epoch of ``run``: whether the test accuracy (instability set) climbed
    back to its pre-event level before the pruned layer's next event, and in how many
    epochs. The accuracy of a later epoch is taken before any event of that epoch."""
    records = run.result["epochs"]
    period = run.config.pruning.schedule.retrain_period
    out = []
    for record in records:
        if not record.get("pruned"):
            continue
        epoch, pre = record["epoch"], record["pre_test_acc"]
        later = records[epoch + 1 : epoch + 1 + period]
        accuracies = [r.get("pre_test_acc", r["test_acc"]) for r in later]
        hit = next((i + 1 for i, a in enumerate(accuracies) if a >= pre), None)
        if record["test_acc"] >= pre:
            hit = 0
        out.append((hit is not None, -1 if hit is None else hit))
    return out


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else math.nan


def _sd(xs: Sequence[float | None]) -> float:
    """Sample SD of the finite values (a diverged run's accuracy is stored as null)."""
    finite = [x for x in xs if x is not None and math.isfinite(x)]
    return float(np.std(finite, ddof=1)) if len(finite) >= 2 else math.nan


@dataclass(frozen=True)
class BudgetPoint:
    """One budget's two measures of the tradeoff, each with its evidence, and what the
    protocol's design can resolve there (80% power at the rules' level)."""

    profile: str
    steps: int
    difference: Evidence  # prune_L 13% - unpruned, last-epoch test accuracy (Welch)
    #: r(mean instability, best accuracy after pruning) over the pruned configurations'
    #: seed means (``grouped.grouped_correlation``; from 2026-12-04, book/budget.md).
    correlation: Evidence
    #: The smallest true difference the Welch rule finds with 80% power at the grid's
    #: planned runs per group, given the two groups' observed spreads. NaN until both
    #: groups have all their planned runs: a spread from 2 or 3 runs is too uncertain to
    #: plan from (from 2 runs, the 95% interval for the SD spans 0.45x to 32x the estimate).
    detectable_difference: float
    #: The chance the grouped rule says "reproduced" over this budget's design (its
    #: configurations' instability means, run spreads and runs) if the configuration means
    #: correlated at the paper's r = .84 (configuration effects of SD 0.5 points); NaN
    #: until the budget is complete, or where the rule could not fit.
    correlation_power: float
    #: Runs per group the grid plans: (prune_L 13%, unpruned).
    planned: tuple[int, int] = (0, 0)
    #: Whether every run of the budget's grid is stored (else an interim point, from which
    #: the protocol decides nothing; the figure draws it hollow).
    complete: bool = False
    #: The correlation's robustness view (leave-one-run-out range, Spearman over runs),
    #: shown beside it, never deciding; ``None`` without pruned runs.
    robustness: Robustness | None = None


def budget_point(runs: Sequence[Run], profile: str) -> BudgetPoint:
    groups = by_label(runs)
    prune_l = values(groups.get(Label.PRUNE_L_13, []), LAST_EPOCH)
    unpruned = values(groups.get(Label.UNPRUNED, []), LAST_EPOCH)
    pruned = [r for r in runs if r.config.pruning is not None]
    x, y = values(pruned, "mean_instability"), values(pruned, BEST_AFTER)
    grid = FIGURE.configs(profile)
    wanted = tuple(sum(c.label == lab for c in grid) for lab in (Label.PRUNE_L_13, Label.UNPRUNED))
    groups_runs = [v[~np.isnan(v)] for v in (prune_l, unpruned)]
    spreads = [float(np.std(v, ddof=1)) if len(v) >= 2 else math.nan for v in groups_runs]
    complete = tuple(len(v) for v in groups_runs) == wanted and min(wanted) >= 2
    detectable = (
        detectable_difference(*spreads, *wanted) if complete and sum(spreads) > 0 else math.nan
    )
    labels = [r.label for r in pruned]
    correlation = grouped_correlation(x, y, labels)
    complete_grid = {config_hash(c) for c in grid} <= {config_hash(r.config) for r in runs}
    power = (
        correlation.power_at(PAPER_R_VGG11)
        if complete_grid and correlation.power_at is not None
        else math.nan
    )
    return BudgetPoint(
        profile,
        steps_per_run(profile),
        ordering(prune_l, unpruned),
        correlation,
        detectable,
        power,
        wanted,
        complete_grid,
        correlation_robustness(x, y, labels) if pruned else None,
    )


def reading(point: BudgetPoint, stored: int, planned: int) -> str:
    """What one budget's point says, in words, by the same rules as the claims (each
    direction at 2.5%): the paper's direction, against it, or could not tell. A budget
    with runs missing is marked interim; the protocol decides nothing from it."""
    d, c = point.difference, point.correlation
    complete = stored == planned
    head = f"`{point.profile}` ({point.steps:,} steps"
    head += (
        ", complete)"
        if complete
        else f"; interim, {stored} of {planned} runs; the protocol decides nothing from it)"
    )
    if math.isnan(d.low):
        difference = (
            f"no interval for prune_L 13% against unpruned ({d.text})"
            if complete
            else "too few runs yet for prune_L 13% against unpruned"
        )
    else:
        interval = f"{d.estimate:+.1f} points, 95% interval {d.low:+.1f} to {d.high:+.1f}"
        if d.verdict == REPRODUCED:
            difference = (
                f"prune_L 13% generalizes better than unpruned ({interval}), the paper's direction"
            )
        elif d.verdict == CONTRADICTED:
            difference = (
                f"prune_L 13% generalizes worse than unpruned ({interval}), "
                "against the paper's direction"
            )
        else:
            power = (
                ""
                if math.isnan(point.detectable_difference)
                else f"; with {point.planned[0]} against {point.planned[1]} runs at these "
                f"spreads, a true difference under about {point.detectable_difference:.1f} "
                "points is found less than 80% of the time"
            )
            difference = (
                f"prune_L 13% and unpruned could not be told apart ({interval}; any advantage "
                f"of prune_L is below {d.bound:+.1f} points{power})"
            )
    if math.isnan(c.low):
        corr = (
            f"no correlation could be computed ({c.text})"
            if complete
            else "too few pruned runs yet for the correlation"
        )
    else:
        r = f"r = {c.estimate:+.2f} over {c.n[0]} configuration means"
        if c.slope is not None:  # the rule's interval, not r's Fisher interval
            slope, low, high = c.slope
            r += (
                f"; slope {slope:+.2f} points of accuracy per point of instability, 95% "
                f"interval {low:+.2f} to {high:+.2f}"
            )
        if c.verdict == REPRODUCED:
            corr = f"more instability goes with higher accuracy ({r}), the paper's direction"
        elif c.verdict == CONTRADICTED:
            corr = f"more instability goes with lower accuracy ({r}), against the paper's direction"
        else:
            corr = f"no correlation could be told ({r}{_correlation_limits(point)})"
    return f"{head}: {difference}; {corr}."


def _correlation_limits(point: BudgetPoint) -> str:
    """What an inconclusive correlation over configuration means still allows: the
    steepest slope in the paper's direction and the rule's power at the paper's r on this
    design (``point.correlation_power``), in words for :func:`reading`."""
    c, said = point.correlation, ""
    if not math.isnan(c.bound):
        said += (
            f"; the slope of accuracy on instability is at most {c.bound:+.2f} points per "
            "point of instability (95%)"
        )
    if not math.isnan(point.correlation_power):
        said += (
            f"; the rule finds the paper's r = {PAPER_R_VGG11:.2f} on this design "
            f"{point.correlation_power:.0%} of the time"
        ).replace("= 0.", "= .")
    return said


@dataclass(frozen=True)
class Cell:
    """One configuration at one budget: its last-epoch test accuracy over the stored runs
    (mean, sample SD, runs) and its mean instability (NaN for unpruned runs)."""

    accuracy: float
    sd: float
    runs: int
    instability: float


def accuracy_cells(runs: Sequence[Run]) -> dict[str, Cell]:
    """Per configuration label, in the grid's order, the :class:`Cell` of ``runs``."""
    cells = {}
    for label, group in by_label(runs).items():
        accuracy = values(group, LAST_EPOCH)
        accuracy = accuracy[~np.isnan(accuracy)]
        instability = values(group, "mean_instability")
        instability = instability[~np.isnan(instability)]
        cells[label] = Cell(
            float(accuracy.mean()) if accuracy.size else math.nan,
            _sd(list(accuracy)),
            int(accuracy.size),
            float(instability.mean()) if instability.size else math.nan,
        )
    return cells


def capacity_reading(wide: Run | None, runs: Sequence[Run]) -> str:
    """The capacity check in words: the width-0.5 run against the width-0.25 unpruned run
    of the same seed at the same budget (``runs``: that budget's stored runs)."""
    profile, width = WIDTH_CHECK
    if wide is None:
        return f"Capacity check ({profile}, width {width:g}): not stored yet."
    narrow = next(
        (
            r
            for r in runs
            if r.config.pruning is None
            and r.config.noise is None
            and r.config.seed == wide.config.seed
            and r.config.width != wide.config.width
        ),
        None,
    )
    if narrow is None:
        return (
            f"Capacity check ({profile}, seed {wide.config.seed}): the width-"
            f"{width:g} run is stored, its narrow counterpart not yet."
        )
    decay = get_profile(profile).epoch(DECAY_EPOCH + 1) - 1
    a, b = wide.summary[LAST_EPOCH], narrow.summary[LAST_EPOCH]
    ta, tb = (r.result["epochs"][decay]["train_acc"] for r in (wide, narrow))
    return (
        f"Capacity check (`{profile}`, unpruned, seed {wide.config.seed}): width {width:g} "
        f"reaches {a:.1f}% last-epoch test accuracy against {b:.1f}% at width "
        f"{narrow.config.width:g} ({a - b:+.1f} points), with {ta:.1f}% against {tb:.1f}% "
        "training accuracy at epoch 150. One run each: a description, not a test."
    )
