import warnings

import numpy as np
import pytest
import scipy.stats

from prunestab.stats import (
    bootstrap_difference_ci,
    bootstrap_mean_ci,
    curve_ci,
    mean_ci_by,
    pearson,
)

VALUES = [91.2, 90.8, 91.9, 90.1, 91.5, 90.7, 92.0, 91.1, 90.4, 91.6]  # 10 runs, as in A.3


def test_bootstrap_ci_brackets_the_mean_and_80_is_narrower_than_95():
    ci95 = bootstrap_mean_ci(VALUES, 0.95)
    ci80 = bootstrap_mean_ci(VALUES, 0.80)
    assert ci95.mean == pytest.approx(np.mean(VALUES))
    assert ci95.low < ci95.mean < ci95.high
    assert ci95.low < ci80.low < ci80.mean < ci80.high < ci95.high
    assert (ci95.n, ci95.confidence, ci80.confidence) == (10, 0.95, 0.80)


def test_bootstrap_ci_is_deterministic_for_a_seed():
    assert bootstrap_mean_ci(VALUES, seed=3) == bootstrap_mean_ci(VALUES, seed=3)
    assert bootstrap_mean_ci(VALUES, seed=3) != bootstrap_mean_ci(VALUES, seed=4)


def test_bootstrap_ci_contains_the_true_mean():
    values = np.random.default_rng(0).normal(5.0, 1.0, size=200)
    ci = bootstrap_mean_ci(values)
    assert ci.low < 5.0 < ci.high


@pytest.mark.parametrize("values", [[3.0], [2.5] * 5])
def test_degenerate_data_give_a_zero_width_interval_without_warnings(values):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = bootstrap_mean_ci(values)
    assert ci.low == ci.mean == ci.high == values[0]


@pytest.mark.parametrize(
    ("values", "message"), [([], "empty"), ([1.0, float("nan")], "NaN"), ([[1.0]], "shape")]
)
def test_bootstrap_ci_rejects_bad_input(values, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_mean_ci(values)


def test_mean_ci_by_groups():
    cis = mean_ci_by({"prune_S": VALUES, "prune_L": [v + 1 for v in VALUES]})
    assert set(cis) == {"prune_S", "prune_L"}
    assert cis["prune_L"].mean == pytest.approx(cis["prune_S"].mean + 1)


def test_curve_ci_shape_and_bracketing():
    rng = np.random.default_rng(1)
    curves = rng.normal(0.0, 1.0, size=(10, 7)) + np.arange(7)
    curves[:, 0] = 0.1  # every run agrees at x = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, low, high = curve_ci(curves)
    assert mean.shape == low.shape == high.shape == (7,)
    np.testing.assert_allclose(mean, curves.mean(axis=0))
    assert low[0] == high[0] == mean[0]
    assert np.all(low[1:] < mean[1:]) and np.all(mean[1:] < high[1:])
    column = bootstrap_mean_ci(curves[:, 3])
    assert low[3] == pytest.approx(column.low, abs=0.3)
    assert high[3] == pytest.approx(column.high, abs=0.3)


def test_curve_ci_of_one_run_has_zero_width():
    mean, low, high = curve_ci([[0.1, 0.5, 0.7]])
    np.testing.assert_array_equal(low, mean)
    np.testing.assert_array_equal(high, mean)


def test_curve_ci_rejects_ragged_curves():
    with pytest.raises(ValueError, match="equally long"):
        curve_ci([[1.0, 2.0], [1.0]])


def test_pearson_on_a_near_linear_relation_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = 2 * x + 0.01 * rng.normal(size=30)
    corr = pearson(x, y)
    reference = scipy.stats.pearsonr(x, y)
    assert corr.r > 0.99 and corr.p_value < 1e-6
    assert corr.r == pytest.approx(reference.statistic)
    assert corr.p_value == pytest.approx(reference.pvalue)
    assert corr.low < corr.r < corr.high
    assert corr.n == 30


def test_pearson_reproduces_the_papers_vgg11_p_value():
    """Section 4.1: VGG11 r = .84, p = 1.3e-11, from 40 pooled per-run points."""
    n, r = 40, 0.84
    t = r * np.sqrt((n - 2) / (1 - r**2))
    p_from_t = 2 * scipy.stats.t.sf(t, df=n - 2)
    assert p_from_t == pytest.approx(1.2e-11, rel=0.05)

    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    x_std = (x - x.mean()) / x.std()
    z = rng.normal(size=n)
    z = z - z.mean()
    z = z - (z @ x_std) / (x_std @ x_std) * x_std
    z = z / z.std()
    y = r * x_std + np.sqrt(1 - r**2) * z
    corr = pearson(x, y)
    assert corr.r == pytest.approx(r, abs=1e-12)
    assert corr.p_value == pytest.approx(1.2e-11, rel=0.05)
    assert corr.p_value == pytest.approx(p_from_t, rel=1e-6)
    assert corr.low < r < corr.high


def test_pearson_rejects_degenerate_input_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="constant"):
            pearson([1.0, 2.0, 3.0], [4.0, 4.0, 4.0])
        with pytest.raises(ValueError, match="at least 3"):
            pearson([1.0, 2.0], [3.0, 4.0])
        with pytest.raises(ValueError, match="equal lengths"):
            pearson([1.0, 2.0, 3.0], [3.0, 4.0])


def test_difference_ci_excludes_zero_for_separated_groups_and_not_for_equal_ones():
    rng = np.random.default_rng(0)
    a, b = rng.normal(80, 0.5, 10), rng.normal(78, 0.5, 10)
    separated = bootstrap_difference_ci(a, b)
    assert separated.low > 0 and separated.mean == pytest.approx(a.mean() - b.mean())
    same = bootstrap_difference_ci(a, rng.normal(80, 0.5, 10))
    assert same.low < 0 < same.high
    with pytest.raises(ValueError, match="at least 2 runs per group"):
        bootstrap_difference_ci([1.0], b)
