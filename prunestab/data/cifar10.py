"""CIFAR-10 held whole on the training device, split and subset as a run's config says.

:func:`load_cifar10` reads the files (``prunestab.data.files``), holds out the
validation images and chooses the subsets, and puts each tensor on the device once; the
batches are then made there (``prunestab.data.batches``).

Decisions where the paper is silent: subsets and the validation split are class-balanced
choices under a fixed seed, independent of the run seed, so every run of a profile sees
the same images.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import torch

from prunestab.config import DataConfig
from prunestab.data.files import (
    BASE_FOLDER,
    TEST_FILE,
    TRAIN_FILES,
    locate,
    read_split,
    verify_checksums,
)

# One fixed seed per split, so that the test subset does not depend on the train subset
# and neither depends on the run seed (every run of a profile sees the same images).
_SELECTION_SEEDS = {
    "validation_size": 0,
    "train_subset": 1,
    "test_subset": 2,
    "instability_test_subset": 3,
}


@dataclass(frozen=True)
class DatasetInfo:
    """Where the data came from and whether they are the official files.

    ``variant``: ``"official"`` when every file's md5 matches torchvision's list,
    ``"modified"`` otherwise (``mismatched`` names the files). ``"synthetic"`` is reserved
    for data made in memory (tests, demos); the loader never produces it. The counts are
    those after the validation split and subsets of the :class:`DataConfig`.

    Attributes:
        root: the folder holding ``cifar-10-batches-py/``.
        variant: ``official``, ``modified`` or ``synthetic``.
        mismatched: the files whose md5 differs from torchvision's (empty if official).
        n_train, n_test, n_validation: images in each split as loaded.
        n_instability: images of the instability test set, ``None`` when there is none.
    """

    root: str
    variant: str
    mismatched: tuple[str, ...]
    n_train: int
    n_test: int
    n_validation: int
    n_instability: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict, as stored in every result's ``dataset``.

        Returns:
            The fields, ``mismatched`` as a list.

        >>> DatasetInfo("/data", "official", (), 50000, 10000, 0).to_dict()["mismatched"]
        []
        """
        data = dataclasses.asdict(self)
        data["mismatched"] = list(self.mismatched)
        return data


@dataclass(frozen=True, eq=False)
class CIFAR10:
    """CIFAR-10 on ``device``: uint8 images ``[N, 3, 32, 32]`` and int64 labels ``[N]``.

    Images stay uint8 (four times smaller than float32) and are normalised per batch by
    ``batches.train_batches``/``batches.eval_batches``. The validation tensors are empty
    (``[0, 3, 32, 32]``, ``[0]``) unless ``DataConfig.validation_size`` is set.
    Built by :func:`load_cifar10`; tests build small ones in memory.

    Attributes:
        train_images, train_labels: the training images (after the validation split and
            ``train_subset``) and their labels.
        test_images, test_labels: the test images (``test_subset``, or all 10,000).
        validation_images, validation_labels: the held-out training images.
        info: where the data came from (:class:`DatasetInfo`).
        device: where every tensor lives.
        instability_images, instability_labels: the instability test set
            (``DataConfig.instability_test_subset``), ``None`` when there is none.
        instability_positions: where the instability images sit among ``test_images``
            (int64, on ``device``), so one evaluation of the whole test set also gives
            the instability set's numbers; ``None`` when there is no separate instability
            set, or its place is not known.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    validation_images: torch.Tensor
    validation_labels: torch.Tensor
    info: DatasetInfo
    device: torch.device
    instability_images: torch.Tensor | None = None
    instability_labels: torch.Tensor | None = None
    #: Where the instability images sit among ``test_images`` (int64, on ``device``): an
    #: evaluation of the whole test set then also gives the instability set's numbers.
    #: ``None`` when there is no separate instability set, or its place is not known.
    instability_positions: torch.Tensor | None = None

    def instability_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The test images of the per-epoch curve and of each event's instability.

        ``DataConfig.instability_test_subset`` of the test images when set, else all.

        Returns:
            ``(images, labels)``: uint8 ``[N, 3, 32, 32]`` and int64 ``[N]``.
        """
        if self.instability_images is None:
            return self.test_images, self.test_labels
        return self.instability_images, self.instability_labels


def _balanced_quotas(counts: list[int], k: int, generator: torch.Generator) -> list[int]:
    """Images per class: ``k`` split as equally as the classes' available counts allow."""
    quotas = [0] * len(counts)
    open_classes = list(range(len(counts)))
    remaining = k
    # Water-filling: a class with fewer images than its fair share gives all it has and the
    # rest is shared among the others; matters only for unbalanced or nearly used-up data.
    while remaining and open_classes:
        share = remaining // len(open_classes)
        short = [c for c in open_classes if counts[c] - quotas[c] <= share]
        if short:
            for c in short:
                remaining -= counts[c] - quotas[c]
                quotas[c] = counts[c]
            open_classes = [c for c in open_classes if c not in short]
            continue
        for c in open_classes:
            quotas[c] += share
        remaining -= share * len(open_classes)
        # The remainder goes to classes drawn by the generator, so no class is always
        # favoured when k is not a multiple of the class count.
        order = torch.randperm(len(open_classes), generator=generator).tolist()
        for i in order[:remaining]:
            quotas[open_classes[i]] += 1
        remaining = 0
    return quotas


