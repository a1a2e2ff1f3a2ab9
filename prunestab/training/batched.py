"""Several seeds of one configuration trained side by side as one grouped model.

The paper runs every configuration ten times (A.3). At batch 128 one VGG11 leaves most of
a modern GPU idle and its step time is dominated by kernel launches, so :func:`train_seeds`
trains the K seeds of a configuration as *one* model whose every layer holds the K seeds'
layers side by side:

* a convolution becomes one convolution with K times the channels and ``groups=K``
  (``Conv2d(K*C_in, K*C_out, groups=K)``): group ``k`` sees only seed ``k``'s channels;
* a BatchNorm becomes one BatchNorm over K times the channels; BatchNorm is per channel,
  so each seed keeps its own batch statistics and running statistics;
* a linear layer becomes :class:`SeedLinear`, one batched matrix product (``baddbmm``);
* ReLU, max-pooling, average pooling, flattening and the ResNet shortcut are per channel
  and need no change, so the models' own ``forward`` methods run as written.

Seed ``k``'s batch (its own shuffle and augmentation) fills channel group ``k`` of the
input, and the loss is the sum of the K seeds' mean losses, so each seed's parameters
get exactly the gradient of its own loss. Adam without weight decay is elementwise, so
each seed's slice of a grouped parameter gets exactly the update a run of its own would
give it. The K launches of every kernel become one, and the GPU runs K seeds' work in
the time it would otherwise spend waiting.

Why grouped convolutions rather than ``torch.func.stack_module_state`` + ``vmap``: vmap's
batching rule for a convolution with batched weights lowers it to this same grouped
convolution, so the kernels are the same; but vmap needs the stacked BatchNorm running
statistics to be updated in place through batched tensors and functional calls, keeps
functorch transforms in the hot loop (in the way of ``torch.compile``, channels_last and
the fused Adam), and gives no ordinary module to prune. The grouped model is an ordinary
``nn.Module``: every fast-path setting (``prunestab.training.execution``) applies to it
unchanged.

Each seed also keeps its own ordinary model (built and initialised exactly as
``train_run`` builds it), whose parameters, buffers and masks are *views* of the grouped
model's tensors: the unchanged :class:`~prunestab.pruning.Pruner` and
:class:`~prunestab.noise.NoiseInjector` act on a seed's model (each seed scores and prunes
its own units, draws its own random targets and noise), and its state dict is the one a
single run would save. Checkpoints are per seed, in ``train_run``'s format.

Results equal those of ``train_run`` per seed up to floating-point rounding: grouped and
single convolutions sum in different orders (``tests/test_batched.py`` states the
tolerance).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from prunestab.config import RunConfig, config_hash
from prunestab.data.batches import (
    apply_augmentation,
    augmentation_draws,
    normalization_constants,
    normalize,
)
from prunestab.data.cifar10 import CIFAR10
from prunestab.models import BasicBlock
from prunestab.pruning import Pruner
from prunestab.training.execution import Execution
from prunestab.training.loop import RunOptions, train_group
from prunestab.training.model_sets import SingleModel
from prunestab.training.seeding import init_model

# Tensors of a module that are not split along dim 0 between seeds: the ResNet shortcut
# mask ``[1, C, 1, 1]`` is split along its channel dim.
_SEED_DIM = {(BasicBlock, "shortcut_mask"): 1}
# Tensors all seeds share: BatchNorm's step counter (it is the same for every seed).
_SHARED = {"num_batches_tracked"}


class SeedLinear(nn.Module):
    """K linear layers applied to K feature groups: ``[B, K*in] -> [B, K*out]``.

    Args:
        seeds: K, the number of seeds (feature groups).
        in_features, out_features: the sizes of each seed's ``nn.Linear``.
        bias: whether the layers have a bias.

    Attributes:
        weight: ``[K*out, in]``; seed ``k``'s ``nn.Linear`` weight is rows
            ``k*out .. (k+1)*out``, so the seeds' tensors are contiguous slices, like a
            grouped convolution's. Not initialised: the grouped model fills it with the
            seeds' weights.
        bias: ``[K*out]``, seed ``k``'s in the same rows; ``None`` without a bias.
        seeds, in_features, out_features: as given.

    >>> layer = SeedLinear(seeds=2, in_features=3, out_features=4, bias=True)
    >>> layer(torch.zeros(5, 2 * 3)).shape
    torch.Size([5, 8])
    """

    def __init__(self, seeds: int, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.seeds, self.in_features, self.out_features = seeds, in_features, out_features
        self.weight = nn.Parameter(torch.empty(seeds * out_features, in_features))
        self.bias = nn.Parameter(torch.empty(seeds * out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Seed ``k``'s linear layer on features ``k*in .. (k+1)*in`` of ``x [B, K*in]``;
        the K outputs side by side, ``[B, K*out]``."""
        k, n_in, n_out = self.seeds, self.in_features, self.out_features
        b = x.shape[0]
        x = x.reshape(b, k, n_in).transpose(0, 1)  # [K, B, in]
        weight = self.weight.view(k, n_out, n_in).transpose(1, 2)  # [K, in, out]
        if self.bias is None:
            out = torch.bmm(x, weight)
        else:
            out = torch.baddbmm(self.bias.view(k, 1, n_out), x, weight)
        return out.transpose(0, 1).reshape(b, k * n_out)


