"""The paper's models (Section 3.2) and the layers each one prunes (Section 3.3).

``build(name, width)`` returns a model whose ``prunable_layers()`` lists, in the order of a
schedule's per-layer tuples (shallow to deep), the layers pruning targets:

* ``conv4``: its first linear layer (94% of its 1,250,858 parameters);
* ``vgg11``/``vgg19``: the final four convolutions (VGG11: 90% of 9,231,114);
* ``resnet18``: the final four convolutions, i.e. both convolutions of both blocks of the
  last stage (74% of 11,173,962).

At ``width=1.0`` the parameter counts are exactly the paper's. ``width`` scales every
hidden channel/neuron count (rounded, at least 1) for the reduced profiles.

Layouts the paper leaves open are taken from the authors' code (book/authors_code.md, section 1):
VGG is torchvision's configuration with conv bias and BatchNorm, no average pool and a
single ``Linear(512, 10)`` with PyTorch's default init; ResNet18 is the CIFAR variant
(3x3 stem, no max-pool); Conv4 is the Keras ``cifar10_cnn`` layout (same/valid
convolutions), the only one that gives 1,250,858 parameters, without dropout (an
assumption: the paper mentions none).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True, eq=False)
class PrunableLayer:
    """A layer pruning may target, and what its units feed.

    ``batchnorm`` is the BatchNorm that normalises this layer's output (masked with it in
    structured pruning, and read by the E[BN] score); ``block`` is the residual block whose
    shortcut adds into this layer's output channels (cut into pruned channels, A.3).

    Attributes:
        name: the module's name in the model (``features.15``, ``layer4.1.conv2``, ``fc1``).
        module: the pruned convolution or linear layer; its weight's first dimension is
            the units.
        batchnorm: the BatchNorm after it, or ``None`` (Conv4 has none).
        block: for ResNet18's ``conv2`` layers, the :class:`BasicBlock` whose shortcut
            adds into its output; ``None`` elsewhere.

    >>> layer = build("conv4").prunable_layers()[0]
    >>> layer.name, layer.n_units, layer.n_weights
    ('fc1', 512, 1179648)
    """

    name: str
    module: nn.Conv2d | nn.Linear
    batchnorm: nn.BatchNorm2d | None = None
    block: BasicBlock | None = None

    @property
    def n_units(self) -> int:
        """Filters (conv) or neurons (linear), the structured pruning unit: the weight's
        first dimension."""
        return self.module.weight.shape[0]

    @property
    def n_weights(self) -> int:
        """Single weights, the unstructured pruning unit: all entries of the weight (the
        bias is not pruned by unstructured pruning)."""
        return self.module.weight.numel()


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class Conv4(nn.Module):
    """2x32 conv, pool, 2x64 conv, pool, FC 512, FC 10; no BatchNorm (Section 3.2).

    The paper names the layers only; the padding (the first convolution of each pair
    "same", the second "valid") is the Keras ``cifar10_cnn`` layout, the only one that
    gives the paper's 1,250,858 parameters (module docstring). ``fc1`` is pruned
    (Section 3.3).

    Args:
        width: multiplier of the 32/64 channels and the 512 hidden neurons (rounded, at
            least 1).
        num_classes: outputs of the last layer (10 for CIFAR-10).

    >>> count_parameters(Conv4())
    1250858
    """

    def __init__(self, width: float = 1.0, num_classes: int = 10) -> None:
        super().__init__()
        c1, c2, hidden = _scaled(32, width), _scaled(64, width), _scaled(512, width)
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c1, 3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, c2, 3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        # 32 -> 30 -> 15 -> 13 -> 6: the "valid" convolutions give 6x6x64 = 2304 inputs.
        self.fc1 = nn.Linear(c2 * 6 * 6, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for normalised images.

        Args:
            x: float images ``[B, 3, 32, 32]`` (``prunestab.data.batches.normalize``).

        Returns:
            Logits ``[B, num_classes]``.
        """
        x = torch.flatten(self.features(x), 1)
        return self.fc2(F.relu(self.fc1(x)))

    def prunable_layers(self) -> list[PrunableLayer]:
        """The one layer pruning targets: ``fc1``, "its first linear layer" (Section 3.3).

        Returns:
            A one-entry list; the layer has no BatchNorm, so E[BN] scores do not apply.
        """
        return [PrunableLayer("fc1", self.fc1)]


_VGG_CONFIGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg19": (
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ),
}


