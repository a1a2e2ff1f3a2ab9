"""Scales at which every experiment exists: ``smoke``, ``quick`` and ``paper``.

``paper`` is Appendix A.3 exactly: full width, all 50,000 training and 10,000 test
images, 325 epochs with lr_s = (150, 300) (Conv4: s=4, e=52, r=3, lr_s=(30, 60)), 10 runs
per configuration (3 for Figure 3), noise windows of 0/50/1500 training steps.

``quick`` is the paper on a 2-core CPU in about 4.7 hours (the published book). What it
keeps, and how:

* **The paper's epoch axis, exactly.** Every start and end epoch, retrain period and
  learning-rate milestone of A.3 is used unchanged (``epoch_scale = 1``), so each layer
  has the paper's number of pruning events (VGG11: 37/37/37/68 at r = 4, 4/4/4/7 at
  r = 40), the per-event rates are the paper's 1.32% and 12.86%, the staggered starts
  still make each pruning epoch prune exactly one layer, and Figure 1's curves, Figure
  A2's epoch-wise instabilities and Figure 3's one-shot epoch sit where the paper's do.
  Shrinking the epoch axis instead cannot keep this: at a quarter of the epochs r = 4
  becomes r = 1 and all four layers prune on the same epoch, so "instability per pruning
  epoch" would sum four events for the 1% methods but not for the 13% ones.
* **Fewer steps per epoch.** Each 325-epoch run trains on 512 images per epoch (4 steps
  of 128, a fresh draw from the 5,000-image training set each epoch): 1,300 steps and 33
  passes over its data, against the paper's 127,000 steps and 325 passes. Any reduction
  to this budget has about that many steps, whatever its epoch axis; this one spends
  them on the paper's schedule. Models still fit their training set (unpruned VGG11:
  97% training accuracy at epoch 80, 100% after the decay at epoch 150), but recovery
  from a pruning event has 160 steps between two 13% events of a layer instead of
  15,640, which matters most for the late events at lr 1e-4. Conv4's 60-epoch runs
  (Figure 2) are cheap enough to pass over all 5,000 images every epoch.
* **Width 0.25** (VGG11 channels 16..128, ResNet18 16..128). For VGG11 every 1% event
  still removes at least one filter (128 filters, 38 to 115 pruned over 37 to 68
  events). ResNet18 does not keep every event: where a layer has fewer filters to
  remove than scheduled events, some events remove nothing and the layer has fewer
  effective events (a larger effective per-event rate) than the paper's. Building such
  a config issues an ``EmptyEventsWarning`` naming the layer; at quick: Figure 1's
  ResNet18 prune_S 1% has 5 of 37 empty events in layer4.0.conv1 and 10 of 42 in
  layer4.1.conv1; Figure 3's structured prune_L 1% has 25 of 37 empty in each of its
  first three layers (12 effective events each), so there its comparison with
  unstructured pruning (never empty) also differs in event count.
* **Conv4 at width 0.5** (convolutions 16/32, a 1152 x 256 first linear layer). Figure 2
  compares generalization gaps, so its model must overfit: at width 0.25, with the
  paper's augmentation, Conv4 underfits 5,000 images (gap at epoch 54 about 4 points for
  every decile target, no room for an effect); at 0.5 the published runs' gap at epoch 54
  is 9 to 12 points.
* **500 test images** (class-balanced, the same for every run). An evaluation of 1,000
  images costs VGG11 as much as its 4 training steps, and the paper evaluates twice per
  pruning epoch (up to 180 epochs per run); the instability is a paired difference on
  the same images, so a smaller test set coarsens it (0.2 points per image) without
  biasing it. Final accuracies are correspondingly noisier: about +-2 points per run.
* **Noise windows in training steps, as the paper's** (0 and 50), each cut to the retrain
  period: a zeroed filter regrows, and the network adapts to it, on the optimiser's time
  scale (Adam at lr 1e-3 in both), not on the schedule's. The paper's 1500-step window is
  7% of its r = 40 retrain period (15,640 steps); at 4 steps per epoch the period is 160
  steps, so "1500" becomes 160 steps: noise until the layer's next event.
* **3 runs per configuration** (5 would exceed the 2-core budget).

The **training-budget profiles** ``steps650``, ``steps2600`` and ``steps10400`` (the
budget study, ``book/budget.md``) keep all of the above but the budget: 256, 1,024 and
4,096 images per epoch (2, 8 and 32 steps) from 5,000, 20,000 and all 50,000 training
images, so 650, 2,600 and 10,400 optimizer steps per 325-epoch run (16x), at width 0.25
(Conv4 0.5), 5 runs per configuration. Instability is measured on 2,000 test images
(``DataConfig.instability_test_subset``) and final accuracies on all 10,000, read from
epoch 246 on in unpruned runs (``full_test_from``). No bf16: these CPUs have no bf16
units (``lscpu``: avx2, avx512f; no avx512_bf16 or amx_bf16).

What each profile's runs cost, estimated and measured, is in the reproduction notes
(``book/reproduce.md``); the budget study's page reports the measured ``train_seconds``
of its runs.

``smoke`` exists for tests and CI: seconds per run, results meaningless. It shrinks the
epoch axis (``epoch_scale``; ``schedule.scale_schedule``) instead.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from prunestab.config import DataConfig
from prunestab.paths import default_store_path
from prunestab.schedule import scale_epoch, scale_period
from prunestab.store import RunStore

#: Training steps of one paper epoch: 50,000 images in batches of 128 (drop_last=False).
PAPER_STEPS_PER_EPOCH = math.ceil(50_000 / 128)


@dataclass(frozen=True)
class Profile:
    """How far a profile shrinks the paper's experiments.

    ``epoch_images``: images trained per epoch in the paper's 325-epoch experiments
    (``None``: the whole training set, as in the paper); shorter experiments (Conv4)
    always pass over the whole training set. ``model_widths``: ``(model, width)`` pairs
    overriding ``width`` for those models. ``instability_test_subset`` and
    ``full_test_from``: see :class:`~prunestab.config.DataConfig` (the budget profiles
    measure instability on 2,000 test images and final accuracies on all 10,000).
    """

    name: str
    width: float
    train_subset: int | None
    test_subset: int | None
    epoch_scale: float
    seeds: int
    batch_size: int = 128
    epoch_images: int | None = None
    model_widths: tuple[tuple[str, float], ...] = ()
    instability_test_subset: int | None = None
    full_test_from: int = 0

    def width_of(self, model: str) -> float:
        """The width at which this profile builds ``model``."""
        return dict(self.model_widths).get(model, self.width)

    def epochs(self, paper_epochs: int) -> int:
        return max(1, math.ceil(paper_epochs * self.epoch_scale))

    def epoch(self, paper_epoch: int) -> int:
        """A paper epoch on this profile's epoch axis (``schedule.scale_epoch``)."""
        return scale_epoch(paper_epoch, self.epoch_scale)

    def retrain_period(self, paper_period: int) -> int:
        """A paper retrain period (epochs) on this profile's epoch axis
        (``schedule.scale_period``)."""
        return scale_period(paper_period, self.epoch_scale)

    def data(
        self, augment: bool = False, train_eval_images: int = 0, full_epochs: bool = False
    ) -> DataConfig:
        """The data of a run; ``full_epochs``: pass over all training images each epoch."""
        if self.train_subset is not None:
            train_eval_images = min(train_eval_images, self.train_subset)
        return DataConfig(
            train_subset=self.train_subset,
            test_subset=self.test_subset,
            augment=augment,
            train_eval_images=train_eval_images,
            epoch_images=None if full_epochs else self.epoch_images,
            instability_test_subset=self.instability_test_subset,
            full_test_from=self.full_test_from,
        )

    def steps_per_epoch(self, full_epochs: bool = False) -> int:
        n = 50_000 if self.train_subset is None else self.train_subset
        if self.epoch_images is not None and not full_epochs:
            n = min(n, self.epoch_images)
        return math.ceil(n / self.batch_size)

    def noise_steps(self, paper_steps: int, paper_retrain_period: int) -> int:
        """A paper noise window (training steps), cut to this profile's retrain period.

        Windows are kept in training steps (the time scale of regrowth under Adam); a
        window longer than the steps between a layer's pruning events is cut to them, so
        no window runs into the layer's next event. At the paper profile no cut happens
        (1500 < 40 x 391).
        """
        period = self.retrain_period(paper_retrain_period) * self.steps_per_epoch()
        return min(paper_steps, period)

    def retrain_steps(self, paper_retrain_period: int) -> int:
        """Training steps between two of a layer's pruning events at this profile.

        >>> get_profile("paper").retrain_steps(40), get_profile("steps2600").retrain_steps(40)
        (15640, 320)
        """
        return self.retrain_period(paper_retrain_period) * self.steps_per_epoch()

    def proportional_noise_steps(self, paper_steps: int, paper_retrain_period: int) -> int:
        """A paper noise window scaled to the same fraction of this profile's retrain
        period as it is of the paper's (rounded to whole steps; a positive window keeps
        at least 1 step), where :meth:`noise_steps` keeps the paper's step count.

        >>> steps2600 = get_profile("steps2600")
        >>> [steps2600.proportional_noise_steps(w, 40) for w in (0, 50, 1500)]
        [0, 1, 31]
        """
        paper = get_profile("paper").retrain_steps(paper_retrain_period)
        scaled = round(paper_steps * self.retrain_steps(paper_retrain_period) / paper)
        return max(1, scaled) if paper_steps > 0 else 0


