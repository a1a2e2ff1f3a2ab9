"""Where things are: the repository root and the default run store, defined once."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

STORE_ENV_VAR = "PRUNESTAB_STORE"


def repository_root(start: Path | None = None) -> Path | None:
    """The nearest folder up from ``start`` (default: the working directory) holding
    ``_toc.yml`` and ``notebooks/``: the prunestab repository; ``None`` outside it.

    A notebook opened from ``notebooks/`` and papermill run from the root find the same
    folder, so they share one run store.

    Args:
        start: the folder to look up from (default: the working directory).

    Returns:
        The repository's root, or ``None``.

    >>> repository_root(Path("/")) is None
    True
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def default_store_path(
    store: str | os.PathLike | None = None,
    profile: str | None = None,
    root: str | os.PathLike | None = None,
    published: Collection[str] = (),
) -> Path:
    """``store`` if given, else ``$PRUNESTAB_STORE``, else, in the repository (``root``,
    else the one around the working directory, else the working directory),
    ``results/`` for a profile in ``published`` (or none named) and ``store/<profile>/``
    for any other. A relative ``store`` is taken from ``root`` when one is given.

    Args:
        store: the store asked for (``--store``), if any.
        profile: the profile whose runs it holds, if any.
        root: the repository root (default: found from the working directory).

    Returns:
        The store's folder (not created).

    >>> default_store_path("elsewhere", "smoke", root="/repo")
    PosixPath('/repo/elsewhere')
    >>> default_store_path("elsewhere", "smoke")
    PosixPath('elsewhere')
    """
    if store is not None:
        return Path(root) / store if root is not None else Path(store)
    if os.environ.get(STORE_ENV_VAR):
        return Path(os.environ[STORE_ENV_VAR])
    root = Path(root) if root is not None else repository_root() or Path.cwd().resolve()
    if profile is None or profile in published:
        return root / "results"
    return root / "store" / profile