class VGG(nn.Module):
    """VGG with BatchNorm and its classifier replaced by one linear layer (Section 3.2).

    Convolutions have a bias and are followed by BatchNorm and ReLU (torchvision's
    ``vgg11_bn`` configuration, as the authors' code); weights use Kaiming-normal
    (fan-out) init, biases 0, BatchNorm gamma 1 and beta 0; the linear layer keeps
    PyTorch's default init. Use :func:`build` for the paper's VGG11/VGG19.

    Args:
        config: channel counts and ``"M"`` (a 2x2 max-pool) in order, as
            ``_VGG_CONFIGS``; five pools take 32x32 images to 1x1.
        width: multiplier of every channel count (rounded, at least 1).
        num_classes: outputs of the linear layer.

    >>> count_parameters(build("vgg11"))
    9231114
    """

    def __init__(self, config: tuple, width: float = 1.0, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            out_channels = _scaled(item, width)
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for normalised images.

        Args:
            x: float images ``[B, 3, 32, 32]``.

        Returns:
            Logits ``[B, num_classes]``.
        """
        # Five max-pools take 32x32 to 1x1, so flattening gives exactly the 512 channels.
        return self.classifier(torch.flatten(self.features(x), 1))

    def conv_bn_pairs(self) -> list[tuple[str, nn.Conv2d, nn.BatchNorm2d]]:
        """Every convolution with the BatchNorm that follows it, shallow to deep.

        Returns:
            ``(name, conv, batchnorm)`` per convolution, ``name`` its module name
            (``features.0`` ...).

        >>> [name for name, _, _ in build("vgg11", 0.125).conv_bn_pairs()][-4:]
        ['features.15', 'features.18', 'features.22', 'features.25']
        """
        modules = list(self.features.named_children())
        return [
            (f"features.{name}", module, modules[i + 1][1])
            for i, (name, module) in enumerate(modules)
            if isinstance(module, nn.Conv2d)
        ]

    def prunable_layers(self) -> list[PrunableLayer]:
        """The final four convolutions with their BatchNorms (Section 3.3), shallow to deep.

        Returns:
            Four :class:`PrunableLayer` s (no shortcut: ``block`` is ``None``).
        """
        return [PrunableLayer(name, conv, bn) for name, conv, bn in self.conv_bn_pairs()[-4:]]


class BasicBlock(nn.Module):
    """ResNet basic block whose shortcut is added only into unpruned output channels.

    ``shortcut_mask`` (a buffer, saved with the model) multiplies the shortcut before the
    addition: A.3 prunes "the incoming and outgoing shortcut connections associated with
    any pruned feature maps", so a pruned ``conv2`` channel stays exactly zero.

    Args:
        in_planes: input channels.
        planes: output channels of both convolutions (and of the shortcut).
        stride: stride of ``conv1``; when it is not 1 or the channel count changes, the
            shortcut is a strided 1x1 convolution with BatchNorm, else the identity.

    >>> block = BasicBlock(4, 8, stride=2)
    >>> block(torch.zeros(1, 4, 8, 8)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        self.register_buffer("shortcut_mask", torch.ones(1, planes, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x) * shortcut_mask)``.

        Args:
            x: feature maps ``[B, in_planes, H, W]``.

        Returns:
            Feature maps ``[B, planes, H / stride, W / stride]``.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x) * self.shortcut_mask)


class ResNet18(nn.Module):
    """The CIFAR-10 ResNet18 (3x3 stem, no max-pool, 4x4 average pool).

    The paper cites He et al. (2016) only; the CIFAR variant is the authors' code's
    (module docstring). Four stages of two :class:`BasicBlock` s with 64, 128, 256 and
    512 channels (times ``width``); convolutions have no bias.

    Args:
        width: multiplier of every stage's channels (rounded, at least 1).
        num_classes: outputs of the linear layer.

    >>> count_parameters(ResNet18()) == PAPER_PARAMETER_COUNTS["resnet18"]
    True
    """

    def __init__(self, width: float = 1.0, num_classes: int = 10) -> None:
        super().__init__()
        planes = [_scaled(c, width) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(3, planes[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes[0])
        stages = []
        in_planes = planes[0]
        for i, p in enumerate(planes):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(in_planes, p, stride), BasicBlock(p, p, 1)))
            in_planes = p
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for normalised images.

        Args:
            x: float images ``[B, 3, 32, 32]``.

        Returns:
            Logits ``[B, num_classes]``.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1)
        return self.linear(torch.flatten(out, 1))

    def prunable_layers(self) -> list[PrunableLayer]:
        """The final four convolutions (Section 3.3): both of each block of the last stage.

        Returns:
            ``layer4.0.conv1``, ``layer4.0.conv2``, ``layer4.1.conv1``, ``layer4.1.conv2``
            with their BatchNorms; the ``conv2`` layers carry their block, whose shortcut
            into a pruned channel is cut (A.3).
        """
        layers = []
        for i, block in enumerate(self.layer4):
            layers.append(PrunableLayer(f"layer4.{i}.conv1", block.conv1, block.bn1))
            layers.append(PrunableLayer(f"layer4.{i}.conv2", block.conv2, block.bn2, block))
        return layers


