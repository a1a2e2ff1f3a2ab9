"""The CIFAR-10 files on disk: where they are looked for, downloaded, checked and read.

Data are read from torchvision's standard layout, ``<root>/cifar-10-batches-py/``. Where
the md5 checksums are not the official ones (a JPEG re-encoded copy, as machines without
internet are given, is the expected case) the loader still loads them, warns with
:class:`DatasetVariantWarning` and records ``variant="modified"`` in the dataset's
``DatasetInfo``, which the runner stores with every result.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Environment variable naming the folder that holds ``cifar-10-batches-py/``.
ENV_VAR = "PRUNESTAB_DATA"

BASE_FOLDER = "cifar-10-batches-py"

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))

TEST_FILE = "test_batch"

META_FILE = "batches.meta"

FILES = (*TRAIN_FILES, TEST_FILE, META_FILE)


class DataNotFoundError(RuntimeError):
    """CIFAR-10 is not where we looked; ``str(err)`` tells the user how to provide it.

    Raised by :func:`locate` and ``prunestab.data.cifar10.load_cifar10``.

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


def read_split(folder: Path, names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of the batch files ``names`` in ``folder``, in file order.

    Args:
        folder: the ``cifar-10-batches-py`` folder (files checked by :func:`verify_checksums`).
        names: its batch files, e.g. :data:`TRAIN_FILES` or ``(TEST_FILE,)``.

    Returns:
        uint8 images ``[N, 3, 32, 32]`` and int64 labels ``[N]``, on the CPU.

    Raises:
        FileNotFoundError: a file is missing (use :func:`locate` first).
    """
    batches = [_unpickle(folder / name) for name in names]
    data = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
    labels = np.concatenate([np.asarray(b["labels"], dtype=np.int64) for b in batches])
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32))
    return images, torch.from_numpy(labels)
