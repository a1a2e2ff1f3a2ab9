"""Get a run's result: from the store if it was computed, else compute it (resuming).

``execute`` is the one path from a config to a stored result, used by the CLI, the
sweeps and the notebooks:

1. a completed result in the store is returned as is (nothing is computed twice);
2. otherwise the run's lock is taken (two processes never write one run at once), the
   last checkpoint, if any, is loaded, training continues from it, and the result is
   written atomically; the checkpoint is then removed.

A failed or interrupted run leaves its last checkpoint and never a partial result.

Each result records how it was made: the stretches of training that went into it and
the process that wrote it (``prunestab.sweep.provenance``).

``execute_many`` does the same for a list of configs, either in worker processes
(``jobs``: several runs at once, each worker with its share of the CPU threads;
``prunestab.sweep.workers``), or training the seeds of each configuration side by side
(``prunestab.training.batched``): the store still holds one result (and one checkpoint)
per seed, so a batched run and a single run of the same config are interchangeable, and
a group interrupted mid-way resumes as a group.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass

from prunestab.config import RunConfig, config_hash
from prunestab.data.cifar10 import CIFAR10, load_cifar10
from prunestab.store import ResultExistsError, RunLockedError, RunStore
from prunestab.sweep import provenance
from prunestab.sweep.workers import prepare_worker, worker_context, worker_setup
from prunestab.training import probe
from prunestab.training.batched import group_key, train_seeds
from prunestab.training.execution import Execution, run_threads
from prunestab.training.loop import train_run


class DataCache:
    """Loaded datasets by (root, data config, device), shared by the runs of a sweep.

    Args:
        root: the folder holding CIFAR-10 (``None``: ``prunestab.data.files.default_root``).
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = root
        self._loaded: dict[tuple, CIFAR10] = {}

    def get(self, config: RunConfig) -> CIFAR10:
        """``config``'s dataset (its ``data`` and ``device``), loaded on first use.

        Args:
            config: the run.

        Returns:
            The dataset, the same object for every config with the same data and device.

        Raises:
            DataNotFoundError: no CIFAR-10 under the root (the message says how to get it).
        """
        key = (str(self.root), config.data, config.device)
        if key not in self._loaded:
            self._loaded[key] = load_cifar10(self.root, config=config.data, device=config.device)
        return self._loaded[key]


def _result(
    config: RunConfig,
    dataset: CIFAR10,
    outcome: dict,
    resume: dict | None,
    profile: str | None,
    segments: list[dict],
) -> dict:
    return provenance.json_safe(
        {
            "config": config.to_dict(),
            "hash": config_hash(config),
            "label": config.display_label(),
            "profile": profile,
            "dataset": dataset.info.to_dict(),
            "device": str(dataset.device),
            "environment": provenance.environment(),
            "resumed_from_epoch": resume["epoch"] if resume is not None else None,
            "segments": segments,
            **outcome,
        }
    )


def _dataset(config: RunConfig, data: CIFAR10 | DataCache | None) -> CIFAR10:
    if data is None:
        data = DataCache()
    return data.get(config) if isinstance(data, DataCache) else data


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
    execution: Execution | None = None,
) -> dict:
    """The stored result of ``config``, computing (or resuming) it if needed.

    A stored result without the probe ``keep_model`` asks for has it measured from the
    kept weights or, where those are missing too (model files are not committed), from a
    retrain of the run; its result file is kept as it is, and the probe says which
    weights it measured.

    Args:
        config: the run.
        store: the run store.
        data: a loaded dataset, a :class:`DataCache`, or ``None`` to load from the
            default place.
        profile: recorded in the result.
        progress: show an epoch bar (``None``: when stderr is a terminal).
        checkpoint_interval_s: the least time between checkpoints.
        keep_model: also save the final weights as ``model.pt`` beside the result, and
            what is measured on them as ``probe.json`` (``prunestab.training.probe``).
        on_epoch_end: ``on_epoch_end(epoch, record)`` after each epoch trained here.
        execution: layout and compilation (``prunestab.training.execution.Execution``).

    Returns:
        The result dict as stored (``config``, ``hash``, ``profile``, ``dataset``,
        ``environment``, ``epochs``, ``events``, ``summary``, ``train_seconds``).

    Raises:
        RunLockedError: another process is computing this run now.
        DataNotFoundError: no CIFAR-10 where the loader looks (its message says how to
        provide it). A run that fails or is interrupted leaves its last checkpoint and
        never a partial result; the next call resumes it.

    Example (the first call trains the run and stores it; the second reads it back)::

        config = RunConfig("vgg11", epochs=6, width=0.125, data=DataConfig(train_subset=200))
        store = RunStore("my-runs")
        result = execute(config, store)
        execute(config, store) == result  # True: nothing is trained twice
    """
    return _compute(
        config,
        store,
        data,
        Options(profile, progress, checkpoint_interval_s, execution),
        keep_model,
        on_epoch_end,
    )[0]


