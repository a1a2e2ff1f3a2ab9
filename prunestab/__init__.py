"""prunestab: the methods of "The Generalization-Stability Tradeoff in Neural Network Pruning".

Two layers, one job per module. The toolkit, which knows no figure: ``config`` (frozen
run configs and their hash), ``data`` (CIFAR-10), ``models`` (Conv4, VGG11/19,
ResNet18), ``pruning`` (masks, scores, targets), ``schedule`` (A.3's iterative
schedules), ``noise`` (impermanent pruning), ``train`` (one run and its measurements),
``store`` (results by config hash), ``runner`` (store-or-compute), ``runs``, ``stats``,
``verdicts`` and the cluster tools. The paper's layer above it: ``paper`` (one module per
figure, and their registry), ``profiles`` (smoke, quick, paper and the budget
profiles), ``analysis``, ``claims``, ``plots``, ``tables``, ``explorers``, ``book`` and
``cli``. README's "Layout" says more.
"""

__version__ = "0.1.0"
