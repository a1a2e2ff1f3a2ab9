"""Each claim of the paper, the paper's numbers, ours, and a plain verdict.

A verdict is one of ``reproduced``, ``not reproduced`` or ``inconclusive``, decided by
fixed rules stated here (not by the eye):

* an ordering claim ("A generalises better than B") compares per-run values with a
  bootstrap interval of the difference of means (``stats.bootstrap_difference_ci``,
  95%; 80% for Figure 3 as in A.3.3): reproduced if the interval lies on the claimed
  side of 0, not reproduced if it lies on the other side, inconclusive otherwise or
  with fewer than 2 runs per group;
* a correlation claim uses Pearson's r and its p-value over distinct runs (at least 5):
  reproduced if r > 0 (or < 0, as claimed) with p < .05; not reproduced if r has the other sign with p < .05, or if
  p >= .05 with at least 20 runs (enough runs found no correlation); else inconclusive;
* an equivalence claim ("zeroing 50 matches prune_L") is reproduced if the 95% interval
  of the difference lies within +-1 percentage point, not reproduced if it excludes 0
  and the difference exceeds 1 point, inconclusive otherwise.

Each notebook saves its claims with :func:`save`; the book's claims page reads them all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.stats

from prunestab.analysis import MIN_CORRELATION_RUNS, Run, by_label, unique_runs, value_at_epoch
from prunestab.config import TARGET_LABELS
from prunestab.profiles import get_profile
from prunestab.stats import bootstrap_difference_ci, pearson
from prunestab.store import RunStore, write_json_atomic

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
ACCURACY = "best_test_acc_after_pruning"
EQUIVALENCE_MARGIN = 1.0  # percentage points


@dataclass(frozen=True)
class Claim:
    """One claim: what the paper says and found, what we measured, and the verdict."""

    figure: str
    claim: str
    paper: str
    ours: str
    verdict: str
    profile: str = ""


def _values(runs: Sequence[Run], key: str = ACCURACY) -> np.ndarray:
    return np.array([np.nan if r.summary.get(key) is None else r.summary[key] for r in runs])


def _ordered(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[str, str]:
    """Verdict and text for the claim ``mean(a) > mean(b)``."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        diff = (a.mean() if a.size else math.nan) - (b.mean() if b.size else math.nan)
        return INCONCLUSIVE, f"difference {diff:+.2f} (fewer than 2 runs per group: no interval)"
    ci = bootstrap_difference_ci(a, b, confidence)
    text = f"difference {ci.mean:+.2f} [{ci.low:+.2f}, {ci.high:+.2f}] ({100 * confidence:.0f}% CI)"
    if ci.low > 0:
        return REPRODUCED, text
    if ci.high < 0:
        return NOT_REPRODUCED, text
    return INCONCLUSIVE, text


def _equivalent(a: np.ndarray, b: np.ndarray) -> tuple[str, str]:
    if a.size < 2 or b.size < 2:
        return INCONCLUSIVE, f"difference {a.mean() - b.mean():+.2f} (fewer than 2 runs per group)"
    ci = bootstrap_difference_ci(a, b)
    text = f"difference {ci.mean:+.2f} [{ci.low:+.2f}, {ci.high:+.2f}] (95% CI), margin +-{EQUIVALENCE_MARGIN}"
    if -EQUIVALENCE_MARGIN <= ci.low and ci.high <= EQUIVALENCE_MARGIN:
        return REPRODUCED, text
    if (ci.low > 0 or ci.high < 0) and abs(ci.mean) > EQUIVALENCE_MARGIN:
        return NOT_REPRODUCED, text
    return INCONCLUSIVE, text


def _correlated(x: np.ndarray, y: np.ndarray, sign: int = 1) -> tuple[str, str]:
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < MIN_CORRELATION_RUNS or np.all(x == x[0]) or np.all(y == y[0]):
        return INCONCLUSIVE, f"n = {x.size}: too few varying runs for a correlation"
    c = pearson(x, y)
    text = f"r = {c.r:.2f} [{c.low:.2f}, {c.high:.2f}], p = {c.p_value:.2g}, n = {c.n}"
    if c.p_value < 0.05:
        return (REPRODUCED if sign * c.r > 0 else NOT_REPRODUCED), text
    return (NOT_REPRODUCED if c.n >= 20 else INCONCLUSIVE), text


def _claim(figure, claim, paper, verdict_text, profile) -> Claim:
    verdict, ours = verdict_text
    return Claim(figure, claim, paper, ours, verdict, profile)


