"""The budget study's measures on made-up runs: criteria, recovery, the tradeoff's points."""

import math

import numpy as np
import pytest

from prunestab import verdicts
from prunestab.book.analysis import Run
from prunestab.paper import budget, study, width, windows
from prunestab.paper.registry import figure_grid


def _epochs(n=325, train=100.0, test=70.0, events=(), drop=5.0, recover_after=3):
    records = [
        {"epoch": e, "train_acc": train, "test_acc": test, "pruned": False} for e in range(n)
    ]
    for e in events:
        records[e] |= {"pruned": True, "pre_test_acc": test, "test_acc": test - drop}
        for k in range(1, recover_after):
            if e + k < n and not records[e + k]["pruned"]:
                records[e + k]["test_acc"] = test - drop / 2
    return records


#: Instability levels of the budget grid's pruned configurations in the synthetic runs
#: below: distinct, so that no configuration alone fixes the grouped rule's line.
LEVEL = {"prune_S 1%": 0.0, "l2 prune_S 1%": 0.5, "prune_S 13%": 1.0, "prune_L 13%": 3.0}


def _run(config, accuracy, instability=0.0, **epochs):
    result = {
        "epochs": _epochs(**epochs),
        "summary": {
            "final_test_acc": accuracy,
            "best_test_acc_after_pruning": accuracy,
            "mean_instability": instability,
        },
        "dataset": {"n_test": 10_000},
        "environment": {"cpu_threads": 1},
        "train_seconds": 3600.0,
    }
    return Run(config, result)


def test_ladder_spans_16x_steps_with_all_training_images_at_the_top():
    steps = [budget.steps_per_run(p) for p in ("steps650", "steps2600", "steps10400")]
    assert steps == [650, 2600, 10_400]


def test_criteria_and_recovery_from_stored_runs():
    grid = figure_grid("budget", "steps650", seeds=5)
    runs = []
    for config in grid:
        if config.label == "unpruned":
            runs.append(_run(config, 70.0))
        elif config.label == "prune_L 13%":
            runs.append(_run(config, 72.0, 3.0, events=(6, 46, 86)))
    c = budget.criteria(runs, "steps650")
    assert c.unpruned_runs == 5 and c.train_acc_before_decay == 100.0
    assert c.gap_at_last_epoch == 30.0
    assert c.final_test_se == pytest.approx(100 * math.sqrt(0.7 * 0.3 / 10_000))
    assert c.verdicts == {"fits before the decay": "met", "over-fits": "met", "precise": "met"}
    assert c.recovery_events == 15 and c.events_recovered == 1.0 and c.median_recovery_epochs == 3
    assert c.final_test_sd == 0.0  # five equal unpruned accuracies
    assert study.core_hours(runs) == pytest.approx(10.0)


def test_budget_point_states_the_difference_and_the_correlation_with_intervals():
    runs = []
    for config in figure_grid("budget", "steps650", seeds=5):
        pruned = config.pruning is not None
        accuracy = 70 + config.seed * 0.2 + (3 if config.label == "prune_L 13%" else 0)
        level = {"prune_L 13%": 5.0, "prune_S 13%": 2.0, "l2 prune_S 1%": 1.5}
        instability = level.get(config.label, 1.0) + config.seed * 0.1
        if config.label == "prune_S 13%":
            accuracy += 1.0
        runs.append(_run(config, accuracy, instability if pruned else math.nan))
    point = budget.budget_point(runs, "steps650")
    assert point.difference.estimate == pytest.approx(3.0) and point.difference.low > 0
    assert point.correlation.verdict == "reproduced" and point.correlation.n == (4,)
    # What the design resolves: the grid's 5 vs 5 runs at the groups' observed spread
    # (both 0.2 * seed, SD 0.316), and r over its 20 pruned runs.
    spread = float(np.std([0.2 * seed for seed in range(5)], ddof=1))
    assert point.detectable_difference == pytest.approx(
        verdicts.detectable_difference(spread, spread, 5, 5)
    )
    assert point.correlation_power == pytest.approx(point.correlation.power_at(0.84))
    # Until both groups have all their planned runs, nothing is said about what the design
    # resolves: a spread from a few runs is too uncertain to plan from.
    early = budget.budget_point([r for r in runs if r.config.seed == 0], "steps650")
    assert math.isnan(early.detectable_difference)
    four = budget.budget_point([r for r in runs if r.config.seed < 4], "steps650")
    assert four.difference.low > 0 and math.isnan(four.detectable_difference)
    # In words, by the claims' rules; a budget with runs missing is marked interim.
    said = budget.reading(point, 25, 25)
    assert said.startswith("`steps650` (650 steps, complete)")
    assert (
        "generalizes better than unpruned (+3.0 points" in said and "the paper's direction." in said
    )
    assert "interim, 5 of 25 runs; the protocol decides nothing" in budget.reading(early, 5, 25)
    assert "too few runs yet" in budget.reading(early, 5, 25)


