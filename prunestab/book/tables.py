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
import textwrap
from collections.abc import Collection, Mapping, Sequence

from prunestab.book.claims import figure_title
from prunestab.paper.budget import Criteria
from prunestab.paper.claim import (
    EQUIVALENCE_MARGIN,
    SLOPE,
    Claim,
    comparison_bound,
    comparison_power,
)
from prunestab.paper.rates import NEAR_CHANCE, RateTest
from prunestab.paper.width import NARROW as WIDTH_NARROW
from prunestab.paper.width import TEST as WIDTH_TEST
from prunestab.paper.width import WidthTest
from prunestab.paper.width import grid as width_test_grid
from prunestab.paper.width import rows as width_test_rows
from prunestab.verdicts import Evidence


def cells_table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    """A table of cells already in HTML, with its caption; each cell carries its column's
    name (``data-label``), which a narrow screen shows beside it (``verdicts.css``)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{html.escape(str(h))}">{cell}</td>'
            for h, cell in zip(header, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    shown = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<table class="claims">{shown}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "") -> str:
    """A table of plain cells as HTML.

    Args:
        header: the column names.
        rows: the cells, row by row (escaped; any value is shown by ``str``).
        caption: what the table shows, in a sentence (Markdown code spans allowed).

    Returns:
        ``<table class="claims">...</table>``.

    >>> html_table(["a"], [[1]], "One number.")
    '<table class="claims"><caption>One number.</caption><thead><tr><th>a</th></tr></thead><tbody><tr><td data-label="a">1</td></tr></tbody></table>'
    """
    cells = [[html.escape(str(cell)) for cell in row] for row in rows]
    return cells_table(header, cells, sentence(caption) if caption else "")


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


#: The claims table's caption unless a page gives its own.
#: What a power is stated at, as the captions say it (``claim.REFERENCE``).
POWER_AT = (
    'power: the chance the rule says "reproduced" on this design if the effect were a '
    "1-point difference in the paper's direction (a match: a 1-point effect of pruning, "
    "matched exactly), or the paper's r for a correlation"
)
CLAIMS_CAPTION = (
    "Each claim of the paper with what our runs measured: the estimate and its 95% "
    "interval, the bound the data support where the verdict is inconclusive, and the "
    f'verdict with its power ({POWER_AT}). "Details" opens every comparison and the '
    "number of runs."
)


def _number(value: float, kind: str) -> str:
    """An estimate or an interval end as the claims table shows it (a slope to 3
    significant digits: its units vary by orders of magnitude across claims)."""
    if kind == "correlation":
        return f"{value:+.2f}".replace("0.", ".", 1)
    if kind.startswith(SLOPE):
        return f"{value:+.3g}"
    return f"{value:+.2f}"


def estimate_line(claim: Claim) -> str:
    """A claim's result in one line: the estimate and 95% interval of its comparison (of
    several, how many reproduced and the one most in the way of "reproduced"), or, where
    no comparison has an interval, the start of the recorded text.

    >>> c = Claim("fig5", "c", "p", "prune_L - zeroing0: +0.13 ...", "inconclusive", "quick",
    ...     "3 vs 3", parts=(("prune_L - zeroing0", 0.13, -1.3, 1.57, "inconclusive",
    ...     "difference"),))
    >>> estimate_line(c)
    'prune_L - zeroing0: +0.13 points [-1.30, +1.57]'
    """
    shown = [p for p in claim.parts if None not in (p[1], p[2], p[3])]
    if not shown:
        return textwrap.shorten(claim.ours, width=120, placeholder=" ...")
    # The comparison the bound names (``claim.limiting``), else the lowest lower end.
    named = [p for p in shown if p[0] and claim.bound.startswith(f"{p[0]}: ")]
    name, estimate, low, high, _, kind = named[0] if named else min(shown, key=lambda p: p[2])
    interval = f"{_number(estimate, kind)} [{_number(low, kind)}, {_number(high, kind)}]"
    if kind.startswith(SLOPE):  # the unit after the interval: it is long
        said = f"slope {interval} {kind.removeprefix(SLOPE)}"
    elif kind == "correlation":
        said = f"r = {interval}"
    else:
        unit = " points" if kind in ("difference", "match") else ""
        said = f"{_number(estimate, kind)}{unit} [{_number(low, kind)}, {_number(high, kind)}]"
    said = f"{name + ': ' if name else ''}{said}"
    if len(claim.parts) > 1:
        reproduced = sum(p[4] == "reproduced" for p in claim.parts)
        said = f"{reproduced} of {len(claim.parts)} comparisons reproduced; weakest {said}"
    return said


def settled(claim: Claim) -> str:
    """Where a claim has no bound (decided, or no interval), why, in words: a match's
    interval inside or beyond the margin, another's excluding zero.

    >>> settled(Claim("fig5", "c", "p", "o", "reproduced", "q", "5 vs 5",
    ...     parts=(("x - y", 0.1, -0.4, 0.6, "reproduced", "match"),)))
    'the interval lies within the 1-point margin'
    """
    if claim.verdict == "inconclusive":
        return "none: no interval"
    if any(part[5] == "match" for part in claim.parts):
        return (
            f"the interval lies within the {EQUIVALENCE_MARGIN:g}-point margin"
            if claim.verdict == "reproduced"
            else f"the difference lies beyond the {EQUIVALENCE_MARGIN:g}-point margin"
        )
    return "the interval excludes zero"


def power_line(claim: Claim) -> str:
    """A claim's power in words (``Claim.power`` at ``Claim.reference``).

    >>> power_line(Claim("fig1", "c", "p", "o", "inconclusive", "q", "4", 0.31, "r = .84"))
    'power 31% at r = .84'
    """
    if claim.power is None:
        return "power not stated" + (
            f" ({claim.reference.removeprefix('not stated: ')})" if claim.reference else ""
        )
    return f"power {claim.power:.0%} at {claim.reference}"


def claims_table(claims: Sequence[Claim], caption: str = CLAIMS_CAPTION) -> str:
    """One row per decided claim, each cell one line: the claim (its figure), what the
    paper reports, our estimate with its interval (and the bound, where inconclusive),
    and the verdict with its power; the recorded text and the runs behind a fold.

    >>> table = claims_table([Claim("fig1", "c", "p", "o", "inconclusive", "quick", "5 vs 5")])
    >>> table.count("<tr>"), 'class="verdict verdict-inconclusive"' in table, "<caption>" in table
    (2, True, True)
    """
    rows = []
    for c in claims:
        ours = html.escape(estimate_line(c))
        if c.bound:
            ours += f"<br><small>{html.escape(c.bound)}</small>"
        ours += (
            f"<details><summary>details</summary><p>{html.escape(c.ours)}</p>"
            f"<p>runs: {html.escape(c.n)}</p></details>"
        )
        rows.append(
            [
                f"<strong>{html.escape(figure_title(c.figure))}</strong>: {html.escape(c.claim)}",
                html.escape(c.paper),
                ours,
                f"{badge(c.verdict)}<br><small>{html.escape(power_line(c))}</small>",
            ]
        )
    return cells_table(
        ("claim", "paper", "ours (95% interval)", "verdict"), rows, sentence(caption)
    )


def evidence_table(
    rows: Sequence[tuple[str, str, Evidence]],
    caption: str = "Every comparison with its estimate, 95% interval and verdict.",
) -> str:
    """One row per comparison: setting, comparison, estimate with its interval, the bound
    the data support where inconclusive (the largest effect in the paper's direction the
    95% interval allows), and the verdict with its power at ``claim.REFERENCE``.

    >>> from prunestab.verdicts import ordering
    >>> table = evidence_table([("width 0.5", "a - b", ordering([3.0, 4.0, 3.5], [3.0, 2.0, 3.9]))])
    >>> table.count("<tr>"), 'class="verdict verdict-' in table, "at most +2.50 points" in table
    (2, True, True)
    """
    body = [
        [
            html.escape(setting),
            html.escape(comparison),
            html.escape(e.text),
            html.escape(_evidence_bound(e)),
            f"{badge(e.verdict)}<br><small>{html.escape(comparison_power(e))}</small>",
        ]
        for setting, comparison, e in rows
    ]
    return cells_table(
        ("setting", "comparison", "estimate", "the bound the data support", "verdict"),
        body,
        sentence(caption),
    )


def _evidence_bound(e: Evidence) -> str:
    """One comparison's bound where inconclusive (``claim.comparison_bound``), else why
    it has none (:func:`evidence_table`)."""
    if e.verdict == "inconclusive":
        return comparison_bound(e) or "-"
    if e.effect_kind == "match":
        return "within the margin" if e.verdict == "reproduced" else "beyond the margin"
    return "the interval excludes zero"


def shown(value: float, spec: str, unit: str = "") -> str:
    """A number formatted by ``spec`` (with ``unit``), or "-" where it is NaN (not known).

    >>> shown(0.5, ".0%"), shown(float("nan"), ".1f")
    ('50%', '-')
    """
    return "-" if math.isnan(value) else format(value, spec) + unit


def criteria_table(
    rows: Sequence[tuple[str, Criteria, int]],
    caption: str = "The protocol's criteria per training budget: does the unpruned model "
    "fit its training set, over-fit, and measure its accuracy precisely enough.",
) -> str:
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
    return html_table(CRITERIA_COLUMNS, body, caption)


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
        [(f"{WIDTH_TEST[0]}, width {w:g}", test.criteria[w], planned) for w in (narrow, wide)],
        f"The width test's criteria at widths {narrow:g} and {wide:g} (10,400 steps).",
    )
    robust = "; ".join(f"width {w:g}: {test.robustness[w].text}" for w in (narrow, wide))
    return (
        crit
        + evidence_table(
            width_test_rows(test),
            "The width test's comparisons: each pruned configuration against unpruned at "
            "both widths, and the width x pruning interaction.",
        )
        + f"<p>Robustness of the correlations (does not decide): {html.escape(robust)}</p>"
        + f"<p>{sentence(test.provenance_line() + '.')}</p>"
    )


def rate_report(test: RateTest) -> str:
    """The rate study's decision (book/budget.md, "The rate study"): its pre-registered
    reading and slope, then the central claim and Figure 4's claims at this scale as claims
    rows, each with its power and, where inconclusive, the bound the data support."""
    said = f"{test.reading[:1].upper()}{test.reading[1:]}."
    if test.note:
        said += f" {test.note}"
    lost = (
        f"diverged, no finite accuracy or instability, left out of their means: "
        f"{sentence(', '.join(test.diverged))}"
        if test.diverged
        else "none diverged"
    )
    if test.near_chance:
        lost += (
            f"; kept, though their last-epoch accuracy is below {NEAR_CHANCE:g}%: "
            f"{sentence(', '.join(test.near_chance))}"
        )
    robust = ""
    if test.last_epoch is not None and math.isfinite(test.last_epoch.estimate):
        e = test.last_epoch
        robust = (
            "<p><strong>The same test on last-epoch accuracy</strong> (shown, never "
            "deciding; the best after the last pruning event is a maximum over more "
            f"evaluations at larger retrain periods): slope {e.estimate:+.2f} "
            f"[{e.low:+.2f}, {e.high:+.2f}] points of accuracy per point of instability "
            f"(95%), {e.verdict} by the same rule.</p>"
        )
    return (
        f"<p><strong>Pre-registered reading:</strong> {sentence(said)}</p>"
        f"<p><strong>Dose-response:</strong> {sentence(test.slope_line)}, over "
        f"{test.configurations} configuration means ({test.runs} runs; {lost}).</p>"
        + robust
        + (f"<p>{sentence(test.provenance_line + '.')}</p>" if test.provenance else "")
        + claims_table(
            [test.claim, *test.figure4],
            "The rate study's decisions at 10,400 steps and width 0.5: the central claim over "
            f"its {test.configurations} configuration means (power over the runs' own "
            "design, with configuration effects of SD 0.5 points), and Figure 4's claims on "
            "its 12 rate-grid configurations. Their largest rate is 18% (retrain period 60, "
            "A.3.4's largest); the text's 30% needs retrain period 100, which this study does "
            "not run.",
        )
    )


def claims_by_profile(
    by_profile: dict[str, Sequence[Claim]],
    figures: Sequence[str],
    decides: Mapping[str, Collection[str]] | None = None,
    pending: Mapping[tuple[str, str], str] | None = None,
    caption: str = "Each claim's verdict at each profile, with the runs per configuration.",
) -> str:
    """One row per claim of ``figures``, one verdict column per profile (with its n, its
    power and, where inconclusive, the bound the data support).

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
        cells = [f"<strong>{html.escape(figure_title(figure))}</strong>: {html.escape(wording)}"]
        for profile in profiles:
            c = index.get((profile, figure, wording))
            if decides is not None and profile in decides and figure not in decides[profile]:
                cells.append("not run at this profile")  # whatever was recorded
            elif c is not None:
                bound = f"; {html.escape(c.bound)}" if c.bound else ""
                cells.append(
                    f"{badge(c.verdict)}<br><small>n = {html.escape(c.n)}; "
                    f"{html.escape(power_line(c))}{bound}</small>"
                )
            else:
                note = (pending or {}).get((profile, figure))
                extra = f"<br><small>{html.escape(note)}</small>" if note else ""
                cells.append(f"not yet decided{extra}")
        rows.append(cells)
    return cells_table(("claim", *profiles), rows, sentence(caption))


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


def window_effect_table(test) -> str:
    """prune_L against unpruned where Figure 5's windows are decided
    (``paper.windows.WindowTest.effect_rows``): the effect every "matches prune_L" claim
    needs, as both pages that report the windows show it."""
    return evidence_table(
        test.effect_rows(),
        'prune_L against unpruned at 2,600 steps: the effect every "matches prune_L" claim needs.',
    )