def _balanced_choice(labels: torch.Tensor, k: int, field: str, what: str) -> torch.Tensor:
    """Indices of a class-balanced choice of ``k`` labels, in their original order."""
    n = labels.numel()
    if k > n:
        raise ValueError(f"DataConfig.{field}={k}; allowed: at most {n} ({what})")
    generator = torch.Generator().manual_seed(_SELECTION_SEEDS[field])
    classes = torch.unique(labels)
    members = [torch.nonzero(labels == c).flatten() for c in classes]
    quotas = _balanced_quotas([m.numel() for m in members], k, generator)
    chosen = [
        m[torch.randperm(m.numel(), generator=generator)[:q]]
        for m, q in zip(members, quotas, strict=True)
    ]
    if not chosen:
        return torch.zeros(0, dtype=torch.int64)
    return torch.sort(torch.cat(chosen)).values


def _complement(n: int, indices: torch.Tensor) -> torch.Tensor:
    keep = torch.ones(n, dtype=torch.bool)
    keep[indices] = False
    return torch.nonzero(keep).flatten()


@dataclass(frozen=True, eq=False)
class _Selection:
    """The images a :class:`DataConfig` keeps, as int64 indices (CPU): ``train`` and
    ``validation`` into the training files, ``test`` and ``instability`` into the test file;
    ``instability_positions``, the instability images' places within ``test``."""

    train: torch.Tensor
    validation: torch.Tensor
    test: torch.Tensor
    instability: torch.Tensor | None
    instability_positions: torch.Tensor | None


def _select(
    config: DataConfig, train_labels: torch.Tensor, test_labels: torch.Tensor
) -> _Selection:
    """The validation split, then the subsets, each class-balanced (:func:`load_cifar10`);
    raises ``ValueError`` as :func:`load_cifar10` says."""
    n_train = train_labels.numel()
    if config.validation_size >= n_train:
        raise ValueError(
            f"DataConfig.validation_size={config.validation_size}; allowed: fewer than the "
            f"{n_train} training images"
        )
    validation = _balanced_choice(
        train_labels, config.validation_size, "validation_size", "training images"
    )
    rest = _complement(n_train, validation)
    if config.train_subset is not None:
        what = f"training images left after validation_size={config.validation_size}"
        rest = rest[_balanced_choice(train_labels[rest], config.train_subset, "train_subset", what)]
    test = torch.arange(test_labels.numel())
    if config.test_subset is not None:
        test = _balanced_choice(test_labels, config.test_subset, "test_subset", "test images")
    instability = part = None
    if config.instability_test_subset is not None:
        part = _balanced_choice(
            test_labels[test],
            config.instability_test_subset,
            "instability_test_subset",
            "images of the test subset",
        )
        instability = test[part]
    return _Selection(rest, validation, test, instability, part)


def load_cifar10(
    root: str | os.PathLike | None = None,
    *,
    config: DataConfig | None = None,
    device: str | torch.device = "cpu",
    download: bool = True,
) -> CIFAR10:
    """Load CIFAR-10 onto ``device``, split and subset as ``config`` says.

    ``root``: the folder holding ``cifar-10-batches-py/`` (or that folder itself); if
    ``None``, ``$PRUNESTAB_DATA``, else ``files.default_root``. If no data are there and
    ``download`` is true, torchvision's download into that folder is tried; any failure
    (no internet) ends in ``files.DataNotFoundError``, whose message tells the user what
    to do. Files are read directly (not through ``torchvision.datasets.CIFAR10``, which
    refuses a non-official copy as "corrupted") and their checksums recorded in ``info``.
    Only load data you trust: the format is Python pickle.

    ``config.validation_size`` images are held out of the training set first, then
    ``config.train_subset`` images are chosen from the rest and ``config.test_subset``
    from the test set; every choice is class-balanced under a fixed seed and keeps the
    original order. A subset larger than the images available raises ``ValueError``.

    Args:
        root: the data folder, as for ``files.resolve_root``.
        config: the split and subsets; ``None``: the paper's (all images, no validation).
        device: where the tensors are put (one transfer each, after subsetting).
        download: as for ``files.locate``.

    Returns:
        :class:`CIFAR10` on ``device``, with its :class:`DatasetInfo`.

    Raises:
        DataNotFoundError: the data are absent and could not be downloaded.
        ValueError: ``validation_size`` is not below the 50,000 training images, or a
            subset is larger than the images it is drawn from; the message names the
            ``DataConfig`` field, the value and the images available.
    """
    config = config or DataConfig()
    found = locate(root, download=download)
    variant, mismatched = verify_checksums(found)
    folder = found / BASE_FOLDER
    train_images, train_labels = read_split(folder, TRAIN_FILES)
    test_images, test_labels = read_split(folder, (TEST_FILE,))
    chosen = _select(config, train_labels, test_labels)
    rest, validation, test = chosen.train, chosen.validation, chosen.test
    instability, part = chosen.instability, chosen.instability_positions

    device = torch.device(device)
    info = DatasetInfo(
        root=str(found),
        variant=variant,
        mismatched=mismatched,
        n_train=rest.numel(),
        n_test=test.numel(),
        n_validation=validation.numel(),
        n_instability=None if instability is None else instability.numel(),
    )
    # One transfer per tensor, after subsetting, so only the images used reach the device.
    return CIFAR10(
        train_images=train_images[rest].to(device),
        train_labels=train_labels[rest].to(device),
        test_images=test_images[test].to(device),
        test_labels=test_labels[test].to(device),
        validation_images=train_images[validation].to(device),
        validation_labels=train_labels[validation].to(device),
        info=info,
        device=device,
        instability_images=None if instability is None else test_images[instability].to(device),
        instability_labels=None if instability is None else test_labels[instability].to(device),
        instability_positions=None if instability is None else part.to(device),
    )
