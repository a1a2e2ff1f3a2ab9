"""Decision rules that turn runs into verdicts, with error rates stated and tested.

A claim about runs is decided by a test of the paper's direction and a test of the
opposite direction, each one-sided at level ``alpha / 2`` (together a two-sided test at
``alpha``, 0.05 unless stated):

* **reproduced**: the data are evidence for the paper's direction at that level;
* **contradicted**: they are evidence for the opposite direction (for an equivalence
  claim: the difference is shown to lie outside the margin);
* **inconclusive**: neither. Absence of evidence is never read as a contradiction.

With no true effect, each rule says "reproduced" in at most ``alpha / 2`` of experiments
and "contradicted" in at most ``alpha / 2``: 2.5% each at the default, for every rule
(``tests/test_verdicts.py`` checks this by simulation at 3, 5 and 10 runs per group, and
that a large true effect is found). For the equivalence rule "no true effect" means a true
difference exactly at the margin; its "reproduced" needs both one-sided tests at
``alpha / 2``, the ``1 - alpha`` interval inside the margin (not the ``1 - 2 alpha``
interval of the textbook TOST, which would be 5% per side).

The tests, all from ``scipy.stats``:

* :func:`ordering` ("A's mean is larger than B's"): Welch's t-test (unequal variances),
  whose Welch-Satterthwaite degrees of freedom are an approximation (slightly liberal at 3
  runs per group by simulation: 3.3% against 2.5% per direction). The percentile bootstrap the figures draw is
  not used for verdicts: with 3 runs per group its "95%" interval excludes a true zero
  difference in about 22% of experiments.
* :func:`correlation` ("x and y are positively/negatively correlated"): Pearson's r and
  its t-test, for independent points.
* ``prunestab.grouped.grouped_correlation``: the same claim over runs that come in
  configurations (several seeds of each), decided on the configurations' means by the
  slope of their least-squares line with an HC2 standard error and Bell-McCaffrey
  degrees of freedom, which holds its level when configurations spread differently
  (that module says why, and states the rule's power for any design).
* :func:`slope_difference` ("the slope of y on x is steeper in A than in B"): the
  difference of two least-squares slopes over its standard error, t with
  ``n_A + n_B - 4`` degrees of freedom.
* :func:`equivalence` ("A and B differ by less than a margin"): two one-sided Welch
  tests (TOST), each at ``alpha / 2``, for "reproduced" (the 95% interval inside the
  margin at ``alpha = 0.05``), and a one-sided Welch test beyond the margin at
  ``alpha / 2`` for "contradicted".
* :func:`matches_effect` ("X matches the pruned runs"): :func:`equivalence` of X and the
  target, decided only where the target differs from the reference (:func:`ordering`,
  either direction); otherwise inconclusive, since the reference itself would "match".
* :func:`interaction` ("the difference A - B is larger in one setting than in another"):
  the difference of two differences over its Welch standard error, with
  Welch-Satterthwaite degrees of freedom over the four groups.
* :func:`all_of` (a claim that needs every one of k comparisons, "prune_L beats each
  other method"): reproduced only if every comparison is (an intersection-union test,
  whose error rate is at most each comparison's, with no correction needed);
  contradicted if any comparison contradicts it after a Bonferroni-Holm correction over
  the k comparisons (so the family's false-contradiction rate stays at ``alpha / 2``).

The ladder from one-sided p-values to a verdict is :func:`decide`, public so that every
claim, including those outside this module's tests, uses it.

Every :class:`Evidence` carries its sample sizes, so each verdict states its ``n``.

What a design can resolve is stated by :func:`detectable_difference` and
:func:`detectable_correlation`: the smallest true effect that :func:`ordering` or
:func:`correlation` calls "reproduced" with a given probability (80% unless stated), for
normal data, computed by simulating the rule itself (``tests/test_verdicts.py`` checks
both against the rules' own decisions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.special
import scipy.stats

REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE)
#: Two-sided level of every rule: each direction is tested at ALPHA / 2.
ALPHA = 0.05


@dataclass(frozen=True)
class Evidence:
    """The outcome of one rule on one set of runs.

    ``p_for``/``p_against``: one-sided p-values for the paper's direction and against it
    (NaN when the test could not be run); ``n``: sample sizes (runs per group, or
    points); ``text``: the estimate with its interval, for the claims table.

    Attributes:
        verdict: one of :data:`VERDICTS`.
        p_for, p_against: the one-sided p-values (NaN: not tested).
        n: sample sizes, one per group (or the number of points or configurations).
        text: one line for the claims table.
        estimate: the difference, r or slope difference the text states (NaN if none).
        low, high: its interval, where the rule gives one (NaN otherwise).
        bound: the end of the ``1 - alpha`` interval on the paper's side: the largest
            effect in the paper's direction the data still allow (for a correlation, of
            the slope), NaN where the rule gives no interval.
        effect_kind: what ``power_at`` takes: ``"difference"`` (of means, in the values'
            units) or ``"correlation"`` (r of the configuration means); ``""``: no power.
        power_at: ``power_at(effect)``, the probability that the same rule on the same
            design (sizes and observed spreads) says "reproduced" if the true effect in
            the paper's direction were ``effect``; ``None`` where not stated.
        slope: for a correlation over configuration means, the slope of the means with
            its ``1 - alpha`` interval, ``(estimate, low, high)``: what the rule tests,
            and what the pages show (r's Fisher interval assumes equally precise means;
            the rule does not); ``None`` otherwise.
        bound_at: ``bound_at(alpha)``, ``bound`` at another two-sided level (the end of
            the ``1 - alpha`` interval on the paper's side), for a claim of several
            comparisons whose bounds must hold together (``prunestab.paper.claim``);
            ``None`` where the rule gives no interval.

    >>> evidence = ordering([61.0, 62.0, 63.0], [50.0, 51.0, 52.0])
    >>> evidence.verdict, evidence.n, evidence.estimate
    ('reproduced', (3, 3), 11.0)
    """

    verdict: str
    p_for: float
    p_against: float
    n: tuple[int, ...]
    text: str
    estimate: float = math.nan  # the difference, r or slope difference the text states
    low: float = math.nan  # its interval, where the rule gives one
    high: float = math.nan
    bound: float = math.nan
    effect_kind: str = ""
    power_at: Callable[[float], float] | None = field(default=None, repr=False, compare=False)
    bound_at: Callable[[float], float] | None = field(default=None, repr=False, compare=False)
    slope: tuple[float, float, float] | None = None


def decide(p_for: float, p_against: float, alpha: float = ALPHA) -> str:
    """The verdict ladder: reproduced if ``p_for < alpha / 2``, else contradicted if
    ``p_against < alpha / 2``, else inconclusive (NaN p-values decide nothing).

    Args:
        p_for, p_against: one-sided p-values for the paper's direction and against it.
        alpha: two-sided level; each direction is tested at ``alpha / 2``.

    Returns:
        One of :data:`VERDICTS`.

    >>> decide(0.01, 0.99), decide(0.99, 0.01), decide(0.04, 0.96)
    ('reproduced', 'contradicted', 'inconclusive')
    """
    if p_for < alpha / 2:
        return REPRODUCED
    if p_against < alpha / 2:
        return CONTRADICTED
    return INCONCLUSIVE


def _clean(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]  # NaN or infinite: a diverged run


def _too_few(n: tuple[int, ...], why: str) -> Evidence:
    return Evidence(INCONCLUSIVE, math.nan, math.nan, n, f"{why}; n = {_n_text(n)}")


def _n_text(n: tuple[int, ...]) -> str:
    return " vs ".join(str(k) for k in n)


def _t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (``scipy.stats.t.sf``,
    through its ufunc: the simulations call it ~10^5 times)."""
    return float(scipy.special.stdtr(df, -t))


@dataclass(frozen=True)
class _Welch:
    """Welch's t statistic for ``mean(a) - mean(b) - shift``, its df and standard error.

    The same numbers as ``scipy.stats.ttest_ind(a, b, equal_var=False)`` (a test states
    it), computed directly: the calibration simulations call it tens of thousands of
    times, and scipy's general machinery costs ~20x more per call.
    """

    diff: float
    se: float
    df: float

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray) -> _Welch:
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
        return cls(float(a.mean() - b.mean()), se, float(df))

    def p_above(self, shift: float = 0.0) -> float:
        """One-sided p-value of "the difference exceeds ``shift``"."""
        return _t_sf((self.diff - shift) / self.se, self.df)

    def p_below(self, shift: float = 0.0) -> float:
        return _t_sf(-(self.diff - shift) / self.se, self.df)

    def interval(self, confidence: float) -> tuple[float, float]:
        half = self.se * float(scipy.special.stdtrit(self.df, 0.5 + confidence / 2))
        return self.diff - half, self.diff + half