def test_reading_says_against_the_paper_and_could_not_tell_plainly():
    runs = []
    for config in figure_grid("budget", "steps650", seeds=5):
        pruned = config.pruning is not None
        worse = -4 if config.label == "prune_L 13%" else -LEVEL.get(config.label, 0.0)
        accuracy = 70 + config.seed * 0.2 + worse
        # unstable runs are the less accurate ones; noise keeps r off -1
        instability = 1.0 + 2 * LEVEL.get(config.label, 0.0) + (config.seed % 2) * 0.5
        runs.append(_run(config, accuracy, instability if pruned else math.nan))
    said = budget.reading(budget.budget_point(runs, "steps650"), 25, 25)
    assert "generalizes worse than unpruned (-4.0 points" in said
    assert "with lower accuracy" in said and said.count("against the paper's direction") == 2
    # Overlapping groups: no difference can be told, and the page says what is missed.
    close = [
        _run(r.config, 70 + (r.config.seed % 3) * 1.5 + 0.3 * (r.config.label == "prune_L 13%"))
        for r in runs
    ]
    said = budget.reading(budget.budget_point(close, "steps650"), 25, 25)
    assert "could not be told apart" in said and "found less than 80% of the time" in said
    assert "with 5 against 5 runs" in said
    # At an interim look (seed 4 missing) it says no power figure: the spreads of 4 runs
    # are too uncertain to plan from.
    partial = [r for r in close if r.config.seed < 4]
    said = budget.reading(budget.budget_point(partial, "steps650"), 20, 25)
    assert "could not be told apart" in said and "80%" not in said and "nan" not in said
    # A complete budget whose groups have no spread says why there is no interval.
    flat = [_run(r.config, 70.0) for r in runs]
    said = budget.reading(budget.budget_point(flat, "steps650"), 25, 25)
    assert "no interval for prune_L 13% against unpruned (difference +0.00 (no spread" in said
    assert (
        "no correlation could be computed (fewer than 3 configurations with varying means" in said
    )


def test_width_check_is_the_middle_budgets_unpruned_seed0_run_at_width_half():
    from prunestab.config import config_hash
    from prunestab.paper.budget import WIDTH_CHECK, width_check_config

    check = width_check_config()
    unpruned = next(c for c in figure_grid("budget", "steps2600", 1) if c.label == "unpruned")
    assert WIDTH_CHECK == ("steps2600", 0.5) and check.width == 0.5 and unpruned.width == 0.25
    assert config_hash(check) == config_hash(unpruned.replace(width=0.5))
    assert config_hash(check) != config_hash(unpruned)
    # Its criteria are those of an unpruned run, whatever its label.
    c = budget.criteria([_run(check, 75.0, train=99.5)], "steps2600")
    assert c.unpruned_runs == 1 and c.gap_at_last_epoch == pytest.approx(24.5)
    assert c.verdicts["fits before the decay"] == "met"


