"""Correlations over runs that come in configurations: the rule, its slope, its power.

A claim such as "configurations with more instability reach higher accuracy" is about
configurations (the algorithms that were assigned), and the runs of one configuration
(its seeds) are not independent points. The rule therefore works on the ``k``
configuration means ``(x_j, y_j)``: the least-squares line of ``y`` on ``x``, its slope
tested against zero, each direction at ``alpha / 2`` (:func:`grouped_correlation`;
the slope with its interval is :func:`dose_response`; Pearson's r of the means is shown,
the paper's statistic, and decides through the slope, whose sign it shares).

**Why not the t-test of r over the means** (the rule until 2026-12-06). It is exact only
if every configuration mean has the same variance. Here they do not: a configuration's
runs spread by 0.26 to 0.68 points (width 0.5, ``steps10400``), and the mean of 3 runs
has more variance than the mean of 5. Simulated at such spreads with no true relation,
that test said "reproduced" in 3.4% of studies of 4 configurations x 5 runs and 4.3% of
studies of 13 configurations of 3 or 5 runs, not 2.5%.

**The rule.** The slope's standard error is the heteroscedasticity-consistent HC2
estimator (each squared residual divided by ``1 - h_j``, its leverage), and its
reference distribution is Student's t with Bell and McCaffrey's (2002) Satterthwaite
degrees of freedom, the small-sample correction that Imbens and Kolesar (2016, *Robust
standard errors in small samples*) and Pustejovsky and Tipton (2018) recommend. It is not
their CR2 estimator exactly, and R's ``clubSandwich`` does not reproduce its numbers: the
standard error is plain HC2, and only the degrees of freedom use a working model
(``clubSandwich`` uses one for both); its level rests on the simulations below. The
degrees of freedom are computed under a working
model of each mean's variance, ``tau^2 + s_j^2 / n_j``: the configuration's own run
variance ``s_j^2`` over its ``n_j`` runs (the pooled run variance for a configuration of
one run) plus a configuration-level variance ``tau^2`` estimated under the null by the
method of moments (the variance of the means less their average sampling variance, at
least 0). ``python benchmarks/grouped_rule_alternatives.py`` compares it with the
alternatives on the same null studies (one direction, at 2.5%; configuration effects of
SD 0, 0.3 and 1 point):

* the t-test of r: 2.6 to 3.4% (4 configurations), 2.7 to 4.3% (13);
* HC2 with the degrees of freedom of a homoscedastic working model: up to 3.2%;
* a parametric bootstrap of r from the estimated variances: up to 3.9% (variances from
  3 runs are too noisy to plug in);
* random-effects meta-regression with Knapp-Hartung's correction, weighting by the same
  noisy variances: up to 6.2% at 13 configurations;
* a permutation test over configurations cannot reach 2.5% with 4 of them (24
  arrangements; the smallest p-value is 1/24) and is not exact when spreads differ;
* this rule: 1.5 to 2.3%, conservative where spreads are most unequal and near 2.5% as
  configuration effects grow and every mean's variance looks alike.

``tests/test_grouped.py`` asserts its bound in both directions. The price of holding the
level is power, which :func:`grouped_power` states for any design by simulating the rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

from prunestab.verdicts import (
    ALPHA,
    INCONCLUSIVE,
    Evidence,
    check_power,
    decide,
)


def group_means(
    x: Sequence[float], y: Sequence[float], groups: Sequence[object]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-group means of ``x`` and ``y`` over the pairs without a NaN (groups left empty
    are dropped), in first-seen order, and the number of pairs used: the points of
    :func:`grouped_correlation`, and of any rule that must treat a configuration's seeds
    as one point (Figure 2's slope difference over decile means).

    Args:
        x, y: per-run values (pairs with a NaN are dropped).
        groups: per-run configuration keys (any hashable; a string is one key per
            character).

    Returns:
        ``(mean_x, mean_y, pairs)``: float arrays with one entry per non-empty group, and
        the number of pairs without a NaN.

    Raises:
        ValueError: the three sequences differ in length.

    >>> group_means([1, 3, 5, float("nan")], [2, 4, 6, 8], "aabb")
    (array([2., 5.]), array([3., 6.]), 3)
    """
    members, x, y = _members(x, y, groups)
    mx = np.array([x[idx].mean() for idx in members])
    my = np.array([y[idx].mean() for idx in members])
    return mx, my, int(sum(len(idx) for idx in members))


