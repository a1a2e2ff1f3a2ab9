"""The training loop: one run (:func:`train_run`), or the seeds of one configuration in
lockstep (:func:`train_group`), epoch by epoch in the paper's order.

The loop follows the authors' timing (book/authors_code.md, section 4): at the end of
each 0-based epoch ``t`` the model is evaluated on the test set in eval mode; if ``t`` is
a pruning epoch the units are removed and the model is evaluated again, with nothing
trained in between and no BatchNorm recalibration, so that

    instability = |t_pre - t_post|            (Section 3, in percentage points)

is exactly the damage of the pruning event. The authors' code reported the signed,
relative form ``(t_pre - t_post) / t_pre``; both are recorded. The test accuracy before
pruning is only evaluated on pruning epochs (on other epochs it equals the post value).

Training is Adam (lr 1e-3), batch 128, learning rate x0.1 at the milestones (A.3).

:func:`train_run` trains one seed. ``prunestab.training.batched.train_seeds`` trains
several seeds of one configuration as one grouped model through the same loop
(:func:`train_group`), and gives each seed the records :func:`train_run` would have given
it. The loop's state is in parts (``prunestab.training.parts``), each named by its job.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from prunestab.config import RunConfig
from prunestab.data.cifar10 import CIFAR10
from prunestab.training import preempt
from prunestab.training.execution import Execution, full_precision
from prunestab.training.model_sets import ModelSet, SingleModel, seed_logits
from prunestab.training.parts import (
    Checkpoints,
    Compute,
    History,
    Interventions,
    Measurement,
    Optimization,
    learning_rate,
)
from prunestab.training.seeding import derive_seed, init_model


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
    single loop behind :func:`train_run` (one seed) and ``batched.train_seeds``
    (a grouped model); each seed keeps its own generators, intervention, events and
    records, and the result holds one :func:`train_run`-style result per config.

    Args:
        configs: one run per seed of ``models``, equal but for the seed.
        models: the seeds' models (:class:`SingleModel` or ``batched.SeedGroup``).
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


class _Training:
    """One :func:`train_group` call: its pieces of state and the loop's named steps.

    The pieces: :class:`Interventions` (each seed's pruning or noise and its events),
    :class:`Optimization` (Adam and its step count), :class:`History` (the records and
    the time they took), :class:`Compute` (how the module runs), :class:`Measurement`
    (the evaluations the paper reads) and :class:`Checkpoints` (when to save or stop).
    They are built in this order; a resumed run loads its state before the module is
    compiled or folded.
    """

    def __init__(self, configs, models: ModelSet, data: CIFAR10, options: RunOptions) -> None:
        self.configs, self.models, self.data, self.options = configs, models, data, options
        self.config = config = configs[0]
        self.k = models.seeds
        self.interventions = Interventions(configs, models, data.device)
        self.optimization = Optimization(config, models, data.device)
        self.history = History(self.k)
        self.start_epoch = 0
        if options.resume is not None:
            self._resume(options.resume)
        self.compute = Compute(config, models, options.execution or Execution(), data.device)
        self.measurement = Measurement(config, data, self.compute, self.interventions.last_epoch)
        n_train = data.train_labels.numel()
        # Images trained per epoch: all of them, or the epoch's draw (DataConfig.epoch_images).
        self.n_epoch = min(n_train, config.data.epoch_images or n_train)
        self.bar = _progress_bar(config, self.k, self.start_epoch, options.progress)
        self.history.started = now = time.monotonic()
        self.checkpoints = Checkpoints(
            options.checkpoint, options.checkpoint_interval_s, options.should_stop, now
        )

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
        loss = F.cross_entropy(full_precision(out), y)
        return loss, loss.detach(), (out.argmax(1) == y).sum()
    # Each seed's mean loss; their sum gives each seed's parameters exactly the gradient of
    # its own loss (the seeds share no parameter).
    logits = seed_logits(out, seeds)
    per_seed = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(0)
    return per_seed.sum(), per_seed.detach(), (logits.argmax(2) == y).sum(0)