def _no_spread(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a == a[0]) and np.all(b == b[0]))


def ordering(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> Evidence:
    """Is ``mean(a) > mean(b)``? Welch's t-test; NaNs (diverged runs) are dropped.

    Args:
        a, b: per-run values of the two groups (at least 2 each, else inconclusive).
        alpha: two-sided level; each direction is tested at ``alpha / 2``.

    Returns:
        :class:`Evidence` with the difference of means and its ``1 - alpha`` Welch
        interval.

    >>> ordering([61.0, 62.0, 63.0], [50.0, 51.0, 52.0]).verdict
    'reproduced'
    >>> ordering([50.0, 52.0, 54.0], [51.0, 53.0, 55.0]).verdict
    'inconclusive'
    """
    a, b = _clean(a), _clean(b)
    n = (a.size, b.size)
    if min(n) < 2:
        return _too_few(n, "fewer than 2 runs in a group")
    if _no_spread(a, b):
        diff = float(a.mean() - b.mean())
        p_for, p_against = float(diff <= 0), float(diff >= 0)
        text = f"difference {diff:+.2f} (no spread in either group); n = {_n_text(n)}"
        return Evidence(decide(p_for, p_against, alpha), p_for, p_against, n, text)
    welch = _Welch.of(a, b)
    p_for, p_against = welch.p_above(), welch.p_below()
    low, high = welch.interval(1 - alpha)
    text = (
        f"difference {welch.diff:+.2f} [{low:+.2f}, {high:+.2f}] "
        f"({100 * (1 - alpha):.0f}% Welch), p = {min(1.0, 2 * min(p_for, p_against)):.2g}, "
        f"n = {_n_text(n)}"
    )
    verdict = decide(p_for, p_against, alpha)
    sd_a, sd_b = float(a.std(ddof=1)), float(b.std(ddof=1))

    def power_at(effect: float) -> float:
        return ordering_power(effect, sd_a, sd_b, a.size, b.size, alpha)

    def bound_at(level: float) -> float:
        return welch.interval(1 - level)[1]

    found = Evidence(verdict, p_for, p_against, n, text, welch.diff, low, high, high, "difference")
    return replace(found, power_at=power_at, bound_at=bound_at)


def equivalence(
    a: Sequence[float], b: Sequence[float], margin: float, alpha: float = ALPHA
) -> Evidence:
    """Do the means of ``a`` and ``b`` differ by less than ``margin``? (TOST, Welch.)

    Reproduced if both one-sided tests reject "the difference is at least ``margin``"
    at ``alpha / 2`` (the ``1 - alpha`` interval lies inside ``+-margin``); contradicted
    if a one-sided test at ``alpha / 2`` shows the difference beyond the margin.

    Args:
        a, b: per-run values (at least 2 each, with some spread, else inconclusive).
        margin: the largest difference of means still called a match (> 0).
        alpha: two-sided level; each one-sided test is at ``alpha / 2``.

    Returns:
        :class:`Evidence` with the difference, its ``1 - alpha`` Welch interval, and as
        ``p_for`` the larger TOST p-value.

    Raises:
        ValueError: ``margin`` is not positive.

    >>> equivalence([60.0, 60.2, 59.8, 60.1], [60.1, 59.9, 60.0, 60.2], margin=1.0).verdict
    'reproduced'
    """
    if not margin > 0:
        raise ValueError(f"margin={margin!r}; allowed: a positive difference")
    a, b = _clean(a), _clean(b)
    n = (a.size, b.size)
    if min(n) < 2 or _no_spread(a, b):
        return _too_few(n, "fewer than 2 runs in a group, or no spread")
    welch = _Welch.of(a, b)
    p_equivalent = max(welch.p_above(-margin), welch.p_below(margin))
    p_outside = min(welch.p_above(margin), welch.p_below(-margin))
    if p_equivalent < alpha / 2:
        verdict = REPRODUCED
    elif p_outside < alpha / 2:
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    low, high = welch.interval(1 - alpha)
    text = (
        f"difference {welch.diff:+.2f} [{low:+.2f}, {high:+.2f}] "
        f"({100 * (1 - alpha):.0f}% Welch), margin +-{margin:g}, n = {_n_text(n)}"
    )
    return Evidence(verdict, p_equivalent, p_outside, n, text, welch.diff, low, high)


def correlation(
    x: Sequence[float], y: Sequence[float], sign: int = 1, alpha: float = ALPHA
) -> Evidence:
    """Are ``x`` and ``y`` correlated with the given ``sign``? Pearson's r and its t-test.

    At least 5 pairs (fewer: inconclusive); pairs with a NaN are dropped. The t-test
    assumes independent points; for runs that come in configurations (several seeds
    each) use ``prunestab.grouped.grouped_correlation``.

    Args:
        x, y: paired values, one pair per point.
        sign: 1 (a positive correlation claimed) or -1 (negative).
        alpha: two-sided level; each direction is tested at ``alpha / 2``.

    Returns:
        :class:`Evidence` with r, its Fisher-z ``1 - alpha`` interval and ``n = (pairs,)``;
        inconclusive below 5 pairs or with a constant ``x`` or ``y``.

    Raises:
        ValueError: ``sign`` is not 1 or -1, or ``x`` and ``y`` differ in length; the
            message names what is allowed.

    >>> correlation([1, 2, 3, 4, 5, 6], [2.0, 2.1, 2.9, 4.2, 5.1, 5.8]).verdict
    'reproduced'
    """
    if sign not in (1, -1):
        raise ValueError(f"sign={sign!r}; allowed: 1 (positive) or -1 (negative)")
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} values and y {y.size}; allowed: one y per x")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = (x.size,)
    if x.size < 5 or np.all(x == x[0]) or np.all(y == y[0]):
        return _too_few(n, "fewer than 5 varying pairs")
    # scipy.stats.pearsonr's r, t-test and Fisher-z interval (a test states the match).
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    t = r * math.sqrt((x.size - 2) / max(1e-300, 1 - r * r))
    p_positive, p_negative = _t_sf(t, x.size - 2), _t_sf(-t, x.size - 2)
    p_for, p_against = (p_positive, p_negative) if sign > 0 else (p_negative, p_positive)
    z, half = (
        math.atanh(max(-1 + 1e-15, min(r, 1 - 1e-15))),
        scipy.special.ndtri(1 - alpha / 2) / math.sqrt(x.size - 3) if x.size > 3 else math.inf,
    )
    low, high = math.tanh(z - half), math.tanh(z + half)
    text = (
        f"r = {r:+.2f} [{low:+.2f}, {high:+.2f}], p = {2 * min(p_for, p_against):.2g}, n = {x.size}"
    )
    return Evidence(decide(p_for, p_against, alpha), p_for, p_against, n, text, r, low, high)