def _members(
    x: Sequence[float], y: Sequence[float], groups: Sequence[object]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per non-empty group, in first-seen order, the indices of its finite pairs (a NaN or
    an infinity is a diverged run)."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    keys = list(groups)
    if not (x.size == y.size == len(keys)):
        raise ValueError(
            f"x has {x.size} values, y {y.size} and groups {len(keys)}; allowed: one y and "
            "one group per x"
        )
    keep = np.isfinite(x) & np.isfinite(y)
    order: dict[object, list[int]] = {}
    for i, key in enumerate(keys):
        if keep[i]:
            order.setdefault(key, []).append(i)
    return [np.array(idx) for idx in order.values()], x, y


def sampling_variances(y_runs: Sequence[np.ndarray]) -> np.ndarray:
    """Each configuration mean's estimated sampling variance ``s_j^2 / n_j``; a
    configuration of one run takes the pooled run variance of the others (0 if none has
    two runs).

    >>> sampling_variances([np.array([1.0, 3.0]), np.array([5.0])]).tolist()
    [1.0, 2.0]
    """
    sizes = np.array([len(v) for v in y_runs])
    sums = np.array([((v - v.mean()) ** 2).sum() for v in y_runs])
    df = np.maximum(sizes - 1, 0)
    pooled = sums.sum() / df.sum() if df.sum() else 0.0
    within = np.where(df > 0, sums / np.maximum(df, 1), pooled)
    return within / sizes


@dataclass(frozen=True)
class _Design:
    """What the rule needs of the configurations' ``x`` means alone: the slope's weights
    ``c`` (slope = ``c @ y``), the hat matrix ``H`` and its diagonal, the leverages."""

    c: np.ndarray
    hat: np.ndarray
    leverage: np.ndarray

    @classmethod
    def of(cls, mx: np.ndarray) -> _Design:
        dx = mx - mx.mean()
        sxx = float(dx @ dx)
        hat = 1 / mx.size + np.outer(dx, dx) / sxx
        return cls(dx / sxx, hat, np.diag(hat).copy())

    @property
    def determined(self) -> bool:
        """Whether one configuration alone fixes the line (a leverage of 1)."""
        return bool(np.any(self.leverage > 1 - 1e-9))


def _slope_tests(
    design: _Design, my: np.ndarray, variances: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope, HC2 standard error and Bell-McCaffrey degrees of freedom of each row of
    ``my`` (``(trials, k)``), with the configurations' sampling variances in the rows of
    ``variances``; vectorised over trials for the simulations."""
    k = design.c.size
    slope = my @ design.c
    residual = my - my @ design.hat.T
    weight = design.c**2 / (1 - design.leverage)
    se = np.sqrt((weight * residual**2).sum(axis=-1))
    # The working model: tau^2 (estimated under the null) + s_j^2 / n_j.
    tau2 = np.maximum(0.0, my.var(axis=-1, ddof=1) - variances.mean(axis=-1))
    omega = tau2[..., None] + variances
    omega = np.where(omega.sum(axis=-1, keepdims=True) > 0, omega, 1.0)
    annihilator = np.eye(k) - design.hat
    core = annihilator @ np.diag(weight) @ annihilator
    root = np.sqrt(omega)
    lam = np.linalg.eigvalsh(core * root[..., :, None] * root[..., None, :])
    df = lam.sum(axis=-1) ** 2 / (lam**2).sum(axis=-1)
    return slope, se, df


@dataclass(frozen=True)
class SlopeFit:
    """The rule on one set of runs (:func:`fit`).

    Attributes:
        r: Pearson's r of the configuration means (the paper's statistic; shown).
        slope: least-squares slope of the ``y`` means on the ``x`` means.
        se: its HC2 standard error.
        df: Bell-McCaffrey degrees of freedom.
        configurations, runs: ``k`` and the runs used.
    """

    r: float
    slope: float
    se: float
    df: float
    configurations: int
    runs: int
    #: The design, for the rule's power on it: x means, run SDs and runs per configuration.
    x_means: tuple[float, ...] = ()
    run_sds: tuple[float, ...] = ()
    sizes: tuple[int, ...] = ()
    #: The configurations' y means, for the interval (the test at other slopes).
    y_means: tuple[float, ...] = ()

    def power_at(self, rho: float, sign: int = 1, between_sd: float = 0.5) -> float:
        """The rule's power on this design if the configuration means correlated with x
        at ``rho`` in ``sign``'s direction, with configuration effects of SD
        ``between_sd`` (:func:`grouped_power`, :func:`slope_for_correlation`)."""
        sds = np.maximum(np.asarray(self.run_sds), 1e-12)
        slope = slope_for_correlation(self.x_means, sds, self.sizes, rho, between_sd)
        return grouped_power(self.x_means, sds, self.sizes, sign * slope, between_sd, sign)

    def p_values(self, sign: int = 1) -> tuple[float, float]:
        """One-sided p-values for the slope in ``sign``'s direction and against it."""
        if self.se == 0:
            toward = math.copysign(1, self.slope) == sign and self.slope != 0
            return (0.0, 1.0) if toward else (1.0, 0.0 if self.slope != 0 else 1.0)
        t = self.slope / self.se
        up, down = float(scipy.special.stdtr(self.df, -t)), float(scipy.special.stdtr(self.df, t))
        return (up, down) if sign > 0 else (down, up)

    def df_at(self, slope: float) -> float:
        """The rule's degrees of freedom for the hypothesis "the true slope is ``slope``":
        its test on the means less ``slope`` times x (the standard error is the same for
        every hypothesis; the working model's configuration variance is not)."""
        mx, my = np.asarray(self.x_means), np.asarray(self.y_means)
        variances = np.asarray(self.run_sds) ** 2 / np.asarray(self.sizes)
        _, _, df = _slope_tests(_Design.of(mx), (my - slope * mx)[None], variances[None])
        return float(df[0])

    def interval(self, alpha: float = ALPHA) -> tuple[float, float]:
        """The slope's ``1 - alpha`` interval: the slopes the rule's own test, each
        direction at ``alpha / 2``, does not reject (its inversion).

        The rule estimates its working model's configuration variance under the
        hypothesis tested; read off the test at slope 0 alone (``slope +- t se`` with the
        df at 0), the interval missed a steep true slope on one side in up to 3.1% of
        simulated studies instead of 2.5% (``tests/test_grouped.py``; the interval until
        2026-12-07). By inversion it excludes 0 exactly when the rule decides.
        """
        if self.se == 0 or not self.y_means:
            half = self.se * float(scipy.special.stdtrit(self.df, 1 - alpha / 2))
            return self.slope - half, self.slope + half

        def beyond(end: float, side: int) -> float:
            q = float(scipy.special.stdtrit(self.df_at(end), 1 - alpha / 2))
            return side * (self.slope + side * self.se * q - end)

        ends = []
        for side in (-1, 1):
            # df >= 1 in exact arithmetic, so the end lies within t(1) standard errors;
            # widened until the sign changes, for rounding.
            reach = self.se * float(scipy.special.stdtrit(1.0, 1 - alpha / 2))
            while beyond(self.slope + side * reach, side) > 0:
                reach *= 2
            a, b = sorted((self.slope, self.slope + side * reach))
            ends.append(float(scipy.optimize.brentq(beyond, a, b, args=(side,))))
        return ends[0], ends[1]

    def bound_at(self, sign: int = 1) -> Callable[[float], float]:
        """The end of the slope's ``1 - alpha`` interval on ``sign``'s side, as a
        function of ``alpha`` (the evidence's ``bound`` and ``bound_at``)."""
        return lambda alpha: self.interval(alpha)[1 if sign > 0 else 0]


def fit(x: Sequence[float], y: Sequence[float], groups: Sequence[object]) -> SlopeFit | None:
    """The rule's fit over configuration means; ``None`` with fewer than 3 configurations,
    no spread in either mean, or one configuration that alone fixes the line.

    Raises:
        ValueError: the three sequences differ in length.

    >>> f = fit([1, 1, 2, 2, 3, 3], [1.0, 1.2, 2.1, 1.9, 3.2, 2.8], "aabbcc")
    >>> round(f.slope, 2), f.configurations, f.runs
    (0.95, 3, 6)
    """
    members, x, y = _members(x, y, groups)
    mx = np.array([x[idx].mean() for idx in members])
    my = np.array([y[idx].mean() for idx in members])
    k = mx.size
    if k < 3 or np.ptp(mx) == 0 or np.ptp(my) == 0:
        return None
    design = _Design.of(mx)
    if design.determined:
        return None
    variances = sampling_variances([y[idx] for idx in members])
    slope, se, df = _slope_tests(design, my[None], variances[None])
    r = float(np.clip(np.corrcoef(mx, my)[0, 1], -1.0, 1.0))
    sizes = tuple(len(idx) for idx in members)
    sds = tuple(float(math.sqrt(v * n)) for v, n in zip(variances, sizes, strict=True))
    return SlopeFit(
        r,
        float(slope[0]),
        float(se[0]),
        float(df[0]),
        k,
        sum(sizes),
        tuple(float(v) for v in mx),
        sds,
        sizes,
        tuple(float(v) for v in my),
    )


def _fisher(r: float, k: int, alpha: float) -> tuple[float, float]:
    if k <= 3:
        return -1.0, 1.0
    z = math.atanh(max(-1 + 1e-15, min(r, 1 - 1e-15)))
    half = float(scipy.special.ndtri(1 - alpha / 2)) / math.sqrt(k - 3)
    return math.tanh(z - half), math.tanh(z + half)


def _not_fitted(x, y, groups) -> Evidence:
    mx, _, runs = group_means(x, y, groups)
    return Evidence(
        INCONCLUSIVE,
        math.nan,
        math.nan,
        (mx.size,),
        f"fewer than 3 configurations with varying means (or one that alone fixes the "
        f"line); {mx.size} configurations of {runs} runs",
    )


def _fitted(
    x: Sequence[float], y: Sequence[float], groups: Sequence[object], sign: int
) -> SlopeFit | None:
    """:func:`fit`, after refusing a ``sign`` other than 1 or -1."""
    if sign not in (1, -1):
        raise ValueError(f"sign={sign!r}; allowed: 1 (positive) or -1 (negative)")
    return fit(x, y, groups)


def grouped_correlation(
    x: Sequence[float],
    y: Sequence[float],
    groups: Sequence[object],
    sign: int = 1,
    alpha: float = ALPHA,
) -> Evidence:
    """Are ``x`` and ``y`` related with the given ``sign`` across configurations?

    The slope of the configuration means, HC2 with Bell-McCaffrey degrees of freedom
    (module docstring), each direction at ``alpha / 2``. Reports Pearson's r of the means
    (the paper's statistic) with its Fisher interval, drawn in the budget figure only as
    a guide: the slope's test decides, and the tables and forest plots show the slope
    with its interval (``Evidence.slope``).

    Args:
        x, y: per-run values (pairs with a NaN or an infinity are dropped).
        groups: per-run configuration keys (any hashable, e.g. labels).
        sign: 1 (positive relation claimed) or -1 (negative).
        alpha: two-sided level; each direction is tested at ``alpha / 2``.

    Returns:
        :class:`~prunestab.verdicts.Evidence` with ``n = (k,)``, ``estimate`` r of the
        means and ``low``/``high`` its Fisher interval; the text gives the slope with its
        interval and degrees of freedom. Inconclusive below 3 configurations.

    Raises:
        ValueError: ``sign`` is not 1 or -1, or the three sequences differ in length.

    >>> x = [1, 1.1, 2, 2.1, 3, 3.1, 4, 4.1]
    >>> y = [10, 10.4, 11, 11.2, 12.1, 11.9, 13, 13.2]
    >>> grouped_correlation(x, y, ["a", "a", "b", "b", "c", "c", "d", "d"]).verdict
    'reproduced'
    """
    found = _fitted(x, y, groups, sign)
    if found is None:
        return _not_fitted(x, y, groups)
    p_for, p_against = found.p_values(sign)
    low, high = _fisher(found.r, found.configurations, alpha)
    s_low, s_high = found.interval(alpha)
    text = (
        f"r = {found.r:+.2f} over {found.configurations} configuration means; slope "
        f"{found.slope:+.3g} [{s_low:+.3g}, {s_high:+.3g}] ({100 * (1 - alpha):.0f}%, HC2, "
        f"{found.df:.1f} df), p = {min(1.0, 2 * min(p_for, p_against)):.2g}, "
        f"n = {found.runs} runs"
    )
    verdict = decide(p_for, p_against, alpha)

    def power_at(rho: float) -> float:
        return found.power_at(rho, sign)

    k, bound_at = (found.configurations,), found.bound_at(sign)
    bound = s_high if sign > 0 else s_low  # bound_at(alpha), already computed
    evidence = Evidence(verdict, p_for, p_against, k, text, found.r, low, high, bound)
    slope = (found.slope, s_low, s_high)
    return replace(
        evidence, effect_kind="correlation", power_at=power_at, bound_at=bound_at, slope=slope
    )


def dose_response(
    x: Sequence[float],
    y: Sequence[float],
    groups: Sequence[object],
    sign: int = 1,
    alpha: float = ALPHA,
) -> Evidence:
    """The same test as :func:`grouped_correlation`, stated as its slope: how much ``y``
    changes per unit of ``x`` across configurations, with the slope's ``1 - alpha``
    interval (``estimate``, ``low``, ``high``) and the same verdict.

    >>> e = dose_response([1, 1, 2, 2, 3, 3, 4, 4], [1, 1.2, 2.1, 1.9, 3.2, 2.8, 4, 4.2], "aabbccdd")
    >>> e.verdict, round(e.estimate, 2)
    ('reproduced', 1.0)
    """
    found = _fitted(x, y, groups, sign)
    if found is None:
        return _not_fitted(x, y, groups)
    p_for, p_against = found.p_values(sign)
    low, high = found.interval(alpha)
    text = (
        f"slope {found.slope:+.3g} [{low:+.3g}, {high:+.3g}] ({100 * (1 - alpha):.0f}%, HC2, "
        f"{found.df:.1f} df) over {found.configurations} configuration means, "
        f"p = {min(1.0, 2 * min(p_for, p_against)):.2g}, n = {found.runs} runs"
    )
    verdict = decide(p_for, p_against, alpha)
    k, bound_at = (found.configurations,), found.bound_at(sign)
    bound = high if sign > 0 else low  # bound_at(alpha), already computed
    evidence = Evidence(verdict, p_for, p_against, k, text, found.slope, low, high, bound)
    return replace(evidence, bound_at=bound_at)


def _design_arrays(
    x_means: Sequence[float], run_sds: Sequence[float], runs: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, sd, n = (np.asarray(v, dtype=float).ravel() for v in (x_means, run_sds, runs))
    if not (x.size == sd.size == n.size) or x.size < 3:
        raise ValueError(
            f"{x.size} x means, {sd.size} run SDs and {n.size} run counts; allowed: one of "
            "each per configuration, at least 3 configurations"
        )
    finite = np.all(np.isfinite(x)) and np.all(np.isfinite(sd)) and np.all(np.isfinite(n))
    if not finite or np.ptp(x) == 0 or np.any(sd < 0) or np.any(n < 1) or np.any(n != np.round(n)):
        raise ValueError(
            f"x_means={x.tolist()}, run_sds={sd.tolist()}, runs={n.tolist()}; allowed: "
            "finite x means that vary, finite SDs >= 0, whole run counts >= 1"
        )
    return x, sd, n.astype(int)


def grouped_power(
    x_means: Sequence[float],
    run_sds: Sequence[float],
    runs: Sequence[int],
    slope: float,
    between_sd: float = 0.0,
    sign: int = 1,
    alpha: float = ALPHA,
    draws: int = 20_000,
    seed: int = 0,
) -> float:
    """The probability that :func:`grouped_correlation` says "reproduced" for a design.

    Simulates the rule itself: configuration ``j`` (instability mean ``x_means[j]``, held
    fixed) has true accuracy ``slope * x_j + u_j`` with ``u_j ~ N(0, between_sd^2)``
    (configuration effects unrelated to ``x``) and ``runs[j]`` normal runs of SD
    ``run_sds[j]``; its sample mean and variance are drawn as normal theory gives them.

    Args:
        x_means, run_sds, runs: per configuration (at least 3; the x means must vary).
        slope: the true change of ``y`` per unit of ``x``.
        between_sd: SD of the configuration effects (>= 0).
        sign: the claimed direction.
        alpha: the rule's two-sided level.
        draws: simulated studies (the rate's standard error is at most
            ``0.5 / sqrt(draws)``).
        seed: seed of the simulation.

    Returns:
        The simulated rate of "reproduced".

    Raises:
        ValueError: mismatched or invalid design arrays, or a negative ``between_sd``.

    >>> round(grouped_power([0, 1, 2, 3], [0.5] * 4, [5] * 4, slope=0.0), 2) <= 0.03
    True
    """
    x, sd, n = _design_arrays(x_means, run_sds, runs)
    if not between_sd >= 0:
        raise ValueError(f"between_sd={between_sd!r}; allowed: >= 0")
    rng = np.random.default_rng(seed)
    k = x.size
    means = (
        slope * x
        + between_sd * rng.standard_normal((draws, k))
        + sd / np.sqrt(n) * rng.standard_normal((draws, k))
    )
    dof = np.maximum(n - 1, 1)
    run_var = sd**2 * rng.chisquare(dof, (draws, k)) / dof
    # A configuration of one run takes the pooled variance of the others, as the rule does.
    single = n < 2
    if single.any():
        pooled = (run_var * np.where(single, 0, n - 1)).sum(axis=1, keepdims=True) / max(
            1, int((n - 1)[~single].sum())
        )
        run_var = np.where(single, pooled, run_var)
    design = _Design.of(x)
    found, se, df = _slope_tests(design, means, run_var / n)
    t = np.where(se > 0, found / np.where(se > 0, se, 1), np.sign(found) * np.inf)
    critical = scipy.special.stdtrit(df, 1 - alpha / 2)
    return float(np.mean(sign * t > critical))


def slope_for_correlation(
    x_means: Sequence[float],
    run_sds: Sequence[float],
    runs: Sequence[int],
    rho: float,
    between_sd: float = 0.0,
) -> float:
    """The slope at which the configuration means correlate with ``x`` at ``rho`` in
    expectation over a design: ``slope^2 var(x) / (slope^2 var(x) + tau^2 + mean(sd^2/n))
    = rho^2``, the noise being the configuration effects and the means' sampling noise.

    >>> round(slope_for_correlation([0, 1, 2, 3], [0.5] * 4, [5] * 4, 0.84), 3)
    0.268
    """
    x, sd, n = _design_arrays(x_means, run_sds, runs)
    if not 0 <= rho < 1:
        raise ValueError(f"rho={rho!r}; allowed: 0 <= rho < 1")
    noise = between_sd**2 + float(np.mean(sd**2 / n))
    return rho / math.sqrt(1 - rho**2) * math.sqrt(noise / float(np.var(x, ddof=1)))


def detectable_slope(
    x_means: Sequence[float],
    run_sds: Sequence[float],
    runs: Sequence[int],
    between_sd: float = 0.0,
    power: float = 0.8,
    alpha: float = ALPHA,
    draws: int = 20_000,
    seed: int = 0,
) -> float:
    """The smallest true slope that :func:`grouped_correlation` finds with probability
    ``power`` over a design (bisection on :func:`grouped_power`, the same simulated noise
    at every candidate).

    >>> 0.3 < detectable_slope([0, 1, 2, 3], [0.5] * 4, [5] * 4) < 1.5
    True
    """
    check_power(power, alpha)
    x, sd, n = _design_arrays(x_means, run_sds, runs)
    scale = math.sqrt(between_sd**2 + float(np.mean(sd**2 / n))) / float(np.std(x, ddof=1))
    low, high = 0.0, scale
    while grouped_power(x, sd, n, high, between_sd, 1, alpha, draws, seed) < power:
        low, high = high, 2 * high
    for _ in range(20):
        mid = (low + high) / 2
        if grouped_power(x, sd, n, mid, between_sd, 1, alpha, draws, seed) < power:
            low = mid
        else:
            high = mid
    return high


@dataclass(frozen=True)
class Robustness:
    """How much a grouped correlation rests on single runs: fixed in advance, shown beside
    the verdict and never deciding it.

    ``loo_low``/``loo_high``: the range of :func:`grouped_correlation`'s r when each run in
    turn is left out; ``spearman``/``spearman_p``: Spearman's rank correlation over the
    runs and its two-sided p-value (runs treated as independent: descriptive only);
    ``run_r``: Pearson's r over the runs, treating them as independent points (shown for
    comparison with the configuration-level r that decides).

    Attributes:
        loo_low, loo_high: the leave-one-run-out range of r (NaN when no leave-out keeps
            3 varying configurations).
        spearman, spearman_p: Spearman's rho over the runs and its p-value.
        run_r: Pearson's r over the runs.
        runs: the runs used (pairs without a NaN).
    """

    loo_low: float
    loo_high: float
    spearman: float
    spearman_p: float
    run_r: float
    runs: int

    @property
    def text(self) -> str:
        """One line for the claims table, stating that neither view decides."""
        return (
            f"leave-one-run-out r {self.loo_low:+.2f} to {self.loo_high:+.2f}; Spearman's rho "
            f"over the {self.runs} runs {self.spearman:+.2f}; Pearson's r over the runs "
            f"{self.run_r:+.2f} (neither decides)"
        )


def correlation_robustness(
    x: Sequence[float], y: Sequence[float], groups: Sequence[object]
) -> Robustness:
    """The robustness view of :func:`grouped_correlation` on the same runs.

    Args:
        x, y, groups: as for :func:`grouped_correlation`.

    Returns:
        :class:`Robustness` (NaN where fewer than 3 configurations or 3 runs remain).

    Raises:
        ValueError: the three sequences differ in length.

    >>> view = correlation_robustness([1, 2, 3, 4, 5, 6], [1, 2, 2, 4, 5, 7], "aabbcc")
    >>> round(view.loo_low, 2) <= round(view.loo_high, 2), round(view.spearman, 2)
    (True, 0.99)
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    keys = list(groups)
    group_means(x, y, keys)  # validates the lengths
    keep = np.isfinite(x) & np.isfinite(y)
    idx = np.flatnonzero(keep)
    loo = []
    for i in idx:
        rest = idx[idx != i]
        mx, my, _ = group_means(x[rest], y[rest], [keys[j] for j in rest])
        if mx.size >= 3 and np.ptp(mx) > 0 and np.ptp(my) > 0:
            loo.append(float(np.corrcoef(mx, my)[0, 1]))
    xs, ys = x[keep], y[keep]
    if xs.size >= 3 and np.ptp(xs) > 0 and np.ptp(ys) > 0:
        rho = scipy.stats.spearmanr(xs, ys)
        spearman, spearman_p = float(rho.statistic), float(rho.pvalue)
        run_r = float(np.corrcoef(xs, ys)[0, 1])
    else:
        spearman = spearman_p = run_r = math.nan
    low, high = (min(loo), max(loo)) if loo else (math.nan, math.nan)
    return Robustness(low, high, spearman, spearman_p, run_r, int(xs.size))
