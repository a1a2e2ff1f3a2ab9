"""The full result of two smoke runs, pinned: refactoring the loop must not change a number.

A pruning run (E[BN] prune_L) and a noise run (Zeroing held for 4 steps), each with every
per-epoch and per-event record, trained in float64 on the tiny fake CIFAR-10, compared
with ``tests/data/pinned_runs.json``: integers, labels and units exactly, floats to
1e-9 (float64 reductions may round differently on another CPU's vector width).
Regenerate the file only for a change that is meant to alter results, and say so in the
commit: ``PRUNESTAB_PIN=1 python -m pytest tests/test_pinned_run.py``.
"""

import json
import os
from pathlib import Path

import pytest

from prunestab.config import DataConfig, NoiseConfig, OptimizerConfig, PruningConfig, RunConfig
from prunestab.schedule import PruningSchedule
from prunestab.training.loop import train_run

PINNED = Path(__file__).parent / "data" / "pinned_runs.json"
SCHEDULE = PruningSchedule((1, 2, 1, 2), (3, 3, 3, 4), (0.3, 0.3, 0.3, 0.9), 2)
BASE = RunConfig(
    "vgg11",
    epochs=6,
    width=0.125,
    data=DataConfig(train_subset=200, test_subset=100, train_eval_images=50),
    optimizer=OptimizerConfig(batch_size=50, lr_milestones=(4,)),
)
RUNS = {
    "ebn_prune_L": BASE.replace(pruning=PruningConfig(SCHEDULE, score="ebn", target="largest")),
    "zeroing4": BASE.replace(
        pruning=PruningConfig(SCHEDULE, score="l2", target="largest", mask_batchnorm=False),
        noise=NoiseConfig("zeroing", 4),
    ),
}


def _records(result: dict) -> dict:
    return {key: result[key] for key in ("epochs", "events", "summary")}


def _assert_same(actual, expected, where="result"):
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), where
        for key in expected:
            _assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9, nan_ok=True), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("name", RUNS)
def test_smoke_runs_reproduce_their_pinned_records(name, tiny, float64):
    result = json.loads(json.dumps(_records(train_run(RUNS[name], tiny, progress=False))))
    if os.environ.get("PRUNESTAB_PIN"):
        pinned = json.loads(PINNED.read_text()) if PINNED.exists() else {}
        PINNED.write_text(json.dumps(pinned | {name: result}, indent=1))
    _assert_same(result, json.loads(PINNED.read_text())[name])
