"""Runs are stored by config hash: computed once, resumed after a kill, never overwritten."""

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch
from tiny_runs import SHORT_DATA, tiny_config

import prunestab
from prunestab.config import config_hash
from prunestab.data.files import DataNotFoundError
from prunestab.paper.registry import figure_grid
from prunestab.store import RunStore
from prunestab.sweep import provenance, runner, workers
from prunestab.sweep.runner import DataCache, execute, execute_many


def _config(**changes):
    """A pruned VGG11 run of 6 epochs on 100 images (``tiny_runs``): every path of the
    runner in a fraction of a second of training."""
    return tiny_config(data=SHORT_DATA, **changes)


def _grid(n: int) -> list:
    """``n`` distinct runs: seeds of :func:`_config`."""
    return [_config(seed=seed) for seed in range(n)]


def test_a_run_is_written_once_and_then_read_back(tmp_path, tiny_cifar):
    store, config, trained = RunStore(tmp_path), _config(), []
    data = DataCache(tiny_cifar)
    first = execute(
        config,
        store,
        data,
        profile="smoke",
        progress=False,
        on_epoch_end=lambda e, r: trained.append(e),
    )
    assert trained == list(range(config.epochs))
    assert first["profile"] == "smoke" and first["dataset"]["variant"] == "modified"
    assert not store.checkpoint_path(config).exists()
    again = execute(config, store, data, on_epoch_end=lambda e, r: trained.append(e))
    assert trained == list(range(config.epochs))  # nothing was recomputed
    assert again == first
    assert json.loads(store.result_path(config).read_text())["summary"] == first["summary"]


def test_a_failing_run_keeps_its_checkpoint_and_resumes_to_the_same_result(tmp_path, tiny_cifar):
    config, data = _config(), DataCache(tiny_cifar)
    reference = execute(config, RunStore(tmp_path / "a"), data, progress=False)

    def crash(epoch, record):
        if epoch == 3:
            raise KeyboardInterrupt

    store = RunStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        execute(config, store, data, progress=False, checkpoint_interval_s=0, on_epoch_end=crash)
    assert store.load(config) is None and store.checkpoint_path(config).exists()
    resumed = execute(config, store, data, progress=False)
    assert resumed["resumed_from_epoch"] == 3
    assert resumed["epochs"] == reference["epochs"]
    assert resumed["events"] == reference["events"]
    # Both stretches of training are on record, each with the code that ran it.
    assert [s["from_epoch"] for s in resumed["segments"]] == [0, 3]
    assert [s["from_epoch"] for s in reference["segments"]] == [0]
    for segment in resumed["segments"]:
        assert segment["git_commit"] == resumed["environment"]["git_commit"]
        assert isinstance(segment["package_dirty"], bool) and segment["host"]


def test_provenance_asks_git_about_the_whole_package():
    """``package_dirty`` reports on every tracked file of ``prunestab/``, from whichever
    folder of the package the module asking git sits in."""
    assert provenance.PACKAGE == Path(prunestab.__file__).resolve().parent


def test_a_killed_process_resumes(tmp_path, tiny_cifar):
    """SIGKILL mid-run (no cleanup at all), then the run finishes from its checkpoint."""
    config = _config()
    store = RunStore(tmp_path)
    child = textwrap.dedent(f"""
        import time
        from prunestab.config import RunConfig
        from prunestab.sweep.runner import DataCache, execute
        from prunestab.store import RunStore
        config = RunConfig.from_dict({config.to_dict()!r})
        execute(config, RunStore({str(tmp_path)!r}), DataCache({str(tiny_cifar)!r}),
                progress=False, checkpoint_interval_s=0,
                on_epoch_end=lambda e, r: time.sleep(0.5 if e >= 2 else 0))
    """)
    proc = subprocess.Popen([sys.executable, "-c", child])
    deadline = time.monotonic() + 120
    while not store.checkpoint_path(config).exists():
        assert proc.poll() is None, "the child finished or failed before checkpointing"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.load(config) is None
    result = execute(config, store, DataCache(tiny_cifar), progress=False)
    assert result["resumed_from_epoch"] is not None and result["resumed_from_epoch"] > 0
    assert len(result["epochs"]) == config.epochs


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_the_cuda_path_matches_the_cpu_path(tmp_path, tiny_cifar):
    config = _config().replace(precision="fp32")  # "auto" would be bf16 on the GPU
    cpu = execute(config, RunStore(tmp_path / "cpu"), DataCache(tiny_cifar), progress=False)
    gpu = execute(
        config.replace(device="cuda"),
        RunStore(tmp_path / "gpu"),
        DataCache(tiny_cifar),
        progress=False,
    )
    assert gpu["device"].startswith("cuda")
    first = [r["train_loss"] for r in cpu["epochs"]][:2]
    assert [r["train_loss"] for r in gpu["epochs"]][:2] == pytest.approx(first, rel=1e-3)


