"""Figure A1 (Appendix A.1): BatchNorm activations of one trained VGG19 against the
standard normal, before and after training.

Its one run keeps its final weights; what the chapter reads from them (KS distances,
histogram counts) is stored beside its result as ``probe.json`` (``prunestab.training.probe``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.stats

from prunestab.config import RunConfig
from prunestab.paper.claim import Claim
from prunestab.paper.common import Chapter, Figure, Label, base_config
from prunestab.paper.profiles import Profile
from prunestab.verdicts import INCONCLUSIVE, Evidence, all_of, decide, ordering

#: Why these claims state no power: a power needs an effect size, and the paper gives none
#: for how much the KS distance grows (its figure shows histograms of one model).
NO_SIZE = "not stated: the paper gives no size for the KS distance's growth"


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """One VGG19 trained to convergence (its final weights are kept for the histograms)."""
    return [base_config(profile, "vgg19", seed, device).replace(label=Label.VGG19)]


def claims(before: Sequence[float], after: Sequence[float], profile: str) -> list[Claim]:
    """Appendix A.1 on one trained VGG19, with its layers as the units of uncertainty.

    Both statements are about one model: the layers are not independent replicates, so
    the verdicts say how consistent the layers are, not how another training run would
    behave. "Grows": a one-sided sign test over layers (exact binomial), decided by the
    one ladder of ``verdicts.decide``. "Largest near the output": Welch's test of the KS
    growth of the later half of the layers against the earlier half.

    Args:
        before: each BN layer's KS distance to N(0, 1) before training, input to output.
        after: the same after training.
        profile: the profile of the run.

    Returns:
        The two claims, "grows" and "largest near the output".
    """
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    growth = after - before
    n = growth.size
    worse = int(np.sum(growth > 0))
    trials = n - int(np.sum(growth == 0))
    p_for, p_against = (
        (
            float(scipy.stats.binomtest(worse, trials, alternative="greater").pvalue),
            float(scipy.stats.binomtest(worse, trials, alternative="less").pvalue),
        )
        if trials
        else (math.nan, math.nan)
    )
    verdict = all_of([Evidence(decide(p_for, p_against), p_for, p_against, (n,), "")])
    grows = Claim(
        "figA1",
        "BN activations are close to standard normal before training and less so after (KS distance grows, layers as units)",
        "reasonable early on, degrades with training",
        f"KS distance grows in {worse} of {n} layers (sign test p = {min(1.0, 2 * min(p_for, p_against)):.2g}); mean {before.mean():.3f} -> {after.mean():.3f}",
        verdict,
        profile,
        f"{n} layers of one model",
        reference=NO_SIZE,
    )
    half = n // 2
    late = ordering(growth[half:], growth[:half])
    near_output = Claim(
        "figA1",
        "The degradation is largest in the layers near the output (later half of layers vs earlier half)",
        '"particularly in layers near the output"',
        f"KS growth, later - earlier layers: {late.text}",
        late.verdict,
        profile,
        f"{n - half} vs {half} layers of one model",
        reference=NO_SIZE,
        bound=(
            f"any excess growth of the later layers is below {late.bound:+.3f} in KS distance (95%)"
            if late.verdict == INCONCLUSIVE and not math.isnan(late.bound)
            else ""
        ),
    )
    return [grows, near_output]


FIGURE = Figure("figA1", grid, paper_seeds=1, seeds=1, keeps_weights=True)
CHAPTER = Chapter(
    "notebooks/figA1_bn_normality.ipynb",
    "Figure A1",
    "App. A.1",
    "BN activations are near normal before training and less so after",
    computes=("figA1",),
    decides="figA1",
)
