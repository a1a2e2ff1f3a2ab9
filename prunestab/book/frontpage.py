"""The book's front page: the answer first (one row per central claim, with what the
paper found, what we found at CPU scale, the bound the data support and the verdict with
its power), the findings as one forest plot, the scale and data they come from; then the
chapters, each profile's counts and the budget study behind folds. From stored results
only (nothing is trained here)."""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt

from prunestab.book import claims, plots
from prunestab.book.claims import figure_title
from prunestab.book.tables import (
    POWER_AT,
    badge,
    cells_table,
    estimate_line,
    power_line,
    sentence,
    settled,
    width_report,
)
from prunestab.paper import budget, rates, study, width, windows
from prunestab.paper.budget import CENTRAL_PROFILES
from prunestab.paper.claim import Claim, bound_text
from prunestab.paper.profiles import BUDGET_PROFILES, PUBLISHED, default_store
from prunestab.paper.registry import CHAPTERS, figure_grid
from prunestab.verdicts import INCONCLUSIVE


@dataclass(frozen=True)
class FollowUps:
    """The three pre-registered follow-ups as the store holds them (``study.FollowUp``
    each): the width test, Figure 5's windows and the rate study."""

    width: study.FollowUp
    windows: study.FollowUp
    rates: study.FollowUp


def follow_ups(store: str | os.PathLike | None = None) -> FollowUps:
    """The follow-ups, read from the store once for the whole page: the answer table, the
    forest plot and the budget fold all ask, and a rate study decided simulates its power
    (a few seconds). Read again whenever a result file of the store is added or changed."""
    roots = {default_store(store, p).root for p in BUDGET_PROFILES}
    seen = tuple(
        (str(path), path.stat().st_mtime_ns)
        for root in sorted(roots)
        for path in sorted(root.glob("*/result.json"))
    )
    return _read_follow_ups(None if store is None else os.fspath(store), seen)


@functools.lru_cache(maxsize=4)
def _read_follow_ups(store: str | None, seen: tuple) -> FollowUps:
    """:func:`follow_ups` for one state of the store (``seen``: its result files and their
    modification times, which only key the cache)."""
    return FollowUps(width.follow_up(store), windows.follow_up(store), rates.follow_up(store))


def verdict_counts(found) -> dict[str, int]:
    """How many of the claims ``found`` have each verdict, in ``claims.VERDICTS`` order."""
    return {v: sum(c.verdict == v for c in found) for v in claims.VERDICTS}


def _undecided(profile: str, stored: dict[str, tuple[int, int]]) -> str:
    """The cell of a profile with no claims decided yet: what it will decide (the
    protocol's central claims at a budget, book/budget.md) and how far its runs are
    (``stored[figure]``: runs stored, runs planned)."""
    if profile not in BUDGET_PROFILES:
        return "not yet decided"
    central = [figure for figure, at in CENTRAL_PROFILES.items() if at == profile]
    if not central:
        return "decides no claim: a point of the budget study only"
    parts = [
        f"{figure_title(f)}'s central claims: {stored[f][0]} of {stored[f][1]} runs stored"
        for f in central
    ]
    return "not yet decided (" + "; ".join(parts) + ")"


def findings_html(profile: str = "quick", store: str | os.PathLike | None = None) -> str:
    """A table: per profile, its optimizer steps per run, the claims it has decided and
    how many came out reproduced / contradicted / inconclusive; then where the central
    claims stand. ``profile="smoke"`` reports only the smoke profile (a plumbing check)."""
    profiles = ("smoke",) if profile == "smoke" else PUBLISHED
    stored = {}  # each central grid read once: (runs stored, runs planned)
    if profile != "smoke":
        for figure in CENTRAL_PROFILES:
            have, total = budget.central_runs(figure, store)
            stored[figure] = (len(have), total)
    rows = []
    for name in profiles:
        recorded = claims.load(default_store(store, name), name)
        found = [c for figure_claims in recorded.values() for c in figure_claims]
        counts = verdict_counts(found)
        figures = ", ".join(figure_title(f) for f in sorted(recorded)) or "none yet"
        cells = [
            f"<code>{html.escape(name)}</code>",
            f"{budget.steps_per_run(name):,}",
            f"{_claims_count(len(found))} ({html.escape(figures)})",
        ]
        if found:
            said = ", ".join(badge(v, f"{counts[v]} {v}") for v in claims.VERDICTS)
            cells.append(said)
        else:
            cells.append(_undecided(name, stored))
        rows.append(cells)
    table = cells_table(
        ("profile", "optimizer steps per run", "claims decided", "verdicts"),
        rows,
        "How many claims each profile has decided, and how they came out.",
    )
    notes = []
    if profile != "smoke":
        for figure, central in CENTRAL_PROFILES.items():
            decided = figure in claims.load(default_store(store, central), central)
            state = "decided" if decided else "not yet decided"
            notes.append(
                f"{figure_title(figure)}'s central claims at {budget.steps_per_run(central):,} "
                f"steps: {stored[figure][0]} of {stored[figure][1]} runs stored, {state}"
            )
    else:
        notes.append("the smoke profile checks the plumbing; its verdicts say nothing")
    return (
        '<div class="ps-findings"><p>Every claim is tested in the paper\'s direction and '
        "against it, each at a nominal 2.5% (by simulation at most 3.3%, Welch's test at 3 "
        "runs per group); <em>inconclusive</em> means the runs could not "
        "tell, which is not evidence against the paper. Each claim with its numbers: "
        f'<a href="claims.html">the claims page</a>.</p>{table}<p>'
        + "; ".join(notes)
        + ".</p></div>"
    )


