"""Run identities: the hashes of published runs never change, and every quick run is here.

The store names a run ``{model}-{hash[:16]}``; ``results/`` holds the published quick
runs. If the hash rule drifted, every committed run would silently be "missing" and the
book would recompute hours of runs: these tests fail first.
"""

import dataclasses
from pathlib import Path

import pytest

from prunestab.config import DataConfig, PruningConfig, RunConfig, config_hash
from prunestab.paper.registry import FIGURES, figure_grid
from prunestab.schedule import PruningSchedule
from prunestab.store import RunStore

RESULTS = Path(__file__).resolve().parents[1] / "results"
QUICK_DATA = DataConfig(train_subset=5000, test_subset=500, epoch_images=512)
VGG11_LAYERS = ((3, 4, 5, 6), (150, 150, 150, 275), (0.3, 0.3, 0.3, 0.9))
FIG3_LAYERS = ((3, 4, 5, 6), (150, 150, 150, 275), (0.1, 0.1, 0.1, 0.9))

#: Three committed runs, one per model family, written out field by field, with the hash
#: under which ``results/`` holds them. (The Conv4 run was stored as target "decile6"
#: until Figure 2's targets were renamed; ``prunestab.store.migrations`` moved it here.)
PINNED = [
    (
        RunConfig(
            "vgg11",
            epochs=325,
            seed=2,
            width=0.25,
            data=QUICK_DATA,
            pruning=PruningConfig(PruningSchedule(*VGG11_LAYERS, 40), score="l2", target="random"),
        ),
        "36a56dcf6843e3a7e3c8140ab6e592817b3ce54c246848a5aef43e296c912d49",
    ),
    (
        RunConfig(
            "resnet18",
            epochs=325,
            seed=1,
            width=0.25,
            data=QUICK_DATA,
            pruning=PruningConfig(PruningSchedule(*FIG3_LAYERS, 4), score="ebn", target="largest"),
        ),
        "0744de79cbea39621a5160dec735bdfe4b74ab973c92a5c18655aab7e2b25547",
    ),
    (
        RunConfig(
            "conv4",
            epochs=60,
            seed=0,
            width=0.5,
            data=DataConfig(5000, 500, augment=True, train_eval_images=5000),
            optimizer={"lr_milestones": (30, 60)},
            pruning=PruningConfig(
                PruningSchedule((4,), (52,), (0.1,), 3), score="l2", target="percentile50"
            ),
        ),
        "6344444580182f5c998bd4a8d16cbccb332723da08b0a205f006eb09c7540043",
    ),
]


@pytest.mark.parametrize(("config", "digest"), PINNED, ids=["vgg11", "resnet18", "conv4"])
def test_published_runs_keep_their_hashes(config, digest):
    assert config_hash(config) == digest
    assert (RESULTS / f"{config.model}-{digest[:16]}" / "result.json").is_file()


def _with_new_field(cls, name, default):
    """``cls`` as it would be after someone adds a defaulted field (same class name)."""
    return dataclasses.make_dataclass(
        cls.__name__,
        [(name, type(default), dataclasses.field(default=default))],
        bases=(cls,),
        frozen=True,
    )


@pytest.mark.parametrize("config_digest", PINNED[:1])
def test_a_new_defaulted_field_renames_no_run_until_it_is_set(config_digest):
    config, digest = config_digest
    grown_data = _with_new_field(DataConfig, "future_option", 0)
    grown_run = _with_new_field(RunConfig, "future_switch", False)
    data = grown_data(**dataclasses.asdict(config.data))
    same = grown_run(**{f.name: getattr(config, f.name) for f in dataclasses.fields(config)})
    same = dataclasses.replace(same, data=data)
    assert config_hash(same) == digest
    assert config_hash(dataclasses.replace(same, future_switch=True)) != digest
    assert config_hash(dataclasses.replace(same, data=grown_data(future_option=3))) != digest


def test_every_quick_run_of_every_figure_is_committed():
    store = RunStore(RESULTS)
    missing = {
        figure: [
            c.display_label() for c in figure_grid(figure, "quick") if not store.is_complete(c)
        ]
        for figure in FIGURES
    }
    assert not any(missing.values()), f"runs without a committed result: {missing}"
