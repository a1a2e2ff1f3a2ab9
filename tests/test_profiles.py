"""The profiles keep the paper's settings where they say they do (prunestab/paper/profiles.py)."""

import pytest

from prunestab.models import build
from prunestab.paper.profiles import PAPER_STEPS_PER_EPOCH, get_profile
from prunestab.paper.registry import figure_grid
from prunestab.pruning import Pruner


def _label(grid, label):
    return next(c for c in grid if c.label == label)


def test_quick_keeps_the_paper_epoch_axis_events_and_rates():
    quick = figure_grid("fig1", "quick", seeds=1)
    paper = figure_grid("fig1", "paper", seeds=1)
    for label in ("prune_S 1%", "prune_S 13%", "prune_L 13%"):
        for q, p in zip(
            (c for c in quick if c.label == label),
            (c for c in paper if c.label == label),
            strict=True,
        ):
            assert q.pruning.schedule == p.pruning.schedule
            assert q.epochs == p.epochs == 325
            assert q.optimizer.lr_milestones == p.optimizer.lr_milestones == (150, 300)
    # At quick width the pruned VGG11 layers keep one event per paper event: 37/37/37/68
    # events at r = 4 and 4/4/4/7 at r = 40, each pruning at least one filter.
    for label, counts, rate in (
        ("prune_S 1%", [37, 37, 37, 68], 1.32),
        ("prune_L 13%", [4, 4, 4, 7], 12.86),
    ):
        config = _label((c for c in quick if c.model == "vgg11"), label)
        pruner = Pruner(build("vgg11", config.width), config.pruning)
        events = pruner.events()
        assert [sum(e.layer == i for e in events) for i in range(4)] == counts
        assert round(100 * config.pruning.schedule.max_iterative_rate(), 2) == rate
        # The staggered starts still prune one layer per pruning epoch.
        assert len({e.epoch for e in events}) == len(events)


def test_quick_trains_512_images_per_long_epoch_and_conv4_on_every_image():
    vgg = figure_grid("fig1", "quick", seeds=1)[0]
    conv4 = figure_grid("fig2", "quick", seeds=1)[0]
    assert vgg.data.epoch_images == 512 and vgg.data.train_subset == 5000
    assert conv4.data.epoch_images is None and conv4.epochs == 60
    assert get_profile("quick").steps_per_epoch() == 4
    assert get_profile("paper").steps_per_epoch() == PAPER_STEPS_PER_EPOCH == 391


@pytest.mark.parametrize(
    "profile, windows", [("paper", [0, 50, 1500]), ("quick", [0, 50, 160]), ("smoke", [0, 4, 4])]
)
def test_noise_windows_are_training_steps_cut_to_the_retrain_period(profile, windows):
    grid = figure_grid("fig5", profile, seeds=1)
    for kind in ("zeroing", "gaussian"):
        steps = [_label(grid, f"{kind}{paper}").noise.steps for paper in (0, 50, 1500)]
        assert steps == windows


def test_paper_profile_is_appendix_a3():
    paper = get_profile("paper")
    assert (paper.width, paper.train_subset, paper.test_subset, paper.epoch_images) == (
        1.0,
        None,
        None,
        None,
    )
    assert paper.seeds == 10 and paper.epoch_scale == 1.0


def test_an_unknown_profile_names_the_allowed_ones():
    with pytest.raises(
        ValueError, match="allowed: paper, quick, steps650, steps2600, steps10400, smoke"
    ):
        get_profile("fast")


def test_quick_builds_conv4_wider_than_the_others():
    widths = {c.model: c.width for f in ("fig1", "fig2") for c in figure_grid(f, "quick", seeds=1)}
    assert widths == {"vgg11": 0.25, "resnet18": 0.25, "conv4": 0.5}
    assert {c.width for c in figure_grid("fig2", "paper", seeds=1)} == {1.0}


BUDGETS = {
    "steps650": (256, 5000, 2, 650),
    "steps2600": (1024, 20_000, 8, 2600),
    "steps10400": (4096, None, 32, 10_400),
}


@pytest.mark.parametrize("name", BUDGETS)
def test_budget_profiles_keep_the_paper_axis_and_state_their_steps(name):
    epoch_images, train_subset, steps, total = BUDGETS[name]
    profile = get_profile(name)
    assert (profile.epoch_images, profile.train_subset, profile.width) == (
        epoch_images,
        train_subset,
        0.25,
    )
    assert profile.steps_per_epoch() == steps and 325 * steps == total
    grid = figure_grid("budget", name, seeds=1)
    paper = {c.label: c for c in figure_grid("budget", "paper", seeds=1)}
    assert [c.label for c in grid] == list(paper)
    for config in grid:
        assert config.epochs == 325 and config.optimizer.lr_milestones == (150, 300)
        assert config.pruning == paper[config.label].pruning  # events and rates unchanged
        # Final accuracies on all 10,000 test images, instability on 2,000 of them.
        assert config.data.test_subset is None and config.data.instability_test_subset == 2000
        assert config.data.full_test_from == 246


@pytest.mark.parametrize(
    "name, window", [("steps650", 80), ("steps2600", 320), ("steps10400", 1280)]
)
def test_budget_noise_windows_are_steps_cut_to_the_retrain_period(name, window):
    grid = figure_grid("fig5", name, seeds=1)
    assert [_label(grid, f"zeroing{paper}").noise.steps for paper in (0, 50, 1500)] == [
        0,
        50,
        window,
    ]
