"""The claims table on runs with made-up summaries (no training): each row's test and verdict."""

import numpy as np
import pytest

from prunestab import grouped, verdicts
from prunestab.book import claims, tables
from prunestab.book.analysis import Run
from prunestab.paper import figA1
from prunestab.paper.registry import figure_grid
from prunestab.store import RunStore
from prunestab.verdicts import CONTRADICTED, INCONCLUSIVE, REPRODUCED


def _runs(figure, values, keys=(claims.BEST_AFTER, claims.LAST_EPOCH), profile="smoke"):
    """The grid of ``figure`` with ``values[label][seed]`` as each run's accuracies."""
    runs = []
    for config in figure_grid(figure, profile, seeds=len(next(iter(values.values())))):
        if config.label in values:
            summary = {key: values[config.label][config.seed] for key in keys}
            runs.append(Run(config, {"summary": summary, "epochs": []}))
    return runs


FIG5 = {
    "unpruned": [50.0, 50.5, 51.0, 50.2, 50.8],
    "prune_L": [60.5, 61.0, 61.5, 60.8, 61.2],
    "zeroing0": [50.0, 51.0, 52.0, 51.5, 50.5],
    "zeroing50": [60.6, 61.0, 61.4, 60.9, 61.1],
    "gaussian1500": [55.0, 56.0, 57.0, 56.5, 55.5],
}


def _verdicts(found):
    return {c.claim: c.verdict for c in found}


def test_every_claim_row_names_a_figure_with_runs():
    assert {spec.figure for spec in claims.CLAIMS} <= {
        "fig1",
        "fig2",
        "fig3",
        "fig4",
        "fig5",
        "figA2",
    }
    assert len({spec.wording for spec in claims.CLAIMS}) == len(claims.CLAIMS)


def test_fig5_verdicts_when_the_paper_holds_on_both_measures():
    found = claims.evaluate("fig5", _runs("fig5", FIG5), "smoke")
    assert len(found) == 6 and {c.verdict for c in found} == {REPRODUCED}
    assert all(c.n for c in found) and "margin +-1" in found[0].ours


def test_fig5_verdicts_when_it_does_not():
    values = FIG5 | {
        "zeroing50": [50.0, 51.0, 52.0, 51.0, 50.5],
        "gaussian1500": [63.0, 64.0, 65.0, 64.5, 63.5],
    }
    found = claims.evaluate("fig5", _runs("fig5", values), "smoke")
    by_claim = _verdicts(found)
    zeroing = [v for claim, v in by_claim.items() if "50 steps" in claim]
    gaussian = [v for claim, v in by_claim.items() if "Gaussian" in claim]
    assert zeroing == [CONTRADICTED] * 2  # ten points away: outside the margin
    assert gaussian == [CONTRADICTED] * 2  # Gaussian beats prune_L


def test_overlapping_groups_and_single_runs_are_inconclusive():
    values = FIG5 | {"zeroing0": [58.0, 61.0, 64.0, 57.0, 65.0]}
    found = claims.evaluate("fig5", _runs("fig5", values), "smoke")
    assert {v for c, v in _verdicts(found).items() if "Zeroing once" in c} == {INCONCLUSIVE}
    one_seed = [r for r in _runs("fig5", FIG5) if r.config.seed == 0]
    assert {c.verdict for c in claims.evaluate("fig5", one_seed, "smoke")} == {INCONCLUSIVE}


@pytest.mark.parametrize("sign, verdict", [(1, REPRODUCED), (-1, CONTRADICTED)])
def test_fig1_correlation_follows_the_sign(sign, verdict):
    rng = np.random.default_rng(0)
    runs = []
    # At quick, VGG11 has 4 pruned configurations and ResNet18 3 (at smoke some coincide).
    for config in figure_grid("fig1", "quick", seeds=3):
        instability = rng.uniform(0, 5)
        # Configuration means on a line: the grouped rule can tell even ResNet18's 3.
        accuracy = 50 + sign * 2 * instability + rng.normal(0, 0.001)
        summary = {
            "mean_instability": instability,
            claims.BEST_AFTER: accuracy,
            claims.LAST_EPOCH: accuracy,
        }
        runs.append(Run(config, {"summary": summary, "epochs": []}))
    correlations = [c for c in claims.evaluate("fig1", runs, "quick") if "Pearson" in c.claim]
    assert [c.verdict for c in correlations] == [verdict, verdict]
    assert all("n = " in c.ours for c in correlations)


