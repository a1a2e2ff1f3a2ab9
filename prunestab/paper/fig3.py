"""Figure 3 (Section 4.2, A.3.3): structured against unstructured prune_L on ResNet18.

Decision where the paper is silent: the one-shot runs (both structures) remove every
targeted unit at epoch 246.
"""

from __future__ import annotations

from collections.abc import Sequence

from prunestab.config import RunConfig
from prunestab.paper.claim import BEST_AFTER, ClaimSpec, Parts, groups
from prunestab.paper.common import Chapter, Figure, Label, base_config, pruned
from prunestab.paper.profiles import Profile
from prunestab.runs import Run
from prunestab.verdicts import ordering

#: Appendix A.3.3 (ResNet18, Figure 3).
RESNET18_FIG3_SCHEDULE = dict(
    start_epochs=(3, 4, 5, 6), end_epochs=(150, 150, 150, 275), fractions=(0.1, 0.1, 0.1, 0.9)
)
ONE_SHOT_EPOCH = 246
#: Runs per configuration in the paper: "3+".
PAPER_SEEDS = 3


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 3's runs of one seed: unpruned, then per structure prune_L at 1% and 13%
    and one shot."""
    base = base_config(profile, "resnet18", seed, device)
    layers = RESNET18_FIG3_SCHEDULE
    runs = [base.replace(label=Label.UNPRUNED)]
    for structure, score in (("structured", "ebn"), ("unstructured", "magnitude")):
        for period, rate in ((4, "1%"), (40, "13%")):
            config = pruned(base, profile, layers, period, score, "largest", structure)
            runs.append(config.replace(label=Label.resnet_prune_l(structure, rate)))
        one_shot = pruned(base, profile, layers, 1, score, "largest", structure, ONE_SHOT_EPOCH)
        runs.append(one_shot.replace(label=Label.one_shot(structure)))
    return runs


def _structured_beats_unstructured(runs: Sequence[Run], profile: str) -> Parts:
    found = groups(runs, BEST_AFTER)
    return [
        (
            rate,
            ordering(
                found[Label.resnet_prune_l("structured", rate)],
                found[Label.resnet_prune_l("unstructured", rate)],
            ),
        )
        for rate in ("1%", "13%")
        if Label.resnet_prune_l("structured", rate) in found
        and Label.resnet_prune_l("unstructured", rate) in found
    ]


CLAIMS = (
    ClaimSpec(
        "fig3",
        "ResNet18: structured prune_L reaches higher test accuracy than unstructured prune_L, at 1% and at 13%",
        "red above green in Figure 3 (80% CIs, 3+ runs)",
        _structured_beats_unstructured,
    ),
)

FIGURE = Figure("fig3", grid, CLAIMS, paper_seeds=PAPER_SEEDS)
CHAPTER = Chapter(
    "notebooks/fig3_resnet_unstructured.ipynb",
    "Figure 3",
    "Sec. 4.2",
    "structured prune<sub>L</sub> beats unstructured prune<sub>L</sub> on ResNet18",
    computes=("fig3",),
    decides="fig3",
)
