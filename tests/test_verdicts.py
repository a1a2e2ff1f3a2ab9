"""The verdict rules' error rates, by simulation (seeded; a few seconds on a CPU).

With no true effect, each rule may say "reproduced" in at most ALPHA / 2 of experiments
and "contradicted" in at most ALPHA / 2; a large true effect must be found. The bound is
checked with a Monte Carlo tolerance of 3.5 standard errors of the simulated rate.
"""

import math

import numpy as np
import pytest

from prunestab import verdicts
from prunestab.verdicts import ALPHA, CONTRADICTED, REPRODUCED

TRIALS = 2000
NOMINAL = ALPHA / 2
TOLERANCE = 3.5 * math.sqrt(NOMINAL * (1 - NOMINAL) / TRIALS)


def _rates(decide, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    outcomes = [decide(rng) for _ in range(TRIALS)]
    return {v: outcomes.count(v) / TRIALS for v in (REPRODUCED, CONTRADICTED)}


def _assert_calibrated(rates: dict[str, float]) -> None:
    for verdict, rate in rates.items():
        assert rate <= NOMINAL + TOLERANCE, f"false {verdict} in {rate:.1%} of null experiments"


@pytest.mark.parametrize("n", [3, 5, 10])
def test_ordering_is_calibrated_with_no_true_difference(n):
    # Unequal spreads: Welch's test must hold its level where a pooled t-test would not.
    def decide(rng):
        return verdicts.ordering(rng.normal(60, 2, n), rng.normal(60, 0.5, n)).verdict

    _assert_calibrated(_rates(decide, n))


@pytest.mark.parametrize("n", [3, 5, 10])
def test_correlation_is_calibrated_with_no_true_correlation(n):
    points = 4 * n  # the correlation claims pool the runs of several configurations

    def decide(rng):
        return verdicts.correlation(rng.normal(size=points), rng.normal(size=points)).verdict

    _assert_calibrated(_rates(decide, 100 + n))


@pytest.mark.parametrize("n", [3, 5, 10])
def test_slope_difference_is_calibrated_with_equal_slopes(n):
    x = np.repeat(np.arange(11), n)  # eleven decile targets, n runs each

    def decide(rng):
        y_a, y_b = -0.3 * x + rng.normal(0, 1, x.size), -0.3 * x + rng.normal(0, 1, x.size)
        return verdicts.slope_difference(x, y_a, x, y_b).verdict

    _assert_calibrated(_rates(decide, 200 + n))


@pytest.mark.parametrize("n", [3, 5, 10])
def test_equivalence_is_calibrated_at_the_margin_and_at_zero(n):
    # A true difference exactly at the margin: "reproduced" (equivalent) is the error,
    # allowed in at most ALPHA / 2 of experiments (both one-sided tests at 2.5%).
    def at_margin(rng):
        return verdicts.equivalence(rng.normal(61, 1, n), rng.normal(60, 1, n), 1.0).verdict

    rates = _rates(at_margin, 300 + n)
    assert rates[REPRODUCED] <= NOMINAL + TOLERANCE

    # No difference at all: "contradicted" (shown outside the margin) is the error.
    def at_zero(rng):
        return verdicts.equivalence(rng.normal(60, 1, n), rng.normal(60, 1, n), 1.0).verdict

    assert _rates(at_zero, 400 + n)[CONTRADICTED] <= NOMINAL + TOLERANCE


@pytest.mark.parametrize("n", [3, 5, 10])
def test_all_of_is_calibrated_when_no_comparison_has_an_effect(n):
    def decide(rng):
        best = rng.normal(60, 1, n)
        parts = [verdicts.ordering(best, rng.normal(60, 1, n)) for _ in range(4)]
        return verdicts.all_of(parts)

    _assert_calibrated(_rates(decide, 500 + n))


def test_large_true_effects_are_found():
    rng = np.random.default_rng(7)
    n = 5
    assert verdicts.ordering(rng.normal(65, 1, n), rng.normal(60, 1, n)).verdict == REPRODUCED
    assert verdicts.ordering(rng.normal(55, 1, n), rng.normal(60, 1, n)).verdict == CONTRADICTED
    x = np.arange(20.0)
    assert verdicts.correlation(x, x + rng.normal(0, 2, 20)).verdict == REPRODUCED
    assert verdicts.correlation(x, -x + rng.normal(0, 2, 20)).verdict == CONTRADICTED
    same = verdicts.equivalence(rng.normal(60, 0.2, 10), rng.normal(60, 0.2, 10), 1.0)
    far = verdicts.equivalence(rng.normal(65, 0.5, n), rng.normal(60, 0.5, n), 1.0)
    assert (same.verdict, far.verdict) == (REPRODUCED, CONTRADICTED)
    strong = [verdicts.ordering(rng.normal(65, 1, n), rng.normal(60, 1, n)) for _ in range(3)]
    assert verdicts.all_of(strong) == REPRODUCED
    reversed_one = strong[:2] + [verdicts.ordering(rng.normal(50, 1, n), rng.normal(60, 1, n))]
    assert verdicts.all_of(reversed_one) == CONTRADICTED


def test_absence_of_evidence_is_inconclusive_and_states_n():
    evidence = verdicts.correlation(np.arange(40.0), np.random.default_rng(1).normal(size=40))
    assert evidence.verdict == verdicts.INCONCLUSIVE and "n = 40" in evidence.text
    single = verdicts.ordering([60.0], [50.0, 51.0])
    assert single.verdict == verdicts.INCONCLUSIVE and "n = 1 vs 2" in single.text


def test_welch_matches_scipy():
    import scipy.stats

    rng = np.random.default_rng(3)
    a, b = rng.normal(60, 2, 4), rng.normal(59, 0.5, 6)
    reference = scipy.stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    welch = verdicts._Welch.of(a, b)
    assert welch.p_above() == pytest.approx(reference.pvalue, rel=1e-9)
    assert welch.df == pytest.approx(reference.df, rel=1e-9)
    ci = scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert welch.interval(0.95) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_correlation_and_slope_match_scipy():
    import scipy.stats

    rng = np.random.default_rng(4)
    x = rng.normal(size=12)
    y = 0.5 * x + rng.normal(size=12)
    reference = scipy.stats.pearsonr(x, y)
    ci = reference.confidence_interval(0.95)
    evidence = verdicts.correlation(x, y)
    assert f"r = {reference.statistic:+.2f} [{ci.low:+.2f}, {ci.high:+.2f}]" in evidence.text
    assert 2 * min(evidence.p_for, evidence.p_against) == pytest.approx(reference.pvalue)
    fit = scipy.stats.linregress(x, y)
    assert verdicts._slope(x, y) == pytest.approx((fit.slope, fit.stderr))


def test_a_perfect_correlation_of_either_sign_is_decided_not_an_error():
    x = np.arange(8.0)
    assert verdicts.correlation(x, -x).verdict == CONTRADICTED
    assert verdicts.correlation(x, x).verdict == REPRODUCED


POWER_TRIALS = 3000
POWER_TOLERANCE = 3.5 * math.sqrt(0.8 * 0.2 / POWER_TRIALS)


@pytest.mark.parametrize(
    ("sd_a", "sd_b", "n"), [(1.0, 1.0, 3), (2.6, 0.8, 5), (1.0, 1.0, 5), (0.5, 3.0, 10)]
)
def test_the_detectable_difference_is_found_by_the_rule_at_its_stated_power(sd_a, sd_b, n):
    """At the stated difference, ordering() says "reproduced" in 80% of experiments,
    checked with fresh data against the rule itself (unequal spreads included)."""
    d = verdicts.detectable_difference(sd_a, sd_b, n, n)
    rng = np.random.default_rng(7)
    found = [
        verdicts.ordering(rng.normal(d, sd_a, n), rng.normal(0, sd_b, n)).verdict == REPRODUCED
        for _ in range(POWER_TRIALS)
    ]
    assert abs(np.mean(found) - 0.8) < POWER_TOLERANCE, (d, np.mean(found))
    # Larger groups resolve smaller differences; more power needs a larger one.
    assert verdicts.detectable_difference(sd_a, sd_b, 2 * n, 2 * n) < d
    assert verdicts.detectable_difference(sd_a, sd_b, n, n, power=0.9) > d


@pytest.mark.parametrize("n", [8, 20])
def test_the_detectable_correlation_is_found_by_the_rule_at_its_stated_power(n):
    rho = verdicts.detectable_correlation(n)
    rng = np.random.default_rng(n)

    def found() -> bool:
        x = rng.standard_normal(n)
        y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal(n)
        return verdicts.correlation(x, y).verdict == REPRODUCED

    rate = np.mean([found() for _ in range(POWER_TRIALS)])
    assert abs(rate - 0.8) < POWER_TOLERANCE, (rho, rate)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: verdicts.detectable_difference(1, 1, 1, 5), "n_a=1"),
        (lambda: verdicts.detectable_difference(0, 0, 5, 5), "sd_a=0"),
        (lambda: verdicts.detectable_difference(1, 1, 5, 5, power=1.0), "power=1.0"),
        (lambda: verdicts.detectable_correlation(2), "n=2"),
    ],
)
def test_power_questions_without_an_answer_are_clear_errors(call, named):
    with pytest.raises(ValueError, match=f"{named}.*allowed"):
        call()