def test_a_weak_correlation_is_inconclusive_not_contradicted():
    """The review's case: r = -0.35 in the paper's direction, p > .05, is not evidence against."""
    rng = np.random.default_rng(5)
    deciles = np.repeat(np.arange(11), 3)
    gaps = 10 - 0.1 * deciles + rng.normal(0, 2, deciles.size)
    evidence = grouped.grouped_correlation(deciles, gaps, deciles, sign=-1)
    assert evidence.verdict in (INCONCLUSIVE, REPRODUCED)


def test_fig4_largest_rate_claim_compares_the_largest_rate_with_every_other():
    runs = []
    for config in figure_grid("fig4", "paper", seeds=3):
        if config.pruning is None:
            continue
        rate = 100 * config.pruning.schedule.max_iterative_rate()
        summary = {
            claims.BEST_AFTER: 50 + rate / 3 + config.seed * 0.1,
            "mean_instability": rate / 10 + config.seed * 0.01,
        }
        runs.append(Run(config, {"summary": summary, "epochs": []}))
    found = {c.claim: c for c in claims.evaluate("fig4", runs, "paper")}
    largest = next(c for name, c in found.items() if "largest rate" in name)
    assert largest.verdict == REPRODUCED
    assert "prune_R 30% vs 1.32%" in largest.ours and "E[BN] prune_S 30% vs 18" in largest.ours
    rates = next(c for name, c in found.items() if "larger iterative pruning rate" in name)
    assert rates.verdict == REPRODUCED and rates.ours.count("prune_R:") == 1  # counted once


def test_html_table_has_a_row_and_a_text_badge_per_claim():
    found = claims.evaluate("fig5", _runs("fig5", FIG5), "smoke")
    table = tables.claims_table(found)
    assert table.count("<tr>") == len(found) + 1
    assert table.count('class="verdict verdict-reproduced"') == len(found)
    assert "|---|" not in table


def test_figA1_states_layers_as_units_and_can_be_inconclusive():
    before = [0.05] * 8
    grows = figA1.claims(before, [0.2] * 8, "smoke")
    assert grows[0].verdict == REPRODUCED and "layers of one model" in grows[0].n
    mixed = figA1.claims(before, [0.06, 0.04] * 4, "smoke")
    assert [c.verdict for c in mixed] == [INCONCLUSIVE, INCONCLUSIVE]


def test_claims_by_profile_show_each_profiles_verdict_or_not_yet_decided():
    quick = claims.evaluate("fig5", _runs("fig5", FIG5), "quick")
    table = tables.claims_by_profile({"quick": quick, "steps2600": quick[:2]}, ["fig5"])
    assert table.count("<tr>") == len(quick) + 1
    assert table.count("not yet decided") == len(quick) - 2
    # A profile the protocol does not use for a figure says so; a pending one says how far.
    both = {"quick": quick, "steps10400": [], "steps2600": []}
    table = tables.claims_by_profile(
        both,
        ["fig5"],
        decides={"steps10400": ["fig1"], "steps2600": ["fig5"]},
        pending={("steps2600", "fig5"): "1 of 40 runs stored"},
    )
    assert table.count("not run at this profile") == len(quick)
    assert table.count("not yet decided<br><small>1 of 40 runs stored</small>") == len(quick)


def test_at_a_budget_profile_only_the_protocols_central_verdicts_are_recorded(tmp_path, capsys):
    """A figure notebook run at a budget profile (its own grid, or before the grid is
    complete) must not fill the claims page: only the budget chapter's central verdicts
    are recorded there, and a cell the protocol leaves out stays "not run"."""
    store = RunStore(tmp_path)
    found = claims.evaluate("fig5", _runs("fig5", FIG5), "quick")
    assert claims.save(store, "steps10400", "fig5", found) is None
    assert claims.save(store, "steps10400", "fig5", found, central=True) is None  # fig1's
    assert claims.save(store, "steps2600", "fig5", found) is None  # not the chapter
    assert "not recorded for the claims page" in capsys.readouterr().err
    assert claims.load(store, "steps10400") == {} and claims.load(store, "steps2600") == {}
    assert claims.save(store, "steps2600", "fig5", found, central=True) is not None
    assert claims.save(store, "quick", "fig5", found) is not None  # elsewhere as before
    assert claims.load(store, "steps2600")["fig5"] == found
    # Whatever a store holds, the protocol's exclusions win on the page.
    table = tables.claims_by_profile(
        {"quick": found, "steps10400": found}, ["fig5"], decides={"steps10400": ["fig1"]}
    )
    assert table.count("not run at this profile") == len(found)


