"""Scales at which every experiment exists: ``smoke``, ``quick`` and ``paper``.

``paper`` is Appendix A.3 exactly: full width, all 50,000 training and 10,000 test
images, 325 epochs with lr_s = (150, 300) (Conv4: s=4, e=52, r=3, lr_s=(30, 60)), 10 runs
per configuration (3 for Figure 3).

``quick`` and ``smoke`` shrink width, data and epochs while keeping the settings' shape:
every epoch number of a schedule (starts, ends, retrain period, lr milestones) is
multiplied by the same ``epoch_scale`` (see ``PruningSchedule.scaled``), so pruning
events keep their relative timing, and noise windows (counted in training steps) shrink
with the number of training steps per retrain period.

``quick`` is a first CPU setting; the reproduction issue tunes it (and records why here).
``smoke`` exists for tests and CI: seconds per run, results meaningless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prunestab.config import DataConfig

#: Training steps of one paper epoch: 50,000 images in batches of 128 (drop_last=False).
PAPER_STEPS_PER_EPOCH = math.ceil(50_000 / 128)


@dataclass(frozen=True)
class Profile:
    """How far a profile shrinks the paper's experiments."""

    name: str
    width: float
    train_subset: int | None
    test_subset: int | None
    epoch_scale: float
    seeds: int
    batch_size: int = 128

    def epochs(self, paper_epochs: int) -> int:
        return max(1, math.ceil(paper_epochs * self.epoch_scale))

    def epoch(self, paper_epoch: int) -> int:
        return int(math.floor(paper_epoch * self.epoch_scale))

    def data(self, augment: bool = False, train_eval_images: int = 0) -> DataConfig:
        if self.train_subset is not None:
            train_eval_images = min(train_eval_images, self.train_subset)
        return DataConfig(
            train_subset=self.train_subset,
            test_subset=self.test_subset,
            augment=augment,
            train_eval_images=train_eval_images,
        )

    def steps_per_epoch(self) -> int:
        n = 50_000 if self.train_subset is None else self.train_subset
        return math.ceil(n / self.batch_size)

    def noise_steps(self, paper_steps: int) -> int:
        """A paper noise window (in steps) at this profile's steps per retrain period."""
        if paper_steps == 0:
            return 0
        ratio = self.steps_per_epoch() * self.epoch_scale / PAPER_STEPS_PER_EPOCH
        return max(1, round(paper_steps * ratio))


PROFILES = {
    "paper": Profile("paper", width=1.0, train_subset=None, test_subset=None, epoch_scale=1.0, seeds=10),
    "quick": Profile("quick", width=0.25, train_subset=5000, test_subset=2000, epoch_scale=0.2, seeds=3),
    "smoke": Profile("smoke", width=0.125, train_subset=200, test_subset=100, epoch_scale=0.02, seeds=1, batch_size=50),
}  # fmt: skip


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"profile={name!r}; allowed: {', '.join(PROFILES)}")
    return PROFILES[name]
