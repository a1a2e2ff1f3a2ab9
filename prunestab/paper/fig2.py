"""Figure 2 (Section 4.2, A.3.2): targeting larger-magnitude deciles shrinks Conv4's
generalization gap.

Decisions where the paper is silent: Conv4 trains for 60 epochs (the paper measures the
gap at epoch 54 and gives lr_s = (30, 60); its total epoch count is unspecified), with
augmentation, and also measures eval-mode accuracy on 10,000 training images for an
unbiased gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prunestab.config import RunConfig
from prunestab.grouped import group_means
from prunestab.paper.claim import ClaimSpec, Parts, PartsOf, grouped
from prunestab.paper.common import (
    CONV4_EPOCHS,
    CONV4_MILESTONES,
    CONV4_SCHEDULE,
    Chapter,
    Figure,
    Label,
    base_config,
    pruned,
)
from prunestab.paper.profiles import Profile, get_profile
from prunestab.runs import Run, value_at_epoch
from prunestab.verdicts import slope_difference

#: Figure 2's targets D0..D10 (A.3.2): upward from the 0th..90th percentile, then the largest.
DECILE_TARGETS = tuple(f"percentile{10 * j}" for j in range(10)) + ("largest",)
#: A.3.2's epoch of the gap, 1-based ("epoch 54").
GAP_EPOCH = 54


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 2's runs of one seed: unstructured (magnitude) D0..D10, then structured (l2)."""
    base = base_config(
        profile,
        "conv4",
        seed,
        device,
        epochs=CONV4_EPOCHS,
        milestones=CONV4_MILESTONES,
        augment=True,
        train_eval_images=10_000,
    )
    runs = []
    for structure, score in (("unstructured", "magnitude"), ("structured", "l2")):
        for j, target in enumerate(DECILE_TARGETS):
            config = pruned(base, profile, CONV4_SCHEDULE, 3, score, target, structure)
            runs.append(config.replace(label=Label.decile(structure, j)))
    return runs


def decile_index(target: str) -> int:
    """Figure 2's D index of a target.

    >>> decile_index("percentile50"), decile_index("largest")
    (5, 10)
    """
    return DECILE_TARGETS.index(target)


def decile_gaps(
    runs: Sequence[Run], profile: str, structure: str, train_key: str = "train_eval_acc"
) -> tuple[np.ndarray, np.ndarray]:
    """Decile index and generalization gap (train - test accuracy) at A.3.2's epoch 54.

    Args:
        runs: Figure 2's runs.
        profile: their profile (it scales the epoch).
        structure: ``unstructured`` or ``structured``.
        train_key: ``train_eval_acc`` (eval-mode accuracy on training images, ours, used
            by the verdicts) or ``train_acc`` (the running train-mode accuracy of the
            epoch, with augmentation, as the authors' code measured it).

    Returns:
        ``(deciles, gaps)``, one entry per run of that structure.
    """
    epoch = get_profile(profile).epoch(GAP_EPOCH - 1)
    chosen = [r for r in runs if r.config.pruning.structure == structure]
    deciles = np.array([decile_index(r.config.pruning.target) for r in chosen])
    gaps = [
        value_at_epoch(r, train_key, epoch) - value_at_epoch(r, "test_acc", epoch) for r in chosen
    ]
    return deciles, np.array(gaps)


def _decile_correlation(structure: str) -> PartsOf:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        deciles, gaps = decile_gaps(runs, profile, structure)
        return [("", grouped(deciles, gaps, deciles, sign=-1))] if deciles.size else []

    return parts


def _decile_means(deciles: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean_deciles, mean_gaps, _ = group_means(deciles, gaps, deciles)
    return mean_deciles, mean_gaps


def _decile_slopes(runs: Sequence[Run], profile: str) -> Parts:
    """Slopes over the deciles' mean gaps (each decile's seeds are one configuration, as
    in the grouped correlation), so the slope test's points are independent."""
    u = _decile_means(*decile_gaps(runs, profile, "unstructured"))
    s = _decile_means(*decile_gaps(runs, profile, "structured"))
    if not (u[0].size and s[0].size):
        return []
    return [("unstructured vs structured, decile means", slope_difference(*u, *s, sign=-1))]


CLAIMS = (
    ClaimSpec(
        "fig2",
        "Conv4, unstructured: targeting larger-magnitude deciles gives smaller generalization gaps (r(decile, gap) < 0)",
        "gap falls with the decile (Figure 2)",
        _decile_correlation("unstructured"),
        slope_unit="points of gap per decile",
    ),
    ClaimSpec(
        "fig2",
        "Conv4, structured: targeting larger-magnitude deciles gives smaller generalization gaps (r(decile, gap) < 0)",
        "gap falls with the decile (Figure 2)",
        _decile_correlation("structured"),
        slope_unit="points of gap per decile",
    ),
    ClaimSpec(
        "fig2",
        "The decile effect is stronger for unstructured than for structured pruning (steeper negative slope)",
        '"much more dramatic" for unstructured',
        _decile_slopes,
    ),
)

FIGURE = Figure("fig2", grid, CLAIMS)
CHAPTER = Chapter(
    "notebooks/fig2_deciles.ipynb",
    "Figure 2",
    "Sec. 4.2",
    "pruning larger-magnitude weights gives smaller generalization gaps (Conv4)",
    computes=("fig2",),
    decides="fig2",
)
