"""Seeds trained side by side as one grouped model give each seed its own single run.

The grouped model sums its convolutions in another order than a single model does, so
the comparison is run in float64 (models built under ``torch.set_default_dtype``), where
rounding differences stay near 1e-10 through a whole run: every per-epoch accuracy and
every pruned unit must then be identical, and losses, scores and weights equal to 1e-8.
In float32 the same differences (1e-7) are amplified by training until they flip single
test images, which says nothing about correctness.

The runs are as short as still shows every part of a run (3 epochs of the tiny VGG11 on
100 images, ``SHORT``): each layer pruned twice on staggered epochs, so events follow
events on already-masked layers, a noise window runs after an event, and the learning
rate drops once. Most comparisons group two seeds; one groups three. ResNet18's
comparison (2 epochs on 50 images, no rate drop) shows its shortcuts cut per seed.
"""

import math

import pytest
import torch
from tiny_runs import SHORT, SHORT_DATA, resnet18_config, short_config

from prunestab.config import (
    DataConfig,
    NoiseConfig,
    PruningConfig,
)
from prunestab.data.batches import train_batches
from prunestab.data.cifar10 import load_cifar10
from prunestab.models import build
from prunestab.schedule import PruningSchedule
from prunestab.store import RunStore
from prunestab.sweep.runner import execute, execute_many
from prunestab.training.batched import SeedGroup, seed_batches, train_seeds
from prunestab.training.loop import train_run

TOL = 1e-8
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _config(model="vgg11", seed=0, **changes):
    return short_config(model, seed=seed, **changes)


