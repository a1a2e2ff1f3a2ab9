"""Each figure's grid at the paper profile is Appendix A.3's setting."""

import pytest

from prunestab.config import config_hash
from prunestab.paper.registry import FIGURES, figure_grid


def _by_label(grid):
    return {c.label: c for c in grid}


def test_fig1_vgg11_is_a31():
    runs = [c for c in figure_grid("fig1", "paper", seeds=1) if c.model == "vgg11"]
    labels = _by_label(runs)
    assert set(labels) == {"unpruned", "prune_S 1%", "prune_S 13%", "prune_L 13%", "l2 prune_S 1%"}
    for config in runs:
        assert config.epochs == 325 and config.optimizer.lr_milestones == (150, 300)
        assert config.width == 1.0 and config.data.train_subset is None
    slow = labels["prune_S 1%"].pruning
    assert slow.score == "ebn" and slow.schedule.retrain_period == 4
    assert round(100 * slow.schedule.max_iterative_rate()) == 1
    assert round(100 * labels["prune_L 13%"].pruning.schedule.max_iterative_rate()) == 13


def test_fig1_resnet18_fractions_and_paper_seed_count():
    runs = figure_grid("fig1", "paper")
    resnet = [c for c in runs if c.model == "resnet18" and c.pruning is not None]
    assert {c.pruning.schedule.fractions for c in resnet} == {(0.25, 0.4, 0.25, 0.95)}
    assert len({c.seed for c in runs}) == 10


def test_fig2_has_eleven_targets_D0_to_D10_per_structure_with_augmentation():
    grid = figure_grid("fig2", "paper", seeds=1)
    assert len(grid) == 22
    targets = [c.pruning.target for c in grid if c.pruning.structure == "structured"]
    assert targets == [f"percentile{10 * j}" for j in range(10)] + ["largest"]
    assert [c.label for c in grid][9:11] == ["unstructured D9", "unstructured D10"]
    assert all(c.model == "conv4" and c.data.augment for c in grid)
    first = grid[0].pruning.schedule
    assert (first.start_epochs, first.end_epochs, first.fractions, first.retrain_period) == (
        (4,),
        (52,),
        (0.1,),
        3,
    )


def test_fig3_one_shot_prunes_at_epoch_246_and_paper_uses_three_seeds():
    grid = figure_grid("fig3", "paper")
    assert len({c.seed for c in grid}) == 3
    shots = [c for c in grid if "one shot" in c.label]
    assert {c.pruning.schedule.last_epoch() for c in shots} == {246}


def test_fig5_noise_windows_at_paper_scale():
    grid = figure_grid("fig5", "paper", seeds=1)
    steps = sorted((c.noise.kind, c.noise.steps) for c in grid if c.noise is not None)
    assert steps == [(k, s) for k in ("gaussian", "zeroing") for s in (0, 50, 1500)]
    prune_l = _by_label(grid)["prune_L"].pruning
    assert prune_l.score == "l2" and prune_l.target == "largest" and not prune_l.mask_batchnorm


def test_figA2_runs_are_figure_1s_vgg11_runs():
    fig1 = {config_hash(c) for c in figure_grid("fig1", "quick") if c.model == "vgg11"}
    assert {config_hash(c) for c in figure_grid("figA2", "quick")} == fig1


@pytest.mark.parametrize("figure", FIGURES)
@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_every_grid_builds_valid_configs(figure, profile):
    grid = figure_grid(figure, profile, seeds=2)
    assert grid and all(c.seed in (0, 1) for c in grid)


def test_bad_figure_and_seeds_are_refused():
    with pytest.raises(ValueError, match="allowed: fig1"):
        figure_grid("fig9", "paper")
    with pytest.raises(ValueError, match="profile='huge'"):
        figure_grid("fig1", "huge")


def test_fig4_runs_random_targets_once_per_rate():
    grid = figure_grid("fig4", "paper", seeds=1)
    random = [c for c in grid if c.pruning is not None and c.pruning.target == "random"]
    assert len(random) == 5 and {c.label.split()[0] for c in random} == {"prune_R"}
    assert len(grid) == 1 + 5 * 5
