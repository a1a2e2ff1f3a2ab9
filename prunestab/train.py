"""One training run with iterative pruning, and the measurements the paper makes of it.

The loop follows the authors' timing (notes section 4): at the end of each 0-based epoch
``t`` the model is evaluated on the test set in eval mode; if ``t`` is a pruning epoch the
units are removed and the model is evaluated again, with nothing trained in between and
no BatchNorm recalibration, so that

    instability = |t_pre - t_post|            (Section 3, in percentage points)

is exactly the damage of the pruning event. The authors' code reported the signed,
relative form ``(t_pre - t_post) / t_pre``; both are recorded. The test accuracy before
pruning is only evaluated on pruning epochs (on other epochs it equals the post value).

Training is Adam (lr 1e-3), batch 128, learning rate x0.1 at the milestones (A.3).

Every random choice derives from the config's seed (``derive_seed``): the model's
initialisation, each epoch's shuffle and augmentation, each random-target choice and each
noise draw. A run resumed from a checkpoint therefore continues exactly as it would have.

The fast path (how, not what: :class:`Execution` is not part of the config or its hash):

* the whole dataset stays on the device as uint8; shuffling, augmentation and
  normalisation run there (``prunestab.data``);
* losses and accuracies are summed on the device and read once per epoch, and each
  evaluation pass is read once: nothing inside an epoch waits for the host;
* channels_last activations where convolutions are faster in that layout (cuDNN always;
  oneDNN on CPUs for the VGG and ResNet convolutions), bf16 autocast where the config's
  ``precision`` resolves to it (``"auto"``: CUDA devices with bf16 support), a fused
  Adam on GPUs, and optionally ``torch.compile``;
* masks are buffers changed in place outside the forward pass, and gradients are masked
  between ``backward`` and ``step``, so pruning never changes what a compiled graph
  guards on (no recompiles).

:func:`train_run` trains one seed. ``prunestab.batched.train_seeds`` trains several seeds
of one configuration as one grouped model through the same loop (:func:`train_group`),
and gives each seed the records :func:`train_run` would have given it.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

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

#: Models whose convolutions oneDNN runs faster in channels_last on CPUs (measured with
#: ``benchmarks/epoch_throughput.py`` on a 2-core AVX2 machine: ResNet18 about 1.5x, VGG
#: about 1.1x). Conv4's small convolutions gain nothing, and it stays in the default
#: layout so the CPU plain path and fast path share their kernels there.
CPU_CHANNELS_LAST_MODELS = frozenset({"vgg11", "vgg19", "resnet18"})


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


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The precision a config's ``precision`` means on ``device``: ``"fp32"`` or ``"bf16"``.

    ``"auto"`` is bf16 autocast on CUDA devices that support bf16 (Ampere and later), where
    it roughly doubles convolution throughput, and fp32 everywhere else: CPUs without
    bf16 units run it slower than fp32, and fp32 keeps CPU results comparable with the
    authors'. Explicit ``"fp32"``/``"bf16"`` are kept as asked.
    """
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


@dataclass(frozen=True)
class Execution:
    """How runs are executed: choices that change speed, not the experiment.

    Not part of :class:`RunConfig` (nor its hash): a run computed with any of these
    settings answers a request for the same run with any other. Results agree within
    floating-point tolerance (``tests/test_fast_path.py`` states it) and record the
    settings used.

    ``channels_last``: ``None`` chooses per device and model (always on CUDA; on CPUs for
    :data:`CPU_CHANNELS_LAST_MODELS`). ``compile``: ``False``; ``True`` for
    ``torch.compile`` with inductor; or the name of another ``torch.compile`` backend
    (tests use ``"aot_eager"``, which traces and guards exactly like inductor but does
    not generate code).
    """

    channels_last: bool | None = None
    compile: bool | str = False

    def memory_format(self, model: str, device: torch.device | str) -> torch.memory_format:
        use = self.channels_last
        if use is None:
            kind = torch.device(device).type
            use = kind == "cuda" or (kind == "cpu" and model in CPU_CHANNELS_LAST_MODELS)
        return torch.channels_last if use else torch.contiguous_format

    @property
    def compile_backend(self) -> str | None:
        if self.compile is True:
            return "inductor"
        return self.compile or None


#: The plain path: eager, default memory layout (pair it with ``precision="fp32"``).
PLAIN = Execution(channels_last=False, compile=False)


@dataclass(frozen=True)
class Evaluation:
    accuracy: float  # percent
    loss: float


