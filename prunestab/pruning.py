"""Structured and unstructured magnitude pruning with masks that never let a unit back.

Masks are registered buffers on the pruned module, so they are saved, loaded and moved
with the model (``unit_mask``: one entry per filter/neuron; ``weight_mask``: one per
weight). Nothing is physically removed: a pruned unit is held at exactly zero.

How "exactly zero, forever" is guaranteed (the authors' code let raw weights drift under
Adam; book/authors_code.md, section 2):

* at the pruning event the unit's parameters *and* their Adam moments are zeroed;
* after every backward pass the pruned entries' gradients are zeroed
  (:meth:`Pruner.mask_gradients`; parameters without a gradient are skipped), so Adam's
  moments stay 0 and its update ``lr * m / (sqrt(v) + eps)`` is exactly 0 for them: a
  pruned unit never comes back (A.3: "does not allow previously pruned weights to reenter
  the network");
* structured pruning masks the conv/linear weight and bias and the following
  BatchNorm's gamma and beta, so the channel's output is 0 in train and eval mode
  whatever the running statistics; in ResNet18 the shortcut into a pruned ``conv2``
  channel is cut (A.3: "we did prune the incoming and outgoing shortcut connections").

Scores (Section 3.1, Appendix A.1, A.3): ``l2`` filter/neuron norm (bias excluded, as the
authors did), ``ebn`` (the expected post-ReLU BN activation), ``ebn_signed`` (the
authors' ``EBN_alt``), ``magnitude`` (``|w|``, unstructured). Only units still unpruned
are scored and chosen; ties go to the lowest index (the authors' rule).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from prunestab.config import PERCENTILE_TARGETS, TARGETS, PruningConfig, RunConfig
from prunestab.models import PrunableLayer, prunable_layer_names, prunable_unit_counts
from prunestab.schedule import PruningEvent, empty_events

_SQRT_2PI = math.sqrt(2 * math.pi)


def expected_bn_relu(gamma: torch.Tensor, beta: torch.Tensor, signed: bool = False) -> torch.Tensor:
    """E[BN]: the expected value of ``ReLU(M)`` with ``M ~ N(beta, gamma^2)`` (Appendix A.1).

    The appendix's truncated-normal mean ``mu`` times ``P(M > 0) = 1 - Phi(lambda)``
    simplifies to ``beta * Phi(beta / s) + s * phi(beta / s)`` with ``s = |gamma|`` (the
    appendix writes N(beta, gamma) but uses gamma as the standard deviation). Computed in
    float64 as ``s * g(beta / s)`` with ``g(z) = phi(z) + z Phi(z)``, which avoids the
    ``0/0`` of the truncated mean when ``Phi`` underflows. For ``z < 0`` the two terms
    of ``g`` nearly cancel, so there ``g(z) = exp(-z^2/2) (1/sqrt(2 pi) + z/2 erfcx(-z/sqrt 2))``
    (``erfcx``, the scaled complementary error function): relative error about
    ``z^2`` machine epsilons, positive and increasing in beta up to ``z = -37``, below which
    the true value underflows float64 to 0 (tested against mpmath to ``|z| = 40``).
    ``gamma == 0`` gives the limit ``max(beta, 0)``.

    ``signed=True`` plugs the signed gamma into the same formula, as the authors'
    ``EBN_alt`` scoring did for their ResNet18 Figure 1 runs; it equals
    ``beta - E[BN]`` for negative gamma and can be negative.

    Args:
        gamma, beta: a BatchNorm's weight and bias (one value per channel).
        signed: use the signed ``gamma`` (``ebn_signed``) instead of ``|gamma|``.

    Returns:
        float64 tensor of the channels' scores, shaped like ``gamma``.

    >>> expected_bn_relu(torch.tensor([1.0, 1.0, 0.0]), torch.tensor([0.0, -8.0, 2.0]))
    tensor([3.9894e-01, 7.5503e-17, 2.0000e+00], dtype=torch.float64)
    """
    gamma = gamma.detach().to(torch.float64)
    beta = beta.detach().to(torch.float64)
    scale = gamma if signed else gamma.abs()
    safe = torch.where(scale == 0, torch.ones_like(scale), scale)
    z = beta / safe
    upper = torch.exp(-0.5 * z * z) / _SQRT_2PI + z * torch.special.ndtr(z)
    lower = torch.exp(-0.5 * z * z) * (
        1 / _SQRT_2PI + 0.5 * z * torch.special.erfcx(-z / math.sqrt(2))
    )
    value = safe * torch.where(z >= 0, upper, lower.clamp(min=0))
    return torch.where(scale == 0, beta.clamp(min=0), value)


class EmptyEventsWarning(UserWarning):
    """A schedule has pruning epochs that remove no unit of a layer (reduced widths).

    Issued by :func:`warn_empty_events` (a warning, not an error: the run is still
    valid, with fewer effective events than the paper's schedule). Silence it with
    ``warnings.simplefilter("ignore", EmptyEventsWarning)``.

    Args:
        message: the run's :meth:`~RunConfig.display_label`, then its
            :func:`empty_event_report` sentence for one layer.
    """


def empty_event_report(config: RunConfig) -> list[str]:
    """One sentence per layer of ``config`` whose schedule has epochs that prune nothing.

    At reduced widths a layer can have fewer units to remove than scheduled events, so
    some events remove nothing and the layer has fewer effective events (and a larger
    effective per-event rate) than the paper's schedule. Empty list: every event prunes.

    Args:
        config: the run; its model, width and pruning structure give the units per layer.

    Returns:
        One sentence per affected layer (model, width, layer name, empty and effective
        event counts); ``[]`` for an unpruned run or when every event prunes.

    Raises:
        ValueError: the schedule's layer count differs from the model's prunable layers
            (as :meth:`~prunestab.schedule.PruningSchedule.events`).

    >>> from prunestab.schedule import PruningSchedule
    >>> figure2 = PruningConfig(PruningSchedule((4,), (52,), (0.1,), 3))
    >>> empty_event_report(RunConfig("conv4", 60, width=0.03, pruning=figure2))
    ['conv4 at width 0.03, layer 0 (fc1): 16 of its 17 pruning epochs remove nothing (15 units, 1 to remove), so it has 1 effective events']
    """
    if config.pruning is None:
        return []
    schedule = config.pruning.schedule
    units = prunable_unit_counts(config.model, config.width, config.pruning.structure)
    empty = empty_events(schedule, units)
    names = prunable_layer_names(config.model, config.width)
    return [
        f"{config.model} at width {config.width:g}, layer {layer} ({names[layer]}): {count} of its "
        f"{schedule.n_events(layer)} pruning epochs remove nothing ({units[layer]} units, "
        f"{units[layer] - schedule.kept_at_end(layer, units[layer])} to remove), so it has "
        f"{schedule.n_events(layer) - count} effective events"
        for layer, count in enumerate(empty)
        if count
    ]


def warn_empty_events(config: RunConfig) -> None:
    """Issue an :class:`EmptyEventsWarning` per layer named by :func:`empty_event_report`.

    Args:
        config: the run; each warning starts with its :meth:`~RunConfig.display_label`.

    Raises:
        ValueError: as :func:`empty_event_report`.
    """
    for sentence in empty_event_report(config):
        warnings.warn(f"{config.display_label()}: {sentence}", EmptyEventsWarning, stacklevel=2)


def unit_scores(layer: PrunableLayer, score: str) -> torch.Tensor:
    """One float64 score per prunable unit (structured) or per weight (``magnitude``).

    The scores of Section 3.1 and Appendix A.1: ``l2``, each filter's/neuron's weight
    norm, bias excluded (the paper says "filters' l2 norms"; leaving out the bias is the
    authors' code's choice); ``magnitude``, ``|w|`` of every weight (unstructured, A.3);
    ``ebn``/``ebn_signed``, :func:`expected_bn_relu` of the following BatchNorm. Pruned
    units are scored too; :func:`select_units` only chooses among the candidates.

    Args:
        layer: the prunable layer (``model.prunable_layers()[l]``).
        score: ``l2``, ``ebn``, ``ebn_signed`` or ``magnitude``.

    Returns:
        ``[n_units]`` (structured scores) or ``[n_weights]`` (``magnitude``, in
        ``weight.flatten()`` order), float64, on the weight's device.

    Raises:
        ValueError: ``score`` is unknown, or an E[BN] score is asked of a layer with no
            BatchNorm (Conv4's ``fc1``); the message names the layer and what is allowed.

    >>> from prunestab.models import build
    >>> scores = unit_scores(build("vgg11", 0.125).prunable_layers()[0], "ebn")
    >>> scores.shape, round(float(scores[0]), 4)  # gamma = 1, beta = 0 at init: 1/sqrt(2 pi)
    (torch.Size([64]), 0.3989)
    """
    weight = layer.module.weight.detach()
    if score == "l2":
        return weight.flatten(1).to(torch.float64).norm(dim=1)
    if score == "magnitude":
        return weight.flatten().abs().to(torch.float64)
    if score in ("ebn", "ebn_signed"):
        if layer.batchnorm is None:
            raise ValueError(
                f"score={score!r} needs a BatchNorm after the pruned layer, and {layer.name} "
                "has none (Conv4 has no BatchNorm); allowed for it: l2, magnitude"
            )
        bn = layer.batchnorm
        return expected_bn_relu(bn.weight, bn.bias, signed=score == "ebn_signed")
    raise ValueError(f"score={score!r}; allowed: l2, ebn, ebn_signed, magnitude")


def select_units(
    scores: torch.Tensor,
    candidates: torch.Tensor,
    count: int,
    target: str,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Indices of the ``count`` candidate units that ``target`` removes.

    ``smallest``/``largest``: the extremes of the candidates' scores (ties: lowest index).
    ``random``: a uniform subset drawn with ``generator`` (seeded by the caller).
    ``percentileP`` (Figure 2's D0..D9, A.3.2: "the D9 experiment would target weights
    starting from the 90th percentile"): the ``count`` candidates just above the P-th
    percentile of the candidates' scores, moving upward (at most up to the largest).
    Figure 2's D10 prunes downward from the maximum: ``largest``. Percentiles are taken
    over the currently unpruned units (the paper leaves this open; so did the authors'
    code, which ranked the remaining weights at each event), so D9 keeps climbing
    through the top decile event by event while D10 always takes the very largest.

    Args:
        scores: one score per unit (any shape; flattened with ``candidates``).
        candidates: bool, true for the units still unpruned.
        count: units to remove, at most the candidates left.
        target: ``smallest``, ``largest``, ``random`` or ``percentile0`` .. ``percentile90``.
        generator: the seeded generator ``random`` draws with.

    Returns:
        Flat indices into ``scores``, int64 on the CPU.

    Raises:
        ValueError: ``count`` exceeds the candidates, or ``target`` is unknown (the
        message names what is allowed).

    >>> scores = torch.tensor([0.5, 0.1, 0.9, 0.3, 0.7])
    >>> select_units(scores, torch.ones(5, dtype=torch.bool), 2, "smallest").tolist()
    [1, 3]
    >>> select_units(scores, torch.ones(5, dtype=torch.bool), 2, "largest").tolist()
    [2, 4]
    """
    index = candidates.flatten().nonzero().squeeze(1).cpu()
    n = index.numel()
    if not 0 <= count <= n:
        raise ValueError(f"cannot prune {count} units: {n} unpruned candidates remain")
    values = scores.flatten().cpu()[index]
    if target == "random":
        order = torch.randperm(n, generator=generator)
        return index[order[:count]].sort().values
    if target == "smallest":
        return index[torch.sort(values, stable=True).indices[:count]]
    if target == "largest":
        return index[torch.sort(-values, stable=True).indices[:count]]
    if target in PERCENTILE_TARGETS:
        decile = int(target.removeprefix("percentile")) // 10
        order = torch.sort(values, stable=True).indices
        start = min(decile * n // 10, n - count)
        return index[order[start : start + count]]
    raise ValueError(f"target={target!r}; allowed: {', '.join(TARGETS)}")


def choose_units(
    layer: PrunableLayer,
    config: PruningConfig,
    count: int,
    candidates: torch.Tensor,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``count`` units of ``layer`` that ``config`` targets, and all units' scores.

    :func:`unit_scores` by ``config.score``, then :func:`select_units` by
    ``config.target`` among ``candidates``: a :class:`Pruner` passes the units still
    unpruned (no re-entry), noise injection the units it has not targeted yet. Nothing is
    changed.

    Args:
        layer: the prunable layer (``model.prunable_layers()[l]``).
        config: its ``score`` and ``target`` are used.
        count: units to choose (an event's ``count``).
        candidates: bool, per unit of the layer (flattened like the scores), true for the
            units that may be chosen.
        generator: the seeded generator a ``random`` target draws with.

    Returns:
        ``(chosen, scores)``: flat int64 indices on the CPU (:func:`select_units`) and the
        layer's float64 scores (:func:`unit_scores`).

    Raises:
        ValueError: the score does not apply to the layer (E[BN] without BatchNorm), or
            ``count`` exceeds the candidates left.

    >>> from prunestab.models import build
    >>> from prunestab.schedule import PruningSchedule
    >>> layer = build("vgg11", 0.125).prunable_layers()[0]
    >>> config = PruningConfig(PruningSchedule((0,) * 4, (0,) * 4, (0.5,) * 4, 1))
    >>> chosen, scores = choose_units(layer, config, 3, torch.ones(64, dtype=torch.bool))
    >>> chosen.shape, scores.shape
    (torch.Size([3]), torch.Size([64]))
    """
    scores = unit_scores(layer, config.score)
    chosen = select_units(scores, candidates, count, config.target, generator)
    return chosen, scores


@dataclass(frozen=True, eq=False)
class _Masked:
    """A parameter and the mask (broadcastable to it) that holds its pruned entries at 0."""

    param: nn.Parameter
    mask: torch.Tensor


def _attach_masks(layer: PrunableLayer, structured: bool, mask_batchnorm: bool) -> list[_Masked]:
    """Register ``layer``'s mask buffer (all ones) unless one is there already (another
    Pruner's), and pair it with each parameter it holds at zero."""
    module = layer.module
    if not structured:
        if "weight_mask" not in module._buffers:
            # Contiguous whatever the weight's layout (channels_last on GPUs), so that
            # ``view(-1)`` indexes weights in the order ``weight.flatten()`` scores them.
            mask = torch.ones_like(module.weight, memory_format=torch.contiguous_format)
            module.register_buffer("weight_mask", mask)
        return [_Masked(module.weight, module.weight_mask)]
    if "unit_mask" not in module._buffers:
        module.register_buffer("unit_mask", torch.ones(layer.n_units, device=module.weight.device))
    mask = module.unit_mask
    shape = (-1,) + (1,) * (module.weight.dim() - 1)
    masked = [_Masked(module.weight, mask.view(shape))]
    if module.bias is not None:
        masked.append(_Masked(module.bias, mask))
    if mask_batchnorm and layer.batchnorm is not None:
        masked += [_Masked(layer.batchnorm.weight, mask), _Masked(layer.batchnorm.bias, mask)]
    return masked


def _apply_masks(
    masked: list[_Masked], layer: PrunableLayer, optimizer: torch.optim.Optimizer | None
) -> None:
    """Multiply the parameters of ``layer`` (and its BatchNorm) among ``masked`` by their
    masks, and, given an optimizer, their per-parameter state too."""
    layer_params = {id(p) for p in layer.module.parameters()}
    if layer.batchnorm is not None:
        layer_params |= {id(p) for p in layer.batchnorm.parameters()}
    for entry in masked:
        if id(entry.param) not in layer_params:
            continue
        entry.param.mul_(entry.mask)
        if optimizer is not None:
            _mask_optimizer_state(optimizer, entry)


class Intervention(Protocol):
    """What happens to a model at its schedule's pruning events: one interface for
    pruning (:class:`Pruner`, permanent) and noise (``prunestab.noise.NoiseInjector``,
    held for a window of training steps), so the training loop has one path for both.
    """

    def events(self) -> list[PruningEvent]:
        """The schedule's events with exact unit counts, in epoch order.

        Returns:
            :meth:`~prunestab.schedule.PruningSchedule.events` for the model's layers.
        """
        ...

    def apply(
        self,
        event: PruningEvent,
        optimizer: torch.optim.Optimizer | None,
        selection: torch.Generator | None,
        noise: torch.Generator,
    ) -> dict:
        """Act on one event's units; return the event's record.

        Args:
            event: the event (from :meth:`events`) to carry out.
            optimizer: the training optimizer, whose per-parameter state a permanent
                intervention clears at the removed units; ``None`` if there is none yet.
            selection: the seeded generator ``random`` targets draw with.
            noise: the seeded generator noise is drawn with.

        Returns:
            The event's record (:func:`event_record`, plus what the intervention adds).
        """
        ...

    def before_step(self, noise: torch.Generator) -> None:
        """Called before every training step (noise windows re-apply their noise).

        Args:
            noise: the seeded generator noise is drawn with.
        """
        ...

    def pruned_counts(self) -> list[int]:
        """Units removed so far per layer (empty for noise, which removes none).

        Returns:
            One count per prunable layer, or ``[]``.
        """
        ...

    def state_dict(self) -> dict:
        """What a resumed run needs beyond the model and optimizer states.

        Returns:
            A dict of tensors and numbers that ``torch.save`` can store.
        """
        ...

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned, after the model's own state.

        Args:
            state: a dict from :meth:`state_dict` of an intervention built for the same
                model and config.
        """
        ...


class Pruner:
    """Applies a :class:`PruningConfig` to a model: masks, events, gradient masking.

    An :class:`Intervention`: :meth:`apply` prunes. Its masks are buffers of the model, so
    its own resumable state is empty.

    Construction registers the masks (all ones) on the model's prunable modules, or reuses
    masks already registered there (another Pruner's); nothing is pruned until
    :meth:`prune`. Call :meth:`mask_gradients` between ``backward()`` and the optimizer's
    ``step()`` so pruned entries stay exactly zero (module docstring).

    Args:
        model: a model of ``prunestab.models`` (anything with ``prunable_layers()``).
        config: what to prune, how to score and which units to target.

    Raises:
        ValueError: the schedule has a different number of layers than the model prunes
            (the message names the model's layers).

    >>> from prunestab.models import build
    >>> from prunestab.schedule import PruningSchedule
    >>> schedule = PruningSchedule((0, 0, 0, 0), (0, 0, 0, 0), (0.5, 0.5, 0.5, 0.5), 1)
    >>> pruner = Pruner(build("vgg11", 0.125), PruningConfig(schedule, target="largest"))
    >>> for event in pruner.events():
    ...     _ = pruner.prune(event)
    >>> pruner.pruned_counts()
    [32, 32, 32, 32]
    """

    def __init__(self, model: nn.Module, config: PruningConfig) -> None:
        self.config = config
        self.layers: list[PrunableLayer] = model.prunable_layers()
        if len(self.layers) != config.schedule.n_layers:
            names = ", ".join(layer.name for layer in self.layers)
            raise ValueError(
                f"the schedule gives {config.schedule.n_layers} layers but the model prunes "
                f"{len(self.layers)} ({names}); allowed: one start/end/fraction per layer"
            )
        self.structured = config.structure == "structured"
        self._masked: list[_Masked] = []
        for layer in self.layers:
            self._masked += _attach_masks(layer, self.structured, config.mask_batchnorm)

    def units_per_layer(self) -> tuple[int, ...]:
        """Units the schedule counts: filters/neurons, or weights when unstructured.

        Returns:
            One count per prunable layer.
        """
        return tuple(layer.n_units if self.structured else layer.n_weights for layer in self.layers)

    def events(self) -> list[PruningEvent]:
        """Every pruning event of the config's schedule for this model, in epoch order.

        Returns:
            :meth:`~prunestab.schedule.PruningSchedule.events` of :meth:`units_per_layer`.
        """
        return self.config.schedule.events(self.units_per_layer())

    def layer_mask(self, layer: int) -> torch.Tensor:
        """The mask buffer of one prunable layer: 1 for kept units, 0 for pruned ones.

        Args:
            layer: the layer's position in the schedule.

        Returns:
            The module's ``unit_mask`` (``[n_units]``, structured) or ``weight_mask``
            (shaped like the weight, unstructured); the buffer itself, not a copy.
        """
        module = self.layers[layer].module
        return module.unit_mask if self.structured else module.weight_mask

    def pruned_counts(self) -> list[int]:
        """Units (or weights) pruned so far, per layer, read from the masks.

        Returns:
            One count per prunable layer.
        """
        return [int((self.layer_mask(i) == 0).sum()) for i in range(len(self.layers))]

    @torch.no_grad()
    def prune(
        self,
        event: PruningEvent,
        optimizer: torch.optim.Optimizer | None = None,
        generator: torch.Generator | None = None,
    ) -> dict:
        """Remove ``event.count`` units of one layer; return the event's record.

        The chosen entries are set to 0 in the mask, in the masked parameters (weight,
        bias, and the BatchNorm's gamma and beta when ``mask_batchnorm``) and, given an
        optimizer, in its per-parameter state (Adam's moments); a ResNet18 ``conv2``
        layer's block also stops adding its shortcut into the pruned channels (A.3).

        Args:
            event: the event to carry out (from :meth:`events`).
            optimizer: the training optimizer; ``None`` before it exists.
            generator: the seeded generator a ``random`` target draws with.

        Returns:
            The event's record (:func:`event_record`; with the removed filter/neuron
            indices only for structured pruning).

        Raises:
            ValueError: as :func:`choose_units` (among the units still unpruned: no
                re-entry).
        """
        layer = self.layers[event.layer]
        mask = self.layer_mask(event.layer)
        chosen, scores = choose_units(layer, self.config, event.count, mask != 0, generator)
        mask.view(-1)[chosen.to(mask.device)] = 0
        if self.structured and layer.block is not None:
            layer.block.shortcut_mask.view(-1)[chosen.to(mask.device)] = 0
        _apply_masks(self._masked, layer, optimizer)
        return event_record(event, layer, chosen, scores, include_units=self.structured)

    def apply(self, event, optimizer, selection, noise) -> dict:
        """:meth:`prune` as an :class:`Intervention` (``noise`` is not used).

        Args:
            event, optimizer: as for :meth:`prune`.
            selection: :meth:`prune`'s ``generator``.
            noise: not used.

        Returns:
            The event's record.

        Raises:
            ValueError: as :meth:`prune`.
        """
        return self.prune(event, optimizer, selection)

    def before_step(self, noise: torch.Generator) -> None:
        """Nothing: pruned units stay masked through :meth:`mask_gradients`.

        Args:
            noise: not used.
        """

    def state_dict(self) -> dict:
        """Nothing beyond the model: the masks are the model's buffers.

        Returns:
            ``{}``.
        """
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Nothing to load: the masks are restored with the model's buffers.

        Args:
            state: not used (``{}`` from :meth:`state_dict`).
        """

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero pruned entries' gradients (parameters without one are skipped); call between
        ``backward()`` and ``step()`` so Adam never moves a pruned entry (module docstring).
        """
        for entry in self._masked:
            if entry.param.grad is not None:
                entry.param.grad.mul_(entry.mask)


def event_record(
    event: PruningEvent,
    layer: PrunableLayer,
    chosen: torch.Tensor,
    scores: torch.Tensor,
    include_units: bool,
) -> dict:
    """What a result file keeps of one pruning (or noise) event: among others the mean score
    of the removed units, the authors' "average pruned magnitude" (Figure 2).

    Args:
        event: the event carried out.
        layer: its prunable layer (for the name).
        chosen: the flat indices removed (or noised).
        scores: the layer's scores at the event (:func:`unit_scores`).
        include_units: keep ``chosen`` as ``units`` (structured events; unstructured ones
            would store thousands of weight indices).

    Returns:
        A JSON-ready dict: ``epoch``, ``layer``, ``layer_name``, ``count``,
        ``cumulative``, ``mean_score`` (mean score of the chosen units, NaN when none) and,
        with ``include_units``, ``units``.
    """
    record = {
        "epoch": event.epoch,
        "layer": event.layer,
        "layer_name": layer.name,
        "count": event.count,
        "cumulative": event.cumulative,
        "mean_score": float(scores[chosen].mean()) if event.count else float("nan"),
    }
    if include_units:
        record["units"] = chosen.tolist()
    return record


def _mask_optimizer_state(optimizer: torch.optim.Optimizer, entry: _Masked) -> None:
    """Zero the optimizer's per-parameter tensors (Adam's moments) at pruned entries."""
    state = optimizer.state.get(entry.param, {})
    for value in state.values():
        if isinstance(value, torch.Tensor) and value.shape == entry.param.shape:
            value.mul_(entry.mask)