def test_worker_processes_store_the_same_runs_as_one_process(tmp_path, tiny_cifar):
    """``jobs=2``: two worker processes, one thread each; results agree with a sequential
    sweep: the same events, and the first epoch's losses to 1e-4 (thread counts change
    float32 summation order, and later epochs of these near-chance tiny runs diverge
    chaotically, by how much depends on the CPU)."""
    grid = [_config(seed=s, **c) for s in (0, 1) for c in ({}, {"pruning": None})]
    data = DataCache(tiny_cifar)
    seen = []
    parallel = execute_many(
        grid,
        RunStore(tmp_path / "p"),
        data,
        jobs=2,
        progress=False,
        on_result=lambda c, r, computed: seen.append(computed),
    )
    sequential = execute_many(grid, RunStore(tmp_path / "s"), data, progress=False)
    assert seen == [True] * len(grid)
    assert {r["environment"]["cpu_threads"] for r in parallel} == {1}  # CPU_THREADS
    for a, b in zip(parallel, sequential, strict=True):
        assert a["config"] == b["config"]
        assert [e["pruned_units"] for e in a["epochs"]] == [e["pruned_units"] for e in b["epochs"]]
        x, y = a["epochs"][0], b["epochs"][0]
        assert x["train_loss"] == pytest.approx(y["train_loss"], rel=1e-4)
    again = execute_many(grid, RunStore(tmp_path / "p"), data, jobs=2, progress=False)
    assert again == parallel  # stored: nothing recomputed


def test_workers_read_the_callers_environment_as_it_is_when_the_sweep_starts(
    tmp_path, tiny_cifar, monkeypatch
):
    """Workers are forked from a fork server that may have started long before (here, or
    an earlier sweep of this process) with another environment; they still read
    ``$PRUNESTAB_DATA`` as the caller has it now, as spawned workers would."""
    context = workers.worker_context()
    with ProcessPoolExecutor(1, mp_context=context) as pool:  # the fork server runs now
        assert pool.submit(os.getenv, "PRUNESTAB_DATA").result() != str(tiny_cifar)
    monkeypatch.setenv("PRUNESTAB_DATA", str(tiny_cifar))
    with ProcessPoolExecutor(1, mp_context=context) as pool:  # what the server gives
        assert pool.submit(os.getenv, "PRUNESTAB_DATA").result() != str(tiny_cifar)
    grid = _grid(2)
    results = execute_many(grid, RunStore(tmp_path), DataCache(None), jobs=2, progress=False)
    assert [r["dataset"]["root"] for r in results] == [str(tiny_cifar)] * 2


