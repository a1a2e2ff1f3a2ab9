"""The rate study (``prunestab.paper.rates``): its grid, what it reads, and its decision
and reading on simulated runs (no training)."""

import dataclasses
import html
from pathlib import Path

import numpy as np
import pytest

from prunestab.book import frontpage, tables
from prunestab.config import config_hash
from prunestab.paper import rates, study, width
from prunestab.paper.claim import BEST_AFTER, LAST_EPOCH
from prunestab.runs import Run
from prunestab.verdicts import CONTRADICTED, INCONCLUSIVE, REPRODUCED, Evidence


def test_the_grid_is_figure_4s_ebn_and_random_methods_at_four_rates_at_width_half():
    grid = rates.rate_grid()
    assert len({c.label for c in grid}) == 12 and {c.width for c in grid} == {0.5}
    assert {c.pruning.schedule.retrain_period for c in grid} == {4, 20, 40, 60}
    assert {(c.pruning.score, c.pruning.target) for c in grid} == set(rates.METHODS)
    assert {c.seed for c in grid} == {0, 1, 2}


def test_27_runs_are_new_and_the_study_reads_13_configurations_of_47_runs():
    new = rates.new_runs()
    wide = {config_hash(c) for c in width.grid()}
    assert len(new) == 27 and not wide & {config_hash(c) for c in new}
    study = rates.study_configs()
    assert len(study) == 47 and len({c.label for c in study}) == 13
    # The four configurations the width test stored are read with all 5 of their seeds.
    assert wide <= {config_hash(c) for c in study} | {
        config_hash(c) for c in width.grid() if c.pruning is None
    }
    assert [c.seed for c in new] == sorted(c.seed for c in new)


def _runs(slope: float, seed: int = 0) -> list[Run]:
    """The study's configs with simulated summaries: instability by the planning design's
    kind of spread, accuracy ``80 + slope * instability`` plus run noise."""
    rng = np.random.default_rng(seed)
    base = {
        label: 0.2 + 0.15 * i
        for i, label in enumerate(sorted({c.label for c in rates.study_configs()}))
    }
    runs = []
    for config in rates.study_configs():
        x = base[config.label] + rng.normal(0, 0.02)
        best = 80 + slope * x + rng.normal(0, 0.3)
        summary = {"mean_instability": x, BEST_AFTER: best, LAST_EPOCH: best - 0.2}
        runs.append(
            Run(
                config,
                {"summary": summary, "environment": {"git_commit": "sim"}, "train_seconds": 3600},
            )
        )
    return runs


@pytest.mark.parametrize("slope, verdict", [(3.0, REPRODUCED), (-3.0, CONTRADICTED)])
def test_a_clear_relation_is_decided_and_read_as_pre_registered(slope, verdict):
    test = rates.rate_test(_runs(slope), draws=2000)
    assert test.central.verdict == verdict and test.configurations == 13
    assert test.slope.low < slope < test.slope.high
    expected = "the tradeoff appears" if slope > 0 else "the opposite of the paper"
    assert expected in test.reading


def test_an_inconclusive_verdict_is_read_by_its_power_with_the_bound():
    e = Evidence(INCONCLUSIVE, 0.3, 0.7, (13,), "", 0.1, -0.21, 0.43)
    powered = rates.reading(e, e, 0.95, 13)
    weak = rates.reading(e, e, 0.31, 13)
    assert "with probability 95%" in powered and "below +0.43 points" in powered
    assert weak.startswith("we could not tell") and "31% only" in weak
    assert "between -0.21 and +0.43" in weak


def test_power_against_the_papers_r_is_high_at_13_configurations_and_low_at_4():
    """The protocol's table, on a design like the planning one (no store needed)."""
    labels = sorted({c.label for c in rates.study_configs()})
    x = np.linspace(0.18, 1.65, 13)
    design = rates.Design(tuple(labels), x, np.full(13, 0.5), np.full(13, 3))
    rows = {(r.configurations, r.between_sd): r for r in rates.power_table(design, draws=4000)}
    assert rows[(13, 0.5)].paper_r > 0.9 > 0.5 > rows[(4, 0.5)].paper_r
    assert rows[(13, 0.5)].slope_1 < rows[(13, 0.5)].slope_2


@pytest.fixture(scope="module")
def decided():
    """The study decided on simulated runs: a clear slope (reproduced) and none."""
    return {slope: rates.rate_test(_runs(slope), draws=2000) for slope in (3.0, 0.0, -3.0)}


