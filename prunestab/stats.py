"""Confidence intervals and correlations for the figures, computed by ``scipy.stats``.

The paper's error bars are bootstrapped confidence intervals of the mean across runs:
"95% confidence intervals for the mean, bootstrapped from 10 distinct runs" (Appendix
A.3.1; also Figures 2, 4, 5) and 80% intervals from 3+ runs for Figure 3 (A.3.3). The
authors drew them with seaborn 0.10's ``lineplot``/``barplot`` default: a percentile
bootstrap with 1000 resamples (book/authors_code.md, section 8), which is
what :func:`bootstrap_mean_ci` and :func:`curve_ci` compute, with an explicit seed.

Section 4.1 correlates per-run instability with final test accuracy by Pearson's r
(VGG11: r = .84, p = 1.3e-11, pooled per-run points of the pruned configs; ResNet18:
r = .65, p = 5.2e-5); :func:`pearson` adds the Fisher-z interval the authors took from
``pingouin.corr``.

Degenerate inputs are decided here instead of surfacing as scipy warnings: a mean of
identical values has a zero-width interval; a correlation with a constant variable is an
error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

#: seaborn's default number of bootstrap resamples, which the paper's figures used.
N_RESAMPLES = 1000


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval ``[low, high]`` over ``n`` values.

    Attributes:
        mean: the sample mean (for :func:`bootstrap_difference_ci`, the difference of
            means).
        low, high: the interval's ends.
        n: the number of values (for a difference, the smaller group's).
        confidence: the interval's level, e.g. 0.95.
    """

    mean: float
    low: float
    high: float
    n: int
    confidence: float


@dataclass(frozen=True)
class Correlation:
    """Pearson's ``r`` with its two-sided p-value and Fisher-z interval ``[low, high]``.

    Attributes:
        r: the correlation coefficient.
        p_value: two-sided p-value of ``r = 0``.
        n: the number of pairs.
        low, high: the Fisher-z interval's ends.
        confidence: the interval's level.
    """

    r: float
    p_value: float
    n: int
    low: float
    high: float
    confidence: float


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r}; allowed: 0 < confidence < 1")


def _check_resamples(n_resamples: int) -> None:
    if not isinstance(n_resamples, int) or isinstance(n_resamples, bool) or n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples!r}; allowed: an integer >= 1")


