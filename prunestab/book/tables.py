"""The book's tables as HTML: claims with their verdicts, and small tables of numbers.

Notebook outputs must be HTML, not Markdown: MyST-NB renders a notebook's Markdown
output as CommonMark, which has no tables, so a Markdown table reaches the reader as raw
text. Tables carry ``class="claims"`` and verdicts are plain-text badges (a ``<span
class="verdict verdict-...">``), both styled by the book's CSS
(``book/_static/verdicts.css``): no emoji or other glyph that needs a font the reader
may lack.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Collection, Mapping, Sequence

from prunestab.paper.budget import Criteria
from prunestab.paper.claim import Claim
from prunestab.paper.width import NARROW as WIDTH_NARROW
from prunestab.paper.width import TEST as WIDTH_TEST
from prunestab.paper.width import WidthTest
from prunestab.paper.width import grid as width_test_grid
from prunestab.paper.width import rows as width_test_rows
from prunestab.verdicts import Evidence


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table of plain cells as HTML.

    Args:
        header: the column names.
        rows: the cells, row by row (escaped; any value is shown by ``str``).

    Returns:
        ``<table class="claims">...</table>``.

    >>> html_table(["a"], [[1]])
    '<table class="claims"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def sentence(text: str) -> str:
    """A sentence of the library's (Markdown code spans in backticks) as HTML.

    >>> sentence("`steps2600`: 3 < 5")
    '<code>steps2600</code>: 3 &lt; 5'
    """
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def badge(verdict: str, text: str | None = None) -> str:
    """A verdict as a styled text badge.

    Args:
        verdict: ``reproduced``, ``contradicted`` or ``inconclusive`` (its CSS class).
        text: what the badge says (default: the verdict).

    >>> badge("reproduced", "3 reproduced")
    '<span class="verdict verdict-reproduced">3 reproduced</span>'
    """
    shown = verdict if text is None else text
    return f'<span class="verdict verdict-{verdict}">{html.escape(shown)}</span>'


def claims_table(claims: Sequence[Claim]) -> str:
    """One row per decided claim: figure, claim, paper, ours, n, and the verdict's badge.

    >>> table = claims_table([Claim("fig1", "c", "p", "o", "inconclusive", "quick", "5 vs 5")])
    >>> table.count("<tr>"), 'class="verdict verdict-inconclusive"' in table
    (2, True)
    """
    rows = []
    for c in claims:
        cells = [c.figure, c.claim, c.paper, c.ours, c.n]
        tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        rows.append(f"<tr>{tds}<td>{badge(c.verdict)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("figure", "claim", "paper", "ours", "n", "verdict"))
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def evidence_table(rows: Sequence[tuple[str, str, Evidence]]) -> str:
    """One row per comparison: setting, comparison, estimate with its interval, verdict.

    >>> from prunestab.verdicts import ordering
    >>> table = evidence_table([("width 0.5", "a - b", ordering([3.0, 4.0], [1.0, 2.0]))])
    >>> table.count("<tr>"), 'class="verdict verdict-' in table
    (2, True)
    """
    body = "".join(
        f"<tr><td>{html.escape(setting)}</td><td>{html.escape(comparison)}</td>"
        f"<td>{html.escape(e.text)}</td><td>{badge(e.verdict)}</td></tr>"
        for setting, comparison, e in rows
    )
    head = "".join(f"<th>{h}</th>" for h in ("setting", "comparison", "estimate", "verdict"))
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def shown(value: float, spec: str, unit: str = "") -> str:
    """A number formatted by ``spec`` (with ``unit``), or "-" where it is NaN (not known).

    >>> shown(0.5, ".0%"), shown(float("nan"), ".1f")
    ('50%', '-')
    """
    return "-" if math.isnan(value) else format(value, spec) + unit


def criteria_table(rows: Sequence[tuple[str, Criteria, int]]) -> str:
    """The budget protocol's criteria, one row per (name, criteria, planned unpruned runs).

    The SD across unpruned runs is shown only once all of a row's planned unpruned runs
    are stored ("-" before: from two or three runs it is too uncertain to read).

    >>> from prunestab.paper.budget import criteria
    >>> criteria_table([("steps650", criteria([], "steps650"), 5)]).count("<tr>")
    2
    """

    body = []
    for name, c, planned_unpruned in rows:
        marks = c.verdicts
        spread = c.final_test_sd if c.unpruned_runs >= planned_unpruned else math.nan
        events = c.recovery_events
        body.append(
            [
                name,
                c.unpruned_runs,
                f"{shown(c.train_acc_before_decay, '.1f', '%')} ({marks['fits before the decay']})",
                f"{shown(c.gap_at_last_epoch, '.1f')} ({marks['over-fits']})",
                f"{shown(c.final_test_se, '.2f')} ({marks['precise']})",
                shown(spread, ".2f"),
                f"{shown(c.events_recovered, '.0%')} of {events}" if events else "-",
                shown(c.median_recovery_epochs, "g"),
            ]
        )
    return html_table(CRITERIA_COLUMNS, body)


#: The criteria table's columns.
CRITERIA_COLUMNS = (
    "profile",
    "unpruned runs",
    "train acc. at epoch 150",
    "gap at the end (points)",
    "SE of a final accuracy",
    "SD across unpruned runs",
    "13% events recovered",
    "median epochs to recover (recovered events)",
)


def width_report(test: WidthTest) -> str:
    """The width test's report (book/budget.md, items 1-5): per width the criteria, then
    every comparison with its verdict, then the correlations' robustness view."""
    narrow, wide = WIDTH_NARROW, WIDTH_TEST[1]
    planned = sum(c.pruning is None for c in width_test_grid())
    crit = criteria_table(
        [(f"{WIDTH_TEST[0]}, width {w:g}", test.criteria[w], planned) for w in (narrow, wide)]
    )
    robust = "; ".join(f"width {w:g}: {test.robustness[w].text}" for w in (narrow, wide))
    return (
        crit
        + evidence_table(width_test_rows(test))
        + f"<p>Robustness of the correlations (does not decide): {html.escape(robust)}</p>"
    )