def fig1(runs: Sequence[Run], profile: str) -> list[Claim]:
    """Section 4.1: instability correlates with accuracy; prune_L 13% generalises best."""
    claims = []
    paper_r = {"vgg11": "r = .84, p = 1.3e-11 (40 runs)", "resnet18": "r = .65, p = 5.2e-5"}
    for model, name in (("vgg11", "VGG11"), ("resnet18", "ResNet18")):
        pruned = [
            r for r in unique_runs(runs) if r.config.model == model and r.config.pruning is not None
        ]
        if not pruned:
            continue
        x = _values(pruned, "mean_instability")
        y = _values(pruned, ACCURACY)
        claims.append(_claim("fig1", f"{name}: runs with more pruning instability reach higher final test accuracy (Pearson r > 0)",
                             paper_r[model], _correlated(x, y), profile))  # fmt: skip
        groups = by_label(r for r in runs if r.config.model == model)
        best = groups.get("prune_L 13%", [])
        others = [label for label in groups if label != "prune_L 13%"]
        verdicts = [(label, *_ordered(_values(best), _values(groups[label]))) for label in others]
        if any(v == NOT_REPRODUCED for _, v, _ in verdicts):
            verdict = NOT_REPRODUCED
        elif all(v == REPRODUCED for _, v, _ in verdicts):
            verdict = REPRODUCED
        else:
            verdict = INCONCLUSIVE
        ours = "; ".join(f"vs {label}: {text}" for label, _, text in verdicts)
        claims.append(Claim("fig1", f"{name}: prune_L at the 13% rate reaches the highest final test accuracy",
                            "highest curve in Figure 1 left", ours, verdict, profile))  # fmt: skip
    return claims


def decile_gaps(runs: Sequence[Run], profile: str, structure: str) -> tuple[np.ndarray, np.ndarray]:
    """Decile index and generalization gap (eval-mode train - test) at A.3.2's epoch 54."""
    epoch = get_profile(profile).epoch(53)  # "epoch 54", 1-based
    chosen = [r for r in runs if r.config.pruning.structure == structure]
    deciles = np.array([int(r.config.pruning.target.removeprefix("decile")) for r in chosen])
    gaps = np.array(
        [value_at_epoch(r, "train_eval_acc", epoch) - value_at_epoch(r, "test_acc", epoch) for r in chosen]
    )  # fmt: skip
    return deciles, gaps


def fig2(runs: Sequence[Run], profile: str) -> list[Claim]:
    """Section 4.2: pruning larger weights gives a smaller gap, more so when unstructured."""
    claims, slopes = [], {}
    for structure in ("unstructured", "structured"):
        deciles, gaps = decile_gaps(runs, profile, structure)
        claims.append(_claim("fig2", f"Conv4, {structure}: targeting larger-magnitude deciles gives smaller generalization gaps (r(decile, gap) < 0)",
                             "gap falls with the decile (Figure 2)", _correlated(deciles, gaps, sign=-1), profile))  # fmt: skip
        if np.unique(deciles).size > 1 and not np.all(gaps == gaps[0]):
            slopes[structure] = scipy.stats.linregress(deciles, gaps)
    if len(slopes) == 2:
        u, s = slopes["unstructured"], slopes["structured"]
        z = (u.slope - s.slope) / math.sqrt(u.stderr**2 + s.stderr**2 + 1e-300)
        verdict = REPRODUCED if z < -1.96 else NOT_REPRODUCED if z > 1.96 else INCONCLUSIVE
        ours = f"slope of gap per decile: unstructured {u.slope:+.3f} +- {u.stderr:.3f}, structured {s.slope:+.3f} +- {s.stderr:.3f} (z = {z:.2f})"
    else:
        verdict, ours = INCONCLUSIVE, "no variation to fit slopes"
    claims.append(Claim("fig2", "The decile effect is stronger for unstructured than for structured pruning (steeper negative slope)",
                        '"much more dramatic" for unstructured', ours, verdict, profile))  # fmt: skip
    return claims


def fig3(runs: Sequence[Run], profile: str) -> list[Claim]:
    """Section 4.2: on ResNet18, structured prune_L beats unstructured prune_L."""
    groups = by_label(runs)
    verdicts = []
    for rate in ("1%", "13%"):
        s = _values(groups.get(f"structured prune_L {rate}", []))
        u = _values(groups.get(f"unstructured prune_L {rate}", []))
        verdicts.append((rate, *_ordered(s, u, confidence=0.80)))
    values = [v for _, v, _ in verdicts]
    verdict = NOT_REPRODUCED if NOT_REPRODUCED in values else REPRODUCED if all(v == REPRODUCED for v in values) else INCONCLUSIVE  # fmt: skip
    ours = "; ".join(f"{rate}: structured - unstructured {text}" for rate, _, text in verdicts)
    return [Claim("fig3", "ResNet18: structured prune_L reaches higher test accuracy than unstructured prune_L",
                  "red above green in Figure 3 (80% CIs, 3+ runs)", ours, verdict, profile)]  # fmt: skip


