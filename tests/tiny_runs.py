"""The small pruned VGG11 run the training tests share (6 epochs on the tiny fake
CIFAR-10: 200 training and 100 test images, four layers pruned on a staggered schedule)."""

from prunestab.config import DataConfig, OptimizerConfig, PruningConfig, RunConfig
from prunestab.schedule import PruningSchedule

SCHEDULE = PruningSchedule((1, 2, 1, 2), (3, 3, 3, 4), (0.3, 0.3, 0.3, 0.9), 2)


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