# --- "X matches prune_L" only where prune_L did something ------------------------------------


def test_a_match_without_a_pruning_effect_is_inconclusive_and_says_why():
    rng = np.random.default_rng(8)
    same = [rng.normal(66, 0.2, 5) for _ in range(3)]
    evidence = verdicts.matches_effect(*same, 1.0, names=("zeroing50", "prune_L", "unpruned"))
    assert evidence.verdict == "inconclusive"
    assert evidence.text.startswith("not decided: prune_L - unpruned, difference")
    assert "does not pass the gate (Welch, each direction at 1.25%)" in evidence.text
    # Not "no effect to match": the bound on the pruning effect the data still allow,
    # either way (the gate opens in both directions).
    effect = verdicts.ordering(same[1], same[2])
    assert evidence.bound == max(-effect.low, effect.high)
    assert f"any advantage of prune_L over unpruned is below {effect.high:+.2f}" in evidence.text
    assert "no effect" not in evidence.text and evidence.effect_kind == "match"
    # The old rule called the same data a match.
    assert verdicts.equivalence(same[0], same[1], 1.0).verdict == REPRODUCED


@pytest.mark.parametrize(("effect", "sd"), [(0.0, 0.5), (0.0, 0.1), (3.0, 0.5)])
def test_matches_effect_is_calibrated_with_and_without_a_pruning_effect(effect, sd):
    """With no pruning effect, "reproduced" is an error whatever X does; with one, X a
    margin away from prune_L makes it an error. Each at most 2.5%. At small spreads X
    always matches, so the no-effect error is the gate's own (both directions together):
    a gate at 2.5% per direction made it 5%."""

    def decide(rng):
        target = rng.normal(66 - effect, sd, 5)
        x = rng.normal(66 - effect + (1.0 if effect else 0.0), sd, 5)
        return verdicts.matches_effect(x, target, rng.normal(66, sd, 5), 1.0).verdict

    assert _rates(decide, 20 + int(effect))[REPRODUCED] <= NOMINAL + TOLERANCE