def _pearson(
    x: np.ndarray, y: np.ndarray, sign: int, alpha: float
) -> tuple[float, float, float, float, float]:
    """Pearson's r of ``x`` and ``y``, its one-sided t-test p-values in and against
    ``sign``'s direction (``n - 2`` df) and its Fisher-z ``1 - alpha`` interval (the whole
    of [-1, 1] below 4 points): ``(r, p_for, p_against, low, high)``."""
    n = x.size
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    t = r * math.sqrt((n - 2) / max(1e-300, 1 - r * r))
    p_positive, p_negative = _t_sf(t, n - 2), _t_sf(-t, n - 2)
    p_for, p_against = (p_positive, p_negative) if sign > 0 else (p_negative, p_positive)
    if n > 3:
        z = math.atanh(max(-1 + 1e-15, min(r, 1 - 1e-15)))
        half = float(scipy.special.ndtri(1 - alpha / 2)) / math.sqrt(n - 3)
        low, high = math.tanh(z - half), math.tanh(z + half)
    else:
        low, high = -1.0, 1.0
    return r, p_for, p_against, low, high


def matches_effect(
    x: Sequence[float],
    target: Sequence[float],
    reference: Sequence[float],
    margin: float,
    names: tuple[str, str, str] = ("X", "the target", "the reference"),
    alpha: float = ALPHA,
) -> Evidence:
    """Does ``x`` match ``target`` within ``margin``, where ``target`` has an effect?

    "X matches the pruned runs" is evidence that X mimics pruning only if pruning did
    something: it is decided (by :func:`equivalence` of ``x`` and ``target``) only when
    a gate, :func:`ordering` at ``alpha / 2`` (each direction at ``alpha / 4``), tells
    ``target`` from ``reference`` in either direction; otherwise it is inconclusive, and
    says why (``reference`` itself would match ``target``). Its "reproduced" needs both:
    with no effect of pruning the gate opens in at most ``alpha / 2`` of experiments, and
    with X a margin away the equivalence says "reproduced" in at most ``alpha / 2``
    (intersection-union), so either way at most ``alpha / 2``. (Until 2026-12-07 the gate
    was :func:`ordering` at ``alpha``, which opens in ``alpha`` of null experiments, twice
    the level stated; no verdict moved, book/budget.md.)

    Args:
        x, target, reference: per-run values of the three groups.
        margin: the equivalence margin (> 0).
        names: how the text names ``x``, ``target`` and ``reference``.
        alpha: the two-sided level of the equivalence; the gate's is ``alpha / 2``.

    Returns:
        :class:`Evidence` of the equivalence when the gate opens (``bound``: the largest
        difference either way its ``1 - alpha`` interval allows), else inconclusive with
        the effect's test in its text (``bound``: the largest effect of pruning either
        way its ``1 - alpha`` interval allows); both with ``power_at``
        (:func:`match_power`).

    Raises:
        ValueError: ``margin`` is not positive.

    >>> pruned, unpruned = [70.0, 70.2, 69.8, 70.1], [70.1, 69.9, 70.0, 70.2]
    >>> matches_effect([70.0, 70.1, 69.9, 70.2], pruned, unpruned, 1.0).verdict
    'inconclusive'
    """
    if not margin > 0:
        raise ValueError(f"margin={margin!r}; allowed: a positive difference")
    gate = ordering(target, reference, alpha / 2)
    groups = [_clean(g) for g in (x, target, reference)]
    sds = [float(g.std(ddof=1)) if g.size > 1 else math.nan for g in groups]
    sizes = [g.size for g in groups]

    def power_at(pruning: float) -> float:
        return match_power(pruning, sds, sizes, margin, alpha)

    if gate.verdict == INCONCLUSIVE:
        name_x, name_t, name_r = names
        effect = ordering(target, reference, alpha)  # its 1 - alpha interval, for the words
        size = max(abs(effect.low), abs(effect.high))
        level = f"{100 * (1 - alpha):.0f}%"
        bound = (
            ""
            if math.isnan(size)
            else f"; any advantage of {name_t} over {name_r} is below {effect.high:+.2f} "
            f"points, any disadvantage below {-effect.low:.2f} ({level})"
        )
        return Evidence(
            INCONCLUSIVE,
            math.nan,
            math.nan,
            effect.n,
            f"not decided: {name_t} - {name_r}, {effect.text}, does not pass the gate (Welch, "
            f"each direction at {100 * alpha / 4:g}%), so whether {name_x} matches an effect "
            f"of pruning cannot be tested here{bound}",
            bound=size,
            effect_kind="match",
            power_at=power_at,
        )
    matched = equivalence(x, target, margin, alpha)
    widest = max(abs(matched.low), abs(matched.high))  # NaN where no interval
    return replace(matched, bound=widest, effect_kind="match", power_at=power_at)


