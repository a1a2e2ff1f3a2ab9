import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from prunestab.config import PruningConfig, RunConfig, config_hash
from prunestab.schedule import PruningSchedule
from prunestab.store import CorruptResultError, RunLockedError, RunStore, write_json_atomic

REPO = Path(__file__).resolve().parents[1]
CONFIG = RunConfig(model="conv4", epochs=2)


def result_for(config: RunConfig, **extra) -> dict:
    return {
        "config": config.to_dict(),
        "hash": config_hash(config),
        "test_accuracy": [0.5, 0.6],
    } | extra


def pruned(target: str, seed: int = 0) -> RunConfig:
    schedule = PruningSchedule(
        start_epochs=(0,), end_epochs=(0,), fractions=(0.1,), retrain_period=1
    )
    return RunConfig(
        model="conv4", epochs=2, seed=seed, pruning=PruningConfig(schedule, target=target)
    )


def test_run_dir_is_named_by_model_and_hash_and_ignores_device_and_label(tmp_path):
    store = RunStore(tmp_path)
    run_dir = store.run_dir(CONFIG)
    assert run_dir == tmp_path / f"conv4-{config_hash(CONFIG)[:16]}"
    assert store.run_dir(RunConfig(model="conv4", epochs=2)) == run_dir
    assert store.run_dir(CONFIG.replace(seed=1)) != run_dir
    assert store.run_dir(CONFIG.replace(device="cuda")) == run_dir
    assert store.run_dir(CONFIG.replace(label="Figure 4 name")) == run_dir
    assert store.result_path(CONFIG) == run_dir / "result.json"
    assert store.checkpoint_path(CONFIG) == run_dir / "checkpoint.pt"


def test_each_operation_hashes_its_config_once(tmp_path, monkeypatch):
    """Every path of a run comes from one ``RunFolder``, built from one hash per call."""
    import prunestab.store.folder as store_folder

    hashed = []
    real_hash = store_folder.config_hash
    monkeypatch.setattr(store_folder, "config_hash", lambda c: hashed.append(c) or real_hash(c))
    store = RunStore(tmp_path)

    def locked():
        with store.lock(CONFIG):
            pass

    operations = {
        "run_dir": lambda: store.run_dir(CONFIG),
        "lock": locked,
        "beat": lambda: store.beat(CONFIG, 0),
        "lease_holder": lambda: store.lease_holder(CONFIG),
        "lease_taker": lambda: store.lease_taker(CONFIG),
        "mark_queued": lambda: store.mark_queued(CONFIG, {"job": "1"}),
        "queued": lambda: store.queued(CONFIG),
        "record_failure": lambda: store.record_failure(CONFIG, {"error": "x"}),
        "failures": lambda: store.failures(CONFIG),
        "save_checkpoint": lambda: store.save_checkpoint(CONFIG, {"epoch": 1}),
        "load_checkpoint": lambda: store.load_checkpoint(CONFIG),
        "clear_checkpoint": lambda: store.clear_checkpoint(CONFIG),
        "save_model": lambda: store.save_model(CONFIG, {"w": torch.ones(1)}),
        "load_model": lambda: store.load_model(CONFIG),
        "save_result": lambda: store.save_result(CONFIG, result_for(CONFIG)),
        "load": lambda: store.load(CONFIG),
        "is_complete": lambda: store.is_complete(CONFIG),
        "save_probe": lambda: store.save_probe(CONFIG, {"hash": config_hash(CONFIG)}),
        "load_probe": lambda: store.load_probe(CONFIG),
    }
    for name, operation in operations.items():
        hashed.clear()
        operation()
        assert hashed == [CONFIG], name