def _finite_array(values: Sequence[float] | np.ndarray, name: str, ndim: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"{name} has shape {array.shape}; allowed: {ndim} dimension(s)")
    if array.size == 0:
        raise ValueError(f"{name} is empty; allowed: at least one value")
    if np.isnan(array).any():
        raise ValueError(
            f"{name} contains {int(np.isnan(array).sum())} NaN value(s) (a diverged run?); "
            "drop or replace them before taking statistics"
        )
    return array


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Percentile-bootstrap confidence interval of the mean of ``values``.

    The paper's error bars: 95% (Figures 1, 2, 4, 5; A.3.1 "95% confidence intervals for
    the mean, bootstrapped from 10 distinct runs") and 80% (Figure 3), drawn by seaborn
    as a percentile bootstrap with 1000 resamples. ``seed`` fixes the resamples, so the
    same values give the same interval. One value, or identical values, give
    ``low == high == mean`` (scipy cannot bootstrap a single value). Empty input or NaNs
    raise ``ValueError``. A percentile interval need not contain the sample mean on very
    skewed data; it is reported as computed.

    Args:
        values: one value per run (1-D).
        confidence: the interval's level, strictly between 0 and 1.
        n_resamples: bootstrap resamples, an integer >= 1.
        seed: seed of the resampling generator (``numpy.random.default_rng``).

    Returns:
        :class:`Interval` of the mean.

    Raises:
        ValueError: ``confidence`` outside ``(0, 1)``, ``n_resamples`` not an integer
            >= 1, or ``values`` not 1-D, empty or holding NaNs (the message counts them);
            the message names the argument and what is allowed.

    >>> ci = bootstrap_mean_ci([70.1, 71.3, 69.8, 70.6, 70.9])
    >>> round(ci.mean, 2), ci.low < ci.mean < ci.high, ci.n
    (70.54, True, 5)
    >>> bootstrap_mean_ci([70.0, 70.0])
    Interval(mean=70.0, low=70.0, high=70.0, n=2, confidence=0.95)
    """
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    data = _finite_array(values, "values", ndim=1)
    mean = float(np.mean(data))
    if np.all(data == data[0]):
        return Interval(mean, mean, mean, data.size, confidence)
    result = scipy.stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return Interval(mean, float(ci.low), float(ci.high), data.size, confidence)


def mean_ci_by(
    groups: Mapping[str, Sequence[float]],
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """:func:`bootstrap_mean_ci` of each group (e.g. final accuracy per pruning config).

    Every group is resampled with the same ``seed``, so a group's interval does not depend
    on which other groups are present.

    Args:
        groups: per group name, its values (one per run).
        confidence, n_resamples, seed: as for :func:`bootstrap_mean_ci`.

    Returns:
        Per group name (in the mapping's order), its :class:`Interval`.

    Raises:
        ValueError: as :func:`bootstrap_mean_ci`, for any group.

    >>> intervals = mean_ci_by({"prune_L": [71.0, 72.0, 73.0], "unpruned": [70.0, 70.0]})
    >>> intervals["unpruned"].low, intervals["prune_L"].mean
    (70.0, 72.0)
    """
    return {
        name: bootstrap_mean_ci(values, confidence, n_resamples, seed)
        for name, values in groups.items()
    }


def curve_ci(
    curves: Sequence[Sequence[float]] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-x mean, low and high across runs of equally long curves.

    ``curves[i][x]`` is run ``i``'s value at ``x`` (e.g. test accuracy per epoch across
    seeds): the error bands of the paper's training-dynamics plots, seaborn's lineplot
    default (95% percentile bootstrap of the mean, 1000 resamples). All columns are
    resampled in one vectorised ``scipy.stats.bootstrap`` call along the run axis, so
    every x uses the same resampled runs, like seaborn did. Columns where all runs agree
    (and all columns, for a single run) get ``low == high == mean``.

    Args:
        curves: one equally long curve per run (2-D: runs x points).
        confidence, n_resamples, seed: as for :func:`bootstrap_mean_ci`.

    Returns:
        ``(mean, low, high)``, each a float array with one value per x.

    Raises:
        ValueError: curves of unequal lengths, input that is not 2-D, empty or holds
            NaNs, or a bad ``confidence``/``n_resamples``; the message says which.

    >>> mean, low, high = curve_ci([[1.0, 2.0, 3.0], [1.0, 3.0, 5.0], [1.0, 4.0, 4.0]])
    >>> mean.tolist(), bool(low[0] == high[0] == 1.0), bool((low <= mean).all() and (mean <= high).all())
    ([1.0, 3.0, 4.0], True, True)
    """
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    try:
        array = np.asarray(curves, dtype=float)
    except ValueError as err:
        raise ValueError(f"curves must be equally long sequences of numbers: {err}") from err
    data = _finite_array(array, "curves", ndim=2)
    mean = data.mean(axis=0)
    low, high = mean.copy(), mean.copy()
    varying = np.any(data != data[0], axis=0)
    if varying.any():
        result = scipy.stats.bootstrap(
            (data[:, varying],),
            np.mean,
            axis=0,
            vectorized=True,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        low[varying] = result.confidence_interval.low
        high[varying] = result.confidence_interval.high
    return mean, low, high


def pearson(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> Correlation:
    """Pearson's r between ``x`` and ``y`` with its p-value and Fisher-z interval.

    Section 4.1 correlates per-run instability with final test accuracy, pooling the runs
    of the pruned configs: VGG11 r = .84, p = 1.3e-11, ResNet18 r = .65,
    p = 5.2e-5. The p-value is scipy's two-sided test of r = 0 (the t distribution with
    n - 2 degrees of freedom); the interval is ``confidence_interval`` of
    ``scipy.stats.pearsonr``'s result (Fisher z, as ``pingouin.corr`` gave the authors;
    at n = 3 it is [-1, 1]). Fewer than 3 pairs, unequal lengths, NaNs or a constant
    variable raise ``ValueError``.

    This describes a correlation for the figures; the claims decide on
    ``prunestab.verdicts.correlation`` and ``prunestab.grouped.grouped_correlation`` instead.

    Args:
        x, y: paired values, one pair per run (1-D, equally long).
        confidence: the interval's level, strictly between 0 and 1.

    Returns:
        :class:`Correlation`.

    Raises:
        ValueError: ``confidence`` outside ``(0, 1)``; ``x`` or ``y`` not 1-D, empty or
            holding NaNs; unequal lengths; fewer than 3 pairs; or a constant ``x`` or
            ``y``; the message names the argument and what is allowed.

    >>> result = pearson([1, 2, 3, 4, 5], [2.1, 3.9, 6.2, 8.1, 9.8])
    >>> round(result.r, 3), result.p_value < 1e-3, result.n
    (0.999, True, 5)
    """
    _check_confidence(confidence)
    xs = _finite_array(x, "x", ndim=1)
    ys = _finite_array(y, "y", ndim=1)
    if xs.size != ys.size:
        raise ValueError(f"x has {xs.size} values and y has {ys.size}; allowed: equal lengths")
    if xs.size < 3:
        raise ValueError(f"pearson needs at least 3 pairs; got {xs.size}")
    for name, values in (("x", xs), ("y", ys)):
        if np.all(values == values[0]):
            raise ValueError(
                f"{name} is constant ({values[0]!r} for all {values.size} values); "
                "the correlation coefficient is not defined"
            )
    result = scipy.stats.pearsonr(xs, ys)
    ci = result.confidence_interval(confidence_level=confidence)
    return Correlation(
        r=float(result.statistic),
        p_value=float(result.pvalue),
        n=int(xs.size),
        low=float(ci.low),
        high=float(ci.high),
        confidence=confidence,
    )


def bootstrap_difference_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Percentile-bootstrap interval of ``mean(a) - mean(b)`` for independent samples.

    Each sample is resampled on its own (``scipy.stats.bootstrap`` with two samples and
    ``paired=False``); the claims compare configurations this way. Both samples need at
    least two values (``ValueError`` otherwise); if neither varies, the interval has zero
    width.

    The claims' verdicts do not rest on this interval (``prunestab.verdicts`` explains
    why: at 3 runs per group it is too narrow); it describes a difference.

    Args:
        a, b: the two groups' values, one per run (1-D).
        confidence, n_resamples, seed: as for :func:`bootstrap_mean_ci`.

    Returns:
        :class:`Interval` whose ``mean`` is ``mean(a) - mean(b)`` and ``n`` the smaller
        group's size.

    Raises:
        ValueError: fewer than 2 values in a group, ``a`` or ``b`` not 1-D, empty or
            holding NaNs, or a bad ``confidence``/``n_resamples``; the message says which.

    >>> ci = bootstrap_difference_ci([71.0, 72.0, 73.0], [60.0, 61.5, 62.0])
    >>> round(ci.mean, 2), ci.low < ci.mean < ci.high
    (10.83, True)
    """
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    xs = _finite_array(a, "a", ndim=1)
    ys = _finite_array(b, "b", ndim=1)
    if xs.size < 2 or ys.size < 2:
        raise ValueError(
            f"a difference interval needs at least 2 runs per group; got {xs.size} and {ys.size}"
        )
    diff = float(np.mean(xs) - np.mean(ys))
    if np.all(xs == xs[0]) and np.all(ys == ys[0]):
        return Interval(diff, diff, diff, min(xs.size, ys.size), confidence)

    def statistic(x, y, axis):
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    result = scipy.stats.bootstrap(
        (xs, ys),
        statistic,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return Interval(diff, float(ci.low), float(ci.high), min(xs.size, ys.size), confidence)