def interaction(
    a_new: Sequence[float],
    b_new: Sequence[float],
    a_old: Sequence[float],
    b_old: Sequence[float],
    alpha: float = ALPHA,
) -> Evidence:
    """Is ``mean(a_new) - mean(b_new)`` larger than ``mean(a_old) - mean(b_old)``?

    The difference of differences over its standard error ``sqrt(sum s_g^2 / n_g)``, t
    with Welch-Satterthwaite degrees of freedom over the four groups (NaNs dropped).

    Args:
        a_new, b_new: the two groups in the new setting (e.g. prune_L and unpruned at
            width 0.5).
        a_old, b_old: the same two groups in the old setting.
        alpha: two-sided level; each direction is tested at ``alpha / 2``.

    Returns:
        :class:`Evidence` with the interaction, its ``1 - alpha`` interval and
        ``n = (n_a_new, n_b_new, n_a_old, n_b_old)``; inconclusive with fewer than 2 runs
        in a group or no spread at all.

    >>> interaction([70, 71, 72], [70, 71, 72], [60, 61, 62], [70, 71, 72]).verdict
    'reproduced'
    """
    groups = [_clean(g) for g in (a_new, b_new, a_old, b_old)]
    n = tuple(g.size for g in groups)
    if min(n) < 2:
        return _too_few(n, "fewer than 2 runs in a group")
    v = np.array([g.var(ddof=1) / g.size for g in groups])
    estimate = float(groups[0].mean() - groups[1].mean() - (groups[2].mean() - groups[3].mean()))
    se = math.sqrt(float(v.sum()))
    if se == 0:
        return _too_few(n, "no spread in any group")
    df = float(
        v.sum() ** 2 / sum(vi**2 / (g.size - 1) for vi, g in zip(v, groups, strict=True) if vi > 0)
    )
    t = estimate / se
    p_for, p_against = _t_sf(t, df), _t_sf(-t, df)

    half = se * float(scipy.special.stdtrit(df, 1 - alpha / 2))
    low, high = estimate - half, estimate + half

    def bound_at(level: float) -> float:
        return estimate + se * float(scipy.special.stdtrit(df, 1 - level / 2))

    text = (
        f"interaction {estimate:+.2f} [{low:+.2f}, {high:+.2f}] ({100 * (1 - alpha):.0f}% "
        f"Welch, {df:.1f} df), p = {min(1.0, 2 * min(p_for, p_against)):.2g}, "
        f"n = {_n_text(n)}"
    )
    verdict = decide(p_for, p_against, alpha)
    sds = [float(g.std(ddof=1)) for g in groups]

    def power_at(effect: float) -> float:
        return interaction_power(effect, sds, n, alpha)

    found = Evidence(verdict, p_for, p_against, n, text, estimate, low, high, high, "difference")
    return replace(found, power_at=power_at, bound_at=bound_at)


