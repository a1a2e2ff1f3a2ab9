"""Run configs: validation names the bad value, the hash names the run."""

import pytest

from prunestab.config import DataConfig, NoiseConfig, PruningConfig, RunConfig, config_hash
from prunestab.schedule import PruningSchedule

SCHEDULE = PruningSchedule((3, 4, 5, 6), (150, 150, 150, 275), (0.3, 0.3, 0.3, 0.9), 40)


def test_hash_ignores_device_and_label_but_not_seed():
    config = RunConfig("vgg11", epochs=325)
    assert config_hash(config) == config_hash(config.replace(device="cuda", label="x"))
    assert config_hash(config) != config_hash(config.replace(seed=1))


def test_dict_roundtrip_gives_the_same_config_and_hash():
    config = RunConfig(
        "vgg11",
        epochs=325,
        data=DataConfig(train_subset=1000),
        pruning=PruningConfig(SCHEDULE, score="ebn", target="largest"),
    )
    again = RunConfig.from_dict(config.to_dict())
    assert again == config and config_hash(again) == config_hash(config)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RunConfig("alexnet", epochs=1), "RunConfig.model='alexnet'; allowed: conv4"),
        (lambda: RunConfig("vgg11", epochs=0), "RunConfig.epochs=0"),
        (lambda: PruningConfig(SCHEDULE, target="biggest"), "PruningConfig.target='biggest'"),
        (lambda: PruningConfig(SCHEDULE, "unstructured", "l2"), "allowed: magnitude"),
        (lambda: NoiseConfig("dropout", 5), "NoiseConfig.kind='dropout'; allowed: zeroing"),
        (lambda: DataConfig(train_subset=-5), "DataConfig.train_subset=-5"),
        (lambda: RunConfig("vgg11", epochs=100, pruning=PruningConfig(SCHEDULE)), "epoch 246"),
        (lambda: RunConfig("vgg11", epochs=325, noise=NoiseConfig("zeroing", 5)), "noise"),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()