def test_a_decided_study_is_one_claim_with_its_power_bound_and_front_page_words(decided):
    clear, flat = decided[3.0], decided[0.0]
    assert clear.front_page == "reproduced at 10,400 steps, width 0.5"
    assert clear.claim.verdict == REPRODUCED and clear.claim.bound == ""
    assert clear.claim.power == clear.power and clear.claim.reference == "r = .84"
    assert flat.central.verdict == INCONCLUSIVE and flat.power >= rates.POWERED
    assert flat.front_page == f"not found, with {flat.power:.0%} power against the paper's effect"
    assert f"below {flat.slope.high:+.2f} points of accuracy" in flat.claim.bound
    weak = dataclasses.replace(flat, power=0.31)
    assert weak.front_page == "we could not tell (31% power against the paper's effect)"
    assert weak.claim.bound == flat.claim.bound and weak.claim.power == 0.31
    opposite = decided[-3.0]
    assert opposite.front_page == "contradicted" and opposite.claim.verdict == CONTRADICTED
    assert opposite.claim.bound == ""  # a bound is stated for inconclusive verdicts only
    (part,) = flat.claim.parts
    # The row shows what the rule tests: the slope and its interval, not r's Fisher interval.
    assert part[1:5] == (*flat.central.slope, INCONCLUSIVE)
    assert part[1:4] == (flat.slope.estimate, flat.slope.low, flat.slope.high)
    assert part[5] == "slope: points of accuracy per point of instability"
    assert flat.claim.n == "13 configuration means, 47 runs"
    line = tables.estimate_line(flat.claim)
    assert line.endswith(
        f"slope {flat.slope.estimate:+.3g} [{flat.slope.low:+.3g}, "
        f"{flat.slope.high:+.3g}] points of accuracy per point of instability"
    )


def test_instability_rising_without_accuracy_following_is_said_only_when_it_applies(decided):
    flat = decided[0.0]
    rises = [c for c in flat.figure4 if c.claim.startswith(rates.FIGURE4_CLAIMS[0])]
    assert rises and all(c.verdict != REPRODUCED for c in rises) and flat.note == ""
    risen = [dataclasses.replace(c, verdict=REPRODUCED) for c in rises]
    assert dataclasses.replace(flat, figure4=risen).note == rates.FOLLOWS_NOT
    assert dataclasses.replace(decided[3.0], figure4=risen).note == ""


def test_the_report_shows_the_reading_slope_and_every_claim_with_its_power(decided):
    flat = decided[0.0]
    risen = [
        dataclasses.replace(c, verdict=REPRODUCED)
        if c.claim.startswith(rates.FIGURE4_CLAIMS[0])
        else c
        for c in flat.figure4
    ]
    report = tables.rate_report(dataclasses.replace(flat, figure4=risen))
    assert "No relation could be told" in report and rates.FOLLOWS_NOT in report
    assert f"slope {flat.slope.estimate:+.2f} [{flat.slope.low:+.2f}" in report
    assert report.count('class="verdict verdict-') == 1 + len(flat.figure4)
    for claim in [flat.claim, *flat.figure4]:
        assert f"power {claim.power:.0%} at {html.escape(claim.reference)}" in report
    assert "power not stated" not in report


def test_the_front_page_row_says_under_way_then_the_protocols_words(decided):
    under_way = study.FollowUp([], [], None, "")
    row = frontpage.rate_row(under_way, lambda: 0.98)
    assert "0 of 27 runs stored" in row[2] and "power 98%" in row[3]
    assert row[4] == "not yet decided"
    flat = decided[0.0]
    row = frontpage.rate_row(study.FollowUp([], [], flat, ""), lambda: pytest.fail("planned"))
    assert html.escape(flat.front_page) in row[4] and "verdict-inconclusive" in row[4]
    assert (
        f"below {flat.slope.high:+.2f} points" in row[3] and f"power {flat.power:.0%} at" in row[3]
    )
    assert f"r = {flat.central.estimate:+.2f} over 13" in row[2]
    assert f"slope {flat.slope.estimate:+.2f} [{flat.slope.low:+.2f}" in row[2]
    weak = dataclasses.replace(flat, power=0.31)
    row = frontpage.rate_row(study.FollowUp([], [], weak, ""), lambda: 0.0)
    assert "we could not tell (31% power" in row[4] and "power 31% at r = .84" in row[3]
    for slope, verdict in ((3.0, "reproduced"), (-3.0, "contradicted")):
        row = frontpage.rate_row(study.FollowUp([], [], decided[slope], ""), lambda: 0.0)
        assert "the interval excludes zero" in row[3] and f"verdict-{verdict}" in row[4]


def test_a_diverged_run_is_named_and_left_out_of_its_configurations_mean():
    runs = _runs(0.0)
    lost = runs[30]  # beyond the 13 configurations: a per-run, not per-configuration, index
    runs[30] = Run(lost.config, {"summary": {**lost.result["summary"], BEST_AFTER: float("nan")}})
    test = rates.rate_test(runs, draws=500)
    assert test.diverged == (f"{lost.label} seed {lost.config.seed}",) and test.runs == 46
    assert test.configurations == 13 and "n = 46 runs" in test.central.text
    assert f"left out of their means: {lost.label} seed" in tables.rate_report(test)
    assert "none diverged" in tables.rate_report(rates.rate_test(_runs(0.0), draws=500))


def _with(runs: list[Run], index: int, **summary) -> list[Run]:
    runs = list(runs)
    run = runs[index]
    runs[index] = Run(run.config, {**run.result, "summary": {**run.result["summary"], **summary}})
    return runs


