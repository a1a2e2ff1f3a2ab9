"""Iterative pruning schedules (Appendix A.3).

A schedule names, for each pruned layer ``l``, the epoch at which pruning starts
(``start_epochs[l]``), the epoch at which it ends (``end_epochs[l]``), the fraction of
the layer's units removed by the end (``fractions[l]``), and one inter-pruning retrain
period shared by all layers (``retrain_period``, the paper's ``r``). These are the paper's
``s``, ``e``, ``p`` and ``r`` (Appendix A.3: "a series of epochs at which pruning starts
``s``, ... ends ``e``, ... fractions of parameters to remove ``p``, and an
inter-pruning-iteration retrain period ``r``").

Decisions where the paper is silent, taken from the authors' code (book/authors_code.md, section 4):

* Epochs are 0-based; layer ``l`` is pruned at the *end* of every epoch in
  ``range(start, end + 1, retrain_period)``.
* A layer of ``N`` units keeps ``F = ceil((1 - p) N)`` units at the end, so it loses
  ``N - F = floor(p N)``; after its ``i``-th of ``n`` events it has lost
  ``floor((N - F) i / n)`` units in total. Per-event counts therefore differ by at most
  one, which is the paper's "same number of parameters per pruning iteration" up to
  rounding. ``F`` is computed exactly (``Fraction`` of the fraction's decimal text, so
  0.7 * 512 is not rounded up by float error).
* With few units, ``floor((N - F) i / n)`` can stay equal from one event to the next
  (fewer units to remove than events): those epochs remove no unit and are left out of
  the events (:func:`empty_events` counts them), so the layer has fewer effective events
  than the paper's.
* The iterative pruning rate of a layer is ``p / n``; figures state the largest rate over
  the layers (A.3: "our figures state the largest iterative pruning rate that was used in
  any of the layers"; A.3.1 rounds it to the nearest integer percent in the legends).

A one-shot pruning (Figure 3's "One Shot at epoch 246": the model "pruned all its targeted
parameters at once on epoch 246", A.3.3) is a schedule whose start and end epochs are
equal, one event per layer.

A schedule on a shorter epoch axis (the reduced profiles; the paper has one axis) comes
from one scaling rule: :func:`scale_epoch` for epochs, :func:`scale_period` for the
retrain period, :func:`scale_schedule` for a whole schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


def scale_epoch(epoch: int, factor: float) -> int:
    """A (0-based) epoch of the paper's axis on an axis stretched by ``factor``: rounded
    down, so an event or milestone never moves later than its share of the run. The one
    rule for epochs, used by :func:`scale_schedule` and by the profiles (the paper
    has one axis; scaling it is our decision for the reduced profiles).

    Args:
        epoch: a 0-based epoch on the paper's axis (a pruning start/end or an lr milestone).
        factor: the stretch, e.g. 0.02 for a 325-epoch axis shrunk to 6.5 epochs; not
            checked here (:func:`scale_schedule` refuses ``factor <= 0``).

    Returns:
        ``floor(epoch * factor)``.

    >>> scale_epoch(149, 0.02), scale_epoch(325, 1.0)
    (2, 325)
    """
    return int(math.floor(epoch * factor))


def scale_period(period: int, factor: float) -> int:
    """A retrain period (epochs between a layer's events) on an axis stretched by
    ``factor``: to the nearest integer, at least 1, so each layer keeps about as many
    events (and the same per-event rates) as the shorter axis allows.

    Args:
        period: the retrain period ``r`` on the paper's axis (A.3), in epochs.
        factor: the stretch, as for :func:`scale_epoch`.

    Returns:
        ``max(1, round(period * factor))`` (Python's ``round``: halves go to the even
        integer).

    >>> scale_period(40, 0.02), scale_period(40, 1.0)
    (1, 40)
    """
    return max(1, round(period * factor))


def scale_schedule(schedule: PruningSchedule, factor: float) -> PruningSchedule:
    """The same schedule on an epoch axis stretched by ``factor`` (profiles, not the paper).

    Start and end epochs are rounded down (:func:`scale_epoch`; an end never before its
    start) and the retrain period to the nearest integer, at least 1 (:func:`scale_period`),
    so the number of events per layer, and hence the per-event rates, stay as close to the
    original as the shorter axis allows. Fractions are unchanged.

    Args:
        schedule: the schedule on the paper's axis.
        factor: the stretch of the epoch axis, > 0 (1.0 returns an equal schedule).

    Returns:
        A new :class:`PruningSchedule`.

    Raises:
        ValueError: ``factor <= 0`` (the message names the factor).

    >>> scale_schedule(PruningSchedule((3, 6), (150, 275), (0.3, 0.9), 40), 0.1)
    PruningSchedule(start_epochs=(0, 0), end_epochs=(15, 27), fractions=(0.3, 0.9), retrain_period=4)
    """
    if factor <= 0:
        raise ValueError(f"scale factor={factor!r}; allowed: a number > 0")
    starts = tuple(scale_epoch(s, factor) for s in schedule.start_epochs)
    ends = tuple(
        max(s, scale_epoch(e, factor)) for s, e in zip(starts, schedule.end_epochs, strict=True)
    )
    return PruningSchedule(
        starts, ends, schedule.fractions, scale_period(schedule.retrain_period, factor)
    )


@dataclass(frozen=True)
class PruningEvent:
    """One layer's pruning at the end of one epoch, as :meth:`PruningSchedule.events`
    lists it.

    Attributes:
        epoch: the 0-based epoch at whose end the layer is pruned.
        layer: the layer's position in the schedule (and in ``prunable_layers()``).
        count: units removed at this event (at least 1: events that would remove none
            are left out of :meth:`PruningSchedule.events`).
        cumulative: units removed from the layer once this event is done.
        index: the event's 1-based position among the layer's scheduled epochs.
        n_events: the layer's scheduled epochs (:meth:`PruningSchedule.n_events`).

    >>> PruningSchedule((0,), (2,), (0.5,), 1).events([6])[0]
    PruningEvent(epoch=0, layer=0, count=1, cumulative=1, index=1, n_events=3)
    """

    epoch: int
    layer: int
    count: int
    cumulative: int
    index: int
    n_events: int


@dataclass(frozen=True)
class PruningSchedule:
    """Per-layer start/end epochs and fractions, and a shared retrain period (A.3).

    The paper's ``s``, ``e``, ``p`` and ``r``; how they become events is the module
    docstring's rules. Lists are accepted and stored as tuples.

    Attributes:
        start_epochs: per layer, the 0-based epoch of its first event.
        end_epochs: per layer, the last epoch an event may fall on (events fall on
            ``range(start, end + 1, retrain_period)``, so the last one may be earlier).
        fractions: per layer, the fraction of its units removed by the end, ``0 <= p < 1``.
        retrain_period: epochs between two events of a layer, shared by all layers.

    Raises:
        ValueError: (at construction) no layers, the three tuples differ in length, the
            retrain period is not an integer >= 1, a start epoch is not an integer >= 0,
            an end epoch is before its start, or a fraction is outside ``[0, 1)``; the
            message names the field and layer and what is allowed.

    Figure 1's VGG11 schedule at the 13% rate (A.3.1):

    >>> vgg11 = PruningSchedule((3, 4, 5, 6), (150, 150, 150, 275), (0.3, 0.3, 0.3, 0.9), 40)
    >>> [vgg11.n_events(layer) for layer in range(vgg11.n_layers)]
    [4, 4, 4, 7]
    >>> round(100 * vgg11.max_iterative_rate(), 2)
    12.86
    """

    start_epochs: tuple[int, ...]
    end_epochs: tuple[int, ...]
    fractions: tuple[float, ...]
    retrain_period: int

    def __post_init__(self) -> None:
        for name in ("start_epochs", "end_epochs", "fractions"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        _validate_schedule(self)

    @property
    def n_layers(self) -> int:
        """The number of pruned layers the schedule describes."""
        return len(self.start_epochs)

    def event_epochs(self, layer: int) -> range:
        """The 0-based epochs at whose end ``layer`` is pruned.

        Args:
            layer: the layer's position in the schedule.

        Returns:
            ``range(start_epochs[layer], end_epochs[layer] + 1, retrain_period)``; some of
            these may remove no unit (:func:`empty_events`).

        >>> list(PruningSchedule((6,), (275,), (0.9,), 40).event_epochs(0))
        [6, 46, 86, 126, 166, 206, 246]
        """
        return range(self.start_epochs[layer], self.end_epochs[layer] + 1, self.retrain_period)

    def n_events(self, layer: int) -> int:
        """The number of scheduled pruning epochs of ``layer`` (:meth:`event_epochs`).

        Args:
            layer: the layer's position in the schedule.

        Returns:
            ``n``, the denominator of the layer's iterative rate ``p / n``.
        """
        return len(self.event_epochs(layer))

    def iterative_rate(self, layer: int) -> float:
        """Fraction of the layer removed per event, ``p / n`` (the rate the figures quote).

        Args:
            layer: the layer's position in the schedule.

        Returns:
            ``fractions[layer] / n_events(layer)``: the nominal rate; at small widths some
            events remove nothing and the effective rate is larger (:func:`empty_events`).
        """
        return self.fractions[layer] / self.n_events(layer)

    def max_iterative_rate(self) -> float:
        """The largest per-event rate over the layers, as the paper's legends state it (A.3;
        module docstring).

        Returns:
            ``max(iterative_rate(l))`` over the layers, a fraction (0.1286 for 12.86%).
        """
        return max(self.iterative_rate(layer) for layer in range(self.n_layers))

    def last_epoch(self) -> int:
        """The last epoch at whose end any layer is pruned.

        A run must train past it (``RunConfig`` refuses ``epochs <= last_epoch()``).

        Returns:
            The largest epoch of any layer's :meth:`event_epochs`.

        >>> PruningSchedule((3, 6), (150, 275), (0.3, 0.9), 40).last_epoch()
        246
        """
        return max(max(self.event_epochs(layer)) for layer in range(self.n_layers))

    def kept_at_end(self, layer: int, n_units: int) -> int:
        """Units of ``layer`` left after its last event: ``ceil((1 - p) N)``, computed
        exactly; the paper gives ``p``, not the rounding (module docstring).

        Args:
            layer: the layer's position in the schedule.
            n_units: the layer's prunable units ``N`` (filters/neurons, or weights).

        Returns:
            ``F = ceil((1 - p) N)``; the layer loses ``N - F = floor(p N)`` units.

        >>> PruningSchedule((0,), (0,), (0.3,), 1).kept_at_end(0, 512)
        359
        """
        keep = (1 - Fraction(str(self.fractions[layer]))) * n_units
        return math.ceil(keep)

    def events(self, units_per_layer: tuple[int, ...] | list[int]) -> list[PruningEvent]:
        """Every pruning event in epoch order, with exact per-event unit counts (the module
        docstring's rounding rule); epochs that would remove no unit are left out.

        Args:
            units_per_layer: per layer, its number of prunable units ``N``: filters or
                neurons for structured pruning, weights for unstructured pruning.

        Returns:
            :class:`PruningEvent` s sorted by epoch, then layer.

        Raises:
            ValueError: ``units_per_layer`` does not have one entry per layer (the message
                gives both counts and the entries).

        >>> schedule = PruningSchedule((3, 4), (150, 150), (0.3, 0.3), 40)
        >>> [(e.epoch, e.layer, e.count) for e in schedule.events([128, 64])][:4]
        [(3, 0, 9), (4, 1, 4), (43, 0, 10), (44, 1, 5)]
        """
        if len(units_per_layer) != self.n_layers:
            raise ValueError(
                f"schedule has {self.n_layers} layers but units_per_layer has "
                f"{len(units_per_layer)} entries: {tuple(units_per_layer)}"
            )
        events: list[PruningEvent] = []
        for layer, n_units in enumerate(units_per_layer):
            total = n_units - self.kept_at_end(layer, n_units)
            events += _layer_events(layer, total, self.event_epochs(layer))
        events.sort(key=lambda ev: (ev.epoch, ev.layer))
        return events

    @classmethod
    def one_shot(cls, epoch: int, fractions: tuple[float, ...]) -> PruningSchedule:
        """All of each layer's fraction removed at the end of ``epoch`` (Figure 3's "One
        Shot"; module docstring).

        Args:
            epoch: the 0-based epoch at whose end every layer is pruned.
            fractions: per layer, the fraction of its units removed.

        Returns:
            A :class:`PruningSchedule` with ``retrain_period=1``.

        Raises:
            ValueError: as the constructor (``epoch`` negative, no fractions, a fraction
                outside ``[0, 1)``).

        >>> one_shot = PruningSchedule.one_shot(246, (0.1, 0.9))
        >>> [(e.epoch, e.count) for e in one_shot.events([128, 128])]
        [(246, 12), (246, 115)]
        """
        n = len(fractions)
        return cls((epoch,) * n, (epoch,) * n, tuple(fractions), 1)


def empty_events(
    schedule: PruningSchedule, units_per_layer: tuple[int, ...] | list[int]
) -> tuple[int, ...]:
    """Per layer, how many of its scheduled epochs prune nothing (with fewer units to
    remove than events; module docstring).

    Args:
        schedule: the schedule.
        units_per_layer: as for :meth:`PruningSchedule.events`.

    Returns:
        Per layer, its scheduled epochs minus its events (0: every epoch prunes).

    Raises:
        ValueError: as :meth:`PruningSchedule.events`.

    >>> empty_events(PruningSchedule((0,), (9,), (0.5,), 1), [8])
    (6,)
    """
    effective = [0] * schedule.n_layers
    for event in schedule.events(units_per_layer):
        effective[event.layer] += 1
    return tuple(schedule.n_events(layer) - effective[layer] for layer in range(schedule.n_layers))


def _validate_schedule(schedule: PruningSchedule) -> None:
    """Raise ``ValueError`` naming the field, layer and what is allowed, as
    :class:`PruningSchedule` documents; ``schedule``'s fields are already tuples."""
    n = len(schedule.start_epochs)
    if n == 0:
        raise ValueError("PruningSchedule.start_epochs is empty; give one epoch per layer")
    if len(schedule.end_epochs) != n or len(schedule.fractions) != n:
        raise ValueError(
            "PruningSchedule needs one start epoch, end epoch and fraction per layer; got "
            f"start_epochs={schedule.start_epochs}, end_epochs={schedule.end_epochs}, "
            f"fractions={schedule.fractions}"
        )
    if not isinstance(schedule.retrain_period, int) or schedule.retrain_period < 1:
        raise ValueError(
            f"PruningSchedule.retrain_period={schedule.retrain_period!r}; "
            "allowed: an integer >= 1 (epochs between pruning events)"
        )
    for layer, (s, e, p) in enumerate(
        zip(schedule.start_epochs, schedule.end_epochs, schedule.fractions, strict=True)
    ):
        if not isinstance(s, int) or s < 0:
            raise ValueError(f"start_epochs[{layer}]={s!r}; allowed: an integer >= 0")
        if not isinstance(e, int) or e < s:
            raise ValueError(
                f"end_epochs[{layer}]={e!r}; allowed: an integer >= start_epochs[{layer}]={s}"
            )
        if not 0.0 <= p < 1.0:
            raise ValueError(f"fractions[{layer}]={p!r}; allowed: 0 <= fraction < 1")


def _layer_events(layer: int, total: int, epochs: range) -> list[PruningEvent]:
    """``layer``'s events removing ``total`` units over its scheduled ``epochs``: after the
    ``i``-th of ``n`` it has lost ``total * i // n``; epochs that remove none are left out."""
    events = []
    n = len(epochs)
    previous = 0
    for i, epoch in enumerate(epochs, start=1):
        cumulative = total * i // n
        if cumulative > previous:
            events.append(PruningEvent(epoch, layer, cumulative - previous, cumulative, i, n))
        previous = cumulative
    return events
