"""The book's front page: what the book found, per profile, and the one figure that
answers whether the paper's tradeoff appears (the budget study's), from stored results
only (nothing is trained here)."""

from __future__ import annotations

import html
import os
import re

from prunestab import budget, claims
from prunestab.analysis import default_store
from prunestab.figures import BUDGET_PROFILES, CENTRAL_PROFILES, figure_grid

#: The profiles the front page reports, in order of training budget.
PUBLISHED = ("quick", *BUDGET_PROFILES)


def verdict_counts(found) -> dict[str, int]:
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
            cells += [
                f'<td><span class="verdict verdict-{v}">{counts[v]} {v}</span></td>'
                for v in claims.VERDICTS
            ]
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
        "claim is tested in the paper's direction and against it (each at 2.5%); "
        "<em>inconclusive</em> means the runs could not tell, which is not evidence "
        'against the paper. Each claim with its numbers: <a href="claims.html">the '
        f"claims page</a>.</p>{table}<p>" + "; ".join(notes) + ".</p></div>"
    )


def budget_figure(profile: str = "quick", store: str | os.PathLike | None = None):
    """The budget study's figure from the stored runs (``plots.budget_tradeoff``), shown;
    at ``smoke`` nothing (the budget study has no smoke runs in the book)."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    from prunestab import plots

    if profile == "smoke":
        return
    plots.style()
    runs = {name: budget.stored_runs("budget", name, store) for name in BUDGET_PROFILES}
    points = [budget.budget_point(runs[name], name) for name in BUDGET_PROFILES if runs[name]]
    plots.budget_tradeoff(points)
    plt.show()
    stored = sum(len(r) for r in runs.values())
    total = sum(len(figure_grid("budget", name)) for name in BUDGET_PROFILES)
    display(
        HTML(
            "<p><em>The question the book is built to answer: at which training budget does "
            "the generalization-stability tradeoff appear, and does it grow toward the "
            "paper's size? Left, prune<sub>L</sub> 13% minus unpruned (last-epoch test "
            "accuracy); right, Pearson's r between instability and accuracy; each with its "
            f"95% interval, from {stored} of the study's {total} planned runs stored so far "
            '(<a href="../notebooks/budget_study.html">the budget study</a>, '
            '<a href="budget.html">its protocol</a>).</em></p>' + _readings_html(points, runs)
        )
    )


def _readings_html(points, runs) -> str:
    """Each budget's point in words (``budget.reading``), as an HTML list."""
    items = []
    for point in points:
        said = budget.reading(
            point, len(runs[point.profile]), len(figure_grid("budget", point.profile))
        )
        items.append(re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(said)))
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>" if items else ""
