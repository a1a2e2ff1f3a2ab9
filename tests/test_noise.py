"""Figure 5's noise injection: prune_L's choice of units, windows of exactly W steps."""

import pytest
import torch
from torch.nn import functional as F

from prunestab.config import NoiseConfig, PruningConfig
from prunestab.models import build
from prunestab.noise import NoiseInjector
from prunestab.schedule import PruningSchedule

SCHEDULE = PruningSchedule((0, 0, 0, 0), (0, 0, 0, 0), (0.25, 0.25, 0.25, 0.25), 1)
PRUNE_L = PruningConfig(SCHEDULE, "structured", "l2", "largest", mask_batchnorm=False)


def _setup(kind, steps):
    torch.manual_seed(0)
    model = build("vgg11", width=0.125)
    with torch.no_grad():  # as after some training: beta = 0 would leave a zeroed
        for layer in model.prunable_layers():  # channel dead behind the ReLU forever
            layer.batchnorm.bias.fill_(0.1)
    injector = NoiseInjector(model, PRUNE_L, NoiseConfig(kind, steps))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    return model, injector, optimizer, x, y


def _step(model, injector, optimizer, x, y, generator):
    injector.before_step(generator)
    seen = {id(layer): layer.module.weight.detach().clone() for layer in injector.layers}
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    return seen


def test_units_are_chosen_exactly_as_l2_prune_l_and_never_twice():
    model, injector, *_ = _setup("zeroing", 0)
    layer = injector.layers[3]
    norms = layer.module.weight.detach().flatten(1).norm(dim=1)
    expected = torch.sort(-norms, stable=True).indices[:16].tolist()
    records = [injector.on_event(e, None, torch.Generator()) for e in injector.events()]
    assert records[3]["units"] == expected
    assert injector.targeted[3].sum() == 16


@pytest.mark.parametrize("steps", [0, 1, 5])
def test_zeroing_holds_units_at_zero_for_exactly_w_steps_then_releases(steps):
    model, injector, optimizer, x, y = _setup("zeroing", steps)
    generator = torch.Generator()
    records = [injector.on_event(e, None, generator) for e in injector.events()]
    layer = injector.layers[0]
    units = records[0]["units"]
    assert (layer.module.weight[units] == 0).all()  # the post-event evaluation sees zeros
    zero_steps = 0
    for _ in range(steps + 3):
        seen = _step(model, injector, optimizer, x, y, generator)
        zero_steps += bool((seen[id(layer)][units] == 0).all())
    # W re-zeroed steps; with W = 0 the first step still starts from the zeroed weights.
    assert zero_steps == max(steps, 1)
    assert injector.open_windows() == 0
    assert (layer.module.weight[units] != 0).any()  # released: the units regrow


def test_gaussian_noise_has_the_std_of_an_untargeted_filter_and_lasts_w_steps():
    model, injector, optimizer, x, y = _setup("gaussian", 3)
    layer = injector.layers[1]
    before = layer.module.weight.detach().clone()
    generator = torch.Generator().manual_seed(0)
    records = [injector.on_event(e, None, generator) for e in injector.events()]
    units = records[1]["units"]
    untargeted = (~injector.targeted[1]).nonzero()[0, 0]
    added = layer.module.weight[units] - before[units]
    assert added.std().item() == pytest.approx(before[untargeted].std().item(), rel=0.05)
    for expected_open in (4, 4, 0):  # one window per layer
        _step(model, injector, optimizer, x, y, generator)
        assert injector.open_windows() == expected_open


def test_state_roundtrip_keeps_targets_and_windows():
    model, injector, *_ = _setup("zeroing", 10)
    for event in injector.events():
        injector.on_event(event, None, torch.Generator())
    injector.before_step(torch.Generator())
    state = injector.state_dict()
    _, other, *_ = _setup("zeroing", 10)
    other.load_state_dict(state)
    assert [t.tolist() for t in other.targeted] == [t.tolist() for t in injector.targeted]
    assert [w.steps_left for w in other.windows] == [9, 9, 9, 9]


def test_a_one_step_zeroing_window_is_the_same_run_as_zeroing_once(short_data):
    """Figure 5 at the paper's proportions (book/budget.md) scales "Zeroing 50" to 1 step at
    ``steps2600``: the re-zeroing before the first step finds the units still zero, so the
    run is "Zeroing 0" step for step. A 2-step window is a different run."""
    from tiny_runs import SHORT, short_config

    from prunestab.training.loop import train_run

    base = short_config(pruning=PruningConfig(SHORT, "structured", "l2", "largest", False))
    runs = {
        steps: train_run(
            base.replace(noise=NoiseConfig("zeroing", steps)), short_data, progress=False
        )
        for steps in (0, 1, 2)
    }

    def trace(result):
        keys = ("train_loss", "train_acc", "test_acc", "pre_test_acc")
        return [[r.get(k) for k in keys] for r in result["epochs"]]

    assert trace(runs[1]) == trace(runs[0])
    assert trace(runs[2]) != trace(runs[0])
