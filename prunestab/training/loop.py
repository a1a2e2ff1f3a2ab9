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

:func:`train_run` trains one seed. ``prunestab.training.batched.train_seeds`` trains several seeds
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

from prunestab.config import RunConfig
from prunestab.data import CIFAR10, eval_batches, train_batches
from prunestab.models import build
from prunestab.noise import NoiseInjector
from prunestab.pruning import Pruner
from prunestab.training import preempt
from prunestab.training.folding import FoldedEval

EVAL_BATCH_SIZE = 500

#: Models whose convolutions oneDNN runs faster in channels_last on CPUs (measured with
#: ``benchmarks/epoch_throughput.py`` on a 2-core AVX2 machine: ResNet18 about 1.5x, VGG
#: about 1.1x). Conv4's small convolutions gain nothing, and it stays in the default
#: layout so the CPU plain path and fast path share their kernels there.
CPU_CHANNELS_LAST_MODELS = frozenset({"vgg11", "vgg19", "resnet18"})


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed for one purpose (``"shuffle", epoch`` ...) derived from the run seed.

    Args:
        seed: the run's seed (``RunConfig.seed``).
        keys: what the seed is for, e.g. ``"init"``, ``"shuffle", epoch`` or
            ``"select", epoch, layer``; joined with ``seed`` as text, so ``1`` and ``"1"``
            give the same seed.

    Returns:
        A non-negative integer below ``2**63``, for ``torch.Generator.manual_seed``.

    >>> derive_seed(0, "shuffle", 3)
    6492327720777525038
    >>> derive_seed(0, "shuffle", 3) != derive_seed(1, "shuffle", 3)
    True
    """
    text = ":".join(str(k) for k in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def learning_rate(config: RunConfig, epoch: int) -> float:
    """Adam's rate during ``epoch``: x ``lr_decay`` after each milestone passed (lr_s, A.3).

    Equivalent to ``MultiStepLR`` stepped once per epoch after pruning; computed directly
    so a resumed run needs no scheduler state.

    Args:
        config: the run (its ``optimizer``'s ``lr``, ``lr_milestones`` and ``lr_decay``).
        epoch: the 0-based epoch.

    Returns:
        The learning rate for every step of ``epoch``.

    >>> config = RunConfig("vgg11", epochs=325)
    >>> [learning_rate(config, epoch) for epoch in (0, 149, 150)]
    [0.001, 0.001, 0.0001]
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

    Args:
        precision: ``RunConfig.precision``: ``"auto"``, ``"fp32"`` or ``"bf16"``.
        device: where the run trains.

    Returns:
        ``"fp32"`` or ``"bf16"``.

    >>> resolve_precision("auto", "cpu"), resolve_precision("bf16", "cpu")
    ('fp32', 'bf16')
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

    Attributes:
        channels_last: activations and weights in channels-last layout; ``None`` chooses
            per device and model (always on CUDA; on CPUs for
            :data:`CPU_CHANNELS_LAST_MODELS`; :meth:`memory_format`).
        compile: ``False``; ``True`` for ``torch.compile`` with inductor; or the name of
            another ``torch.compile`` backend (tests use ``"aot_eager"``, which traces and
            guards exactly like inductor but does not generate code).
        fold_batchnorm: evaluate with each BatchNorm folded into the convolution before
            it (``prunestab.training.folding``; eager runs only, about 1.3x faster evaluation on
            CPUs, logits equal to rounding).
    """

    channels_last: bool | None = None
    compile: bool | str = False
    fold_batchnorm: bool = True

    def memory_format(self, model: str, device: torch.device | str) -> torch.memory_format:
        """The layout of activations (and of the model's tensors) for ``model`` on ``device``.

        Args:
            model: the model's name (``RunConfig.model``).
            device: where the run trains.

        Returns:
            ``torch.channels_last`` or ``torch.contiguous_format``.

        >>> Execution().memory_format("vgg11", "cpu"), Execution().memory_format("conv4", "cpu")
        (torch.channels_last, torch.contiguous_format)
        """
        use = self.channels_last
        if use is None:
            kind = torch.device(device).type
            use = kind == "cuda" or (kind == "cpu" and model in CPU_CHANNELS_LAST_MODELS)
        return torch.channels_last if use else torch.contiguous_format

    @property
    def compile_backend(self) -> str | None:
        """The ``torch.compile`` backend asked for, or ``None`` for eager runs.

        Returns:
            ``"inductor"`` for ``compile=True``, the backend's name when ``compile`` names
            one, ``None`` when it is ``False`` (or empty).

        >>> Execution(compile=True).compile_backend, PLAIN.compile_backend
        ('inductor', None)
        """
        if self.compile is True:
            return "inductor"
        return self.compile or None


#: The plain path: eager, default memory layout (pair it with ``precision="fp32"``).
PLAIN = Execution(channels_last=False, compile=False, fold_batchnorm=False)


@dataclass(frozen=True)
class Evaluation:
    """One model's top-1 ``accuracy`` (percent) and mean cross-entropy ``loss`` on a set."""

    accuracy: float
    loss: float


def autocast(precision: str, device: torch.device):
    """bf16 autocast for ``precision="bf16"`` (resolved), else nothing.

    Args:
        precision: a resolved precision (:func:`resolve_precision`): ``"fp32"`` or ``"bf16"``.
        device: where the forward pass runs.

    Returns:
        A context manager.

    >>> with autocast("fp32", torch.device("cpu")):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.float32
    """
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def make_optimizer(parameters, config: RunConfig, device: torch.device) -> torch.optim.Adam:
    """Adam at the config's rate, without weight decay (A.3).

    On GPUs the fused implementation updates every parameter in one kernel instead of
    about ten kernels per parameter tensor. Adam without weight decay is elementwise, so
    a grouped model's parameters (``prunestab.training.batched``) get exactly each seed's update.

    Args:
        parameters: the parameters to train.
        config: the run (its ``optimizer.lr``).
        device: where they train (fused on CUDA).

    Returns:
        The optimizer; :func:`train_group` sets its rate every epoch (:func:`learning_rate`).

    >>> optimizer = make_optimizer(nn.Linear(2, 2).parameters(), RunConfig("vgg11", 1), torch.device("cpu"))
    >>> optimizer.defaults["lr"], optimizer.defaults["weight_decay"]
    (0.001, 0)
    """
    fused = True if device.type == "cuda" else None
    return torch.optim.Adam(parameters, lr=config.optimizer.lr, fused=fused)


def init_model(config: RunConfig, device: torch.device, memory_format: torch.memory_format):
    """The run's model at initialisation: seeded by ``derive_seed(seed, "init")``.

    Args:
        config: the run (its ``model``, ``width`` and ``seed``).
        device: where the model is placed.
        memory_format: the layout of its tensors (:meth:`Execution.memory_format`).

    Returns:
        The model; the same config gives the same weights.

    Raises:
        ValueError: the model name is unknown (``prunestab.models.build``).

    >>> config = RunConfig("conv4", epochs=1, width=0.125)
    >>> a, b = (init_model(config, torch.device("cpu"), torch.contiguous_format) for _ in "ab")
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    torch.manual_seed(derive_seed(config.seed, "init"))
    return build(config.model, config.width).to(device, memory_format=memory_format)


def compile_module(module: nn.Module, backend: str | None) -> nn.Module:
    """``module`` compiled with ``backend`` (``None``: the module itself).

    ``dynamic=False``: the few batch sizes of a run (the batch, the epoch's last batch,
    the evaluation batch) each get a static graph, compiled once, instead of one dynamic
    graph that inductor optimises less well. Train and eval mode are two more graphs.

    Args:
        module: the module to run.
        backend: a ``torch.compile`` backend (:attr:`Execution.compile_backend`) or ``None``.

    Returns:
        The module to call: compiled lazily, on its first call.

    >>> net = nn.Linear(2, 2)
    >>> compile_module(net, None) is net
    True
    """
    if backend is None:
        return module
    return torch.compile(module, backend=backend, dynamic=False)


class ModelSet(Protocol):
    """What :func:`train_group` trains: ``seeds`` models realised as one module.

    Two realisations: :class:`SingleModel` (one seed) and ``prunestab.training.batched.SeedGroup``.

    Attributes:
        seeds: the number of seeds ``K``.
        module: the module trained and evaluated; it maps a batch to logits
            ``[B, seeds * classes]``.
        seed_models: seed ``k``'s model at ``k``, sharing its tensors with ``module``;
            pruning and noise act on these.
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
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``module``'s batches; seed ``k`` shuffles with ``generators[k]``
        (arguments as ``prunestab.data.train_batches``)."""
        ...

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """``module``'s input for an evaluation batch ``x`` that every seed sees."""
        ...

    def share_masks(self, pruner: Pruner) -> None:
        """Let each seed model see its part of the masks ``pruner`` put on ``module``."""
        ...

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any:
        """What seed ``seed``'s pruner edits: an object whose ``state`` maps its
        parameters to their optimizer state (views of ``optimizer``'s)."""
        ...

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]:
        """Per seed, the ``state_dict()`` an optimizer of its own would have."""
        ...

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]):
        """Load per-seed states as :meth:`optimizer_states` gives them."""
        ...

    def model_states(self, copy: bool) -> list[dict]:
        """Per seed, its model's ``state_dict()`` (on the CPU with ``copy``)."""
        ...


