"""CIFAR-10 held whole on the training device, with batched augmentation and batching.

The paper trains every model on CIFAR-10 with batch size 128; only Conv4 uses data
augmentation (pad-4 random crop and horizontal flip), Appendix A.3. As in fast CIFAR-10
trainers (airbench), the 60,000 images live on the device as one uint8 tensor, and
augmentation, shuffling and normalisation are tensor operations there: within an epoch
nothing crosses between host and device except one permutation, one set of crop/flip
draws and the two normalisation constants.

Data are read from torchvision's standard layout, ``<root>/cifar-10-batches-py/``. Where
the md5 checksums are not the official ones (a JPEG re-encoded copy, as
machines without internet are given, is the expected case) the loader still loads them, warns with
:class:`DatasetVariantWarning` and records ``variant="modified"`` in :class:`DatasetInfo`,
which the runner stores with every result.

Decisions where the paper is silent: subsets and the validation split are class-balanced
choices under a fixed seed, independent of the run seed, so every run of a profile sees
the same images; the last training batch of an epoch may be smaller (``drop_last=False``,
as in the authors' loader).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from prunestab.config import DataConfig

#: Per-channel mean of CIFAR-10 training images, the authors' normalisation constant.
MEAN = (0.4914, 0.4822, 0.4465)
#: The authors' per-channel "std" constants. They are not the pixel standard deviation of
#: CIFAR-10 (about 0.247, 0.243, 0.261) but the widely copied values the paper's code uses;
#: we keep them so that inputs match the authors' exactly.
STD = (0.2023, 0.1994, 0.2010)
#: Environment variable naming the folder that holds ``cifar-10-batches-py/``.
ENV_VAR = "PRUNESTAB_DATA"

BASE_FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
FILES = (*TRAIN_FILES, TEST_FILE, META_FILE)

#: Crop padding of the augmentation, as torchvision's ``RandomCrop(32, padding=4)``.
PADDING = 4

# One fixed seed per split, so that the test subset does not depend on the train subset
# and neither depends on the run seed (every run of a profile sees the same images).
_SELECTION_SEEDS = {
    "validation_size": 0,
    "train_subset": 1,
    "test_subset": 2,
    "instability_test_subset": 3,
}


class DataNotFoundError(RuntimeError):
    """CIFAR-10 is not where we looked; ``str(err)`` tells the user how to provide it.

    Raised by :func:`locate` and :func:`load_cifar10`.

    Args:
        message: names the folder looked at, the argument, ``$PRUNESTAB_DATA`` and the
            default folder, why a download failed (if one was tried) and the three ways to
            provide the data.
    """


class DatasetVariantWarning(UserWarning):
    """The files are not the official CIFAR-10 (e.g. the JPEG re-encoded offline copy).

    Emitted by :func:`verify_checksums`; the data are still loaded and results record
    ``variant="modified"``. The test suite ignores it (``pyproject.toml``).

    Args:
        message: names the folder and the files whose md5 differs.
    """


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
    :func:`train_batches`/:func:`eval_batches`. The validation tensors are empty
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


def default_root() -> Path:
    """The folder used when neither an argument nor ``$PRUNESTAB_DATA`` names one.

    Returns:
        ``~/.cache/prunestab/data`` (it need not exist).

    >>> default_root().parts[-3:]
    ('.cache', 'prunestab', 'data')
    """
    return Path.home() / ".cache" / "prunestab" / "data"


def _has_layout(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def _requested_root(root: str | os.PathLike | None) -> Path:
    """The folder the lookup rules choose: argument, else ``$PRUNESTAB_DATA``, else default."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR, "")
    return Path(env).expanduser() if env else default_root()


def resolve_root(root: str | os.PathLike | None = None) -> Path | None:
    """The folder holding ``cifar-10-batches-py/``, or ``None`` if the layout is absent.

    Looks only at the first of: ``root``, ``$PRUNESTAB_DATA``, :func:`default_root`; a
    folder named explicitly is never silently replaced by another one. Either the parent
    folder or the ``cifar-10-batches-py`` folder itself is accepted; the resolved parent
    is returned.

    Args:
        root: the folder to look in (``~`` is expanded); ``None`` or ``""``: the
            environment variable, else the default folder.

    Returns:
        The absolute parent folder of a complete ``cifar-10-batches-py/`` (all five
        training batches, the test batch and ``batches.meta``), or ``None``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     print(resolve_root(empty))
    None
    """
    folder = _requested_root(root)
    if _has_layout(folder / BASE_FOLDER):
        return folder.resolve()
    if folder.name == BASE_FOLDER and _has_layout(folder):
        return folder.resolve().parent
    return None


