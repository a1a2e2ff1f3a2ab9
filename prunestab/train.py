"""One training run with iterative pruning, and the measurements the paper makes of it.

The loop follows the authors' timing (book/authors_code.md, section 4): at the end of each 0-based epoch
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
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from prunestab import preempt
from prunestab.config import RunConfig
from prunestab.data import CIFAR10, eval_batches, train_batches
from prunestab.folding import FoldedEval
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
    not generate code). ``fold_batchnorm``: evaluate with each BatchNorm folded into the
    convolution before it (``prunestab.folding``; eager runs only, about 1.3x faster
    evaluation on CPUs, logits equal to rounding).
    """

    channels_last: bool | None = None
    compile: bool | str = False
    fold_batchnorm: bool = True

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
PLAIN = Execution(channels_last=False, compile=False, fold_batchnorm=False)


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


def model_input(x: torch.Tensor, dtype: torch.dtype, memory_format) -> torch.Tensor:
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
    part: torch.Tensor | None = None,
) -> tuple[list[Evaluation], list[Evaluation] | None]:
    """Eval-mode top-1 accuracy (%) and mean loss of every seed over all ``images``, and
    over the images at positions ``part`` among them from the same forward passes
    (``None`` without ``part``), with one device sync.

    A network in eval mode treats each image on its own, so the part's accuracies are
    exactly those of evaluating its images alone; its mean losses agree to rounding (the
    per-image losses are summed in another grouping).
    """
    forward.eval()
    k = models.seeds
    dtype = _parameter_dtype(models.module)
    correct = torch.zeros(k, device=images.device, dtype=torch.int64)
    loss_sum = torch.zeros(k, device=images.device, dtype=torch.float64)
    part_correct, part_loss = torch.zeros_like(correct), torch.zeros_like(loss_sum)
    chosen = None
    if part is not None:
        chosen = torch.zeros(labels.numel(), dtype=torch.bool, device=images.device)
        chosen[part] = True
    start = 0
    for x, y in eval_batches(images, labels, EVAL_BATCH_SIZE):
        with autocast(precision, images.device):
            out = forward(model_input(models.eval_input(x), dtype, memory_format))
        logits = _split_logits(out, k)
        targets = y[:, None].expand(-1, k)
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        hits = logits.argmax(2) == targets
        loss_sum += losses.sum(0)
        correct += hits.sum(0)
        if chosen is not None:  # masks, not boolean indexing: no device sync per batch
            here = chosen[start : start + y.numel(), None]
            part_loss += torch.where(here, losses, 0.0).sum(0)
            part_correct += (hits & here).sum(0)
        start += y.numel()
    sums = torch.stack(
        [correct.to(torch.float64), loss_sum, part_correct.to(torch.float64), part_loss]
    )
    values = sums.tolist()  # one sync
    whole = _evaluations(values[0], values[1], labels.numel())
    if part is None:
        return whole, None
    return whole, _evaluations(values[2], values[3], part.numel())


def _evaluations(correct: list[float], losses: list[float], n: int) -> list[Evaluation]:
    return [Evaluation(100.0 * c / n, s / n) for c, s in zip(correct, losses, strict=True)]


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str = "fp32",
    memory_format: torch.memory_format = torch.contiguous_format,
) -> Evaluation:
    """Eval-mode top-1 accuracy (%) and mean loss of one model over the whole set."""
    single = SingleModel(model)
    return evaluate_seeds(single, model, images, labels, precision, memory_format)[0][0]


def _summarize(config: RunConfig, epochs: list[dict]) -> dict:
    """Per-run aggregates used by the figures (book/authors_code.md, section 5)."""
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


@dataclass(frozen=True)
class RunOptions:
    """How a training call behaves around the experiment (none of it changes results).

    ``resume``: states previously passed to ``checkpoint`` (one per seed); ``checkpoint``
    is called with one state per seed at most every ``checkpoint_interval_s`` seconds
    (not after the last epoch: the caller stores the result); ``on_epoch_end(epoch,
    records)`` is for tests and UIs; ``execution`` chooses layout and compilation;
    ``should_stop()`` is asked after every epoch but the last: when it answers ``True``
    the epoch is checkpointed at once and ``prunestab.preempt.Preempted`` raised (by
    default it is ``prunestab.preempt.requested``, ``False`` unless a cluster worker was
    signalled).
    """

    resume: list[dict] | None = None
    checkpoint: Callable[[list[dict]], None] | None = None
    checkpoint_interval_s: float = 60.0
    progress: bool | None = None
    on_epoch_end: Callable[[int, list[dict]], None] | None = None
    execution: Execution | None = None
    should_stop: Callable[[], bool] | None = preempt.requested


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
    options = RunOptions(
        resume=None if resume is None else [resume],
        checkpoint=None if checkpoint is None else (lambda states: checkpoint(states[0])),
        checkpoint_interval_s=checkpoint_interval_s,
        progress=progress,
        on_epoch_end=None if on_epoch_end is None else (lambda e, rs: on_epoch_end(e, rs[0])),
        execution=execution,
    )
    return train_group([config], SingleModel(model), data, options)[0]


