"""One-time renames of stored runs whose config names changed (never their numbers).

A run's folder is named by the hash of its config (``prunestab.config.config_hash``), so
renaming a config value renames the folder the run must be found in. Each migration
here moves the affected folders to their new names and rewrites the config inside
``config.json`` and ``result.json`` (``config``, ``hash`` and ``label``); every measured
number is left as it was. A migration is idempotent: folders already migrated, or
unaffected, are left alone.

``python -m prunestab.migrations STORE`` applies every migration to a store.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from prunestab.config import RunConfig, config_hash
from prunestab.store import CONFIG_FILE, RESULT_FILE, write_json_atomic

_OLD_DECILE = re.compile(r"^decile(\d+)$")


def _new_decile_target(old: str) -> str:
    """2026-11 rename (A.3.2): ``decileJ`` (J = 1..9) started at the 10(J-1)-th
    percentile and is now ``percentile{10 (J-1)}`` (the paper's D(J-1)); ``decile10``
    pruned the largest units and is now ``largest`` (the paper's D10)."""
    j = int(_OLD_DECILE.match(old).group(1))
    return "largest" if j == 10 else f"percentile{10 * (j - 1)}"


def _new_label(label: str, old_target: str) -> str:
    j = int(_OLD_DECILE.match(old_target).group(1))
    new = 10 if j == 10 else j - 1
    return re.sub(rf"\bD{j}\b", f"D{new}", label)


def migrate_decile_targets(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Rename every stored run whose ``pruning.target`` is an old ``decileJ``.

    Returns ``(old folder, new folder)`` names. Folders move in two steps (all to a
    temporary name, then to their final one), because an old name can be another run's
    new name. A folder whose new name already holds a result raises ``FileExistsError``
    before anything is moved.
    """
    root = Path(root)
    plans: list[tuple[Path, Path, dict[str, Any]]] = []
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
        config = RunConfig.from_dict(fields)
        plans.append((folder, root / f"{config.model}-{config_hash(config)[:16]}", fields))
    moving = {old for old, _, _ in plans}
    for old, new, _ in plans:
        if (new / RESULT_FILE).exists() and new not in moving:
            raise FileExistsError(f"{new} already holds a result; {old} cannot move there")
    staged = []
    for old, new, fields in plans:
        temporary = old.with_name(old.name + ".migrating")
        old.rename(temporary)
        staged.append((old, temporary, new, fields))
    for _, temporary, new, fields in staged:
        config = RunConfig.from_dict(fields)
        digest = config_hash(config)
        write_json_atomic(temporary / CONFIG_FILE, config.to_dict() | {"hash": digest})
        result_path = temporary / RESULT_FILE
        if result_path.is_file():
            result = json.loads(result_path.read_text())
            result["config"] = config.to_dict()
            result["hash"] = digest
            result["label"] = config.display_label()
            write_json_atomic(result_path, result)
        temporary.rename(new)
    return [(old.name, new.name) for old, _, new, _ in staged]


MIGRATIONS = (migrate_decile_targets,)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m prunestab.migrations STORE", file=sys.stderr)
        return 2
    for migration in MIGRATIONS:
        moved = migration(args[0])
        print(f"{migration.__name__}: {len(moved)} run(s) renamed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