def slope_difference(
    x_a: Sequence[float],
    y_a: Sequence[float],
    x_b: Sequence[float],
    y_b: Sequence[float],
    sign: int = -1,
    alpha: float = ALPHA,
) -> Evidence:
    """Is the least-squares slope of ``y_a`` on ``x_a`` below (``sign=-1``) or above
    (``sign=1``) that of ``y_b`` on ``x_b``?

    ``t = (b_A - b_B) / sqrt(se_A^2 + se_B^2)`` with ``n_A + n_B - 4`` degrees of freedom
    (exact for equal residual variances; Welch-like otherwise).

    Args:
        x_a, y_a: the points of setting A (pairs with a NaN are dropped).
        x_b, y_b: the points of setting B.
        sign: -1 (A's slope claimed below B's, the default) or 1 (above).
        alpha: two-sided level; each direction is tested at ``alpha / 2``.

    Returns:
        :class:`Evidence` with both slopes and their standard errors in its text and
        ``n = (n_A, n_B)``; inconclusive when a setting has fewer than 3 points or a
        constant ``x``.

    Raises:
        ValueError: ``sign`` is not 1 or -1.

    >>> x = [0, 1, 2, 3, 4, 5, 6, 7]
    >>> slope_difference(x, [0, -2.1, -3.9, -6.2, -8, -9.8, -12.1, -14], x,
    ...                  [0, -0.4, -1.1, -1.4, -2.1, -2.4, -3.1, -3.5]).verdict
    'reproduced'
    """
    if sign not in (1, -1):
        raise ValueError(f"sign={sign!r}; allowed: 1 or -1")
    fits, sizes = [], []
    for x, y in ((x_a, y_a), (x_b, y_b)):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        sizes.append(x.size)
        if x.size < 3 or np.all(x == x[0]):
            return _too_few(tuple(sizes), "fewer than 3 distinct points for a slope")
        fits.append(_slope(x, y))
    n = tuple(sizes)
    (slope_a, se_a), (slope_b, se_b) = fits
    se = math.sqrt(se_a**2 + se_b**2)
    df = sum(n) - 4
    if se == 0:
        t = math.copysign(math.inf, slope_a - slope_b) if slope_a != slope_b else 0.0
    else:
        t = (slope_a - slope_b) / se
    p_above, p_below = _t_sf(t, df), _t_sf(-t, df)
    p_for, p_against = (p_above, p_below) if sign > 0 else (p_below, p_above)
    text = (
        f"slopes {slope_a:+.3f} +- {se_a:.3f} vs {slope_b:+.3f} +- {se_b:.3f} "
        f"(t = {t:.2f}, df = {df}), n = {_n_text(n)}"
    )
    return Evidence(decide(p_for, p_against, alpha), p_for, p_against, n, text)


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and its standard error (``scipy.stats.linregress``'s)."""
    dx = x - x.mean()
    slope = float(dx @ (y - y.mean()) / (dx @ dx))
    residual = y - y.mean() - slope * dx
    return slope, math.sqrt(float(residual @ residual) / (x.size - 2) / float(dx @ dx))


def all_of(parts: Sequence[Evidence], alpha: float = ALPHA) -> str:
    """The verdict of a claim that needs every one of ``parts`` to hold.

    Reproduced if every part is reproduced (intersection-union: no correction needed);
    contradicted if, after Holm's correction over the ``k`` parts, some part's evidence
    against the paper's direction is below ``alpha / 2`` (Holm's first step, the
    smallest p-value against ``alpha / (2 k)``, decides whether any part rejects); else
    inconclusive. No parts: inconclusive.

    Args:
        parts: the evidence of each comparison the claim needs.
        alpha: two-sided level of the family.

    Returns:
        One of :data:`VERDICTS`.

    >>> strong = ordering([61.0, 62.0, 63.0], [50.0, 51.0, 52.0])
    >>> weak = ordering([50.0, 52.0, 54.0], [51.0, 53.0, 55.0])
    >>> all_of([strong, strong]), all_of([strong, weak])
    ('reproduced', 'inconclusive')
    """
    if not parts:
        return INCONCLUSIVE
    if all(p.verdict == REPRODUCED for p in parts):
        return REPRODUCED
    against = [p.p_against for p in parts if not math.isnan(p.p_against)]
    if against and min(against) * len(parts) < alpha / 2:
        return CONTRADICTED
    return INCONCLUSIVE


def check_power(power: float, alpha: float) -> None:
    """Refuse (``ValueError`` naming the value) a power or level outside ``(0, 1)``.

    >>> check_power(0.8, 0.05)
    """
    if not 0 < power < 1:
        raise ValueError(f"power={power!r}; allowed: a probability strictly between 0 and 1")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r}; allowed: a level strictly between 0 and 1")


