"""Time one training epoch three ways, in one process, and print images/second and ratios.

1. ``reference``: the loop written the plain way, as the authors' code does it: a
   torchvision-style ``Dataset`` decoding each image through PIL and ``transforms``
   (``ToTensor``, ``Normalize``; ``RandomCrop``/``RandomHorizontalFlip`` for Conv4), a
   ``DataLoader`` with 4 workers (at most one per CPU core), fp32 eager in the default layout, ``loss.item()`` and
   the accuracy read back after every batch, and two test passes per epoch (before and
   after pruning, as the authors evaluated every epoch of a pruning run).
2. ``ours``: ``prunestab.training.loop.train_run``'s fast path, one seed: data resident on the
   device as uint8, on-device normalisation/augmentation, one host sync per epoch,
   channels_last where it pays, bf16 autocast on GPUs (``precision="auto"``), one test
   pass per epoch (the pre-prune pass only runs on pruning epochs).
3. ``batched``: ``prunestab.training.batched.train_seeds``, K seeds of the same configuration
   trained side by side as one grouped model; images/second counts all K seeds' images.

Each timed epoch trains ``--images`` images (batch 128) and tests ``--images / 5`` (the
paper's 50,000 : 10,000), after an untimed warm-up; each path is timed ``--repeats``
times and its fastest epoch reported (as ``timeit`` does: slower repeats measure
interference, not the code). Models are at full width by default.
The script ends with the paper's whole grid (every figure at the ``paper`` profile) in
device-hours at the measured rates.

    python benchmarks/epoch_throughput.py                      # CPU, short
    python benchmarks/epoch_throughput.py --device cuda        # a full epoch, 10 seeds

Real CIFAR-10 is used when found (``--data`` or ``$PRUNESTAB_DATA``), else random uint8
images of the same shape, which train at the same speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from prunestab.config import DataConfig, OptimizerConfig, RunConfig
from prunestab.data.batches import MEAN, STD
from prunestab.data.cifar10 import CIFAR10, DatasetInfo, load_cifar10
from prunestab.data.files import DataNotFoundError
from prunestab.models import build
from prunestab.paper.registry import FIGURES, figure_grid
from prunestab.training.execution import Execution, resolve_precision
from prunestab.training.loop import train_run

MODELS = ("conv4", "vgg11", "resnet18", "vgg19")
DEFAULT_MODELS = ("conv4", "vgg11", "resnet18")
BATCH = 128
TEST_BATCH = 256  # the authors' test batch


class PlainCIFAR(Dataset):
    """What ``torchvision.datasets.CIFAR10`` does per item: HWC uint8 -> PIL -> transform."""

    def __init__(self, images: np.ndarray, labels: list[int], transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def reference_epoch(
    model_name: str, width: float, data: CIFAR10, device: str, workers: int, repeats: int
) -> float:
    """Seconds for one epoch of the plain loop: the best of ``repeats`` after a warm-up."""
    augment = model_name == "conv4"
    steps = [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()]
    base = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    train_tf = transforms.Compose((steps if augment else []) + base)
    test_tf = transforms.Compose(base)
    train = PlainCIFAR(
        data.train_images.permute(0, 2, 3, 1).cpu().numpy(),
        data.train_labels.tolist(),
        train_tf,
    )
    test = PlainCIFAR(
        data.test_images.permute(0, 2, 3, 1).cpu().numpy(), data.test_labels.tolist(), test_tf
    )
    torch.manual_seed(0)
    model = build(model_name, width).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_steps(limit: int | None) -> tuple[float, int]:
        model.train()
        loader = DataLoader(train, batch_size=BATCH, shuffle=True, num_workers=workers)
        train_loss, correct = 0.0, 0
        for i, (x, y) in enumerate(loader):
            if limit is not None and i == limit:
                break
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            train_loss += loss.item()
            correct += out.max(1)[1].eq(y).sum().item()
        return train_loss, correct

    @torch.no_grad()
    def test_pass() -> float:
        model.eval()
        loader = DataLoader(test, batch_size=TEST_BATCH, shuffle=False, num_workers=workers)
        correct = 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += model(x).max(1)[1].eq(y).sum().item()
        return 100.0 * correct / len(test)

    train_steps(limit=3)  # warm-up: kernels, allocator, worker start-up paths
    times = []
    for _ in range(repeats):
        _sync(device)
        started = time.perf_counter()
        train_steps(limit=None)
        test_pass()  # before pruning
        test_pass()  # after pruning
        _sync(device)
        times.append(time.perf_counter() - started)
    return min(times)


def _sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _config(model: str, width: float, device: str, seed: int = 0) -> RunConfig:
    return RunConfig(
        model,
        epochs=1,
        width=width,
        data=DataConfig(augment=model == "conv4"),
        optimizer=OptimizerConfig(batch_size=BATCH),
        device=device,
        seed=seed,
    )


def _head(data: CIFAR10, n_train: int, n_test: int) -> CIFAR10:
    return dataclasses.replace(
        data,
        train_images=data.train_images[:n_train],
        train_labels=data.train_labels[:n_train],
        test_images=data.test_images[:n_test],
        test_labels=data.test_labels[:n_test],
    )


def ours_epoch(
    model: str,
    width: float,
    data: CIFAR10,
    device: str,
    seeds: int,
    execution: Execution,
    warm_images: int,
    repeats: int,
) -> float:
    """Seconds for one epoch of ``seeds`` seeds (1: ``train_run``; more: ``train_seeds``):
    the best of ``repeats`` one-epoch runs after a warm-up run."""
    from prunestab.training.batched import train_seeds

    configs = [_config(model, width, device, seed) for seed in range(seeds)]

    def run(dataset: CIFAR10) -> float:
        started = time.perf_counter()
        if seeds == 1:
            train_run(configs[0], dataset, progress=False, execution=execution)
        else:
            train_seeds(configs, dataset, progress=False, execution=execution)
        _sync(device)  # (the epoch's records already synchronised once)
        return time.perf_counter() - started

    warm = data if warm_images >= data.train_labels.numel() else _head(data, warm_images, 500)
    run(warm)
    return min(run(data) for _ in range(repeats))


def load(args: argparse.Namespace, n_train: int, n_test: int) -> tuple[CIFAR10, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = DataConfig(train_subset=n_train, test_subset=n_test)
            data = load_cifar10(args.data, config=config, device=args.device, download=False)
        return data, f"CIFAR-10 ({data.info.variant}) from {data.info.root}"
    except DataNotFoundError:
        g = torch.Generator().manual_seed(0)
        images = torch.randint(
            0, 256, (n_train + n_test, 3, 32, 32), dtype=torch.uint8, generator=g
        )
        labels = torch.randint(0, 10, (n_train + n_test,), generator=g)
        empty = torch.empty(0, 3, 32, 32, dtype=torch.uint8)
        info = DatasetInfo("memory", "synthetic", (), n_train, n_test, 0)
        data = CIFAR10(
            images[:n_train],
            labels[:n_train],
            images[n_train:],
            labels[n_train:],
            empty,
            torch.empty(0, dtype=torch.int64),
            info,
            torch.device("cpu"),
        )
        data = _to_device(data, args.device)
        return data, "random uint8 images (no CIFAR-10 found; same speed)"


def _to_device(data: CIFAR10, device: str) -> CIFAR10:
    moved = {
        f.name: getattr(data, f.name).to(device)
        for f in dataclasses.fields(data)
        if isinstance(getattr(data, f.name), torch.Tensor)
    }
    return dataclasses.replace(data, **moved, device=torch.device(device))


def paper_grid_epochs() -> dict[str, int]:
    """Training epochs of every distinct run of the paper's grid, by model."""
    from prunestab.config import config_hash

    unique = {}
    for figure in FIGURES:
        for config in figure_grid(figure, "paper"):
            unique[config_hash(config)] = config
    epochs: dict[str, int] = {}
    for config in unique.values():
        epochs[config.model] = epochs.get(config.model, 0) + config.epochs
    return epochs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated, from {', '.join(MODELS)}",
    )
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument(
        "--images",
        type=int,
        default=None,
        help="training images per timed epoch (default: 1024 on CPU, 50000 on GPU)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds trained side by side (default: 3 on CPU, 10 on GPU)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="reference DataLoader workers (default: the authors' 4, at most one per CPU core)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile our two paths")
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="timed epochs per path; the fastest is reported (default: 2)",
    )
    parser.add_argument("--data", default=None, help="CIFAR-10 folder (else $PRUNESTAB_DATA)")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad:
        parser.error(f"--models {','.join(bad)}; allowed: {', '.join(MODELS)}")
    gpu = torch.device(args.device).type == "cuda"
    if gpu and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA device here; allowed: cpu")
    n_train = args.images or (50_000 if gpu else 1024)
    n_test = max(n_train // 5, 1)
    seeds = args.seeds or (10 if gpu else 3)
    execution = Execution(compile=True) if args.compile else Execution()
    data, source = load(args, n_train, n_test)
    warm_images = n_train if (args.compile or gpu) else 3 * BATCH

    hardware = torch.cuda.get_device_name() if gpu else f"CPU, {torch.get_num_threads()} threads"
    precision = resolve_precision("auto", args.device)
    print(f"device: {hardware}; torch {torch.__version__}; data: {source}")
    print(
        f"epoch: {n_train} training + {n_test} test images, batch {BATCH}, width {args.width}; "
        f"ours: {precision}, compile={bool(args.compile)}; batched: {seeds} seeds"
    )
    print()
    header = (
        f"{'model':<9} {'reference':>10} {'ours':>10} {'batched':>10} "
        f"{'ours/ref':>9} {'batched/ours':>13} {'epoch (ours)':>13}"
    )
    print(header + "   (images/second)")
    rates: dict[str, tuple[float, float]] = {}
    for model in models:
        repeats = args.repeats
        ref_s = reference_epoch(model, args.width, data, args.device, args.workers, repeats)
        timing = (args.width, data, args.device)
        single_s = ours_epoch(model, *timing, 1, execution, warm_images, repeats)
        group_s = ours_epoch(model, *timing, seeds, execution, warm_images, repeats)
        ref, ours, batched = n_train / ref_s, n_train / single_s, seeds * n_train / group_s
        rates[model] = (ours, batched)
        epoch_s = 50_000 / ours  # a full paper epoch at the measured rate
        print(
            f"{model:<9} {ref:>10.0f} {ours:>10.0f} {batched:>10.0f} "
            f"{ours / ref:>8.2f}x {batched / ours:>12.2f}x {epoch_s:>12.1f}s",
            flush=True,
        )

    epochs = paper_grid_epochs()
    unit = "GPU" if gpu else "CPU"
    print()
    print(
        f"The paper's grid ({sum(epochs.values())} epochs of 50,000 images; test passes "
        f"excluded) at these rates, in {unit}-hours:"
    )
    total_single = total_batched = 0.0
    for model, n_epochs in sorted(epochs.items()):
        measured = rates.get(model)
        if measured is None:
            print(f"  {model:<9} {n_epochs:>6} epochs  (not measured: add it to --models)")
            continue
        single = n_epochs * 50_000 / measured[0] / 3600
        batched = n_epochs * 50_000 / measured[1] / 3600
        total_single += single
        total_batched += batched
        print(
            f"  {model:<9} {n_epochs:>6} epochs  one run at a time {single:>8.1f} h   "
            f"seeds batched {batched:>8.1f} h"
        )
    measured_epochs = sum(n for m, n in epochs.items() if m in rates)
    print(
        f"  {'measured':<9} {measured_epochs:>6} epochs  one run at a time "
        f"{total_single:>8.1f} h   seeds batched {total_batched:>8.1f} h"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
