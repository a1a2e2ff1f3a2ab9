"""CIFAR-10 loading, subsets, normalisation, augmentation and batching (prunestab.data)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
import torchvision
from conftest import OFFLINE_CACHE, write_fake_cifar10

from prunestab.config import DataConfig
from prunestab.data import files as data_module
from prunestab.data.batches import (
    MEAN,
    PADDING,
    STD,
    augment,
    eval_batches,
    normalize,
    train_batches,
)
from prunestab.data.cifar10 import load_cifar10
from prunestab.data.files import (
    ENV_VAR,
    FILES,
    DataNotFoundError,
    DatasetVariantWarning,
    resolve_root,
    verify_checksums,
)

# The fake data are deliberately not the official files; tests that care use pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore::prunestab.data.files.DatasetVariantWarning")


def _image_keys(images: torch.Tensor) -> list[bytes]:
    return [image.numpy().tobytes() for image in images]


def _full_index(subset: torch.Tensor, full: torch.Tensor) -> list[int]:
    where = {key: i for i, key in enumerate(_image_keys(full))}
    return [where[key] for key in _image_keys(subset)]


def _class_counts(labels: torch.Tensor) -> list[int]:
    return torch.bincount(labels, minlength=10).tolist()


# Loading -------------------------------------------------------------------------------


def test_load_by_argument_gives_uint8_images_and_int64_labels(tiny_cifar: Path) -> None:
    data = load_cifar10(tiny_cifar, download=False)
    assert data.train_images.shape == (200, 3, 32, 32)
    assert data.test_images.shape == (100, 3, 32, 32)
    assert data.train_images.dtype == data.test_images.dtype == torch.uint8
    assert data.train_labels.dtype == data.test_labels.dtype == torch.int64
    assert data.train_labels.tolist() == [i % 10 for i in range(200)]
    assert data.test_labels.tolist() == [i % 10 for i in range(100)]
    assert data.validation_images.shape == (0, 3, 32, 32)
    assert data.validation_labels.shape == (0,)
    assert data.device == torch.device("cpu")
    assert (data.info.n_train, data.info.n_test, data.info.n_validation) == (200, 100, 0)
    assert data.info.root == str(tiny_cifar.resolve())


def test_load_by_environment_variable(tiny_cifar: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tiny_cifar))
    data = load_cifar10(download=False)
    assert data.train_images.shape == (200, 3, 32, 32)
    assert data.info.root == str(tiny_cifar.resolve())


def test_the_inner_batches_folder_is_accepted_too(tiny_cifar: Path) -> None:
    assert resolve_root(tiny_cifar / "cifar-10-batches-py") == tiny_cifar.resolve()
    data = load_cifar10(tiny_cifar / "cifar-10-batches-py", download=False)
    assert data.info.root == str(tiny_cifar.resolve())


def test_an_explicit_argument_is_not_replaced_by_the_environment_variable(
    tiny_cifar: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tiny_cifar))
    assert resolve_root(tmp_path) is None
    assert resolve_root() == tiny_cifar.resolve()


def test_unofficial_files_load_with_a_warning_and_variant_modified(tiny_cifar: Path) -> None:
    with pytest.warns(DatasetVariantWarning, match="not the official CIFAR-10") as caught:
        data = load_cifar10(tiny_cifar, download=False)
    assert len([w for w in caught if w.category is DatasetVariantWarning]) == 1
    assert data.info.variant == "modified"
    assert data.info.mismatched == FILES
    assert data.info.to_dict()["mismatched"] == list(FILES)


def test_files_matching_the_official_md5_are_official_and_hashed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_fake_cifar10(tmp_path, train_per_class=1, test_per_class=1)
    md5 = {
        name: hashlib.md5((root / "cifar-10-batches-py" / name).read_bytes()).hexdigest()
        for name in FILES
    }
    official = torchvision.datasets.CIFAR10
    monkeypatch.setattr(
        official, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)]
    )
    monkeypatch.setattr(official, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(official, "meta", {**official.meta, "md5": md5["batches.meta"]})
    assert verify_checksums(root) == ("official", ())
    hits = data_module._file_md5.cache_info().hits
    assert verify_checksums(root) == ("official", ())
    assert data_module._file_md5.cache_info().hits == hits + len(FILES)


# Missing data --------------------------------------------------------------------------


def test_no_data_anywhere_raises_a_one_paragraph_data_not_found_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    for root in (None, tmp_path):
        with pytest.raises(DataNotFoundError) as err:
            load_cifar10(root, download=False)
        message = str(err.value)
        assert "PRUNESTAB_DATA" in message
        assert "without internet" in message and "variant" in message
        assert "--data" in message and "cifar-10-batches-py" in message
        assert str(tmp_path) in message
        assert "\n" not in message


def test_a_failed_download_still_raises_data_not_found_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_internet(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", no_internet)
    with pytest.raises(DataNotFoundError, match="network is unreachable"):
        load_cifar10(tmp_path / "empty", download=True)


def test_a_successful_download_into_the_requested_folder_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = torchvision.datasets.CIFAR10

    class FakeDownload:
        train_list, test_list, meta = real.train_list, real.test_list, real.meta

        def __init__(self, root: str, train: bool = True, download: bool = False) -> None:
            write_fake_cifar10(Path(root), train_per_class=1, test_per_class=1)

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeDownload)
    data = load_cifar10(tmp_path, download=True)
    assert data.train_images.shape == (10, 3, 32, 32)


# Subsets and validation split ----------------------------------------------------------


def test_subsets_are_class_balanced_ordered_and_disjoint_from_validation(
    tiny_cifar: Path,
) -> None:
    full = load_cifar10(tiny_cifar, download=False)
    config = DataConfig(train_subset=100, test_subset=30, validation_size=50)
    data = load_cifar10(tiny_cifar, config=config, download=False)
    assert _class_counts(data.validation_labels) == [5] * 10
    assert _class_counts(data.train_labels) == [10] * 10
    assert _class_counts(data.test_labels) == [3] * 10
    train = _full_index(data.train_images, full.train_images)
    validation = _full_index(data.validation_images, full.train_images)
    test = _full_index(data.test_images, full.test_images)
    assert not set(train) & set(validation)
    assert train == sorted(train) and validation == sorted(validation) and test == sorted(test)
    assert full.train_labels[train].tolist() == data.train_labels.tolist()
    assert (data.info.n_train, data.info.n_test, data.info.n_validation) == (100, 30, 50)


def test_an_uneven_subset_is_as_balanced_as_the_number_allows(tiny_cifar: Path) -> None:
    data = load_cifar10(tiny_cifar, config=DataConfig(train_subset=95), download=False)
    counts = _class_counts(data.train_labels)
    assert sum(counts) == 95 and max(counts) - min(counts) == 1


def test_subsets_are_the_same_on_every_load(tiny_cifar: Path) -> None:
    config = DataConfig(train_subset=37, test_subset=21, validation_size=13)
    a = load_cifar10(tiny_cifar, config=config, download=False)
    b = load_cifar10(tiny_cifar, config=config, download=False)
    torch.manual_seed(123)  # the run seed must not matter
    c = load_cifar10(tiny_cifar, config=config, download=False)
    for name in ("train_images", "test_images", "validation_images"):
        assert torch.equal(getattr(a, name), getattr(b, name))
        assert torch.equal(getattr(a, name), getattr(c, name))


def test_the_test_subset_does_not_depend_on_the_training_choices(tiny_cifar: Path) -> None:
    a = load_cifar10(tiny_cifar, config=DataConfig(test_subset=20), download=False)
    b = load_cifar10(
        tiny_cifar,
        config=DataConfig(test_subset=20, train_subset=50, validation_size=10),
        download=False,
    )
    assert torch.equal(a.test_images, b.test_images)


@pytest.mark.parametrize(
    ("config", "field", "available"),
    [
        (DataConfig(train_subset=151, validation_size=50), "train_subset=151", "150"),
        (DataConfig(test_subset=101), "test_subset=101", "100"),
        (DataConfig(validation_size=200), "validation_size=200", "200"),
    ],
)
def test_a_subset_larger_than_available_names_the_field(
    tiny_cifar: Path, config: DataConfig, field: str, available: str
) -> None:
    with pytest.raises(ValueError, match=field) as err:
        load_cifar10(tiny_cifar, config=config, download=False)
    assert available in str(err.value)


# Normalisation -------------------------------------------------------------------------


def test_normalize_matches_torchvision_normalize() -> None:
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    expected = torchvision.transforms.Normalize(MEAN, STD)(images.float() / 255)
    out = normalize(images)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    assert normalize(images, torch.bfloat16).dtype == torch.bfloat16


# Augmentation --------------------------------------------------------------------------


def _crops(image: torch.Tensor) -> list[torch.Tensor]:
    """Every 32x32 crop of the zero-padded image, unflipped and flipped (the reference)."""
    padded = torch.nn.functional.pad(image, (PADDING,) * 4)
    crops = []
    for top in range(2 * PADDING + 1):
        for left in range(2 * PADDING + 1):
            crop = padded[:, top : top + 32, left : left + 32]
            crops += [crop, crop.flip(-1)]
    return crops


def test_augment_returns_a_padded_crop_of_each_image_possibly_flipped() -> None:
    images = torch.randint(1, 256, (8, 3, 32, 32), dtype=torch.uint8)
    out = augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    for image, result in zip(images, out, strict=True):
        assert any(torch.equal(result, crop) for crop in _crops(image))


def test_augment_is_determined_by_the_generator_state() -> None:
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = augment(images, torch.Generator().manual_seed(7))
    b = augment(images, torch.Generator().manual_seed(7))
    c = augment(images, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_augment_flips_about_half_and_uses_every_offset() -> None:
    # Channel 0 holds column + 1 and channel 1 row + 1, so each output reveals its crop:
    # output pixel (16, 16) shows image row top + 12 and column left + 12 (left + 11 flipped).
    n = 4000
    grid = torch.arange(1, 33, dtype=torch.uint8)
    image = torch.stack([grid.expand(32, 32), grid[:, None].expand(32, 32), grid.expand(32, 32)])
    out = augment(image.expand(n, 3, 32, 32), torch.Generator().manual_seed(0))
    middle_row = out[:, 0, 16, 8:24].to(torch.int64)
    is_flipped = middle_row[:, 1] < middle_row[:, 0]
    assert 0.45 < is_flipped.float().mean().item() < 0.55
    top = out[:, 1, 16, 16].to(torch.int64) - 13
    # Output column 16 shows image column left + 12, or left + 11 when flipped.
    left = out[:, 0, 16, 16].to(torch.int64) - torch.where(is_flipped, 12, 13)
    assert set(top.tolist()) == set(left.tolist()) == set(range(2 * PADDING + 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augment_gives_the_same_images_on_cpu_and_gpu() -> None:
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    cpu = augment(images, torch.Generator().manual_seed(3))
    gpu = augment(images.cuda(), torch.Generator().manual_seed(3))
    assert torch.equal(cpu, gpu.cpu())


# Batching ------------------------------------------------------------------------------


@pytest.mark.parametrize("augment_images", [False, True])
def test_train_batches_cover_every_image_once_in_batches_of_128(augment_images: bool) -> None:
    n = 1000
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(n)
    batches = list(
        train_batches(images, labels, 128, torch.Generator().manual_seed(0), augment_images)
    )
    assert [len(y) for _, y in batches] == [128] * 7 + [104]
    order = torch.cat([y for _, y in batches])
    assert sorted(order.tolist()) == list(range(n))
    assert order.tolist() != list(range(n))
    x, y = batches[0]
    assert x.dtype == torch.float32 and x.shape == (128, 3, 32, 32)
    if not augment_images:
        torch.testing.assert_close(x, normalize(images[y]))


def test_epoch_images_trains_on_a_fresh_draw_of_that_many_distinct_images() -> None:
    n = 1000
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(n)

    def epoch(seed: int, limit: int | None) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        return torch.cat(
            [y for _, y in train_batches(images, labels, 128, gen, False, limit)]
        ).tolist()

    drawn = epoch(0, 300)
    assert len(drawn) == len(set(drawn)) == 300
    assert drawn == epoch(0, None)[:300]  # the epoch's permutation, cut: same generator use
    assert set(drawn) != set(epoch(1, 300))  # each epoch's seed draws other images
    assert [
        len(y) for _, y in train_batches(images, labels, 128, torch.Generator(), True, 300)
    ] == [128, 128, 44]


def test_train_batches_order_is_determined_by_the_generator_seed() -> None:
    images = torch.zeros(300, 3, 32, 32, dtype=torch.uint8)
    labels = torch.arange(300)

    def order(seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        return torch.cat([y for _, y in train_batches(images, labels, 128, gen)]).tolist()

    assert order(1) == order(1) != order(2)


def test_eval_batches_keep_the_order() -> None:
    images = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(300)
    batches = list(eval_batches(images, labels, 128))
    assert [len(y) for _, y in batches] == [128, 128, 44]
    assert torch.cat([y for _, y in batches]).tolist() == list(range(300))
    torch.testing.assert_close(torch.cat([x for x, _ in batches]), normalize(images))


# The real data -------------------------------------------------------------------------


def test_the_offline_copy_has_50000_train_and_10000_test_images_balanced(
    offline_cifar: Path,
) -> None:
    data = load_cifar10(offline_cifar, download=False)
    assert data.train_images.shape == (50000, 3, 32, 32)
    assert data.test_images.shape == (10000, 3, 32, 32)
    assert _class_counts(data.train_labels) == [5000] * 10
    assert _class_counts(data.test_labels) == [1000] * 10
    assert data.info.variant == ("modified" if data.info.mismatched else "official")
    if offline_cifar == OFFLINE_CACHE.resolve():
        assert data.info.variant == "modified"
        assert set(data.info.mismatched) == set(FILES)
