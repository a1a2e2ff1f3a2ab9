"""Pruning: the E[BN] score (Appendix A.1), targets, and masks that never let units back."""

import pytest
import torch
from torch.nn import functional as F

from prunestab.config import PruningConfig
from prunestab.models import build
from prunestab.pruning import (
    Pruner,
    empty_event_report,
    expected_bn_relu,
    select_units,
    unit_scores,
)
from prunestab.schedule import PruningEvent, PruningSchedule


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 2.0, -1.5])
@pytest.mark.parametrize("beta", [-2.0, -0.5, 0.0, 0.7, 3.0])
def test_ebn_matches_a_monte_carlo_estimate(gamma, beta):
    g = torch.Generator().manual_seed(0)
    samples = beta + abs(gamma) * torch.randn(400_000, generator=g, dtype=torch.float64)
    monte_carlo = samples.clamp(min=0).mean()
    standard_error = samples.clamp(min=0).std() / 400_000**0.5
    closed = expected_bn_relu(torch.tensor([gamma]), torch.tensor([beta]))
    assert abs(closed.item() - monte_carlo.item()) < 5 * standard_error.item() + 1e-6


def test_ebn_equals_the_appendix_truncated_normal_form():
    gamma = torch.tensor([0.3, 1.0, 2.5], dtype=torch.float64)
    beta = torch.tensor([0.2, -0.4, 1.0], dtype=torch.float64)
    lam = -beta / gamma  # left truncation point l = 0, right r = inf
    z = 1 - torch.special.ndtr(lam)
    pdf = torch.exp(-0.5 * lam**2) / (2 * torch.pi) ** 0.5
    mu = gamma * pdf / z + beta
    torch.testing.assert_close(expected_bn_relu(gamma, beta), z * mu)


def test_ebn_handles_gamma_zero_and_far_tails():
    gamma = torch.tensor([0.0, 0.0, 0.0, 1e-3])
    beta = torch.tensor([1.5, -1.0, 0.0, -1.0])
    values = expected_bn_relu(gamma, beta)
    assert values[:3].tolist() == [1.5, 0.0, 0.0]
    assert 0 <= values[3].item() < 1e-100  # alpha = 1000: the exact value underflows to ~0
    assert torch.isfinite(values).all()


def test_signed_ebn_is_beta_minus_ebn_for_negative_gamma():
    gamma, beta = torch.tensor([-1.0]), torch.tensor([0.0])
    signed = expected_bn_relu(gamma, beta, signed=True)
    assert signed.item() == pytest.approx(
        -0.398942, abs=1e-6
    )  # the authors' EBN_alt value (book/authors_code.md, section 3)


def test_smallest_largest_break_ties_by_lowest_index():
    scores = torch.tensor([1.0, 0.5, 0.5, 2.0, 2.0, 0.5])
    candidates = torch.ones(6, dtype=torch.bool)
    assert select_units(scores, candidates, 2, "smallest").tolist() == [1, 2]
    assert select_units(scores, candidates, 1, "largest").tolist() == [3]


def test_only_unpruned_units_are_candidates():
    scores = torch.arange(10.0)
    candidates = torch.ones(10, dtype=torch.bool)
    candidates[:3] = False
    assert select_units(scores, candidates, 2, "smallest").tolist() == [3, 4]
    with pytest.raises(ValueError, match="7 unpruned candidates"):
        select_units(scores, candidates, 9, "smallest")


def test_random_target_is_seeded_and_uniform():
    scores = torch.zeros(1000)
    candidates = torch.ones(1000, dtype=torch.bool)
    a = select_units(scores, candidates, 100, "random", torch.Generator().manual_seed(1))
    b = select_units(scores, candidates, 100, "random", torch.Generator().manual_seed(1))
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 100
    assert 300 < a.float().mean() < 700


@pytest.mark.parametrize("j", range(10))
def test_percentile_targets_D0_to_D9_start_at_their_percentile_and_move_upward(j):
    """A.3.2: "The D9 experiment would target weights starting from the 90th percentile"."""
    scores = torch.randperm(1000).double()  # score == rank: percentiles are exact
    candidates = torch.ones(1000, dtype=torch.bool)
    chosen = select_units(scores, candidates, 30, f"percentile{10 * j}")
    assert sorted(scores[chosen].tolist()) == list(range(100 * j, 100 * j + 30))
    candidates[chosen] = False  # next event: percentiles of the units still unpruned
    following = select_units(scores, candidates, 30, f"percentile{10 * j}")
    remaining = sorted(scores[candidates].tolist())
    start = j * len(remaining) // 10
    assert sorted(scores[following].tolist()) == remaining[start : start + 30]


def test_D10_prunes_downward_from_the_maximum_and_D9_stops_at_the_top():
    scores = torch.randperm(1000).double()
    candidates = torch.ones(1000, dtype=torch.bool)
    largest = select_units(scores, candidates, 10, "largest")
    assert sorted(scores[largest].tolist()) == list(range(990, 1000))
    d9 = select_units(scores, candidates, 150, "percentile90")  # more than the top decile
    assert sorted(scores[d9].tolist()) == list(range(850, 1000))


def test_the_old_decile_names_are_refused_with_their_new_names():
    with pytest.raises(ValueError, match="decile10 is largest"):
        PruningConfig(_schedule(1), target="decile10")


def _schedule(n_layers):
    return PruningSchedule((0,) * n_layers, (0,) * n_layers, (0.5,) * n_layers, 1)


