"""A run's JSON outcomes: its result and its probe, written once and read checked.

``result.json`` is the completed run and ``probe.json`` the measurements of its final
weights (``prunestab.training.probe``). Each is written once and never overwritten (``link``
fails if the file exists), and each records its config's full hash, which every read
checks: a truncated file, or another run's file copied into this folder, is an error
naming it, and nothing deletes or replaces it, since silently recomputing would hide
whatever damaged it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prunestab.store.files import ResultExistsError, access_error, read_json, write_once
from prunestab.store.folder import RESULT_FILE, RunFolder


class CorruptResultError(ValueError):
    """A ``result.json`` that does not parse, or that records another config's hash than
    its folder's: it does not count as done, and nothing deletes or replaces it."""


def _load_checked(path: Path, digest: str, kind: str, redo: str) -> Any:
    """The JSON file at ``path`` (a result or a probe), or ``None`` if there is none;
    :class:`CorruptResultError` naming the file if it does not parse or records another
    hash than ``digest``. Nothing is deleted or replaced."""
    try:
        if not path.exists():
            return None
        data = read_json(path)
    except PermissionError:  # a shared store's folder that another user keeps to itself
        raise access_error(path.parent, "read") from None
    except (ValueError, UnicodeDecodeError, IsADirectoryError, RecursionError) as err:
        raise CorruptResultError(
            f"{path} is not a readable {kind} ({err}); nothing was deleted. Move it "
            f"aside (or restore it, e.g. with git checkout) to {redo}"
        ) from None
    found = data.get("hash") if isinstance(data, dict) else None
    if found != digest:
        raise CorruptResultError(
            f"{path} records hash {found!r}, not its folder's config hash {digest}: "
            f"it is not this run's {kind}; nothing was deleted. Move it aside (or "
            f"restore it) to {redo}"
        )
    return data


def save_result(folder: RunFolder, result: dict[str, Any]) -> Path:
    """Write ``result`` as the run's ``result.json``, once.

    Call it while holding the run (``RunStore.lock``): the lease is what makes
    check-then-write safe between processes.

    Args:
        folder: the run; its folder is created if needed.
        result: a JSON-serialisable dict with a ``"config"`` key (the runner's record of
            the config; its content is not checked here) and ``"hash"``, the run's full
            hash, which :func:`load_result` checks.

    Returns:
        The path of ``result.json``.

    Raises:
        ValueError: ``result`` is not a dict with a ``"config"`` key, or is not
            JSON-serialisable; no file is written.
        ResultExistsError: the run already has a result, which is left as it was.

    >>> import tempfile
    >>> from prunestab.config import RunConfig
    >>> folder = RunFolder.of(tempfile.mkdtemp(), RunConfig("conv4", epochs=2))
    >>> result = {"config": folder.config.to_dict(), "hash": folder.digest, "acc": 0.5}
    >>> save_result(folder, result) == folder.result_file
    True
    >>> load_result(folder)["acc"]
    0.5
    """
    if not isinstance(result, dict) or "config" not in result:
        raise ValueError(
            f"result must be a dict with a 'config' key; got {type(result).__name__}"
            + (f" with keys {sorted(result)}" if isinstance(result, dict) else "")
        )
    path = folder.result_file
    if path.exists():
        raise ResultExistsError(
            f"{path} already exists; a completed result is never overwritten "
            "(delete the file by hand to recompute)"
        )
    folder.create()
    try:
        text = json.dumps(result, indent=1).encode()
    except TypeError as err:
        raise ValueError(f"result for {path} is not JSON-serialisable: {err}") from err
    write_once(path, text)
    return path


def load_result(folder: RunFolder) -> dict[str, Any] | None:
    """The run's completed result, or ``None`` if it has not completed.

    Args:
        folder: the run.

    Returns:
        The parsed ``result.json``, or ``None`` when there is none.

    Raises:
        CorruptResultError: the file does not parse (truncated, damaged) or records
            another hash than the run's. The message names the file and what to do;
            nothing is deleted.
    """
    return _load_checked(folder.result_file, folder.digest, "result", "recompute the run")


