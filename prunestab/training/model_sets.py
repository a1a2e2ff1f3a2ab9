"""What the training loop trains: ``seeds`` models realised as one module.

:class:`ModelSet` is the interface; :class:`SingleModel` is one seed's model itself, and
``prunestab.training.batched.SeedGroup`` holds several seeds of one configuration side by
side in one grouped model. The loop, the evaluation and the interventions see only this
interface, so one loop trains both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import torch
from torch import nn

from prunestab.data.batches import train_batches
from prunestab.pruning import Pruner
from prunestab.training.execution import full_precision


class ModelSet(Protocol):
    """What ``loop.train_group`` trains: ``seeds`` models realised as one module.

    Two realisations: :class:`SingleModel` (one seed) and ``batched.SeedGroup``.

    Attributes:
        seeds: the number of seeds ``K``.
        module: the module trained and evaluated; it maps a batch to logits
            ``[B, seeds * classes]``.
        seed_models: seed ``k``'s model at ``k``, sharing its tensors with ``module``;
            pruning and noise act on these.
    """

    seeds: int
    module: nn.Module
    seed_models: list[nn.Module]

    def train_batches(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        generators: list[torch.Generator],
        augment_images: bool,
        epoch_images: int | None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``module``'s batches; seed ``k`` shuffles with ``generators[k]``
        (arguments as ``prunestab.data.batches.train_batches``)."""
        ...

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """``module``'s input for an evaluation batch ``x`` that every seed sees."""
        ...

    def share_masks(self, pruner: Pruner) -> None:
        """Let each seed model see its part of the masks ``pruner`` put on ``module``."""
        ...

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any:
        """What seed ``seed``'s pruner edits: an object whose ``state`` maps its
        parameters to their optimizer state (views of ``optimizer``'s)."""
        ...

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]:
        """Per seed, the ``state_dict()`` an optimizer of its own would have."""
        ...

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]):
        """Load per-seed states as :meth:`optimizer_states` gives them."""
        ...

    def model_states(self, copy: bool) -> list[dict]:
        """Per seed, its model's ``state_dict()`` (on the CPU with ``copy``)."""
        ...


class SingleModel:
    """The one-seed :class:`ModelSet`: the model itself.

    Args:
        model: the model to train.

    Attributes:
        seeds: 1.
        module: ``model``.
        seed_models: ``[model]``.

    >>> single = SingleModel(nn.Linear(2, 3))
    >>> single.seeds, single.seed_models[0] is single.module
    (1, True)
    """

    seeds = 1

    def __init__(self, model: nn.Module) -> None:
        self.module = model
        self.seed_models = [model]

    def train_batches(self, images, labels, batch_size, generators, augment_images, epoch_images):
        """``prunestab.data.batches.train_batches`` with the one generator."""
        return train_batches(
            images, labels, batch_size, generators[0], augment_images, epoch_images
        )

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` itself."""
        return x

    def share_masks(self, pruner: Pruner) -> None:
        """Nothing to share: the seed's pruner finds the masks on the model itself."""

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any:
        """The optimizer itself."""
        return optimizer

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]:
        """``[optimizer.state_dict()]``."""
        return [optimizer.state_dict()]

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]):
        """Load ``states[0]``."""
        optimizer.load_state_dict(states[0])

    def model_states(self, copy: bool) -> list[dict]:
        """``[model.state_dict()]``: its own tensors, or CPU copies with ``copy``."""
        state = self.module.state_dict()
        if copy:
            state = {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
        return [state]


def seed_logits(out: torch.Tensor, seeds: int) -> torch.Tensor:
    """A model set's logits, seed by seed.

    Args:
        out: ``module``'s logits ``[B, seeds * classes]`` (:class:`ModelSet`).
        seeds: the number of seeds.

    Returns:
        The logits as ``[B, seeds, classes]``, at least float32.

    >>> seed_logits(torch.zeros(4, 20), 2).shape
    torch.Size([4, 2, 10])
    """
    return full_precision(out).view(out.shape[0], seeds, -1)