def detectable_difference(
    sd_a: float,
    sd_b: float,
    n_a: int,
    n_b: int,
    power: float = 0.8,
    alpha: float = ALPHA,
    draws: int = 200_000,
    seed: int = 0,
) -> float:
    """The smallest true difference ``mean(a) - mean(b)`` that :func:`ordering` calls
    "reproduced" with probability ``power``, for ``n_a`` and ``n_b`` normal runs with
    standard deviations ``sd_a`` and ``sd_b``.

    Exact up to simulation error (about 1% of the answer at the default ``draws``): the
    Welch statistic at a true difference ``d`` is ``(d + noise) / se`` with ``noise`` and
    ``se`` independent of ``d``, so the rule says "reproduced" exactly when ``d`` exceeds
    ``t_crit(df) * se - noise``, and the answer is that threshold's ``power`` quantile
    over simulated experiments. (The textbook noncentral-t formula treats Welch's df as
    known and overstates the power at 3 to 5 runs per group.)

    Args:
        sd_a, sd_b: the groups' true standard deviations (>= 0, not both 0).
        n_a, n_b: runs per group (>= 2 each).
        power: the probability of "reproduced" asked for, strictly between 0 and 1.
        alpha: the rules' two-sided level.
        draws: simulated experiments (memory grows as ``draws * (n_a + n_b)``).
        seed: seed of the simulation.

    Returns:
        The difference of means, in the values' units.

    Raises:
        ValueError: fewer than 2 runs in a group, a negative or two zero standard
            deviations, or ``power``/``alpha`` outside ``(0, 1)``; the message names
            the values and what is allowed.

    >>> round(detectable_difference(1.0, 1.0, 5, 5), 1)
    2.1
    """
    check_power(power, alpha)
    return float(np.quantile(_welch_thresholds(sd_a, sd_b, n_a, n_b, alpha, draws, seed), power))