def _seed_dim(module: nn.Module, name: str) -> int | None:
    if name in _SHARED:
        return None
    for (kind, tensor_name), dim in _SEED_DIM.items():
        if isinstance(module, kind) and name == tensor_name:
            return dim
    return 0


def _seed_slice(tensor: torch.Tensor, dim: int | None, seeds: int, seed: int) -> torch.Tensor:
    """Seed ``seed``'s view of a grouped tensor (the whole tensor when shared)."""
    if dim is None:
        return tensor
    size = tensor.shape[dim] // seeds
    return tensor.narrow(dim, seed * size, size)


def _grouped_module(module: nn.Module, seeds: list[nn.Module], k: int) -> nn.Module:
    """One layer holding the K seeds' copies of a layer (``module`` is a deep copy)."""
    if isinstance(module, nn.Conv2d):
        module.in_channels *= k
        module.out_channels *= k
        module.groups *= k
    elif isinstance(module, nn.BatchNorm2d):
        module.num_features *= k
    elif isinstance(module, nn.Linear):
        grouped = SeedLinear(k, module.in_features, module.out_features, module.bias is not None)
        grouped.train(module.training)
        module = grouped
    elif module._parameters or any(_seed_dim(module, n) == 0 for n in module._buffers):
        raise ValueError(
            f"cannot train seeds side by side: {type(module).__name__} has tensors whose "
            "seed layout is unknown; allowed: Conv2d, BatchNorm2d, Linear, parameter-free "
            "modules and BasicBlock's shortcut_mask"
        )
    for name in list(module._parameters):
        if module._parameters[name] is None:
            continue
        parts = [seed._parameters[name].detach() for seed in seeds]
        module._parameters[name] = nn.Parameter(torch.cat(parts, 0).clone())
    for name in list(module._buffers):
        if module._buffers[name] is None:
            continue
        dim = _seed_dim(module, name)
        parts = [seed._buffers[name] for seed in seeds]
        module._buffers[name] = parts[0].clone() if dim is None else torch.cat(parts, dim)
    return module


