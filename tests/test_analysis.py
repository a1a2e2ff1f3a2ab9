"""From stored results to what the figures plot (prunestab/book/analysis.py)."""

import pytest

from prunestab.book import analysis
from prunestab.book.analysis import Run, last_event_recovery
from prunestab.paper.registry import figure_grid


def _run(config, accuracies, pruned_epochs, n_train):
    epochs = []
    for epoch, acc in enumerate(accuracies):
        record = {"epoch": epoch, "test_acc": acc, "pruned": epoch in pruned_epochs}
        if epoch in pruned_epochs:
            record["pre_test_acc"] = accuracies[epoch - 1] if epoch else acc
        epochs.append(record)
    return Run(config, {"epochs": epochs, "dataset": {"n_train": n_train}})


def test_last_event_recovery_reads_the_last_event_and_what_followed():
    grid = figure_grid("fig1", "quick", seeds=2)
    prune_l = [c for c in grid if c.model == "vgg11" and c.label == "prune_L 13%"]
    unpruned = next(c for c in grid if c.label == "unpruned")
    runs = [
        _run(prune_l[0], [50, 51, 30, 40, 45, 44], {1, 2}, 5000),
        _run(prune_l[1], [50, 52, 34, 42, 47, 46], {1, 2}, 5000),
        _run(unpruned, [50, 51, 52], set(), 5000),
    ]
    ((label, row),) = last_event_recovery(runs).items()  # unpruned runs have no event
    assert label == "prune_L 13%"
    assert row["epoch"] == 2 and row["pre"] == pytest.approx(51.5) and row["post"] == 32
    assert row["best_after"] == 46 and row["final"] == 45
    assert row["steps_after"] == 3 * 4  # 3 epochs after the event, 512 images = 4 steps each


def test_provenance_names_each_profile_of_a_chapter_over_several():
    from prunestab.paper.budget import stored_runs
    from prunestab.paper.profiles import default_store

    runs = stored_runs("budget", "steps650", default_store(None, "steps650"))[:1]
    if not runs:
        pytest.skip("no committed steps650 run")
    text = analysis.provenance_markdown(runs, "steps650, steps2600, steps10400")
    assert text.startswith(
        "Results below come from the profiles **steps650**, **steps2600** and **steps10400**."
    )
    one = analysis.provenance_markdown(runs, "steps650")
    assert one.startswith("Results below come from the **steps650** profile.")
    assert "at width 0.25, 5000 training and 10000 test images" in one
    assert "1 run stored (1 configuration, seed " in one and "training hours" not in one
    assert "hours of recorded run time (each run's wall-clock time" in one
    from prunestab.paper.budget import width_check_run

    wide = width_check_run()
    if wide is not None:  # several widths and training sets are listed, not run together
        text = analysis.provenance_markdown([*runs, wide], "steps650, steps2600")
        assert "at widths 0.25 and 0.5; 5000 and 20000 training and 10000 test images" in text