def _welch_thresholds(
    sd_a: float, sd_b: float, n_a: int, n_b: int, alpha: float, draws: int, seed: int
) -> np.ndarray:
    """Per simulated experiment, the true difference above which :func:`ordering` says
    "reproduced": the Welch statistic at a true difference ``d`` is ``(d + noise) / se``
    with ``noise`` and ``se`` independent of ``d``."""
    if min(n_a, n_b) < 2:
        raise ValueError(f"n_a={n_a}, n_b={n_b}; allowed: at least 2 runs per group")
    if not (sd_a >= 0 and sd_b >= 0 and sd_a + sd_b > 0):
        raise ValueError(f"sd_a={sd_a!r}, sd_b={sd_b!r}; allowed: non-negative, not both zero")
    rng = np.random.default_rng(seed)
    za, zb = rng.standard_normal((draws, n_a)), rng.standard_normal((draws, n_b))
    noise = sd_a * za.mean(axis=1) - sd_b * zb.mean(axis=1)
    va = sd_a**2 * za.var(axis=1, ddof=1) / n_a
    vb = sd_b**2 * zb.var(axis=1, ddof=1) / n_b
    se = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):  # one zero SD: df from the other
        df = (va + vb) ** 2 / (
            np.where(va > 0, va**2 / (n_a - 1), 0) + np.where(vb > 0, vb**2 / (n_b - 1), 0)
        )
    return scipy.special.stdtrit(df, 1 - alpha / 2) * se - noise


def ordering_power(
    difference: float,
    sd_a: float,
    sd_b: float,
    n_a: int,
    n_b: int,
    alpha: float = ALPHA,
    draws: int = 20_000,
    seed: int = 0,
) -> float:
    """The probability that :func:`ordering` says "reproduced" when the true
    ``mean(a) - mean(b)`` is ``difference``, for normal runs with these SDs and sizes (the
    inverse of :func:`detectable_difference`, by the same simulation).

    Raises:
        ValueError: as :func:`detectable_difference`.

    >>> round(ordering_power(2.1, 1.0, 1.0, 5, 5), 1)
    0.8
    """
    return float(np.mean(difference > _welch_thresholds(sd_a, sd_b, n_a, n_b, alpha, draws, seed)))


def detectable_correlation(
    n: int, power: float = 0.8, alpha: float = ALPHA, draws: int = 100_000, seed: int = 0
) -> float:
    """The smallest true Pearson correlation that :func:`correlation` calls "reproduced"
    with probability ``power`` over ``n`` bivariate-normal pairs (for the rule over
    configuration means, ``prunestab.grouped.grouped_power`` states the power of a
    design).

    Found by bisection on the rule's simulated rate, with the same simulated data at
    every candidate correlation. (Fisher's z approximation, ``tanh((z_{1 - alpha/2} +
    z_power) / sqrt(n - 3))``, is slightly larger: 0.59 against 0.58 at n = 20.)

    Args:
        n: points (pairs), >= 3.
        power: the probability of "reproduced" asked for, strictly between 0 and 1.
        alpha: the rules' two-sided level.
        draws: simulated experiments.
        seed: seed of the simulation.

    Returns:
        The correlation, between 0 and 1.

    Raises:
        ValueError: ``n`` below 3, or ``power``/``alpha`` outside ``(0, 1)``.

    >>> round(detectable_correlation(20), 2)
    0.58
    """
    if n < 3:
        raise ValueError(f"n={n}; allowed: at least 3 points (a t-test needs 1 df)")
    check_power(power, alpha)
    rng = np.random.default_rng(seed)
    x, e = rng.standard_normal((2, draws, n))
    x -= x.mean(axis=1, keepdims=True)
    e -= e.mean(axis=1, keepdims=True)
    sxx, see, sxe = (x * x).sum(axis=1), (e * e).sum(axis=1), (x * e).sum(axis=1)
    t_crit = float(scipy.special.stdtrit(n - 2, 1 - alpha / 2))
    r_crit = t_crit / math.sqrt(n - 2 + t_crit**2)  # t > t_crit exactly when r > r_crit

    def rate(rho: float) -> float:
        c = math.sqrt(1 - rho * rho)
        sxy = rho * sxx + c * sxe
        syy = rho * rho * sxx + 2 * rho * c * sxe + c * c * see
        return float(np.mean(sxy / np.sqrt(sxx * syy) > r_crit))

    low, high = 0.0, 1.0
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if rate(mid) < power else (low, mid)
    return high


