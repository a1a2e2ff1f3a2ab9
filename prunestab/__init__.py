"""prunestab: the methods of "The Generalization-Stability Tradeoff in Neural Network Pruning".

Modules, one job each: ``data`` (CIFAR-10 on the device), ``models`` (Conv4, VGG11/19,
ResNet18), ``pruning`` (masks, scores, targets), ``schedule`` (A.3's iterative
schedules), ``noise`` (Figure 5), ``train`` (one run and its measurements), ``config``
(frozen run configs and their hash), ``store`` (results by config hash), ``runner``
(store-or-compute), ``stats`` (bootstrap CIs, Pearson r), ``profiles`` (smoke, quick,
paper), ``figures`` (each figure's grid of runs), ``cli``.
"""

__version__ = "0.1.0"
