"""Iterative pruning schedules (Appendix A.3).

A schedule names, for each pruned layer ``l``, the epoch at which pruning starts
(``start_epochs[l]``), the epoch at which it ends (``end_epochs[l]``), the fraction of
the layer's units removed by the end (``fractions[l]``), and one inter-pruning retrain
period shared by all layers (``retrain_period``, the paper's ``r``).

Decisions where the paper is silent, taken from the authors' code (book/authors_code.md, section 4):

* Epochs are 0-based; layer ``l`` is pruned at the *end* of every epoch in
  ``range(start, end + 1, retrain_period)``.
* A layer of ``N`` units keeps ``F = ceil((1 - p) N)`` units at the end, so it loses
  ``N - F = floor(p N)``; after its ``i``-th of ``n`` events it has lost
  ``floor((N - F) i / n)`` units in total. Per-event counts therefore differ by at most
  one, which is the paper's "same number of parameters per pruning iteration" up to
  rounding.
* The iterative pruning rate of a layer is ``p / n``; figures state the largest rate over
  the layers (A.3: "our figures state the largest iterative pruning rate").

A one-shot pruning (Figure 3's "One Shot at epoch 246") is a schedule whose start and end
epochs are equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


def scale_epoch(epoch: int, factor: float) -> int:
    """A (0-based) epoch of the paper's axis on an axis stretched by ``factor``: rounded
    down, so an event or milestone never moves later than its share of the run. The one
    rule for epochs, used by :meth:`PruningSchedule.scaled` and by the profiles.

    >>> scale_epoch(149, 0.02), scale_epoch(325, 1.0)
    (2, 325)
    """
    return int(math.floor(epoch * factor))


def scale_period(period: int, factor: float) -> int:
    """A retrain period (epochs between a layer's events) on an axis stretched by
    ``factor``: to the nearest integer, at least 1, so each layer keeps about as many
    events (and the same per-event rates) as the shorter axis allows.

    >>> scale_period(40, 0.02), scale_period(40, 1.0)
    (1, 40)
    """
    return max(1, round(period * factor))


@dataclass(frozen=True)
class PruningEvent:
    """One layer's pruning at the end of one epoch.

    ``count`` units are removed at this event; ``cumulative`` have been removed from the
    layer once it is done; ``index`` is the event's 1-based position in the layer's
    ``n_events``.
    """

    epoch: int
    layer: int
    count: int
    cumulative: int
    index: int
    n_events: int


@dataclass(frozen=True)
class PruningSchedule:
    """Per-layer start/end epochs and fractions, and a shared retrain period (A.3)."""

    start_epochs: tuple[int, ...]
    end_epochs: tuple[int, ...]
    fractions: tuple[float, ...]
    retrain_period: int

    def __post_init__(self) -> None:
        for name in ("start_epochs", "end_epochs", "fractions"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        n = len(self.start_epochs)
        if n == 0:
            raise ValueError("PruningSchedule.start_epochs is empty; give one epoch per layer")
        if len(self.end_epochs) != n or len(self.fractions) != n:
            raise ValueError(
                "PruningSchedule needs one start epoch, end epoch and fraction per layer; got "
                f"start_epochs={self.start_epochs}, end_epochs={self.end_epochs}, "
                f"fractions={self.fractions}"
            )
        if not isinstance(self.retrain_period, int) or self.retrain_period < 1:
            raise ValueError(
                f"PruningSchedule.retrain_period={self.retrain_period!r}; "
                "allowed: an integer >= 1 (epochs between pruning events)"
            )
        for layer, (s, e, p) in enumerate(
            zip(self.start_epochs, self.end_epochs, self.fractions, strict=True)
        ):
            if not isinstance(s, int) or s < 0:
                raise ValueError(f"start_epochs[{layer}]={s!r}; allowed: an integer >= 0")
            if not isinstance(e, int) or e < s:
                raise ValueError(
                    f"end_epochs[{layer}]={e!r}; allowed: an integer >= start_epochs[{layer}]={s}"
                )
            if not 0.0 <= p < 1.0:
                raise ValueError(f"fractions[{layer}]={p!r}; allowed: 0 <= fraction < 1")

    @property
    def n_layers(self) -> int:
        return len(self.start_epochs)

    def event_epochs(self, layer: int) -> range:
        """The 0-based epochs at whose end ``layer`` is pruned."""
        return range(self.start_epochs[layer], self.end_epochs[layer] + 1, self.retrain_period)

    def n_events(self, layer: int) -> int:
        return len(self.event_epochs(layer))

    def iterative_rate(self, layer: int) -> float:
        """Fraction of the layer removed per event, ``p / n`` (the rate the figures quote)."""
        return self.fractions[layer] / self.n_events(layer)

    def max_iterative_rate(self) -> float:
        """The largest per-event rate over the layers, as the paper's legends state it."""
        return max(self.iterative_rate(layer) for layer in range(self.n_layers))

    def last_epoch(self) -> int:
        return max(max(self.event_epochs(layer)) for layer in range(self.n_layers))

    def kept_at_end(self, layer: int, n_units: int) -> int:
        """``ceil((1 - p) N)``, computed exactly (``Fraction`` avoids 0.7 * 512 rounding)."""
        keep = (1 - Fraction(str(self.fractions[layer]))) * n_units
        return math.ceil(keep)

    def events(self, units_per_layer: tuple[int, ...] | list[int]) -> list[PruningEvent]:
        """Every pruning event in epoch order, with exact per-event unit counts.

        ``units_per_layer[l]`` is the number of prunable units of layer ``l``: filters or
        neurons for structured pruning, weights for unstructured pruning.
        """
        if len(units_per_layer) != self.n_layers:
            raise ValueError(
                f"schedule has {self.n_layers} layers but units_per_layer has "
                f"{len(units_per_layer)} entries: {tuple(units_per_layer)}"
            )
        events: list[PruningEvent] = []
        for layer, n_units in enumerate(units_per_layer):
            total = n_units - self.kept_at_end(layer, n_units)
            epochs = self.event_epochs(layer)
            n = len(epochs)
            previous = 0
            for i, epoch in enumerate(epochs, start=1):
                cumulative = total * i // n
                if cumulative > previous:
                    events.append(
                        PruningEvent(epoch, layer, cumulative - previous, cumulative, i, n)
                    )
                previous = cumulative
        events.sort(key=lambda ev: (ev.epoch, ev.layer))
        return events

    def empty_events(self, units_per_layer: tuple[int, ...] | list[int]) -> tuple[int, ...]:
        """Per layer, how many of its scheduled epochs prune nothing.

        With few units, ``floor((N - F) i / n)`` can stay equal from one event to the next
        (fewer units to remove than events): those epochs remove no unit and are not in
        :meth:`events`, so the layer has fewer effective events than the paper's.

        >>> PruningSchedule((0,), (9,), (0.5,), 1).empty_events([8])
        (6,)
        """
        effective = [0] * self.n_layers
        for event in self.events(units_per_layer):
            effective[event.layer] += 1
        return tuple(self.n_events(layer) - effective[layer] for layer in range(self.n_layers))

    def scaled(self, factor: float) -> PruningSchedule:
        """The same schedule on an epoch axis stretched by ``factor`` (profiles, not the paper).

        Start and end epochs are rounded down and the retrain period to the nearest integer
        (at least 1), so the number of events per layer, and hence the per-event rates,
        stay as close to the original as the shorter axis allows.
        """
        if factor <= 0:
            raise ValueError(f"scale factor={factor!r}; allowed: a number > 0")
        starts = tuple(scale_epoch(s, factor) for s in self.start_epochs)
        ends = tuple(
            max(s, scale_epoch(e, factor)) for s, e in zip(starts, self.end_epochs, strict=True)
        )
        return PruningSchedule(
            starts, ends, self.fractions, scale_period(self.retrain_period, factor)
        )

    @classmethod
    def one_shot(cls, epoch: int, fractions: tuple[float, ...]) -> PruningSchedule:
        """All of each layer's fraction removed at the end of ``epoch`` (Figure 3)."""
        n = len(fractions)
        return cls((epoch,) * n, (epoch,) * n, tuple(fractions), 1)