def _beat_or_stop(store: RunStore, configs: Sequence[RunConfig], epoch: int) -> None:
    """Record in each run's lease that ``epoch`` is finished. A lease taken over means
    another process judged this one dead and now computes the run: raise
    :class:`RunLockedError` before this process writes anything more (no checkpoint, no
    result), leaving the run folder to the new holder."""
    for config in configs:
        if not store.beat(config, epoch):
            raise RunLockedError(
                f"{store.run_dir(config)}: this process's lease was taken over by "
                f"{store.lease_taker(config)} after epoch {epoch + 1}; stopping here, the "
                "run goes on there."
            )


def _compute(
    config: RunConfig,
    store: RunStore,
    data: CIFAR10 | DataCache | None,
    options: Options,
    keep_model: bool,
    on_epoch_end=None,
) -> tuple[dict, bool]:
    """:func:`execute`'s work: the result, and whether this call trained it (``False``
    when it was stored, also by another process that finished it meanwhile)."""
    done = _complete(store, config, keep_model)
    if done is not None:
        return done, False
    with store.lock(config), run_threads(config.device):
        done = _complete(store, config, keep_model)
        if done is not None:
            return done, False
        dataset = _dataset(config, data)
        # Stored but without the probe ``keep_model`` asks for (``_complete`` said no):
        # decided now, before training, since a holder this process took over from may
        # store the result meanwhile, and that result needs no probe unless asked.
        probe_only = keep_model and store.is_complete(config)
        if probe_only:
            state = store.load_model(config)
            if state is not None:  # weights kept, not yet measured: no training needed
                _save_probe(store, config, state, dataset, OWN_WEIGHTS)
                return store.load(config), False
        resume = store.load_checkpoint(config)
        segments = provenance.segments(resume)

        def epoch_done(epoch: int, record: dict) -> None:
            _beat_or_stop(store, [config], epoch)
            if on_epoch_end is not None:
                on_epoch_end(epoch, record)

        outcome = train_run(
            config,
            dataset,
            resume=resume,
            checkpoint=lambda state: store.save_checkpoint(config, state | {"segments": segments}),
            checkpoint_interval_s=options.checkpoint_interval_s,
            progress=options.progress,
            on_epoch_end=epoch_done,
            execution=options.execution,
        )
        if probe_only:
            store.save_model(config, outcome["model_state"])
            _save_probe(store, config, outcome["model_state"], dataset, RETRAINED_WEIGHTS)
            store.clear_checkpoint(config)
        else:
            try:
                _store_outcome(
                    store, config, dataset, outcome, resume, options.profile, keep_model, segments
                )
            except ResultExistsError:
                # The holder this process took over from (judged dead, only stalled)
                # finished first. A run is a pure function of its config, so the stored
                # result is this run's: delivered as stored, not recorded as a failure.
                store.clear_checkpoint(config)
                return store.load(config), False
        return store.load(config), True


#: How a probe's weights came about, as its ``weights`` field says.
OWN_WEIGHTS = "the run's own final weights"
RETRAINED_WEIGHTS = (
    "a retrain of the stored run for its weights (model files are not committed); the "
    "result file is the original run's"
)


def is_stored(store: RunStore, config: RunConfig, keep_model: bool = False) -> bool:
    """Whether ``config``'s result (and, with ``keep_model``, the probe of its final
    weights, ``prunestab.training.probe``) is stored: asking for it computes nothing.

    Args:
        store: the run store.
        config: the run.
        keep_model: the probe must be stored too.

    Returns:
        ``True`` when :func:`execute` would only read.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     is_stored(RunStore(folder), RunConfig("conv4", epochs=1))
    False
    """
    return store.is_complete(config) and (not keep_model or store.load_probe(config) is not None)


def _complete(store: RunStore, config: RunConfig, keep_model: bool) -> dict | None:
    """The stored result, if it (and, with ``keep_model``, the probe) exists."""
    if keep_model and store.load_probe(config) is None:
        return None
    return store.load(config)


