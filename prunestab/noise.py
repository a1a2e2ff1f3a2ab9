"""Pruning as noise injection (Section 4.4, Figure 5, Appendix A.3.5).

The units a pruning algorithm would remove (chosen exactly as ``l2`` prune_L chooses
them, and never chosen twice) are kept, but at each pruning event they are

* ``zeroing``: set to zero (weights and bias) and held there, or
* ``gaussian``: perturbed by ``N(0, sigma^2)`` noise, ``sigma`` being the empirical std of
  the weights of an untargeted filter of the same layer (the first one, as the authors'
  code did, recomputed at each application),

once at the event (before the post-event evaluation, so the instability is measured),
then again before each of the next ``steps`` training steps; after that the units are
released and train freely. Repeated Gaussian noise accumulates, as in the authors' code.

Choosing: :class:`NoiseInjector` chooses an event's units with
:func:`~prunestab.pruning.choose_units` by its ``pruning`` config, among the units not
targeted before, so every event noises units no earlier event noised (as pruning never
takes a unit twice). It builds a :class:`~prunestab.pruning.Pruner` of that config for the
events and layers; its masks are registered on the model but stay all ones.

Counting: the paper's "0/50/1500 batches" counted every forward call of the noised layer,
test batches included; the authors' runs therefore noised 0/51/1106 *training* batches
(book/authors_code.md, section 6). We count training steps only, so ``steps`` is exactly the number of
optimizer steps whose forward pass sees freshly applied noise; the paper's labels are kept
as the configurations' ``steps``. With ``zeroing`` and ``steps=0`` the first training step
after the event still starts from the zeroed weights (nothing has changed them yet), which
is the paper's "Zeroing 0": zeroed once, immediately free to regrow.

The BatchNorm after a noised filter stays active, as in the authors' code; Figure 5's
Prune_L baseline therefore uses ``PruningConfig(mask_batchnorm=False)`` so that pruning
and zeroing differ only in permanence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from prunestab.config import NoiseConfig, PruningConfig
from prunestab.pruning import Pruner, choose_units, event_record
from prunestab.schedule import PruningEvent


@dataclass
class NoiseWindow:
    """Units of one layer whose noise is re-applied before each of ``steps_left`` steps.

    Attributes:
        layer: the layer's position in the schedule.
        units: the noised units' indices (int64, on the model's device).
        steps_left: training steps still to see fresh noise; the window closes at 0.
    """

    layer: int
    units: torch.Tensor
    steps_left: int


class NoiseInjector:
    """Targets units like a :class:`Pruner` would, and noises them instead of masking.

    An :class:`~prunestab.pruning.Intervention`: :meth:`apply` noises an event's units
    and opens their window; :meth:`before_step` keeps the open windows noised. How units
    are chosen: module docstring. Its resumable state (targeted units, open windows) is
    :meth:`state_dict`.

    Args:
        model: the model to noise (a ``prunestab.models`` model).
        pruning: the structured pruning whose schedule and target choose the units
            (Figure 5: ``l2`` prune_L with ``mask_batchnorm=False``).
        noise: ``zeroing`` or ``gaussian``, and the window in training steps.

    Raises:
        ValueError: ``pruning`` is unstructured, or its schedule's layer count differs
            from the model's prunable layers (as :class:`~prunestab.pruning.Pruner`).

    >>> from prunestab.models import build
    >>> from prunestab.schedule import PruningSchedule
    >>> schedule = PruningSchedule((0, 0, 0, 0), (0, 0, 0, 0), (0.25,) * 4, 1)
    >>> prune_l = PruningConfig(schedule, target="largest", mask_batchnorm=False)
    >>> injector = NoiseInjector(build("vgg11", 0.125), prune_l, NoiseConfig("zeroing", 2))
    >>> generator = torch.Generator().manual_seed(0)
    >>> record = injector.on_event(injector.events()[0], None, generator)
    >>> record["count"], record["noise"], injector.open_windows()
    (16, 'Zeroing 2', 1)
    >>> injector.before_step(generator); injector.before_step(generator)
    >>> injector.open_windows(), injector.pruned_counts()
    (0, [])
    """

    def __init__(self, model: nn.Module, pruning: PruningConfig, noise: NoiseConfig) -> None:
        if pruning.structure != "structured":
            raise ValueError(
                f"noise injection needs structured pruning, got structure={pruning.structure!r}"
            )
        # The pruner only lists the events and holds the config units are chosen by; its
        # masks stay all ones and are never applied, because noised units keep training.
        self.selector = Pruner(model, pruning)
        self.layers = self.selector.layers
        self.noise = noise
        device = self.layers[0].module.weight.device
        self.targeted = [
            torch.zeros(layer.n_units, dtype=torch.bool, device=device) for layer in self.layers
        ]
        self.windows: list[NoiseWindow] = []

    def events(self) -> list[PruningEvent]:
        """The pruning schedule's events for this model: when and how many units to noise.

        Returns:
            :meth:`~prunestab.pruning.Pruner.events` of the selecting pruner.
        """
        return self.selector.events()

    @torch.no_grad()
    def on_event(
        self,
        event: PruningEvent,
        selection_generator: torch.Generator | None,
        noise_generator: torch.Generator,
    ) -> dict:
        """Target this event's units, noise them once, and open their window.

        Called at the pruning event, before the post-event evaluation, so the event's
        instability is measured with the noise in place. No window is opened when
        ``steps`` is 0.

        Args:
            event: the event (from :meth:`events`).
            selection_generator: the seeded generator a ``random`` target draws with.
            noise_generator: the seeded generator Gaussian noise is drawn with.

        Returns:
            The event's record (:func:`~prunestab.pruning.event_record` with the units)
            plus ``noise``, the config's label (``Zeroing 50``).

        Raises:
            ValueError: ``event.count`` exceeds the units not yet targeted, or the score
                does not apply to the layer (as :func:`~prunestab.pruning.choose_units`).
        """
        layer, candidates = self.layers[event.layer], ~self.targeted[event.layer]
        chosen, scores = choose_units(
            layer, self.selector.config, event.count, candidates, selection_generator
        )
        units = chosen.to(self.targeted[event.layer].device)
        self.targeted[event.layer][units] = True
        self._apply(event.layer, units, noise_generator)
        if self.noise.steps > 0:
            self.windows.append(NoiseWindow(event.layer, units, self.noise.steps))
        record = event_record(event, layer, chosen, scores, include_units=True)
        record["noise"] = self.noise.label
        return record

    @torch.no_grad()
    def before_step(self, noise_generator: torch.Generator) -> None:
        """Re-apply the noise of every open window; call before each training forward.

        Each open window counts one step down and closes when none is left; Gaussian
        noise accumulates over the steps (module docstring).

        Args:
            noise_generator: the seeded generator Gaussian noise is drawn with.
        """
        if not self.windows:
            return
        for window in self.windows:
            self._apply(window.layer, window.units, noise_generator)
            window.steps_left -= 1
        self.windows = [window for window in self.windows if window.steps_left > 0]

    def _apply(self, layer_index: int, units: torch.Tensor, generator: torch.Generator) -> None:
        module = self.layers[layer_index].module
        _noise_units(self.noise.kind, module, units, self.targeted[layer_index], generator)

    def open_windows(self) -> int:
        """The number of windows whose noise is still re-applied before each step."""
        return len(self.windows)

    def state_dict(self) -> dict:
        """The targeted units and open windows, for a resumed run.

        Returns:
            ``{"targeted": [bool tensor per layer], "windows": [[layer, units,
            steps_left], ...]}``, tensors on the CPU.
        """
        return {
            "targeted": [t.cpu() for t in self.targeted],
            "windows": [[w.layer, w.units.cpu(), w.steps_left] for w in self.windows],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore the targeted units and open windows saved by :meth:`state_dict`.

        Args:
            state: the dict :meth:`state_dict` returned; its tensors are moved to the
                model's device.
        """
        device = self.targeted[0].device
        self.targeted = [t.to(device) for t in state["targeted"]]
        self.windows = [
            NoiseWindow(int(layer), units.to(device), int(steps))
            for layer, units, steps in state["windows"]
        ]

    def apply(self, event, optimizer, selection, noise) -> dict:
        """:meth:`on_event` as an :class:`Intervention` (noise has no optimizer state to
        clear: the noised units keep training).

        Args:
            event: as for :meth:`on_event`.
            optimizer: not used.
            selection: :meth:`on_event`'s ``selection_generator``.
            noise: :meth:`on_event`'s ``noise_generator``.

        Returns:
            The event's record.

        Raises:
            ValueError: as :meth:`on_event`.
        """
        return self.on_event(event, selection, noise)

    def pruned_counts(self) -> list[int]:
        """Nothing is pruned: the targeted units stay in the model.

        Returns:
            ``[]``.
        """
        return []


def _noise_units(
    kind: str,
    module: nn.Module,
    units: torch.Tensor,
    targeted: torch.Tensor,
    generator: torch.Generator,
) -> None:
    """Zero ``units`` of ``module`` (weight and bias), or add ``N(0, sigma^2)`` to their
    weights, ``sigma`` the std of the first filter not in ``targeted`` (module docstring)."""
    if kind == "zeroing":
        module.weight[units] = 0
        if module.bias is not None:
            module.bias[units] = 0
        return
    # The first untargeted filter, found on the device: ``nonzero()`` would make the
    # host wait for the GPU before every noised training step.
    first = torch.argmax((~targeted).to(torch.uint8))
    sigma = module.weight[first].std()
    shape = (units.numel(),) + tuple(module.weight.shape[1:])
    noise = torch.randn(shape, generator=generator, device=module.weight.device)
    module.weight[units] += sigma * noise.to(module.weight.dtype)
