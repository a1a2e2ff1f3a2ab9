"""Get a run's result: from the store if it was computed, else compute it (resuming).

``execute`` is the one path from a config to a stored result, used by the CLI, the
sweeps and the notebooks:

1. a completed result in the store is returned as is (nothing is computed twice);
2. otherwise the run's lock is taken (two processes never write one run at once), the
   last checkpoint, if any, is loaded, training continues from it, and the result is
   written atomically; the checkpoint is then removed.

A failed or interrupted run leaves its last checkpoint and never a partial result.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from prunestab.config import RunConfig, config_hash
from prunestab.data import CIFAR10, load_cifar10
from prunestab.store import RunStore
from prunestab.train import train_run


class DataCache:
    """Loaded datasets by (root, data config, device), shared by the runs of a sweep."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = root
        self._loaded: dict[tuple, CIFAR10] = {}

    def get(self, config: RunConfig) -> CIFAR10:
        key = (str(self.root), config.data, config.device)
        if key not in self._loaded:
            self._loaded[key] = load_cifar10(self.root, config=config.data, device=config.device)
        return self._loaded[key]


def environment() -> dict[str, Any]:
    """Software and hardware that produced a result."""
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
    }
    if torch.cuda.is_available():
        env["cuda_device"] = torch.cuda.get_device_name()
    return env


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def json_safe(value: Any) -> Any:
    """NaN/inf floats become ``None`` so result files are strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def execute(
    config: RunConfig,
    store: RunStore,
    data: CIFAR10 | DataCache | None = None,
    *,
    profile: str | None = None,
    progress: bool | None = None,
    checkpoint_interval_s: float = 60.0,
    keep_model: bool = False,
    on_epoch_end=None,
) -> dict:
    """The stored result of ``config``, computing (or resuming) it if needed.

    ``data``: a loaded dataset, a :class:`DataCache`, or ``None`` to load from the default
    place. ``profile`` is recorded in the result. ``keep_model`` also saves the final
    weights as ``model.pt`` beside the result (Figure A1 needs a trained VGG19).
    """
    done = store.load(config)
    if done is not None:
        return done
    with store.lock(config):
        done = store.load(config)
        if done is not None:
            return done
        if data is None:
            data = DataCache()
        dataset = data.get(config) if isinstance(data, DataCache) else data
        resume = store.load_checkpoint(config)
        outcome = train_run(
            config,
            dataset,
            resume=resume,
            checkpoint=lambda state: store.save_checkpoint(config, state),
            checkpoint_interval_s=checkpoint_interval_s,
            progress=progress,
            on_epoch_end=on_epoch_end,
        )
        model_state = outcome.pop("model_state")
        result = {
            "config": config.to_dict(),
            "hash": config_hash(config),
            "label": config.display_label(),
            "profile": profile,
            "dataset": dataset.info.to_dict(),
            "device": str(dataset.device),
            "environment": environment(),
            "resumed_from_epoch": resume["epoch"] if resume is not None else None,
            **outcome,
        }
        if keep_model:
            store.save_model(config, model_state)
        store.save_result(config, json_safe(result))
        store.clear_checkpoint(config)
        return store.load(config)
