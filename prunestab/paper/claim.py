"""What a claim of the paper is: a row of data decided by a fixed rule of ``verdicts``.

A row (:class:`ClaimSpec`) names its figure, its wording, what the paper reports, and
its ``parts``: a function from the figure's runs to named pieces of evidence (a
comparison of two groups, a correlation, ...). One combinator decides every row:
:func:`prunestab.verdicts.all_of` (reproduced if every part is; contradicted if any part
is, after Holm's correction over the parts; else inconclusive). A row with one part gets
that part's verdict. Each figure module defines its rows with the helpers here.

Accuracy claims are stated twice: on the paper's measure, the best test accuracy from
the last pruning event on (``BEST_AFTER``, as the authors' code took it), and on the last
epoch's test accuracy (``LAST_EPOCH``), which selects nothing on the test set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from prunestab.grouped import correlation_robustness, grouped_correlation
from prunestab.runs import Run, by_label
from prunestab.verdicts import (
    ALPHA,
    INCONCLUSIVE,
    Evidence,
    all_of,
    ordering,
)

BEST_AFTER = "best_test_acc_after_pruning"
LAST_EPOCH = "final_test_acc"
#: The two accuracy measures, as the claims page names them.
MEASURES = {BEST_AFTER: "best after the last pruning event", LAST_EPOCH: "last epoch"}
#: The same, as a claim's wording says them.
ON = {BEST_AFTER: "best accuracy after the last pruning event", LAST_EPOCH: "last-epoch accuracy"}
#: The equivalence margin of "matches" claims, in percentage points of test accuracy.
EQUIVALENCE_MARGIN = 1.0
#: The effect at which every verdict states its power, by the kind of its evidence. The
#: paper prints no accuracy or instability differences (its figures show curves), so a
#: difference's reference is 1 point, the smallest effect this project treats as
#: meaningful (the equivalence margin above); a correlation's is the paper's r where the
#: claim has one (``ClaimSpec.reference``), else Figure 1's VGG11 r = .84 (Section 4.1); a
#: match's ("noise matches prune_L") is a 1-point benefit of pruning that the noise
#: matches exactly (``verdicts.match_power``).
REFERENCE = {"difference": 1.0, "correlation": 0.84, "match": 1.0}

Parts = list[tuple[str, Evidence]]
PartsOf = Callable[[Sequence[Run], str], Parts]


@dataclass(frozen=True)
class Claim:
    """A decided claim: what the paper says and found, what we measured, the verdict.

    Args:
        figure: the figure's registry name (``fig1`` ...).
        claim: the claim's wording.
        paper: what the paper reports.
        ours: what we measured, part by part.
        verdict: ``reproduced``, ``contradicted`` or ``inconclusive``.
        profile: the profile whose runs decided it.
        n: the sample sizes behind the verdict (runs per group, or points).
        power: the chance the same rules on the same design say "reproduced" if the
            effect were ``reference`` in the paper's direction (for a claim of several
            comparisons, that of its weakest one, an upper bound); ``None`` where the
            rule states none.
        reference: the effect ``power`` is stated at, in words (``+1 point``,
            ``r = .84``), or why none is stated.
        bound: for an inconclusive claim, the largest effect in the paper's direction the
            data still allow (95%), in words; else empty.
        parts: per comparison, ``(name, estimate, low, high, verdict, kind)`` for the
            tables and forest plots (:func:`part`: ``kind`` as ``Evidence.effect_kind``,
            or for a slope over configuration means ``SLOPE`` and its unit).
    """

    figure: str
    claim: str
    paper: str
    ours: str
    verdict: str
    profile: str = ""
    n: str = ""
    power: float | None = None
    reference: str = ""
    bound: str = ""
    parts: tuple = ()


@dataclass(frozen=True)
class ClaimSpec:
    """One row of the paper's claims: figure, wording, the paper's report, and the test.

    Args:
        figure: the figure's registry name.
        wording: the claim, in the paper's direction.
        paper: what the paper reports for it.
        parts: ``parts(runs, profile)``, the named evidence the verdict combines (empty
            when the runs hold none of what it compares).
        reference: the effect at which its power is stated, where the paper gives one
            for this claim (its r); else :data:`REFERENCE` by the evidence's kind.
        slope_unit: what a correlation's bound (a slope of y on x) is measured in.
        gain: what a difference in the paper's direction is, in a bound's words ("any
            advantage is below ...").
    """

    figure: str
    wording: str
    paper: str
    parts: PartsOf
    reference: float | None = None
    slope_unit: str = "points of accuracy per point of instability"
    gain: str = "advantage"

    def decide(self, runs: Sequence[Run], profile: str) -> Claim | None:
        """The claim decided on ``runs`` at ``profile``.

        Returns:
            The :class:`Claim` (its verdict from :func:`prunestab.verdicts.all_of` over
            the parts, each part computed once), or ``None`` when the runs give no part.
        """
        parts = self.parts(runs, profile)
        if not parts:
            return None
        verdict = all_of([evidence for _, evidence in parts])
        ours = "; ".join(f"{name}: {e.text}" if name else e.text for name, e in parts)
        sizes = sorted({" vs ".join(map(str, e.n)) for _, e in parts})
        power, reference = self.power(parts)
        return Claim(
            self.figure,
            self.wording,
            self.paper,
            ours,
            verdict,
            profile,
            ", ".join(sizes),
            power,
            reference,
            bound_text(parts, self.slope_unit, self.gain) if verdict == INCONCLUSIVE else "",
            tuple(part(name, e, self.slope_unit) for name, e in parts),
        )

    def power(self, parts: Parts) -> tuple[float | None, str]:
        """The claim's power at its reference effect (the weakest part's: every part must
        say "reproduced"), and the reference in words; ``(None, why)`` where a part's
        rule states no power."""
        kinds = {e.effect_kind for _, e in parts}
        if "" in kinds or len(kinds) != 1 or any(e.power_at is None for _, e in parts):
            return None, "not stated: the paper gives no size for this comparison's effect"
        kind = kinds.pop()
        size = self.reference if self.reference is not None else REFERENCE[kind]
        try:
            power = min(e.power_at(size) for _, e in parts)
        except ValueError:  # a design the simulation cannot take (no spread, one run)
            return None, "not stated: too few runs or no spread to simulate the design"
        words = reference_words(kind, size)
        weakest = f" (the weakest of {len(parts)} comparisons: the claim's power is at most this)"
        return power, words + (weakest if len(parts) > 1 else "")


#: A claim part's kind for a slope over configuration means: this, then its unit.
SLOPE = "slope: "


def part(name: str, e: Evidence, unit: str) -> tuple:
    """One comparison of a claim as the tables and forest plots show it: ``(name,
    estimate, low, high, verdict, kind)``; for a correlation over configuration means its
    slope and the slope's interval (what the rule tests), of kind ``SLOPE + unit``.

    >>> from prunestab.grouped import grouped_correlation
    >>> e = grouped_correlation([1, 1, 2, 2, 3, 3, 4, 4], [1, 1.2, 2.1, 1.9, 3.2, 2.8, 4, 4.2], "aabbccdd")
    >>> name, estimate, low, high, verdict, kind = part("", e, "points per point")
    >>> round(estimate, 2), low < estimate < high, kind
    (1.0, True, 'slope: points per point')
    """
    if e.slope is not None:
        return (name, *(finite(v) for v in e.slope), e.verdict, SLOPE + unit)
    return (name, finite(e.estimate), finite(e.low), finite(e.high), e.verdict, e.effect_kind)


def reference_words(kind: str, size: float) -> str:
    """The effect a power is stated at, in words, by the evidence's kind.

    >>> reference_words("correlation", 0.84), reference_words("difference", 1.0)
    ('r = .84', '+1 point')
    """
    if kind == "correlation":
        return f"r = {size:.2f}".replace("0.", ".", 1)
    if kind == "match":
        return f"a +{size:g}-point effect of pruning, matched exactly"
    return f"+{size:g} point" + ("" if size == 1 else "s")


def comparison_power(e: Evidence) -> str:
    """One comparison's power at its kind's :data:`REFERENCE`, in words, or why none is
    stated (the tables' and the status lines' words for a single comparison)."""
    if e.power_at is None or e.effect_kind not in REFERENCE:
        return "power not stated"
    size = REFERENCE[e.effect_kind]
    try:
        return f"power {e.power_at(size):.0%} at {reference_words(e.effect_kind, size)}"
    except ValueError:  # a design the simulation cannot take (no spread, one run)
        return "power not stated: too few runs or no spread"


def comparison_bound(e: Evidence) -> str:
    """An inconclusive comparison's bound in words (a difference's as "at most ... in the
    paper's direction", else :func:`bound_text`); empty where decided or no interval."""
    if e.verdict != INCONCLUSIVE or math.isnan(e.bound):
        return ""
    if e.effect_kind == "difference":
        return f"at most {e.bound:+.2f} points in the paper's direction (95%)"
    return bound_text([("", e)])


