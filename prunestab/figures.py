"""Each figure's grid of runs, defined once per profile (Appendix A.3).

``figure_grid(figure, profile, seeds)`` lists the :class:`RunConfig` of every run a
figure needs. Notebooks and ``prunestab sweep`` read these grids; nothing else defines an
experiment. Runs shared between figures (Figure 1's VGG11 runs reappear in Figures 4 and
A2) have the same config and therefore the same stored result.

Decisions where the paper is silent (book/authors_code.md has the authors' code for each):

* Figure 1 ResNet18 scores with ``ebn`` (``|gamma|``); the authors' code used the signed
  variant (``ebn_signed``), available through ``prunestab run --score ebn_signed``.
* Figure 2 trains Conv4 for 60 epochs (the paper measures the gap at epoch 54 and gives
  lr_s = (30, 60); its total epoch count is unspecified), with augmentation, and also
  measures eval-mode accuracy on 10,000 training images for an unbiased gap.
* Figure 3's one-shot runs (both structures) remove every targeted unit at epoch 246.
* Figure 4 adds r = 100 to A.3.4's r = 4, 20, 40, 60: the text's "30%" rate needs it.
* Figure 5's Prune_L keeps the BatchNorm of pruned filters active (the authors' F5_0),
  so prune_L and zeroing differ only in permanence.
"""

from __future__ import annotations

from prunestab.config import (
    NoiseConfig,
    OptimizerConfig,
    PruningConfig,
    RunConfig,
)
from prunestab.profiles import Profile, get_profile
from prunestab.pruning import warn_empty_events
from prunestab.schedule import PruningSchedule

FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5", "figA1", "figA2", "budget")

#: The training-budget study (book/budget.md): Figure 1's VGG11 runs at three budgets,
#: 650 to 10,400 optimizer steps per run (16x), on the paper's epoch axis.
BUDGET_PROFILES = ("steps650", "steps2600", "steps10400")
#: Where the budget study decides the central claims: Figure 1 (VGG11) at the largest
#: budget; Figure 5's eight configurations cost 2.3x Figure 1's, so at the middle one.
CENTRAL_PROFILES = {"fig1": "steps10400", "fig5": "steps2600"}
#: The grid each central verdict reads there: Figure 1's VGG11 configurations are the
#: budget study's grid (the protocol leaves ResNet18 out), Figure 5 is its own.
CENTRAL_GRIDS = {"fig1": "budget", "fig5": "fig5"}
#: The budget study's capacity check (book/budget.md): is the width-0.25 model
#: capacity-limited? One unpruned VGG11 at width 0.5, at the middle budget, seed 0
#: (``width_check_config``); the protocol's criteria are reported for it beside the
#: width-0.25 runs.
WIDTH_CHECK = ("steps2600", 0.5)
#: The width test (book/budget.md, "The width test", pre-registered 2026-12-04): the
#: budget grid at the largest budget with width 0.5 instead of 0.25, 5 seeds
#: (``width_test_grid``). Is the width-0.25 negative result capacity loss?
WIDTH_TEST = ("steps10400", 0.5)

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
#: Appendix A.3.3 (ResNet18, Figure 3).
RESNET18_FIG3_SCHEDULE = dict(
    start_epochs=(3, 4, 5, 6), end_epochs=(150, 150, 150, 275), fractions=(0.1, 0.1, 0.1, 0.9)
)
#: Appendix A.3.2 (Conv4, Figure 2).
CONV4_SCHEDULE = dict(start_epochs=(4,), end_epochs=(52,), fractions=(0.1,))
CONV4_EPOCHS = 60
CONV4_MILESTONES = (30, 60)
FIG3_ONE_SHOT_EPOCH = 246
FIG4_RETRAIN_PERIODS = (4, 20, 40, 60, 100)
FIG5_NOISE_STEPS = (0, 50, 1500)
FIG5_RETRAIN_PERIOD = 40
#: ``prunestab run``'s retrain period when none is given: Conv4's only one (A.3.2, r = 3,
#: 17 events); for the others the 13% setting of Figures 1 and 5 (r = 40).
DEFAULT_RETRAIN_PERIODS = {"conv4": 3, "vgg11": 40, "resnet18": 40, "vgg19": 40}
#: Figure 2's targets D0..D10 (A.3.2): upward from the 0th..90th percentile, then the largest.
DECILE_TARGETS = tuple(f"percentile{10 * j}" for j in range(10)) + ("largest",)

SCHEDULES = {
    "vgg11": VGG11_SCHEDULE,
    "vgg19": VGG11_SCHEDULE,
    "resnet18": RESNET18_SCHEDULE,
    "conv4": CONV4_SCHEDULE,
}


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
    # The budget study's capacity check (WIDTH_CHECK).
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
        return f"{structure} one shot"

    @staticmethod
    def rate(method: str, retrain_period: int) -> str:
        """Figure 4: ``E[BN] prune_S r=40``."""
        return f"{method} r={retrain_period}"