def test_each_worker_of_a_pool_on_several_gpus_gets_one_of_its_own(monkeypatch):
    """The setup both the local sweep's and a cluster task's workers start with: workers
    are dealt the visible GPUs in turn, and share the cores."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    context = workers.worker_context()
    environ, threads, slots, gpus = workers.worker_setup(context, 2, cuda=True)
    assert gpus == ["3", "5"] and threads == max(1, len(os.sched_getaffinity(0)) // 2)
    seen = []
    for _ in range(3):  # three workers starting, in this process
        workers.prepare_worker(environ, torch.get_num_threads(), slots, gpus)
        seen.append(os.environ["CUDA_VISIBLE_DEVICES"])
    assert seen == ["3", "5", "3"]
    assert workers.worker_setup(context, 2, cuda=False)[3] == []


def test_a_failing_worker_stops_the_sweep_with_its_error(tmp_path):
    grid = figure_grid("fig1", "smoke", seeds=1)[:3]
    store = RunStore(tmp_path / "runs")
    with pytest.raises(DataNotFoundError, match="CIFAR-10 not found"):
        # No data where the workers look: the first failure stops the sweep.
        execute_many(grid, store, DataCache(tmp_path / "no-data"), jobs=2, progress=False)
    assert all(store.load(c) is None for c in grid)
    with pytest.raises(ValueError, match="jobs=0"):
        execute_many(grid, RunStore(tmp_path), jobs=0)
    with pytest.raises(ValueError, match="choose one"):
        execute_many(grid, RunStore(tmp_path), jobs=2, batch_seeds=True)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_another_process_holds_is_waited_for_then_delivered(
    tmp_path, tiny_cifar, monkeypatch, jobs
):
    """Two sweeps on one store: the second waits for the first's run, never computes it."""
    import threading

    from prunestab.sweep import runner

    monkeypatch.setattr(runner, "POLL_S", 0.2)
    grid = _grid(3)
    store = RunStore(tmp_path)
    held, release = threading.Event(), threading.Event()

    def other_sweep() -> None:  # holds the first run, then "finishes" it
        with store.lock(grid[0]):
            held.set()
            release.wait(60)
            execute(grid[0], RunStore(tmp_path / "elsewhere"), DataCache(tiny_cifar))
            result = RunStore(tmp_path / "elsewhere").load(grid[0])
            store.save_result(grid[0], result)

    thread = threading.Thread(target=other_sweep)
    thread.start()
    held.wait(60)
    computed = []
    waiting = runner._await_elsewhere

    def await_then_release(configs, *args):
        assert [config_hash(c) for c in configs] == [config_hash(grid[0])]
        release.set()  # the other sweep finishes only once this one is waiting for it
        waiting(configs, *args)

    monkeypatch.setattr(runner, "_await_elsewhere", await_then_release)
    results = execute_many(
        grid,
        store,
        DataCache(tiny_cifar),
        jobs=jobs,
        progress=False,
        on_result=lambda c, r, fresh: computed.append((config_hash(c), fresh)),
    )
    thread.join()
    assert (config_hash(grid[0]), False) in computed  # delivered, not recomputed
    assert results[0] == store.load(grid[0])


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory, tiny_cifar):
    """Figure A1's smoke VGG19 computed once with ``keep_model``: its store folder."""
    (config,) = figure_grid("figA1", "smoke", 1)
    root = tmp_path_factory.mktemp("kept")
    execute(config, RunStore(root), DataCache(tiny_cifar), progress=False, keep_model=True)
    return config, root


def _copy_of(kept_run, tmp_path):
    import shutil

    config, root = kept_run
    shutil.copytree(root, tmp_path / "store")
    return config, RunStore(tmp_path / "store")


def test_a_kept_run_stores_the_probe_of_its_own_final_weights(kept_run, tmp_path, tiny_cifar):
    """What Figure A1 and the E[BN] chapter read from the trained model is stored beside
    the result, measured on the final weights: once stored, asking again reads it."""
    from prunestab.models import build
    from prunestab.training import probe

    config, store = _copy_of(kept_run, tmp_path)
    data = DataCache(tiny_cifar)
    stored = store.load_probe(config)
    assert stored["weights"] == runner.OWN_WEIGHTS
    model = build(config.model, config.width)
    model.load_state_dict(store.load_model(config))
    scores = [
        layer.module.weight.detach().double().flatten(1).norm(dim=1).tolist()
        for layer in model.prunable_layers()
    ]
    assert len(stored["scores"]) == len(scores)
    for layer, expected in zip(stored["scores"], scores, strict=True):
        assert layer["l2"] == pytest.approx(expected)
    assert len(stored["bn_layers"]) == probe.BN_LAYERS
    for layer in stored["bn_layers"]:
        assert len(layer["counts_after"]) == probe.BINS
        assert sum(layer["counts_after"]) <= layer["values"]
        assert 0 < layer["ks_before"] < 1 and 0 < layer["ks_after"] < 1
    result = store.load(config)
    assert stored["weights_test_acc"] == pytest.approx(result["summary"]["final_test_acc"])
    before = store.probe_path(config).read_bytes()
    execute(config, store, data, progress=False, keep_model=True)
    assert store.probe_path(config).read_bytes() == before


def test_a_missing_probe_is_measured_from_kept_weights_without_training(
    kept_run, tmp_path, tiny_cifar, monkeypatch
):
    config, store = _copy_of(kept_run, tmp_path)
    data = DataCache(tiny_cifar)
    first = store.load_probe(config)
    store.probe_path(config).unlink()
    assert not runner.is_stored(store, config, keep_model=True)

    def no_training(*args, **kwargs):
        raise AssertionError("trained a run whose weights are kept")

    monkeypatch.setattr(runner, "train_run", no_training)
    execute_many([config], store, data, progress=False, keep_model=lambda c: True)
    assert store.load_probe(config) == first


