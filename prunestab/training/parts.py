"""The parts of one training call's state, each with its own state and its own step.

:class:`Interventions` (each seed's pruning or noise and its events),
:class:`Optimization` (Adam and its step count, at A.3's rates), :class:`History` (the
records and the time they took, and the summary the figures read), :class:`Compute` (how
the module runs), :class:`Measurement` (the evaluations the paper reads) and
:class:`Checkpoints` (when to save or stop). ``prunestab.training.loop`` builds them and
runs the loop's named steps through them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from prunestab.config import RunConfig
from prunestab.data.cifar10 import CIFAR10
from prunestab.noise import NoiseInjector
from prunestab.pruning import Pruner
from prunestab.training import preempt
from prunestab.training.evaluation import Evaluation, evaluate_seeds
from prunestab.training.execution import (
    Execution,
    autocast,
    compile_module,
    model_input,
    parameter_dtype,
    resolve_precision,
)
from prunestab.training.folding import FoldedEval
from prunestab.training.model_sets import ModelSet
from prunestab.training.seeding import derive_seed


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
        The optimizer; ``loop.train_group`` sets its rate every epoch (:func:`learning_rate`).

    >>> optimizer = make_optimizer(nn.Linear(2, 2).parameters(), RunConfig("vgg11", 1), torch.device("cpu"))
    >>> optimizer.defaults["lr"], optimizer.defaults["weight_decay"]
    (0.001, 0)
    """
    fused = True if device.type == "cuda" else None
    return torch.optim.Adam(parameters, lr=config.optimizer.lr, fused=fused)


class Interventions:
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


class Optimization:
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


class History:
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


class Compute:
    """How the seeds' module runs on the device (:class:`Execution`: speed, not results):
    precision, memory layout, the compiled forward and the folded evaluation network."""

    def __init__(
        self, config: RunConfig, models: ModelSet, execution: Execution, device: torch.device
    ) -> None:
        self.models, self.execution, self.device = models, execution, device
        self.precision = resolve_precision(config.precision, device)
        self.memory_format = execution.memory_format(config.model, device)
        self.dtype = parameter_dtype(models.module)
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


class Measurement:
    """The evaluations the paper reads: the instability set before and after each epoch's
    events (Section 3), and what the summary reads (the full test set, the validation
    set, eval-mode training accuracy)."""

    def __init__(
        self, config: RunConfig, data: CIFAR10, compute: Compute, last_event_epoch: int
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


class Checkpoints:
    """When to save a resumable state and when to stop: every ``interval_s`` seconds, and
    at once when ``should_stop()`` answers ``True`` (never after the last epoch: the caller
    stores the result). ``checkpoint``, ``interval_s`` and ``should_stop`` are
    ``RunOptions``' ``checkpoint``, ``checkpoint_interval_s`` and ``should_stop``
    (``prunestab.training.loop``); ``now`` is when training started."""

    def __init__(
        self,
        checkpoint: Callable[[list[dict]], None] | None,
        interval_s: float,
        should_stop: Callable[[], bool] | None,
        now: float,
    ) -> None:
        self.checkpoint, self.interval_s, self.should_stop = checkpoint, interval_s, should_stop
        self.last = now

    def after_epoch(
        self, next_epoch: int, epochs: int, states: Callable[[float], list[dict]]
    ) -> None:
        """Checkpoint ``states(now)`` when due; raise ``Preempted`` when asked to stop."""
        now = time.monotonic()
        more = next_epoch < epochs
        stop = more and self.should_stop is not None and self.should_stop()
        due = now - self.last >= self.interval_s
        if self.checkpoint is not None and more and (due or stop):
            self.checkpoint(states(now))
            self.last = now
        if stop:
            raise preempt.Preempted(next_epoch)
