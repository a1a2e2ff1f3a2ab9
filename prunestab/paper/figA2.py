"""Figure A2 (Appendix A.2): instability per pruning event, E[BN] against l2 prune_S
(Figure 1's VGG11 runs)."""

from __future__ import annotations

from collections.abc import Sequence

from prunestab.config import RunConfig
from prunestab.paper import fig1
from prunestab.paper.claim import ClaimSpec, Parts, groups
from prunestab.paper.common import Chapter, Figure, Label
from prunestab.paper.profiles import Profile
from prunestab.runs import Run
from prunestab.verdicts import ordering


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 1's VGG11 runs of one seed."""
    return fig1.model_runs(profile, seed, device, "vgg11")


def _l2_less_stable(runs: Sequence[Run], profile: str) -> Parts:
    found = groups(runs, "mean_instability")
    if Label.L2_PRUNE_S_1 not in found or Label.PRUNE_S_1 not in found:
        return []
    return [("l2 - E[BN]", ordering(found[Label.L2_PRUNE_S_1], found[Label.PRUNE_S_1]))]


CLAIMS = (
    ClaimSpec(
        "figA2",
        "VGG11: E[BN] prune_S causes less instability per pruning event than l2 prune_S",
        "E[BN] prune_S more stable (Figure A2)",
        _l2_less_stable,
    ),
)

FIGURE = Figure("figA2", grid, CLAIMS)
CHAPTER = Chapter(
    "notebooks/figA2_epochwise.ipynb",
    "Figure A2",
    "App. A.2",
    "E[BN] pruning is more stable per event than l<sub>2</sub> pruning",
    computes=("figA2",),
    decides="figA2",
)