def assert_close(a, b, path="result"):
    """Nested records equal: ints, strings and bools exactly, floats to ``TOL``."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        both_nan = math.isnan(a) and math.isnan(b)  # e.g. no instability without pruning
        assert both_nan or math.isclose(a, b, rel_tol=TOL, abs_tol=TOL), f"{path}: {a} != {b}"
    elif isinstance(a, torch.Tensor):
        assert a.shape == b.shape, path
        assert torch.allclose(a.double().cpu(), b.double().cpu(), rtol=0, atol=TOL), path
    else:
        assert a == b, f"{path}: {a} != {b}"


def assert_pruned_units_zero(state):
    """In VGG11's first and last pruned convs, some unit is masked, and every masked unit's
    weights and bias are exactly zero."""
    for layer in ("features.15", "features.25"):
        mask = state[f"{layer}.unit_mask"].bool()
        assert (~mask).any()
        assert state[f"{layer}.weight"][~mask].abs().max() == 0
        assert state[f"{layer}.bias"][~mask].abs().max() == 0


def assert_same_runs(singles, group):
    for single, grouped in zip(singles, group, strict=True):
        for a, b in zip(single["epochs"], grouped["epochs"], strict=True):
            # Accuracies are counts of images: identical, not merely close.
            for key in ("train_acc", "test_acc", "pre_test_acc", "pruned_units"):
                assert a.get(key) == b.get(key), (a["epoch"], key)
        assert_close(single["epochs"], grouped["epochs"])
        assert_close(single["events"], grouped["events"])
        assert_close(single["summary"], grouped["summary"])
        assert_close(single["model_state"], grouped["model_state"])


@pytest.mark.parametrize(
    "changes, seeds",
    [
        pytest.param({}, (0, 1, 2), id="vgg11-structured-ebn-L-three-seeds"),
        pytest.param(
            {"pruning": PruningConfig(SHORT, score="l2", target="random")},
            (0, 1),
            id="vgg11-random",
        ),
        pytest.param(
            {
                "pruning": PruningConfig(
                    SHORT, structure="unstructured", score="magnitude", target="largest"
                )
            },
            (0, 1),
            id="vgg11-unstructured",
        ),
        pytest.param(
            {
                "pruning": PruningConfig(SHORT, score="l2", target="largest"),
                "noise": NoiseConfig("zeroing", 3),
            },
            (0, 1),
            id="vgg11-zeroing",
        ),
        pytest.param(
            {
                "pruning": PruningConfig(SHORT, score="l2", target="largest"),
                "noise": NoiseConfig("gaussian", 3),
            },
            (0, 1),
            id="vgg11-gaussian",
        ),
        pytest.param({"pruning": None}, (0, 1), id="vgg11-unpruned"),
    ],
)
def test_grouped_seeds_equal_their_single_runs(short_data, float64, changes, seeds):
    configs = [_config(seed=s, **changes) for s in seeds]
    singles = [train_run(c, short_data, progress=False) for c in configs]
    group = train_seeds(configs, short_data, progress=False)
    assert_same_runs(singles, group)
    assert group[0]["execution"]["seeds_trained_together"] == len(seeds)
    if configs[0].pruning is not None and configs[0].noise is None:
        # Seeds prune their own units: the group did not make them share choices.
        assert group[0]["events"] != group[1]["events"]


def test_grouped_seeds_read_the_instability_set_from_the_whole_test_pass(tiny_cifar, float64):
    """The budget profiles' data: instability on a part of the test set, which the last
    epochs read from their pass over the whole test set, per seed."""
    data_config = DataConfig(
        train_subset=100, test_subset=50, instability_test_subset=20, full_test_from=1
    )
    data = load_cifar10(tiny_cifar, config=data_config)
    configs = [_config(seed=s, epochs=4, data=data_config) for s in (0, 1)]
    singles = [train_run(c, data, progress=False) for c in configs]
    group = train_seeds(configs, data, progress=False)
    assert_same_runs(singles, group)
    # From the last pruning event (epoch 2) on, after full_test_from.
    assert [r["epoch"] for r in group[1]["epochs"] if "full_test_acc" in r] == [2, 3]


def test_grouped_resnet18_cuts_each_seeds_own_shortcuts(resnet_data, float64):
    configs = [resnet18_config(seed=s) for s in (0, 1)]
    singles = [train_run(c, resnet_data, progress=False) for c in configs]
    group = train_seeds(configs, resnet_data, progress=False)
    assert_same_runs(singles, group)
    assert any("shortcut_mask" in k for k in group[0]["model_state"])


def test_grouped_conv4_with_augmentation_and_a_linear_layer(tiny_cifar, float64):
    data_config = DataConfig(train_subset=100, test_subset=50, augment=True)
    data = load_cifar10(tiny_cifar, config=data_config)
    schedule = PruningSchedule((0,), (1,), (0.5,), 1)
    configs = [
        _config(
            "conv4", seed=s, data=data_config, pruning=PruningConfig(schedule, target="largest")
        )
        for s in (3, 4)
    ]
    singles = [train_run(c, data, progress=False) for c in configs]
    group = train_seeds(configs, data, progress=False)
    assert_same_runs(singles, group)


def test_pruned_weights_and_adam_moments_stay_zero_in_the_grouped_model(short_data):
    configs = [_config(seed=s) for s in (0, 1)]
    group = train_seeds(configs, short_data, progress=False)
    for result in group:
        assert_pruned_units_zero(result["model_state"])


@CUDA
def test_grouped_seeds_equal_their_single_runs_on_cuda(tiny_cifar, float64):
    """The GPU's path (cuDNN's grouped convolutions, the fused Adam, channels_last), in
    float64 with autocast off, as on the CPU above: each seed its own single run."""
    data = load_cifar10(tiny_cifar, config=SHORT_DATA, device="cuda")
    configs = [_config(seed=s, device="cuda", precision="fp32") for s in (0, 1)]
    singles = [train_run(c, data, progress=False) for c in configs]
    group = train_seeds(configs, data, progress=False)
    assert_same_runs(singles, group)
    assert group[0]["execution"]["seeds_trained_together"] == 2


@CUDA
def test_pruned_weights_stay_zero_on_cuda_in_bf16_with_the_fused_adam(tiny_cifar):
    """What the paper profile runs on a GPU (``precision="auto"``: bf16 autocast, fused
    Adam): single and grouped, a pruned unit's weights and bias stay exactly zero."""
    data = load_cifar10(tiny_cifar, config=SHORT_DATA, device="cuda")
    single = train_run(_config(device="cuda"), data, progress=False)
    group = train_seeds([_config(seed=s, device="cuda") for s in (0, 1)], data, progress=False)
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"  # bf16: Ampere and later
    assert single["execution"]["precision"] == group[0]["execution"]["precision"] == expected
    for result in (single, *group):
        assert_pruned_units_zero(result["model_state"])


