"""Figure 1 (Section 4.1): pruning instability against final accuracy, VGG11 and ResNet18.

Decision where the paper is silent: ResNet18 scores with ``ebn`` (``|gamma|``); the
authors' code used the signed variant (``ebn_signed``), available through
``prunestab run --score ebn_signed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from prunestab.config import RunConfig
from prunestab.paper.claim import (
    BEST_AFTER,
    LAST_EPOCH,
    ON,
    ClaimSpec,
    Parts,
    PartsOf,
    grouped,
    groups,
    values,
)
from prunestab.paper.common import SCHEDULES, Chapter, Figure, Label, base_config, pruned
from prunestab.paper.profiles import Profile
from prunestab.runs import Run, unique_runs
from prunestab.verdicts import ordering

#: The paper's correlations of mean instability with final accuracy (Section 4.1): (r, p).
PAPER_CORRELATIONS = {"vgg11": (0.84, 1.3e-11), "resnet18": (0.65, 5.2e-5)}


def paper_correlation_text(model: str) -> str:
    """The paper's correlation for ``model`` as the paper prints it.

    >>> paper_correlation_text("vgg11")
    'r = .84, p = 1.3e-11'
    """
    r, p = PAPER_CORRELATIONS[model]
    return f"r = {r:.2f}, p = {p:.2g}".replace("0.", ".", 1).replace("e-0", "e-")


def model_runs(profile: Profile, seed: int, device: str, model: str) -> list[RunConfig]:
    """Figure 1's runs of one model and seed (the l2 prune_S 1% run is VGG11's only);
    its VGG11 runs are also Figure A2's and the budget study's."""
    layers = SCHEDULES[model]
    base = base_config(profile, model, seed, device)
    runs = [
        base.replace(label=Label.UNPRUNED),
        pruned(base, profile, layers, 4, "ebn", "smallest").replace(label=Label.PRUNE_S_1),
        pruned(base, profile, layers, 40, "ebn", "smallest").replace(label=Label.PRUNE_S_13),
        pruned(base, profile, layers, 40, "ebn", "largest").replace(label=Label.PRUNE_L_13),
    ]
    if model == "vgg11":
        runs.append(
            pruned(base, profile, layers, 4, "l2", "smallest").replace(label=Label.L2_PRUNE_S_1)
        )
    return runs


def grid(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 1's runs of one seed: VGG11's, then ResNet18's."""
    return model_runs(profile, seed, device, "vgg11") + model_runs(
        profile, seed, device, "resnet18"
    )


def _instability_correlation(model: str) -> PartsOf:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        found = [r for r in unique_runs(runs) if r.config.model == model and r.config.pruning]
        if not found:
            return []
        x, y = values(found, "mean_instability"), values(found, BEST_AFTER)
        return [("", grouped(x, y, [r.label for r in found]))]

    return parts


def _best_of_all(model: str, best: str, key: str) -> PartsOf:
    def parts(runs: Sequence[Run], profile: str) -> Parts:
        found = groups([r for r in runs if r.config.model == model], key)
        if best not in found:
            return []
        return [
            (f"vs {label}", ordering(found[best], other))
            for label, other in found.items()
            if label != best
        ]

    return parts


CLAIMS = (
    ClaimSpec(
        "fig1",
        "VGG11: runs with more pruning instability reach higher final test accuracy (Pearson r > 0)",
        paper_correlation_text("vgg11"),
        _instability_correlation("vgg11"),
    ),
    ClaimSpec(
        "fig1",
        "ResNet18: runs with more pruning instability reach higher final test accuracy (Pearson r > 0)",
        paper_correlation_text("resnet18"),
        _instability_correlation("resnet18"),
        reference=PAPER_CORRELATIONS["resnet18"][0],
    ),
    *(
        ClaimSpec(
            "fig1",
            f"{name}: prune_L at the 13% rate beats every other configuration ({ON[key]})",
            "highest curve in Figure 1 left",
            _best_of_all(model, Label.PRUNE_L_13, key),
        )
        for model, name in (("vgg11", "VGG11"), ("resnet18", "ResNet18"))
        for key in (BEST_AFTER, LAST_EPOCH)
    ),
)

FIGURE = Figure("fig1", grid, CLAIMS)
CHAPTER = Chapter(
    "notebooks/fig1_instability.ipynb",
    "Figure 1",
    "Sec. 4.1",
    "more pruning instability goes with higher final accuracy (VGG11 r = .84, ResNet18 "
    "r = .65); prune<sub>L</sub> 13% generalizes best",
    computes=("fig1",),
    decides="fig1",
)