def _save_probe(store: RunStore, config: RunConfig, state: dict, dataset, weights: str) -> None:
    """Measure and store the probe of ``config``'s final weights ``state``, unless another
    process stored it first (a probe is a pure function of the weights)."""
    try:
        measured = probe.measure(config, state, dataset, weights)
        store.save_probe(
            config, provenance.json_safe(measured | {"environment": provenance.environment()})
        )
    except ResultExistsError:
        pass


def _store_outcome(store, config, dataset, outcome, resume, profile, keep_model, segments) -> None:
    """Store a trained run's result (and, with ``keep_model``, its weights and probe).

    Raises:
        ResultExistsError: another holder stored the result first; nothing stored is
            overwritten (weights already probed are kept with their probe).
    """
    model_state = outcome.pop("model_state")
    if keep_model and store.load_probe(config) is None:
        store.save_model(config, model_state)
        _save_probe(store, config, model_state, dataset, OWN_WEIGHTS)
    store.save_result(config, _result(config, dataset, outcome, resume, profile, segments))
    store.clear_checkpoint(config)


@dataclass(frozen=True)
class Options:
    """What every run of a sweep is computed with (none of it changes results):
    ``profile`` (recorded in each result), ``progress`` bars, ``checkpoint_interval_s``,
    and the ``execution`` layout/compilation (``prunestab.training.execution.Execution``)."""

    profile: str | None = None
    progress: bool | None = None
    checkpoint_interval_s: float = 60.0
    execution: Execution | None = None

    def execute(
        self, config: RunConfig, store: RunStore, data, keep_model: bool
    ) -> tuple[dict, bool]:
        """:func:`execute` with these options.

        Args:
            config: the run.
            store: the run store.
            data: a dataset, a :class:`DataCache` or ``None`` (as :func:`execute`).
            keep_model: keep the final weights and their probe.

        Returns:
            The result, and whether it was trained here (``False`` when found stored).

        Raises:
            RunLockedError: another process is computing this run now.
        """
        return _compute(config, store, data, self, keep_model)


Deliver = Callable[[RunConfig, dict, bool], None]


def execute_many(
    configs: Sequence[RunConfig],
    store: RunStore,
    data: CIFAR10 | DataCache | None = None,
    *,
    batch_seeds: bool = False,
    max_group: int | None = None,
    profile: str | None = None,
    progress: bool | None = None,
    checkpoint_interval_s: float = 60.0,
    keep_model: Callable[[RunConfig], bool] = lambda config: False,
    on_result: Deliver | None = None,
    execution: Execution | None = None,
    jobs: int = 1,
) -> list[dict]:
    """The stored results of ``configs`` (in order), computing the missing ones.

    Three strategies for the missing runs: one after another (:func:`execute`), in
    ``jobs`` > 1 worker processes (:func:`_execute_in_workers`, best on CPUs), or with
    ``batch_seeds`` the configs that differ only by seed trained together as one grouped
    model, ``max_group`` at a time (:func:`_execute_grouped`, best on GPUs).
    ``on_result(config, result, computed)`` is called as each result becomes available
    (``computed``: trained by this call). Runs another process holds are waited for, and
    computed here if their holder dies.

    Args:
        configs: the runs (repeats are computed once).
        store: the run store.
        data: a dataset, a :class:`DataCache` or ``None`` (as :func:`execute`); with
            ``jobs`` > 1 a folder only (each worker loads its own copy).
        batch_seeds: train the seeds of a configuration side by side.
        max_group: at most this many seeds side by side (``None``: all).
        profile: recorded in each result.
        progress: show epoch bars (``None``: when stderr is a terminal).
        checkpoint_interval_s: the least time between checkpoints.
        keep_model: which runs keep their final weights and their probe.
        on_result: called with each result as it is available.
        execution: layout and compilation (``prunestab.training.execution.Execution``).
        jobs: worker processes.

    Returns:
        The results, in the order of ``configs``.

    Raises:
        ValueError: ``max_group`` or ``jobs`` below 1, ``jobs`` > 1 with ``batch_seeds``,
            or ``jobs`` > 1 with a loaded dataset (each message says what is allowed).
        DataNotFoundError: no CIFAR-10 where the loader looks; any error of a run is
            raised too (from workers, once the runs in flight are stored).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     execute_many([], RunStore(folder))
    []
    """
    _check_strategy(batch_seeds, max_group, jobs)
    options = Options(profile, progress, checkpoint_interval_s, execution)
    results: dict[str, dict] = {}

    def deliver(config: RunConfig, result: dict, computed: bool) -> None:
        results[config_hash(config)] = result
        if on_result is not None:
            on_result(config, result, computed)

    pending = _deliver_stored(configs, store, data, options, keep_model, deliver)
    # Even one pending run goes to a worker; where it trains changes nothing it computes
    # (a CPU run trains with execution.CPU_THREADS threads anywhere: ``_compute``).
    if jobs > 1 and pending:
        if data is not None and not isinstance(data, DataCache):
            raise ValueError(
                "jobs > 1 needs the data as a folder (a DataCache or None), not a loaded "
                "dataset: each worker process loads its own copy"
            )
        root = None if data is None else data.root
        _execute_in_workers(pending, store, root, jobs, options, keep_model, deliver)
    elif batch_seeds:
        _execute_grouped(pending, store, data, options, max_group, keep_model, deliver)
    else:
        _execute_in_turn(pending, store, data, options, keep_model, deliver)
    return [results[config_hash(c)] for c in configs]