def test_complete_central_grids_decide_every_vgg11_figure1_and_figure5_claim():
    """The chapter's central verdicts: the budget grid at steps10400 carries every claim
    of Figure 1 about VGG11, and Figure 5's grid at steps2600 every claim of Figure 5
    (each on both accuracy measures); a planted 2-point prune_L 13% advantage over
    well-separated runs is reproduced."""
    from prunestab.book import claims
    from prunestab.paper.budget import CENTRAL_PROFILES

    def run(config):
        level = LEVEL.get(config.label, 0.0)
        accuracy = 70 + 0.1 * config.seed + 2 * level / 3  # prune_L 13%: +2 points
        pruned = config.pruning is not None
        instability = 1.0 + level + 0.05 * config.seed
        return _run(config, accuracy, instability if pruned else math.nan)

    fig1 = claims.evaluate(
        "fig1",
        [run(c) for c in figure_grid("budget", CENTRAL_PROFILES["fig1"])],
        CENTRAL_PROFILES["fig1"],
    )
    wanted = [s.wording for s in claims.CLAIMS if s.figure == "fig1" and "VGG11" in s.wording]
    assert [c.claim for c in fig1] == wanted and len(wanted) == 3
    assert {c.verdict for c in fig1} == {"reproduced"}
    fig5 = claims.evaluate(
        "fig5",
        [run(c) for c in figure_grid("fig5", CENTRAL_PROFILES["fig5"])],
        CENTRAL_PROFILES["fig5"],
    )
    assert [c.claim for c in fig5] == [s.wording for s in claims.CLAIMS if s.figure == "fig5"]


def test_the_front_page_lists_each_budgets_reading():
    from prunestab.book.frontpage import _readings_html

    grid = figure_grid("budget", "steps650", seeds=5)
    runs = [_run(c, 70 + c.seed * 0.2 + 3 * (c.label == "prune_L 13%"), 1.0 + c.seed) for c in grid]
    point = budget.budget_point(runs, "steps650")
    shown = _readings_html([point], {"steps650": runs})
    assert shown.startswith("<ul><li><code>steps650</code> (650 steps, complete)")
    assert "generalizes better than unpruned" in shown and shown.endswith("</li></ul>")
    assert _readings_html([], {}) == ""


def test_accuracy_cells_summarise_each_configuration():
    grid = figure_grid("budget", "steps650", seeds=5)
    runs = [
        _run(c, 60.0 + c.seed, math.nan if c.pruning is None else 2.0) for c in grid if c.seed < 4
    ]
    cells = budget.accuracy_cells(runs)
    assert list(cells)[0] == "unpruned" and len(cells) == 5
    unpruned = cells["unpruned"]
    assert (unpruned.accuracy, unpruned.runs) == (61.5, 4) and math.isnan(unpruned.instability)
    assert unpruned.sd == pytest.approx(float(np.std([60, 61, 62, 63], ddof=1)))
    assert cells["prune_L 13%"].instability == 2.0


def test_width_test_is_the_largest_budget_grid_at_width_half_and_nothing_else():
    """The pre-registered width test (book/budget.md): the 25 steps10400 budget runs with
    width 0.5; every other field, label and seed as in the width-0.25 grid, new hashes."""
    from prunestab.config import config_hash
    from prunestab.paper.width import TEST as WIDTH_TEST
    from prunestab.paper.width import grid as width_test_grid

    narrow = figure_grid("budget", "steps10400", 5)
    wide = width_test_grid()
    assert WIDTH_TEST == ("steps10400", 0.5) and len(wide) == len(narrow) == 25
    for n, w in zip(narrow, wide, strict=True):
        assert n.width == 0.25 and w.width == 0.5
        assert w == n.replace(width=0.5) and w.label == n.label
        assert config_hash(w) != config_hash(n)
    assert {c.seed for c in wide} == set(range(5))