#: The paper's numbers the figures are compared with, stated once (Section 4.1).
PAPER_CORRELATIONS = {"vgg11": (0.84, 1.3e-11), "resnet18": (0.65, 5.2e-5)}


def paper_correlation_text(model: str) -> str:
    r, p = PAPER_CORRELATIONS[model]
    return f"r = {r:.2f}, p = {p:.2g}".replace("0.", ".", 1).replace("e-0", "e-")


def schedule(profile: Profile, retrain_period: int, **layers) -> PruningSchedule:
    """A paper schedule (``layers``: start/end epochs, fractions) at a profile's scale."""
    paper = PruningSchedule(retrain_period=retrain_period, **layers)
    return paper if profile.epoch_scale == 1.0 else paper.scaled(profile.epoch_scale)


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
    epoch; only the long runs take the profile's ``epoch_images`` (``prunestab.profiles``).
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
    if one_shot_epoch is not None:
        epoch = profile.epoch(one_shot_epoch)
        sched = PruningSchedule.one_shot(epoch, schedule_layers["fractions"])
    else:
        sched = schedule(profile, retrain_period, **schedule_layers)
    config = base.replace(pruning=PruningConfig(sched, structure, score, target, mask_batchnorm))
    warn_empty_events(config)
    return config


def _fig1(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    return _fig1_model(profile, seed, device, "vgg11") + _fig1_model(
        profile, seed, device, "resnet18"
    )


def _fig1_model(profile: Profile, seed: int, device: str, model: str) -> list[RunConfig]:
    """Figure 1's runs of one model (the l2 prune_S 1% run is VGG11's only)."""
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


def _fig2(profile: Profile, seed: int, device: str) -> list[RunConfig]:
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


def _fig3(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    base = base_config(profile, "resnet18", seed, device)
    layers = RESNET18_FIG3_SCHEDULE
    runs = [base.replace(label=Label.UNPRUNED)]
    for structure, score in (("structured", "ebn"), ("unstructured", "magnitude")):
        for period, rate in ((4, "1%"), (40, "13%")):
            config = pruned(base, profile, layers, period, score, "largest", structure)
            runs.append(config.replace(label=Label.resnet_prune_l(structure, rate)))
        one_shot = pruned(
            base, profile, layers, 1, score, "largest", structure, FIG3_ONE_SHOT_EPOCH
        )
        runs.append(one_shot.replace(label=Label.one_shot(structure)))
    return runs


def fig4_method(pruning: PruningConfig) -> str:
    """Figure 4's name of a pruning method: ``l2 prune_S``, ``E[BN] prune_L``; random
    targets ignore the score, so they are one method, ``prune_R``."""
    return "prune_R" if pruning.target == "random" else pruning.label


#: Figure 4's methods as (score, target); random targets ignore the score (run as l2).
FIG4_METHODS = (
    ("l2", "smallest"),
    ("l2", "largest"),
    ("ebn", "smallest"),
    ("ebn", "largest"),
    ("l2", "random"),
)


def _fig4_run(base: RunConfig, profile: Profile, period: int, score: str, target: str) -> RunConfig:
    """One Figure 4 run: a method at a retrain period, labelled with both."""
    config = pruned(base, profile, VGG11_SCHEDULE, period, score, target)
    return config.replace(label=Label.rate(fig4_method(config.pruning), period))


def _fig4_rate(base: RunConfig, profile: Profile, period: int) -> list[RunConfig]:
    return [_fig4_run(base, profile, period, score, target) for score, target in FIG4_METHODS]


def _fig4(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Random targets do not depend on the score: prune_R is run once per rate (as l2,
    whose scores it never reads) and counted once."""
    base = base_config(profile, "vgg11", seed, device)
    return [base.replace(label=Label.UNPRUNED)] + [
        _fig4_run(base, profile, period, score, target)
        for score, target in FIG4_METHODS
        for period in FIG4_RETRAIN_PERIODS
    ]


def rate_configs(
    profile: str | Profile, retrain_period: int, seeds: int | None = None, device: str = "cpu"
) -> list[RunConfig]:
    """Figure 4's five methods at any retrain period (the explorer computes a rate the
    grid lacks with these), seeds ``0 .. seeds-1`` (default: the profile's)."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    seeds = prof.seeds if seeds is None else seeds
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds={seeds!r}; allowed: an integer >= 1")
    return [
        config
        for seed in range(seeds)
        for config in _fig4_rate(base_config(prof, "vgg11", seed, device), prof, retrain_period)
    ]


def _fig5(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    base = base_config(profile, "vgg11", seed, device)
    period = FIG5_RETRAIN_PERIOD
    prune_l = pruned(base, profile, VGG11_SCHEDULE, period, "l2", "largest", mask_batchnorm=False)
    runs = [base.replace(label=Label.UNPRUNED), prune_l.replace(label=Label.PRUNE_L)]
    for kind in ("zeroing", "gaussian"):
        for steps in FIG5_NOISE_STEPS:
            noise = NoiseConfig(kind, profile.noise_steps(steps, period))
            runs.append(prune_l.replace(noise=noise, label=Label.noise(kind, steps)))
    return runs


def fig5_proportional_grid(
    profile: str = "steps2600", seeds: int | None = None, device: str = "cpu"
) -> list[RunConfig]:
    """Figure 5 with each noise window the paper's fraction of the retrain period
    (``Profile.proportional_noise_steps``; book/budget.md, pre-registered 2026-12-04):
    the grid of ``figure_grid("fig5", profile)`` with the 50- and 1500-step windows
    rescaled, labels unchanged (0-step windows, unpruned and prune_L are the same runs).

    >>> grid = fig5_proportional_grid()
    >>> sorted({c.noise.steps for c in grid if c.noise is not None})
    [0, 1, 31]
    """
    prof = get_profile(profile)
    period = FIG5_RETRAIN_PERIOD
    scaled = {
        prof.noise_steps(w, period): prof.proportional_noise_steps(w, period)
        for w in FIG5_NOISE_STEPS
    }
    return [
        c if c.noise is None else c.replace(noise=NoiseConfig(c.noise.kind, scaled[c.noise.steps]))
        for c in figure_grid("fig5", prof, seeds, device)
    ]


def noise_window_fractions(profile: str | Profile) -> dict[int, tuple[int, float, float]]:
    """Per paper window of Figure 5: (steps at ``profile``, its fraction of the profile's
    retrain period, the paper window's fraction of the paper's), for the chapter's
    statement of how far the stored windows are from the paper's.

    >>> noise_window_fractions("steps2600")[1500]
    (320, 1.0, 0.0959079283887468)
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    period = FIG5_RETRAIN_PERIOD
    ours, paper = prof.retrain_steps(period), get_profile("paper").retrain_steps(period)
    return {
        w: (prof.noise_steps(w, period), prof.noise_steps(w, period) / ours, w / paper)
        for w in FIG5_NOISE_STEPS
    }


def _figA1(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """One VGG19 trained to convergence (its final weights are kept for the histograms)."""
    return [base_config(profile, "vgg19", seed, device).replace(label=Label.VGG19)]


def _figA2(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    return _fig1_model(profile, seed, device, "vgg11")


def _budget(profile: Profile, seed: int, device: str) -> list[RunConfig]:
    """Figure 1's VGG11 configurations (the same runs as Figure A2's)."""
    return _figA2(profile, seed, device)


def width_check_config(device: str = "cpu") -> RunConfig:
    """The budget study's capacity check: the middle budget's unpruned seed-0 run of the
    budget grid, at width 0.5 instead of 0.25 (``WIDTH_CHECK``)."""
    profile, width = WIDTH_CHECK
    base = base_config(get_profile(profile), "vgg11", 0, device)
    return base.replace(width=width, label=Label.UNPRUNED_WIDE)


def width_test_grid(seeds: int = 5, device: str = "cpu") -> list[RunConfig]:
    """The width test's 25 runs: ``figure_grid("budget", "steps10400", seeds)`` with every
    config at width 0.5 (``WIDTH_TEST``), labels unchanged; nothing else differs.

    >>> grid = width_test_grid()
    >>> len(grid), {c.width for c in grid}, len({c.label for c in grid})
    (25, {0.5}, 5)
    """
    profile, width = WIDTH_TEST
    return [c.replace(width=width) for c in figure_grid("budget", profile, seeds, device)]


_GRIDS = {
    "fig1": _fig1,
    "fig2": _fig2,
    "fig3": _fig3,
    "fig4": _fig4,
    "fig5": _fig5,
    "figA1": _figA1,
    "figA2": _figA2,
    "budget": _budget,
}
#: Runs per configuration in the paper (A.3): 10, except "3+" for Figure 3 and one VGG19.
PAPER_SEEDS = {"fig3": 3, "figA1": 1}


def keeps_weights(config: RunConfig) -> bool:
    """Whether a run's final weights are kept beside its result: Figure A1's VGG19, whose
    trained BatchNorm activations the chapter plots."""
    return config.model == "vgg19"


def figure_grid(
    figure: str,
    profile: str | Profile,
    seeds: int | None = None,
    device: str = "cpu",
) -> list[RunConfig]:
    """Every run of ``figure`` at ``profile``, seeds ``0 .. seeds-1``, grouped by seed last."""
    if figure not in _GRIDS:
        raise ValueError(f"figure={figure!r}; allowed: {', '.join(FIGURES)}")
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if seeds is None:
        seeds = PAPER_SEEDS.get(figure, 10) if prof.name == "paper" else prof.seeds
        if figure == "figA1":
            seeds = 1
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds={seeds!r}; allowed: an integer >= 1")
    per_seed = [_GRIDS[figure](prof, seed, device) for seed in range(seeds)]
    return [config for i in range(len(per_seed[0])) for config in (g[i] for g in per_seed)]
