"""The training-budget study (``book/budget.md``): its grids, criteria, points and costs.

Figure 1's VGG11 configurations at three budgets, 650 to 10,400 optimizer steps per run
(16x), on the paper's epoch axis; the central verdicts of Figures 1 and 5 are decided
here, and the width test asks whether the width-0.25 result is capacity loss. Reads
stored runs only (:func:`stored_runs`).
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
from prunestab.paper.claim import BEST_AFTER, LAST_EPOCH, MEASURES, Claim, values
from prunestab.paper.common import Chapter, Figure, Label, base_config
from prunestab.paper.profiles import BUDGET_PROFILES, Profile, default_store, get_profile
from prunestab.runs import Run, by_label
from prunestab.store import RunStore
from prunestab.verdicts import (
    CONTRADICTED,
    INCONCLUSIVE,
    REPRODUCED,
    VERDICTS,
    Evidence,
    detectable_correlation,
    detectable_difference,
    interaction,
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
#: The width test (book/budget.md, "The width test", pre-registered): the study's grid
#: at the largest budget with width 0.5 instead of 0.25, 5 seeds (:func:`width_test_grid`).
WIDTH_TEST = ("steps10400", 0.5)


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


def width_test_grid(seeds: int = 5, device: str = "cpu") -> list[RunConfig]:
    """The width test's 25 runs: the study's grid at ``steps10400`` with every config at
    width 0.5 (``WIDTH_TEST``), labels unchanged; nothing else differs.

    >>> grid = width_test_grid()
    >>> len(grid), {c.width for c in grid}, len({c.label for c in grid})
    (25, {0.5}, 5)
    """
    profile, width = WIDTH_TEST
    return [c.replace(width=width) for c in FIGURE.configs(profile, seeds, device)]


#: The paper's VGG11 correlation of mean instability with final accuracy (Section 4.1).
PAPER_R_VGG11 = fig1.PAPER_CORRELATIONS["vgg11"][0]
#: Criteria of the protocol (book/budget.md), on unpruned runs and recovery only.
FITS_BEFORE_DECAY = 99.0  # running train accuracy at epoch 150 (0-based 149), percent
OVERFITS_GAP = 10.0  # train - test accuracy at the last epoch, points
PRECISE_SE = 0.5  # standard error of one run's final test accuracy, points
DECAY_EPOCH = 149  # the last epoch before the first learning-rate decay (0-based)


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


def stored_runs(
    figure: str, profile: str, store: str | os.PathLike | RunStore | None = None
) -> list[Run]:
    """The runs of ``figure`` at ``profile`` that are complete in the store (no training);
    at a budget profile, :func:`check_comparable` first."""
    if figure not in _GRIDS:
        raise ValueError(f"figure={figure!r}; allowed: {', '.join(_GRIDS)}")
    return stored(_GRIDS[figure].configs(profile), profile, store)


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
    #: The smallest true configuration-level r the grouped rule finds with 80% power over
    #: the grid's planned pruned configurations (NaN below 3).
    detectable_correlation: float
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
    k_pruned = len({c.label for c in grid if c.pruning is not None})
    return BudgetPoint(
        profile,
        steps_per_run(profile),
        ordering(prune_l, unpruned),
        grouped_correlation(x, y, labels),
        detectable,
        detectable_correlation(k_pruned) if k_pruned >= 3 else math.nan,
        wanted,
        {config_hash(c) for c in grid} <= {config_hash(r.config) for r in runs},
        correlation_robustness(x, y, labels) if pruned else None,
    )


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
            difference = f"prune_L 13% and unpruned could not be told apart ({interval}{power})"
    if math.isnan(c.low):
        corr = (
            f"no correlation could be computed ({c.text})"
            if complete
            else "too few pruned runs yet for the correlation"
        )
    else:
        r = (
            f"r = {c.estimate:+.2f} over {c.n[0]} configuration means, 95% interval "
            f"{c.low:+.2f} to {c.high:+.2f}"
        )
        if c.verdict == REPRODUCED:
            corr = f"more instability goes with higher accuracy ({r}), the paper's direction"
        elif c.verdict == CONTRADICTED:
            corr = f"more instability goes with lower accuracy ({r}), against the paper's direction"
        else:
            corr = f"no correlation could be told ({r})"
    return f"{head}: {difference}; {corr}."


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


#: The width of the budget study's runs (the width test's comparison).
WIDTH_NARROW = get_profile(WIDTH_TEST[0]).width

# --- the width test (book/budget.md, pre-registered 2026-12-04) ---------------------------


def width_test_runs(store: str | os.PathLike | RunStore | None = None) -> list[Run]:
    """The width test's runs stored so far (:func:`width_test_grid`), refused like a
    budget's if the protocol does not cover them (:func:`check_comparable`)."""
    return stored(width_test_grid(), WIDTH_TEST[0], store)