def claims_by_profile(
    by_profile: dict[str, Sequence[Claim]],
    figures: Sequence[str],
    decides: Mapping[str, Collection[str]] | None = None,
    pending: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """One row per claim of ``figures``, one verdict column per profile (with its n).

    Args:
        by_profile: each profile's recorded claims, in column order.
        figures: the figures whose claims are rows.
        decides: the figures each profile is meant to decide (a profile not in it
            decides all); elsewhere the cell says "not run at this profile".
        pending: under a profile's "not yet decided" cell, ``pending[(profile,
            figure)]`` where given (e.g. how many runs are stored).

    Returns:
        The HTML table.
    """
    profiles = list(by_profile)
    wordings: list[tuple[str, str]] = []
    for claims in by_profile.values():
        for c in claims:
            if c.figure in figures and (c.figure, c.claim) not in wordings:
                wordings.append((c.figure, c.claim))
    index = {(p, c.figure, c.claim): c for p, cs in by_profile.items() for c in cs}
    rows = []
    for figure, wording in wordings:
        cells = [f"<td>{html.escape(figure)}</td><td>{html.escape(wording)}</td>"]
        for profile in profiles:
            c = index.get((profile, figure, wording))
            if decides is not None and profile in decides and figure not in decides[profile]:
                cells.append("<td>not run at this profile</td>")  # whatever was recorded
            elif c is not None:
                cells.append(
                    f"<td>{badge(c.verdict)}<br><small>n = {html.escape(c.n)}</small></td>"
                )
            else:
                note = (pending or {}).get((profile, figure))
                extra = f"<br><small>{html.escape(note)}</small>" if note else ""
                cells.append(f"<td>not yet decided{extra}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "<th>figure</th><th>claim</th>" + "".join(f"<th>{html.escape(p)}</th>" for p in profiles)
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def probe_provenance(measured: Mapping, stored_test_acc: float) -> str:
    """One paragraph saying which weights a stored probe measured (``prunestab.training.probe``)
    and how their test accuracy compares with the stored run's final one.

    Args:
        measured: the probe's ``weights``, ``weights_test_acc`` and ``test_images``.
        stored_test_acc: the stored run's last-epoch test accuracy, percent.

    >>> print(probe_provenance({"weights": "the run's own final weights",
    ...     "weights_test_acc": 46.2, "test_images": 500}, 46.2))
    <p>Measured on the run's own final weights: on the 500 test images these weights score 46.20%, the stored run 46.20% (last epoch).</p>
    """
    return (
        f"<p>Measured on {html.escape(measured['weights'], quote=False)}: on the "
        f"{measured['test_images']:,} test images these weights score "
        f"{measured['weights_test_acc']:.2f}%, the stored run {stored_test_acc:.2f}% "
        "(last epoch).</p>"
    )