def test_capacity_reading_compares_the_wide_run_with_its_narrow_seed():
    from prunestab.paper.budget import width_check_config

    narrow = next(c for c in figure_grid("budget", "steps2600", 1) if c.label == "unpruned")
    wide = _run(width_check_config(), 73.0, train=93.0)
    assert "not stored yet" in budget.capacity_reading(None, [])
    assert "narrow counterpart not yet" in budget.capacity_reading(wide, [])
    said = budget.capacity_reading(wide, [_run(narrow, 66.5, train=91.5)])
    assert "width 0.5 reaches 73.0% last-epoch test accuracy against 66.5% at width 0.25" in said
    assert "(+6.5 points), with 93.0% against 91.5% training accuracy" in said


def test_the_power_against_the_papers_r_is_stated_only_for_a_complete_budget():
    """The grouped rule's points are the 4 pruned configurations, whatever the seeds; its
    power at the paper's r is stated once the budget's grid is complete (NaN before)."""
    runs = []
    for config in figure_grid("budget", "steps650", seeds=5):
        level = LEVEL.get(config.label, 0.0)
        accuracy = 70.0 + 0.3 * config.seed + (0.2 if level == 1.0 else -0.1 * level)
        runs.append(_run(config, accuracy, 1.0 + level + 0.1 * config.seed))
    point = budget.budget_point(runs, "steps650")
    assert point.correlation.n == (4,) and 0 < point.correlation_power < 0.6
    assert math.isnan(budget.budget_point(runs[:-1], "steps650").correlation_power)


def test_each_central_verdict_reads_its_own_grid(tmp_path):
    """Figure 1 is decided on the budget grid at steps10400 (VGG11 only: 5 configurations x
    5 seeds), Figure 5 on its own eight configurations at steps2600."""
    assert budget.central_runs("fig1", tmp_path) == ([], 25)
    assert budget.central_runs("fig5", tmp_path) == ([], 40)


def test_the_front_page_says_what_each_budget_profile_will_decide(tmp_path):
    """A budget profile with no verdicts yet says which central claims it decides under
    the protocol (none at steps650), not "not yet decided" for ever."""
    from prunestab.book.frontpage import findings_html

    shown = findings_html("quick", tmp_path)
    row = {
        name: shown.split(f"<code>{name}</code>")[1].split("</tr>")[0]
        for name in ("quick", "steps650", "steps2600", "steps10400")
    }
    assert "not yet decided</td>" in row["quick"]
    assert "decides no claim: a point of the budget study only" in row["steps650"]
    assert "not yet decided (Figure 5's central claims: 0 of 40 runs stored)" in row["steps2600"]
    assert "not yet decided (Figure 1's central claims: 0 of 25 runs stored)" in row["steps10400"]
    assert "Figure 1's central claims at 10,400 steps: 0 of 25 runs stored, not yet" in shown
    assert "fig1" not in shown and "1 claims" not in shown


def test_runs_outside_the_protocol_are_refused_not_mixed_into_a_verdict():
    """A GPU run (bf16 under precision="auto") or one from another CIFAR-10 copy lands in
    the same run folder as the CPU fp32 run it replaces: the study refuses it by name."""
    grid = figure_grid("budget", "steps10400", seeds=2)
    copy = {"variant": "modified", "mismatched": ["test_batch"], "n_test": 10_000}

    def run(config, precision="fp32", dataset=copy):
        made = _run(config, 70.0)
        made.result.update(execution={"precision": precision}, device="cpu", dataset=dict(dataset))
        return made

    study.check_comparable([run(c) for c in grid], "steps10400")  # one copy, fp32: fine
    gpu = [run(c) for c in grid]
    gpu[3] = run(grid[3], "bf16")
    gpu[3].result["device"] = "cuda"
    with pytest.raises(
        ValueError,
        match=rf"steps10400: {grid[3].display_label()} seed "
        rf"{grid[3].seed} was computed in bf16 on cuda.*in fp32",
    ):
        study.check_comparable(gpu, "steps10400")
    official = [run(c) for c in grid]
    official[0] = run(grid[0], dataset={"variant": "official", "mismatched": []})
    with pytest.raises(ValueError, match="different copies of CIFAR-10"):
        study.check_comparable(official, "steps10400")
    study.check_comparable(gpu, "quick")  # the protocol covers the budget profiles only