def test_missing_weights_and_probe_are_recomputed_without_touching_the_result(
    kept_run, tmp_path, tiny_cifar
):
    """As in a clone of an older store: the result is kept as it is, a retrain gives the
    weights, and the probe says that it measured a retrain."""
    config, store = _copy_of(kept_run, tmp_path)
    data = DataCache(tiny_cifar)
    first = store.load(config)
    weights = store.load_model(config)
    store.model_path(config).unlink()
    store.probe_path(config).unlink()
    before = store.result_path(config).read_bytes()
    again = execute_many([config], store, data, progress=False, keep_model=lambda c: True)[0]
    assert again == first and store.result_path(config).read_bytes() == before
    assert store.load_probe(config)["weights"] == runner.RETRAINED_WEIGHTS
    for name, tensor in store.load_model(config).items():
        torch.testing.assert_close(tensor, weights[name])


def test_a_corrupt_probe_is_named_not_counted_as_stored(kept_run, tmp_path):
    from prunestab.store import CorruptResultError

    config, store = _copy_of(kept_run, tmp_path)
    path = store.probe_path(config)
    text = path.read_text()
    path.unlink()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(CorruptResultError, match="probe.json is not a readable probe"):
        runner.is_stored(store, config, keep_model=True)
    assert path.read_text() == text[: len(text) // 2]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_stored_after_the_sweep_looked_is_delivered_as_stored(
    tmp_path, tiny_cifar, monkeypatch, jobs
):
    """Another process may finish a run between the sweep's look at the store and the
    moment its turn comes: it is delivered as found (``computed=False``), not counted as
    trained here, in one process or in a worker."""
    from prunestab.sweep import runner

    grid = _grid(2)
    store, data = RunStore(tmp_path), DataCache(tiny_cifar)
    first = execute(grid[0], store, data, progress=False)

    def nothing_stored_yet(configs, store, data, options, keep_model, deliver):
        return list({config_hash(c): c for c in configs}.values())

    monkeypatch.setattr(runner, "_deliver_stored", nothing_stored_yet)
    seen = {}
    results = execute_many(
        grid,
        store,
        data,
        jobs=jobs,
        progress=False,
        on_result=lambda c, r, computed: seen.__setitem__(config_hash(c), computed),
    )
    assert seen == {config_hash(grid[0]): False, config_hash(grid[1]): True}
    assert results[0] == first


@pytest.mark.parametrize("grouped", [False, True])
def test_a_run_whose_lease_is_taken_over_stops_and_leaves_the_folder_to_the_taker(
    tmp_path, tiny_cifar, monkeypatch, grouped
):
    """Another process judged this one dead and took its lease: this one stops at its
    next epoch without writing a checkpoint or a result, and keeps the taker's lease."""
    from prunestab.store import RunLockedError
    from prunestab.store.lease import LEASE_FILE, Holder, read
    from prunestab.sweep import runner

    config, store = _config(), RunStore(tmp_path)
    taker = Holder("taker", "node-9", 77, "123_4", 0.0, 0.0)
    beats, real = [], runner._beat_or_stop

    def beat_then_take_over_after_epoch_two(store_, configs, epoch):
        beats.append(epoch)
        real(store_, configs, epoch)
        if epoch == 1:
            (store.run_dir(config) / LEASE_FILE).write_text(json.dumps(taker.__dict__))

    monkeypatch.setattr(runner, "_beat_or_stop", beat_then_take_over_after_epoch_two)
    # (execute_many without grouping would then wait for the taker, as for any run held
    # elsewhere; execute reports the takeover.)
    train = (
        functools.partial(execute_many, [config], batch_seeds=True)
        if grouped
        else (functools.partial(execute, config))
    )
    with pytest.raises(
        RunLockedError, match=r"taken over by node-9 pid 77, job 123_4 after epoch 3"
    ):
        train(store, DataCache(tiny_cifar), progress=False, checkpoint_interval_s=0)
    assert beats == [0, 1, 2]
    assert store.load(config) is None
    # The last checkpoint is the one written after epoch 2, before the takeover was
    # noticed; nothing after it.
    assert store.load_checkpoint(config)["epoch"] == 2
    assert read(store.run_dir(config) / LEASE_FILE) == taker


