"""CIFAR-10's batches on the device: shuffled, augmented and normalised there.

The paper trains every model on CIFAR-10 with batch size 128; only Conv4 uses data
augmentation (pad-4 random crop and horizontal flip), Appendix A.3. As in fast CIFAR-10
trainers (airbench), the images live on the device as one uint8 tensor, and
augmentation, shuffling and normalisation are tensor operations there: within an epoch
nothing crosses between host and device except one permutation, one set of crop/flip
draws and the two normalisation constants. Where the paper is silent: the last training
batch of an epoch may be smaller (``drop_last=False``, as in the authors' loader).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.nn import functional as F

#: Per-channel mean of CIFAR-10 training images, the authors' normalisation constant.
MEAN = (0.4914, 0.4822, 0.4465)

#: The authors' per-channel "std" constants. They are not the pixel standard deviation of
#: CIFAR-10 (about 0.247, 0.243, 0.261) but the widely copied values the paper's code uses;
#: we keep them so that inputs match the authors' exactly.
STD = (0.2023, 0.1994, 0.2010)

#: Crop padding of the augmentation, as torchvision's ``RandomCrop(32, padding=4)``.
PADDING = 4


def normalization_constants(
    device: torch.device | str, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """``MEAN`` and ``STD`` as ``[3, 1, 1]`` tensors of ``dtype`` on ``device``.

    Building them is a host-to-device copy, which on a GPU waits for the copy to finish;
    the batch iterators therefore build them once per epoch, not once per batch.

    Args:
        device: where the tensors are put.
        dtype: their dtype (the working precision of :func:`normalize`).

    Returns:
        ``(mean, std)``, each ``[3, 1, 1]``.
    """
    mean = torch.tensor(MEAN, dtype=dtype, device=device).view(3, 1, 1)
    std = torch.tensor(STD, dtype=dtype, device=device).view(3, 1, 1)
    return mean, std


def normalize(
    images: torch.Tensor,
    dtype: torch.dtype = torch.float32,
    constants: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """uint8 images ``[..., 3, H, W]`` to ``(x / 255 - MEAN) / STD`` as ``dtype``.

    Arithmetic is float32 (float64 if asked) and cast at the end, so a bf16 result is
    rounded once rather than at every step. ``constants`` are those of
    :func:`normalization_constants` for the working precision (float32, or float64 when
    ``dtype`` is float64); when omitted they are built on the images' device.

    Args:
        images: uint8 images ``[..., 3, H, W]``.
        dtype: the result's dtype (bf16 for bf16 training).
        constants: ``(mean, std)`` from :func:`normalization_constants`, or ``None``.

    Returns:
        A new tensor shaped like ``images``; ``images`` is unchanged.

    >>> white = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    >>> [round(v, 3) for v in normalize(white)[0, :, 0, 0].tolist()]
    [2.514, 2.597, 2.754]
    """
    work = torch.float64 if dtype == torch.float64 else torch.float32
    mean, std = constants if constants is not None else normalization_constants(images.device, work)
    # In place on a fresh float copy: one allocation instead of three, same arithmetic.
    out = images.to(work, copy=True).div_(255).sub_(mean).div_(std)
    return out.to(dtype)


def augmentation_draws(n: int, generator: torch.Generator) -> torch.Tensor:
    """Crop offsets and flips for ``n`` images: an int64 ``[n, 3]`` tensor on the CPU.

    Columns: row offset, column offset (both in ``0 .. 2 * PADDING``), flip (0 or 1).
    Offsets are drawn first, then flips, so a generator state gives the same draws
    however the images are later batched.

    Args:
        n: the number of images.
        generator: a seeded CPU generator.

    Returns:
        int64 ``[n, 3]`` on the CPU; offset ``PADDING`` is the uncropped position.

    >>> draws = augmentation_draws(5, torch.Generator().manual_seed(0))
    >>> draws.shape, bool(((0 <= draws[:, :2]) & (draws[:, :2] <= 8)).all())
    (torch.Size([5, 3]), True)
    """
    offsets = torch.randint(0, 2 * PADDING + 1, (n, 2), generator=generator)
    flips = (torch.rand(n, generator=generator) < 0.5).to(torch.int64)
    return torch.cat([offsets, flips[:, None]], dim=1)


def apply_augmentation(images: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """Crop and flip each image ``[B, C, H, W]`` as its row of ``draws`` (on its device) says.

    The images are zero-padded once and every output is gathered with per-image row and
    column indices, the flip being a reversed column index. uint8 in, uint8 out.

    Args:
        images: ``[B, C, H, W]``.
        draws: ``[B, 3]`` rows of :func:`augmentation_draws`, on the images' device.

    Returns:
        The cropped and flipped images, ``[B, C, H, W]``.

    >>> images = torch.arange(2 * 3 * 32 * 32).reshape(2, 3, 32, 32).to(torch.uint8)
    >>> out = apply_augmentation(images, torch.tensor([[4, 4, 0], [4, 4, 1]]))
    >>> torch.equal(out[0], images[0]), torch.equal(out[1], images[1].flip(-1))
    (True, True)
    """
    b, c, h, w = images.shape
    device = images.device
    rows = draws[:, 0:1] + torch.arange(h, device=device)
    cols = draws[:, 1:2] + torch.arange(w, device=device)
    cols = torch.where(draws[:, 2:3].bool(), cols.flip(1), cols)
    padded = F.pad(images, (PADDING, PADDING, PADDING, PADDING))
    return padded[
        torch.arange(b, device=device)[:, None, None, None],
        torch.arange(c, device=device)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pad-4 random crop, then horizontal flip with probability 0.5, per image (A.3, Conv4).

    Equivalent to torchvision's ``RandomCrop(32, padding=4)`` followed by
    ``RandomHorizontalFlip()``, but batched (:func:`apply_augmentation`). Offsets and
    flips are drawn on the CPU from ``generator`` (:func:`augmentation_draws`) and moved
    in one transfer, so the same generator state gives the same images on CPU and GPU.
    uint8 in, uint8 out.

    Args:
        images: uint8 ``[B, 3, 32, 32]``.
        generator: a seeded CPU generator.

    Returns:
        The augmented images, on the images' device.

    >>> augment(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.Generator()).shape
    torch.Size([4, 3, 32, 32])
    """
    draws = augmentation_draws(images.shape[0], generator).to(images.device)
    return apply_augmentation(images, draws)