def _width_runs(gap_narrow: float, gap_wide: float, train_wide: float = 100.0) -> tuple:
    """Both widths' budget grids at steps10400, prune_L 13% ``gap`` points from unpruned,
    every other pruned configuration 0.5 below unpruned, seeds spread by 0.2 points; the
    width-0.5 runs' training accuracy ``train_wide``."""
    from prunestab.paper.width import grid as width_test_grid

    def runs(grid, gap, base, train):
        out = []
        for c in grid:
            shift = 0.0 if c.label == "unpruned" else gap if c.label == "prune_L 13%" else -0.5
            instability = {"prune_L 13%": 3.0, "prune_S 13%": 1.7}.get(c.label, 0.3)
            accuracy = base + shift + 0.2 * (c.seed - 2)
            out.append(_run(c, accuracy, instability + 0.01 * c.seed, train=train))
        return out

    return runs(figure_grid("budget", "steps10400", 5), gap_narrow, 74.5, 100.0), runs(
        width_test_grid(), gap_wide, 77.0, train_wide
    )


@pytest.mark.parametrize(
    "gap_wide, d, i, reading",
    [
        (+1.5, "reproduced", "reproduced", "the tradeoff appears with more capacity"),
        (0.0, "inconclusive", "reproduced", "the gap closes with width"),
        (-0.9, "contradicted", "inconclusive", "the deficit persists at width 0.5"),
    ],
)
def test_width_test_reads_the_preregistered_table(gap_wide, d, i, reading):
    """The protocol's outcomes, planted: prune_L 13% 0.9 points below unpruned at width
    0.25 (as stored), and above, level with or as far below at width 0.5."""
    narrow, wide = _width_runs(-0.9, gap_wide)
    test = width.decide(narrow, wide)
    primary = test.difference[0.5]["final_test_acc"]
    assert primary.estimate == pytest.approx(gap_wide) and primary.verdict == d
    assert test.interaction["final_test_acc"].estimate == pytest.approx(gap_wide + 0.9)
    assert test.interaction["final_test_acc"].verdict == i
    assert width.reading(primary.verdict, test.interaction["final_test_acc"].verdict).startswith(
        reading
    )
    # Every pruned configuration against unpruned, at both widths; the grouped correlation.
    assert (
        set(test.versus_unpruned[0.25])
        == set(test.versus_unpruned[0.5])
        == {"prune_S 1%", "prune_S 13%", "prune_L 13%", "l2 prune_S 1%"}
    )
    assert test.correlation[0.5].n == (4,)


def test_width_status_decides_nothing_until_all_25_runs_are_stored(tmp_path):
    from prunestab.store import RunStore

    said = width.status(RunStore(tmp_path))
    assert "0 of 25 runs stored, 0.0 core-hours so far; nothing is decided until all are" in said
    assert width.stored_test(RunStore(tmp_path)) is None


def test_figure5_at_the_papers_proportions_adds_exactly_its_20_scaled_noise_runs():
    """Part C's grid (pre-registered): windows of 1 and 31 steps (0.31% and 9.7% of the 320
    between events, as the paper's 50 and 1,500 are of 15,640); unpruned, prune_L and the
    0-step windows are the stored runs, unchanged."""
    from prunestab.config import config_hash
    from prunestab.paper.fig5 import noise_window_fractions
    from prunestab.paper.fig5 import proportional_grid as fig5_proportional_grid

    stored = {config_hash(c) for c in figure_grid("fig5", "steps2600")}
    scaled = fig5_proportional_grid()
    new = [c for c in scaled if config_hash(c) not in stored]
    assert len(scaled) == 40 and len(new) == 20
    assert {(c.noise.kind, c.noise.steps) for c in new} == {
        (k, s) for k in ("zeroing", "gaussian") for s in (1, 31)
    }
    assert noise_window_fractions("steps2600")[50][:2] == (50, 50 / 320)
    assert noise_window_fractions("paper")[1500][1] == pytest.approx(1500 / 15640)