class SingleModel:
    """The one-seed :class:`ModelSet`: the model itself.

    Args:
        model: the model to train.

    Attributes:
        seeds: 1.
        module: ``model``.
        seed_models: ``[model]``.

    >>> single = SingleModel(nn.Linear(2, 3))
    >>> single.seeds, single.seed_models[0] is single.module
    (1, True)
    """

    seeds = 1

    def __init__(self, model: nn.Module) -> None:
        self.module = model
        self.seed_models = [model]

    def train_batches(self, images, labels, batch_size, generators, augment_images, epoch_images):
        """``prunestab.data.train_batches`` with the one generator."""
        return train_batches(
            images, labels, batch_size, generators[0], augment_images, epoch_images
        )

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` itself."""
        return x

    def share_masks(self, pruner: Pruner) -> None:
        """Nothing to share: the seed's pruner finds the masks on the model itself."""

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any:
        """The optimizer itself."""
        return optimizer

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]:
        """``[optimizer.state_dict()]``."""
        return [optimizer.state_dict()]

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]):
        """Load ``states[0]``."""
        optimizer.load_state_dict(states[0])

    def model_states(self, copy: bool) -> list[dict]:
        """``[model.state_dict()]``: its own tensors, or CPU copies with ``copy``."""
        state = self.module.state_dict()
        if copy:
            state = {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
        return [state]


def _parameter_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of ``module``'s parameters: float32, or float64 for tests that need
    results equal to rounding error (build the model under ``torch.set_default_dtype``)."""
    return next(module.parameters()).dtype


def model_input(x: torch.Tensor, dtype: torch.dtype, memory_format) -> torch.Tensor:
    """A batch in the model's dtype and layout (no copy when it already is).

    Args:
        x: a normalised batch ``[B, C, H, W]``.
        dtype: the model's parameter dtype.
        memory_format: the model's layout (:meth:`Execution.memory_format`).

    Returns:
        ``x`` converted, or ``x`` itself.

    >>> x = torch.zeros(2, 3, 4, 4)
    >>> model_input(x, torch.float32, torch.contiguous_format) is x
    True
    """
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

    Args:
        models: the seeds (:class:`SingleModel` or ``prunestab.training.batched.SeedGroup``).
        forward: the module to call: ``models.module``, compiled or folded.
        images: uint8 images ``[N, 3, H, W]`` on the model's device.
        labels: their int64 labels ``[N]``.
        precision: a resolved precision (:func:`resolve_precision`).
        memory_format: the model's layout.
        part: positions among ``images`` of a subset to report too, or ``None``.

    Returns:
        One :class:`Evaluation` per seed over all images, and one per seed over ``part``
        (``None`` without ``part``).

    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 10))
    >>> images = torch.randint(0, 256, (6, 3, 2, 2), dtype=torch.uint8)
    >>> labels = torch.arange(6)
    >>> whole, part = evaluate_seeds(
    ...     SingleModel(net), net, images, labels, "fp32", torch.contiguous_format, torch.tensor([0, 1])
    ... )
    >>> len(whole), len(part), 0 <= whole[0].accuracy <= 100
    (1, 1, True)
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
    """Eval-mode top-1 accuracy (%) and mean loss of one model over the whole set.

    Args:
        model: the model (left in eval mode).
        images: uint8 images ``[N, 3, H, W]`` on the model's device.
        labels: their int64 labels ``[N]``.
        precision: a resolved precision (:func:`resolve_precision`).
        memory_format: the model's layout.

    Returns:
        The model's :class:`Evaluation`.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 10))
    >>> nn.init.zeros_(net[1].weight) is not None and nn.init.zeros_(net[1].bias) is not None
    True
    >>> result = evaluate(net, torch.zeros(10, 3, 2, 2, dtype=torch.uint8), torch.arange(10))
    >>> result.accuracy, round(result.loss, 4)  # equal logits: the first class, loss ln 10
    (10.0, 2.3026)
    """
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

    Attributes:
        resume: states previously passed to ``checkpoint`` (one per seed); ``None``:
            start from epoch 0.
        checkpoint: called with one resumable state per seed at most every
            ``checkpoint_interval_s`` seconds (not after the last epoch: the caller stores
            the result); ``None``: no checkpoints.
        checkpoint_interval_s: the least time between checkpoints, in seconds.
        progress: show an epoch bar (``None``: when stderr is a terminal).
        on_epoch_end: ``on_epoch_end(epoch, records)`` after each epoch (one record per
            seed), for tests and UIs.
        execution: layout and compilation (``None``: ``Execution()``).
        should_stop: asked after every epoch but the last; when it answers ``True`` the
            epoch is checkpointed at once and ``prunestab.training.preempt.Preempted`` raised (by
            default ``prunestab.training.preempt.requested``, ``False`` unless a cluster worker was
            signalled; ``None``: never stop early).
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

    Args:
        config: the run.
        data: the dataset, on the device the run trains on.
        resume: a state previously passed to ``checkpoint``; training continues from it
            exactly as it would have gone on.
        checkpoint: called with a resumable state at most every ``checkpoint_interval_s``
            seconds (not after the last epoch: the caller stores the result).
        checkpoint_interval_s: the least time between checkpoints.
        progress: show an epoch bar (``None``: when stderr is a terminal).
        on_epoch_end: ``on_epoch_end(epoch, record)`` after each epoch, for tests and UIs.
        execution: layout and compilation (default: ``Execution()``); never the results.

    Returns:
        ``epochs`` (one record per epoch: ``train_loss``, ``train_acc``, ``test_acc``,
        ``pre_test_acc`` and ``instability`` on pruning epochs ...), ``events`` (one
        record per pruning or noise event), ``summary`` (the figures' aggregates),
        ``train_seconds``, ``execution`` (the settings used) and ``model_state`` (the
        final weights).

    Raises:
        ValueError: the pruning schedule does not fit the model (``Pruner`` names both).
        prunestab.training.preempt.Preempted: a stop was requested in this process
            (``prunestab.training.preempt.listen``); the epoch was checkpointed first.

    Example (``tests/test_train.py`` runs such tiny configs on a fake CIFAR-10)::

        data = load_cifar10(config=DataConfig(train_subset=200, test_subset=100))
        result = train_run(RunConfig("vgg11", epochs=6, width=0.125), data)
        result["summary"]["final_test_acc"]
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
    single loop behind :func:`train_run` (one seed) and ``prunestab.training.batched.train_seeds``
    (a grouped model); each seed keeps its own generators, intervention, events and
    records, and the result holds one :func:`train_run`-style result per config.

    Args:
        configs: one run per seed of ``models``, equal but for the seed.
        models: the seeds' models (:class:`SingleModel` or ``prunestab.training.batched.SeedGroup``).
        data: the dataset, on the models' device.
        options: resume, checkpoints, progress and execution (:class:`RunOptions`).

    Returns:
        One :func:`train_run` result per config, in order.

    Raises:
        ValueError: ``options.resume`` holds states at different epochs, or the pruning
            schedule does not fit the model.
        prunestab.training.preempt.Preempted: ``options.should_stop()`` answered ``True``; the
            epoch was checkpointed first.
    """
    loop = _Training(configs, models, data, options or RunOptions())
    for epoch in range(loop.start_epoch, loop.config.epochs):
        records = loop.train_epoch(epoch)
        events = loop.interventions.at(epoch)
        if events:
            loop.measurement.before_events(records)
            loop.apply_events(epoch, events)
        loop.measurement.after_epoch(epoch, records, events, loop.interventions.pruned_counts())
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
    """One :func:`train_group` call: its pieces of state and the loop's named steps.

    The pieces: :class:`_Interventions` (each seed's pruning or noise and its events),
    :class:`_Optimization` (Adam and its step count), :class:`_History` (the records and
    the time they took), :class:`_Compute` (how the module runs), :class:`_Measurement`
    (the evaluations the paper reads) and :class:`_Checkpoints` (when to save or stop).
    They are built in this order; a resumed run loads its state before the module is
    compiled or folded.
    """

    def __init__(self, configs, models: ModelSet, data: CIFAR10, options: RunOptions) -> None:
        self.configs, self.models, self.data, self.options = configs, models, data, options
        self.config = config = configs[0]
        self.k = models.seeds
        self.interventions = _Interventions(configs, models, data.device)
        self.optimization = _Optimization(config, models, data.device)
        self.history = _History(self.k)
        self.start_epoch = 0
        if options.resume is not None:
            self._resume(options.resume)
        self.compute = _Compute(config, models, options.execution or Execution(), data.device)
        self.measurement = _Measurement(config, data, self.compute, self.interventions.last_epoch)
        n_train = data.train_labels.numel()
        # Images trained per epoch: all of them, or the epoch's draw (DataConfig.epoch_images).
        self.n_epoch = min(n_train, config.data.epoch_images or n_train)
        self.bar = _progress_bar(config, self.k, self.start_epoch, options.progress)
        self.history.started = now = time.monotonic()
        self.checkpoints = _Checkpoints(options, now)

    def _resume(self, states: list[dict]) -> None:
        epochs_done = {state["epoch"] for state in states}
        if len(epochs_done) != 1:
            raise ValueError(f"resume states are at epochs {sorted(epochs_done)}; allowed: one")
        for model, state in zip(self.models.seed_models, states, strict=True):
            model.load_state_dict(state["model"])
        self.optimization.load_states(states)
        for i, state in enumerate(states):
            self.interventions.load_state(i, state)
            self.history.load_state(i, state)
        self.start_epoch = states[0]["epoch"]

    def train_epoch(self, epoch: int) -> list[dict]:
        """One epoch of training steps; the records of its running loss and accuracy."""
        self.optimization.set_learning_rate(epoch)
        self.compute.forward.train()
        shuffles = [
            torch.Generator().manual_seed(derive_seed(c.seed, "shuffle", epoch))
            for c in self.configs
        ]
        loss_sum = torch.zeros(self.k, device=self.data.device, dtype=torch.float64)
        correct = torch.zeros(self.k, device=self.data.device, dtype=torch.int64)
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
        self.interventions.before_step()
        loss, seed_losses, hits = _training_loss(self.compute.logits(x), y, self.k)
        self.optimization.update(loss, self.interventions.mask_gradients)
        return seed_losses, hits

    def apply_events(self, epoch: int, events: list) -> None:
        """Each seed's intervention (pruning or noise) at each of this epoch's events."""
        optimizer = self.optimization.optimizer
        self.history.add_events(self.interventions.apply(epoch, events, optimizer))

    def end_epoch(self, epoch: int, records: list[dict]) -> None:
        """Keep the records, show progress, and checkpoint when it is due."""
        self.history.add_epoch(records)
        self.bar.update(1)
        self.bar.set_postfix(
            test=f"{records[0]['test_acc']:.1f}", train=f"{records[0]['train_acc']:.1f}"
        )
        if self.options.on_epoch_end is not None:
            self.options.on_epoch_end(epoch, records)
        self.checkpoints.after_epoch(
            epoch + 1, self.config.epochs, lambda now: self.states(epoch + 1, now)
        )

    def states(self, next_epoch: int, now: float) -> list[dict]:
        """One resumable :func:`train_run` state per seed."""
        model_states = self.models.model_states(copy=self.k > 1)
        optimizer_states = self.optimization.states()
        return [
            {
                "epoch": next_epoch,
                "step": self.optimization.step,
                "model": model_states[i],
                "optimizer": optimizer_states[i],
                **self.interventions.state(i),
                **self.history.state(i, now),
            }
            for i in range(self.k)
        ]

    def results(self) -> list[dict]:
        """One :func:`train_run` result per seed: the records, summary and settings used."""
        self.bar.close()
        now = time.monotonic()
        report = self.compute.report()
        model_states = self.models.model_states(copy=self.k > 1)
        return [
            self.history.result(i, self.config, now)
            | {"execution": report, "model_state": model_states[i]}
            for i in range(self.k)
        ]


def _progress_bar(config: RunConfig, seeds: int, start_epoch: int, progress: bool | None) -> tqdm:
    """The epoch bar: shown on a terminal unless ``progress`` says otherwise."""
    show = sys.stderr.isatty() if progress is None else progress
    label = config.display_label() + (f" ({seeds} seeds)" if seeds > 1 else "")
    return tqdm(total=config.epochs, initial=start_epoch, desc=label, disable=not show, leave=False)


def _training_loss(
    out: torch.Tensor, y: torch.Tensor, seeds: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The loss to differentiate, each seed's mean loss (detached) and correct count."""
    if seeds == 1:
        loss = F.cross_entropy(_full_precision(out), y)
        return loss, loss.detach(), (out.argmax(1) == y).sum()
    # Each seed's mean loss; their sum gives each seed's parameters exactly the gradient of
    # its own loss (the seeds share no parameter).
    logits = _split_logits(out, seeds)
    per_seed = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(0)
    return per_seed.sum(), per_seed.detach(), (logits.argmax(2) == y).sum(0)


class _Interventions:
    """Each seed's pruning or noise: the events by epoch, the generators its noise draws
    from, and the masking of pruned units' gradients in the trained module."""

    def __init__(self, configs: Sequence[RunConfig], models: ModelSet, device) -> None:
        self.configs, self.models = configs, models
        self.gradient_pruner, self.per_seed = _interventions(configs[0], models)
        events = self.per_seed[0].events() if self.per_seed else []
        self._at: dict[int, list] = {}
        for event in events:
            self._at.setdefault(event.epoch, []).append(event)
        self.last_epoch = max((event.epoch for event in events), default=0)
        self.generators = [
            torch.Generator(device=device).manual_seed(derive_seed(c.seed, "noise"))
            for c in configs
        ]

    def at(self, epoch: int) -> list:
        """The events at the end of ``epoch`` (empty on most epochs)."""
        return self._at.get(epoch, [])

    def before_step(self) -> None:
        for intervention, generator in zip(self.per_seed, self.generators, strict=False):
            intervention.before_step(generator)

    def mask_gradients(self) -> None:
        if self.gradient_pruner is not None:
            self.gradient_pruner.mask_gradients()

    def apply(self, epoch: int, events: list, optimizer: torch.optim.Optimizer) -> list[list]:
        """Apply ``events`` to every seed; each seed's event records, in event order."""
        records: list[list[dict]] = [[] for _ in self.configs]
        for event in events:
            for i, config in enumerate(self.configs):
                selection = torch.Generator().manual_seed(
                    derive_seed(config.seed, "select", epoch, event.layer)
                )
                view = self.models.optimizer_view(optimizer, i)
                records[i].append(
                    self.per_seed[i].apply(event, view, selection, self.generators[i])
                )
        return records

    def pruned_counts(self) -> list[list[int]]:
        """Each seed's units removed so far per layer (empty lists without pruning)."""
        if not self.per_seed:
            return [[] for _ in self.configs]
        return [intervention.pruned_counts() for intervention in self.per_seed]

    def state(self, seed: int) -> dict:
        noise = self.per_seed[seed].state_dict() if self.per_seed else {}
        return {"noise": noise, "noise_generator": self.generators[seed].get_state()}

    def load_state(self, seed: int, state: dict) -> None:
        if self.per_seed:
            self.per_seed[seed].load_state_dict(state["noise"])
        self.generators[seed].set_state(state["noise_generator"])


class _Optimization:
    """Adam over the trained module, its step count and each epoch's learning rate."""

    def __init__(self, config: RunConfig, models: ModelSet, device: torch.device) -> None:
        self.config, self.models = config, models
        self.optimizer = make_optimizer(models.module.parameters(), config, device)
        self.step = 0

    def set_learning_rate(self, epoch: int) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, epoch)

    def update(self, loss: torch.Tensor, mask_gradients: Callable[[], None]) -> None:
        """One step on ``loss``; pruned units' gradients are masked before it."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        mask_gradients()
        self.optimizer.step()
        self.step += 1

    def states(self) -> list[dict]:
        return self.models.optimizer_states(self.optimizer)

    def load_states(self, states: list[dict]) -> None:
        self.models.load_optimizer_states(self.optimizer, [state["optimizer"] for state in states])
        self.step = states[0]["step"]


class _History:
    """Each seed's records, per epoch and per event, and the training time they took (a
    group's wall time is shared equally by its seeds)."""

    def __init__(self, seeds: int) -> None:
        self.epochs: list[list[dict]] = [[] for _ in range(seeds)]
        self.events: list[list[dict]] = [[] for _ in range(seeds)]
        self.seconds_before = [0.0] * seeds
        self.started = time.monotonic()

    def add_epoch(self, records: list[dict]) -> None:
        for seed, record in enumerate(records):
            self.epochs[seed].append(record)

    def add_events(self, records: list[list[dict]]) -> None:
        for seed, seed_records in enumerate(records):
            self.events[seed].extend(seed_records)

    def train_seconds(self, seed: int, now: float) -> float:
        return self.seconds_before[seed] + (now - self.started) / len(self.epochs)

    def state(self, seed: int, now: float) -> dict:
        return {
            "epoch_records": self.epochs[seed],
            "event_records": self.events[seed],
            "train_seconds": self.train_seconds(seed, now),
        }

    def load_state(self, seed: int, state: dict) -> None:
        self.epochs[seed] = list(state["epoch_records"])
        self.events[seed] = list(state["event_records"])
        self.seconds_before[seed] = state["train_seconds"]

    def result(self, seed: int, config: RunConfig, now: float) -> dict:
        return {
            "epochs": self.epochs[seed],
            "events": self.events[seed],
            "summary": _summarize(config, self.epochs[seed]),
            "train_seconds": self.train_seconds(seed, now),
        }


class _Compute:
    """How the seeds' module runs on the device (:class:`Execution`: speed, not results):
    precision, memory layout, the compiled forward and the folded evaluation network."""

    def __init__(
        self, config: RunConfig, models: ModelSet, execution: Execution, device: torch.device
    ) -> None:
        self.models, self.execution, self.device = models, execution, device
        self.precision = resolve_precision(config.precision, device)
        self.memory_format = execution.memory_format(config.model, device)
        self.dtype = _parameter_dtype(models.module)
        self.forward = compile_module(models.module, execution.compile_backend)
        self.folded = _folded_eval(models.module, execution)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The trained module's logits for a training batch ``x``."""
        with autocast(self.precision, self.device):
            return self.forward(model_input(x, self.dtype, self.memory_format))

    def evaluate(
        self, images: torch.Tensor, labels: torch.Tensor, part: torch.Tensor | None = None
    ) -> tuple[list[Evaluation], list[Evaluation] | None]:
        """Each seed's evaluation on ``images``, and on the images at ``part`` among them."""
        forward = self.forward if self.folded is None else self.folded.refresh()
        return evaluate_seeds(
            self.models, forward, images, labels, self.precision, self.memory_format, part
        )

    def report(self) -> dict:
        """The execution settings a result records."""
        return {
            "precision": self.precision,
            "channels_last": self.memory_format == torch.channels_last,
            "compile": self.execution.compile_backend,
            "fold_batchnorm": self.folded is not None,
            "seeds_trained_together": self.models.seeds,
        }


class _Measurement:
    """The evaluations the paper reads: the instability set before and after each epoch's
    events (Section 3), and what the summary reads (the full test set, the validation
    set, eval-mode training accuracy)."""

    def __init__(
        self, config: RunConfig, data: CIFAR10, compute: _Compute, last_event_epoch: int
    ) -> None:
        self.config, self.data, self.compute = config, data, compute
        self.n_train = data.train_labels.numel()
        # The summary picks its best epoch from the last pruning event on (and Figure 2
        # reads its gap there): eval-mode training accuracy is only needed from then on.
        self.train_eval_from = last_event_epoch
        self.full_test_from = max(last_event_epoch, config.data.full_test_from)
        self.instability_set = data.instability_set()
        self.separate_final_set = data.instability_images is not None

    def before_events(self, records: list[dict]) -> None:
        """Record each seed's instability-set accuracy before the epoch's events."""
        results = self.compute.evaluate(*self.instability_set)[0]
        for record, result in zip(records, results, strict=True):
            record["pre_test_acc"], record["pre_test_loss"] = result.accuracy, result.loss

    def after_epoch(
        self, epoch: int, records: list[dict], events: list, pruned_counts: list[list[int]]
    ) -> None:
        """Test accuracy after the epoch (and its events), plus what the summary reads."""
        post, full = self._test_sets(epoch)
        validation = train_eval = None
        if self.data.validation_labels.numel():
            validation = self.compute.evaluate(
                self.data.validation_images, self.data.validation_labels
            )[0]
        if self.config.data.train_eval_images and epoch >= self.train_eval_from:
            n = min(self.config.data.train_eval_images, self.n_train)
            images, labels = self.data.train_images[:n], self.data.train_labels[:n]
            train_eval = self.compute.evaluate(images, labels)[0]
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
            record["pruned_units"] = pruned_counts[i]
            if validation is not None:
                record["validation_acc"] = validation[i].accuracy
            if train_eval is not None:
                record["train_eval_acc"] = train_eval[i].accuracy

    def _test_sets(self, epoch: int) -> tuple[list[Evaluation], list[Evaluation] | None]:
        """The instability set's evaluations, and the full test set's where it is separate
        and the summary reads it (``None`` elsewhere)."""
        if not self.separate_final_set or (
            epoch < self.full_test_from and epoch != self.config.epochs - 1
        ):
            return self.compute.evaluate(*self.instability_set)[0], None
        # The instability set is part of the test set: one pass over the test set gives
        # both (its accuracies exactly; one pass fewer on every such epoch).
        positions = self.data.instability_positions
        full, post = self.compute.evaluate(self.data.test_images, self.data.test_labels, positions)
        if post is None:
            post = self.compute.evaluate(*self.instability_set)[0]
        return post, full


class _Checkpoints:
    """When to save a resumable state and when to stop: every ``checkpoint_interval_s``
    seconds, and at once when ``should_stop()`` answers ``True`` (never after the last
    epoch: the caller stores the result)."""

    def __init__(self, options: RunOptions, now: float) -> None:
        self.options, self.last = options, now

    def after_epoch(
        self, next_epoch: int, epochs: int, states: Callable[[float], list[dict]]
    ) -> None:
        """Checkpoint ``states(now)`` when due; raise ``Preempted`` when asked to stop."""
        options = self.options
        now = time.monotonic()
        more = next_epoch < epochs
        stop = more and options.should_stop is not None and options.should_stop()
        due = now - self.last >= options.checkpoint_interval_s
        if options.checkpoint is not None and more and (due or stop):
            options.checkpoint(states(now))
            self.last = now
        if stop:
            raise preempt.Preempted(next_epoch)


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
