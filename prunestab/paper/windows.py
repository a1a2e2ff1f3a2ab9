"""Figure 5 at the paper's proportions (``book/budget.md``, pre-registered 2026-12-04,
amended 2026-12-06): do Figure 5's verdicts at ``steps2600`` depend on the noise
windows' length?

The stored Figure 5 runs keep the paper's window lengths in steps, cut to the retrain
period (50 and 320 of its 320 steps); this study adds windows at the paper's fraction of
the retrain period (1 and 31 steps) and, by the amendment, a 2-step Zeroing window (one
discarded update, the paper's proportion counted in updates), and decides Figure 5's
claims on both grids by the same rules (:func:`decide`, read by :func:`reading`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prunestab.config import RunConfig, config_hash
from prunestab.paper import budget, fig5, study
from prunestab.paper.claim import BEST_AFTER, LAST_EPOCH, MEASURES, Claim, values
from prunestab.paper.common import Label
from prunestab.paper.profiles import default_store
from prunestab.paper.study import FollowUp, check_comparable, stored
from prunestab.runs import Run, by_label
from prunestab.store import RunStore
from prunestab.verdicts import INCONCLUSIVE, VERDICTS, Evidence, ordering

#: Where Figure 5's windows are rescaled: the profile of its central verdicts.
PROFILE = budget.CENTRAL_PROFILES["fig5"]


def scaled_grid() -> list[RunConfig]:
    """The paper's-proportions grid: ``fig5.proportional_grid`` and, from the amendment of
    2026-12-06, the 2-step Zeroing 50 arm (``fig5.discarded_update_grid``)."""
    return fig5.proportional_grid(PROFILE) + fig5.discarded_update_grid(PROFILE)


def stored_runs(
    store: str | os.PathLike | RunStore | None = None,
) -> tuple[list[Run], list[Run]]:
    """Figure 5's stored runs at ``PROFILE``: (its own grid's, with the paper's
    step counts cut to the retrain period; those of :func:`scaled_grid`, windows at the
    paper's proportions, which share unpruned, prune_L and the 0-step windows), each
    refused like a budget's if the protocol does not cover them."""
    runs_store = store if isinstance(store, RunStore) else default_store(store, PROFILE)
    unscaled = budget.stored_runs("fig5", PROFILE, runs_store)
    scaled = stored(scaled_grid(), PROFILE, runs_store)
    check_comparable(unscaled + scaled, PROFILE)  # one copy of CIFAR-10 for both
    return unscaled, scaled


def planned_new() -> int:
    """How many runs the paper's-proportions grid adds to Figure 5's own (25 at
    ``steps2600``: 20 pre-registered on 2026-12-04, 5 of the 2-step arm on 2026-12-06)."""
    own = {config_hash(c) for c in fig5.FIGURE.configs(PROFILE)}
    return sum(config_hash(c) not in own for c in scaled_grid())


def added(unscaled: Sequence[Run], scaled: Sequence[Run]) -> list[Run]:
    """The runs of ``scaled`` that ``unscaled`` does not have: the rescaled windows'."""
    shared = {config_hash(r.config) for r in unscaled}
    return [r for r in scaled if config_hash(r.config) not in shared]


def missing(unscaled: Sequence[Run], scaled: Sequence[Run]) -> tuple[int, int]:
    """(new runs not yet stored, of the 25; Figure 5's own runs not stored, which both
    grids need): nothing is decided until both are 0."""
    own = len(fig5.FIGURE.configs(PROFILE)) - len(unscaled)
    return planned_new() - len(added(unscaled, scaled)), own


#: How a measure's "matches prune_L" claim reads where prune_L could not be told from unpruned.
_NO_EFFECT = 'no "matches prune_L" claim on {} can be decided, whatever the window'