class SeedGroup:
    """K models of one architecture as one grouped model (a ``train.ModelSet``).

    ``module`` is the grouped model; ``seed_models`` are the K models given, whose
    parameters and buffers now are views of ``module``'s tensors. Do not move ``module``
    to another device or layout afterwards: that would replace its tensors and cut the
    views (build the seed models where they will train).

    Raises:
        ValueError: fewer than 2 models, models of different architectures, or a layer
        whose tensors' seed layout is unknown (the message names the layer's type).

    >>> torch.manual_seed(0) and None
    >>> seeds = [nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)) for _ in range(2)]
    >>> group = SeedGroup(seeds)
    >>> group.module[0].out_channels, group.module[0].groups
    (8, 2)
    >>> x = torch.randn(1, 3, 5, 5)
    >>> grouped = group.module.eval()(group.eval_input(x))
    >>> torch.allclose(grouped[:, 4:], seeds[1].eval()(x), atol=1e-6)
    True
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        if len(models) < 2:
            raise ValueError(f"a seed group needs at least 2 models, got {len(models)}")
        self.seeds = len(models)
        self.seed_models = list(models)
        names = [name for name, _ in models[0].named_modules()]
        per_model = [dict(m.named_modules()) for m in models]
        if any(list(d) != names for d in per_model):
            raise ValueError("the models of a seed group must have the same architecture")
        grouped = copy.deepcopy(models[0])
        # Deepest first, so a parent is grouped after (and around) its children.
        for name in sorted(names, key=lambda n: n.count(".") + bool(n), reverse=True):
            module = grouped.get_submodule(name) if name else grouped
            replacement = _grouped_module(module, [d[name] for d in per_model], self.seeds)
            if replacement is not module:
                parent, _, child = name.rpartition(".")
                setattr(grouped.get_submodule(parent) if parent else grouped, child, replacement)
        # The layout is set before the seeds' views are taken (``to`` replaces tensors).
        self.module = grouped.to(memory_format=memory_format)
        self._point_seeds_at_module()

    def _point_seeds_at_module(self) -> None:
        """Make every seed model's tensors views of the grouped model's tensors."""
        grouped = dict(self.module.named_modules())
        for k, model in enumerate(self.seed_models):
            for name, module in model.named_modules():
                source = grouped[name]
                for pname, param in list(module._parameters.items()):
                    if param is None:
                        continue
                    view = _seed_slice(source._parameters[pname].detach(), 0, self.seeds, k)
                    # A seed's parameter is a window on the grouped one: the optimizer
                    # trains the grouped tensor, and pruning edits the window in place.
                    module._parameters[pname] = nn.Parameter(view, requires_grad=False)
                for bname, buffer in list(module._buffers.items()):
                    if buffer is None:
                        continue
                    dim = _seed_dim(source, bname)
                    module._buffers[bname] = _seed_slice(source._buffers[bname], dim, self.seeds, k)

    def share_masks(self, pruner: Pruner) -> None:
        """Give each seed model its view of the masks ``pruner`` put on the grouped model.

        Args:
            pruner: the grouped model's pruner; each seed's own ``Pruner``, built
                afterwards, then finds its masks already in place.
        """
        for k, model in enumerate(self.seed_models):
            for grouped_layer, layer in zip(pruner.layers, model.prunable_layers(), strict=True):
                for name in ("unit_mask", "weight_mask"):
                    mask = grouped_layer.module._buffers.get(name)
                    if mask is not None:
                        view = _seed_slice(mask, 0, self.seeds, k)
                        layer.module.register_buffer(name, view)

    def train_batches(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        generators: list[torch.Generator],
        augment_images: bool,
        epoch_images: int | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of grouped batches (:func:`seed_batches`)."""
        return seed_batches(images, labels, batch_size, generators, augment_images, epoch_images)

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """Every seed sees the same evaluation images: ``[B, 3, H, W] -> [B, K*3, H, W]``.

        Args:
            x: a normalised evaluation batch.

        Returns:
            ``x`` repeated along channels, once per seed.
        """
        return x.repeat(1, self.seeds, 1, 1)

    def _param_views(self, seed: int) -> list[tuple[nn.Parameter, nn.Parameter]]:
        """(grouped parameter, seed ``seed``'s parameter) pairs, in ``parameters()`` order."""
        return list(zip(self.module.parameters(), self.seed_models[seed].parameters(), strict=True))

    def optimizer_view(self, optimizer: torch.optim.Optimizer, seed: int) -> Any:
        """An object whose ``state`` maps seed ``seed``'s parameters to its optimizer state.

        The state tensors are views of the grouped optimizer's, so a pruner zeroing a
        seed's Adam moments zeroes exactly that seed's slice.

        Args:
            optimizer: the grouped model's optimizer.
            seed: the seed's index.

        Returns:
            A namespace with ``state``: ``{seed parameter: {key: view or value}}``,
            for the parameters the optimizer has state for.
        """
        state = {}
        for grouped, param in self._param_views(seed):
            if grouped in optimizer.state:
                state[param] = {
                    key: _seed_slice(value, 0, self.seeds, seed)
                    if isinstance(value, torch.Tensor) and value.shape == grouped.shape
                    else value
                    for key, value in optimizer.state[grouped].items()
                }
        return SimpleNamespace(state=state)

    def optimizer_states(self, optimizer: torch.optim.Optimizer) -> list[dict]:
        """Per seed, the ``state_dict()`` its own optimizer would have.

        Args:
            optimizer: the grouped model's optimizer.

        Returns:
            One state dict per seed, its tensors copied to the CPU (the single-run
            checkpoint format).
        """
        full = optimizer.state_dict()
        return [_seed_optimizer_state(full, self.seeds, k) for k in range(self.seeds)]

    def load_optimizer_states(self, optimizer: torch.optim.Optimizer, states: list[dict]):
        """Load K per-seed optimizer states into the grouped optimizer.

        Args:
            optimizer: the grouped model's optimizer.
            states: one state dict per seed, as :meth:`optimizer_states` gives them.
        """
        merged = _grouped_optimizer_state(states, list(self.module.parameters()))
        optimizer.load_state_dict({"state": merged, "param_groups": states[0]["param_groups"]})

    def model_states(self, copy: bool = True) -> list[dict]:
        """Each seed's ``state_dict()``, copied to the CPU (views would save whole groups).

        Args:
            copy: ignored: the states are always copies (a ``ModelSet`` argument).

        Returns:
            One state dict per seed, as a single run of it would save.
        """
        return [
            {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            for model in self.seed_models
        ]


def _seed_optimizer_state(full: dict, seeds: int, seed: int) -> dict:
    """Seed ``seed``'s part of a grouped optimizer's ``state_dict()`` ``full``, on the CPU."""
    per_param = {}
    for index, entry in full["state"].items():
        per_param[index] = {
            key: _seed_slice(value, 0, seeds, seed).to("cpu", copy=True)
            if isinstance(value, torch.Tensor) and value.dim() > 0
            else (value.to("cpu", copy=True) if isinstance(value, torch.Tensor) else value)
            for key, value in entry.items()
        }
    return {"state": per_param, "param_groups": copy.deepcopy(full["param_groups"])}


def _grouped_optimizer_state(states: list[dict], params: list[nn.Parameter]) -> dict:
    """The grouped optimizer's ``state`` from the seeds' ``states``, joined along dim 0."""
    merged = {}
    for index in states[0]["state"]:
        entry = {}
        for key, value in states[0]["state"][index].items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                joined = torch.cat([s["state"][index][key] for s in states], 0)
                # Same strides as the parameter (channels_last), as Adam would create.
                param = params[index]
                entry[key] = torch.empty_like(param, dtype=joined.dtype).copy_(joined)
            else:
                entry[key] = value
        merged[index] = entry
    return merged


def seed_batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generators: list[torch.Generator],
    augment_images: bool = False,
    epoch_images: int | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch for K seeds at once: ``x [B, K*3, H, W]`` and ``y [B, K]``.

    Seed ``k``'s column is exactly ``prunestab.data.batches.train_batches`` with
    ``generators[k]``: the same permutation, the same crops and flips, the same order
    (each generator draws its permutation, then its augmentation). All seeds' images are
    gathered, augmented and normalised together.

    Args:
        images: uint8 training images ``[N, 3, H, W]``.
        labels: their labels ``[N]``.
        batch_size: images per seed in each batch.
        generators: one seeded generator per seed.
        augment_images: random crops and flips (per seed, per image).
        epoch_images: train on the first this many of each seed's permutation.

    Returns:
        An iterator of ``(x, y)``: ``x [B, K*3, H, W]`` normalised, ``y [B, K]``.

    >>> images = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    >>> generators = [torch.Generator().manual_seed(s) for s in (1, 2)]
    >>> [tuple(y.shape) for _, y in seed_batches(images, torch.arange(10), 4, generators)]
    [(4, 2), (4, 2), (2, 2)]
    """
    n = labels.numel()
    device = images.device
    k = len(generators)
    orders = [torch.randperm(n, generator=g)[:epoch_images] for g in generators]
    draws = [augmentation_draws(n, g) for g in generators] if augment_images else None
    order = torch.stack(orders, 1).to(device)  # [epoch images, K]
    all_draws = torch.stack(draws, 1).to(device) if draws is not None else None  # [n, K, 3]
    seed_index = torch.arange(k, device=device)
    constants = normalization_constants(device)
    for start in range(0, order.shape[0], batch_size):
        index = order[start : start + batch_size]  # [B, K]
        batch = images[index]  # [B, K, 3, H, W]
        b = batch.shape[0]
        if all_draws is not None:
            flat = apply_augmentation(
                batch.flatten(0, 1), all_draws[index, seed_index].flatten(0, 1)
            )
            batch = flat.view(batch.shape)
        x = normalize(batch, constants=constants)
        yield x.view(b, -1, *x.shape[3:]), labels[index]


def group_key(config: RunConfig) -> tuple[str, str]:
    """Configs with equal keys differ at most by seed (and label): they can train together.

    Args:
        config: a run.

    Returns:
        The hash of the config at seed 0, and its device.

    >>> group_key(RunConfig("conv4", 2, seed=1)) == group_key(RunConfig("conv4", 2, seed=7))
    True
    """
    return config_hash(config.replace(seed=0)), config.device


def train_seeds(
    configs: Sequence[RunConfig],
    data: CIFAR10,
    *,
    resume: list[dict] | None = None,
    checkpoint: Callable[[list[dict]], None] | None = None,
    checkpoint_interval_s: float = 60.0,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, list[dict]], None] | None = None,
    execution: Execution | None = None,
) -> list[dict]:
    """Train several seeds of one configuration as one grouped model on ``data.device``.

    A single config is simply ``train_run``.

    Args:
        configs: runs equal but for their seeds (distinct).
        data: the dataset, on the device the seeds train on.
        resume: one ``train_run`` state per config, all at the same epoch.
        checkpoint: called with one ``train_run`` state per config.
        checkpoint_interval_s: the least time between checkpoints.
        progress: show an epoch bar (``None``: when stderr is a terminal).
        on_epoch_end: ``on_epoch_end(epoch, records)``, one record per config.
        execution: layout and compilation (``prunestab.training.execution.Execution``).

    Returns:
        One ``train_run`` result per config, in order.

    Raises:
        ValueError: the configs differ by more than their seeds, or repeat a seed; or
            ``resume`` holds states at different epochs.
        prunestab.training.preempt.Preempted: a stop was requested after checkpointing.

    Example (``tests/test_batched.py`` compares it with ``train_run`` per seed)::

        results = train_seeds([config.replace(seed=s) for s in range(4)], data)
    """
    configs = list(configs)
    if len({group_key(c) for c in configs}) != 1:
        raise ValueError("train_seeds needs configs that differ only by seed; got different ones")
    seeds = [c.seed for c in configs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"train_seeds got repeated seeds {seeds}; allowed: distinct seeds")
    execution = execution or Execution()
    memory_format = execution.memory_format(configs[0].model, data.device)
    models = [init_model(c, data.device, memory_format) for c in configs]
    if len(models) == 1:
        model_set = SingleModel(models[0])
    else:
        model_set = SeedGroup(models, memory_format)
    options = RunOptions(
        resume=resume,
        checkpoint=checkpoint,
        checkpoint_interval_s=checkpoint_interval_s,
        progress=progress,
        on_epoch_end=on_epoch_end,
        execution=execution,
    )
    return train_group(configs, model_set, data, options)