def _check_strategy(batch_seeds: bool, max_group: int | None, jobs: int) -> None:
    """Raise ``ValueError`` for :func:`execute_many`'s strategy options out of range."""
    if max_group is not None and max_group < 1:
        raise ValueError(f"max_group={max_group}; allowed: a positive number of seeds")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r}; allowed: a positive number of worker processes")
    if jobs > 1 and batch_seeds:
        raise ValueError(
            "jobs > 1 with batch_seeds: choose one; allowed: worker processes (jobs, best on "
            "CPUs) or seeds side by side in one process (batch_seeds, best on GPUs)"
        )


def _execute_in_turn(configs, store, data, options, keep_model, deliver) -> None:
    """:func:`execute` each config in this process, one after another; then wait for
    those another process holds."""
    elsewhere = []
    for config in configs:
        try:
            deliver(config, *options.execute(config, store, data, keep_model(config)))
        except RunLockedError:
            elsewhere.append(config)
    _await_elsewhere(elsewhere, store, data, options, keep_model, deliver)


#: Seconds between looks at runs that another process is computing.
POLL_S = 5.0


def _await_elsewhere(configs, store, data, options, keep_model, deliver) -> None:
    """Runs another process holds (another sweep, another machine): wait for their
    results, and compute any whose holder died (its lease goes stale) or gave up."""
    if configs:
        print(
            f"prunestab: waiting for {len(configs)} run(s) that other processes are computing",
            file=sys.stderr,
            flush=True,
        )
    while configs:
        still = []
        for config in configs:
            done = _complete(store, config, keep_model(config))
            if done is not None:
                deliver(config, done, False)
                continue
            try:
                deliver(config, *options.execute(config, store, data, keep_model(config)))
            except RunLockedError:
                still.append(config)
        configs = still
        if configs:
            time.sleep(POLL_S)


def _deliver_stored(configs, store, data, options, keep_model, deliver) -> list[RunConfig]:
    """Deliver every stored result; return the distinct configs still to compute.

    A stored run whose probe is missing has it measured here (from its kept weights, or
    from a retrain where those are missing too), its result file kept as it is.
    """
    pending = []
    for config in {config_hash(c): c for c in configs}.values():
        done = _complete(store, config, keep_model(config))
        if done is not None:
            deliver(config, done, False)
        elif store.is_complete(config):
            deliver(config, *options.execute(config, store, data, True))
        else:
            pending.append(config)
    return pending


def _execute_grouped(pending, store, data, options, max_group, keep_model, deliver) -> None:
    """Train the pending seeds of each configuration side by side (``prunestab.training.batched``),
    at most ``max_group`` at a time; seeds whose checkpoints stop at different epochs
    resume in separate groups. The store keeps one result and checkpoint per seed."""
    families: dict[tuple, list[RunConfig]] = {}
    for config in pending:
        families.setdefault(group_key(config), []).append(config)
    for family in families.values():
        size = max_group or len(family)
        for start in range(0, len(family), size):
            chunk = family[start : start + size]
            with ExitStack() as locks, run_threads(chunk[0].device):
                for config in chunk:
                    locks.enter_context(store.lock(config))
                todo = []
                for config in chunk:  # another process may have finished some meanwhile
                    done = store.load(config)
                    if done is not None:
                        deliver(config, done, False)
                    else:
                        todo.append(config)
                by_epoch: dict[int | None, list[tuple[RunConfig, dict | None]]] = {}
                for config in todo:
                    state = store.load_checkpoint(config)
                    by_epoch.setdefault(None if state is None else state["epoch"], []).append(
                        (config, state)
                    )
                for members in by_epoch.values():
                    _train_group(members, store, data, options, keep_model, deliver)