def fig4_groups(runs: Sequence[Run]) -> dict[tuple[str, str], list[Run]]:
    """Pruned runs by (score, target)."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        if run.config.pruning is not None:
            key = (run.config.pruning.score, run.config.pruning.target)
            groups.setdefault(key, []).append(run)
    return groups


def fig4(runs: Sequence[Run], profile: str) -> list[Claim]:
    """Section 4.3: instability rises with the rate; E[BN] orders targets, l2 does not."""
    groups = fig4_groups(unique_runs(runs))
    rate_tests = []
    for (score, target), members in sorted(groups.items()):
        rates = np.array([m.config.pruning.schedule.max_iterative_rate() * 100 for m in members])
        verdict, text = _correlated(rates, _values(members, "mean_instability"))
        rate_tests.append((f"{score} {target}", verdict, text))
    verdicts = [v for _, v, _ in rate_tests]
    if verdicts.count(NOT_REPRODUCED) > len(verdicts) / 2:
        overall = NOT_REPRODUCED
    elif verdicts.count(REPRODUCED) >= len(verdicts) / 2 and NOT_REPRODUCED not in verdicts:
        overall = REPRODUCED
    else:
        overall = INCONCLUSIVE
    claims = [Claim("fig4", "VGG11: a larger iterative pruning rate gives more instability (r(rate, instability) > 0 for each score and target)",
                    "instability rises with the rate for every method (Figure 4 left)",
                    "; ".join(f"{name}: {text}" for name, _, text in rate_tests), overall, profile)]  # fmt: skip

    def instab(score, target):
        return _values(groups.get((score, target), []), "mean_instability")

    s_r = _ordered(instab("ebn", "random"), instab("ebn", "smallest"))
    r_l = _ordered(instab("ebn", "largest"), instab("ebn", "random"))
    both = [s_r[0], r_l[0]]
    verdict = NOT_REPRODUCED if NOT_REPRODUCED in both else REPRODUCED if both == [REPRODUCED] * 2 else INCONCLUSIVE  # fmt: skip
    claims.append(Claim("fig4", "E[BN] orders instabilities as expected: prune_S < prune_R < prune_L (pooled over rates)",
                        "expected ordering (Figure 4 left)", f"R - S: {s_r[1]}; L - R: {r_l[1]}", verdict, profile))  # fmt: skip
    claims.append(_claim("fig4", "l2 does not: its prune_S is more unstable than its prune_R (pooled over rates)",
                         "l2 prune_S more unstable than prune_R, almost as unstable as prune_L",
                         _ordered(instab("l2", "smallest"), instab("l2", "random")), profile))  # fmt: skip
    claims.append(_largest_rate_claim(groups, profile))
    return claims


def _largest_rate_claim(groups: dict[tuple[str, str], list[Run]], profile: str) -> Claim:
    """Section 4.3: prune_S and prune_R generalise best at the largest rate (30%).

    Per score and target, the runs at the largest rate against those at the rate whose
    mean accuracy is next best: reproduced if every comparison is, not reproduced if any
    comparison goes the other way.
    """
    tests = []
    for (score, target), members in sorted(groups.items()):
        if target not in ("smallest", "random"):
            continue
        by_rate: dict[float, list[Run]] = {}
        for run in members:
            rate = round(100 * run.config.pruning.schedule.max_iterative_rate(), 2)
            by_rate.setdefault(rate, []).append(run)
        if len(by_rate) < 2:
            continue
        top = max(by_rate)
        runner_up = max((r for r in by_rate if r != top), key=lambda r: np.nanmean(_values(by_rate[r])))  # fmt: skip
        verdict, text = _ordered(_values(by_rate[top]), _values(by_rate[runner_up]))
        label = f"{score} prune_{TARGET_LABELS[target]}"
        tests.append((verdict, f"{label}: {top:.0f}% - {runner_up:.0f}% {text}"))
    verdicts = [v for v, _ in tests]
    if not tests:
        overall = INCONCLUSIVE
    elif NOT_REPRODUCED in verdicts:
        overall = NOT_REPRODUCED
    elif all(v == REPRODUCED for v in verdicts):
        overall = REPRODUCED
    else:
        overall = INCONCLUSIVE
    return Claim("fig4", "prune_S and prune_R reach their best final accuracy at the largest rate (30%), against the next-best rate",
                 '"pruning random or small magnitude parameters performs best at the largest iterative rate (30%)"',
                 "; ".join(t for _, t in tests) or "no rates to compare", overall, profile)  # fmt: skip


def fig5(runs: Sequence[Run], profile: str) -> list[Claim]:
    """Section 4.4: zeroing 50 mimics prune_L; zeroing 0 does not help; Gaussian 1500 less."""
    groups = {label: _values(members) for label, members in by_label(runs).items()}
    claims = []
    if "zeroing50" in groups and "prune_L" in groups:
        claims.append(_claim("fig5", "Zeroing noise held for 50 steps reaches the accuracy of prune_L (within 1 point)",
                             '"strikingly similar accuracy"', _equivalent(groups["zeroing50"], groups["prune_L"]), profile))  # fmt: skip
    if "zeroing0" in groups and "prune_L" in groups:
        claims.append(_claim("fig5", "Zeroing once (Zeroing 0) is not enough: prune_L reaches higher accuracy",
                             '"not sufficient to generate better performance"', _ordered(groups["prune_L"], groups["zeroing0"]), profile))  # fmt: skip
    if {"gaussian1500", "prune_L", "unpruned"} <= groups.keys():
        helps = _ordered(groups["gaussian1500"], groups["unpruned"])
        less = _ordered(groups["prune_L"], groups["gaussian1500"])
        both = [helps[0], less[0]]
        verdict = NOT_REPRODUCED if NOT_REPRODUCED in both else REPRODUCED if both == [REPRODUCED] * 2 else INCONCLUSIVE  # fmt: skip
        claims.append(Claim("fig5", "Gaussian noise for 1500 steps helps (beats unpruned) but less than prune_L",
                            '"could increase generalization ... did not match prune_L"',
                            f"Gaussian 1500 - unpruned: {helps[1]}; prune_L - Gaussian 1500: {less[1]}", verdict, profile))  # fmt: skip
    return claims


def ks_distances(activations: Sequence[tuple[str, np.ndarray]]) -> list[float]:
    """Kolmogorov-Smirnov distance of each layer's normalised activations to N(0, 1)."""
    return [float(scipy.stats.kstest(values, "norm").statistic) for _, values in activations]