def _claims_count(n: int) -> str:
    """
    >>> _claims_count(1), _claims_count(3)
    ('1 claim', '3 claims')
    """
    return f"{n} claim" + ("" if n == 1 else "s")


def _found_text(figure: str, recorded: dict[str, dict]) -> str:
    """What we found for ``figure``: its recorded verdicts per profile that decided any
    (quick, and the budget profile where the protocol decides its central claims)."""
    parts = []
    for name in PUBLISHED:
        if name != "quick" and CENTRAL_PROFILES.get(figure) != name:
            continue
        found = recorded[name].get(figure, [])
        if not found:
            continue
        counts = verdict_counts(found)
        said = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        where = (
            f"{budget.steps_per_run(name):,} steps"
            if name in BUDGET_PROFILES
            else f"<code>{name}</code>"
        )
        parts.append(f"{where}: {_claims_count(len(found))}, {said}")
    return "; ".join(parts) or "not yet decided"


def chapters_html(profile: str = "quick", store: str | os.PathLike | None = None) -> str:
    """The chapter table: what the paper claims and, apart from it, what our runs found
    (counts of verdicts from the recorded claims, per deciding profile), so a paper claim
    is never read as our finding. At ``smoke``, only the smoke profile's claims."""
    rows = []
    # Each profile's recorded claims, read once for the whole table.
    recorded = (
        {}
        if profile == "smoke"
        else {name: claims.load(default_store(store, name), name) for name in PUBLISHED}
    )
    for chapter in (c for c in CHAPTERS if c.on_front_page):
        figure = chapter.decides
        if figure is None:
            found = "no claim to decide: a derivation, checked against references by the tests"
        elif profile == "smoke":
            recorded = claims.load(default_store(store, "smoke"), "smoke").get(figure, [])
            found = f"smoke: {_claims_count(len(recorded))} (a plumbing check; says nothing)"
        else:
            found = _found_text(figure, recorded)
        rows.append(
            [
                f'<a href="../{chapter.notebook.removesuffix(".ipynb")}.html">'
                f"{chapter.title}</a> ({chapter.section})",
                chapter.paper_claims,
                found,
            ]
        )
    return cells_table(
        ("chapter", "the paper claims", "what we found"),
        rows,
        "The chapters: what the paper claims in each, and apart from it what our runs "
        "found (counts of verdicts per profile that decided them).",
    )


