"""The small pruned VGG11 run the training tests share (6 epochs on the tiny fake
CIFAR-10: 200 training and 100 test images, four layers pruned on a staggered schedule),
a shorter one (3 epochs on half the images) for tests that train it many times, and
ResNet18's shortest."""

from prunestab.config import DataConfig, OptimizerConfig, PruningConfig, RunConfig
from prunestab.schedule import PruningSchedule

SCHEDULE = PruningSchedule((1, 2, 1, 2), (3, 3, 3, 4), (0.3, 0.3, 0.3, 0.9), 2)

# Layers 0 and 2 pruned at the end of epochs 0 and 1, layers 1 and 3 at 1 and 2: every
# layer twice on staggered epochs, so events follow events on already-masked layers.
SHORT = PruningSchedule((0, 1, 0, 1), (1, 2, 1, 2), (0.3, 0.3, 0.3, 0.9), 1)
# Half the tiny data (two steps of 50 per epoch): a run costs in proportion to its images.
SHORT_DATA = DataConfig(train_subset=100, test_subset=50)


def tiny_config(model: str = "vgg11", **changes) -> RunConfig:
    config = RunConfig(
        model,
        epochs=6,
        width=0.125,
        data=DataConfig(train_subset=200, test_subset=100),
        optimizer=OptimizerConfig(batch_size=50, lr_milestones=(4,)),
        pruning=PruningConfig(SCHEDULE, score="ebn", target="largest"),
    )
    return config.replace(**changes)


def short_config(model: str = "vgg11", **changes) -> RunConfig:
    """``tiny_config`` in 3 epochs on ``SHORT`` and ``SHORT_DATA`` (the ``short_data``
    fixture), the learning rate dropping after epoch 1."""
    short = {
        "epochs": 3,
        "data": SHORT_DATA,
        "optimizer": OptimizerConfig(batch_size=50, lr_milestones=(2,)),
        "pruning": PruningConfig(SHORT, score="ebn", target="largest"),
    }
    return tiny_config(model, **{**short, **changes})


# ResNet18 costs the most per image: every layer pruned at the end of epochs 0 and 1 (the
# second event on masked layers, shortcuts included), on 50 images in two steps of 25.
RESNET_SHORT = PruningSchedule((0, 0, 0, 0), (1, 1, 1, 1), (0.3, 0.3, 0.3, 0.9), 1)
RESNET_DATA = DataConfig(train_subset=50, test_subset=25)


def resnet18_config(**changes) -> RunConfig:
    """ResNet18 in 2 epochs on ``RESNET_SHORT`` and ``RESNET_DATA`` (fixture ``resnet_data``)."""
    resnet = {
        "epochs": 2,
        "data": RESNET_DATA,
        "optimizer": OptimizerConfig(batch_size=25, lr_milestones=(2,)),
        "pruning": PruningConfig(RESNET_SHORT, target="largest"),
    }
    return short_config("resnet18", **{**resnet, **changes})