def test_a_real_match_of_a_real_effect_is_found():
    rng = np.random.default_rng(9)
    found = [
        verdicts.matches_effect(
            rng.normal(63, 0.3, 5), rng.normal(63, 0.3, 5), rng.normal(66, 0.3, 5), 1.0
        ).verdict
        for _ in range(200)
    ]
    assert found.count(REPRODUCED) / 200 > 0.8


# --- the width x pruning interaction ---------------------------------------------------------


def test_interaction_is_calibrated_with_no_interaction():
    """Four groups of 5 with unequal spreads (as prune_L and unpruned at two widths) and a
    pruning effect that is the same at both widths."""

    def decide(rng):
        return verdicts.interaction(
            rng.normal(73, 1.0, 5),
            rng.normal(74, 0.3, 5),
            rng.normal(72, 0.6, 5),
            rng.normal(73, 0.3, 5),
        ).verdict

    _assert_calibrated(_rates(decide, 30))


def test_interaction_finds_a_closing_gap_and_matches_its_arithmetic():
    a_new, b_new = [74.0, 74.5, 75.0], [74.2, 74.4, 74.6]
    a_old, b_old = [70.0, 70.5, 71.0], [74.1, 74.5, 74.6]
    evidence = verdicts.interaction(a_new, b_new, a_old, b_old)
    expected = (np.mean(a_new) - np.mean(b_new)) - (np.mean(a_old) - np.mean(b_old))
    assert evidence.estimate == pytest.approx(expected) and evidence.verdict == REPRODUCED
    assert evidence.low < expected < evidence.high and evidence.n == (3, 3, 3, 3)