@dataclass(frozen=True)
class WidthTest:
    """The width test's pre-registered comparisons (book/budget.md), from the width-0.25
    ``narrow`` and width-0.5 ``wide`` runs of the budget grid at ``steps10400``.

    ``difference[width][measure]``: prune_L 13% - unpruned (Welch); ``interaction[measure]``:
    that difference at 0.5 minus at 0.25 (``verdicts.interaction``); ``versus_unpruned
    [width][label]``: each pruned configuration - unpruned, last-epoch accuracy;
    ``correlation[width]``: the grouped correlation of mean instability with the best
    accuracy after the last event, with ``robustness[width]``; ``criteria[width]``: the
    protocol's criteria (:func:`criteria`).
    """

    difference: dict[float, dict[str, Evidence]]
    interaction: dict[str, Evidence]
    versus_unpruned: dict[float, dict[str, Evidence]]
    correlation: dict[float, Evidence]
    robustness: dict[float, Robustness]
    criteria: dict[float, Criteria]


def width_test(narrow: Sequence[Run], wide: Sequence[Run]) -> WidthTest:
    """The width test's comparisons; see :class:`WidthTest`."""
    by_width = {WIDTH_NARROW: by_label(narrow), WIDTH_TEST[1]: by_label(wide)}

    def group(width: float, label: str, key: str) -> np.ndarray:
        return values(by_width[width].get(label, []), key)

    difference, versus, corr, robust = {}, {}, {}, {}
    for width, groups in by_width.items():
        difference[width] = {
            key: ordering(group(width, Label.PRUNE_L_13, key), group(width, Label.UNPRUNED, key))
            for key in (LAST_EPOCH, BEST_AFTER)
        }
        versus[width] = {
            label: ordering(
                group(width, label, LAST_EPOCH), group(width, Label.UNPRUNED, LAST_EPOCH)
            )
            for label in groups
            if label != Label.UNPRUNED
        }
        pruned = [r for members in groups.values() for r in members if r.config.pruning]
        x, y = values(pruned, "mean_instability"), values(pruned, BEST_AFTER)
        corr[width] = grouped_correlation(x, y, [r.label for r in pruned])
        robust[width] = correlation_robustness(x, y, [r.label for r in pruned])
    interactions = {
        key: interaction(
            group(WIDTH_TEST[1], Label.PRUNE_L_13, key),
            group(WIDTH_TEST[1], Label.UNPRUNED, key),
            group(WIDTH_NARROW, Label.PRUNE_L_13, key),
            group(WIDTH_NARROW, Label.UNPRUNED, key),
        )
        for key in (LAST_EPOCH, BEST_AFTER)
    }
    met = {
        WIDTH_NARROW: criteria(narrow, WIDTH_TEST[0]),
        WIDTH_TEST[1]: criteria(wide, WIDTH_TEST[0]),
    }
    return WidthTest(difference, interactions, versus, corr, robust, met)


#: The pre-registered reading of the width test (book/budget.md): (verdict of D, the
#: primary difference prune_L 13% - unpruned at width 0.5; verdict of I, the primary
#: interaction) -> what it means. ``None`` matches any verdict.
WIDTH_READINGS = (
    (
        REPRODUCED,
        None,
        "the tradeoff appears with more capacity: the width-0.25 negative result was capacity",
    ),
    (
        INCONCLUSIVE,
        REPRODUCED,
        "the gap closes with width: capacity explains the width-0.25 deficit at least in "
        "part; the tradeoff itself is not shown",
    ),
    (
        CONTRADICTED,
        REPRODUCED,
        "the gap shrinks but persists: capacity explains part of it; pruning still costs "
        "accuracy at width 0.5",
    ),
    (
        CONTRADICTED,
        None,
        "the deficit persists at width 0.5: the negative result survives its strongest "
        "confounder at this budget",
    ),
    (INCONCLUSIVE, None, "we could not tell"),
)


