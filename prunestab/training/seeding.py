"""Every random choice of a run derives from its config's seed.

:func:`derive_seed` gives each purpose its own seed: the model's initialisation
(:func:`init_model`), each epoch's shuffle and augmentation, each random-target choice and
each noise draw. A run resumed from a checkpoint therefore continues exactly as it would
have, and a seed trained in a group (``prunestab.training.batched``) gets the draws it
would get alone.
"""

from __future__ import annotations

import hashlib

import torch

from prunestab.config import RunConfig
from prunestab.models import build


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed for one purpose (``"shuffle", epoch`` ...) derived from the run seed.

    Args:
        seed: the run's seed (``RunConfig.seed``).
        keys: what the seed is for, e.g. ``"init"``, ``"shuffle", epoch`` or
            ``"select", epoch, layer``; joined with ``seed`` as text, so ``1`` and ``"1"``
            give the same seed.

    Returns:
        A non-negative integer below ``2**63``, for ``torch.Generator.manual_seed``.

    >>> derive_seed(0, "shuffle", 3)
    6492327720777525038
    >>> derive_seed(0, "shuffle", 3) != derive_seed(1, "shuffle", 3)
    True
    """
    text = ":".join(str(k) for k in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def init_model(config: RunConfig, device: torch.device, memory_format: torch.memory_format):
    """The run's model at initialisation: seeded by ``derive_seed(seed, "init")``.

    Args:
        config: the run (its ``model``, ``width`` and ``seed``).
        device: where the model is placed.
        memory_format: the layout of its tensors (``execution.Execution.memory_format``).

    Returns:
        The model; the same config gives the same weights.

    Raises:
        ValueError: the model name is unknown (``prunestab.models.build``).

    >>> config = RunConfig("conv4", epochs=1, width=0.125)
    >>> a, b = (init_model(config, torch.device("cpu"), torch.contiguous_format) for _ in "ab")
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    torch.manual_seed(derive_seed(config.seed, "init"))
    return build(config.model, config.width).to(device, memory_format=memory_format)