def test_root_is_created_lazily(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert store.load(CONFIG) is None
    assert not store.is_complete(CONFIG)
    assert list(store.iter_results()) == []
    assert not (tmp_path / "runs").exists()


def test_save_result_then_load_roundtrips_nan_included(tmp_path):
    store = RunStore(tmp_path)
    result = result_for(CONFIG, diverged_loss=float("nan"))
    path = store.save_result(CONFIG, result)
    assert path == store.result_path(CONFIG)
    assert store.is_complete(CONFIG)
    assert store.is_complete(CONFIG.replace(device="cuda"))
    loaded = store.load(CONFIG)
    assert loaded["test_accuracy"] == [0.5, 0.6]
    assert loaded["config"] == json.loads(json.dumps(CONFIG.to_dict()))
    assert loaded["diverged_loss"] != loaded["diverged_loss"]  # NaN survives as NaN


def test_a_saved_result_is_never_overwritten(tmp_path):
    store = RunStore(tmp_path)
    store.save_result(CONFIG, result_for(CONFIG))
    before = store.result_path(CONFIG).read_bytes()
    with pytest.raises(ValueError, match="already exists"):
        store.save_result(CONFIG, result_for(CONFIG, test_accuracy=[0.9]))
    assert store.result_path(CONFIG).read_bytes() == before


def test_save_result_requires_a_serialisable_dict_with_config(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="'config'"):
        store.save_result(CONFIG, {"test_accuracy": 0.5})
    with pytest.raises(ValueError, match="JSON-serialisable"):
        store.save_result(CONFIG, result_for(CONFIG, model=torch.nn.Linear(1, 1)))
    assert not store.is_complete(CONFIG)
    assert list(store.run_dir(CONFIG).iterdir()) == []


def test_failed_atomic_write_leaves_old_file_and_no_temp_files(tmp_path):
    path = tmp_path / "data.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": 2, "b": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_corrupt_result_is_an_error_naming_the_file(tmp_path):
    store = RunStore(tmp_path)
    path = store.result_path(CONFIG)
    path.parent.mkdir(parents=True)
    path.write_text('{"config": ')
    with pytest.raises(ValueError, match="result.json"):
        store.load(CONFIG)


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda text, other: text[: len(text) // 2], "not a readable result"),
        (lambda text, other: "", "not a readable result"),
        (lambda text, other: other, "records hash"),
        (lambda text, other: "[1, 2]", "records hash None"),
    ],
)
def test_a_truncated_or_foreign_result_is_never_counted_as_done(tmp_path, damage, named):
    """Every reader (load, is_complete, and through them status, sweep --list, submitit's
    "already stored" and the book's precheck) validates: a truncated file, or another
    run's result copied into this folder, is an error naming the file and what to do, and
    the file is left exactly as it was."""
    store = RunStore(tmp_path)
    store.save_result(CONFIG, result_for(CONFIG))
    other = json.dumps(result_for(pruned("largest")))
    path = store.result_path(CONFIG)
    damaged = damage(path.read_text(), other)
    path.unlink()
    path.write_text(damaged)
    for read in (store.load, store.is_complete):
        with pytest.raises(CorruptResultError, match=f"{named}.*nothing was deleted") as err:
            read(CONFIG)
        assert str(path) in str(err.value) and "Move it aside" in str(err.value)
    assert path.read_text() == damaged


def test_lock_writes_a_self_describing_config_json_and_is_released(tmp_path):
    store = RunStore(tmp_path)
    with store.lock(CONFIG) as run_dir:
        assert run_dir == store.run_dir(CONFIG)
        described = json.loads((run_dir / "config.json").read_text())
        assert described["hash"] == config_hash(CONFIG)
        assert RunConfig.from_dict({k: v for k, v in described.items() if k != "hash"}) == CONFIG
        with pytest.raises(RunLockedError, match="right now"):
            with store.lock(CONFIG):
                pass
    with store.lock(CONFIG):
        pass