def train_group(
    configs: Sequence[RunConfig],
    models: ModelSet,
    data: CIFAR10,
    options: RunOptions | None = None,
) -> list[dict]:
    """Train the seeds of ``models`` (one per config, same config but the seed) in lockstep.

    The paper's loop, epoch by epoch: training steps, then the epoch's pruning (or noise)
    events between an evaluation before and after them, then the records. It is the
    single loop behind :func:`train_run` (one seed) and ``prunestab.batched.train_seeds``
    (a grouped model); each seed keeps its own generators, intervention, events and
    records, and the result holds one :func:`train_run`-style result per config.
    """
    loop = _Training(configs, models, data, options or RunOptions())
    for epoch in range(loop.start_epoch, loop.config.epochs):
        records = loop.train_epoch(epoch)
        events = loop.events_at.get(epoch, [])
        if events:
            loop.evaluate_before_events(records)
            loop.apply_events(epoch, events)
        loop.evaluate_after_epoch(epoch, records, events)
        loop.end_epoch(epoch, records)
    return loop.results()


def _folded_eval(module: nn.Module, execution: Execution) -> FoldedEval | None:
    """The folded evaluation network, where the execution asks for it and it applies
    (an eager model with convolution -> BatchNorm pairs that ``torch.fx`` can trace).

    A model ``torch.fx`` cannot trace is evaluated unfolded, with a warning that says why;
    its result records ``execution.fold_batchnorm: false``.
    """
    if not execution.fold_batchnorm or execution.compile_backend is not None:
        return None
    try:
        folded = FoldedEval(module)
    except ValueError as err:
        warnings.warn(f"evaluating without BatchNorm folding: {err}", stacklevel=2)
        return None
    return folded if folded.pairs else None


