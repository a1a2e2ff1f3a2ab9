"""The fast path changes speed, not results.

``Execution()`` (channels_last where it pays, optional ``torch.compile``) against
``PLAIN`` (eager, default layout): in float64 the two differ only by summation order
(1e-12), so every accuracy is identical and every loss equal to 1e-8 over a whole run
with pruning. In float32, the default on CPUs, rounding differences of 1e-7 grow through
training, and how fast depends on the CPU's kernels: on this project's 2-core machines a
near-chance tiny run already differs by 6 of 100 test images at epoch 2. So float32 is
checked where it is not chaotic yet, the first epoch (losses to 1e-3, before any
pruning event), and the structure of the whole run (which units each event removes);
the float64 tests state the equivalence of whole runs.
"""

import math

import pytest
import torch
from tiny_runs import resnet18_config, short_config, tiny_config
from torch._dynamo.utils import counters

from prunestab.config import DataConfig
from prunestab.data.cifar10 import load_cifar10
from prunestab.training.execution import PLAIN, Execution, resolve_precision
from prunestab.training.loop import train_run


def _same(a: dict, b: dict, rel: float, acc_points: float) -> None:
    for x, y in zip(a["epochs"], b["epochs"], strict=True):
        for key in ("train_acc", "test_acc", "pre_test_acc"):
            if key in x:
                assert abs(x[key] - y[key]) <= acc_points, (x["epoch"], key, x[key], y[key])
        assert math.isclose(x["train_loss"], y["train_loss"], rel_tol=rel), x["epoch"]
        assert math.isclose(x["test_loss"], y["test_loss"], rel_tol=rel), x["epoch"]
        assert x["pruned_units"] == y["pruned_units"]
    # float32: near-tied scores may be ranked in another order, so compare the sets.
    units = [sorted(e["units"]) for e in a["events"]]
    assert units == [sorted(e["units"]) for e in b["events"]]


@pytest.mark.parametrize("model", ["vgg11", "resnet18"])
def test_fast_and_plain_paths_agree_to_rounding_in_float64(short_data, resnet_data, float64, model):
    config, data = (
        (short_config(), short_data) if model == "vgg11" else (resnet18_config(), resnet_data)
    )
    fast = train_run(config, data, progress=False)
    plain = train_run(config, data, progress=False, execution=PLAIN)
    assert fast["execution"]["channels_last"] and not plain["execution"]["channels_last"]
    _same(fast, plain, rel=1e-8, acc_points=0)


def test_fast_and_plain_paths_agree_within_tolerance_in_float32(tiny):
    # tiny_config's first event ends epoch 1: epoch 0's losses are before any event.
    config = tiny_config(epochs=5)
    fast = train_run(config, tiny, progress=False)
    plain = train_run(config, tiny, progress=False, execution=PLAIN)
    assert fast["execution"]["precision"] == plain["execution"]["precision"] == "fp32"
    first, other = fast["epochs"][0], plain["epochs"][0]
    for key in ("train_loss", "test_loss"):
        assert math.isclose(first[key], other[key], rel_tol=1e-3), key
    counts = [[e["layer"], e["count"]] for e in fast["events"]]
    assert counts == [[e["layer"], e["count"]] for e in plain["events"]]


def test_compiled_training_equals_eager_and_pruning_never_recompiles(short_data, float64):
    """``aot_eager`` traces and guards like inductor, without generating C++ (fast in CI)."""
    compiled = Execution(compile="aot_eager")
    graphs = {}
    for name, pruning in (("unpruned", None), ("pruned", short_config().pruning)):
        torch._dynamo.reset()
        counters.clear()
        config = short_config(pruning=pruning)
        result = train_run(config, short_data, progress=False, execution=compiled)
        graphs[name] = counters["stats"]["unique_graphs"]
        assert result["execution"]["compile"] == "aot_eager"
    # One graph for training, one for evaluation; six pruning events (two per layer, on
    # three epochs) add none.
    assert graphs == {"unpruned": 2, "pruned": 2}
    eager = train_run(short_config(), short_data, progress=False)
    _same(result, eager, rel=1e-8, acc_points=0)


def test_precision_auto_is_fp32_on_cpus_and_bf16_stays_selectable(tiny):
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("fp32", "cuda") == "fp32"
    config = tiny_config(epochs=2, pruning=None, precision="bf16")
    result = train_run(config, tiny, progress=False)
    assert result["execution"]["precision"] == "bf16"
    assert all(math.isfinite(r["train_loss"]) for r in result["epochs"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_gpu_fast_path_uses_bf16_and_channels_last(tiny_cifar):
    data = load_cifar10(
        tiny_cifar, config=DataConfig(train_subset=200, test_subset=100), device="cuda"
    )
    result = train_run(tiny_config(device="cuda"), data, progress=False)
    bf16 = torch.cuda.is_bf16_supported()
    assert result["execution"]["precision"] == ("bf16" if bf16 else "fp32")
    assert result["execution"]["channels_last"]
    assert result["epochs"][-1]["pruned_units"] == [19, 19, 19, 57]