def figure_html(fig, alt: str) -> str:
    """A figure as an ``<img>`` embedded in HTML (PNG at ``plots.DPI``), so that it can sit
    inside a table's fold or a ``<details>``; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=plots.DPI, bbox_inches="tight")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<div class="ps-figure-wide"><img class="ps-figure" src="data:image/png;base64,'
        f'{encoded}" alt="{html.escape(alt)}" style="max-width: 100%; height: auto;"></div>'
    )


def budget_html(profile: str = "quick", store: str | os.PathLike | None = None) -> str:
    """The budget study's figure from the stored runs (``plots.budget_tradeoff``) with its
    readings and the two follow-ups' reports, as HTML for a fold; at ``smoke`` nothing
    (the budget study has no smoke runs in the book)."""
    if profile == "smoke":
        return ""
    plots.style()
    runs = {name: budget.stored_runs("budget", name, store) for name in BUDGET_PROFILES}
    points = [budget.budget_point(runs[name], name) for name in BUDGET_PROFILES if runs[name]]
    drawn = figure_html(
        plots.budget_tradeoff(points, budget.PAPER_R_VGG11),
        "prune_L 13% minus unpruned and r(instability, accuracy) against optimizer steps",
    )
    stored = sum(len(r) for r in runs.values())
    follow = follow_ups(store)
    wide, window = follow.width, follow.windows
    total = sum(len(figure_grid("budget", name)) for name in BUDGET_PROFILES)
    return (
        "<p>At which training budget does the generalization-stability tradeoff appear, "
        "and does it grow toward the paper's size? Left, prune<sub>L</sub> 13% minus "
        "unpruned (last-epoch test accuracy); right, Pearson's r between instability and "
        "accuracy over the pruned configurations' means; each with its 95% interval, from "
        + (
            f"all {total} of the study's planned runs "
            if stored == total
            else f"{stored} of the study's {total} planned runs stored so far "
        )
        + '(<a href="../notebooks/budget_study.html">the budget study</a>, '
        '<a href="budget.html">its protocol</a>).</p>'
        + drawn
        + _readings_html(points, runs)
        + "<p><strong>Absent, or too small?</strong> "
        + sentence(wide.status)
        + " The reading of each outcome is fixed in the protocol before the runs.</p>"
        + ("" if wide.test is None else width_report(wide.test))
        + "<p><strong>Figure 5's noise windows.</strong> "
        + sentence(window.status)
        + "</p>"
    )


#: The measure the answer table shows of a claim recorded on both (the forest plot and
#: the claims page show both).
ANSWER_MEASURE = "(last-epoch accuracy)"
OTHER_MEASURE = "(best accuracy after the last pruning event)"


def central_claims(store: str | os.PathLike | None = None) -> list[Claim]:
    """The central claims as the protocol decided them (``budget.CENTRAL_PROFILES``: Figure
    1 at 10,400 steps, Figure 5 at 2,600), in the registry's order."""
    found = []
    for figure, profile in CENTRAL_PROFILES.items():
        found += claims.load(default_store(store, profile), profile).get(figure, [])
    return found


def _width_claim(store) -> Claim | None:
    """The width test's prune_L 13% - unpruned at width 0.5, as a claim row (its verdict,
    power at +1 point and bound), or ``None`` before the test is decided."""
    test = follow_ups(store).width.test
    if test is None:
        return None
    e = test.difference[width.TEST[1]]["final_test_acc"]
    name = f"width {width.TEST[1]:g}: prune_L 13% - unpruned"
    bound = bound_text([("", e)]) if e.verdict == INCONCLUSIVE else ""
    return Claim(
        "fig1",
        "VGG11 at twice the width: prune_L 13% beats unpruned (last-epoch accuracy)",
        "highest curve in Figure 1 left",
        e.text,
        e.verdict,
        width.TEST[0],
        " vs ".join(map(str, e.n)),
        None if e.power_at is None else e.power_at(1.0),
        "+1 point",
        bound,
        ((name, e.estimate, e.low, e.high, e.verdict, "difference"),),
    )


def answer_html(profile: str = "quick", store: str | os.PathLike | None = None) -> str:
    """The answer at a glance: one row per central claim (last-epoch accuracy where a
    claim is recorded on both measures), with what the paper found, what we found at CPU
    scale, the bound the data support with the rule's power, and the verdict; the
    width test's comparison and the rate study (under way: runs stored, its power)."""
    if profile == "smoke":
        return ""
    rows = []
    shown = [c for c in central_claims(store) if not c.claim.endswith(OTHER_MEASURE)]
    wide = _width_claim(store)
    if wide is not None:
        shown.insert(2, wide)
    for c in shown:
        scale = f"{budget.steps_per_run(c.profile):,} steps"
        said = c.bound or settled(c)
        rows.append(
            [
                f"<strong>{html.escape(figure_title(c.figure))}</strong>: "
                + html.escape(c.claim.removesuffix(ANSWER_MEASURE).rstrip()),
                html.escape(c.paper),
                f"{html.escape(estimate_line(c))}<br><small>{scale}</small>",
                f"{html.escape(said)}<br><small>{html.escape(power_line(c))}</small>",
                badge(c.verdict),
            ]
        )
    rows.append(rate_row(follow_ups(store).rates, lambda: _rate_power(store)))
    return cells_table(
        (
            "claim",
            "the paper found",
            "we found (95% interval)",
            "the bound the data support",
            "verdict",
        ),
        rows,
        "The paper's central claims at the largest budgets a CPU affords (last-epoch "
        "accuracy; the claims page has both measures). " + POWER_AT.capitalize() + ".",
    )


