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
    """

    figure: str
    claim: str
    paper: str
    ours: str
    verdict: str
    profile: str = ""
    n: str = ""


@dataclass(frozen=True)
class ClaimSpec:
    """One row of the paper's claims: figure, wording, the paper's report, and the test.

    Args:
        figure: the figure's registry name.
        wording: the claim, in the paper's direction.
        paper: what the paper reports for it.
        parts: ``parts(runs, profile)``, the named evidence the verdict combines (empty
            when the runs hold none of what it compares).
    """

    figure: str
    wording: str
    paper: str
    parts: PartsOf

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
        return Claim(
            self.figure, self.wording, self.paper, ours, verdict, profile, ", ".join(sizes)
        )


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
