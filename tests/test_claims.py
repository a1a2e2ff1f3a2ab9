"""The verdict rules of prunestab/claims.py, on runs with made-up summaries (no training)."""

import numpy as np
import pytest

from prunestab import claims
from prunestab.analysis import Run
from prunestab.figures import figure_grid


def _runs(figure, values, key="best_test_acc_after_pruning", **extra):
    """The smoke grid of ``figure`` with ``values[label][seed]`` as each run's ``key``."""
    runs = []
    for config in figure_grid(figure, "smoke", seeds=3):
        if config.label in values:
            summary = {key: values[config.label][config.seed], **extra}
            runs.append(Run(config, {"summary": summary, "epochs": []}))
    return runs


FIG5 = {
    "unpruned": [50.0, 50.5, 51.0],
    "prune_L": [60.5, 61.0, 61.5],
    "zeroing0": [50.0, 51.0, 52.0],
    "zeroing50": [60.6, 61.0, 61.4],
    "gaussian1500": [55.0, 56.0, 57.0],
}


def test_fig5_verdicts_when_the_paper_holds():
    found = claims.fig5(_runs("fig5", FIG5), "smoke")
    assert [c.verdict for c in found] == [claims.REPRODUCED] * 3
    assert "margin +-1.0" in found[0].ours


def test_fig5_verdicts_when_it_does_not():
    values = FIG5 | {"zeroing50": [50.0, 51.0, 52.0], "gaussian1500": [63.0, 64.0, 65.0]}
    found = claims.fig5(_runs("fig5", values), "smoke")
    assert found[0].verdict == claims.NOT_REPRODUCED  # 10 points away, interval excludes 0
    assert found[2].verdict == claims.NOT_REPRODUCED  # Gaussian beats prune_L


def test_overlapping_groups_and_single_runs_are_inconclusive():
    values = FIG5 | {"zeroing0": [58.0, 61.0, 64.0]}
    assert claims.fig5(_runs("fig5", values), "smoke")[1].verdict == claims.INCONCLUSIVE
    one_seed = [r for r in _runs("fig5", FIG5) if r.config.seed == 0]
    assert {c.verdict for c in claims.fig5(one_seed, "smoke")} == {claims.INCONCLUSIVE}


@pytest.mark.parametrize("sign, verdict", [(1, claims.REPRODUCED), (-1, claims.NOT_REPRODUCED)])
def test_fig1_correlation_follows_the_sign_and_p_value(sign, verdict):
    rng = np.random.default_rng(0)
    runs = []
    for config in figure_grid("fig1", "smoke", seeds=3):
        instability = rng.uniform(0, 5)
        accuracy = 50 + sign * 2 * instability + rng.normal(0, 0.1)
        summary = {"mean_instability": instability, "best_test_acc_after_pruning": accuracy}
        runs.append(Run(config, {"summary": summary, "epochs": []}))
    found = claims.fig1(runs, "smoke")
    correlations = [c for c in found if "Pearson" in c.claim]
    assert [c.verdict for c in correlations] == [verdict, verdict]
    assert all("n = " in c.ours for c in correlations)


def test_fig4_largest_rate_claim_compares_against_the_next_best_rate():
    # Accuracy rising with the rate for S and R: the largest rate wins everywhere.
    runs = []
    for config in figure_grid("fig4", "paper", seeds=3):
        if config.pruning is None:
            continue
        rate = 100 * config.pruning.schedule.max_iterative_rate()
        summary = {"best_test_acc_after_pruning": 50 + rate / 3 + config.seed * 0.1,
                   "mean_instability": rate / 10 + config.seed * 0.01}  # fmt: skip
        runs.append(Run(config, {"summary": summary, "epochs": []}))
    found = {c.claim: c for c in claims.fig4(runs, "paper")}
    largest = next(c for name, c in found.items() if "largest rate" in name)
    assert largest.verdict == claims.REPRODUCED
    assert "30% - 18%" in largest.ours
    rates = next(c for name, c in found.items() if "larger iterative pruning rate" in name)
    assert rates.verdict == claims.REPRODUCED