def rate_row(follow: study.FollowUp, planned_power: Callable[[], float]) -> list[str]:
    """The answer table's row for the rate study: while runs are missing, how many are
    stored and the power fixed before them (``planned_power()``); once decided, the
    central r and slope with their intervals, the bound (unless reproduced) with the power
    over the runs' own design, and the verdict in the protocol's front-page words
    (``rates.FRONT_PAGE``)."""
    claim = (
        "<strong>Figure 1</strong>: instability goes with accuracy, over 13 "
        "configurations (the rate study, the powered test; best accuracy after the last "
        "pruning event, the paper's measure)"
    )
    paper_r = f"r = {rates.PAPER_R_TEXT}"
    scale = "10,400 steps, width 0.5"
    test = follow.test
    if test is None:
        return [
            claim,
            paper_r,
            f"under way: {len(follow.added)} of {len(rates.new_runs())} runs stored<br>"
            f"<small>{scale}</small>",
            f"power {planned_power():.0%} at the paper's r; nothing is decided until all "
            "runs are stored",
            "not yet decided",
        ]
    c = test.claim
    return [
        claim,
        paper_r,
        f"r = {test.central.estimate:+.2f} over {test.configurations} configuration means; "
        f"{html.escape(test.slope_line)}<br><small>{scale}</small>",
        f"{html.escape(c.bound or 'the interval excludes zero')}<br>"
        f"<small>{html.escape(power_line(c))}</small>",
        f"{badge(c.verdict)}<br><small>{html.escape(test.front_page)}</small>",
    ]


def _rate_power(store) -> float:
    """The rate study's pre-registered power at the paper's r over all its
    configurations (``rates.power_row`` on the planning design)."""
    design = rates.planning_design(store)
    every = rates.subsets(design)[max(rates.subsets(design))]
    return rates.power_row(design.subset(every)).paper_r


def central_forest(profile: str = "quick", store: str | os.PathLike | None = None):
    """The central claims as a forest plot (``plots.forest``), both accuracy measures and
    the width test's comparison; ``None`` at ``smoke``."""
    if profile == "smoke":
        return None
    plots.style()
    found = central_claims(store)
    wide = _width_claim(store)
    if wide is not None:
        found.insert(3, wide)
    decided = follow_ups(store).rates.test
    if decided is not None:  # after Figure 1's claims
        found.insert(sum(c.figure == "fig1" for c in found), decided.claim)
    rows = [
        (
            claims.claim_label(c, 36, "\n", at=f"{budget.steps_per_run(c.profile):,} steps"),
            c.parts,
            c.verdict,
        )
        for c in found
    ]
    return plots.forest(rows)


def dataset_copies(store: str | os.PathLike | None = None) -> dict[str, int]:
    """How many stored results (``result.json`` under the published store) came from
    each copy of CIFAR-10 (``dataset.variant``: ``official`` or ``modified``)."""
    root = default_store(store, "quick").root
    counts: dict[str, int] = {}
    for path in sorted(root.glob("*/result.json")):
        variant = json.loads(path.read_text())["dataset"]["variant"]
        counts[variant] = counts.get(variant, 0) + 1
    return counts


def scale_html(profile: str = "quick", store: str | os.PathLike | None = None) -> str:
    """At which scale and on which data every verdict above was reached: the budgets as a
    fraction of the paper's optimizer steps, and how many stored results come from the
    JPEG re-encoded copy of CIFAR-10 (whose effect on accuracy is unmeasured)."""
    paper = budget.steps_per_run("paper")
    steps = [budget.steps_per_run(p) for p in BUDGET_PROFILES]
    low, high = min(steps) / paper, max(steps) / paper
    copies = dataset_copies(store)
    total = sum(copies.values())
    modified = copies.get("modified", 0)
    data = (
        f"<strong>Every stored result ({modified} of {total}) comes from the JPEG "
        "re-encoded copy of CIFAR-10</strong> (the offline copy; the official files were "
        "not reachable), and how much that moves accuracy is unmeasured"
        if modified == total
        else f"{modified} of {total} stored results come from the JPEG re-encoded copy of "
        "CIFAR-10, the others from the official files; how much the copy moves accuracy "
        "is unmeasured"
    )
    return (
        f"<p><strong>At which scale.</strong> The budgets run {min(steps):,} to "
        f"{max(steps):,} optimizer steps per run, {low:.1%} to {high:.1%} of the paper's "
        f"{paper:,}, at a quarter or half of VGG11's width. {data}. These verdicts "
        "describe these reduced scales, not the paper's; the <code>paper</code> profile "
        '(Appendix A.3, <a href="reproduce.html">How to reproduce</a>) is the test that '
        "remains.</p>"
    )


def _readings_html(points, runs) -> str:
    """Each budget's point in words (``budget.reading``), as an HTML list."""
    items = []
    for point in points:
        said = budget.reading(
            point, len(runs[point.profile]), len(figure_grid("budget", point.profile))
        )
        items.append(sentence(said))
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>" if items else ""
