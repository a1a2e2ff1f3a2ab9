"""The width test (``book/budget.md``, "The width test", pre-registered 2026-12-04):
absent, or too small?

At ``steps10400`` every pruned width-0.25 configuration ended below unpruned, which
capacity loss predicts whatever the instability. The test repeats the budget study's grid
at that budget with width 0.5 (25 runs) and decides the width x pruning interaction and
prune_L 13% - unpruned at width 0.5, read by the table fixed before its runs
(:data:`READINGS`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prunestab.config import RunConfig
from prunestab.grouped import Robustness, correlation_robustness, grouped_correlation
from prunestab.paper import budget, study
from prunestab.paper.budget import Criteria
from prunestab.paper.claim import (
    BEST_AFTER,
    LAST_EPOCH,
    MEASURES,
    comparison_bound,
    comparison_power,
    values,
)
from prunestab.paper.common import Label
from prunestab.paper.profiles import get_profile
from prunestab.paper.study import FollowUp, stored
from prunestab.runs import Run, by_label
from prunestab.store import RunStore
from prunestab.verdicts import (
    CONTRADICTED,
    INCONCLUSIVE,
    REPRODUCED,
    VERDICTS,
    Evidence,
    interaction,
    ordering,
)

#: The budget study's grid at its largest budget with width 0.5 instead of 0.25, 5 seeds
#: (:func:`grid`).
TEST = ("steps10400", 0.5)


def grid(seeds: int = 5, device: str = "cpu") -> list[RunConfig]:
    """The width test's 25 runs: the study's grid at ``steps10400`` with every config at
    width 0.5 (``TEST``), labels unchanged; nothing else differs.

    >>> grid = grid()
    >>> len(grid), {c.width for c in grid}, len({c.label for c in grid})
    (25, {0.5}, 5)
    """
    profile, width = TEST
    return [c.replace(width=width) for c in budget.FIGURE.configs(profile, seeds, device)]


#: The width of the budget study's runs (the width test's comparison).
NARROW = get_profile(TEST[0]).width


def stored_runs(store: str | os.PathLike | RunStore | None = None) -> list[Run]:
    """The width test's runs stored so far (:func:`grid`), refused like a
    budget's if the protocol does not cover them (:func:`check_comparable`)."""
    return stored(grid(), TEST[0], store)


@dataclass(frozen=True)
class WidthTest:
    """The width test's pre-registered comparisons (book/budget.md), from the width-0.25
    ``narrow`` and width-0.5 ``wide`` runs of the budget grid at ``steps10400``.

    ``difference[width][measure]``: prune_L 13% - unpruned (Welch); ``interaction[measure]``:
    that difference at 0.5 minus at 0.25 (``verdicts.interaction``); ``versus_unpruned
    [width][label]``: each pruned configuration - unpruned, last-epoch accuracy;
    ``correlation[width]``: the grouped correlation of mean instability with the best
    accuracy after the last event, with ``robustness[width]``; ``criteria[width]``: the
    protocol's criteria (:func:`criteria`); ``provenance[width]``: what its runs record of
    the code that trained them (``study.provenance``).
    """

    difference: dict[float, dict[str, Evidence]]
    interaction: dict[str, Evidence]
    versus_unpruned: dict[float, dict[str, Evidence]]
    correlation: dict[float, Evidence]
    robustness: dict[float, Robustness]
    criteria: dict[float, Criteria]
    provenance: dict[float, list[int]]

    def provenance_line(self) -> str:
        """Which code trained each width's runs, in one sentence (the width-0.25 arm was
        trained before the test, over many commits of the package)."""

        def said(width: float) -> str:
            runs, commits, dirty, unknown, bare = self.provenance[width]
            return (
                f"width {width:g}: {runs} runs from {commits} commit"
                + ("" if commits == 1 else "s")
                + f", {dirty} with uncommitted changes, {unknown} not recording it, "
                f"{bare} with no segment record"
            )

        return (
            "Which code trained the runs compared: "
            + "; ".join(said(w) for w in (NARROW, TEST[1]))
            + " (the width-0.25 arm was trained before the test, over many commits)"
        )


