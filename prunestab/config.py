"""A run's configuration: frozen, validated dataclasses whose hash names the run.

A run is a pure function of its :class:`RunConfig`. The store (``prunestab.store``) keeps
its results under ``config_hash(config)``, so an identical run is found instead of
recomputed. Two fields are deliberately left out of the hash:

* ``device``: a result computed on a CPU answers a request for the same run on a GPU
  (the result records the device that produced it);
* ``label``: a human name for plots; Figure 1 and Figure 4 share runs under other names.

``precision`` defaults to ``"auto"``: bf16 autocast on CUDA devices that support bf16,
fp32 everywhere else (``prunestab.training.execution.resolve_precision``); the result records the
precision actually used. Because ``device`` is not hashed, ``"auto"`` keeps the CPU and
GPU runs of one experiment under one hash, like the device itself: a CPU result (fp32)
answers a GPU request and vice versa. Ask for ``"fp32"`` or ``"bf16"`` explicitly to make
the precision part of the run's identity.

Validation errors name the field, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from prunestab.schedule import PruningSchedule

MODELS = ("conv4", "vgg11", "resnet18", "vgg19")
STRUCTURES = ("structured", "unstructured")
SCORES = ("l2", "ebn", "ebn_signed", "magnitude")
#: Figure 2's decile targets D0..D9 (A.3.2): prune upward from the 0th, 10th, ..., 90th
#: percentile; its D10 prunes downward from the maximum, which is ``largest``.
PERCENTILE_TARGETS = tuple(f"percentile{10 * j}" for j in range(10))
TARGETS = ("smallest", "largest", "random") + PERCENTILE_TARGETS
NOISE_KINDS = ("zeroing", "gaussian")
PRECISIONS = ("auto", "fp32", "bf16")

#: Short labels used by plots and CLI flags (the paper's subscripts and decile names).
TARGET_LABELS = {"smallest": "S", "largest": "L", "random": "R"} | {
    f"percentile{10 * j}": f"D{j}" for j in range(10)
}


def _choice(owner: str, name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{name}={value!r}; allowed: {', '.join(allowed)}")


def _from_mapping(cls: type, value: Any, where: str) -> Any:
    """``cls(**value)`` for a JSON object ``value``, with a one-line ``ValueError`` naming
    ``where`` and what is allowed for anything else (a list, ``null``, a string, an
    unknown field) instead of a ``TypeError`` from the constructor."""
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(value, dict):
        raise ValueError(
            f"{where}={value!r}; allowed: a JSON object with fields {', '.join(names)}"
        )
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise ValueError(
            f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(names)}"
        )
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in value]
    if missing:
        raise ValueError(f"{where} lacks required field(s) {', '.join(missing)}")
    return cls(**value)


def _positive_int(
    owner: str, name: str, value: Any, minimum: int = 1, maximum: int | None = None
) -> None:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        allowed = (
            f"an integer >= {minimum}" if maximum is None else f"an integer {minimum}..{maximum}"
        )
        raise ValueError(f"{owner}.{name}={value!r}; allowed: {allowed}")


def _number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (JSON's ``true`` is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


#: The most epochs a run may ask for: far beyond any study (the paper's longest is 325),
#: so a typo such as ``1e29`` is refused instead of training for ever.
MAX_EPOCHS = 100_000
#: The largest learning rate: what float32, the dtype of the parameters, can hold; a
#: larger one overflows inside the optimizer mid-training.
MAX_LR = 3.0e38


@dataclass(frozen=True)
class DataConfig:
    """Which CIFAR-10 images a run sees.

    ``train_subset``/``test_subset``: use that many images (a class-balanced, seeded
    choice, fixed across seeds so all runs of a profile see the same images); ``None``
    uses all. ``validation_size`` images are held out of training for model selection.
    ``augment``: pad-4 random crop and horizontal flip (the paper uses it for Conv4 only,
    A.3). ``train_eval_images``: also measure eval-mode accuracy on this many training
    images after each epoch from the last pruning event on (where the summary picks its
    best epoch and Figure 2 reads its gap; 0: only the running train-mode accuracy, as
    the authors did).

    ``epoch_images``: train on this many images per epoch, a fresh seeded draw without
    replacement from the training set each epoch; ``None`` (the paper) passes over all of
    them. Reduced profiles use it to keep the paper's epoch axis (every start, end,
    retrain period and milestone of A.3, in epochs) while training fewer steps per epoch.

    ``instability_test_subset``: measure the per-epoch test curve and every pruning
    event's before/after accuracy (the instability) on this many test images, a
    class-balanced part of the ``test_subset`` images; the final and best-after-pruning
    accuracies then use all ``test_subset`` images, evaluated only where the summary reads
    them: the last epoch, and every epoch from the last pruning event and from
    ``full_test_from`` on (an unpruned run has no last event: ``full_test_from`` bounds
    the epochs its best accuracy is taken over, like a pruned run's last event).
    ``None``: one test set for everything, as the paper. Instability is a paired
    difference, cheap to measure precisely on fewer images; a final accuracy compared
    across runs needs many.

    The defaults are the paper's data (A.3): all 50,000 training and 10,000 test images,
    no validation split, and no augmentation (A.3 augments only Figure 2's Conv4, which
    sets ``augment=True``). Whether a subset fits the dataset is checked
    when the data are loaded (``prunestab.data.cifar10.load_cifar10``), not here.

    Raises:
        ValueError: (at construction) a size or count that is not an integer (``>= 1``
            for the subsets and ``epoch_images``, ``>= 0`` for ``validation_size``,
            ``train_eval_images`` and ``full_test_from``), or an
            ``instability_test_subset`` larger than the test images it is drawn from; the
            message names the field, the value and what is allowed.

    >>> DataConfig(test_subset=500, instability_test_subset=200).instability_test_subset
    200
    >>> DataConfig(test_subset=500, instability_test_subset=1000)
    Traceback (most recent call last):
    ValueError: DataConfig.instability_test_subset=1000; allowed: at most the 500 test images of test_subset=500
    """

    train_subset: int | None = None
    test_subset: int | None = None
    validation_size: int = 0
    augment: bool = False
    train_eval_images: int = 0
    epoch_images: int | None = None
    instability_test_subset: int | None = None
    full_test_from: int = 0

    def __post_init__(self) -> None:
        for name in ("train_subset", "test_subset", "epoch_images", "instability_test_subset"):
            value = getattr(self, name)
            if value is not None:
                _positive_int("DataConfig", name, value)
        _positive_int("DataConfig", "validation_size", self.validation_size, 0)
        _positive_int("DataConfig", "train_eval_images", self.train_eval_images, 0)
        _positive_int("DataConfig", "full_test_from", self.full_test_from, 0)
        n_test, n_instability = self.test_subset or 10_000, self.instability_test_subset
        if n_instability is not None and n_instability > n_test:
            raise ValueError(
                f"DataConfig.instability_test_subset={n_instability}; allowed: at most the "
                f"{n_test} test images of test_subset={self.test_subset}"
            )


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam with a multi-step learning-rate decay (Section 3.2, Appendix A.3).

    The defaults are the paper's: Adam with ``lr = 0.001`` (Section 3.2), batch size 128
    and ``lr_s = (150, 300)``, "we shrink the learning rate by a factor of 10 at epochs x
    and y" (A.3; Figure 2's Conv4 uses ``(30, 60)``, A.3.2). The paper does not give
    Adam's betas, epsilon or weight decay; the training loop uses PyTorch's defaults
    (no weight decay).

    Attributes:
        lr: Adam's initial learning rate, > 0.
        batch_size: images per training step, >= 1.
        lr_milestones: 0-based epochs from which on the rate is multiplied by another
            ``lr_decay`` (epoch 150 itself trains at 1e-4 with the defaults), increasing
            (a list is stored as a tuple).
        lr_decay: the factor applied at each milestone, ``0 < decay <= 1``.

    Raises:
        ValueError: (at construction) ``lr`` not a number > 0, ``lr_decay`` not a number
            in ``(0, 1]``, ``batch_size`` not an integer >= 1, or milestones not
            increasing; the message names the field, the value and what is allowed.

    >>> OptimizerConfig(lr_milestones=[30, 60]).lr_milestones
    (30, 60)
    """

    lr: float = 1e-3
    batch_size: int = 128
    lr_milestones: tuple[int, ...] = (150, 300)
    lr_decay: float = 0.1

    def __post_init__(self) -> None:
        milestones = self.lr_milestones
        if not (
            isinstance(milestones, list | tuple)
            and all(isinstance(m, int) and not isinstance(m, bool) and m >= 0 for m in milestones)
        ):
            raise ValueError(
                f"OptimizerConfig.lr_milestones={milestones!r}; allowed: a list of epochs "
                "(integers >= 0)"
            )
        if not isinstance(milestones, tuple):
            object.__setattr__(self, "lr_milestones", tuple(milestones))
        if not (_number(self.lr) and 0 < self.lr <= MAX_LR):
            raise ValueError(
                f"OptimizerConfig.lr={self.lr!r}; allowed: a number > 0 (finite, at most {MAX_LR:g})"
            )
        if not _number(self.lr_decay):
            raise ValueError(f"OptimizerConfig.lr_decay={self.lr_decay!r}; allowed: a number")
        _positive_int("OptimizerConfig", "batch_size", self.batch_size)
        if list(self.lr_milestones) != sorted(self.lr_milestones):
            raise ValueError(
                f"OptimizerConfig.lr_milestones={self.lr_milestones!r}; allowed: increasing epochs"
            )
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"OptimizerConfig.lr_decay={self.lr_decay!r}; allowed: 0 < decay <= 1")


