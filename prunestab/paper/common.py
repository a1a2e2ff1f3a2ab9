"""What the paper's figures share: Appendix A.3's schedules and epochs, the run labels
and their colours, the builders of a run at a profile's scale, and the shape of a
figure's and a chapter's definition.

Decisions where the paper is silent (book/authors_code.md has the authors' code for
each) are stated in the figure module that makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prunestab.config import OptimizerConfig, PruningConfig, RunConfig
from prunestab.paper.claim import ClaimSpec
from prunestab.paper.profiles import Profile, get_profile
from prunestab.pruning import warn_empty_events
from prunestab.schedule import PruningSchedule, scale_schedule

PAPER_EPOCHS = 325
PAPER_MILESTONES = (150, 300)

#: Appendix A.3.1 (VGG11; also Figures 4 and 5).
VGG11_SCHEDULE = dict(
    start_epochs=(3, 4, 5, 6), end_epochs=(150, 150, 150, 275), fractions=(0.3, 0.3, 0.3, 0.9)
)
#: Appendix A.3.1 (ResNet18, Figure 1).
RESNET18_SCHEDULE = dict(
    start_epochs=(3, 4, 5, 6), end_epochs=(150, 150, 170, 275), fractions=(0.25, 0.4, 0.25, 0.95)
)
#: Appendix A.3.2 (Conv4, Figure 2).
CONV4_SCHEDULE = dict(start_epochs=(4,), end_epochs=(52,), fractions=(0.1,))
CONV4_EPOCHS = 60
CONV4_MILESTONES = (30, 60)
#: Each model's A.3 schedule (``prunestab run`` prunes with it).
SCHEDULES = {
    "vgg11": VGG11_SCHEDULE,
    "vgg19": VGG11_SCHEDULE,
    "resnet18": RESNET18_SCHEDULE,
    "conv4": CONV4_SCHEDULE,
}
#: ``prunestab run``'s retrain period when none is given: Conv4's only one (A.3.2, r = 3,
#: 17 events); for the others the 13% setting of Figures 1 and 5 (r = 40).
DEFAULT_RETRAIN_PERIODS = {"conv4": 3, "vgg11": 40, "resnet18": 40, "vgg19": 40}
#: Runs per configuration in the paper (A.3) where a figure says nothing else.
PAPER_SEEDS = 10


class Label:
    """The figures' run labels, defined once: grids set them, claims, plots and notebooks
    read them from here (they are the names in legends and tables)."""

    UNPRUNED = "unpruned"
    # Figure 1 (its VGG11 runs are also Figure A2's and the budget study's).
    PRUNE_S_1 = "prune_S 1%"
    PRUNE_S_13 = "prune_S 13%"
    PRUNE_L_13 = "prune_L 13%"
    L2_PRUNE_S_1 = "l2 prune_S 1%"
    # Figure 5's baseline.
    PRUNE_L = "prune_L"
    VGG19 = "vgg19 unpruned"
    # The budget study's capacity check.
    UNPRUNED_WIDE = "unpruned width 0.5"

    @staticmethod
    def noise(kind: str, paper_steps: int) -> str:
        """Figure 5: ``zeroing50`` (the paper's window, whatever the profile's cut)."""
        return f"{kind}{paper_steps}"

    @staticmethod
    def decile(structure: str, j: int) -> str:
        """Figure 2: ``structured D5``."""
        return f"{structure} D{j}"

    @staticmethod
    def resnet_prune_l(structure: str, rate: str) -> str:
        """Figure 3: ``unstructured prune_L 13%`` (``rate``: "1%" or "13%")."""
        return f"{structure} prune_L {rate}"

    @staticmethod
    def one_shot(structure: str) -> str:
        """Figure 3: ``structured one shot``."""
        return f"{structure} one shot"

    @staticmethod
    def rate(method: str, retrain_period: int) -> str:
        """Figure 4: ``E[BN] prune_S r=40``."""
        return f"{method} r={retrain_period}"


#: One colour per label, matching the paper's legend where it has one (prune_L is red);
#: other labels take matplotlib's cycle (``prunestab.book.plots.color``).
COLORS = {
    Label.UNPRUNED: "black",
    Label.PRUNE_S_1: "tab:blue",
    Label.PRUNE_S_13: "tab:orange",
    Label.PRUNE_L_13: "tab:red",
    Label.L2_PRUNE_S_1: "tab:purple",
    Label.PRUNE_L: "tab:red",
    Label.noise("zeroing", 0): "tab:brown",
    Label.noise("zeroing", 50): "tab:green",
    Label.noise("zeroing", 1500): "tab:olive",
    Label.noise("gaussian", 0): "tab:pink",
    Label.noise("gaussian", 50): "tab:cyan",
    Label.noise("gaussian", 1500): "tab:purple",
    Label.resnet_prune_l("structured", "1%"): "tab:orange",
    Label.resnet_prune_l("structured", "13%"): "tab:red",
    Label.one_shot("structured"): "tab:pink",
    Label.resnet_prune_l("unstructured", "1%"): "tab:olive",
    Label.resnet_prune_l("unstructured", "13%"): "tab:green",
    Label.one_shot("unstructured"): "tab:cyan",
}


def schedule(profile: Profile, retrain_period: int, **layers) -> PruningSchedule:
    """A paper schedule at a profile's scale.

    Args:
        profile: the profile (its ``epoch_scale`` shrinks the epochs).
        retrain_period: the paper's r, in epochs.
        **layers: ``start_epochs``, ``end_epochs``, ``fractions`` (A.3's tables).

    Returns:
        The :class:`PruningSchedule`, scaled unless the profile keeps the paper's axis.
    """
    paper = PruningSchedule(retrain_period=retrain_period, **layers)
    return paper if profile.epoch_scale == 1.0 else scale_schedule(paper, profile.epoch_scale)


def base_config(
    profile: Profile,
    model: str,
    seed: int,
    device: str = "cpu",
    *,
    epochs: int = PAPER_EPOCHS,
    milestones: tuple[int, ...] = PAPER_MILESTONES,
    augment: bool = False,
    train_eval_images: int = 0,
) -> RunConfig:
    """An unpruned run of ``model`` at a profile's scale.

    Runs shorter than the paper's 325 epochs (Conv4) pass over all training images every
    epoch; only the long runs take the profile's ``epoch_images`` (``prunestab.paper.profiles``).

    Args:
        profile: the scale.
        model: ``vgg11``, ``vgg19``, ``resnet18`` or ``conv4``.
        seed: the run's seed.
        device: where it trains (not part of its identity).
        epochs: the paper's epoch count, scaled by the profile.
        milestones: the paper's learning-rate decay epochs, scaled likewise.
        augment: random crops and flips (Figure 2's Conv4).
        train_eval_images: training images also evaluated in eval mode each epoch.

    Returns:
        The :class:`RunConfig` (no label, no pruning).
    """
    return RunConfig(
        model=model,
        epochs=profile.epochs(epochs),
        seed=seed,
        width=profile.width_of(model),
        data=profile.data(augment, train_eval_images, full_epochs=epochs < PAPER_EPOCHS),
        optimizer=OptimizerConfig(
            batch_size=profile.batch_size,
            lr_milestones=tuple(profile.epoch(m) for m in milestones),
        ),
        device=device,
    )


def pruned(
    base: RunConfig,
    profile: Profile,
    schedule_layers: dict,
    retrain_period: int,
    score: str,
    target: str,
    structure: str = "structured",
    one_shot_epoch: int | None = None,
    mask_batchnorm: bool = True,
) -> RunConfig:
    """``base`` pruned with a paper schedule at the profile's scale.

    Args:
        base: the unpruned run (:func:`base_config`).
        profile: the scale.
        schedule_layers: A.3's per-layer schedule (``VGG11_SCHEDULE`` ...).
        retrain_period: the paper's r, in epochs.
        score: ``l2``, ``ebn``, ``ebn_signed`` or ``magnitude``.
        target: ``smallest``, ``largest``, ``random`` or ``percentileP``.
        structure: ``structured`` (filters) or ``unstructured`` (weights).
        one_shot_epoch: a paper epoch at which every targeted unit goes at once, instead.
        mask_batchnorm: whether a pruned filter's BatchNorm is masked too.

    Returns:
        The pruned :class:`RunConfig`. Warns (``EmptyEventsWarning``) when a narrow
        layer has pruning epochs that remove nothing.
    """
    if one_shot_epoch is not None:
        epoch = profile.epoch(one_shot_epoch)
        sched = PruningSchedule.one_shot(epoch, schedule_layers["fractions"])
    else:
        sched = schedule(profile, retrain_period, **schedule_layers)
    config = base.replace(pruning=PruningConfig(sched, structure, score, target, mask_batchnorm))
    warn_empty_events(config)
    return config


Grid = Callable[[Profile, int, str], list[RunConfig]]


@dataclass(frozen=True)
class Figure:
    """One figure (or study) of the paper, as the registry lists it.

    Args:
        name: its registry name, also the CLI's (``fig1``, ``budget`` ...).
        grid: ``grid(profile, seed, device)``, the figure's runs of one seed, in order.
        claims: the figure's claim rows (:class:`~prunestab.paper.claim.ClaimSpec`).
        paper_seeds: runs per configuration in the paper (A.3).
        seeds: a fixed number of seeds at every profile (Figure A1's one VGG19), or
            ``None`` for the profile's.
        keeps_weights: whether its runs keep their final weights and a probe of them.
    """

    name: str
    grid: Grid
    claims: tuple[ClaimSpec, ...] = ()
    paper_seeds: int = PAPER_SEEDS
    seeds: int | None = None
    keeps_weights: bool = False

    def configs(
        self, profile: str | Profile, seeds: int | None = None, device: str = "cpu"
    ) -> list[RunConfig]:
        """Every run of the figure at ``profile``, grouped by seed last.

        Args:
            profile: the scale (a name or a :class:`Profile`).
            seeds: seeds ``0 .. seeds-1``; by default the figure's fixed number, else
                the paper's (``paper_seeds``) at ``paper``, else the profile's.
            device: where they train.

        Returns:
            Configuration by configuration, each one's seeds together, in grid order.

        Raises:
            ValueError: ``seeds`` is not a positive integer (the message names it).
        """
        prof = get_profile(profile)
        if seeds is None:
            seeds = self.seeds or (self.paper_seeds if prof.name == "paper" else prof.seeds)
        if not isinstance(seeds, int) or seeds < 1:
            raise ValueError(f"seeds={seeds!r}; allowed: an integer >= 1")
        per_seed = [self.grid(prof, seed, device) for seed in range(seeds)]
        return [config for i in range(len(per_seed[0])) for config in (g[i] for g in per_seed)]


@dataclass(frozen=True)
class Chapter:
    """One chapter of the book, as the front page and ``prunestab book`` list it.

    Args:
        notebook: its path from the repository root.
        title: the front page's name of it (``Figure 1``).
        section: where the paper makes its claim (``Sec. 4.1``).
        paper_claims: what the paper claims, as HTML.
        computes: the figures whose missing runs it computes.
        decides: the figure whose recorded verdicts say what it found, or ``None``.
        on_front_page: whether the front page's chapter table lists it.
    """

    notebook: str
    title: str
    section: str
    paper_claims: str
    computes: tuple[str, ...]
    decides: str | None
    on_front_page: bool = True

    @property
    def stem(self) -> str:
        """The notebook's name without folder and suffix (``fig1_instability``)."""
        return self.notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
