"""What a chapter reads from a trained model, measured once and stored beside the run.

Figure A1 and the E[BN] chapter look inside one trained VGG19: the normalised
activations of its last eight BatchNorm layers on a probe batch, before and after
training, and the two filter scores of its prunable layers. Model files are not
committed (tens of megabytes at the paper's width), so these measurements are: the
run's ``probe.json`` holds them, and a clone of the repository reads the published
numbers instead of retraining the model (which, on another machine, gives slightly
different weights and so slightly different numbers).

What is stored is what the chapters show, no more: per layer, the Kolmogorov-Smirnov
distance of the activations to N(0, 1) (computed from every activation, in float64) and
their histogram counts on fixed bins; per prunable layer, every filter's l2 norm and
E[BN] score; and the weights' own test accuracy, so a probe measured on retrained
weights says how close they are to the stored run.

The module knows no figure: which runs keep a probe is the caller's parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats
import torch

from prunestab.config import RunConfig, config_hash
from prunestab.data.batches import normalize
from prunestab.data.cifar10 import CIFAR10
from prunestab.models import build
from prunestab.pruning import unit_scores
from prunestab.training.evaluation import evaluate
from prunestab.training.seeding import derive_seed

#: Version of the probe's layout; a reader refuses another.
VERSION = 1
#: The probe batch: the first this many training images the run saw.
BATCH_IMAGES = 128
#: BatchNorm layers measured, counted from the output.
BN_LAYERS = 8
#: Histogram bins of the normalised activations: ``BINS`` equal bins on ``RANGE``.
BINS = 80
RANGE = (-4.0, 4.0)


@torch.no_grad()
def normalized_bn_activations(
    model: torch.nn.Module, images: torch.Tensor, last: int = BN_LAYERS
) -> list[tuple[str, np.ndarray]]:
    """Each of the last ``last`` BatchNorm layers' normalised activations.

    The model runs in train mode on ``images`` (a batch of normalised inputs), as the
    authors did, and each BN's input is normalised with its batch statistics, i.e.
    ``(BN output - beta) / gamma``: the quantity Appendix A.1 assumes standard normal.

    Args:
        model: any module with ``BatchNorm2d`` layers; its state is left as it was
            (train-mode BN updates running statistics: they are restored).
        images: normalised inputs ``[N, 3, H, W]``.
        last: how many BN layers, counted from the output.

    Returns:
        ``(name, values)`` per layer, in network order; ``values`` is a float64 array of
        every activation of every channel.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    >>> (name, values), = normalized_bn_activations(net, torch.randn(8, 3, 6, 6), last=1)
    >>> name, values.shape, abs(values.mean()) < 1e-6
    ('1', (512,), np.True_)
    """
    norms = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    captured: dict[str, np.ndarray] = {}

    def hook(name):
        def record(module, inputs, output):
            x = inputs[0].transpose(0, 1).flatten(1).double()
            mean = x.mean(dim=1, keepdim=True)
            var = x.var(dim=1, unbiased=False, keepdim=True)
            captured[name] = ((x - mean) / torch.sqrt(var + module.eps)).flatten().cpu().numpy()

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in norms[-last:]]
    was_training = model.training
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        model(images)
    finally:
        model.load_state_dict(state)
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return [(name, captured[name]) for name, _ in norms[-last:]]


def initial_model(config: RunConfig) -> torch.nn.Module:
    """The model exactly as the run ``config`` started (the same seed-derived init).

    Args:
        config: the run (its ``model``, ``width`` and ``seed``).

    Returns:
        The model on the CPU, in the default layout.

    >>> config = RunConfig("conv4", epochs=1, width=0.125)
    >>> a, b = initial_model(config), initial_model(config)
    >>> torch.equal(next(a.parameters()), next(b.parameters()))
    True
    """
    torch.manual_seed(derive_seed(config.seed, "init"))
    return build(config.model, config.width)


#: The buffers pruning registers on a pruned layer (``prunestab.pruning``): a pruned run's
#: final weights carry them, a freshly built model has none.
MASK_BUFFERS = ("unit_mask", "weight_mask")


def model_with_masks(config: RunConfig, state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The model of ``config`` holding the final weights ``state_dict``, with the pruning
    masks those weights carry registered as the buffers they were.

    Args:
        config: the run (its ``model`` and ``width``).
        state_dict: final weights, from a pruned run or not.

    Returns:
        The model on the CPU; loading is strict, so any other unexpected key still raises.

    >>> config = RunConfig("conv4", epochs=1, width=0.125)
    >>> state = initial_model(config).state_dict()
    >>> state["features.0.unit_mask"] = torch.ones(4)
    >>> model_with_masks(config, state).features[0].unit_mask.shape
    torch.Size([4])
    """
    model = build(config.model, config.width)
    modules = dict(model.named_modules())
    for key, value in state_dict.items():
        owner, _, name = key.rpartition(".")
        if name in MASK_BUFFERS and owner in modules and name not in modules[owner]._buffers:
            modules[owner].register_buffer(name, torch.empty_like(value))
    model.load_state_dict(state_dict)
    return model