def autocast(precision: str, device: torch.device):
    """bf16 autocast for ``precision="bf16"`` (resolved), else nothing."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def make_optimizer(parameters, config: RunConfig, device: torch.device) -> torch.optim.Adam:
    """Adam at the config's rate, without weight decay (A.3).

    On GPUs the fused implementation updates every parameter in one kernel instead of
    about ten kernels per parameter tensor. Adam without weight decay is elementwise, so
    a grouped model's parameters (``prunestab.batched``) get exactly each seed's update.
    """
    fused = True if device.type == "cuda" else None
    return torch.optim.Adam(parameters, lr=config.optimizer.lr, fused=fused)


def init_model(config: RunConfig, device: torch.device, memory_format: torch.memory_format):
    """The run's model at initialisation: seeded by ``derive_seed(seed, "init")``."""
    torch.manual_seed(derive_seed(config.seed, "init"))
    return build(config.model, config.width).to(device, memory_format=memory_format)


def compile_module(module: nn.Module, backend: str | None) -> nn.Module:
    """``module`` compiled with ``backend`` (``None``: the module itself).

    ``dynamic=False``: the few batch sizes of a run (the batch, the epoch's last batch,
    the evaluation batch) each get a static graph, compiled once, instead of one dynamic
    graph that inductor optimises less well. Train and eval mode are two more graphs.
    """
    if backend is None:
        return module
    return torch.compile(module, backend=backend, dynamic=False)


class ModelSet(Protocol):
    """What :func:`train_group` trains: ``seeds`` models realised as one module.

    ``module`` maps a batch to logits ``[B, seeds * classes]``; ``seed_models[k]`` is seed
    ``k``'s model (sharing its tensors with ``module``), which pruning and noise act on.
    """

    seeds: int
    module: nn.Module
    seed_models: list[nn.Module]

    def train_batches(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        generators: list[torch.Generator],
        augment_images: bool,
        epoch_images: int | None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def eval_input(self, x: torch.Tensor) -> torch.Tensor: ...

    def share_masks(self, pruner: Pruner) -> None: ...

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any: ...

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]: ...

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]): ...

    def model_states(self, copy: bool) -> list[dict]: ...


class SingleModel:
    """The one-seed :class:`ModelSet`: the model itself."""

    seeds = 1

    def __init__(self, model: nn.Module) -> None:
        self.module = model
        self.seed_models = [model]

    def train_batches(self, images, labels, batch_size, generators, augment_images, epoch_images):
        return train_batches(
            images, labels, batch_size, generators[0], augment_images, epoch_images
        )

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def share_masks(self, pruner: Pruner) -> None:
        """Nothing to share: the seed's pruner finds the masks on the model itself."""

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any:
        return optimizer

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]:
        return [optimizer.state_dict()]

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]):
        optimizer.load_state_dict(states[0])

    def model_states(self, copy: bool) -> list[dict]:
        state = self.module.state_dict()
        if copy:
            state = {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
        return [state]


def _parameter_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of ``module``'s parameters: float32, or float64 for tests that need
    results equal to rounding error (build the model under ``torch.set_default_dtype``)."""
    return next(module.parameters()).dtype


def _model_input(x: torch.Tensor, dtype: torch.dtype, memory_format) -> torch.Tensor:
    """A batch in the model's dtype and layout (no copy when it already is)."""
    return x.to(dtype=dtype, memory_format=memory_format)


def _split_logits(out: torch.Tensor, seeds: int) -> torch.Tensor:
    """``[B, seeds * classes]`` logits as ``[B, seeds, classes]``, at least float32."""
    return _full_precision(out).view(out.shape[0], seeds, -1)


def _full_precision(out: torch.Tensor) -> torch.Tensor:
    """bf16 autocast logits as float32 for the loss; float32/float64 as they are."""
    return out if out.dtype in (torch.float32, torch.float64) else out.float()


@torch.no_grad()
def evaluate_seeds(
    models: ModelSet,
    forward: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str,
    memory_format: torch.memory_format,
) -> list[Evaluation]:
    """Eval-mode top-1 accuracy (%) and mean loss of every seed, with one device sync."""
    forward.eval()
    k = models.seeds
    dtype = _parameter_dtype(models.module)
    correct = torch.zeros(k, device=images.device, dtype=torch.int64)
    loss_sum = torch.zeros(k, device=images.device, dtype=torch.float64)
    for x, y in eval_batches(images, labels, EVAL_BATCH_SIZE):
        with autocast(precision, images.device):
            out = forward(_model_input(models.eval_input(x), dtype, memory_format))
        logits = _split_logits(out, k)
        targets = y[:, None].expand(-1, k)
        loss_sum += F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(0)
        correct += (logits.argmax(2) == targets).sum(0)
    n = labels.numel()
    values = torch.stack([correct.to(torch.float64), loss_sum]).tolist()
    return [Evaluation(100.0 * c / n, s / n) for c, s in zip(*values, strict=True)]


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str = "fp32",
    memory_format: torch.memory_format = torch.contiguous_format,
) -> Evaluation:
    """Eval-mode top-1 accuracy (%) and mean loss of one model over the whole set."""
    return evaluate_seeds(SingleModel(model), model, images, labels, precision, memory_format)[0]


