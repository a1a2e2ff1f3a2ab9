# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The paper's claims, reproduced or not
#
# Every claim of the paper's figures, with the paper's numbers, ours (estimate, interval,
# $p$-value and the number of runs behind it) and a verdict decided by a fixed rule
# (`prunestab.verdicts`, applied by the claims table `prunestab.claims.CLAIMS`). Each
# figure's notebook records its claims when it runs; this page collects them.
#
# ## What a verdict means
#
# Each claim is tested in the paper's direction and in the opposite direction, each
# one-sided at level 0.025 (together a two-sided test at $\alpha = 0.05$):
#
# - **reproduced**: our runs are evidence for the paper's direction at that level;
# - **contradicted**: our runs are evidence for the opposite direction (for the one
#   equivalence claim, "Zeroing 50 matches prune$_L$": the difference is shown to lie
#   outside $\pm1$ point);
# - **inconclusive**: neither. This is what too few runs, or too small an effect, give;
#   it is not evidence against the paper.
#
# The tests: **Welch's $t$-test** for "A's mean is larger than B's" (its degrees of
# freedom are an approximation, slightly liberal at 3 runs per group, as simulated below;
# the percentile bootstrap the figures draw is not used for
# verdicts, because with 3 runs per group its "95%" interval misses a true zero
# difference in about one experiment in five); **Pearson's $r$** and its $t$-test for
# correlations; the difference of two **least-squares slopes** over its standard error for
# Figure 2's "stronger for unstructured"; **two one-sided Welch tests** (TOST, the 90%
# interval inside $\pm1$ point) for the equivalence claim. A claim that needs several
# comparisons ("prune$_L$ 13% beats **every** other configuration") is reproduced only if
# every comparison is (an intersection-union test: no correction needed), and
# contradicted if any comparison is after a **Holm** correction over the comparisons.
#
# **Error rates.** With no true effect, each rule says "reproduced" in at most about 2.5%
# of experiments and "contradicted" in at most about 2.5%, at 3, 5 or 10 runs per group;
# the calibration tests (`tests/test_verdicts.py`) check this by simulation, and that a
# large true effect is found. Simulated with 2,000 null experiments each: Welch's test
# with one group four times as variable as the other says "reproduced" in 3.3% and
# "contradicted" in 3.3% at 3 runs per group (Welch's approximation is slightly liberal
# there), 2.5% and 2.2% at 5, 2.0% and 2.6% at 10; a four-comparison claim was never
# falsely "reproduced" and falsely "contradicted" in 1.7 to 2.2%; the equivalence test
# with a true difference exactly at the margin said "reproduced" in 1.7 to 4.0% (its
# level is 5%). Across the page's claims, a few wrong verdicts among many remain
# possible; the $p$-values beside each let a reader apply a stricter level.
#
# **Accuracy measures.** Accuracy claims appear twice: on the paper's measure, the best
# test accuracy from the last pruning event on (what the authors' code reported), and on
# the last epoch's test accuracy, which selects nothing on the test set.
#
# **Figure A1** is about one trained VGG19: its verdicts treat the layers as the units
# (a sign test over layers; Welch's test of later against earlier layers), so they say
# how consistently the layers behave, not what another training run would show.

# %% tags=["parameters", "remove-cell"]
profile = "quick"
store = None

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown, display

from prunestab import analysis, budget, claims
from prunestab.figures import CENTRAL_PROFILES

ORDER = ["fig1", "fig2", "fig3", "fig4", "fig5", "figA1", "figA2"]
recorded = claims.load(analysis.default_store(store, profile), profile)
found = [c for figure in ORDER for c in recorded.get(figure, [])]
missing = [figure for figure in ORDER if figure not in recorded]
counts = {v: sum(c.verdict == v for c in found) for v in claims.VERDICTS}
summary = (
    f"Profile **{profile}**: {len(found)} claims; "
    + ", ".join(f"{n} {v}" for v, n in counts.items())
    + "."
)
if profile == "smoke":
    summary += (
        " The smoke profile checks the plumbing only: its verdicts say nothing about the paper."
    )
if profile == "quick":
    summary += (
        " The quick profile keeps the paper's schedules, rates and epoch axis but trains each"
        " run for about 1% of the paper's optimizer steps, at a quarter of its width (Conv4:"
        " half), on a tenth of its images, with 3 runs per configuration and 500 test images"
        " ([How to reproduce](reproduce)): each verdict is a verdict at that scale, and with"
        " 3 runs most comparisons can only come out inconclusive."
    )
if missing:
    summary += f" Not yet run at this profile: {', '.join(missing)}."
display(Markdown(summary))
display(HTML(claims.html_table(found)) if found else Markdown("No claims recorded yet."))

# %% [markdown]
# ## The central claims by training budget
#
# Figure 1 (VGG11) and Figure 5 decided at the quick profile and at the budget study's
# larger budgets ([protocol](budget), [chapter](../notebooks/budget_study)): Figure 1 at
# `steps10400` (10,400 optimizer steps per run, all 50,000 training images), Figure 5 at
# `steps2600`, 5 runs per configuration.

# %% tags=["hide-input"]
central = {"quick": [c for c in found if not c.claim.startswith("ResNet18")]}
decides: dict[str, list[str]] = {}
pending = {}
for figure, budget_profile in CENTRAL_PROFILES.items():
    budget_store = analysis.default_store(store, budget_profile)
    decided = claims.load(budget_store, budget_profile).get(figure, [])
    central.setdefault(budget_profile, []).extend(decided)
    decides.setdefault(budget_profile, []).append(figure)
    have, total = budget.central_runs(figure, store)
    pending[(budget_profile, figure)] = f"{len(have)} of {total} runs stored"
if profile != "smoke":
    display(HTML(claims.html_by_profile(central, ["fig1", "fig5"], decides, pending)))