@dataclass(frozen=True)
class WindowTest:
    """Figure 5's claims at ``PROFILE`` decided twice, by the same rules: on the
    stored windows (``unscaled``) and on windows at the paper's proportions (``scaled``).

    ``effect[measure]``: prune_L - unpruned (Welch), which every "matches prune_L" claim
    needs (``verdicts.matches_effect``); the runs are the same in both grids.
    ``same_as_zeroing_once``: per seed, the largest absolute difference of any epoch's
    test accuracy between the scaled "Zeroing 50" (1 step) and "Zeroing 0", which the
    implementation makes the same computation (``tests/test_noise.py``); NaN where the
    two runs' records cannot be compared. ``two_step_from_zeroing_once``: the same for
    the 2-step arm (one discarded update), which must differ. ``windows``: the window
    steps of each grid. From the amendment of 2026-12-06 the ``scaled`` claims take the
    2-step arm as "Zeroing 50" (the 1-step arm is Zeroing 0 by construction).
    """

    unscaled: list[Claim]
    scaled: list[Claim]
    effect: dict[str, Evidence]
    same_as_zeroing_once: dict[int, float]
    windows: dict[str, tuple[int, ...]]
    two_step_from_zeroing_once: dict[int, float]

    def columns(self) -> dict[str, list[Claim]]:
        """Both sets of verdicts under the names the book's tables give them."""

        def steps(grid: str) -> str:
            return " and ".join(str(s) for s in self.windows[grid]) + " steps"

        return {
            f"windows cut ({steps('unscaled')})": self.unscaled,
            f"paper's proportions ({steps('scaled')}; Zeroing 50 at "
            f"{steps('zeroing 50')})": self.scaled,
        }

    def effect_rows(self) -> list[tuple[str, str, Evidence]]:
        """The effect every "matches prune_L" claim needs, as table rows (setting,
        comparison, evidence), one per measure."""
        return [
            (PROFILE, f"prune_L - unpruned ({MEASURES[key]})", evidence)
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


def _decided(runs: Sequence[Run]) -> list[Claim]:
    decided = (spec.decide(runs, PROFILE) for spec in fig5.CLAIMS)
    return [claim for claim in decided if claim is not None]


def decide(unscaled: Sequence[Run], scaled: Sequence[Run]) -> WindowTest:
    """Decide Figure 5's claims on both grids; see :class:`WindowTest`."""

    def windows(grid: Sequence[RunConfig]) -> tuple[int, ...]:
        return tuple(sorted({c.noise.steps for c in grid if c.noise and c.noise.steps}))

    groups = by_label(scaled)
    prune_l, unpruned = groups.get(Label.PRUNE_L, []), groups.get(Label.UNPRUNED, [])
    effect = {
        key: ordering(values(prune_l, key), values(unpruned, key))
        for key in (LAST_EPOCH, BEST_AFTER)
    }
    once = {r.config.seed: r for r in groups.get(Label.noise("zeroing", 0), [])}

    def distances(label: str) -> dict[int, float]:
        return {
            run.config.seed: _largest_difference(run, once[run.config.seed])
            for run in groups.get(label, [])
            if run.config.seed in once
        }

    zeroing50 = Label.noise("zeroing", 50)
    two_step = [
        Run(r.config.replace(label=zeroing50), r.result)
        for r in groups.get(fig5.DISCARDED_UPDATE_LABEL, [])
    ]
    as_amended = [r for r in scaled if r.label not in (zeroing50, fig5.DISCARDED_UPDATE_LABEL)]
    steps = {
        "unscaled": windows(fig5.FIGURE.configs(PROFILE)),
        "scaled": windows(fig5.proportional_grid(PROFILE)),
        "zeroing 50": windows(fig5.discarded_update_grid(PROFILE)),
    }
    return WindowTest(
        _decided(unscaled),
        _decided(as_amended + two_step),
        effect,
        distances(zeroing50),
        steps,
        distances(fig5.DISCARDED_UPDATE_LABEL),
    )


def accuracy_rows(
    unscaled: Sequence[Run], scaled: Sequence[Run], key: str = LAST_EPOCH
) -> list[list[str]]:
    """Per configuration (labels name the paper's windows), its window and mean ``key``
    (SD across seeds, runs) on each grid: the accuracies behind both sets of verdicts.

    >>> accuracy_rows([], [])
    []
    """

    def cells(runs: Sequence[Run] | None) -> list[str]:
        if not runs:
            return ["-", "not in this grid"]
        config = runs[0].config
        n = config.noise.steps if config.noise else None
        steps = "-" if n is None else f"{n} step" + ("" if n == 1 else "s")
        if n == 1 and config.noise.kind == "zeroing":
            steps += " (= Zeroing 0 by construction: it discards no update)"
        v = values(runs, key)
        sd = f"{np.std(v, ddof=1):.2f}" if len(v) > 1 else "-"
        return [steps, f"{np.mean(v):.2f} (SD {sd}, n = {len(v)})"]

    cut, paper = by_label(unscaled), by_label(scaled)
    labels = dict.fromkeys([*cut, *paper])
    return [[label, *cells(cut.get(label)), *cells(paper.get(label))] for label in labels]


def reading(test: WindowTest) -> str:
    """The pre-registered reading (book/budget.md), in parts: each verdict that changes
    with the window (its length matters at this budget); where prune_L cannot be told
    from unpruned, the "matches prune_L" claims that no window can decide (on both
    measures: the protocol's "this budget cannot test the noise claims at all"); and, if
    neither, that the window's length changes no verdict."""
    parts = []
    changed = test.changed()
    if changed:
        parts.append(
            f"the windows' length matters at `{PROFILE}`: "
            + "; ".join(
                f'"{claim}" is {old} with the windows cut and {new} at the paper\'s proportions'
                for claim, old, new in changed
            )
        )
    no_effect = [key for key, e in test.effect.items() if e.verdict == INCONCLUSIVE]
    if len(no_effect) == len(test.effect):
        bounds = "; ".join(
            f"below {e.bound:+.2f} points on {MEASURES[key]}"
            + (f" ({e.power_at(1.0):.0%} power at +1 point)" if e.power_at else "")
            for key, e in test.effect.items()
        )
        parts.append(
            f"prune_L cannot be told from unpruned at `{PROFILE}` on either measure (any "
            f"benefit of pruning is {bounds}; 95%), so this budget cannot test the noise "
            "claims at all, "
            "whatever the window: the protocol's words, which hold for the claims that noise "
            "matches pruning; the claims that compare noise with prune_L directly are decided "
            "in the claims rows, each with its power"
        )
    elif no_effect:
        parts.extend(
            f"prune_L cannot be told from unpruned on {MEASURES[key]} (any benefit of pruning "
            f"is below {test.effect[key].bound:+.2f} points, 95%), so "
            + _NO_EFFECT.format(MEASURES[key])
            for key in no_effect
        )
    if not parts:
        parts.append(f"no verdict changes with the windows' length at `{PROFILE}`")
    return "; and ".join(parts)


def verdicts(test: WindowTest) -> str:
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


def follow_up(store: str | os.PathLike | RunStore | None = None) -> FollowUp:
    """Read both grids once (``runs``: ``(unscaled, scaled)``) and say where Figure 5 at
    the paper's proportions stands: how many of its new runs are stored and, once all of
    both grids' runs are, the pre-registered reading and the verdicts per grid."""
    unscaled, scaled = stored_runs(store)
    new, own = missing(unscaled, scaled)
    lacking = f", and {own} of Figure 5's own runs there are missing" if own else ""

    def describe(test: WindowTest) -> str:
        return f"{reading(test)}. In numbers: {verdicts(test)}"

    return study.follow_up(
        f"Figure 5 at the paper's proportions (`{PROFILE}`, pre-registered 2026-12-04, "
        "amended 2026-12-06)",
        (unscaled, scaled),
        added(unscaled, scaled),
        planned_new(),
        lambda: decide(unscaled, scaled),
        describe,
        lacking,
    )


def status(store: str | os.PathLike | RunStore | None = None) -> str:
    """One sentence on Figure 5 at the paper's proportions (:func:`follow_up`'s
    ``status``)."""
    return follow_up(store).status


def stored_test(store: str | os.PathLike | RunStore | None = None) -> WindowTest | None:
    """Figure 5's claims on both grids, once all runs of both are stored; else ``None``."""
    return follow_up(store).test
