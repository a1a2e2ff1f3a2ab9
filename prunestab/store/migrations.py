"""One-time renames of stored runs whose config names changed (never their numbers).

A run's folder is named by the hash of its config (``prunestab.config.config_hash``), so
renaming a config value renames the folder the run must be found in. Each migration
here moves the affected folders to their new names and rewrites the config inside
``config.json`` and ``result.json`` (``config``, ``hash`` and ``label``); every measured
number is left as it was. A migration is idempotent: folders already migrated, or
unaffected, are left alone.

``python -m prunestab.store.migrations STORE`` applies every migration to a store.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from prunestab.config import RunConfig
from prunestab.store.files import write_json_atomic
from prunestab.store.folder import CONFIG_FILE, RESULT_FILE, RunFolder

_OLD_DECILE = re.compile(r"^decile(\d+)$")


def _new_decile_target(old: str) -> str:
    """The new name of an old decile target (A.3.2): ``decileJ`` (J = 1..9) started at
    the 10(J-1)-th percentile and is now ``percentile{10 (J-1)}`` (the paper's D(J-1));
    ``decile10`` pruned the largest units and is now ``largest`` (the paper's D10)."""
    j = int(_OLD_DECILE.match(old).group(1))
    return "largest" if j == 10 else f"percentile{10 * (j - 1)}"


def _new_label(label: str, old_target: str) -> str:
    """``label`` with the old target's ``DJ`` renamed as :func:`_new_decile_target` does."""
    j = int(_OLD_DECILE.match(old_target).group(1))
    new = 10 if j == 10 else j - 1
    return re.sub(rf"\bD{j}\b", f"D{new}", label)


def migrate_decile_targets(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Rename every stored run whose ``pruning.target`` is an old ``decileJ``.

    ``decileJ`` (J = 1..9) becomes ``percentile{10 (J-1)}`` and ``decile10`` becomes
    ``largest``; the label's ``DJ`` follows. Folders move in two steps (all to a
    temporary name, then to their final one), because an old name can be another run's
    new name. Idempotent: a store with no old target is left alone.

    Args:
        root: the run store's folder.

    Returns:
        ``(old folder, new folder)`` names of the runs moved, in order of old name.

    Raises:
        FileExistsError: a folder's new name already holds a result of another run;
            raised before anything is moved.

    >>> import tempfile
    >>> migrate_decile_targets(tempfile.mkdtemp())
    []
    """
    root = Path(root)
    plans: list[tuple[Path, RunFolder]] = []
    for folder in sorted(root.glob("*-*")):
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            continue
        stored = json.loads(config_path.read_text())
        pruning = stored.get("pruning") or {}
        target = pruning.get("target", "")
        if not _OLD_DECILE.match(str(target)):
            continue
        fields = {k: v for k, v in stored.items() if k != "hash"}
        fields["pruning"] = dict(pruning, target=_new_decile_target(target))
        fields["label"] = _new_label(stored.get("label", ""), target)
        plans.append((folder, RunFolder.of(root, RunConfig.from_dict(fields))))
    moving = {old for old, _ in plans}
    for old, new in plans:
        if new.result_file.exists() and new.path not in moving:
            raise FileExistsError(f"{new.path} already holds a result; {old} cannot move there")
    staged = []
    for old, new in plans:
        temporary = old.with_name(old.name + ".migrating")
        old.rename(temporary)
        staged.append((old, temporary, new))
    for _, temporary, new in staged:
        _rewrite(temporary, new)
        temporary.rename(new.path)
    return [(old.name, new.path.name) for old, _, new in staged]


def _rewrite(folder: Path, new: RunFolder) -> None:
    """Rewrite ``config.json`` and ``result.json`` in ``folder`` for ``new``'s config
    (``config``, ``hash`` and ``label``); every other field is kept."""
    config = new.config
    write_json_atomic(folder / CONFIG_FILE, config.to_dict() | {"hash": new.digest})
    result_path = folder / RESULT_FILE
    if result_path.is_file():
        result = json.loads(result_path.read_text())
        result["config"] = config.to_dict()
        result["hash"] = new.digest
        result["label"] = config.display_label()
        write_json_atomic(result_path, result)


#: Every migration, in the order they are applied.
MIGRATIONS = (migrate_decile_targets,)


def main(argv: list[str] | None = None) -> int:
    """``python -m prunestab.store.migrations STORE``: apply every migration to a store.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``): one,
            the store's folder.

    Returns:
        The exit status: 0, or 2 (with a usage line on stderr) for other arguments.

    Raises:
        FileExistsError: as :func:`migrate_decile_targets`.

    >>> import tempfile
    >>> main([tempfile.mkdtemp()])
    migrate_decile_targets: 0 run(s) renamed
    0
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m prunestab.store.migrations STORE", file=sys.stderr)
        return 2
    for migration in MIGRATIONS:
        moved = migration(args[0])
        print(f"{migration.__name__}: {len(moved)} run(s) renamed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
