"""Figure 5 (Section 4.4, A.3.5): impermanent zeroing and Gaussian noise against
prune_L, VGG11.

Decision where the paper is silent: prune_L keeps the BatchNorm of pruned filters
active (the authors' F5_0), so prune_L and zeroing differ only in permanence.
"""

from __future__ import annotations

from collections.abc import Sequence

from prunestab.config import NoiseConfig, RunConfig
from prunestab.paper.claim import (
    BEST_AFTER,
    EQUIVALENCE_MARGIN,
    LAST_EPOCH,
    ON,
    ClaimSpec,
    Parts,
    PartsOf,
    groups,
    versus,
)
from prunestab.paper.common import VGG11_SCHEDULE, Chapter, Figure, Label, base_config, pruned
from prunestab.paper.profiles import Profile, get_profile
from prunestab.runs import Run
from prunestab.verdicts import matches_effect

#: The paper's noise windows, in training steps.
NOISE_STEPS = (0, 50, 1500)
RETRAIN_PERIOD = 40


#: The noise kinds, as the paper names them.
NOISE_KINDS = ("zeroing", "gaussian")


def prune_l(
    base: RunConfig,
    profile: Profile,
    layers: dict = VGG11_SCHEDULE,
    retrain_period: int = RETRAIN_PERIOD,
    structure: str = "structured",
    one_shot_epoch: int | None = None,
) -> RunConfig:
    """Figure 5's prune_L: l2 scores, largest targets, and the BatchNorm of pruned filters
    kept active (the authors' F5_0), so that prune_L and zeroing differ only in
    permanence. Arguments as for ``paper.common.pruned``; the defaults are Figure 5's."""
    return pruned(
        base,
        profile,
        layers,
        retrain_period,
        "l2",
        "largest",
        structure,
        one_shot_epoch=one_shot_epoch,
        mask_batchnorm=False,
    )


