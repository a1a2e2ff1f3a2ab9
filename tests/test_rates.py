"""The rate study (``prunestab.paper.rates``): its grid, what it reads, and its decision
and reading on simulated runs (no training)."""

import numpy as np
import pytest

from prunestab.config import config_hash
from prunestab.paper import rates, width
from prunestab.paper.claim import BEST_AFTER
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
        summary = {"mean_instability": x, BEST_AFTER: 80 + slope * x + rng.normal(0, 0.3)}
        runs.append(Run(config, {"summary": summary}))
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