def train_batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    augment_images: bool = False,
    epoch_images: int | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled, normalised ``(x, y)`` batches (batch size 128 in A.3).

    The permutation is drawn on the CPU from ``generator`` and moved to the device once;
    ``epoch_images`` keeps only its first that many images (``DataConfig.epoch_images``).
    With ``augment_images`` (the paper augments Conv4 only, A.3) every image's crop and
    flip are drawn for the epoch with the same generator, after the permutation, and
    applied batch by batch (the same images as :func:`augment` on the whole set, without
    holding an augmented copy of it). The last batch may be smaller: no image is dropped,
    as in the authors' loader.

    Args:
        images: uint8 ``[N, 3, 32, 32]`` on the training device.
        labels: int64 ``[N]`` on the same device.
        batch_size: images per batch.
        generator: a seeded CPU generator (one per epoch, so epochs are reproducible).
        augment_images: crop and flip every image (Conv4, A.3).
        epoch_images: train on this many of the permuted images; ``None``: all.

    Yields:
        ``(x, y)``: float32 normalised images ``[B, 3, 32, 32]`` and their labels.

    >>> images, labels = torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.arange(10)
    >>> batches = train_batches(images, labels, 4, torch.Generator().manual_seed(0))
    >>> [len(y) for _, y in batches]
    [4, 4, 2]
    """
    n = labels.numel()
    device = images.device
    order = torch.randperm(n, generator=generator)[:epoch_images].to(device)
    draws = augmentation_draws(n, generator).to(device) if augment_images else None
    constants = normalization_constants(device)
    for start in range(0, order.numel(), batch_size):
        index = order[start : start + batch_size]
        batch = images[index]
        if draws is not None:
            batch = apply_augmentation(batch, draws[index])
        yield normalize(batch, constants=constants), labels[index]


def eval_batches(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised ``(x, y)`` batches in order, for evaluation.

    Args:
        images: uint8 ``[N, 3, 32, 32]``.
        labels: int64 ``[N]``.
        batch_size: images per batch (the last batch may be smaller).

    Yields:
        ``(x, y)``: float32 normalised images and their labels, without augmentation.

    >>> images, labels = torch.zeros(5, 3, 32, 32, dtype=torch.uint8), torch.arange(5)
    >>> [y.tolist() for _, y in eval_batches(images, labels, 2)]
    [[0, 1], [2, 3], [4]]
    """
    constants = normalization_constants(images.device)
    for start in range(0, labels.numel(), batch_size):
        batch = images[start : start + batch_size]
        yield normalize(batch, constants=constants), labels[start : start + batch_size]
