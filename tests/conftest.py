"""Shared fixtures: a tiny fake CIFAR-10 folder and the offline copy of the real one."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_runs import RESNET_DATA, SHORT_DATA

from prunestab.config import DataConfig
from prunestab.data.cifar10 import load_cifar10
from prunestab.data.files import BASE_FOLDER, ENV_VAR, resolve_root

# The tests train tiny models (width 0.125, batches of 50), for which one thread is faster
# than torch's default of one per core: its OpenMP workers spin between the many small ops.
# On a loaded 2-core machine, tests/test_batched.py and tests/test_fast_path.py took 155 s
# of CPU with two threads and 29 s with one. Worker processes set their own.
torch.set_num_threads(1)

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PREPARE_SCRIPT = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prepare_cifar10.py"
)
OFFLINE_CACHE = Path.home() / ".cache" / "prunestab" / "offline-cifar10"


def _fake_split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    labels = np.arange(n) % len(CLASSES)
    images = rng.integers(0, 156, size=(n, 3, 32, 32), dtype=np.int64)
    images[:, 0] += 10 * labels[:, None, None]
    return images.astype(np.uint8).reshape(n, 3072), labels.tolist()


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def write_fake_cifar10(
    root: Path, train_per_class: int = 10, test_per_class: int = 5, seed: int = 0
) -> Path:
    """Write a tiny CIFAR-10 in torchvision's layout under ``root``; return ``root``.

    ``root/cifar-10-batches-py/`` gets five training batches splitting the training
    images, ``test_batch`` and ``batches.meta``, in the official pickle schema. Images are
    random uint8 with labels cycling 0..9; class ``c`` adds ``10 * c`` to the red channel,
    so the classes are weakly learnable: a few epochs of training beat chance (10%).
    The md5 checksums are of course not the official ones.
    """
    root = Path(root)
    folder = root / BASE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data, labels = _fake_split(train_per_class * len(CLASSES), rng)
    for i, part in enumerate(np.array_split(np.arange(len(labels)), 5), start=1):
        _dump(
            folder / f"data_batch_{i}",
            {
                "batch_label": f"training batch {i} of 5",
                "labels": [labels[j] for j in part],
                "data": data[part],
                "filenames": [f"train_{j:05d}.png" for j in part],
            },
        )
    data, labels = _fake_split(test_per_class * len(CLASSES), rng)
    _dump(
        folder / "test_batch",
        {
            "batch_label": "testing batch 1 of 1",
            "labels": labels,
            "data": data,
            "filenames": [f"test_{j:05d}.png" for j in range(len(labels))],
        },
    )
    _dump(
        folder / "batches.meta",
        {"num_cases_per_batch": len(labels), "num_vis": 3072, "label_names": CLASSES},
    )
    return root


@pytest.fixture(scope="session")
def tiny_cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake CIFAR-10 folder: 200 training and 100 test images, 20/10 per class."""
    return write_fake_cifar10(
        tmp_path_factory.mktemp("tiny_cifar"), train_per_class=20, test_per_class=10
    )


@pytest.fixture(scope="session")
def tiny(tiny_cifar: Path):
    """The fake CIFAR-10 loaded on the CPU, whole (200 training, 100 test images)."""
    return load_cifar10(tiny_cifar, config=DataConfig(train_subset=200, test_subset=100))


@pytest.fixture(scope="session")
def short_data(tiny_cifar: Path):
    """The data of ``tiny_runs.short_config``: 100 training and 50 test images."""
    return load_cifar10(tiny_cifar, config=SHORT_DATA)


@pytest.fixture(scope="session")
def resnet_data(tiny_cifar: Path):
    """The data of ``tiny_runs.resnet18_config``: 50 training and 25 test images."""
    return load_cifar10(tiny_cifar, config=RESNET_DATA)


@pytest.fixture
def float64():
    """Models built in the test are float64: runs then agree to rounding (1e-10), so
    tests can require identical accuracies where float32 would drift."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.fixture(scope="session")
def offline_cifar() -> Path:
    """The real CIFAR-10 (offline JPEG copy, or whatever ``$PRUNESTAB_DATA`` holds).

    Uses ``$PRUNESTAB_DATA`` if it holds the layout; else prepares the offline copy once
    per machine into ``~/.cache/prunestab/offline-cifar10`` (about 10 s the first time).
    Skips when neither is available.
    """
    env = os.environ.get(ENV_VAR)
    if env and (found := resolve_root(env)) is not None:
        return found
    if (found := resolve_root(OFFLINE_CACHE)) is not None:
        return found
    if not PREPARE_SCRIPT.is_file():
        pytest.skip(f"no CIFAR-10: ${ENV_VAR} is unset or empty and {PREPARE_SCRIPT} is missing")
    result = subprocess.run(
        [sys.executable, str(PREPARE_SCRIPT), str(OFFLINE_CACHE)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or (found := resolve_root(OFFLINE_CACHE)) is None:
        tail = " ".join((result.stderr or result.stdout).split())[-300:]
        pytest.skip(f"could not prepare the offline CIFAR-10 with {PREPARE_SCRIPT}: {tail}")
    return found