def save_probe(folder: RunFolder, probe: dict[str, Any]) -> Path:
    """Write ``probe`` as the run's ``probe.json``, once (compact JSON).

    Args:
        folder: the run; its folder is created if needed.
        probe: ``prunestab.training.probe.measure``'s measurements of the run's final weights,
            with ``"hash"``, the run's full hash, which :func:`load_probe` checks.

    Returns:
        The path of ``probe.json``.

    Raises:
        ResultExistsError: the run already has a probe, which is left as it was.
        TypeError: ``probe`` is not JSON-serialisable; nothing is written.
    """
    path = folder.probe_file
    if path.exists():
        raise ResultExistsError(f"{path} already exists; a stored probe is never overwritten")
    folder.create()
    write_once(path, json.dumps(probe, indent=None, separators=(",", ":")).encode())
    return path


def load_probe(folder: RunFolder) -> dict[str, Any] | None:
    """The run's stored probe, or ``None`` if there is none.

    Raises:
        CorruptResultError: the file does not parse or records another hash than the
            run's (the message names the file; nothing is deleted).
    """
    return _load_checked(folder.probe_file, folder.digest, "probe", "measure it again")


def iter_results(root: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every completed result in the store at ``root``, in order of folder name.

    Results are parsed, not checked against their folder (a query reads many).

    Args:
        root: the store's folder; one that does not exist holds no results.

    Raises:
        ValueError: a ``result.json`` is not valid JSON (the message names it).
    """
    root = Path(root)
    if not root.is_dir():
        return
    for path in sorted(root.glob(f"*/{RESULT_FILE}")):
        yield read_json(path)


def find(
    root: str | os.PathLike[str],
    predicate: Callable[[dict[str, Any]], bool] | None = None,
    **equal: Any,
) -> list[dict[str, Any]]:
    """Completed results in the store at ``root`` whose ``result["config"]`` matches.

    Args:
        root: the store's folder.
        predicate: if given, called with each whole result; it must also return true.
        **equal: a key of the config dict, or a dotted path into it, with the value it
            must equal: ``find(root, model="vgg11", **{"pruning.target": "largest"})``.
            Values are compared as JSON (a tuple matches the list it is stored as). A
            run whose path passes through ``None`` (``pruning.target`` of an unpruned
            run) does not match.

    Returns:
        The matching results, in order of folder name.

    Raises:
        KeyError: a key the config does not have, so a typo is not an empty answer.

    >>> import tempfile
    >>> from prunestab.config import RunConfig
    >>> folder = RunFolder.of(tempfile.mkdtemp(), RunConfig("conv4", epochs=2))
    >>> _ = save_result(folder, {"config": folder.config.to_dict(), "hash": folder.digest})
    >>> len(find(folder.path.parent, model="conv4")), len(find(folder.path.parent, epochs=3))
    (1, 0)
    """
    wanted = {key: json.loads(json.dumps(value)) for key, value in equal.items()}
    matches = []
    for result in iter_results(root):
        config = result["config"]
        if all(_lookup(config, key) == (True, value) for key, value in wanted.items()):
            if predicate is None or predicate(result):
                matches.append(result)
    return matches


def _lookup(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    """Follow ``a.b.c`` into nested dicts: ``(found, value)``.

    A step through ``None`` (e.g. ``pruning.target`` of an unpruned run) is "not
    found"; a key that the dict does not have is a typo and raises ``KeyError``.
    """
    value: Any = data
    for part in dotted.split("."):
        if value is None:
            return False, None
        if not isinstance(value, dict):
            raise KeyError(f"{dotted!r}: {part!r} follows a {type(value).__name__}, not a dict")
        if part not in value:
            raise KeyError(f"{dotted!r}: no key {part!r}; allowed: {', '.join(sorted(value))}")
        value = value[part]
    return True, value