def with_noise(
    prune_l_run: RunConfig,
    profile: Profile,
    kind: str,
    paper_steps: int,
    retrain_period: int = RETRAIN_PERIOD,
) -> RunConfig:
    """``prune_l_run`` with each pruning event replaced by impermanent noise on the same
    units (Section 4.4).

    Args:
        prune_l_run: a :func:`prune_l` run.
        profile: its scale (it cuts the window to the retrain period,
            ``Profile.noise_steps``).
        kind: ``zeroing`` or ``gaussian``.
        paper_steps: the window in the paper's training steps (0, 50 or 1500).
        retrain_period: the run's retrain period, in epochs.

    Returns:
        The run with its :class:`NoiseConfig`.
    """
    return prune_l_run.replace(
        noise=NoiseConfig(kind, profile.noise_steps(paper_steps, retrain_period))
    )


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 5's runs of one seed: unpruned, prune_L, then zeroing and Gaussian noise at
    each window (cut to the profile's retrain period, ``Profile.noise_steps``)."""
    base = base_config(profile, "vgg11", seed, device)
    baseline = prune_l(base, profile)
    runs = [base.replace(label=Label.UNPRUNED), baseline.replace(label=Label.PRUNE_L)]
    for kind in NOISE_KINDS:
        for steps in NOISE_STEPS:
            noisy = with_noise(baseline, profile, kind, steps)
            runs.append(noisy.replace(label=Label.noise(kind, steps)))
    return runs


def proportional_grid(
    profile: str = "steps2600", seeds: int | None = None, device: str = "cpu"
) -> list[RunConfig]:
    """Figure 5 with each noise window the paper's fraction of the retrain period
    (``Profile.proportional_noise_steps``; book/budget.md, pre-registered): the grid at
    ``profile`` with the 50- and 1500-step windows rescaled, labels unchanged (0-step
    windows, unpruned and prune_L are the same runs).

    >>> grid = proportional_grid()
    >>> sorted({c.noise.steps for c in grid if c.noise is not None})
    [0, 1, 31]
    """
    prof = get_profile(profile)
    scaled = {
        prof.noise_steps(w, RETRAIN_PERIOD): prof.proportional_noise_steps(w, RETRAIN_PERIOD)
        for w in NOISE_STEPS
    }
    return [
        c if c.noise is None else c.replace(noise=NoiseConfig(c.noise.kind, scaled[c.noise.steps]))
        for c in FIGURE.configs(prof, seeds, device)
    ]


#: The amendment of 2026-12-06 (book/budget.md): Zeroing 50 at the paper's proportion
#: counted in discarded updates. A window of N steps re-zeroes before each of N training
#: steps, so N forward passes see zeros and N - 1 updates are thrown away; the paper's
#: hold discards 50 of the 15,640 steps between two events (0.32%), which at
#: ``steps2600`` (320 steps) is one update: a 2-step window.
DISCARDED_UPDATE_STEPS = 2
DISCARDED_UPDATE_LABEL = "zeroing50 (2 steps)"


def discarded_update_grid(
    profile: str = "steps2600", seeds: int | None = None, device: str = "cpu"
) -> list[RunConfig]:
    """Figure 5's Zeroing 50 with a 2-step window at ``profile`` (one discarded update,
    the paper's proportion of the retrain period), labelled apart from the 1-step arm of
    :func:`proportional_grid`, which is Zeroing 0 by construction.

    >>> grid = discarded_update_grid()
    >>> len(grid), {c.noise.steps for c in grid}, {c.label for c in grid}
    (5, {2}, {'zeroing50 (2 steps)'})
    """
    zeroing = Label.noise("zeroing", 50)
    return [
        c.replace(
            noise=NoiseConfig("zeroing", DISCARDED_UPDATE_STEPS), label=DISCARDED_UPDATE_LABEL
        )
        for c in FIGURE.configs(get_profile(profile), seeds, device)
        if c.label == zeroing
    ]


def noise_window_fractions(profile: str | Profile) -> dict[int, tuple[int, float, float]]:
    """Per paper window: (steps at ``profile``, its fraction of the profile's retrain
    period, the paper window's fraction of the paper's), for the chapter's statement of
    how far the stored windows are from the paper's.

    >>> noise_window_fractions("steps2600")[1500]
    (320, 1.0, 0.0959079283887468)
    """
    prof = get_profile(profile)
    ours = prof.retrain_steps(RETRAIN_PERIOD)
    paper = get_profile("paper").retrain_steps(RETRAIN_PERIOD)
    return {
        w: (
            prof.noise_steps(w, RETRAIN_PERIOD),
            prof.noise_steps(w, RETRAIN_PERIOD) / ours,
            w / paper,
        )
        for w in NOISE_STEPS
    }


def _matches_pruning(noise: str, key: str) -> PartsOf:
    """ "``noise`` matches prune_L": decided only where prune_L differs from unpruned
    (``verdicts.matches_effect``); otherwise inconclusive, with the reason."""

    def parts(runs: Sequence[Run], profile: str) -> Parts:
        found = groups(runs, key)
        needed = (noise, Label.PRUNE_L, Label.UNPRUNED)
        if not all(label in found for label in needed):
            return []
        evidence = matches_effect(
            *(found[label] for label in needed), EQUIVALENCE_MARGIN, names=needed
        )
        return [(f"{noise} - {Label.PRUNE_L}", evidence)]

    return parts


def _gaussian_between(key: str) -> PartsOf:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        gaussian = Label.noise("gaussian", 1500)
        return versus(gaussian, Label.UNPRUNED, key)(runs, profile) + versus(
            Label.PRUNE_L, gaussian, key
        )(runs, profile)

    return parts


CLAIMS = (
    *(
        ClaimSpec(
            "fig5",
            f"Zeroing noise held for 50 steps matches prune_L within 1 point ({ON[key]})",
            '"strikingly similar accuracy"',
            _matches_pruning(Label.noise("zeroing", 50), key),
        )
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
    *(
        ClaimSpec(
            "fig5",
            f"Zeroing once (Zeroing 0) is not enough: prune_L is more accurate ({ON[key]})",
            '"not sufficient to generate better performance"',
            versus(Label.PRUNE_L, Label.noise("zeroing", 0), key),
        )
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
    *(
        ClaimSpec(
            "fig5",
            f"Gaussian noise for 1500 steps helps (beats unpruned) but less than prune_L ({ON[key]})",
            '"could increase generalization ... did not match prune_L"',
            _gaussian_between(key),
        )
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
)

FIGURE = Figure("fig5", grid, CLAIMS)
CHAPTER = Chapter(
    "notebooks/fig5_noise.ipynb",
    "Figure 5",
    "Sec. 4.4",
    "impermanent zeroing noise mimics pruning's benefit",
    computes=("fig5",),
    decides="fig5",
)
