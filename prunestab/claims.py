"""The paper's claims as rows of data, each decided by a fixed rule of ``prunestab.verdicts``.

A row (:class:`ClaimSpec`) names its figure, its wording, what the paper reports, and
its ``parts``: a function from the figure's runs to named pieces of evidence (a
comparison of two groups, a correlation, ...). One combinator decides every row:
:func:`prunestab.verdicts.all_of` (reproduced if every part is; contradicted if any part
is, after Holm's correction over the parts; else inconclusive). A row with one part gets
that part's verdict. The three verdicts and their error rates are defined in
``prunestab.verdicts`` and stated on the claims page.

Accuracy claims are stated twice: on the paper's measure, the best test accuracy from
the last pruning event on (``best_test_acc_after_pruning``, as the authors' code took it),
and on the last epoch's test accuracy (``final_test_acc``), which selects nothing on the
test set.

Each notebook computes its figure's claims with :func:`evaluate` and saves them with
:func:`save`; the claims page reads them all.
"""

from __future__ import annotations

import html
import json
import math
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.stats

from prunestab.analysis import Run, by_label, unique_runs, value_at_epoch
from prunestab.figures import DECILE_TARGETS, Label, fig4_method, paper_correlation_text
from prunestab.profiles import get_profile
from prunestab.store import RunStore, write_json_atomic
from prunestab.verdicts import (
    CONTRADICTED,
    INCONCLUSIVE,
    REPRODUCED,
    VERDICTS,
    Evidence,
    all_of,
    correlation_robustness,
    decide,
    group_means,
    grouped_correlation,
    matches_effect,
    ordering,
    slope_difference,
)

__all__ = ["CLAIMS", "CONTRADICTED", "INCONCLUSIVE", "REPRODUCED", "VERDICTS", "Claim", "ClaimSpec"]

BEST_AFTER = "best_test_acc_after_pruning"
LAST_EPOCH = "final_test_acc"
MEASURES = {BEST_AFTER: "best after the last pruning event", LAST_EPOCH: "last epoch"}
EQUIVALENCE_MARGIN = 1.0  # percentage points of test accuracy

Parts = list[tuple[str, Evidence]]


@dataclass(frozen=True)
class Claim:
    """A decided claim: what the paper says and found, what we measured, the verdict.

    ``n``: the sample sizes behind the verdict (runs per group, or points).
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

    ``parts(runs, profile)`` returns the named evidence the verdict combines.
    """

    figure: str
    wording: str
    paper: str
    parts: Callable[[Sequence[Run], str], Parts]

    def decide(self, runs: Sequence[Run], profile: str) -> Claim:
        parts = self.parts(runs, profile)
        verdict = all_of([evidence for _, evidence in parts])
        ours = "; ".join(f"{name}: {e.text}" if name else e.text for name, e in parts)
        sizes = sorted({" vs ".join(map(str, e.n)) for _, e in parts})
        return Claim(
            self.figure,
            self.wording,
            self.paper,
            ours or "no runs",
            verdict,
            profile,
            ", ".join(sizes),
        )


# --- what the parts measure -------------------------------------------------------------


def values(runs: Sequence[Run], key: str) -> np.ndarray:
    """Per-run summary values (NaN where missing)."""
    return np.array([math.nan if r.summary.get(key) is None else r.summary[key] for r in runs])


def _groups(runs: Sequence[Run], key: str) -> dict[str, np.ndarray]:
    return {label: values(members, key) for label, members in by_label(runs).items()}


def _pruned(runs: Sequence[Run], model: str) -> list[Run]:
    return [r for r in unique_runs(runs) if r.config.model == model and r.config.pruning]


def decile_index(target: str) -> int:
    """Figure 2's D index of a target: ``percentile50`` is D5, ``largest`` D10."""
    return DECILE_TARGETS.index(target)