def locate(root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder holding ``cifar-10-batches-py/`` (:func:`resolve_root`), downloading it
    there first if it is absent and ``download`` is true.

    Args:
        root: as for :func:`resolve_root`.
        download: try torchvision's download into the chosen folder when the data are
            absent (needs internet; any failure ends in the error below).

    Returns:
        The absolute parent folder of ``cifar-10-batches-py/``.

    Raises:
        DataNotFoundError: not there and not downloadable; the message says what to do.
    """
    found = resolve_root(root)
    if found is None:
        note = ""
        if download:
            note = _download(_requested_root(root))
            found = resolve_root(root)
        if found is None:
            raise DataNotFoundError(_not_found_message(root, note))
    return found


@functools.lru_cache(maxsize=32)
def _file_md5(path: str, size: int, mtime_ns: int) -> str:
    # Size and mtime are part of the key so that a file replaced in place is hashed again;
    # otherwise repeated loads in one process (a sweep) skip the ~0.5 s of hashing.
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _md5(path: Path) -> str:
    stat = path.stat()
    return _file_md5(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def verify_checksums(root: Path) -> tuple[str, tuple[str, ...]]:
    """Compare each file's md5 with torchvision's official list; return (variant, mismatched).

    ``root`` is the folder holding ``cifar-10-batches-py/``. Files that differ do not stop
    the load: a :class:`DatasetVariantWarning` is emitted once, and the caller records
    ``variant="modified"`` so that results say which data produced them. Each file's md5
    is cached per path, size and modification time, so repeated loads in one process
    hash once.

    Args:
        root: the folder holding ``cifar-10-batches-py/`` (as :func:`locate` returns).

    Returns:
        ``("official", ())``, or ``("modified", names of the differing files)``.

    Raises:
        FileNotFoundError: a file of the layout is missing (use :func:`locate` first).
    """
    import torchvision.datasets

    official = torchvision.datasets.CIFAR10
    expected = dict(official.train_list + official.test_list)
    expected[official.meta["filename"]] = official.meta["md5"]
    folder = Path(root) / BASE_FOLDER
    mismatched = tuple(name for name in FILES if _md5(folder / name) != expected[name])
    if not mismatched:
        return "official", ()
    warnings.warn(
        f"The CIFAR-10 files in {folder} are not the official CIFAR-10 (md5 differs for "
        f"{', '.join(mismatched)}), e.g. the JPEG re-encoded offline copy. Results will "
        'record variant="modified"; how much that moves accuracies is unmeasured.',
        DatasetVariantWarning,
        stacklevel=2,
    )
    return "modified", mismatched


def _not_found_message(root: str | os.PathLike | None, download_note: str) -> str:
    argument = f"{root}" if root is not None and str(root) != "" else "not given"
    env = os.environ.get(ENV_VAR) or "not set"
    return (
        f"CIFAR-10 not found in {_requested_root(root)} (we look at the data argument, "
        f"else ${ENV_VAR}, else the default folder; data argument: {argument}; "
        f"{ENV_VAR}: {env}; default folder: {default_root()}). {download_note}"
        f"To provide the data, pass --data DIR (data= in Python) pointing at a folder that "
        f"contains {BASE_FOLDER}/, or set {ENV_VAR}=DIR, or allow the download (needs "
        f"internet). On machines without internet, write the images in that layout into DIR "
        f"(any copy works; a non-official one is recorded as variant 'modified')."
    )


def _download(folder: Path) -> str:
    """Try torchvision's download into ``folder``; return a note for the error message."""
    if folder.name == BASE_FOLDER:
        folder = folder.parent
    # Any failure (no internet, disk full, a corrupt archive) must end in the one clear
    # DataNotFoundError, never in a traceback.
    try:
        import torchvision.datasets

        torchvision.datasets.CIFAR10(str(folder), train=True, download=True)
    except Exception as err:
        reason = " ".join(f"{type(err).__name__}: {err}".split())
        return f"Downloading into {folder} failed ({reason}). "
    return f"Downloading into {folder} did not produce the layout. "


def _unpickle(path: Path) -> dict[str, Any]:
    # latin1 decodes the Python 2 pickles of the official download (numpy arrays inside);
    # keys may then be str or, for files written with bytes keys, bytes.
    with open(path, "rb") as f:
        raw = pickle.load(f, encoding="latin1")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}


def _read_split(folder: Path, names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    batches = [_unpickle(folder / name) for name in names]
    data = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
    labels = np.concatenate([np.asarray(b["labels"], dtype=np.int64) for b in batches])
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32))
    return images, torch.from_numpy(labels)


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
    ``None``, ``$PRUNESTAB_DATA``, else :func:`default_root`. If no data are there and
    ``download`` is true, torchvision's download into that folder is tried; any failure
    (no internet) ends in :class:`DataNotFoundError`, whose message tells the user what
    to do. Files are read directly (not through ``torchvision.datasets.CIFAR10``, which
    refuses a non-official copy as "corrupted") and their checksums recorded in ``info``.
    Only load data you trust: the format is Python pickle.

    ``config.validation_size`` images are held out of the training set first, then
    ``config.train_subset`` images are chosen from the rest and ``config.test_subset``
    from the test set; every choice is class-balanced under a fixed seed and keeps the
    original order. A subset larger than the images available raises ``ValueError``.

    Args:
        root: the data folder, as for :func:`resolve_root`.
        config: the split and subsets; ``None``: the paper's (all images, no validation).
        device: where the tensors are put (one transfer each, after subsetting).
        download: as for :func:`locate`.

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
    train_images, train_labels = _read_split(folder, TRAIN_FILES)
    test_images, test_labels = _read_split(folder, (TEST_FILE,))
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
