"""How a run executes on its device: choices that change speed, not the experiment.

:class:`Execution` (layout and compilation) is not part of the config or its hash; with
the config's ``precision`` it decides the memory layout of the model and its input, bf16
autocast, and ``torch.compile``. Results agree within floating-point tolerance whatever
is chosen (``tests/test_fast_path.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

#: Models whose convolutions oneDNN runs faster in channels_last on CPUs (measured with
#: ``benchmarks/epoch_throughput.py`` on a 2-core AVX2 machine: ResNet18 about 1.5x, VGG
#: about 1.1x). Conv4's small convolutions gain nothing, and it stays in the default
#: layout so the CPU plain path and fast path share their kernels there.
CPU_CHANNELS_LAST_MODELS = frozenset({"vgg11", "vgg19", "resnet18"})


#: Intra-op threads every CPU run trains with, whatever else the process does: thread
#: counts change the order of float32 sums, so a run's numbers depend on them, and a run
#: must be a pure function of its config however a sweep is shaped (issue 35). One,
#: since every run under ``results/`` was trained so (``environment.cpu_threads``), and
#: two one-thread runs at once train more images per second on two cores than one run
#: on both (``prunestab.sweep.runner._execute_in_workers``).
CPU_THREADS = 1


@contextmanager
def run_threads(device: torch.device | str) -> Iterator[None]:
    """Train a run on ``device`` with the threads its numbers must not depend on: on a
    CPU :data:`CPU_THREADS` intra-op threads, restored on the way out; elsewhere (the GPU
    computes) the process's setting as it is.

    Args:
        device: where the run trains.

    >>> before = torch.get_num_threads()
    >>> with run_threads("cpu"):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The precision a config's ``precision`` means on ``device``: ``"fp32"`` or ``"bf16"``.

    ``"auto"`` is bf16 autocast on CUDA devices that support bf16 (Ampere and later), where
    it roughly doubles convolution throughput, and fp32 everywhere else: CPUs without
    bf16 units run it slower than fp32, and fp32 keeps CPU results comparable with the
    authors'. Explicit ``"fp32"``/``"bf16"`` are kept as asked.

    Args:
        precision: ``RunConfig.precision``: ``"auto"``, ``"fp32"`` or ``"bf16"``.
        device: where the run trains.

    Returns:
        ``"fp32"`` or ``"bf16"``.

    >>> resolve_precision("auto", "cpu"), resolve_precision("bf16", "cpu")
    ('fp32', 'bf16')
    """
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


@dataclass(frozen=True)
class Execution:
    """How runs are executed: choices that change speed, not the experiment.

    Not part of :class:`RunConfig` (nor its hash): a run computed with any of these
    settings answers a request for the same run with any other. Results agree within
    floating-point tolerance (``tests/test_fast_path.py`` states it) and record the
    settings used.

    Attributes:
        channels_last: activations and weights in channels-last layout; ``None`` chooses
            per device and model (always on CUDA; on CPUs for
            :data:`CPU_CHANNELS_LAST_MODELS`; :meth:`memory_format`).
        compile: ``False``; ``True`` for ``torch.compile`` with inductor; or the name of
            another ``torch.compile`` backend (tests use ``"aot_eager"``, which traces and
            guards exactly like inductor but does not generate code).
        fold_batchnorm: evaluate with each BatchNorm folded into the convolution before
            it (``prunestab.training.folding``; eager runs only, about 1.3x faster evaluation on
            CPUs, logits equal to rounding).
    """

    channels_last: bool | None = None
    compile: bool | str = False
    fold_batchnorm: bool = True

    def memory_format(self, model: str, device: torch.device | str) -> torch.memory_format:
        """The layout of activations (and of the model's tensors) for ``model`` on ``device``.

        Args:
            model: the model's name (``RunConfig.model``).
            device: where the run trains.

        Returns:
            ``torch.channels_last`` or ``torch.contiguous_format``.

        >>> Execution().memory_format("vgg11", "cpu"), Execution().memory_format("conv4", "cpu")
        (torch.channels_last, torch.contiguous_format)
        """
        use = self.channels_last
        if use is None:
            kind = torch.device(device).type
            use = kind == "cuda" or (kind == "cpu" and model in CPU_CHANNELS_LAST_MODELS)
        return torch.channels_last if use else torch.contiguous_format

    @property
    def compile_backend(self) -> str | None:
        """The ``torch.compile`` backend asked for, or ``None`` for eager runs.

        Returns:
            ``"inductor"`` for ``compile=True``, the backend's name when ``compile`` names
            one, ``None`` when it is ``False`` (or empty).

        >>> Execution(compile=True).compile_backend, PLAIN.compile_backend
        ('inductor', None)
        """
        if self.compile is True:
            return "inductor"
        return self.compile or None


#: The plain path: eager, default memory layout (pair it with ``precision="fp32"``).
PLAIN = Execution(channels_last=False, compile=False, fold_batchnorm=False)


def autocast(precision: str, device: torch.device):
    """bf16 autocast for ``precision="bf16"`` (resolved), else nothing.

    Args:
        precision: a resolved precision (:func:`resolve_precision`): ``"fp32"`` or ``"bf16"``.
        device: where the forward pass runs.

    Returns:
        A context manager.

    >>> with autocast("fp32", torch.device("cpu")):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.float32
    """
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def compile_module(module: nn.Module, backend: str | None) -> nn.Module:
    """``module`` compiled with ``backend`` (``None``: the module itself).

    ``dynamic=False``: the few batch sizes of a run (the batch, the epoch's last batch,
    the evaluation batch) each get a static graph, compiled once, instead of one dynamic
    graph that inductor optimises less well. Train and eval mode are two more graphs.

    Args:
        module: the module to run.
        backend: a ``torch.compile`` backend (:attr:`Execution.compile_backend`) or ``None``.

    Returns:
        The module to call: compiled lazily, on its first call.

    >>> net = nn.Linear(2, 2)
    >>> compile_module(net, None) is net
    True
    """
    if backend is None:
        return module
    return torch.compile(module, backend=backend, dynamic=False)


def model_input(x: torch.Tensor, dtype: torch.dtype, memory_format) -> torch.Tensor:
    """A batch in the model's dtype and layout (no copy when it already is).

    Args:
        x: a normalised batch ``[B, C, H, W]``.
        dtype: the model's parameter dtype.
        memory_format: the model's layout (:meth:`Execution.memory_format`).

    Returns:
        ``x`` converted, or ``x`` itself.

    >>> x = torch.zeros(2, 3, 4, 4)
    >>> model_input(x, torch.float32, torch.contiguous_format) is x
    True
    """
    return x.to(dtype=dtype, memory_format=memory_format)


def parameter_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of ``module``'s parameters: float32, or float64 for tests that need
    results equal to rounding error (build the model under ``torch.set_default_dtype``).

    Args:
        module: a module with parameters.

    Returns:
        The dtype of its first parameter (a model's parameters share one).

    >>> parameter_dtype(nn.Linear(2, 2).double())
    torch.float64
    """
    return next(module.parameters()).dtype


def full_precision(out: torch.Tensor) -> torch.Tensor:
    """bf16 autocast logits as float32 for the loss; float32/float64 as they are.

    Args:
        out: logits, in the dtype the forward pass gave them.

    Returns:
        ``out`` as float32 where it was lower, else ``out`` itself.

    >>> full_precision(torch.zeros(2, dtype=torch.bfloat16)).dtype
    torch.float32
    """
    return out if out.dtype in (torch.float32, torch.float64) else out.float()
