"""Evaluation with BatchNorm folded into its convolution: the same network, to rounding."""

import math

import pytest
import torch
from tiny_runs import tiny_config
from torch import nn
from torch.nn import functional as F

from prunestab.config import PruningConfig
from prunestab.models import build
from prunestab.pruning import Pruner
from prunestab.schedule import PruningSchedule
from prunestab.training.execution import Execution
from prunestab.training.folding import FoldedEval
from prunestab.training.loop import train_run
from prunestab.training.parts import _folded_eval


def _trained(name: str) -> nn.Module:
    """A model whose BatchNorms have non-trivial running statistics and affine terms."""
    torch.manual_seed(0)
    model = build(name, width=0.25).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        x = torch.randn(16, 3, 32, 32).to(memory_format=torch.channels_last)
        optimizer.zero_grad()
        F.cross_entropy(model(x), torch.randint(0, 10, (16,))).backward()
        optimizer.step()
    return model.eval()


@pytest.mark.parametrize(("name", "pairs"), [("vgg11", 8), ("resnet18", 20)])
def test_folded_logits_equal_the_models_to_rounding(name, pairs):
    model = _trained(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = FoldedEval(model)
    assert folded.pairs == pairs  # every conv -> BatchNorm pair (ResNet18: its shortcuts too)
    x = torch.randn(32, 3, 32, 32).to(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.allclose(folded.refresh()(x), model(x), atol=1e-5, rtol=1e-5)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the model is untouched


def test_refresh_follows_pruning_and_training_of_the_model():
    model = _trained("vgg11")
    folded = FoldedEval(model)
    folded.refresh()
    schedule = PruningSchedule((0,) * 4, (0,) * 4, (0.5,) * 4, 1)
    pruner = Pruner(model, PruningConfig(schedule, "structured", "l2", "largest"))
    for event in pruner.events():
        pruner.prune(event)
    x = torch.randn(32, 3, 32, 32).to(memory_format=torch.channels_last)
    with torch.no_grad():
        stale = folded.module(x)
        assert not torch.allclose(stale, model(x), atol=1e-3)  # refresh is what keeps it true
        assert torch.allclose(folded.refresh()(x), model(x), atol=1e-5, rtol=1e-5)
    # A pruned filter (weight, bias, gamma and beta masked) still outputs exactly 0: its
    # folded weight and bias are 0.
    for layer in pruner.layers:
        dead = layer.module.unit_mask == 0
        (copy,) = [f for f, conv, _ in folded._pairs if conv is layer.module]
        assert dead.sum() > 0 and (copy.weight[dead] == 0).all() and (copy.bias[dead] == 0).all()


def test_a_model_torch_fx_cannot_trace_is_a_clear_error():
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.norm = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

        def forward(self, x):
            return self.norm(self.conv(x)) if x.sum() > 0 else x

    with pytest.raises(ValueError, match="Branchy cannot be traced.*allowed"):
        FoldedEval(Branchy())
    # Training asks for folding by default: such a model is evaluated unfolded, not silently.
    with pytest.warns(UserWarning, match="without BatchNorm folding: .*Branchy cannot be traced"):
        assert _folded_eval(Branchy(), Execution()) is None


def test_runs_with_and_without_folding_train_identically_and_test_equally(tiny):
    """Evaluation never feeds training (eval mode, no random numbers), so the training
    records are bit-identical, and folded test accuracies equal the unfolded ones."""
    config = tiny_config()
    folded = train_run(config, tiny, progress=False)
    plain = train_run(config, tiny, progress=False, execution=Execution(fold_batchnorm=False))
    assert folded["execution"]["fold_batchnorm"] and not plain["execution"]["fold_batchnorm"]
    for a, b in zip(folded["epochs"], plain["epochs"], strict=True):
        assert a["train_loss"] == b["train_loss"] and a["train_acc"] == b["train_acc"]
        assert a["test_acc"] == b["test_acc"]
        assert math.isclose(a["test_loss"], b["test_loss"], rel_tol=1e-5)
    assert folded["events"] == plain["events"]
