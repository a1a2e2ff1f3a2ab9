"""The small pruned VGG11 run the training tests share (6 epochs on the tiny fake
CIFAR-10: 200 training and 100 test images, four layers pruned on a staggered schedule),
and a shorter one (3 epochs) for tests that train it many times."""

from prunestab.config import DataConfig, OptimizerConfig, PruningConfig, RunConfig
from prunestab.schedule import PruningSchedule

SCHEDULE = PruningSchedule((1, 2, 1, 2), (3, 3, 3, 4), (0.3, 0.3, 0.3, 0.9), 2)

# Layers 0 and 2 pruned at the end of epochs 0 and 1, layers 1 and 3 at 1 and 2: every
# layer twice on staggered epochs, so events follow events on already-masked layers.
SHORT = PruningSchedule((0, 1, 0, 1), (1, 2, 1, 2), (0.3, 0.3, 0.3, 0.9), 1)


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
    """``tiny_config`` in 3 epochs on ``SHORT``, the learning rate dropping after epoch 1."""
    short = {
        "epochs": 3,
        "optimizer": OptimizerConfig(batch_size=50, lr_milestones=(2,)),
        "pruning": PruningConfig(SHORT, score="ebn", target="largest"),
    }
    return tiny_config(model, **{**short, **changes})