def width_test_rows(test: WidthTest) -> list[tuple[str, str, Evidence]]:
    """The width test's comparisons as the chapter's table rows (setting, comparison,
    evidence): per width, prune_L 13% - unpruned on both measures, every other pruned
    configuration - unpruned, the grouped correlation; then the interaction on both."""
    rows = []
    for width in (WIDTH_NARROW, WIDTH_TEST[1]):
        setting = f"width {width:g}"
        for key in (LAST_EPOCH, BEST_AFTER):
            rows.append(
                (setting, f"prune_L 13% - unpruned ({MEASURES[key]})", test.difference[width][key])
            )
        for label, evidence in test.versus_unpruned[width].items():
            if label != Label.PRUNE_L_13:
                rows.append((setting, f"{label} - unpruned ({MEASURES[LAST_EPOCH]})", evidence))
        rows.append(
            (setting, "r(instability, best after), configuration means", test.correlation[width])
        )
    both = f"{WIDTH_TEST[1]:g} vs {WIDTH_NARROW:g}"
    for key in (LAST_EPOCH, BEST_AFTER):
        rows.append((both, f"interaction ({MEASURES[key]})", test.interaction[key]))
    return rows


def width_reading(d: str, i: str) -> str:
    """The pre-registered meaning of the primary verdicts ``d`` (prune_L 13% - unpruned at
    width 0.5) and ``i`` (the width x pruning interaction).

    >>> width_reading("contradicted", "inconclusive")[:40]
    'the deficit persists at width 0.5: the n'
    >>> width_reading("inconclusive", "contradicted")
    'we could not tell'
    """
    for want_d, want_i, meaning in WIDTH_READINGS:
        if d == want_d and (want_i is None or i == want_i):
            return meaning
    raise ValueError(f"d={d!r}, i={i!r}; allowed: verdicts from {', '.join(VERDICTS)}")


@dataclass(frozen=True)
class WidthFollowUp:
    """The width test as the store holds it, read once: its width-0.5 ``runs`` stored so
    far, the ``test`` once all are stored (else ``None``) and the ``status`` sentence
    (:func:`width_status`)."""

    runs: list[Run]
    test: WidthTest | None
    status: str


def width_follow_up(store: str | os.PathLike | RunStore | None = None) -> WidthFollowUp:
    """Read the width test's runs once and say where it stands: how many of its runs are
    stored and, once all are, the pre-registered reading of its primary verdicts, with the
    protocol's caveat where the width-0.5 unpruned runs still fail "fits before the decay"."""
    wide = width_test_runs(store)
    planned, width = len(width_test_grid()), WIDTH_TEST[1]
    if len(wide) < planned:
        said = (
            f"Width test (`{WIDTH_TEST[0]}` at width {width:g}, pre-registered "
            f"2026-12-04): {len(wide)} of {planned} runs stored; nothing is decided until "
            "all are."
        )
        return WidthFollowUp(wide, None, said)
    test = width_test(stored_runs("budget", WIDTH_TEST[0], store), wide)
    d = test.difference[width][LAST_EPOCH]
    i = test.interaction[LAST_EPOCH]
    said = (
        f"Width test (`{WIDTH_TEST[0]}`, all {planned} runs at width {width:g}): "
        f"prune_L 13% - unpruned at width {width:g} is {d.verdict} ({d.text}); the "
        f"width x pruning interaction is {i.verdict} ({i.text}). Pre-registered reading: "
        f"{width_reading(d.verdict, i.verdict)}."
    )
    fits = test.criteria[width]
    if fits.verdicts["fits before the decay"] == "not met":
        said += (
            f' The width-{width:g} unpruned runs also fail "fits before the decay" '
            f"({fits.train_acc_before_decay:.1f}% training accuracy at epoch 150, against "
            f"{FITS_BEFORE_DECAY:g}%): width {width:g} reduces but does not remove the "
            "capacity confound."
        )
    return WidthFollowUp(wide, test, said)