def test_what_the_runs_leave_usable_sets_the_design_the_count_and_the_names():
    """Reviewed 2026-12-07, before the study's last runs: a configuration left with one
    usable run keeps the rule's pooled run SD (its power was 0 from a NaN SD); one with
    none is not counted; an infinite value is a divergence like NaN; a run near chance
    is named, not excluded."""
    runs = _runs(0.0)
    full = rates.rate_test(runs, draws=1000)
    first = [i for i, r in enumerate(runs) if r.config.label == runs[0].config.label]
    one_left = runs
    for i in first[1:]:
        one_left = _with(one_left, i, **{BEST_AFTER: float("nan")})
    thin = rates.rate_test(one_left, draws=1000)
    assert thin.configurations == 13 and thin.power > full.power - 0.15 > 0.5
    none_left = _with(one_left, first[0], mean_instability=float("inf"))
    gone = rates.rate_test(none_left, draws=500)
    assert gone.configurations == 12 == gone.central.n[0]
    assert gone.claim.n == f"12 configuration means, {47 - len(first)} runs"
    assert f"{runs[first[0]].label} seed {runs[first[0]].config.seed}" in gone.diverged
    low = rates.rate_test(_with(runs, 30, **{LAST_EPOCH: 10.3}), draws=500)
    name = f"{runs[30].label} seed {runs[30].config.seed}"
    assert low.near_chance == (name,) and low.runs == 47 and not low.diverged
    assert f"last-epoch accuracy is below 20%: {name}" in tables.rate_report(low)


def test_an_inconclusive_reading_says_where_the_papers_slope_stands(decided):
    """The paper's r turned into a slope on the observed design, against the interval
    (added 2026-12-07); a decided verdict does not get it."""
    flat = decided[0.0]
    assert flat.paper_slope > 0
    above = flat.paper_slope > flat.slope.high
    assert rates.PAPER_SLOPE[above].format(paper=flat.paper_slope) in flat.reading
    inside = dataclasses.replace(flat, paper_slope=flat.slope.high - 0.01)
    assert inside.reading.endswith("so these runs do not rule it out")
    assert "the paper's r would give" not in decided[3.0].reading
    report = tables.rate_report(flat)
    assert "The same test on last-epoch accuracy</strong>" in report
    # Simulated runs record no segments: counted as such, per part of the study.
    assert "the 27 new runs: 27 runs from 1 commit" in report
    assert "the 20 read from the width test: 20 runs from 1 commit" in report
    assert "20 with no segment record" in report
    assert f"slope {flat.last_epoch.estimate:+.2f}" in report


def test_the_study_waits_for_the_width_test_runs_it_reads(tmp_path, monkeypatch):
    """All 27 new runs stored but one of the 20 it reads from the width test missing: not
    decided, and the status says what is missing."""
    runs = _runs(0.0)
    new = {config_hash(c) for c in rates.new_runs()}
    shared = next(i for i, r in enumerate(runs) if config_hash(r.config) not in new)
    monkeypatch.setattr(rates, "stored_runs", lambda store=None: runs[:shared] + runs[shared + 1 :])
    follow = rates.follow_up(tmp_path)
    assert follow.test is None and "1 of the 20 runs it reads from the width test" in follow.status
    monkeypatch.setattr(rates, "stored_runs", lambda store=None: runs)
    real = rates.rate_test
    monkeypatch.setattr(rates, "rate_test", lambda runs: real(runs, draws=300))
    assert rates.follow_up(tmp_path).test.configurations == 13


#: Prose written by hand while the study is under way (README, the front page's "what the
#: data support"), which must be rewritten with the verdict once all 27 runs are stored.
WHILE_UNDER_WAY = {
    "README.md": "its 27 runs are being",
    "book/intro.py": "nothing is decided until its 27 runs are stored",
}


def test_hand_written_prose_waits_for_the_rate_study_only_while_it_is_under_way():
    """Once the committed results decide the study, README and the front page must not
    still say it is under way; while it is, the phrases above must be there (so that
    this list follows the prose)."""
    root = Path(__file__).resolve().parents[1]
    decided = rates.follow_up(root / "results").test is not None
    for name, phrase in WHILE_UNDER_WAY.items():
        text = " ".join((root / name).read_text().replace("#", " ").split())
        assert (phrase in text) != decided, (
            f"{name}: rewrite the rate study's sentence with its verdict"
            if decided
            else f"{name} no longer says {phrase!r}: update WHILE_UNDER_WAY"
        )


def test_the_front_page_reads_the_follow_ups_once_per_state_of_the_store(tmp_path, monkeypatch):
    reads = []
    real = rates.follow_up
    monkeypatch.setattr(rates, "follow_up", lambda store=None: reads.append(store) or real(store))
    first = frontpage.follow_ups(tmp_path)
    assert frontpage.follow_ups(tmp_path) is first and len(reads) == 1
    assert "0 of 27 runs stored" in first.rates.status
    # A result file added (or rewritten) is a new state of the store: read again.
    (tmp_path / "vgg11-0").mkdir()
    (tmp_path / "vgg11-0" / "result.json").write_text("{}")
    assert frontpage.follow_ups(tmp_path) is not first and len(reads) == 2