def finite(x: float) -> float | None:
    """``x``, or ``None`` where it is NaN (a forest plot's and table's "not known")."""
    return None if math.isnan(x) else float(x)


def joint_bound(evidence: Evidence, k: int) -> float:
    """``evidence``'s bound as one of ``k`` that must hold together: the end of its
    ``1 - ALPHA / k`` interval (Bonferroni), so that all ``k`` bounds hold at once in
    95% of experiments; its own 95% bound where ``k`` is 1 or the rule gives no other.

    The claim's verdict is consistent with it: Holm's first step, which calls a claim of
    ``k`` comparisons contradicted, tests each against ``ALPHA / k``, so a comparison's
    joint bound falls below zero exactly when that step rejects it.
    """
    if k == 1 or evidence.bound_at is None:
        return evidence.bound
    return float(evidence.bound_at(ALPHA / k))


def limiting(parts: Parts) -> tuple[str, Evidence, float] | None:
    """The comparison that limits an inconclusive claim most, among those with a bound,
    with its :func:`joint_bound`: where all are differences, the one with the smallest
    joint bound (the claim needs every comparison, so its effect, the smallest of theirs,
    is at most each one's, and all ``k`` bounds hold together at 95%); else the one most
    in the way of "reproduced" (the largest p-value in the paper's direction). ``None``
    where none has a bound."""
    k = len(parts)
    bounded = [(name, e, joint_bound(e, k)) for name, e in parts if not math.isnan(e.bound)]
    if not bounded:
        return None
    if all(e.effect_kind == "difference" for _, e, _ in bounded):
        return min(bounded, key=lambda part: part[2])
    return max(bounded, key=lambda part: np.nan_to_num(part[1].p_for, nan=2.0))