def width_status(store: str | os.PathLike | RunStore | None = None) -> str:
    """One sentence on the width test (:func:`width_follow_up`'s ``status``)."""
    return width_follow_up(store).status


def stored_width_test(store: str | os.PathLike | RunStore | None = None) -> WidthTest | None:
    """The width test on the stored runs, once all of its runs are stored; else ``None``."""
    return width_follow_up(store).test


# --- Figure 5 at the paper's proportions (book/budget.md, pre-registered 2026-12-04) ------

#: Where Figure 5's windows are rescaled: the profile of its central verdicts.
WINDOWS_PROFILE = CENTRAL_PROFILES["fig5"]


def window_runs(
    store: str | os.PathLike | RunStore | None = None,
) -> tuple[list[Run], list[Run]]:
    """Figure 5's stored runs at ``WINDOWS_PROFILE``: (its own grid's, with the paper's
    step counts cut to the retrain period; those of ``fig5.proportional_grid``, windows at
    the paper's proportions, which share unpruned, prune_L and the 0-step windows), each
    refused like a budget's if the protocol does not cover them."""
    runs_store = store if isinstance(store, RunStore) else default_store(store, WINDOWS_PROFILE)
    unscaled = stored_runs("fig5", WINDOWS_PROFILE, runs_store)
    scaled = stored(fig5.proportional_grid(WINDOWS_PROFILE), WINDOWS_PROFILE, runs_store)
    check_comparable(unscaled + scaled, WINDOWS_PROFILE)  # one copy of CIFAR-10 for both
    return unscaled, scaled


def window_new_runs() -> int:
    """How many runs the proportional grid adds to Figure 5's own (20 at ``steps2600``)."""
    own = {config_hash(c) for c in fig5.FIGURE.configs(WINDOWS_PROFILE)}
    return sum(config_hash(c) not in own for c in fig5.proportional_grid(WINDOWS_PROFILE))


def window_added(unscaled: Sequence[Run], scaled: Sequence[Run]) -> list[Run]:
    """The runs of ``scaled`` that ``unscaled`` does not have: the rescaled windows'."""
    shared = {config_hash(r.config) for r in unscaled}
    return [r for r in scaled if config_hash(r.config) not in shared]


def window_missing(unscaled: Sequence[Run], scaled: Sequence[Run]) -> tuple[int, int]:
    """(new runs not yet stored, of the 20; Figure 5's own runs not stored, which both
    grids need): nothing is decided until both are 0."""
    own = len(fig5.FIGURE.configs(WINDOWS_PROFILE)) - len(unscaled)
    return window_new_runs() - len(window_added(unscaled, scaled)), own


#: How a measure's "matches prune_L" claim reads where prune_L has no effect to match.
_NO_EFFECT = 'no "matches prune_L" claim on {} can be decided, whatever the window'


@dataclass(frozen=True)
class WindowTest:
    """Figure 5's claims at ``WINDOWS_PROFILE`` decided twice, by the same rules: on the
    stored windows (``unscaled``) and on windows at the paper's proportions (``scaled``).

    ``effect[measure]``: prune_L - unpruned (Welch), which every "matches prune_L" claim
    needs (``verdicts.matches_effect``); the runs are the same in both grids.
    ``same_as_zeroing_once``: per seed, the largest absolute difference of any epoch's
    test accuracy between the scaled "Zeroing 50" (1 step) and "Zeroing 0", which the
    implementation makes the same computation (``tests/test_noise.py``); NaN where the
    two runs' records cannot be compared. ``windows``: the window steps of each grid.
    """

    unscaled: list[Claim]
    scaled: list[Claim]
    effect: dict[str, Evidence]
    same_as_zeroing_once: dict[int, float]
    windows: dict[str, tuple[int, ...]]

    def columns(self) -> dict[str, list[Claim]]:
        """Both sets of verdicts under the names the book's tables give them."""

        def steps(grid: str) -> str:
            return " and ".join(str(s) for s in self.windows[grid]) + " steps"

        return {
            f"windows cut ({steps('unscaled')})": self.unscaled,
            f"paper's proportions ({steps('scaled')})": self.scaled,
        }

    def effect_rows(self) -> list[tuple[str, str, Evidence]]:
        """The effect every "matches prune_L" claim needs, as table rows (setting,
        comparison, evidence), one per measure."""
        return [
            (WINDOWS_PROFILE, f"prune_L - unpruned ({MEASURES[key]})", evidence)
            for key, evidence in self.effect.items()
        ]

    def changed(self) -> list[tuple[str, str, str]]:
        """(claim, unscaled verdict, scaled verdict) for each claim whose verdict differs,
        "not decided" standing for a claim one grid does not decide."""
        before = {c.claim: c.verdict for c in self.unscaled}
        after = {c.claim: c.verdict for c in self.scaled}
        claims = list(dict.fromkeys([*before, *after]))
        none = "not decided"
        return [
            (c, before.get(c, none), after.get(c, none))
            for c in claims
            if before.get(c, none) != after.get(c, none)
        ]