@dataclass(frozen=True)
class PruningConfig:
    """What is pruned, how units are scored and which are targeted.

    ``structure``: whole filters/neurons or single weights (A.3). ``score``: ``l2`` filter
    norm, ``ebn`` (Appendix A.1, with ``|gamma|`` as the standard deviation),
    ``ebn_signed`` (the authors' ``EBN_alt`` with signed ``gamma``, used for their ResNet18
    Figure 1 runs; it can be negative) or ``magnitude`` (``|w|``, unstructured only).
    ``target``: smallest, largest, random, or ``percentileP`` (P = 0, 10, ..., 90: the
    units just above the P-th percentile of the scores, moving upward; Figure 2's D0..D9;
    its D10 is ``largest``). The names ``decile1..decile10`` are refused with a message
    giving their replacements (``decileJ`` is ``percentile{10 (J - 1)}``, ``decile10`` is
    ``largest``); ``prunestab.store.migrations`` renames stored runs that use them.
    ``mask_batchnorm``: a pruned filter's following BatchNorm gamma and beta are masked so
    its output is exactly zero. Figure 5's Prune_L leaves them active (as the authors'
    F5_0 did), so that pruning and zeroing noise differ only in permanence.

    ``schedule`` may be given as a :class:`~prunestab.schedule.PruningSchedule` or as its
    JSON object (a dict of its fields), which is converted.

    Raises:
        ValueError: (at construction) ``structure``, ``score`` or ``target`` outside what
            is allowed (an old ``decileJ`` name says what it became), ``magnitude`` with
            structured or any other score with unstructured pruning, or a ``schedule``
            object with unknown, missing or invalid fields; the message names the field,
            the value and what is allowed.

    >>> from prunestab.schedule import PruningSchedule
    >>> schedule = PruningSchedule((3, 4, 5, 6), (150, 150, 150, 275), (0.3, 0.3, 0.3, 0.9), 40)
    >>> PruningConfig(schedule, score="ebn", target="largest").label
    'E[BN] prune_L'
    >>> PruningConfig(schedule, score="l2", structure="unstructured")
    Traceback (most recent call last):
    ValueError: PruningConfig.score='l2' with structure='unstructured'; allowed: magnitude
    """

    schedule: PruningSchedule
    structure: str = "structured"
    score: str = "l2"
    target: str = "smallest"
    mask_batchnorm: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, PruningSchedule):
            schedule = _from_mapping(PruningSchedule, self.schedule, "PruningConfig.schedule")
            object.__setattr__(self, "schedule", schedule)
        _choice("PruningConfig", "structure", self.structure, STRUCTURES)
        _choice("PruningConfig", "score", self.score, SCORES)
        if isinstance(self.target, str) and self.target.startswith("decile"):
            raise ValueError(
                f"PruningConfig.target={self.target!r} was renamed: decileJ (J = 1..9) is now "
                "percentile{10 (J - 1)} and decile10 is largest; allowed: "
                f"{', '.join(TARGETS)}"
            )
        _choice("PruningConfig", "target", self.target, TARGETS)
        if self.structure == "unstructured" and self.score != "magnitude":
            raise ValueError(
                f"PruningConfig.score={self.score!r} with structure='unstructured'; "
                "allowed: magnitude"
            )
        if self.structure == "structured" and self.score == "magnitude":
            raise ValueError(
                "PruningConfig.score='magnitude' with structure='structured'; "
                "allowed: l2, ebn, ebn_signed"
            )

    @property
    def label(self) -> str:
        """Short name for legends: the score's symbol and the paper's target subscript.

        Returns:
            ``l2``, ``E[BN]``, ``E[BN]±`` (``ebn_signed``) or ``|w|`` (``magnitude``), a
            space, then ``prune_S``/``prune_L``/``prune_R`` (Section 3.1's subscripts) or
            ``prune_D0`` .. ``prune_D9`` for the percentile targets (Figure 2).
        """
        score = {"l2": "l2", "ebn": "E[BN]", "ebn_signed": "E[BN]±", "magnitude": "|w|"}
        return f"{score[self.score]} prune_{TARGET_LABELS[self.target]}"