@pytest.mark.parametrize("pruning", [-1.0, 0.0, 0.5, 1.0])
def test_the_power_of_a_match_is_what_the_rule_finds(pruning):
    """match_power: the rule itself, on fresh runs where pruning's effect is ``pruning``
    and X equals the pruned runs exactly, says "reproduced" as often as stated; so does
    the power an inconclusive verdict carries."""
    sds, sizes = [0.4, 0.5, 0.3], [5, 5, 5]
    stated = verdicts.match_power(pruning, sds, sizes, 1.0)
    rng = np.random.default_rng(20 + int(10 * pruning))

    def found() -> bool:
        pruned = rng.normal(pruning, sds[1], 5)
        x, unpruned = rng.normal(pruning, sds[0], 5), rng.normal(0, sds[2], 5)
        return verdicts.matches_effect(x, pruned, unpruned, 1.0).verdict == REPRODUCED

    rate = np.mean([found() for _ in range(POWER_TRIALS)])
    assert abs(rate - stated) < 3.5 * math.sqrt(max(stated, 0.02) / POWER_TRIALS) + 0.005
    # A design where the answer is neither trivially 0 nor 1; the gate opens both ways.
    assert (0.1 < stated < 0.95) if pruning else stated < NOMINAL


@pytest.mark.parametrize("effect", [0.0, 1.0])
def test_the_power_of_an_interaction_is_what_the_rule_finds(effect):
    """interaction_power against interaction() itself on fresh runs of unequal spreads
    (at no effect it is the rule's level, at most 2.5% plus the rule's Welch excess)."""
    sds, sizes = [0.3, 0.6, 0.4, 0.5], [5, 5, 4, 6]
    stated = verdicts.interaction_power(effect, sds, sizes)
    rng = np.random.default_rng(3 + int(effect))

    def found() -> bool:
        a, b, c, d = (rng.normal(0, sd, n) for sd, n in zip(sds, sizes, strict=True))
        return verdicts.interaction(a + effect, b, c, d).verdict == REPRODUCED

    rate = np.mean([found() for _ in range(POWER_TRIALS)])
    assert abs(rate - stated) < 3.5 * math.sqrt(max(stated, 0.02) / POWER_TRIALS) + 0.005
    evidence = verdicts.interaction(rng.normal(effect, 0.3, 5), *(rng.normal(0, 0.5, 5),) * 3)
    assert evidence.effect_kind == "difference" and 0 <= evidence.power_at(1.0) <= 1


def test_a_bound_at_another_level_is_the_interval_the_rule_states_there():
    """``bound_at(alpha)`` is the rule's own bound at ``alpha`` (the end of its interval on
    the paper's side) and widens as ``alpha`` shrinks, for every rule that states one: a
    claim of several comparisons asks each for its bound at ``ALPHA / k``."""
    from prunestab import grouped

    rng = np.random.default_rng(3)
    a, b, c, d = (rng.normal(m, 0.5, 5) for m in (71, 70, 70, 70))
    x = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], 3)
    y = 70 + 0.3 * x + rng.normal(0, 0.4, 15)
    labels = np.repeat(list("abcde"), 3)
    cases = [
        (verdicts.ordering(a, b), verdicts.ordering(a, b, alpha=ALPHA / 3), 1),
        (verdicts.interaction(a, b, c, d), verdicts.interaction(a, b, c, d, ALPHA / 3), 1),
        (grouped.grouped_correlation(x, y, labels), None, 1),
        (grouped.grouped_correlation(x, -y, labels, sign=-1), None, -1),
        (
            grouped.dose_response(x, y, labels),
            grouped.dose_response(x, y, labels, alpha=ALPHA / 3),
            1,
        ),
    ]
    for evidence, at_a_third, sign in cases:
        assert evidence.bound_at(ALPHA) == pytest.approx(evidence.bound, abs=1e-12)
        assert sign * (evidence.bound_at(ALPHA / 3) - evidence.bound) > 0
        if at_a_third is not None:
            assert evidence.bound_at(ALPHA / 3) == pytest.approx(at_a_third.bound, abs=1e-12)