def _simulated_means(
    sds: Sequence[float], sizes: Sequence[int], draws: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group and simulated experiment of normal runs with these SDs and sizes: the
    error of the group's mean and the estimated variance of that mean (``s^2 / n``).

    Raises:
        ValueError: a group with fewer than 2 runs or an SD that is not a non-negative
            number, or no spread at all; the message names the values.
    """
    if min(sizes) < 2 or not all(sd >= 0 for sd in sds) or not sum(sds) > 0:
        raise ValueError(
            f"sds={list(sds)}, sizes={list(sizes)}; allowed: at least 2 runs per group and "
            "non-negative SDs, not all zero"
        )
    rng = np.random.default_rng(seed)
    out = []
    for sd, n in zip(sds, sizes, strict=True):
        z = rng.standard_normal((draws, n))
        out.append((sd * z.mean(axis=1), sd**2 * z.var(axis=1, ddof=1) / n))
    return out


def _welch_critical(variances: Sequence[np.ndarray], sizes: Sequence[int], alpha: float):
    """Per simulated experiment, the standard error of a sum of group means with these
    estimated variances and the ``1 - alpha / 2`` critical t at its Welch-Satterthwaite
    df (a group with no spread adds nothing to the df's denominator)."""
    total = sum(variances)
    parts = sum(np.where(v > 0, v**2 / (n - 1), 0.0) for v, n in zip(variances, sizes, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        df = total**2 / parts
    return np.sqrt(total), scipy.special.stdtrit(df, 1 - alpha / 2)


def interaction_power(
    effect: float,
    sds: Sequence[float],
    sizes: Sequence[int],
    alpha: float = ALPHA,
    draws: int = 20_000,
    seed: int = 0,
) -> float:
    """The probability that :func:`interaction` says "reproduced" when the true
    difference of differences is ``effect``, for four groups of normal runs with these
    SDs and sizes (in :func:`interaction`'s order), by simulating the rule.

    >>> round(interaction_power(1.0, [0.5] * 4, [5] * 4), 2)
    0.53
    """
    (ea, va), (eb, vb), (ec, vc), (ed, vd) = _simulated_means(sds, sizes, draws, seed)
    se, critical = _welch_critical([va, vb, vc, vd], sizes, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.mean((effect + ea - eb - ec + ed) / se > critical))


def match_power(
    pruning: float,
    sds: Sequence[float],
    sizes: Sequence[int],
    margin: float,
    alpha: float = ALPHA,
    draws: int = 20_000,
    seed: int = 0,
) -> float:
    """The probability that :func:`matches_effect` says "reproduced" when the target
    beats the reference by ``pruning`` and X equals the target exactly, for normal runs
    with these SDs and sizes (X, target, reference), by simulating both of its tests on
    the same runs: the gate (:func:`ordering` of target and reference at ``alpha / 2``,
    either direction) and the equivalence within ``margin`` at ``alpha``.

    >>> round(match_power(1.0, [0.3] * 3, [5] * 3, 1.0), 2)
    0.97
    >>> match_power(0.0, [0.1] * 3, [5] * 3, 1.0) < 0.025  # no effect of pruning: the level
    True
    """
    (ex, vx), (et, vt), (er, vr) = _simulated_means(sds, sizes, draws, seed)
    se_gate, c_gate = _welch_critical([vt, vr], sizes[1:], alpha / 2)
    se_match, c_match = _welch_critical([vx, vt], sizes[:2], alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        opened = np.abs(pruning + et - er) / se_gate > c_gate
    if sds[1] == 0 and sds[2] == 0:  # ordering() with no spread: open wherever they differ
        opened = np.full(draws, pruning != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        within = margin - np.abs(ex - et) > c_match * se_match
    return float(np.mean(opened & within))