def _budget(name: str, epoch_images: int, train_subset: int | None) -> Profile:
    """A training-budget profile: quick's axis and widths, 5 seeds, all 10,000 test images
    for final accuracies (2,000 for instability), unpruned runs read from epoch 246."""
    return Profile(
        name,
        width=0.25,
        train_subset=train_subset,
        test_subset=None,
        epoch_scale=1.0,
        seeds=5,
        epoch_images=epoch_images,
        model_widths=(("conv4", 0.5),),
        instability_test_subset=2000,
        full_test_from=246,
    )


PROFILES = {
    "paper": Profile(
        "paper", width=1.0, train_subset=None, test_subset=None, epoch_scale=1.0, seeds=10
    ),
    "quick": Profile(
        "quick",
        width=0.25,
        train_subset=5000,
        test_subset=500,
        epoch_scale=1.0,
        seeds=3,
        epoch_images=512,
        model_widths=(("conv4", 0.5),),
    ),
    # The training-budget ladder (book/budget.md): the paper's epoch axis at 650, 2,600 and
    # 10,400 optimizer steps per run; instability on 2,000 test images, final accuracies
    # on all 10,000, read from epoch 246 (the earliest last pruning event of Figure 1's
    # VGG11 runs) for unpruned runs.
    **{
        budget.name: budget
        for budget in (
            _budget("steps650", epoch_images=256, train_subset=5000),
            _budget("steps2600", epoch_images=1024, train_subset=20_000),
            _budget("steps10400", epoch_images=4096, train_subset=None),
        )
    },
    "smoke": Profile(
        "smoke",
        width=0.125,
        train_subset=200,
        test_subset=100,
        epoch_scale=0.02,
        seeds=1,
        batch_size=50,
    ),
}


