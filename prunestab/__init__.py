"""prunestab: the methods of "The Generalization-Stability Tradeoff in Neural Network Pruning".

The folders show the layers. The toolkit, which knows no figure: ``config`` (frozen run
configs and their hash), ``models`` (Conv4, VGG11/19, ResNet18), ``pruning`` (masks,
scores, targets), ``schedule`` (A.3's iterative schedules), ``noise`` (impermanent
pruning), ``runs``, ``stats``, ``verdicts``, ``grouped``, and the packages ``data``
(CIFAR-10), ``store`` (results by config hash), ``training`` (one run and its
measurements) and ``sweep`` (store-or-compute, workers, clusters). Above it, ``paper`` (one module per
figure, their registry and profiles); above that, ``book`` (the book's machinery); on
top, ``cli``. README's "Layout" says more.
"""

__version__ = "0.1.0"