def _summarize(config: RunConfig, epochs: list[dict]) -> dict:
    """Per-run aggregates used by the figures (notes section 5)."""
    pruned = [r for r in epochs if r.get("pruned")]
    last_pruned = max((r["epoch"] for r in pruned), default=-1)
    after = [r for r in epochs if r["epoch"] >= last_pruned]
    # With a separate instability set (DataConfig.instability_test_subset) the accuracies
    # compared across runs come from the full test set, evaluated on these epochs.
    key = "full_test_acc" if "full_test_acc" in epochs[-1] else "test_acc"
    best = max((r for r in after if key in r), key=lambda r: r[key])
    summary = {
        "final_test_acc": epochs[-1][key],
        "final_train_acc": epochs[-1]["train_acc"],
        "best_test_acc_after_pruning": best[key],
        "best_epoch": best["epoch"],
        "generalization_gap_at_best": best["train_acc"] - best[key],
        "n_pruning_epochs": len(pruned),
        "last_pruning_epoch": last_pruned if pruned else None,
        "mean_instability": _mean([r["instability"] for r in pruned]),
        "mean_relative_instability": _mean([r["relative_instability"] for r in pruned]),
        "max_instability": max((r["instability"] for r in pruned), default=float("nan")),
        "pruned_units": epochs[-1]["pruned_units"],
    }
    if "train_eval_acc" in best:
        summary["eval_generalization_gap_at_best"] = best["train_eval_acc"] - best[key]
    if "validation_acc" in epochs[-1]:
        by_val = max(after, key=lambda r: r["validation_acc"])
        summary["test_acc_at_best_validation"] = by_val[key]
    if key == "full_test_acc":
        summary["final_test_acc_instability_set"] = epochs[-1]["test_acc"]
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
    execution: Execution | None = None,
) -> dict:
    """Train one run; return its per-epoch records, per-event records and summary.

    ``resume`` is a state previously passed to ``checkpoint``; ``checkpoint`` is called at
    most every ``checkpoint_interval_s`` seconds (and after the last epoch is not needed:
    the caller stores the result). ``on_epoch_end(epoch, record)`` is for tests and UIs.
    ``execution`` chooses layout and compilation (default: :class:`Execution()`).
    """
    execution = execution or Execution()
    memory_format = execution.memory_format(config.model, data.device)
    model = init_model(config, data.device, memory_format)
    return train_group(
        [config],
        SingleModel(model),
        data,
        resume=None if resume is None else [resume],
        checkpoint=None if checkpoint is None else (lambda states: checkpoint(states[0])),
        checkpoint_interval_s=checkpoint_interval_s,
        progress=progress,
        on_epoch_end=None if on_epoch_end is None else (lambda e, rs: on_epoch_end(e, rs[0])),
        execution=execution,
    )[0]