def _prune_everything(model, config):
    pruner = Pruner(model, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    for _ in range(3):  # give Adam non-zero moments before pruning
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    for event in pruner.events():
        pruner.prune(event, optimizer)
    return pruner, optimizer, x, y


@pytest.mark.parametrize("name", ["conv4", "vgg11", "resnet18"])
def test_structured_pruned_channels_output_exactly_zero_through_many_adam_steps(name):
    torch.manual_seed(0)
    model = build(name, width=0.125)
    score = "l2" if name == "conv4" else "ebn"
    pruner, optimizer, x, y = _prune_everything(
        model,
        PruningConfig(_schedule(len(model.prunable_layers())), "structured", score, "largest"),
    )
    outputs = {}
    hooks = [
        (layer.batchnorm or layer.module).register_forward_hook(
            lambda m, i, o, key=layer.name: outputs.__setitem__(key, o)
        )
        for layer in pruner.layers
    ]
    for _ in range(25):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        pruner.mask_gradients()
        optimizer.step()
    for mode in (model.train, model.eval):
        mode()
        model(x)
        for i, layer in enumerate(pruner.layers):
            dead = pruner.layer_mask(i) == 0
            assert dead.sum() == layer.n_units // 2
            assert (outputs[layer.name][:, dead] == 0).all()
            assert (layer.module.weight[dead] == 0).all()
            state = optimizer.state[layer.module.weight]
            assert (state["exp_avg"][dead] == 0).all() and (state["exp_avg_sq"][dead] == 0).all()
            if layer.block is not None:  # the shortcut into a pruned conv2 channel is cut
                block_out = layer.block(torch.randn(2, *_block_input_shape(layer.block)))
                assert (block_out[:, dead] == 0).all()
    for hook in hooks:
        hook.remove()


def _block_input_shape(block):
    return (block.conv1.in_channels, 8, 8)


@pytest.mark.parametrize("name", ["conv4", "vgg11", "resnet18"])
def test_unstructured_pruned_weights_stay_zero_through_many_adam_steps(name):
    torch.manual_seed(0)
    model = build(name, width=0.125)
    config = PruningConfig(
        _schedule(len(model.prunable_layers())), "unstructured", "magnitude", "smallest"
    )
    pruner, optimizer, x, y = _prune_everything(model, config)
    for _ in range(25):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        pruner.mask_gradients()
        optimizer.step()
    for layer in pruner.layers:
        dead = layer.module.weight_mask == 0
        assert dead.sum() == layer.n_weights // 2
        assert (layer.module.weight[dead] == 0).all()
        assert (layer.module.weight[~dead] != 0).all()


def test_masks_are_buffers_saved_with_the_model():
    model = build("vgg11", width=0.125)
    pruner = Pruner(model, PruningConfig(_schedule(4), "structured", "l2", "smallest"))
    pruner.prune(pruner.events()[0])
    state = model.state_dict()
    restored = build("vgg11", width=0.125)
    Pruner(restored, PruningConfig(_schedule(4), "structured", "l2", "smallest"))
    restored.load_state_dict(state)
    assert (restored.features[15].unit_mask == 0).sum() == 32  # half of 64 filters


def test_ebn_on_conv4_is_refused_with_what_is_allowed():
    model = build("conv4", width=0.125)
    pruner = Pruner(model, PruningConfig(_schedule(1), "structured", "ebn", "smallest"))
    with pytest.raises(ValueError, match="allowed for it: l2"):
        pruner.prune(PruningEvent(0, 0, 1, 1, 1, 1))


def test_l2_scores_ignore_the_bias():
    model = build("conv4", width=0.125)
    (layer,) = model.prunable_layers()
    with torch.no_grad():
        layer.module.bias.fill_(100.0)
    expected = layer.module.weight.detach().double().norm(dim=1)
    torch.testing.assert_close(unit_scores(layer, "l2"), expected)


def test_expected_bn_relu_keeps_its_relative_accuracy_in_the_far_tail():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    ratios = torch.linspace(-40, 40, 321, dtype=torch.float64)
    for gamma in (1.0, 0.03, 7.0):
        beta = ratios * gamma
        ours = expected_bn_relu(torch.full_like(beta, gamma), beta)
        for b, value in zip(beta.tolist(), ours.tolist(), strict=True):
            z = mpmath.mpf(b) / gamma
            exact = float(gamma * (mpmath.npdf(z) + z * mpmath.ncdf(z)))
            assert value == pytest.approx(exact, rel=1e-11, abs=1e-300), (gamma, b)
        assert torch.all(ours >= 0) and torch.all(ours.diff() >= 0)  # monotone in beta
    # The review's example: gamma = 1, beta = -8 is 7.55e-17, not 1.67e-16.
    value = expected_bn_relu(torch.tensor([1.0]), torch.tensor([-8.0])).item()
    assert value == pytest.approx(7.5502624119465e-17, rel=1e-9, abs=0)


def test_schedules_report_epochs_that_prune_nothing_at_reduced_widths():
    from prunestab.paper.registry import figure_grid
    from prunestab.pruning import EmptyEventsWarning

    with pytest.warns(EmptyEventsWarning, match=r"layer 2 \(layer4.1.conv1\): 10 of its 42"):
        grid = figure_grid("fig1", "quick", seeds=1)
    vgg = [c for c in grid if c.model == "vgg11" and c.pruning is not None]
    assert all(not empty_event_report(c) for c in vgg)  # 128 filters: every event prunes
    paper = [c for c in figure_grid("fig1", "paper", seeds=1) if c.pruning is not None]
    assert all(not empty_event_report(c) for c in paper)