def test_width_test_rows_name_every_preregistered_comparison_once():
    from prunestab.book import tables

    narrow, wide = _width_runs(-0.9, -0.9)
    rows = width.rows(width.decide(narrow, wide))
    said = [(setting, comparison) for setting, comparison, _ in rows]
    assert len(said) == len(set(said)) == 2 * (2 + 3 + 1) + 2
    for setting in ("width 0.25", "width 0.5"):
        assert (setting, "prune_L 13% - unpruned (last epoch)") in said
        assert (setting, "prune_L 13% - unpruned (best after the last pruning event)") in said
        assert (setting, "l2 prune_S 1% - unpruned (last epoch)") in said
    assert said[-2:] == [
        ("0.5 vs 0.25", "interaction (last epoch)"),
        ("0.5 vs 0.25", "interaction (best after the last pruning event)"),
    ]
    html = tables.evidence_table(rows)
    assert html.count("<tr>") == len(rows) + 1 and "verdict-contradicted" in html
    test = width.decide(narrow, wide)
    rows = width.rows(test)
    assert rows[0][2] is test.difference[0.25]["final_test_acc"]
    assert rows[1][2] is test.difference[0.25]["best_test_acc_after_pruning"]
    assert rows[6][2] is test.difference[0.5]["final_test_acc"]
    assert rows[-1][2] is test.interaction["best_test_acc_after_pruning"]
    report = tables.width_report(test)
    assert report.count("<table") == 2 and "steps10400, width 0.5" in report


def _window_runs(prune_l: float, zeroing50: float, scaled_zeroing50: float, scaled_g1500=0.0):
    """Figure 5's grid at steps2600 and its proportional grid: unpruned at 66, prune_L
    ``prune_l`` points from it, Zeroing 50 ``zeroing50`` points (the scaled one
    ``scaled_zeroing50``), the scaled Gaussian 1500 ``scaled_g1500``, the other windows
    level with unpruned; seeds 0.2 apart."""
    from prunestab.paper.fig5 import FIGURE, discarded_update_grid, proportional_grid

    def shift(config, scaled):
        if config.label == "prune_L":
            return prune_l
        if config.label in ("zeroing50", "zeroing50 (2 steps)"):
            return scaled_zeroing50 if scaled else zeroing50
        if config.label == "gaussian1500" and scaled:
            return scaled_g1500
        return 0.0

    def runs(grid, scaled):
        accuracy = {c: 66.0 + shift(c, scaled) + 0.2 * (c.seed - 2) for c in grid}
        return [_run(c, accuracy[c], test=accuracy[c]) for c in grid]

    scaled = proportional_grid() + discarded_update_grid()
    return runs(FIGURE.configs("steps2600"), False), runs(scaled, True)


