"""One training run with iterative pruning, and the measurements the paper makes of it.

The loop follows the authors' timing (notes section 4): at the end of each 0-based epoch
``t`` the model is evaluated on the test set in eval mode; if ``t`` is a pruning epoch the
units are removed and the model is evaluated again, with nothing trained in between and
no BatchNorm recalibration, so that

    instability = |t_pre - t_post|            (Section 3, in percentage points)

is exactly the damage of the pruning event. The authors' code reported the signed,
relative form ``(t_pre - t_post) / t_pre``; both are recorded. The test accuracy before
pruning is only evaluated on pruning epochs (on other epochs it equals the post value).

Training is Adam (lr 1e-3), batch 128, learning rate x0.1 at the milestones (A.3). The
whole dataset stays on the device as uint8; augmentation and normalisation run there,
and losses/accuracies are summed on the device and read once per epoch.

Every random choice derives from the config's seed (``derive_seed``): the model's
initialisation, each epoch's shuffle and augmentation, each random-target choice and each
noise draw. A run resumed from a checkpoint therefore continues exactly as it would have.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from prunestab.config import RunConfig
from prunestab.data import CIFAR10, eval_batches, train_batches
from prunestab.models import build
from prunestab.noise import NoiseInjector
from prunestab.pruning import Pruner

EVAL_BATCH_SIZE = 500


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed for one purpose (``"shuffle", epoch`` ...) derived from the run seed."""
    text = ":".join(str(k) for k in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def learning_rate(config: RunConfig, epoch: int) -> float:
    """Adam's rate during ``epoch``: x ``lr_decay`` after each milestone passed (lr_s, A.3).

    Equivalent to ``MultiStepLR`` stepped once per epoch after pruning; computed directly
    so a resumed run needs no scheduler state.
    """
    opt = config.optimizer
    passed = sum(1 for milestone in opt.lr_milestones if milestone <= epoch)
    return opt.lr * opt.lr_decay**passed


@dataclass(frozen=True)
class Evaluation:
    accuracy: float  # percent
    loss: float


def _autocast(config: RunConfig, device: torch.device):
    if config.precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: RunConfig,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> Evaluation:
    """Eval-mode top-1 accuracy (%) and mean loss over the whole set, one device sync."""
    model.eval()
    correct = torch.zeros((), device=images.device, dtype=torch.int64)
    loss_sum = torch.zeros((), device=images.device, dtype=torch.float64)
    for x, y in eval_batches(images, labels, EVAL_BATCH_SIZE):
        with _autocast(config, images.device):
            out = model(x.contiguous(memory_format=memory_format))
        loss_sum += F.cross_entropy(out.float(), y, reduction="sum")
        correct += (out.argmax(1) == y).sum()
    n = labels.numel()
    return Evaluation(100.0 * correct.item() / n, loss_sum.item() / n)


def _summarize(config: RunConfig, epochs: list[dict]) -> dict:
    """Per-run aggregates used by the figures (notes section 5)."""
    pruned = [r for r in epochs if r.get("pruned")]
    last_pruned = max((r["epoch"] for r in pruned), default=-1)
    after = [r for r in epochs if r["epoch"] >= last_pruned]
    best = max(after, key=lambda r: r["test_acc"])
    summary = {
        "final_test_acc": epochs[-1]["test_acc"],
        "final_train_acc": epochs[-1]["train_acc"],
        "best_test_acc_after_pruning": best["test_acc"],
        "best_epoch": best["epoch"],
        "generalization_gap_at_best": best["train_acc"] - best["test_acc"],
        "n_pruning_epochs": len(pruned),
        "last_pruning_epoch": last_pruned if pruned else None,
        "mean_instability": _mean([r["instability"] for r in pruned]),
        "mean_relative_instability": _mean([r["relative_instability"] for r in pruned]),
        "max_instability": max((r["instability"] for r in pruned), default=float("nan")),
        "pruned_units": epochs[-1]["pruned_units"],
    }
    if "train_eval_acc" in best:
        summary["eval_generalization_gap_at_best"] = best["train_eval_acc"] - best["test_acc"]
    if "validation_acc" in epochs[-1]:
        by_val = max(after, key=lambda r: r["validation_acc"])
        summary["test_acc_at_best_validation"] = by_val["test_acc"]
    return summary


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def train_run(
    config: RunConfig,
    data: CIFAR10,
    *,
    resume: dict | None = None,
    checkpoint: Callable[[dict], None] | None = None,
    checkpoint_interval_s: float = 60.0,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train one run; return its per-epoch records, per-event records and summary.

    ``resume`` is a state previously passed to ``checkpoint``; ``checkpoint`` is called at
    most every ``checkpoint_interval_s`` seconds (and after the last epoch is not needed:
    the caller stores the result). ``on_epoch_end(epoch, record)`` is for tests and UIs.
    """
    device = data.device
    memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    torch.manual_seed(derive_seed(config.seed, "init"))
    model = build(config.model, config.width).to(device, memory_format=memory_format)
    pruner = injector = None
    if config.pruning is not None and config.noise is None:
        pruner = Pruner(model, config.pruning)
    elif config.noise is not None:
        injector = NoiseInjector(model, config.pruning, config.noise)
    events = (pruner or injector).events() if (pruner or injector) else []
    events_at: dict[int, list] = {}
    for event in events:
        events_at.setdefault(event.epoch, []).append(event)

    optimizer = torch.optim.Adam(model.parameters(), lr=config.optimizer.lr)
    noise_generator = torch.Generator(device=device)
    noise_generator.manual_seed(derive_seed(config.seed, "noise"))
    epoch_records: list[dict] = []
    event_records: list[dict] = []
    start_epoch, step, seconds_before = 0, 0, 0.0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        if injector is not None:
            injector.load_state_dict(resume["noise"])
        noise_generator.set_state(resume["noise_generator"])
        epoch_records, event_records = resume["epoch_records"], resume["event_records"]
        start_epoch, step = resume["epoch"], resume["step"]
        seconds_before = resume["train_seconds"]

    n_train = data.train_labels.numel()
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(
        total=config.epochs,
        initial=start_epoch,
        desc=config.display_label(),
        disable=not show,
        leave=False,
    )
    started = last_checkpoint = time.monotonic()
    for epoch in range(start_epoch, config.epochs):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch)
        model.train()
        shuffle = torch.Generator().manual_seed(derive_seed(config.seed, "shuffle", epoch))
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        for x, y in train_batches(
            data.train_images,
            data.train_labels,
            config.optimizer.batch_size,
            shuffle,
            augment_images=config.data.augment,
        ):
            if injector is not None:
                injector.before_step(noise_generator)
            with _autocast(config, device):
                out = model(x.contiguous(memory_format=memory_format))
                loss = F.cross_entropy(out.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if pruner is not None:
                pruner.mask_gradients()
            optimizer.step()
            loss_sum += loss.detach() * y.numel()
            correct += (out.argmax(1) == y).sum()
            step += 1
        record = {
            "epoch": epoch,
            "lr": learning_rate(config, epoch),
            "train_loss": loss_sum.item() / n_train,
            "train_acc": 100.0 * correct.item() / n_train,
        }

        todays = events_at.get(epoch, [])
        if todays:
            pre = evaluate(model, data.test_images, data.test_labels, config, memory_format)
            record["pre_test_acc"], record["pre_test_loss"] = pre.accuracy, pre.loss
            for event in todays:
                selection = torch.Generator().manual_seed(
                    derive_seed(config.seed, "select", epoch, event.layer)
                )
                if pruner is not None:
                    event_records.append(pruner.prune(event, optimizer, selection))
                else:
                    event_records.append(injector.on_event(event, selection, noise_generator))
        post = evaluate(model, data.test_images, data.test_labels, config, memory_format)
        record["test_acc"], record["test_loss"] = post.accuracy, post.loss
        record["pruned"] = bool(todays)
        if todays:
            drop = record["pre_test_acc"] - post.accuracy
            record["instability"] = abs(drop)
            record["relative_instability"] = 100.0 * drop / max(record["pre_test_acc"], 1e-12)
            record["pruned_layers"] = [event.layer for event in todays]
        record["pruned_units"] = pruner.pruned_counts() if pruner is not None else []
        if data.validation_labels.numel():
            val = evaluate(
                model, data.validation_images, data.validation_labels, config, memory_format
            )
            record["validation_acc"] = val.accuracy
        if config.data.train_eval_images:
            k = min(config.data.train_eval_images, n_train)
            train_eval = evaluate(
                model, data.train_images[:k], data.train_labels[:k], config, memory_format
            )
            record["train_eval_acc"] = train_eval.accuracy
        epoch_records.append(record)
        bar.update(1)
        bar.set_postfix(test=f"{post.accuracy:.1f}", train=f"{record['train_acc']:.1f}")
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        now = time.monotonic()
        if (
            checkpoint is not None
            and epoch + 1 < config.epochs
            and now - last_checkpoint >= checkpoint_interval_s
        ):
            checkpoint(
                {
                    "epoch": epoch + 1,
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "noise": injector.state_dict() if injector is not None else {},
                    "noise_generator": noise_generator.get_state(),
                    "epoch_records": epoch_records,
                    "event_records": event_records,
                    "train_seconds": seconds_before + now - started,
                }
            )
            last_checkpoint = now
    bar.close()
    return {
        "epochs": epoch_records,
        "events": event_records,
        "summary": _summarize(config, epoch_records),
        "train_seconds": seconds_before + time.monotonic() - started,
        "model_state": model.state_dict(),
    }