def _largest_difference(a: Run, b: Run) -> float:
    """The largest absolute difference of any epoch's test accuracy; NaN if the records
    differ in length or hold a NaN."""
    ea, eb = a.result["epochs"], b.result["epochs"]
    if len(ea) != len(eb):
        return math.nan
    diffs = [abs(x["test_acc"] - y["test_acc"]) for x, y in zip(ea, eb, strict=True)]
    return math.nan if any(math.isnan(d) for d in diffs) else max(diffs, default=math.nan)


def window_test(unscaled: Sequence[Run], scaled: Sequence[Run]) -> WindowTest:
    """Decide Figure 5's claims on both grids; see :class:`WindowTest`."""

    def decide(runs: Sequence[Run]) -> list[Claim]:
        decided = (spec.decide(runs, WINDOWS_PROFILE) for spec in fig5.CLAIMS)
        return [claim for claim in decided if claim is not None]

    def windows(grid: Sequence[RunConfig]) -> tuple[int, ...]:
        return tuple(sorted({c.noise.steps for c in grid if c.noise and c.noise.steps}))

    groups = by_label(scaled)
    prune_l, unpruned = groups.get(Label.PRUNE_L, []), groups.get(Label.UNPRUNED, [])
    effect = {
        key: ordering(values(prune_l, key), values(unpruned, key))
        for key in (LAST_EPOCH, BEST_AFTER)
    }
    once = {r.config.seed: r for r in groups.get(Label.noise("zeroing", 0), [])}
    same = {
        run.config.seed: _largest_difference(run, once[run.config.seed])
        for run in groups.get(Label.noise("zeroing", 50), [])
        if run.config.seed in once
    }
    steps = {
        "unscaled": windows(fig5.FIGURE.configs(WINDOWS_PROFILE)),
        "scaled": windows(fig5.proportional_grid(WINDOWS_PROFILE)),
    }
    return WindowTest(decide(unscaled), decide(scaled), effect, same, steps)


def window_accuracy_rows(
    unscaled: Sequence[Run], scaled: Sequence[Run], key: str = LAST_EPOCH
) -> list[list[str]]:
    """Per configuration (labels name the paper's windows), its window and mean ``key``
    (SD across seeds, runs) on each grid: the accuracies behind both sets of verdicts.

    >>> window_accuracy_rows([], [])
    []
    """

    def cells(runs: Sequence[Run] | None) -> list[str]:
        if not runs:
            return ["-", "not in this grid"]
        config = runs[0].config
        n = config.noise.steps if config.noise else None
        steps = "-" if n is None else f"{n} step" + ("" if n == 1 else "s")
        v = values(runs, key)
        sd = f"{np.std(v, ddof=1):.2f}" if len(v) > 1 else "-"
        return [steps, f"{np.mean(v):.2f} (SD {sd}, n = {len(v)})"]

    cut, paper = by_label(unscaled), by_label(scaled)
    labels = dict.fromkeys([*cut, *paper])
    return [[label, *cells(cut.get(label)), *cells(paper.get(label))] for label in labels]


