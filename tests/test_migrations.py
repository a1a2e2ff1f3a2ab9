"""The one-time rename of Figure 2's decile targets moves stored runs, numbers untouched."""

import hashlib
import json

from prunestab.config import PruningConfig, RunConfig
from prunestab.schedule import PruningSchedule
from prunestab.store import RunStore, write_json_atomic
from prunestab.store.migrations import main, migrate_decile_targets

SCHEDULE = PruningSchedule((4,), (52,), (0.1,), 3)


def _store_old_run(root, target: str, label: str, accuracy: float) -> str:
    """A run stored before the rename, as the old code named and hashed it."""
    config = RunConfig("conv4", epochs=60, pruning=PruningConfig(SCHEDULE, target="largest"))
    fields = config.to_dict() | {"label": label}
    fields["pruning"]["target"] = target
    hashed = {k: v for k, v in fields.items() if k not in ("device", "label")}
    text = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()
    folder = root / f"conv4-{digest[:16]}"
    folder.mkdir(parents=True)
    write_json_atomic(folder / "config.json", fields | {"hash": digest})
    result = {"config": fields, "hash": digest, "label": label, "summary": {"acc": accuracy}}
    write_json_atomic(folder / "result.json", result)
    return folder.name


def test_old_decile_runs_are_found_under_their_new_targets(tmp_path):
    d5 = _store_old_run(tmp_path, "decile6", "structured D6", 61.5)
    d10 = _store_old_run(tmp_path, "decile10", "structured D10", 58.0)
    moved = dict(migrate_decile_targets(tmp_path))
    assert set(moved) == {d5, d10}
    store = RunStore(tmp_path)
    base = RunConfig("conv4", epochs=60)
    for target, label, accuracy in (
        ("percentile50", "structured D5", 61.5),
        ("largest", "structured D10", 58.0),
    ):
        config = base.replace(pruning=PruningConfig(SCHEDULE, target=target))
        result = store.load(config)
        assert result["summary"] == {"acc": accuracy} and result["label"] == label
        assert result["config"]["pruning"]["target"] == target
    assert migrate_decile_targets(tmp_path) == []  # idempotent
    assert main([str(tmp_path)]) == 0