@dataclass(frozen=True)
class NoiseConfig:
    """Figure 5: noise on the units prune_L would remove, instead of removing them.

    ``kind``: ``zeroing`` (weights and bias set to 0) or ``gaussian`` (N(0, sigma) added,
    sigma the std of an untargeted filter of the same layer). Noise is applied once at the
    pruning event, before the post-event evaluation, and again before each of the next
    ``steps`` training steps; then the units are released and train freely. See
    ``prunestab.noise`` for how this maps onto the paper's "0/50/1500 batches".

    Attributes:
        kind: ``zeroing`` or ``gaussian``.
        steps: training steps after the event whose forward pass sees fresh noise, >= 0.

    Raises:
        ValueError: (at construction) an unknown ``kind`` or ``steps`` not an integer
            >= 0; the message names the field, the value and what is allowed.

    >>> NoiseConfig("gaussian", 50).label
    'Gaussian 50'
    """

    kind: str
    steps: int

    def __post_init__(self) -> None:
        _choice("NoiseConfig", "kind", self.kind, NOISE_KINDS)
        _positive_int("NoiseConfig", "steps", self.steps, 0)

    @property
    def label(self) -> str:
        """Short name for legends, as Figure 5's: ``Zeroing 50``, ``Gaussian 0``."""
        return f"{self.kind.capitalize()} {self.steps}"


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run's results.

    Its :func:`config_hash` names the run in the store (``device`` and ``label`` left out,
    module docstring). Sub-configs may be given as dataclasses or as their JSON objects
    (dicts), which are converted, so ``RunConfig(**json.loads(text))`` works.

    Attributes:
        model: ``conv4``, ``vgg11``, ``resnet18`` or ``vgg19`` (Section 3.2; VGG19 only
            for Figure A1).
        epochs: training epochs, >= 1 (325 for the paper's VGG11/ResNet18, A.3.1).
        seed: the run's seed, >= 0; runs that differ only in seed are the paper's
            "distinct runs" of a configuration.
        width: multiplier of every hidden channel/neuron count, ``0 < width <= 4``
            (1.0 is the paper's models; ``prunestab.models``).
        data: which images the run sees (:class:`DataConfig`).
        optimizer: Adam and its decay (:class:`OptimizerConfig`).
        pruning: what is pruned and when (:class:`PruningConfig`), ``None`` for an
            unpruned run.
        noise: noise instead of pruning on the units ``pruning`` targets
            (:class:`NoiseConfig`, Figure 5), ``None`` otherwise.
        precision: ``auto``, ``fp32`` or ``bf16`` (module docstring).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; not hashed.
        label: a human name for plots; not hashed.

    Raises:
        ValueError: (at construction) a field outside what is allowed (named with its
            value and what is allowed), a sub-config object with unknown or missing
            fields, ``noise`` without a structured ``pruning``, or a schedule whose last
            pruning epoch is not before the last training epoch.

    >>> RunConfig("vgg11", epochs=325).display_label()
    'unpruned'
    >>> RunConfig("vgg13", epochs=325)
    Traceback (most recent call last):
    ValueError: RunConfig.model='vgg13'; allowed: conv4, vgg11, resnet18, vgg19
    """

    model: str
    epochs: int
    seed: int = 0
    width: float = 1.0
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    pruning: PruningConfig | None = None
    noise: NoiseConfig | None = None
    precision: str = "auto"
    device: str = "cpu"
    label: str = ""

    def __post_init__(self) -> None:
        for name, cls, optional in (
            ("data", DataConfig, False),
            ("optimizer", OptimizerConfig, False),
            ("pruning", PruningConfig, True),
            ("noise", NoiseConfig, True),
        ):
            value = getattr(self, name)
            if not isinstance(value, cls) and not (optional and value is None):
                object.__setattr__(self, name, _from_mapping(cls, value, f"RunConfig.{name}"))
        _choice("RunConfig", "model", self.model, MODELS)
        _positive_int("RunConfig", "epochs", self.epochs, 1, MAX_EPOCHS)
        _positive_int("RunConfig", "seed", self.seed, 0)
        if not (_number(self.width) and 0 < self.width <= 4):
            raise ValueError(f"RunConfig.width={self.width!r}; allowed: a number, 0 < width <= 4")
        _choice("RunConfig", "precision", self.precision, PRECISIONS)
        if not isinstance(self.label, str):
            raise ValueError(f"RunConfig.label={self.label!r}; allowed: a string")
        if not isinstance(self.device, str) or not (
            self.device == "cpu" or self.device.startswith(("cuda", "mps"))
        ):
            raise ValueError(f"RunConfig.device={self.device!r}; allowed: cpu, cuda, cuda:N, mps")
        if self.noise is not None:
            if self.pruning is None or self.pruning.structure != "structured":
                raise ValueError(
                    "RunConfig.noise is set but pruning is "
                    f"{self.pruning and self.pruning.structure!r}; allowed: a structured "
                    "PruningConfig whose target chooses the noised units"
                )
        if self.pruning is not None and self.pruning.schedule.last_epoch() >= self.epochs:
            raise ValueError(
                f"RunConfig.pruning.schedule prunes at epoch {self.pruning.schedule.last_epoch()} "
                f"but RunConfig.epochs={self.epochs}; allowed: a schedule ending before the "
                "last epoch"
            )

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed, validated like a new config.

        Args:
            **changes: field names and their new values (``seed=3``, ``device="cuda"``).

        Returns:
            A new :class:`RunConfig`; ``self`` is unchanged (frozen).

        Raises:
            ValueError: a new value is not allowed (as the constructor).
            TypeError: a name is not a field (from ``dataclasses.replace``).

        >>> RunConfig("vgg11", epochs=325).replace(seed=3).seed
        3
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field, sub-configs included, as nested dicts (``dataclasses.asdict``).

        The form stored in each run's ``config.json`` and ``result.json`` and read back by
        :meth:`from_dict`; unlike :func:`canonical` it keeps ``device`` and ``label``.

        Returns:
            A dict of the fields (tuples stay tuples until written as JSON).

        >>> config = RunConfig("conv4", epochs=60, seed=1)
        >>> RunConfig.from_dict(config.to_dict()) == config
        True
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """A config from its :meth:`to_dict` form (a parsed JSON object).

        Args:
            data: the config's fields; sub-configs as JSON objects; fields with a default
                may be left out.

        Returns:
            The validated :class:`RunConfig`.

        Raises:
            ValueError: ``data`` is not an object, has an unknown or missing field at
                any level, or a value outside what is allowed; the message names it.
        """
        return _from_mapping(cls, data, "RunConfig")

    def display_label(self) -> str:
        """``label`` if given, else a name built from the pruning or noise settings.

        Returns:
            ``label``; else the noise's label (``Zeroing 50``); else ``unpruned``; else
            the pruning's label and its largest iterative rate in whole percent, as the
            paper's legends (``E[BN] prune_L 13%``, A.3.1).
        """
        if self.label:
            return self.label
        if self.noise is not None:
            return self.noise.label
        if self.pruning is None:
            return "unpruned"
        rate = 100 * self.pruning.schedule.max_iterative_rate()
        return f"{self.pruning.label} {rate:.0f}%"


_HASH_EXCLUDED = ("device", "label")

#: The fields each config class had when run identities were first published (schema 1,
#: the 205 quick runs under ``results/``). They always enter the hash, exactly as they
#: did then, so every stored run keeps its folder name. A field added since enters only
#: when its value differs from its default (open_lth's rule), so adding a defaulted field
#: renames nothing. Never edit this table: add new fields to the dataclasses only.
_SCHEMA1_FIELDS: dict[str, tuple[str, ...]] = {
    "RunConfig": (
        "model",
        "epochs",
        "seed",
        "width",
        "data",
        "optimizer",
        "pruning",
        "noise",
        "precision",
    ),
    "DataConfig": (
        "train_subset",
        "test_subset",
        "validation_size",
        "augment",
        "train_eval_images",
        "epoch_images",
    ),
    "OptimizerConfig": ("lr", "batch_size", "lr_milestones", "lr_decay"),
    "PruningConfig": ("schedule", "structure", "score", "target", "mask_batchnorm"),
    "NoiseConfig": ("kind", "steps"),
    "PruningSchedule": ("start_epochs", "end_epochs", "fractions", "retrain_period"),
}


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def canonical(obj: Any) -> Any:
    """The JSON-ready form of a config that its hash is taken of.

    Dataclasses become dicts of their schema-1 fields plus every later field that differs
    from its default; tuples become lists. ``device`` and ``label`` of a
    :class:`RunConfig` are left out (see the module docstring).

    Args:
        obj: a config dataclass, or any value inside one (lists, tuples, numbers,
            strings, ``None``).

    Returns:
        Nested dicts, lists and plain values; other values are returned as given.

    >>> canonical(NoiseConfig("zeroing", 50))
    {'kind': 'zeroing', 'steps': 50}
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        name = type(obj).__name__
        always = _SCHEMA1_FIELDS.get(name, ())
        out = {}
        for f in dataclasses.fields(obj):
            if name == "RunConfig" and f.name in _HASH_EXCLUDED:
                continue
            value = getattr(obj, f.name)
            if f.name in always or value != _default(f):
                out[f.name] = canonical(value)
        return out
    if isinstance(obj, list | tuple):
        return [canonical(v) for v in obj]
    return obj


def config_hash(config: RunConfig) -> str:
    """The run's identity: SHA-256 (hex) of the canonical JSON of ``config``.

    Args:
        config: the run.

    Returns:
        64 hex digits. The store names a run's folder ``{model}-{first 16 digits}``.
        ``device`` and ``label`` do not enter it; a field added after schema 1 enters only
        when it differs from its default, so adding a defaulted field renames no run.

    >>> config_hash(RunConfig("vgg11", epochs=325))[:16]
    '55426189497f0f37'
    """
    data = canonical(config)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