def window_reading(test: WindowTest) -> str:
    """The pre-registered reading (book/budget.md), in parts: each verdict that changes
    with the window (its length matters at this budget); where prune_L cannot be told
    from unpruned, the "matches prune_L" claims that no window can decide (on both
    measures: the protocol's "this budget cannot test the noise claims at all"); and, if
    neither, that the window's length changes no verdict."""
    parts = []
    changed = test.changed()
    if changed:
        parts.append(
            f"the windows' length matters at `{WINDOWS_PROFILE}`: "
            + "; ".join(
                f'"{claim}" is {old} with the windows cut and {new} at the paper\'s proportions'
                for claim, old, new in changed
            )
        )
    no_effect = [key for key, e in test.effect.items() if e.verdict == INCONCLUSIVE]
    if len(no_effect) == len(test.effect):
        parts.append(
            f"prune_L cannot be told from unpruned at `{WINDOWS_PROFILE}` on either measure, "
            "so this budget cannot test the noise claims at all, whatever the window"
        )
    elif no_effect:
        parts.extend(
            f"prune_L cannot be told from unpruned on {MEASURES[key]}, so "
            + _NO_EFFECT.format(MEASURES[key])
            for key in no_effect
        )
    if not parts:
        parts.append(f"no verdict changes with the windows' length at `{WINDOWS_PROFILE}`")
    return "; and ".join(parts)


def window_verdicts(test: WindowTest) -> str:
    """How the claims came out on both grids, counted per verdict (the reading names only
    the verdicts that change; this says what they are).

    The Gaussian claim ("helps but less than prune_L") is the one the new runs could
    change; it needs prune_L above Gaussian noise above unpruned, so where prune_L is
    level with unpruned it can hardly be reproduced."""

    def counts(found: Sequence[Claim]) -> str:
        return ", ".join(f"{sum(c.verdict == v for c in found)} {v}" for v in VERDICTS)

    scaled, unscaled = counts(test.scaled), counts(test.unscaled)
    same = "the same" if scaled == unscaled else unscaled
    return (
        f"of Figure 5's {len(test.scaled)} claims, at the paper's proportions {scaled}; "
        f"with the windows cut, {same}"
    )


@dataclass(frozen=True)
class WindowFollowUp:
    """Figure 5 at the paper's proportions as the store holds it, read once: both grids'
    stored runs (``unscaled``, ``scaled``), the runs the rescaling adds (``added``), the
    ``test`` once every run of both grids is stored (else ``None``) and the ``status``
    sentence (:func:`window_status`)."""

    unscaled: list[Run]
    scaled: list[Run]
    added: list[Run]
    test: WindowTest | None
    status: str


def window_follow_up(store: str | os.PathLike | RunStore | None = None) -> WindowFollowUp:
    """Read both grids once and say where Figure 5 at the paper's proportions stands: how
    many of its new runs are stored and, once all of both grids' runs are, the
    pre-registered reading and the verdicts per grid."""
    unscaled, scaled = window_runs(store)
    added = window_added(unscaled, scaled)
    new, own = window_missing(unscaled, scaled)
    planned = window_new_runs()
    head = f"Figure 5 at the paper's proportions (`{WINDOWS_PROFILE}`, pre-registered 2026-12-04)"
    if new or own:
        lacking = f", and {own} of Figure 5's own runs there are missing" if own else ""
        said = (
            f"{head}: {planned - new} of its {planned} new runs stored{lacking}; nothing is "
            "decided until all are."
        )
        return WindowFollowUp(unscaled, scaled, added, None, said)
    test = window_test(unscaled, scaled)
    said = (
        f"{head}, all {planned} new runs stored: {window_reading(test)}. In numbers: "
        f"{window_verdicts(test)}."
    )
    return WindowFollowUp(unscaled, scaled, added, test, said)


def window_status(store: str | os.PathLike | RunStore | None = None) -> str:
    """One sentence on Figure 5 at the paper's proportions (:func:`window_follow_up`'s
    ``status``)."""
    return window_follow_up(store).status


def stored_window_test(store: str | os.PathLike | RunStore | None = None) -> WindowTest | None:
    """Figure 5's claims on both grids, once all runs of both are stored; else ``None``."""
    return window_follow_up(store).test
