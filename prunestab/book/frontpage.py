"""The book's front page: what the book found, per profile, and the one figure that
answers whether the paper's tradeoff appears (the budget study's), from stored results
only (nothing is trained here)."""

from __future__ import annotations

import html
import os

import matplotlib.pyplot as plt

from prunestab.book import claims, plots
from prunestab.book.tables import badge, sentence, width_report
from prunestab.paper import budget, width, windows
from prunestab.paper.budget import CENTRAL_PROFILES
from prunestab.paper.profiles import BUDGET_PROFILES, PUBLISHED, default_store
from prunestab.paper.registry import CHAPTERS, figure_grid


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
    parts = [f"{f}'s central claims: {stored[f][0]} of {stored[f][1]} runs stored" for f in central]
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
        figures = ", ".join(sorted(recorded)) or "none yet"
        cells = [
            f"<td><code>{html.escape(name)}</code></td>",
            f"<td>{budget.steps_per_run(name):,}</td>",
            f"<td>{len(found)} ({html.escape(figures)})</td>",
        ]
        if found:
            cells += [f"<td>{badge(v, f'{counts[v]} {v}')}</td>" for v in claims.VERDICTS]
        else:
            cells.append(f'<td colspan="{len(claims.VERDICTS)}">{_undecided(name, stored)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "profile",
            "optimizer steps per run",
            "claims decided (figures)",
            *claims.VERDICTS,
        )
    )
    table = f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    notes = []
    if profile != "smoke":
        for figure, central in CENTRAL_PROFILES.items():
            decided = figure in claims.load(default_store(store, central), central)
            state = "decided" if decided else "not yet decided"
            notes.append(
                f"{figure}'s central claims at <code>{central}</code>: {stored[figure][0]} of "
                f"{stored[figure][1]} runs stored, {state}"
            )
    else:
        notes.append("the smoke profile checks the plumbing; its verdicts say nothing")
    return (
        '<div class="ps-findings"><p><strong>What the book found so far.</strong> Every '
        "claim is tested in the paper's direction and against it, each at 2.5% (every "
        "rule, equivalence included; correlations on configuration means); "
        "<em>inconclusive</em> means the runs could not tell, which is not evidence "
        'against the paper. Each claim with its numbers: <a href="claims.html">the '
        f"claims page</a>.</p>{table}<p>" + "; ".join(notes) + ".</p></div>"
    )


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
        parts.append(f"<code>{name}</code>: {len(found)} claims, {said}")
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
            found = f"smoke: {len(recorded)} claims (a plumbing check; says nothing)"
        else:
            found = _found_text(figure, recorded)
        rows.append(
            f'<tr><td><a href="../{chapter.notebook.removesuffix(".ipynb")}.html">'
            f"{chapter.title}</a></td><td>{chapter.section}</td>"
            f"<td>{chapter.paper_claims}</td><td>{found}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("chapter", "paper", "the paper claims", "what we found")
    )
    return (
        f'<table class="claims chapters"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def budget_figure(profile: str = "quick", store: str | os.PathLike | None = None):
    """The budget study's figure from the stored runs (``plots.budget_tradeoff``), shown;
    at ``smoke`` nothing (the budget study has no smoke runs in the book)."""
    from IPython.display import HTML, display  # the book's extra, not the library's

    if profile == "smoke":
        return
    plots.style()
    runs = {name: budget.stored_runs("budget", name, store) for name in BUDGET_PROFILES}
    points = [budget.budget_point(runs[name], name) for name in BUDGET_PROFILES if runs[name]]
    plots.budget_tradeoff(points, budget.PAPER_R_VGG11)
    plt.show()
    stored = sum(len(r) for r in runs.values())
    wide, window = width.follow_up(store), windows.follow_up(store)
    total = sum(len(figure_grid("budget", name)) for name in BUDGET_PROFILES)
    display(
        HTML(
            "<p><em>The question the book is built to answer: at which training budget does "
            "the generalization-stability tradeoff appear, and does it grow toward the "
            "paper's size? Left, prune<sub>L</sub> 13% minus unpruned (last-epoch test "
            "accuracy); right, Pearson's r between instability and accuracy over the pruned "
            "configurations' means; each with its "
            "95% interval, from "
            + (
                f"all {total} of the study's planned runs "
                if stored == total
                else f"{stored} of the study's {total} planned runs stored so far "
            )
            + '(<a href="../notebooks/budget_study.html">the budget study</a>, '
            '<a href="budget.html">its protocol</a>).</em></p>'
            + _readings_html(points, runs)
            + "<p><strong>Absent, or too small?</strong> "
            + sentence(wide.status)
            + " The reading of each outcome is fixed in the protocol before the runs.</p>"
            + ("" if wide.test is None else width_report(wide.test))
            + "<p><strong>Figure 5's noise windows.</strong> "
            + sentence(window.status)
            + "</p>"
        )
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
