"""Runs are stored by config hash: computed once, resumed after a kill, never overwritten."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from prunestab.figures import figure_grid
from prunestab.runner import DataCache, execute
from prunestab.store import RunStore


def _smoke_config():
    grid = figure_grid("fig1", "smoke", seeds=1)
    return next(c for c in grid if c.model == "vgg11" and c.label == "prune_L 13%")


def test_a_run_is_written_once_and_then_read_back(tmp_path, tiny_cifar):
    store, config, trained = RunStore(tmp_path), _smoke_config(), []
    data = DataCache(tiny_cifar)
    first = execute(config, store, data, profile="smoke", progress=False,
                    on_epoch_end=lambda e, r: trained.append(e))  # fmt: skip
    assert trained == list(range(config.epochs))
    assert first["profile"] == "smoke" and first["dataset"]["variant"] == "modified"
    assert not store.checkpoint_path(config).exists()
    again = execute(config, store, data, on_epoch_end=lambda e, r: trained.append(e))
    assert trained == list(range(config.epochs))  # nothing was recomputed
    assert again == first
    assert json.loads(store.result_path(config).read_text())["summary"] == first["summary"]


def test_a_failing_run_keeps_its_checkpoint_and_resumes_to_the_same_result(tmp_path, tiny_cifar):
    config, data = _smoke_config(), DataCache(tiny_cifar)
    reference = execute(config, RunStore(tmp_path / "a"), data, progress=False)

    def crash(epoch, record):
        if epoch == 3:
            raise KeyboardInterrupt

    store = RunStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        execute(config, store, data, progress=False, checkpoint_interval_s=0, on_epoch_end=crash)
    assert store.load(config) is None and store.checkpoint_path(config).exists()
    resumed = execute(config, store, data, progress=False)
    assert resumed["resumed_from_epoch"] == 3
    assert resumed["epochs"] == reference["epochs"]
    assert resumed["events"] == reference["events"]


def test_a_killed_process_resumes(tmp_path, tiny_cifar):
    """SIGKILL mid-run (no cleanup at all), then the run finishes from its checkpoint."""
    config = _smoke_config()
    store = RunStore(tmp_path)
    child = textwrap.dedent(f"""
        import time
        from prunestab.config import RunConfig
        from prunestab.runner import DataCache, execute
        from prunestab.store import RunStore
        config = RunConfig.from_dict({config.to_dict()!r})
        execute(config, RunStore({str(tmp_path)!r}), DataCache({str(tiny_cifar)!r}),
                progress=False, checkpoint_interval_s=0,
                on_epoch_end=lambda e, r: time.sleep(0.5 if e >= 2 else 0))
    """)
    proc = subprocess.Popen([sys.executable, "-c", child])
    deadline = time.monotonic() + 120
    while not store.checkpoint_path(config).exists():
        assert proc.poll() is None, "the child finished or failed before checkpointing"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.load(config) is None
    result = execute(config, store, DataCache(tiny_cifar), progress=False)
    assert result["resumed_from_epoch"] is not None and result["resumed_from_epoch"] > 0
    assert len(result["epochs"]) == config.epochs


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_the_cuda_path_matches_the_cpu_path(tmp_path, tiny_cifar):
    config = _smoke_config().replace(precision="fp32")  # "auto" would be bf16 on the GPU
    cpu = execute(config, RunStore(tmp_path / "cpu"), DataCache(tiny_cifar), progress=False)
    gpu = execute(config.replace(device="cuda"), RunStore(tmp_path / "gpu"), DataCache(tiny_cifar),
                  progress=False)  # fmt: skip
    assert gpu["device"].startswith("cuda")
    first = [r["train_loss"] for r in cpu["epochs"]][:2]
    assert [r["train_loss"] for r in gpu["epochs"]][:2] == pytest.approx(first, rel=1e-3)