@pytest.mark.parametrize("epoch_images", [None, 100])
def test_seed_batches_give_each_seed_its_own_epoch(tiny_cifar, epoch_images):
    data = load_cifar10(
        tiny_cifar, config=DataConfig(train_subset=200, test_subset=100, augment=True)
    )
    seeds = (5, 6, 7)
    grouped = list(
        seed_batches(
            data.train_images,
            data.train_labels,
            64,
            [torch.Generator().manual_seed(s) for s in seeds],
            augment_images=True,
            epoch_images=epoch_images,
        )
    )
    assert sum(y.shape[0] for _, y in grouped) == (epoch_images or 200)
    for k, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(seed)
        single = train_batches(
            data.train_images, data.train_labels, 64, generator, True, epoch_images
        )
        for (x, y), (xs, ys) in zip(grouped, single, strict=True):
            assert torch.equal(x[:, 3 * k : 3 * k + 3], xs)
            assert torch.equal(y[:, k], ys)


def test_seed_views_share_storage_with_the_grouped_model():
    models = [build("conv4", 0.125) for _ in range(3)]
    group = SeedGroup(models)
    with torch.no_grad():
        models[1].features[0].weight.fill_(7.0)
    grouped = group.module.features[0].weight
    n = grouped.shape[0] // 3
    assert (grouped[n : 2 * n] == 7.0).all()
    assert not (grouped[:n] == 7.0).any() and not (grouped[2 * n :] == 7.0).any()


def test_train_seeds_refuses_configs_that_differ_by_more_than_seed(short_data):
    with pytest.raises(ValueError, match="differ only by seed"):
        train_seeds([_config(seed=0), _config(seed=1, epochs=6)], short_data, progress=False)
    with pytest.raises(ValueError, match="repeated seeds"):
        train_seeds([_config(seed=0), _config(seed=0)], short_data, progress=False)


def test_a_batched_sweep_stores_one_result_per_seed(tmp_path, short_data, float64):
    store = RunStore(tmp_path / "store")
    configs = [_config(seed=s) for s in (0, 1, 2)]
    seen = []
    results = execute_many(
        configs,
        store,
        short_data,
        batch_seeds=True,
        max_group=2,
        progress=False,
        on_result=lambda c, r, computed: seen.append((c.seed, computed)),
    )
    assert sorted(seen) == [(0, True), (1, True), (2, True)]
    assert [r["config"]["seed"] for r in results] == [0, 1, 2]
    assert [r["execution"]["seeds_trained_together"] for r in results] == [2, 2, 1]
    for config, result in zip(configs, results, strict=True):
        # A single run of the same config finds the batched result: they are one run.
        assert execute(config, store, short_data, progress=False) == result
        single = train_run(config, short_data, progress=False)
        single.pop("model_state")
        assert_close(single["epochs"], result["epochs"])
    again = execute_many(configs, store, short_data, batch_seeds=True, progress=False)
    assert again == results


class Interrupt(Exception):
    pass


def test_an_interrupted_group_resumes_as_a_group(tmp_path, short_data, float64):
    store = RunStore(tmp_path / "store")
    configs = [_config(seed=s) for s in (0, 1)]
    saved = []
    original = store.save_checkpoint

    def save_then_stop(config, state):
        original(config, state)
        saved.append(config.seed)
        if config.seed == 1 and state["epoch"] == 2:  # both seeds saved at 2 of 3: die mid-run
            raise Interrupt

    store.save_checkpoint = save_then_stop
    with pytest.raises(Interrupt):
        execute_many(
            configs, store, short_data, batch_seeds=True, progress=False, checkpoint_interval_s=0.0
        )
    assert not any(store.is_complete(c) for c in configs)
    assert all(store.load_checkpoint(c)["epoch"] == 2 for c in configs)
    store.save_checkpoint = original
    resumed = execute_many(configs, store, short_data, batch_seeds=True, progress=False)
    assert [r["resumed_from_epoch"] for r in resumed] == [2, 2]
    assert [[s["from_epoch"] for s in r["segments"]] for r in resumed] == [[0, 2], [0, 2]]
    uninterrupted = train_seeds(configs, short_data, progress=False)
    for result, reference in zip(resumed, uninterrupted, strict=True):
        assert_close(result["epochs"], reference["epochs"])
        assert_close(result["events"], reference["events"])