class _Training:
    """The state of one :func:`train_group` call and its named steps."""

    def __init__(self, configs, models: ModelSet, data: CIFAR10, options: RunOptions) -> None:
        self.configs, self.models, self.data, self.options = configs, models, data, options
        self.config = config = configs[0]
        self.k = models.seeds
        self.execution = options.execution or Execution()
        self.device = device = data.device
        self.precision = resolve_precision(config.precision, device)
        self.memory_format = self.execution.memory_format(config.model, device)
        self.dtype = _parameter_dtype(models.module)
        self.gradient_pruner, self.interventions = _interventions(config, models)
        events = self.interventions[0].events() if self.interventions else []
        self.events_at: dict[int, list] = {}
        for event in events:
            self.events_at.setdefault(event.epoch, []).append(event)
        self.optimizer = make_optimizer(models.module.parameters(), config, device)
        self.noise_generators = [
            torch.Generator(device=device).manual_seed(derive_seed(c.seed, "noise"))
            for c in configs
        ]
        self.epoch_records: list[list[dict]] = [[] for _ in range(self.k)]
        self.event_records: list[list[dict]] = [[] for _ in range(self.k)]
        self.start_epoch, self.step, self.seconds_before = 0, 0, [0.0] * self.k
        if options.resume is not None:
            self._resume(options.resume)
        self.forward = compile_module(models.module, self.execution.compile_backend)
        self.folded = _folded_eval(models.module, self.execution)
        self.n_train = data.train_labels.numel()
        # Images trained per epoch: all of them, or the epoch's draw (DataConfig.epoch_images).
        self.n_epoch = min(self.n_train, config.data.epoch_images or self.n_train)
        # The summary picks its best epoch from the last pruning event on (and Figure 2
        # reads its gap there): eval-mode training accuracy is only needed from then on.
        self.train_eval_from = max((event.epoch for event in events), default=0)
        self.full_test_from = max(self.train_eval_from, config.data.full_test_from)
        self.instability_set = data.instability_set()
        self.separate_final_set = data.instability_images is not None
        show = sys.stderr.isatty() if options.progress is None else options.progress
        label = config.display_label() + (f" ({self.k} seeds)" if self.k > 1 else "")
        self.bar = tqdm(
            total=config.epochs, initial=self.start_epoch, desc=label, disable=not show, leave=False
        )
        self.started = self.last_checkpoint = time.monotonic()

    def _resume(self, states: list[dict]) -> None:
        epochs_done = {state["epoch"] for state in states}
        if len(epochs_done) != 1:
            raise ValueError(f"resume states are at epochs {sorted(epochs_done)}; allowed: one")
        for model, state in zip(self.models.seed_models, states, strict=True):
            model.load_state_dict(state["model"])
        self.models.load_optimizer_states(self.optimizer, [state["optimizer"] for state in states])
        for i, state in enumerate(states):
            if self.interventions:
                self.interventions[i].load_state_dict(state["noise"])
            self.noise_generators[i].set_state(state["noise_generator"])
            self.epoch_records[i] = list(state["epoch_records"])
            self.event_records[i] = list(state["event_records"])
            self.seconds_before[i] = state["train_seconds"]
        self.start_epoch, self.step = states[0]["epoch"], states[0]["step"]

    def evaluate(
        self, images: torch.Tensor, labels: torch.Tensor, part: torch.Tensor | None = None
    ) -> tuple[list[Evaluation], list[Evaluation] | None]:
        """Each seed's evaluation on ``images``, and on the images at ``part`` among them."""
        forward = self.forward if self.folded is None else self.folded.refresh()
        return evaluate_seeds(
            self.models, forward, images, labels, self.precision, self.memory_format, part
        )

    def train_epoch(self, epoch: int) -> list[dict]:
        """One epoch of training steps; the records of its running loss and accuracy."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, epoch)
        self.forward.train()
        shuffles = [
            torch.Generator().manual_seed(derive_seed(c.seed, "shuffle", epoch))
            for c in self.configs
        ]
        loss_sum = torch.zeros(self.k, device=self.device, dtype=torch.float64)
        correct = torch.zeros(self.k, device=self.device, dtype=torch.int64)
        batches = self.models.train_batches(
            self.data.train_images,
            self.data.train_labels,
            self.config.optimizer.batch_size,
            shuffles,
            self.config.data.augment,
            self.config.data.epoch_images,
        )
        for x, y in batches:
            seed_losses, hits = self.train_step(x, y)
            loss_sum += seed_losses * y.shape[0]
            correct += hits
        totals = torch.stack([loss_sum, correct.to(torch.float64)]).tolist()  # one sync
        return [
            {
                "epoch": epoch,
                "lr": learning_rate(self.config, epoch),
                "train_loss": totals[0][i] / self.n_epoch,
                "train_acc": 100.0 * totals[1][i] / self.n_epoch,
            }
            for i in range(self.k)
        ]

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step; each seed's mean loss and correct count (on the device)."""
        for intervention, generator in zip(self.interventions, self.noise_generators, strict=False):
            intervention.before_step(generator)
        with autocast(self.precision, self.device):
            out = self.forward(model_input(x, self.dtype, self.memory_format))
        if self.k == 1:
            loss = F.cross_entropy(_full_precision(out), y)
            seed_losses, hits = loss.detach(), (out.argmax(1) == y).sum()
        else:
            # Each seed's mean loss; their sum gives each seed's parameters exactly the
            # gradient of its own loss (the seeds share no parameter).
            logits = _split_logits(out, self.k)
            per_seed = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(0)
            loss, seed_losses = per_seed.sum(), per_seed.detach()
            hits = (logits.argmax(2) == y).sum(0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.gradient_pruner is not None:
            self.gradient_pruner.mask_gradients()
        self.optimizer.step()
        self.step += 1
        return seed_losses, hits

    def evaluate_before_events(self, records: list[dict]) -> None:
        results = self.evaluate(*self.instability_set)[0]
        for record, result in zip(records, results, strict=True):
            record["pre_test_acc"], record["pre_test_loss"] = result.accuracy, result.loss

    def apply_events(self, epoch: int, events: list) -> None:
        """Each seed's intervention (pruning or noise) at each of this epoch's events."""
        for event in events:
            for i, config in enumerate(self.configs):
                selection = torch.Generator().manual_seed(
                    derive_seed(config.seed, "select", epoch, event.layer)
                )
                optimizer = self.models.optimizer_view(self.optimizer, i)
                record = self.interventions[i].apply(
                    event, optimizer, selection, self.noise_generators[i]
                )
                self.event_records[i].append(record)

    def evaluate_after_epoch(self, epoch: int, records: list[dict], events: list) -> None:
        """Test accuracy after the epoch (and its events), plus what the summary reads."""
        full = validation = train_eval = None
        if self.separate_final_set and (
            epoch >= self.full_test_from or epoch == self.config.epochs - 1
        ):
            # The instability set is part of the test set: one pass over the test set
            # gives both (its accuracies exactly; one pass fewer on every such epoch).
            positions = self.data.instability_positions
            full, post = self.evaluate(self.data.test_images, self.data.test_labels, positions)
            if post is None:
                post = self.evaluate(*self.instability_set)[0]
        else:
            post = self.evaluate(*self.instability_set)[0]
        if self.data.validation_labels.numel():
            validation = self.evaluate(self.data.validation_images, self.data.validation_labels)[0]
        if self.config.data.train_eval_images and epoch >= self.train_eval_from:
            n = min(self.config.data.train_eval_images, self.n_train)
            images, labels = self.data.train_images[:n], self.data.train_labels[:n]
            train_eval = self.evaluate(images, labels)[0]
        for i, record in enumerate(records):
            record["test_acc"], record["test_loss"] = post[i].accuracy, post[i].loss
            if full is not None:
                record["full_test_acc"], record["full_test_loss"] = full[i].accuracy, full[i].loss
            record["pruned"] = bool(events)
            if events:
                drop = record["pre_test_acc"] - post[i].accuracy
                record["instability"] = abs(drop)
                record["relative_instability"] = 100.0 * drop / max(record["pre_test_acc"], 1e-12)
                record["pruned_layers"] = [event.layer for event in events]
            record["pruned_units"] = (
                self.interventions[i].pruned_counts() if self.interventions else []
            )
            if validation is not None:
                record["validation_acc"] = validation[i].accuracy
            if train_eval is not None:
                record["train_eval_acc"] = train_eval[i].accuracy

    def end_epoch(self, epoch: int, records: list[dict]) -> None:
        """Keep the records, show progress, and checkpoint when it is due."""
        for i, record in enumerate(records):
            self.epoch_records[i].append(record)
        self.bar.update(1)
        self.bar.set_postfix(
            test=f"{records[0]['test_acc']:.1f}", train=f"{records[0]['train_acc']:.1f}"
        )
        if self.options.on_epoch_end is not None:
            self.options.on_epoch_end(epoch, records)
        now = time.monotonic()
        more = epoch + 1 < self.config.epochs
        stop = more and self.options.should_stop is not None and self.options.should_stop()
        due = now - self.last_checkpoint >= self.options.checkpoint_interval_s
        if self.options.checkpoint is not None and more and (due or stop):
            self.options.checkpoint(self.states(epoch + 1, now))
            self.last_checkpoint = now
        if stop:
            raise preempt.Preempted(epoch + 1)

    def states(self, next_epoch: int, now: float) -> list[dict]:
        """One resumable :func:`train_run` state per seed."""
        model_states = self.models.model_states(copy=self.k > 1)
        optimizer_states = self.models.optimizer_states(self.optimizer)
        return [
            {
                "epoch": next_epoch,
                "step": self.step,
                "model": model_states[i],
                "optimizer": optimizer_states[i],
                "noise": self.interventions[i].state_dict() if self.interventions else {},
                "noise_generator": self.noise_generators[i].get_state(),
                "epoch_records": self.epoch_records[i],
                "event_records": self.event_records[i],
                "train_seconds": self.seconds_before[i] + (now - self.started) / self.k,
            }
            for i in range(self.k)
        ]

    def results(self) -> list[dict]:
        self.bar.close()
        elapsed = time.monotonic() - self.started
        report = {
            "precision": self.precision,
            "channels_last": self.memory_format == torch.channels_last,
            "compile": self.execution.compile_backend,
            "fold_batchnorm": self.folded is not None,
            "seeds_trained_together": self.k,
        }
        model_states = self.models.model_states(copy=self.k > 1)
        return [
            {
                "epochs": self.epoch_records[i],
                "events": self.event_records[i],
                "summary": _summarize(self.config, self.epoch_records[i]),
                # A group's wall time is shared equally by its seeds.
                "train_seconds": self.seconds_before[i] + elapsed / self.k,
                "execution": report,
                "model_state": model_states[i],
            }
            for i in range(self.k)
        ]


def _interventions(config: RunConfig, models: ModelSet) -> tuple[Pruner | None, list]:
    """The gradient pruner of the trained module (pruning only) and each seed's
    :class:`~prunestab.pruning.Intervention`: its :class:`Pruner` or :class:`NoiseInjector`.

    The gradient pruner owns the masks of the trained module; each seed's pruner then
    finds its share of them (views, for a grouped model) on its own model.
    """
    if config.pruning is None:
        return None, []
    if config.noise is not None:
        return None, [NoiseInjector(m, config.pruning, config.noise) for m in models.seed_models]
    gradient_pruner = Pruner(models.module, config.pruning)
    models.share_masks(gradient_pruner)
    return gradient_pruner, [Pruner(m, config.pruning) for m in models.seed_models]