def decide(narrow: Sequence[Run], wide: Sequence[Run]) -> WidthTest:
    """The width test's comparisons; see :class:`WidthTest`."""
    by_width = {NARROW: by_label(narrow), TEST[1]: by_label(wide)}

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
            group(TEST[1], Label.PRUNE_L_13, key),
            group(TEST[1], Label.UNPRUNED, key),
            group(NARROW, Label.PRUNE_L_13, key),
            group(NARROW, Label.UNPRUNED, key),
        )
        for key in (LAST_EPOCH, BEST_AFTER)
    }
    met = {
        NARROW: budget.criteria(narrow, TEST[0]),
        TEST[1]: budget.criteria(wide, TEST[0]),
    }
    provenance = {NARROW: study.provenance(narrow), TEST[1]: study.provenance(wide)}
    return WidthTest(difference, interactions, versus, corr, robust, met, provenance)


#: The pre-registered reading of the width test (book/budget.md): (verdict of D, the
#: primary difference prune_L 13% - unpruned at width 0.5; verdict of I, the primary
#: interaction) -> what it means. ``None`` matches any verdict.
READINGS = (
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


def rows(test: WidthTest) -> list[tuple[str, str, Evidence]]:
    """The width test's comparisons as the chapter's table rows (setting, comparison,
    evidence): per width, prune_L 13% - unpruned on both measures, every other pruned
    configuration - unpruned, the grouped correlation; then the interaction on both."""
    rows = []
    for width in (NARROW, TEST[1]):
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
    both = f"{TEST[1]:g} vs {NARROW:g}"
    for key in (LAST_EPOCH, BEST_AFTER):
        rows.append((both, f"interaction ({MEASURES[key]})", test.interaction[key]))
    return rows


def reading(d: str, i: str) -> str:
    """The pre-registered meaning of the primary verdicts ``d`` (prune_L 13% - unpruned at
    width 0.5) and ``i`` (the width x pruning interaction).

    >>> reading("contradicted", "inconclusive")[:40]
    'the deficit persists at width 0.5: the n'
    >>> reading("inconclusive", "contradicted")
    'we could not tell'
    """
    for want_d, want_i, meaning in READINGS:
        if d == want_d and (want_i is None or i == want_i):
            return meaning
    raise ValueError(f"d={d!r}, i={i!r}; allowed: verdicts from {', '.join(VERDICTS)}")


def _limits(e: Evidence) -> str:
    """An inconclusive primary verdict's bound and power (``claim.comparison_bound`` and
    ``comparison_power``), in words for the status; empty where decided."""
    bound = comparison_bound(e)
    return f"; {bound}; {comparison_power(e)}" if bound else ""


def follow_up(store: str | os.PathLike | RunStore | None = None) -> FollowUp:
    """Read the width test's runs once and say where it stands: how many of its runs are
    stored and, once all are, the pre-registered reading of its primary verdicts, with the
    protocol's caveat where the width-0.5 unpruned runs still fail "fits before the decay"."""
    wide = stored_runs(store)
    profile, width = TEST

    def describe(test: WidthTest) -> str:
        d = test.difference[width][LAST_EPOCH]
        i = test.interaction[LAST_EPOCH]
        said = (
            f"prune_L 13% - unpruned at width {width:g} is {d.verdict} ({d.text}{_limits(d)}); "
            f"the width x pruning interaction is {i.verdict} ({i.text}{_limits(i)}). "
            f"Pre-registered reading: {reading(d.verdict, i.verdict)}"
        )
        fits = test.criteria[width]
        if fits.verdicts["fits before the decay"] == "not met":
            said += (
                f'. The width-{width:g} unpruned runs also fail "fits before the decay" '
                f"({fits.train_acc_before_decay:.1f}% training accuracy at epoch 150, against "
                f"{budget.FITS_BEFORE_DECAY:g}%): width {width:g} reduces but does not remove "
                "the capacity confound"
            )
        return said

    return study.follow_up(
        f"Width test (`{profile}` at width {width:g}, pre-registered 2026-12-04)",
        wide,
        wide,
        len(grid()),
        lambda: decide(budget.stored_runs("budget", profile, store), wide),
        describe,
    )


def status(store: str | os.PathLike | RunStore | None = None) -> str:
    """One sentence on the width test (:func:`follow_up`'s ``status``)."""
    return follow_up(store).status


def stored_test(store: str | os.PathLike | RunStore | None = None) -> WidthTest | None:
    """The width test on the stored runs, once all of its runs are stored; else ``None``."""
    return follow_up(store).test