def ks_distance(values: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance of ``values`` to N(0, 1).

    Args:
        values: a sample.

    Returns:
        The largest gap between the sample's and N(0, 1)'s cumulative distributions.

    >>> round(ks_distance(np.array([0.0])), 3)
    0.5
    """
    return float(scipy.stats.kstest(values, "norm").statistic)


def _layer(name: str, before: np.ndarray, after: np.ndarray) -> dict[str, Any]:
    return {
        "name": name,
        "values": int(before.size),
        "ks_before": ks_distance(before),
        "ks_after": ks_distance(after),
        "counts_before": np.histogram(before, bins=BINS, range=RANGE)[0].tolist(),
        "counts_after": np.histogram(after, bins=BINS, range=RANGE)[0].tolist(),
    }


def measure(
    config: RunConfig, state_dict: dict[str, torch.Tensor], dataset: CIFAR10, weights: str
) -> dict[str, Any]:
    """The probe of the run ``config`` whose final weights are ``state_dict``.

    Args:
        config: the run (its model, width and seed give the initial model).
        state_dict: the final weights.
        dataset: the run's data (its first :data:`BATCH_IMAGES` training images are the
            probe batch; its test images give the weights' accuracy).
        weights: where the weights come from, in words (stored with the probe).

    Returns:
        A JSON-ready dict: ``hash``, ``version``, ``weights``, ``weights_test_acc``,
        ``batch_images``, ``bins`` (``count``, ``range``), ``bn_layers`` (per layer:
        ``name``, ``values``, ``ks_before``, ``ks_after``, ``counts_before``,
        ``counts_after``) and ``scores`` (per prunable layer: ``name``, ``l2``, ``ebn``).

    Example (``runner.execute`` stores it as the run's ``probe.json``)::

        probe = measure(config, outcome["model_state"], dataset, OWN_WEIGHTS)
        probe["bn_layers"][-1]["ks_after"]
    """
    images = normalize(dataset.train_images[:BATCH_IMAGES]).cpu().float()
    trained = model_with_masks(config, state_dict)
    before = normalized_bn_activations(initial_model(config), images)
    after = normalized_bn_activations(trained, images)
    accuracy = evaluate(trained, dataset.test_images.cpu(), dataset.test_labels.cpu()).accuracy
    return {
        "hash": config_hash(config),
        "version": VERSION,
        "weights": weights,
        "weights_test_acc": float(accuracy),
        "test_images": int(dataset.test_labels.numel()),
        "batch_images": int(images.shape[0]),
        "bins": {"count": BINS, "range": list(RANGE)},
        "bn_layers": [_layer(n, b, a) for (n, b), (_, a) in zip(before, after, strict=True)],
        "scores": [
            {
                "name": layer.name,
                "l2": unit_scores(layer, "l2").tolist(),
                "ebn": unit_scores(layer, "ebn").tolist(),
            }
            for layer in trained.prunable_layers()
        ],
    }