def train_group(
    configs: Sequence[RunConfig],
    models: ModelSet,
    data: CIFAR10,
    *,
    resume: list[dict] | None = None,
    checkpoint: Callable[[list[dict]], None] | None = None,
    checkpoint_interval_s: float = 60.0,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, list[dict]], None] | None = None,
    execution: Execution | None = None,
) -> list[dict]:
    """Train the seeds of ``models`` (one per config, same config but the seed) in lockstep.

    The single loop behind :func:`train_run` (one seed) and
    ``prunestab.batched.train_seeds`` (a grouped model). Each seed keeps its own
    generators, pruner or noise injector, events and records; the returned list holds one
    :func:`train_run`-style result per config. ``resume``/``checkpoint`` carry one
    :func:`train_run` state per seed, so a group's checkpoint also resumes single runs.
    """
    execution = execution or Execution()
    config = configs[0]
    k = models.seeds
    device = data.device
    precision = resolve_precision(config.precision, device)
    memory_format = execution.memory_format(config.model, device)
    module = models.module
    dtype = _parameter_dtype(module)

    # The gradient pruner owns the masks of the trained module; each seed's pruner then
    # finds its share of them (views for a grouped model) on its own model.
    gradient_pruner = None
    if config.pruning is not None and config.noise is None:
        gradient_pruner = Pruner(module, config.pruning)
        models.share_masks(gradient_pruner)
    pruners: list[Pruner] = []
    injectors: list[NoiseInjector] = []
    for model in models.seed_models:
        if gradient_pruner is not None:
            pruners.append(Pruner(model, config.pruning))
        elif config.noise is not None:
            injectors.append(NoiseInjector(model, config.pruning, config.noise))
    actors = pruners or injectors
    events = actors[0].events() if actors else []
    events_at: dict[int, list] = {}
    for event in events:
        events_at.setdefault(event.epoch, []).append(event)

    optimizer = make_optimizer(module.parameters(), config, device)
    noise_generators = []
    for c in configs:
        generator = torch.Generator(device=device)
        generator.manual_seed(derive_seed(c.seed, "noise"))
        noise_generators.append(generator)
    epoch_records: list[list[dict]] = [[] for _ in range(k)]
    event_records: list[list[dict]] = [[] for _ in range(k)]
    start_epoch, step, seconds_before = 0, 0, [0.0] * k
    if resume is not None:
        epochs_done = {state["epoch"] for state in resume}
        if len(epochs_done) != 1:
            raise ValueError(f"resume states are at epochs {sorted(epochs_done)}; allowed: one")
        for model, state in zip(models.seed_models, resume, strict=True):
            model.load_state_dict(state["model"])
        models.load_optimizer_states(optimizer, [state["optimizer"] for state in resume])
        for i, state in enumerate(resume):
            if injectors:
                injectors[i].load_state_dict(state["noise"])
            noise_generators[i].set_state(state["noise_generator"])
            epoch_records[i] = list(state["epoch_records"])
            event_records[i] = list(state["event_records"])
            seconds_before[i] = state["train_seconds"]
        start_epoch, step = resume[0]["epoch"], resume[0]["step"]

    forward = compile_module(module, execution.compile_backend)
    n_train = data.train_labels.numel()
    # Images trained per epoch: all of them, or the epoch's draw (DataConfig.epoch_images).
    n_epoch = min(n_train, config.data.epoch_images or n_train)
    # The summary picks its best epoch from the last pruning event on (and Figure 2 reads
    # its gap there): eval-mode training accuracy is only needed from that epoch on.
    train_eval_from = max((event.epoch for event in events), default=0)
    show = sys.stderr.isatty() if progress is None else progress
    label = config.display_label() + (f" ({k} seeds)" if k > 1 else "")
    bar = tqdm(total=config.epochs, initial=start_epoch, desc=label, disable=not show, leave=False)

    def evaluate_all(images: torch.Tensor, labels: torch.Tensor) -> list[Evaluation]:
        return evaluate_seeds(models, forward, images, labels, precision, memory_format)

    instability_images, instability_labels = data.instability_set()
    separate_final_set = data.instability_images is not None

    started = last_checkpoint = time.monotonic()
    for epoch in range(start_epoch, config.epochs):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch)
        forward.train()
        shuffles = [
            torch.Generator().manual_seed(derive_seed(c.seed, "shuffle", epoch)) for c in configs
        ]
        loss_sum = torch.zeros(k, device=device, dtype=torch.float64)
        correct = torch.zeros(k, device=device, dtype=torch.int64)
        for x, y in models.train_batches(
            data.train_images,
            data.train_labels,
            config.optimizer.batch_size,
            shuffles,
            config.data.augment,
            config.data.epoch_images,
        ):
            for injector, generator in zip(injectors, noise_generators, strict=False):
                injector.before_step(generator)
            with autocast(precision, device):
                out = forward(_model_input(x, dtype, memory_format))
            if k == 1:
                loss = F.cross_entropy(_full_precision(out), y)
                seed_losses = loss.detach()
                hits = (out.argmax(1) == y).sum()
            else:
                # Each seed's mean loss; their sum gives each seed's parameters exactly
                # the gradient of its own loss (the seeds share no parameter).
                logits = _split_logits(out, k)
                per_seed = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")
                seed_losses = per_seed.mean(0)
                loss = seed_losses.sum()
                seed_losses = seed_losses.detach()
                hits = (logits.argmax(2) == y).sum(0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if gradient_pruner is not None:
                gradient_pruner.mask_gradients()
            optimizer.step()
            loss_sum += seed_losses * y.shape[0]
            correct += hits
            step += 1
        totals = torch.stack([loss_sum, correct.to(torch.float64)]).tolist()  # one sync
        records = [
            {
                "epoch": epoch,
                "lr": learning_rate(config, epoch),
                "train_loss": totals[0][i] / n_epoch,
                "train_acc": 100.0 * totals[1][i] / n_epoch,
            }
            for i in range(k)
        ]

        todays = events_at.get(epoch, [])
        if todays:
            pre = evaluate_all(instability_images, instability_labels)
            for record, result in zip(records, pre, strict=True):
                record["pre_test_acc"], record["pre_test_loss"] = result.accuracy, result.loss
            for event in todays:
                for i, c in enumerate(configs):
                    selection = torch.Generator().manual_seed(
                        derive_seed(c.seed, "select", epoch, event.layer)
                    )
                    if pruners:
                        view = models.optimizer_view(optimizer, i)
                        event_records[i].append(pruners[i].prune(event, view, selection))
                    else:
                        event_records[i].append(
                            injectors[i].on_event(event, selection, noise_generators[i])
                        )
        post = evaluate_all(instability_images, instability_labels)
        full = None
        full_from = max(train_eval_from, config.data.full_test_from)
        if separate_final_set and (epoch >= full_from or epoch == config.epochs - 1):
            full = evaluate_all(data.test_images, data.test_labels)
        validation = train_eval = None
        if data.validation_labels.numel():
            validation = evaluate_all(data.validation_images, data.validation_labels)
        if config.data.train_eval_images and epoch >= train_eval_from:
            n = min(config.data.train_eval_images, n_train)
            train_eval = evaluate_all(data.train_images[:n], data.train_labels[:n])
        for i, record in enumerate(records):
            record["test_acc"], record["test_loss"] = post[i].accuracy, post[i].loss
            if full is not None:
                record["full_test_acc"], record["full_test_loss"] = full[i].accuracy, full[i].loss
            record["pruned"] = bool(todays)
            if todays:
                drop = record["pre_test_acc"] - post[i].accuracy
                record["instability"] = abs(drop)
                record["relative_instability"] = 100.0 * drop / max(record["pre_test_acc"], 1e-12)
                record["pruned_layers"] = [event.layer for event in todays]
            record["pruned_units"] = pruners[i].pruned_counts() if pruners else []
            if validation is not None:
                record["validation_acc"] = validation[i].accuracy
            if train_eval is not None:
                record["train_eval_acc"] = train_eval[i].accuracy
            epoch_records[i].append(record)
        bar.update(1)
        bar.set_postfix(test=f"{post[0].accuracy:.1f}", train=f"{records[0]['train_acc']:.1f}")
        if on_epoch_end is not None:
            on_epoch_end(epoch, records)
        now = time.monotonic()
        if (
            checkpoint is not None
            and epoch + 1 < config.epochs
            and now - last_checkpoint >= checkpoint_interval_s
        ):
            model_states = models.model_states(copy=k > 1)
            optimizer_states = models.optimizer_states(optimizer)
            checkpoint(
                [
                    {
                        "epoch": epoch + 1,
                        "step": step,
                        "model": model_states[i],
                        "optimizer": optimizer_states[i],
                        "noise": injectors[i].state_dict() if injectors else {},
                        "noise_generator": noise_generators[i].get_state(),
                        "epoch_records": epoch_records[i],
                        "event_records": event_records[i],
                        "train_seconds": seconds_before[i] + (now - started) / k,
                    }
                    for i in range(k)
                ]
            )
            last_checkpoint = now
    bar.close()
    elapsed = time.monotonic() - started
    report = {
        "precision": precision,
        "channels_last": memory_format == torch.channels_last,
        "compile": execution.compile_backend,
        "seeds_trained_together": k,
    }
    model_states = models.model_states(copy=k > 1)
    return [
        {
            "epochs": epoch_records[i],
            "events": event_records[i],
            "summary": _summarize(config, epoch_records[i]),
            # A group's wall time is shared equally by its seeds.
            "train_seconds": seconds_before[i] + elapsed / k,
            "execution": report,
            "model_state": model_states[i],
        }
        for i in range(k)
    ]