def test_every_verdict_states_its_power_and_an_inconclusive_one_its_bound():
    """The power is the weakest comparison's at the reference effect (+1 point for a
    difference), by the same simulation as ``verdicts.ordering_power``; an inconclusive
    claim names the comparison most in the way and the largest advantage it allows."""
    from prunestab.paper.claim import ClaimSpec

    rng = np.random.default_rng(0)
    strong = (rng.normal(75, 0.3, 5), rng.normal(70, 0.3, 5))
    weak = (rng.normal(70.2, 0.6, 5), rng.normal(70, 0.6, 5))

    def parts(runs, profile):
        return [("vs A", verdicts.ordering(*strong)), ("vs B", verdicts.ordering(*weak))]

    claim = ClaimSpec("fig1", "X beats A and B", "", parts).decide([], "quick")
    sds = [float(np.std(g, ddof=1)) for g in weak]
    assert claim.verdict == INCONCLUSIVE
    assert claim.power == pytest.approx(verdicts.ordering_power(1.0, *sds, 5, 5))
    assert claim.reference == (
        "+1 point (the weakest of 2 comparisons: the claim's power is at most this)"
    )
    # Its bound is one of 2 that hold together: the end of vs B's 97.5% interval.
    high = verdicts.ordering(*weak, alpha=verdicts.ALPHA / 2).high
    assert high > verdicts.ordering(*weak).high
    assert claim.bound == (
        f"vs B: any advantage is below {high:+.2f} points (95% jointly over the claim's "
        "2 comparisons)"
    )
    assert [p[0] for p in claim.parts] == ["vs A", "vs B"] and claim.parts[0][4] == REPRODUCED


def test_a_claims_bound_holds_for_its_smallest_effect_in_95_percent_of_experiments():
    """A claim that X beats 4 others has effect the smallest of its 4 advantages; the
    bound it states must exceed that effect in at least 97.5% of experiments (the end of
    a 95% interval). Simulated with every advantage equal, the hardest case, and X shared
    by the comparisons, as on the page: the joint (Bonferroni) bound holds; the smallest
    of the 4 separate 95% bounds, stated until 2026-12-07, does not."""
    from prunestab.paper.claim import limiting

    rng = np.random.default_rng(7)
    trials, effect, k = 4000, 1.0, 4
    missed = missed_alone = 0
    for _ in range(trials):
        x = rng.normal(effect, 1.0, 3)
        parts = [(f"vs {j}", verdicts.ordering(x, rng.normal(0.0, 1.0, 3))) for j in range(k)]
        _, _, bound = limiting(parts)
        missed += bound < effect
        missed_alone += min(e.bound for _, e in parts) < effect
    tolerance = 3.5 * np.sqrt(0.025 * 0.975 / trials)
    assert missed / trials <= 0.025 + tolerance
    assert missed_alone / trials > 0.025 + tolerance


def test_a_correlation_claim_states_power_at_the_papers_r(tmp_path):
    """Figure 1's ResNet18 row at the paper's r = .65; its record survives the JSON."""
    from prunestab.paper.fig1 import CLAIMS as FIG1
    from prunestab.paper.fig1 import PAPER_CORRELATIONS

    spec = next(c for c in FIG1 if c.wording.startswith("ResNet18: runs with more"))
    assert spec.reference == PAPER_CORRELATIONS["resnet18"][0]
    rng = np.random.default_rng(1)
    x = np.repeat([0.5, 1.0, 2.0, 3.0], 3)
    y = 70 + rng.normal(0, 0.5, 12)
    evidence = grouped.grouped_correlation(x, y, np.repeat(list("abcd"), 3))
    claim = type(spec)("fig1", "w", "p", lambda runs, profile: [("", evidence)], 0.65).decide(
        [], "quick"
    )
    assert claim.reference == "r = .65" and 0 < claim.power < 0.5
    store = RunStore(tmp_path)
    claims.save(store, "quick", "fig1", [claim])
    assert claims.load(store, "quick")["fig1"] == [claim]


def test_claims_table_cells_are_one_line_with_the_rest_in_a_fold_and_a_caption():
    """Issue 34: the "ours" cell is the estimate and interval in one line (the recorded
    text behind <details>), the verdict carries its power, and the table its caption."""
    found = claims.evaluate("fig5", _runs("fig5", FIG5), "smoke")
    table = tables.claims_table(found)
    assert table.count("<caption>") == 1
    assert table.count("<details>") == len(found)
    assert "Figure 5" in table and ">fig5<" not in table
    for claim in found:
        line = tables.estimate_line(claim)
        assert "\n" not in line and len(line) < 140, line
        assert tables.power_line(claim).startswith("power ")