def _train_group(members, store, data, options, keep_model, deliver) -> None:
    """One grouped training of seeds resuming from the same epoch, stored seed by seed."""
    group = [config for config, _ in members]
    states = [state for _, state in members]
    segments = [provenance.segments(state) for state in states]
    dataset = _dataset(group[0], data)

    def save(group_states):
        for config, state, seed_segments in zip(group, group_states, segments, strict=True):
            store.save_checkpoint(config, state | {"segments": seed_segments})

    outcomes = train_seeds(
        group,
        dataset,
        resume=None if states[0] is None else states,
        checkpoint=save,
        checkpoint_interval_s=options.checkpoint_interval_s,
        progress=options.progress,
        on_epoch_end=lambda epoch, records: _beat_or_stop(store, group, epoch),
        execution=options.execution,
    )
    for config, outcome, state, seed_segments in zip(
        group, outcomes, states, segments, strict=True
    ):
        try:
            _store_outcome(
                store,
                config,
                dataset,
                outcome,
                state,
                options.profile,
                keep_model(config),
                seed_segments,
            )
        except ResultExistsError:  # as in ``_compute``: the holder taken over from won
            store.clear_checkpoint(config)
            deliver(config, store.load(config), False)
            continue
        deliver(config, store.load(config), True)


def _execute_in_workers(
    configs: Sequence[RunConfig],
    store: RunStore,
    data_root: str | os.PathLike | None,
    jobs: int,
    options: Options,
    keep_model: Callable[[RunConfig], bool],
    deliver: Deliver,
) -> None:
    """:func:`execute` each config in one of ``jobs`` worker processes.

    Small models at batch 128 use two CPU cores poorly: two single-threaded runs at once
    train about 1.3x (VGG11) to 1.2x (ResNet18) more images per second on a 2-core
    machine than one run on both cores. Each worker therefore gets ``cores // jobs``
    threads (``workers.worker_threads``) for what it does outside training; a CPU run
    itself always trains with ``execution.CPU_THREADS`` (one), however the sweep is
    shaped, since its numbers depend on the thread count. On one GPU, several workers keep it busier
    than one run at batch 128; with several GPUs (``device="cuda"``), each worker is
    pinned to one of them in turn (``workers.worker_setup``). Workers start from
    ``workers.worker_context`` (never a fork of this process), each loads the data once,
    and the run store's locks keep two processes off one run. Every result is stored by
    its worker before it is delivered; a failure in one run stops the sweep after the
    runs in flight, which are kept.
    """
    context = worker_context()
    cuda = any(c.device == "cuda" for c in configs)
    with ProcessPoolExecutor(
        jobs,
        mp_context=context,
        initializer=prepare_worker,
        initargs=worker_setup(context, jobs, cuda),
    ) as pool:
        queue = list(configs)
        elsewhere: list[RunConfig] = []
        running: dict = {}
        failure: BaseException | None = None
        while queue or running:
            while queue and len(running) < jobs and failure is None:
                config = queue.pop(0)
                task = (
                    config.to_dict(),
                    str(store.root),
                    data_root,
                    options,
                    keep_model(config),
                    store.lease_ttl_s,
                )
                running[pool.submit(_execute_job, *task)] = config
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                config = running.pop(future)
                if isinstance(future.exception(), RunLockedError):
                    elsewhere.append(config)
                    continue
                if future.exception() is not None:
                    failure = failure or future.exception()
                    continue
                deliver(config, *future.result())
            if failure is not None and not running:
                raise failure
    _await_elsewhere(elsewhere, store, _worker_data(data_root), options, keep_model, deliver)


def _execute_job(
    config: dict,
    store_root: str,
    data_root: str | None,
    options: Options,
    keep_model: bool,
    lease_ttl_s: float | None = None,
) -> tuple[dict, bool]:
    """One :func:`execute` in a worker process (arguments as plain, picklable values):
    the result, and whether this worker trained it."""
    quiet = dataclasses.replace(options, progress=False)
    store = RunStore(store_root, lease_ttl_s)
    return quiet.execute(RunConfig.from_dict(config), store, _worker_data(data_root), keep_model)


@functools.lru_cache(maxsize=1)
def _worker_data(root: str | None) -> DataCache:
    """The worker process's datasets, loaded once and reused by its runs."""
    return DataCache(root)