MODEL_BUILDERS: dict[str, Callable[[float, int], nn.Module]] = {
    "conv4": lambda width, classes: Conv4(width, classes),
    "vgg11": lambda width, classes: VGG(_VGG_CONFIGS["vgg11"], width, classes),
    "vgg19": lambda width, classes: VGG(_VGG_CONFIGS["vgg19"], width, classes),
    "resnet18": lambda width, classes: ResNet18(width, classes),
}

#: Parameter counts at width 1.0 stated in Section 3.3 (VGG19 is only used in Figure A1).
PAPER_PARAMETER_COUNTS = {"conv4": 1_250_858, "vgg11": 9_231_114, "resnet18": 11_173_962}


def build(name: str, width: float = 1.0, num_classes: int = 10) -> nn.Module:
    """A freshly initialised model; seed ``torch`` before calling for a reproducible init.

    Args:
        name: ``conv4``, ``vgg11``, ``vgg19`` or ``resnet18``.
        width: multiplier of every hidden channel/neuron count, ``0 < width <= 4``; 1.0
            gives the paper's parameter counts (:data:`PAPER_PARAMETER_COUNTS`).
        num_classes: outputs of the last layer.

    Returns:
        The model on the CPU (or the current default device), with ``prunable_layers()``.

    Raises:
        ValueError: an unknown ``name`` or a ``width`` outside ``(0, 4]``; the message
            names the value and what is allowed.

    >>> [layer.name for layer in build("vgg11", width=0.125).prunable_layers()]
    ['features.15', 'features.18', 'features.22', 'features.25']
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(f"model={name!r}; allowed: {', '.join(MODEL_BUILDERS)}")
    if not 0 < width <= 4:
        raise ValueError(f"width={width!r}; allowed: 0 < width <= 4")
    return MODEL_BUILDERS[name](width, num_classes)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (conv/linear weights and biases, BN gamma and beta).

    Section 3.3's counts are of these (BatchNorm running statistics and masks are buffers
    and not counted); pruned units are still counted (they are masked, not removed).

    Args:
        model: any module.

    Returns:
        The number of scalar entries over ``model.parameters()``.

    >>> count_parameters(build("conv4")) == PAPER_PARAMETER_COUNTS["conv4"]
    True
    """
    return sum(p.numel() for p in model.parameters())


@functools.lru_cache(maxsize=64)
def _prunable_shapes(name: str, width: float) -> tuple[tuple[str, int, int], ...]:
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = build(name, width)
    return tuple((layer.name, layer.n_units, layer.n_weights) for layer in model.prunable_layers())


def prunable_unit_counts(name: str, width: float, structure: str) -> tuple[int, ...]:
    """Units per prunable layer: filters/neurons (``structured``) or weights.

    Read from the shapes alone (the model is built on the ``meta`` device, without memory
    or initialisation) and cached per ``(name, width)``.

    Args:
        name: the model, as for :func:`build`.
        width: its width, as for :func:`build`.
        structure: ``structured`` for filters/neurons; any other value counts weights
            (``unstructured``).

    Returns:
        One count per prunable layer, in the schedule's layer order.

    Raises:
        ValueError: as :func:`build`, for an unknown ``name`` or a bad ``width``.

    >>> prunable_unit_counts("vgg11", 0.25, "structured")
    (128, 128, 128, 128)
    """
    shapes = _prunable_shapes(name, width)
    return tuple(units if structure == "structured" else weights for _, units, weights in shapes)


def prunable_layer_names(name: str, width: float = 1.0) -> tuple[str, ...]:
    """The module names of the prunable layers, in the schedule's layer order.

    Args:
        name: the model, as for :func:`build`.
        width: its width (names do not depend on it; it selects the cached shapes).

    Returns:
        One name per prunable layer.

    Raises:
        ValueError: as :func:`build`.

    >>> prunable_layer_names("resnet18")
    ('layer4.0.conv1', 'layer4.0.conv2', 'layer4.1.conv1', 'layer4.1.conv2')
    """
    return tuple(layer for layer, _, _ in _prunable_shapes(name, width))