def test_figure5_windows_read_the_preregistered_outcomes():
    """Part C's reading (book/budget.md): a verdict that changes with the window, no
    pruning effect to match, or no change."""
    # Pruning helps by 2 points; Zeroing 50 matches it at the cut windows, but at the
    # paper's proportions it is Zeroing 0, level with unpruned.
    unscaled, scaled = _window_runs(2.0, 2.0, 0.0)
    test = windows.decide(unscaled, scaled)
    assert (
        sorted(r.config.noise.steps for r in windows.added(unscaled, scaled))
        == [1] * 10 + [2] * 5 + [31] * 10
    )
    changed = test.changed()
    assert {claim for claim, _, _ in changed} == {
        c.claim for c in test.scaled if c.claim.startswith("Zeroing noise held for 50 steps")
    }
    assert {(old, new) for _, old, new in changed} == {("reproduced", "contradicted")}
    assert windows.reading(test).startswith("the windows' length matters at `steps2600`")
    assert windows.verdicts(test) == (
        "of Figure 5's 6 claims, at the paper's proportions 2 reproduced, 2 contradicted, "
        "2 inconclusive; with the windows cut, 4 reproduced, 0 contradicted, 2 inconclusive"
    )
    assert test.effect["final_test_acc"].verdict == "reproduced"
    assert list(test.columns().values()) == [test.unscaled, test.scaled]
    assert [row[2] for row in test.effect_rows()] == list(test.effect.values())
    assert test.same_as_zeroing_once == {seed: 0.0 for seed in range(5)}
    off = windows.decide(*_window_runs(2.0, 2.0, 0.5)).same_as_zeroing_once
    assert off == {seed: pytest.approx(0.5) for seed in range(5)}
    # No pruning effect: nothing can match it, whatever the window.
    test = windows.decide(*_window_runs(0.0, 0.0, 0.0))
    assert test.changed() == []
    assert "cannot test the noise claims at all, whatever the window" in windows.reading(test)
    assert windows.verdicts(test).endswith("6 inconclusive; with the windows cut, the same")
    # No pruning effect, and a verdict that changes: both parts are said.
    test = windows.decide(*_window_runs(0.0, 0.0, 0.0, scaled_g1500=3.0))
    said = windows.reading(test)
    assert said.startswith("the windows' length matters") and "at all, whatever the" in said
    # An effect on one measure only: the other measure's "matches" claims cannot be decided.
    unscaled, scaled = _window_runs(2.0, 2.0, 2.0)
    for run in scaled + unscaled:
        if run.label in ("unpruned", "prune_L"):
            run.result["summary"]["best_test_acc_after_pruning"] = 66.0 + 0.2 * (
                run.config.seed - 2
            )
    test = windows.decide(unscaled, scaled)
    bound = test.effect["best_test_acc_after_pruning"].bound
    assert windows.reading(test) == (
        "prune_L cannot be told from unpruned on best after the last pruning event (any "
        f"benefit of pruning is below {bound:+.2f} points, 95%), so no "
        '"matches prune_L" claim on best after the last pruning event can be decided, '
        "whatever the window"
    )
    assert test.columns().keys() == {
        "windows cut (50 and 320 steps)",
        "paper's proportions (1 and 31 steps; Zeroing 50 at 2 steps)",
    }
    # An effect, and the same verdicts on both grids.
    test = windows.decide(*_window_runs(2.0, 0.0, 0.0))
    assert windows.reading(test) == "no verdict changes with the windows' length at `steps2600`"


def test_figure5_windows_decide_nothing_until_all_25_runs_are_stored(tmp_path):
    """20 pre-registered runs and the 5 of the 2-step arm (amendment of 2026-12-06)."""
    from prunestab.store import RunStore

    assert windows.planned_new() == 25
    said = windows.status(RunStore(tmp_path))
    assert (
        "0 of 25 runs stored, 0.0 core-hours so far, and 40 of Figure 5's own runs there are "
        "missing; nothing is decided until all are" in said
    )
    assert windows.stored_test(RunStore(tmp_path)) is None


def _store(tmp_path, runs):
    """A run store holding ``runs`` (made-up results, as the runner would write them)."""
    from prunestab.config import config_hash
    from prunestab.store import RunStore

    store = RunStore(tmp_path)
    for run in runs:
        stamp = {"config": run.config.to_dict(), "hash": config_hash(run.config)}
        store.save_result(run.config, run.result | stamp)
    return store