def bound_text(
    parts: Parts,
    unit: str = "points of accuracy per point of instability",
    gain: str = "advantage",
) -> str:
    """What an inconclusive claim's data still allow in the paper's direction, in words:
    the bound of its :func:`limiting` comparison (the largest effect that comparison
    allows: at 95%, or for one of ``k`` comparisons at 95% for all ``k`` together), a
    slope's in ``unit``, a difference's as "any ``gain`` is below"; for a match, the
    widest difference either way, or the largest effect of pruning either way where the
    match could not be tested; empty where no rule gave an interval.

    >>> from prunestab.verdicts import ordering
    >>> bound_text([("vs unpruned", ordering([70.0, 71.0, 72.0], [70.5, 71.5, 71.0]))])
    'vs unpruned: any advantage is below +2.08 points (95%)'
    """
    found = limiting(parts)
    if found is None:
        return ""
    name, evidence, bound = found
    prefix = f"{name}: " if name else ""
    k = len(parts)
    if k == 1:
        level = "95%"
    elif evidence.bound_at is not None:
        level = f"95% jointly over the claim's {k} comparisons"
    else:
        level = f"95% for this comparison alone, of the claim's {k}"
    if evidence.effect_kind == "correlation":
        return (
            f"{prefix}the steepest slope the data allow in the paper's direction is "
            f"{bound:+.3g} {unit} ({level})"
        )
    if evidence.effect_kind == "match" and math.isnan(evidence.estimate):
        return (
            "no match can be tested: the effect of pruning it would match is at most "
            f"{bound:.2f} points either way (95%)"
        )
    if evidence.effect_kind == "match":
        return f"{prefix}the data allow a difference of up to {bound:.2f} points either way (95%)"
    return f"{prefix}any {gain} is below {bound:+.2f} points ({level})"


def values(runs: Sequence[Run], key: str) -> np.ndarray:
    """One summary value per run.

    Args:
        runs: the runs.
        key: the summary field (``BEST_AFTER``, ``mean_instability`` ...).

    Returns:
        A float array, NaN where a run lacks the value.

    >>> values([], "final_test_acc").size
    0
    """
    return np.array([math.nan if r.summary.get(key) is None else r.summary[key] for r in runs])


def groups(runs: Sequence[Run], key: str) -> dict[str, np.ndarray]:
    """:func:`values` of ``key`` per label (``runs.by_label``)."""
    return {label: values(members, key) for label, members in by_label(runs).items()}


def grouped(
    x: Sequence[float], y: Sequence[float], configurations: Sequence[object], sign: int = 1
) -> Evidence:
    """A correlation over runs that come in configurations, decided on the
    configurations' means (``grouped.grouped_correlation``), with the robustness view
    fixed in advance (leave-one-run-out range, Spearman over the runs) in its text,
    never deciding.

    Args:
        x, y: one value per run.
        configurations: one key per run; runs sharing a key are one configuration.
        sign: the paper's direction, +1 (r > 0) or -1 (r < 0).

    Returns:
        The grouped correlation's evidence, its text extended with the robustness view.
    """
    evidence = grouped_correlation(x, y, configurations, sign=sign)
    view = correlation_robustness(x, y, configurations)
    return replace(evidence, text=f"{evidence.text}; {view.text}")


def versus(a: str, b: str, key: str, rule: Callable = ordering) -> PartsOf:
    """The parts "label ``a`` above label ``b`` on ``key``" (``rule``: a two-group rule of
    ``verdicts``, ``ordering`` by default); no part if either group is missing."""

    def parts(runs: Sequence[Run], profile: str) -> Parts:
        found = groups(runs, key)
        if a not in found or b not in found:
            return []
        return [(f"{a} - {b}", rule(found[a], found[b]))]

    return parts
