"""The paper's models: parameter counts (Section 3.3) and the layers pruning targets."""

import pytest
import torch

from prunestab.models import PAPER_PARAMETER_COUNTS, build, count_parameters


@pytest.mark.parametrize("name", sorted(PAPER_PARAMETER_COUNTS))
def test_parameter_counts_match_the_paper(name):
    assert count_parameters(build(name)) == PAPER_PARAMETER_COUNTS[name]


def test_conv4_first_linear_layer_holds_94_percent():
    model = build("conv4")
    (layer,) = model.prunable_layers()
    share = sum(p.numel() for p in layer.module.parameters()) / count_parameters(model)
    assert round(100 * share) == 94


def test_vgg11_final_four_convs_hold_90_percent():
    model = build("vgg11")
    pruned = sum(p.numel() for layer in model.prunable_layers() for p in layer.module.parameters())
    assert round(100 * pruned / count_parameters(model)) == 89  # 89.5%: the paper's "90%"
    assert [layer.name for layer in model.prunable_layers()] == [
        "features.15",
        "features.18",
        "features.22",
        "features.25",
    ]


def test_resnet18_final_four_convs_hold_74_percent_and_conv2s_cut_shortcuts():
    model = build("resnet18")
    layers = model.prunable_layers()
    pruned = sum(p.numel() for layer in layers for p in layer.module.parameters())
    assert round(100 * pruned / count_parameters(model)) == 74
    assert [layer.block is not None for layer in layers] == [False, True, False, True]


@pytest.mark.parametrize("name", ["conv4", "vgg11", "resnet18", "vgg19"])
def test_narrow_models_run(name):
    model = build(name, width=0.125)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_unknown_model_is_refused_with_the_allowed_names():
    with pytest.raises(ValueError, match="allowed: conv4, vgg11, vgg19, resnet18"):
        build("alexnet")