def test_both_follow_ups_decide_from_the_store_once_complete(tmp_path):
    """Read back from a store, as the chapters read them: one run short, nothing is
    decided; complete, the pre-registered reading."""
    narrow, wide = _width_runs(-0.9, -0.9)
    store = _store(tmp_path / "width", narrow + wide[1:])
    assert "24 of 25 runs stored" in width.status(store)
    store = _store(tmp_path / "width-all", narrow + wide)
    assert width.stored_test(store).difference[0.5]["final_test_acc"].verdict == ("contradicted")
    assert width.status(store).endswith(
        "Pre-registered reading: the deficit persists at width 0.5: the negative result "
        "survives its strongest confounder at this budget."
    )
    narrow, wide = _width_runs(-0.9, -0.9, train_wide=97.0)
    store = _store(tmp_path / "width-unfit", narrow + wide)
    assert width.status(store).endswith(
        'The width-0.5 unpruned runs also fail "fits before the decay" (97.0% training '
        "accuracy at epoch 150, against 99%): width 0.5 reduces but does not remove the "
        "capacity confound."
    )
    unscaled, scaled = _window_runs(2.0, 2.0, 0.0)
    added = windows.added(unscaled, scaled)
    store = _store(tmp_path / "windows", unscaled + added[:-1])
    assert "24 of 25 runs stored" in windows.status(store)
    assert windows.stored_test(store) is None
    store = _store(tmp_path / "windows-own", unscaled[1:] + added)
    assert "all 25 runs stored, " in windows.status(store)
    assert ", and 1 of Figure 5's own runs there are missing" in windows.status(store)
    assert windows.stored_test(store) is None
    store = _store(tmp_path / "windows-all", unscaled + added)
    assert windows.status(store).startswith(
        "Figure 5 at the paper's proportions (`steps2600`, pre-registered 2026-12-04, amended "
        "2026-12-06), all 25 runs stored, "
    )
    # One read gives the chapters everything: the runs, the test and the sentence.
    follow_up = windows.follow_up(store)
    assert ": the windows' length matters at `steps2600`" in windows.status(store)
    assert len(follow_up.added) == 25 and len(follow_up.runs[0]) == len(unscaled)
    assert follow_up.test is not None and follow_up.status == windows.status(store)
    wide_follow_up = width.follow_up(tmp_path / "width-all")
    assert len(wide_follow_up.runs) == 25 and wide_follow_up.test is not None
    assert study.spent(follow_up.added, 25).startswith("all 25 runs stored, ")
    assert study.spent(wide_follow_up.runs[1:], 25).startswith("24 of 25 runs stored, ")
    assert study.spent(wide_follow_up.runs[1:], 25).endswith(" core-hours so far")


def test_figure5_windows_show_every_configurations_accuracy_on_both_grids():
    """The accuracies behind both sets of verdicts, and Figure 5's layout for two grids:
    the 8 configurations, each with the window it ran on each grid (labels name the
    paper's windows), the 2-step arm on the paper's-proportions grid only, and one row of
    zeroing / Gaussian panels per grid."""
    import matplotlib

    matplotlib.use("Agg")
    from prunestab.book import plots
    from prunestab.runs import by_label, curves

    unscaled, scaled = _window_runs(2.0, 1.0, 0.0)
    rows = windows.accuracy_rows(unscaled, scaled)
    assert len(rows) == 9
    table = {row[0]: row[1:] for row in rows}
    assert table["zeroing50 (2 steps)"] == [
        "-",
        "not in this grid",
        "2 steps",
        table["zeroing50"][3],
    ]
    assert table["zeroing50"][0] == "50 steps" and table["zeroing50"][2] == (
        "1 step (= Zeroing 0 by construction: it discards no update)"
    )
    assert table["gaussian1500"][0] == "320 steps" and table["gaussian1500"][2] == "31 steps"
    # seeds 0.2 apart around the configuration's level: mean 67.0 and 66.0, SD 0.32
    assert table["zeroing50"][1] == "67.00 (SD 0.32, n = 5)"
    assert table["zeroing50"][3] == "66.00 (SD 0.32, n = 5)"
    assert table["prune_L"][1] == table["prune_L"][3] == "68.00 (SD 0.32, n = 5)"
    fig = plots.noise_curves(
        {
            name: {k: curves(v) for k, v in by_label(runs).items()}
            for name, runs in (("cut", unscaled), ("scaled", scaled))
        },
        "two grids",
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["cut: zeroing", "cut: gaussian", "scaled: zeroing", "scaled: gaussian"]
    # each panel: unpruned, prune_L and its kind's three windows (the scaled zeroing one
    # also the 2-step arm)
    assert [len(ax.get_lines()) for ax in fig.axes] == [5, 5, 6, 5]