def test_lock_is_released_when_the_body_raises(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(KeyError):
        with store.lock(CONFIG):
            raise KeyError("training failed")
    with store.lock(CONFIG):
        pass


HOLD_LOCK = """
import sys
from prunestab.config import RunConfig
from prunestab.store import RunStore
with RunStore(sys.argv[1]).lock(RunConfig(model="conv4", epochs=2)):
    print("locked", flush=True)
    sys.stdin.read()
"""


def _holding(store_root, env=None) -> subprocess.Popen:
    """Another process holding CONFIG's run in ``store_root`` until its stdin closes."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store_root)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_lock_held_by_another_process_raises_run_locked_error(tmp_path):
    store = RunStore(tmp_path)
    holder = _holding(tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError) as raised:
            with store.lock(CONFIG):
                pass
        assert str(store.run_dir(CONFIG)) in str(raised.value)
        assert f"pid {holder.pid}" in str(raised.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0
    with store.lock(CONFIG):
        pass


def test_a_hung_holder_on_this_host_is_taken_over_after_its_ttl(tmp_path):
    """A holder stopped (SIGSTOP: alive, but neither training nor beating) keeps no
    lock the kernel would hold for it: its lease goes stale and is taken over after the
    TTL and the watch (here 1 s and 2 x 0.25 s), on this host as on another."""
    import os
    import signal
    import time

    holder = _holding(tmp_path, os.environ | {"PRUNESTAB_LEASE_TTL_S": "1"})
    try:
        assert holder.stdout.readline().strip() == "locked"
        store = RunStore(tmp_path, lease_ttl_s=1.0)
        with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
            with store.lock(CONFIG):
                pass
        holder.send_signal(signal.SIGSTOP)
        time.sleep(1.5)  # its heartbeat is now older than the TTL
        started = time.monotonic()
        with store.lock(CONFIG):
            assert store.lease_holder(CONFIG).pid == os.getpid()
        assert time.monotonic() - started < 5
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_filesystem_without_flock_still_runs(tmp_path, monkeypatch):
    """Lustre mounted ``noflock`` answers flock with ENOSYS: the store must not need it."""
    import errno
    import fcntl

    def no_flock(*args):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    monkeypatch.setattr(fcntl, "lockf", no_flock)
    store = RunStore(tmp_path)
    with store.lock(CONFIG):
        store.save_result(CONFIG, {"config": CONFIG.to_dict(), "hash": config_hash(CONFIG)})
    assert store.is_complete(CONFIG)


def test_checkpoint_roundtrips_with_weights_only(tmp_path):
    store = RunStore(tmp_path)
    assert store.load_checkpoint(CONFIG) is None
    state = {
        "epoch": 3,
        "model": {"weight": torch.randn(4, 3), "mask": torch.ones(4, dtype=torch.bool)},
        "history": {"test_accuracy": [0.1, 0.25], "events": [{"epoch": 1, "removed": 2}]},
        "rng": torch.get_rng_state(),
    }
    store.save_checkpoint(CONFIG, state)
    store.save_checkpoint(CONFIG, state | {"epoch": 4})
    loaded = store.load_checkpoint(CONFIG)
    assert loaded["epoch"] == 4
    assert torch.equal(loaded["model"]["weight"], state["model"]["weight"])
    assert torch.equal(loaded["model"]["mask"], state["model"]["mask"])
    assert loaded["history"] == state["history"]
    assert torch.equal(loaded["rng"], state["rng"])
    assert [p.name for p in store.run_dir(CONFIG).iterdir()] == ["checkpoint.pt"]
    store.clear_checkpoint(CONFIG)
    store.clear_checkpoint(CONFIG)
    assert store.load_checkpoint(CONFIG) is None


def test_iter_results_and_find_filter_by_dotted_keys(tmp_path):
    store = RunStore(tmp_path)
    configs = [CONFIG, pruned("largest"), pruned("largest", seed=1), pruned("smallest")]
    for config in configs:
        store.save_result(config, result_for(config))
    assert len(list(store.iter_results())) == 4
    largest = store.find(**{"pruning.target": "largest"})
    assert sorted(r["config"]["seed"] for r in largest) == [0, 1]
    assert len(store.find(model="conv4")) == 4
    assert len(store.find(model="vgg11")) == 0
    assert len(store.find(**{"pruning.schedule.fractions": (0.1,)})) == 3
    assert len(store.find(lambda r: r["config"]["seed"] == 1, model="conv4")) == 1
    with pytest.raises(KeyError, match="tagret"):
        store.find(**{"pruning.tagret": "largest"})


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_stored_files_follow_the_umask_so_a_group_can_share_a_store(tmp_path, umask):
    """Stored files get the mode a plain ``open`` gives (``0o666`` less the umask), not
    the 0600 of temporary files, which would lock a lab's group-shared store to its
    writer."""
    import os
    import stat

    old = os.umask(umask)
    try:
        store = RunStore(tmp_path / "store")
        with store.lock(CONFIG):
            store.save_result(CONFIG, result_for(CONFIG))
        write_json_atomic(tmp_path / "store" / "claims.json", {"a": 1})
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    for path in (
        store.result_path(CONFIG),
        store.config_path(CONFIG),
        tmp_path / "store" / "claims.json",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path.name


def test_the_write_check_is_not_fooled_by_a_twin_with_the_same_pid(tmp_path, monkeypatch):
    """Issue 35, item 8: two processes with one pid (two containers on a shared store)
    checked the store at once; the probe file was named by pid alone, so one removed
    the other's and the other reported "not writable". The twin here is a second
    check from this very process (the same pid), run between the first check's write
    and its removal."""
    import pathlib

    from prunestab.store import files

    real, twins = pathlib.Path.write_bytes, []

    def write_then_the_twin_checks(self, data):
        written = real(self, data)
        if self.name.startswith(".write-probe") and not twins:
            twins.append(self)
            files.check_writable(self.parent)  # the twin: the same pid, its own probe
        return written

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_then_the_twin_checks)
    files.check_writable(tmp_path / "store")
    assert twins and list((tmp_path / "store").iterdir()) == []


def test_a_holder_whose_clock_runs_ahead_is_not_said_to_be_computing_now(tmp_path):
    """Issue 35, item 10: a holder on another host whose heartbeat is stamped ahead of
    this machine's clock may be dead; the message says so, not "computing right now"."""
    import time

    from prunestab.store.lease import LEASE_FILE, Holder

    store, config = RunStore(tmp_path), CONFIG
    ahead = time.time() + 3_600
    holder = Holder("old", "node-elsewhere", 4242, None, ahead, ahead)
    folder = store.folder(config).create()
    (folder / LEASE_FILE).write_text(json.dumps(holder.__dict__))
    with pytest.raises(RunLockedError) as raised, store.lock(config):
        pass
    message = str(raised.value)
    assert "right now" not in message and "ahead of this machine's clock" in message, message
