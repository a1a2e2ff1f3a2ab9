"""Eval-mode accuracy and loss of a model, or of every seed of a model set, on a set of
images, read from the device once per pass."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from prunestab.data.batches import eval_batches
from prunestab.training.execution import autocast, model_input, parameter_dtype
from prunestab.training.model_sets import ModelSet, SingleModel, seed_logits

EVAL_BATCH_SIZE = 500


@dataclass(frozen=True)
class Evaluation:
    """One model's top-1 ``accuracy`` (percent) and mean cross-entropy ``loss`` on a set."""

    accuracy: float
    loss: float


@torch.no_grad()
def evaluate_seeds(
    models: ModelSet,
    forward: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str,
    memory_format: torch.memory_format,
    part: torch.Tensor | None = None,
) -> tuple[list[Evaluation], list[Evaluation] | None]:
    """Eval-mode top-1 accuracy (%) and mean loss of every seed over all ``images``, and
    over the images at positions ``part`` among them from the same forward passes
    (``None`` without ``part``), with one device sync.

    A network in eval mode treats each image on its own, so the part's accuracies are
    exactly those of evaluating its images alone; its mean losses agree to rounding (the
    per-image losses are summed in another grouping).

    Args:
        models: the seeds (:class:`~prunestab.training.model_sets.SingleModel` or
            ``batched.SeedGroup``).
        forward: the module to call: ``models.module``, compiled or folded.
        images: uint8 images ``[N, 3, H, W]`` on the model's device.
        labels: their int64 labels ``[N]``.
        precision: a resolved precision (``execution.resolve_precision``).
        memory_format: the model's layout.
        part: positions among ``images`` of a subset to report too, or ``None``.

    Returns:
        One :class:`Evaluation` per seed over all images, and one per seed over ``part``
        (``None`` without ``part``).

    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 10))
    >>> images = torch.randint(0, 256, (6, 3, 2, 2), dtype=torch.uint8)
    >>> labels = torch.arange(6)
    >>> whole, part = evaluate_seeds(
    ...     SingleModel(net), net, images, labels, "fp32", torch.contiguous_format, torch.tensor([0, 1])
    ... )
    >>> len(whole), len(part), 0 <= whole[0].accuracy <= 100
    (1, 1, True)
    """
    forward.eval()
    k = models.seeds
    dtype = parameter_dtype(models.module)
    correct = torch.zeros(k, device=images.device, dtype=torch.int64)
    loss_sum = torch.zeros(k, device=images.device, dtype=torch.float64)
    part_correct, part_loss = torch.zeros_like(correct), torch.zeros_like(loss_sum)
    chosen = None
    if part is not None:
        chosen = torch.zeros(labels.numel(), dtype=torch.bool, device=images.device)
        chosen[part] = True
    start = 0
    for x, y in eval_batches(images, labels, EVAL_BATCH_SIZE):
        with autocast(precision, images.device):
            out = forward(model_input(models.eval_input(x), dtype, memory_format))
        logits = seed_logits(out, k)
        targets = y[:, None].expand(-1, k)
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        hits = logits.argmax(2) == targets
        loss_sum += losses.sum(0)
        correct += hits.sum(0)
        if chosen is not None:  # masks, not boolean indexing: no device sync per batch
            here = chosen[start : start + y.numel(), None]
            part_loss += torch.where(here, losses, 0.0).sum(0)
            part_correct += (hits & here).sum(0)
        start += y.numel()
    sums = torch.stack(
        [correct.to(torch.float64), loss_sum, part_correct.to(torch.float64), part_loss]
    )
    values = sums.tolist()  # one sync
    whole = _evaluations(values[0], values[1], labels.numel())
    if part is None:
        return whole, None
    return whole, _evaluations(values[2], values[3], part.numel())


def _evaluations(correct: list[float], losses: list[float], n: int) -> list[Evaluation]:
    return [Evaluation(100.0 * c / n, s / n) for c, s in zip(correct, losses, strict=True)]


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str = "fp32",
    memory_format: torch.memory_format = torch.contiguous_format,
) -> Evaluation:
    """Eval-mode top-1 accuracy (%) and mean loss of one model over the whole set.

    Args:
        model: the model (left in eval mode).
        images: uint8 images ``[N, 3, H, W]`` on the model's device.
        labels: their int64 labels ``[N]``.
        precision: a resolved precision (``execution.resolve_precision``).
        memory_format: the model's layout.

    Returns:
        The model's :class:`Evaluation`.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 10))
    >>> nn.init.zeros_(net[1].weight) is not None and nn.init.zeros_(net[1].bias) is not None
    True
    >>> result = evaluate(net, torch.zeros(10, 3, 2, 2, dtype=torch.uint8), torch.arange(10))
    >>> result.accuracy, round(result.loss, 4)  # equal logits: the first class, loss ln 10
    (10.0, 2.3026)
    """
    single = SingleModel(model)
    return evaluate_seeds(single, model, images, labels, precision, memory_format)[0][0]