def figA1(before: Sequence[float], after: Sequence[float], profile: str) -> list[Claim]:
    """Appendix A.1: normality holds early and degrades with training, most near the output."""
    before, after = np.asarray(before), np.asarray(after)
    worse = int(np.sum(after > before))
    n = before.size
    verdict = REPRODUCED if worse >= math.ceil(0.75 * n) else NOT_REPRODUCED if worse <= n // 4 else INCONCLUSIVE  # fmt: skip
    claims = [Claim("figA1", "BN activations are close to standard normal before training and less so after (KS distance grows)",
                    "reasonable early on, degrades with training", f"KS distance grows in {worse} of {n} layers; mean {before.mean():.3f} -> {after.mean():.3f}",
                    verdict, profile)]  # fmt: skip
    half = n // 2
    growth = after - before
    early, late = growth[:half].mean(), growth[half:].mean()
    verdict = REPRODUCED if late > early else NOT_REPRODUCED
    claims.append(Claim("figA1", "The degradation is largest in the layers near the output",
                        '"particularly in layers near the output"', f"mean KS growth: first {half} layers {early:+.3f}, last {n - half} layers {late:+.3f}",
                        verdict, profile))  # fmt: skip
    return claims


def figA2(runs: Sequence[Run], profile: str) -> list[Claim]:
    """Appendix A.2: E[BN] prune_S is more stable than l2 prune_S (VGG11, 1% rate)."""
    groups = by_label(runs)
    ebn = _values(groups.get("prune_S 1%", []), "mean_instability")
    l2 = _values(groups.get("l2 prune_S 1%", []), "mean_instability")
    return [_claim("figA2", "VGG11: E[BN] prune_S causes less instability per pruning event than l2 prune_S",
                   "E[BN] prune_S more stable (Figure A2)", _ordered(l2, ebn), profile)]  # fmt: skip


def claims_path(store: RunStore, profile: str) -> Path:
    return store.root / "claims" / f"{profile}.json"


def save(store: RunStore, profile: str, figure: str, claims: Sequence[Claim]) -> Path:
    """Record a figure's claims (replacing that figure's earlier ones) for the claims page."""
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
    return {fig: [Claim(**c) for c in cs] for fig, cs in json.loads(path.read_text()).items()}


def markdown_table(claims: Sequence[Claim]) -> str:
    """A Markdown table: claim, paper, ours, verdict."""
    icon = {REPRODUCED: "✅ reproduced", NOT_REPRODUCED: "❌ not reproduced", INCONCLUSIVE: "❔ inconclusive"}  # fmt: skip
    rows = ["| figure | claim | paper | ours | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        cells = [c.figure, c.claim, c.paper, c.ours, icon.get(c.verdict, c.verdict)]
        rows.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(rows)