def test_a_run_finished_first_by_the_holder_it_took_over_from_is_stored_not_failed(
    tmp_path, tiny_cifar, monkeypatch
):
    """Issue 24, item 7: a stalled holder whose lease was taken over may still write the
    result before the new holder does; the new holder then delivers the stored result
    (computed=False) instead of raising "already exists" and counting a failure."""
    from prunestab.sweep import runner

    store, config = RunStore(tmp_path), _config()
    elsewhere = RunStore(tmp_path / "elsewhere")
    execute(config, elsewhere, DataCache(tiny_cifar), profile="smoke", progress=False)
    theirs = elsewhere.load(config)
    real = runner._store_outcome

    def the_other_holder_wins(store_, config_, *args):
        store_.save_result(config_, theirs)  # lands just before this holder's write
        return real(store_, config_, *args)

    monkeypatch.setattr(runner, "_store_outcome", the_other_holder_wins)
    result = execute(config, store, DataCache(tiny_cifar), profile="smoke", progress=False)
    assert result == theirs and not store.checkpoint_path(config).exists()
    assert store.failures(config) == []


def test_a_pruned_run_with_keep_model_stores_its_result_its_weights_and_their_probe(
    tmp_path, tiny_cifar
):
    """Issue 35, item 1: a pruned run's final weights carry its mask buffers
    (``unit_mask``); keeping them used to crash the probe after training, leaving
    ``model.pt`` and no result. Now all three are stored and the probe reads the masks."""
    store, config = RunStore(tmp_path), _config()
    assert config.pruning is not None
    result = execute(config, store, DataCache(tiny_cifar), progress=False, keep_model=True)
    assert store.load(config) == result
    assert any(key.endswith("unit_mask") for key in store.load_model(config))
    stored = store.load_probe(config)
    assert stored["weights"] == runner.OWN_WEIGHTS
    assert stored["weights_test_acc"] == pytest.approx(result["summary"]["final_test_acc"])


@pytest.mark.parametrize("keep_model", [False, True])
def test_a_result_stored_by_the_old_holder_during_training_is_delivered_untouched(
    tmp_path, tiny_cifar, keep_model
):
    """Issue 35, item 2: the holder this process took over from (stalled, then woken)
    stores the result while this one trains. This one delivers that result, as stored,
    and writes nothing of its own but what was asked for: no unrequested ``model.pt``
    or probe, no failure, no crash on the pruned weights."""
    store, config = RunStore(tmp_path), _config()
    elsewhere = RunStore(tmp_path / "elsewhere")
    execute(config, elsewhere, DataCache(tiny_cifar), profile="smoke", progress=False)
    theirs = elsewhere.load(config)

    def old_holder_finishes_during_the_last_epoch(epoch, record):
        if epoch == config.epochs - 1:
            store.save_result(config, theirs)

    options = runner.Options("smoke", False)
    result, computed = runner._compute(
        config,
        store,
        DataCache(tiny_cifar),
        options,
        keep_model,
        old_holder_finishes_during_the_last_epoch,
    )
    assert result == theirs == store.load(config) and not computed
    assert store.failures(config) == []
    assert not store.checkpoint_path(config).exists()
    assert store.model_path(config).exists() == keep_model
    assert (store.load_probe(config) is not None) == keep_model


def test_a_deleted_run_re_swept_alone_is_stored_again_bit_for_bit(tmp_path, tiny_cifar):
    """Issue 35, item 5: a run is a pure function of its config. Two smoke runs swept
    in two workers, one deleted, then re-swept alone in this process with the torch
    default of a thread per core (the main process of ``prunestab sweep``): the same
    epochs, events and summary, bit for bit, and the same recorded thread count."""
    import shutil

    pruned = {config_hash(c): c for c in figure_grid("fig1", "smoke", 1) if c.pruning}
    grid = list(pruned.values())[:2]
    store, data = RunStore(tmp_path), DataCache(tiny_cifar)
    swept = execute_many(grid, store, data, jobs=2, progress=False)
    shutil.rmtree(store.run_dir(grid[1]))
    threads = torch.get_num_threads()
    torch.set_num_threads(max(2, len(os.sched_getaffinity(0))))
    try:
        again = execute_many(grid, store, data, jobs=1, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert again[0] == swept[0]
    for field in ("epochs", "events", "summary", "hash"):
        assert again[1][field] == swept[1][field], field
    assert again[1]["environment"]["cpu_threads"] == swept[1]["environment"]["cpu_threads"] == 1
