"""Where things are: the repository root and the default run store, defined once."""

from __future__ import annotations

import os
from pathlib import Path

STORE_ENV_VAR = "PRUNESTAB_STORE"


def repository_root(start: Path | None = None) -> Path | None:
    """The nearest folder up from ``start`` (default: the working directory) holding
    ``_toc.yml`` and ``notebooks/``: the prunestab repository; ``None`` outside it.

    A notebook opened from ``notebooks/`` and papermill run from the root find the same
    folder, so they share one run store.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def default_store_path(store: str | os.PathLike | None = None) -> Path:
    """``store`` if given, else ``$PRUNESTAB_STORE``, else ``results/`` in the repository
    (or in the working directory, outside a repository)."""
    if store is not None:
        return Path(store)
    if os.environ.get(STORE_ENV_VAR):
        return Path(os.environ[STORE_ENV_VAR])
    return (repository_root() or Path.cwd().resolve()) / "results"