#: The training-budget study's profiles (book/budget.md), in order of budget.
BUDGET_PROFILES = ("steps650", "steps2600", "steps10400")
#: Profiles whose runs are published: committed under ``results/``, reported on the
#: front page, in order of training budget. Any other profile's runs (``smoke``,
#: ``paper``) go to ``store/<profile>/`` unless a store is named, so a plumbing check
#: never lands in the committed results.
PUBLISHED = ("quick", *BUDGET_PROFILES)


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (a :class:`Profile` is returned as it is, so every
    function that takes a profile takes either).

    Raises:
        ValueError: no profile has that name (the message lists those that do).

    >>> get_profile("quick").width
    0.25
    >>> get_profile(get_profile("quick")).name
    'quick'
    """
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"profile={name!r}; allowed: {', '.join(PROFILES)}")
    return PROFILES[name]


def default_store(
    store: str | os.PathLike | None = None,
    profile: str | None = None,
    root: str | os.PathLike | None = None,
) -> RunStore:
    """The run store of ``profile``'s runs.

    Args:
        store: a store named by the user (wins over everything; relative to ``root``
            when one is given).
        profile: the profile; a published one (``PUBLISHED``), or none, maps to the
            committed ``results/``, any other to ``store/<profile>/``.
        root: the repository (default: the one around the working directory).

    Returns:
        The :class:`RunStore` at ``prunestab.paths.default_store_path``.
    """
    return RunStore(default_store_path(store, profile, root, published=PUBLISHED))


def profile_of(config) -> str | None:
    """The profile whose data settings a run's config has, or ``None`` for a custom run.

    Profiles differ in what a run trains and tests on (training and test subsets, images
    per epoch, the instability set, where final accuracies are read) and in batch size;
    width is not compared, so a profile's run at another width (the budget study's width
    check) still belongs to it. Used where a run arrives as bare JSON
    (``prunestab run --config``), so its result records the profile that produced it.
    """
    data = config.data
    for name, profile in PROFILES.items():
        if config.optimizer.batch_size != profile.batch_size:
            continue
        for full_epochs in (False, True):
            expected = profile.data(data.augment, data.train_eval_images, full_epochs)
            if data == expected:
                return name
    return None
