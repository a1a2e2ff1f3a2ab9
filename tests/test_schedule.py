"""Appendix A.3's schedules and the per-event rates the paper quotes."""

import pytest

from prunestab.schedule import PruningSchedule, scale_schedule

VGG11 = dict(
    start_epochs=(3, 4, 5, 6), end_epochs=(150, 150, 150, 275), fractions=(0.3, 0.3, 0.3, 0.9)
)
RESNET18 = dict(
    start_epochs=(3, 4, 5, 6), end_epochs=(150, 150, 170, 275), fractions=(0.25, 0.4, 0.25, 0.95)
)


@pytest.mark.parametrize(
    ("period", "n_events", "max_rate_percent"),
    [(4, (37, 37, 37, 68), 1.32), (40, (4, 4, 4, 7), 12.86)],
)
def test_vgg11_events_and_largest_rate_match_the_paper(period, n_events, max_rate_percent):
    schedule = PruningSchedule(retrain_period=period, **VGG11)
    assert tuple(schedule.n_events(layer) for layer in range(4)) == n_events
    assert round(100 * schedule.max_iterative_rate(), 2) == max_rate_percent


def test_vgg11_per_event_counts_sum_to_the_fractions_and_differ_by_at_most_one():
    schedule = PruningSchedule(retrain_period=4, **VGG11)
    events = schedule.events((512,) * 4)
    for layer, kept in enumerate((359, 359, 359, 52)):
        counts = [e.count for e in events if e.layer == layer]
        assert sum(counts) == 512 - kept
        assert max(counts) - min(counts) <= 1
    conv8 = [e.count for e in events if e.layer == 3]
    assert set(conv8) == {
        6,
        7,
    }  # 1.17-1.37% of 512 filters per event, as book/authors_code.md, section 4, computes


def test_staggered_starts_prune_one_layer_per_epoch():
    for period in (4, 20, 40, 60, 100):
        events = PruningSchedule(retrain_period=period, **VGG11).events((512,) * 4)
        epochs = [e.epoch for e in events]
        assert len(epochs) == len(set(epochs))


def test_resnet18_rates_at_r4_and_r40():
    assert (
        round(100 * PruningSchedule(retrain_period=4, **RESNET18).max_iterative_rate(), 2) == 1.40
    )
    assert (
        round(100 * PruningSchedule(retrain_period=40, **RESNET18).max_iterative_rate(), 2) == 13.57
    )


def test_r100_gives_the_texts_30_percent_rate_in_three_events():
    schedule = PruningSchedule(retrain_period=100, **VGG11)
    assert schedule.n_events(3) == 3
    assert schedule.max_iterative_rate() == pytest.approx(0.30)


def test_conv4_unstructured_counts():
    schedule = PruningSchedule((4,), (52,), (0.1,), 3)
    events = schedule.events((2304 * 512,))
    assert len(events) == 17
    assert sum(e.count for e in events) == 117_964
    structured = schedule.events((512,))
    assert sum(e.count for e in structured) == 51


def test_one_shot_is_a_single_event():
    schedule = PruningSchedule.one_shot(246, (0.1, 0.1, 0.1, 0.9))
    events = schedule.events((512,) * 4)
    assert [e.epoch for e in events] == [246] * 4
    assert [e.count for e in events] == [51, 51, 51, 460]


def test_scaled_keeps_fractions_and_event_counts_when_possible():
    schedule = scale_schedule(PruningSchedule(retrain_period=40, **VGG11), 0.2)
    assert schedule.retrain_period == 8
    assert tuple(schedule.n_events(layer) for layer in range(4)) == (4, 4, 4, 7)
    assert schedule.fractions == (0.3, 0.3, 0.3, 0.9)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (dict(retrain_period=0), "retrain_period"),
        (dict(fractions=(0.3, 0.3, 0.3, 1.2)), "fractions[3]"),
        (dict(end_epochs=(150, 150, 2, 275)), "end_epochs[2]"),
        (dict(start_epochs=(3, 4, 5)), "one start epoch"),
    ],
)
def test_bad_schedules_name_the_field(change, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        PruningSchedule(**({**VGG11, "retrain_period": 4} | change))