def decile_gaps(
    runs: Sequence[Run], profile: str, structure: str, train_key: str = "train_eval_acc"
) -> tuple[np.ndarray, np.ndarray]:
    """Decile index and generalization gap (train - test accuracy) at A.3.2's epoch 54.

    ``train_key``: ``train_eval_acc`` (eval-mode accuracy on training images, ours, used
    by the verdicts) or ``train_acc`` (the running train-mode accuracy of the epoch, with
    augmentation, as the authors' code measured it).
    """
    epoch = get_profile(profile).epoch(53)  # "epoch 54", 1-based
    chosen = [r for r in runs if r.config.pruning.structure == structure]
    deciles = np.array([decile_index(r.config.pruning.target) for r in chosen])
    gaps = [
        value_at_epoch(r, train_key, epoch) - value_at_epoch(r, "test_acc", epoch) for r in chosen
    ]
    return deciles, np.array(gaps)


def rate_percent(run: Run) -> float:
    return round(100 * run.config.pruning.schedule.max_iterative_rate(), 2)


def fig4_groups(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Figure 4's pruned runs by method (``l2 prune_S``, ``prune_R``, ...), rates pooled."""
    groups: dict[str, list[Run]] = {}
    for run in unique_runs(runs):
        if run.config.pruning is not None:
            groups.setdefault(fig4_method(run.config.pruning), []).append(run)
    return groups


# --- the parts of each claim ---------------------------------------------------------------


def _grouped(
    x: Sequence[float], y: Sequence[float], groups: Sequence[object], sign: int = 1
) -> Evidence:
    """A correlation over runs that come in configurations: decided on the configurations'
    means (``verdicts.grouped_correlation``), with the robustness view fixed in advance
    (leave-one-run-out range, Spearman over the runs) shown in its text, never deciding."""
    evidence = grouped_correlation(x, y, groups, sign=sign)
    view = correlation_robustness(x, y, groups)
    return replace(evidence, text=f"{evidence.text}; {view.text}")


def _instability_correlation(model: str) -> Callable[[Sequence[Run], str], Parts]:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        pruned = _pruned(runs, model)
        if not pruned:
            return []
        x, y = values(pruned, "mean_instability"), values(pruned, BEST_AFTER)
        return [("", _grouped(x, y, [r.label for r in pruned]))]

    return parts


def _best_of_all(model: str, best: str, key: str) -> Callable[[Sequence[Run], str], Parts]:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        groups = _groups([r for r in runs if r.config.model == model], key)
        if best not in groups:
            return []
        return [
            (f"vs {label}", ordering(groups[best], other))
            for label, other in groups.items()
            if label != best
        ]

    return parts


def _decile_correlation(structure: str) -> Callable[[Sequence[Run], str], Parts]:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        deciles, gaps = decile_gaps(runs, profile, structure)
        return [("", _grouped(deciles, gaps, deciles, sign=-1))] if deciles.size else []

    return parts


def _decile_slopes(runs: Sequence[Run], profile: str) -> Parts:
    """Slopes over the deciles' mean gaps (each decile's seeds are one configuration, as
    in the grouped correlation), so the slope test's points are independent."""
    u = _decile_means(*decile_gaps(runs, profile, "unstructured"))
    s = _decile_means(*decile_gaps(runs, profile, "structured"))
    if not (u[0].size and s[0].size):
        return []
    return [("unstructured vs structured, decile means", slope_difference(*u, *s, sign=-1))]


def _decile_means(deciles: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean_deciles, mean_gaps, _ = group_means(deciles, gaps, deciles)
    return mean_deciles, mean_gaps


def _structured_beats_unstructured(runs: Sequence[Run], profile: str) -> Parts:
    groups = _groups(runs, BEST_AFTER)
    return [
        (
            rate,
            ordering(
                groups[Label.resnet_prune_l("structured", rate)],
                groups[Label.resnet_prune_l("unstructured", rate)],
            ),
        )
        for rate in ("1%", "13%")
        if Label.resnet_prune_l("structured", rate) in groups
        and Label.resnet_prune_l("unstructured", rate) in groups
    ]


def _rate_raises_instability(runs: Sequence[Run], profile: str) -> Parts:
    return [
        (method, _grouped(rates, values(members, "mean_instability"), rates))
        for method, members in sorted(fig4_groups(runs).items())
        for rates in ([rate_percent(m) for m in members],)
    ]


def _instability_order(lower: str, higher: str) -> Callable[[Sequence[Run], str], Parts]:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        groups = fig4_groups(runs)
        if lower not in groups or higher not in groups:
            return []
        return [
            (
                f"{higher} - {lower}",
                ordering(
                    values(groups[higher], "mean_instability"),
                    values(groups[lower], "mean_instability"),
                ),
            )
        ]

    return parts


def _ebn_ordering(runs: Sequence[Run], profile: str) -> Parts:
    return _instability_order("E[BN] prune_S", "prune_R")(runs, profile) + _instability_order(
        "prune_R", "E[BN] prune_L"
    )(runs, profile)


def _largest_rate_best(runs: Sequence[Run], profile: str) -> Parts:
    """Per method (prune_S, prune_R): the largest rate against every other rate."""
    parts = []
    for method, members in sorted(fig4_groups(runs).items()):
        if members[0].config.pruning.target == "largest":
            continue
        by_rate: dict[float, list[Run]] = {}
        for run in members:
            by_rate.setdefault(rate_percent(run), []).append(run)
        top = max(by_rate)
        for rate in sorted(r for r in by_rate if r != top):
            name = f"{method} {top:.0f}% vs {rate:g}%"
            parts.append(
                (
                    name,
                    ordering(values(by_rate[top], BEST_AFTER), values(by_rate[rate], BEST_AFTER)),
                )
            )
    return parts


def _versus(a: str, b: str, key: str, rule=ordering) -> Callable[[Sequence[Run], str], Parts]:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        groups = _groups(runs, key)
        if a not in groups or b not in groups:
            return []
        return [(f"{a} - {b}", rule(groups[a], groups[b]))]

    return parts


def _matches_pruning(noise: str, key: str) -> Callable[[Sequence[Run], str], Parts]:
    """ "``noise`` matches prune_L": decided only where prune_L differs from unpruned
    (``verdicts.matches_effect``); otherwise inconclusive, with the reason."""

    def parts(runs: Sequence[Run], profile: str) -> Parts:
        groups = _groups(runs, key)
        needed = (noise, Label.PRUNE_L, Label.UNPRUNED)
        if not all(label in groups for label in needed):
            return []
        evidence = matches_effect(
            *(groups[label] for label in needed), EQUIVALENCE_MARGIN, names=needed
        )
        return [(f"{noise} - {Label.PRUNE_L}", evidence)]

    return parts


def _gaussian_between(key: str) -> Callable[[Sequence[Run], str], Parts]:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        return _versus(Label.noise("gaussian", 1500), Label.UNPRUNED, key)(runs, profile) + _versus(
            Label.PRUNE_L, Label.noise("gaussian", 1500), key
        )(runs, profile)

    return parts


def _l2_less_stable(runs: Sequence[Run], profile: str) -> Parts:
    groups = _groups(runs, "mean_instability")
    if Label.L2_PRUNE_S_1 not in groups or Label.PRUNE_S_1 not in groups:
        return []
    return [("l2 - E[BN]", ordering(groups[Label.L2_PRUNE_S_1], groups[Label.PRUNE_S_1]))]


# --- the table of claims -----------------------------------------------------------------

_ON = {BEST_AFTER: "best accuracy after the last pruning event", LAST_EPOCH: "last-epoch accuracy"}

CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec(
        "fig1",
        "VGG11: runs with more pruning instability reach higher final test accuracy (Pearson r > 0)",
        paper_correlation_text("vgg11"),
        _instability_correlation("vgg11"),
    ),
    ClaimSpec(
        "fig1",
        "ResNet18: runs with more pruning instability reach higher final test accuracy (Pearson r > 0)",
        paper_correlation_text("resnet18"),
        _instability_correlation("resnet18"),
    ),
    *(
        ClaimSpec(
            "fig1",
            f"{name}: prune_L at the 13% rate beats every other configuration ({_ON[key]})",
            "highest curve in Figure 1 left",
            _best_of_all(model, Label.PRUNE_L_13, key),
        )
        for model, name in (("vgg11", "VGG11"), ("resnet18", "ResNet18"))
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
    ClaimSpec(
        "fig2",
        "Conv4, unstructured: targeting larger-magnitude deciles gives smaller generalization gaps (r(decile, gap) < 0)",
        "gap falls with the decile (Figure 2)",
        _decile_correlation("unstructured"),
    ),
    ClaimSpec(
        "fig2",
        "Conv4, structured: targeting larger-magnitude deciles gives smaller generalization gaps (r(decile, gap) < 0)",
        "gap falls with the decile (Figure 2)",
        _decile_correlation("structured"),
    ),
    ClaimSpec(
        "fig2",
        "The decile effect is stronger for unstructured than for structured pruning (steeper negative slope)",
        '"much more dramatic" for unstructured',
        _decile_slopes,
    ),
    ClaimSpec(
        "fig3",
        "ResNet18: structured prune_L reaches higher test accuracy than unstructured prune_L, at 1% and at 13%",
        "red above green in Figure 3 (80% CIs, 3+ runs)",
        _structured_beats_unstructured,
    ),
    ClaimSpec(
        "fig4",
        "VGG11: a larger iterative pruning rate gives more instability (r(rate, instability) > 0 for every method)",
        "instability rises with the rate for every method (Figure 4 left)",
        _rate_raises_instability,
    ),
    ClaimSpec(
        "fig4",
        "E[BN] orders instabilities as expected: prune_S < prune_R < prune_L (rates pooled)",
        "expected ordering (Figure 4 left)",
        _ebn_ordering,
    ),
    ClaimSpec(
        "fig4",
        "l2 does not: its prune_S is more unstable than prune_R (rates pooled)",
        "l2 prune_S more unstable than prune_R, almost as unstable as prune_L",
        _instability_order("prune_R", "l2 prune_S"),
    ),
    ClaimSpec(
        "fig4",
        "prune_S and prune_R reach their best accuracy at the largest rate (30%), above every other rate",
        '"pruning random or small magnitude parameters performs best at the largest iterative rate (30%)"',
        _largest_rate_best,
    ),
    *(
        ClaimSpec(
            "fig5",
            f"Zeroing noise held for 50 steps matches prune_L within 1 point ({_ON[key]})",
            '"strikingly similar accuracy"',
            _matches_pruning(Label.noise("zeroing", 50), key),
        )
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
    *(
        ClaimSpec(
            "fig5",
            f"Zeroing once (Zeroing 0) is not enough: prune_L is more accurate ({_ON[key]})",
            '"not sufficient to generate better performance"',
            _versus(Label.PRUNE_L, Label.noise("zeroing", 0), key),
        )
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
    *(
        ClaimSpec(
            "fig5",
            f"Gaussian noise for 1500 steps helps (beats unpruned) but less than prune_L ({_ON[key]})",
            '"could increase generalization ... did not match prune_L"',
            _gaussian_between(key),
        )
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
    ClaimSpec(
        "figA2",
        "VGG11: E[BN] prune_S causes less instability per pruning event than l2 prune_S",
        "E[BN] prune_S more stable (Figure A2)",
        _l2_less_stable,
    ),
)


def evaluate(figure: str, runs: Sequence[Run], profile: str) -> list[Claim]:
    """Every claim of ``figure`` decided on ``runs`` (claims without runs are skipped)."""
    found = []
    for spec in CLAIMS:
        if spec.figure == figure and spec.parts(runs, profile):
            found.append(spec.decide(runs, profile))
    return found


# --- Figure A1: one model, layers as the units --------------------------------------------


def figA1(before: Sequence[float], after: Sequence[float], profile: str) -> list[Claim]:
    """Appendix A.1 on one trained VGG19, with its layers as the units of uncertainty.

    Both statements are about one model: the layers are not independent replicates, so
    the verdicts say how consistent the layers are, not how another training run would
    behave. "Grows": a one-sided sign test over layers (exact binomial). "Largest near the
    output": Welch's test of the KS growth of the later half of the layers against the
    earlier half.
    """
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    growth = after - before
    n = growth.size
    worse = int(np.sum(growth > 0))
    ties = int(np.sum(growth == 0))
    trials = n - ties
    p_for = (
        float(scipy.stats.binomtest(worse, trials, alternative="greater").pvalue)
        if trials
        else math.nan
    )
    p_against = (
        float(scipy.stats.binomtest(worse, trials, alternative="less").pvalue)
        if trials
        else math.nan
    )
    verdict = all_of(
        [
            Evidence(
                decide(p_for, p_against),  # the one ladder of prunestab.verdicts
                p_for,
                p_against,
                (n,),
                "",
            )
        ]
    )
    grows = Claim(
        "figA1",
        "BN activations are close to standard normal before training and less so after (KS distance grows, layers as units)",
        "reasonable early on, degrades with training",
        f"KS distance grows in {worse} of {n} layers (sign test p = {min(1.0, 2 * min(p_for, p_against)):.2g}); mean {before.mean():.3f} -> {after.mean():.3f}",
        verdict,
        profile,
        f"{n} layers of one model",
    )
    half = n // 2
    late = ordering(growth[half:], growth[:half])
    near_output = Claim(
        "figA1",
        "The degradation is largest in the layers near the output (later half of layers vs earlier half)",
        '"particularly in layers near the output"',
        f"KS growth, later - earlier layers: {late.text}",
        late.verdict,
        profile,
        f"{n - half} vs {half} layers of one model",
    )
    return [grows, near_output]


# --- storage and display -------------------------------------------------------------------


def claims_path(store: RunStore, profile: str) -> Path:
    return store.root / "claims" / f"{profile}.json"


def save(
    store: RunStore, profile: str, figure: str, claims: Sequence[Claim], central: bool = False
) -> Path | None:
    """Record a figure's claims (replacing that figure's earlier ones) for the claims page.

    At a budget profile (``figures.BUDGET_PROFILES``) only the protocol's central verdicts
    are recorded (``central=True``: the budget chapter, once the figure's grid in
    ``figures.CENTRAL_GRIDS`` is complete at ``figures.CENTRAL_PROFILES``). A figure's own
    notebook run there, on its own grid or before the grid is complete, is not recorded
    (``None``, said on stderr), so it can neither fill a cell the protocol leaves out nor
    replace a central verdict."""
    from prunestab.figures import BUDGET_PROFILES, CENTRAL_PROFILES

    if profile in BUDGET_PROFILES and not (central and CENTRAL_PROFILES.get(figure) == profile):
        print(
            f"prunestab: {figure}'s verdicts at {profile} are not recorded for the claims "
            "page: at the budget profiles the protocol (book/budget.md) decides only the "
            "central claims, in the budget-study chapter.",
            file=sys.stderr,
        )
        return None
    path = claims_path(store, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    everything = json.loads(path.read_text()) if path.exists() else {}
    everything[figure] = [asdict(c) for c in claims]
    write_json_atomic(path, everything)
    return path


def load(store: RunStore, profile: str) -> dict[str, list[Claim]]:
    path = claims_path(store, profile)
    if not path.exists():
        return {}
    stored = json.loads(path.read_text())
    return {fig: [Claim(**c) for c in cs] for fig, cs in stored.items()}


def html_table(claims: Sequence[Claim]) -> str:
    """An HTML table (claim, paper, ours, n, verdict) with verdicts as styled text badges.

    HTML, not Markdown: MyST-NB renders a notebook's Markdown output as CommonMark, which
    has no tables. The badges are plain text in a ``<span class="verdict ...">`` styled by
    the book's CSS (``book/_static/verdicts.css``): no emoji or other glyph that needs a
    font the reader may lack.
    """
    rows = []
    for c in claims:
        cells = [c.figure, c.claim, c.paper, c.ours, c.n]
        tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        rows.append(f"<tr>{tds}<td>{_badge(c.verdict)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("figure", "claim", "paper", "ours", "n", "verdict"))
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _badge(verdict: str) -> str:
    return f'<span class="verdict verdict-{verdict}">{html.escape(verdict)}</span>'


def html_by_profile(
    by_profile: dict[str, Sequence[Claim]],
    figures: Sequence[str],
    decides: Mapping[str, Collection[str]] | None = None,
    pending: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """One row per claim of ``figures``, one verdict column per profile (with its n).

    ``decides`` names the figures each profile is meant to decide (a profile not in it
    decides all): elsewhere the cell says "not run at this profile". A profile that
    decides a figure but has no verdict yet shows "not yet decided", with
    ``pending[(profile, figure)]`` under it where given (e.g. how many runs are stored).
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
                    f"<td>{_badge(c.verdict)}<br><small>n = {html.escape(c.n)}</small></td>"
                )
            else:
                note = (pending or {}).get((profile, figure))
                extra = f"<br><small>{html.escape(note)}</small>" if note else ""
                cells.append(f"<td>not yet decided{extra}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "<th>figure</th><th>claim</th>" + "".join(f"<th>{p}</th>" for p in profiles)
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
