"""One training run: the measurements of Section 3 and the schedule's timing."""

import dataclasses

import pytest
import torch
from tiny_runs import tiny_config as _config

from prunestab.config import DataConfig, RunConfig
from prunestab.data.cifar10 import load_cifar10
from prunestab.paper.registry import figure_grid
from prunestab.training.loop import train_run
from prunestab.training.parts import learning_rate
from prunestab.training.seeding import derive_seed


def test_instability_is_the_drop_between_pre_and_post_evaluations(tiny):
    result = train_run(_config(), tiny, progress=False)
    epochs = result["epochs"]
    assert [r["epoch"] for r in epochs if r["pruned"]] == [1, 2, 3, 4]
    for record in epochs:
        if record["pruned"]:
            assert record["instability"] == pytest.approx(
                abs(record["pre_test_acc"] - record["test_acc"])
            )
        else:
            assert "pre_test_acc" not in record  # pre-prune evaluation only on pruning epochs
    # 64 filters per layer at width 1/8: floor(.3 * 64) = 19 and floor(.9 * 64) = 57 pruned.
    assert epochs[-1]["pruned_units"] == [19, 19, 19, 57]
    assert sum(len(e["units"]) for e in result["events"]) == sum(epochs[-1]["pruned_units"])


def test_epoch_images_sets_the_steps_of_every_epoch_and_its_accuracy_denominator(tiny):
    config = _config(data=DataConfig(train_subset=200, test_subset=100, epoch_images=60))
    result = train_run(config, tiny, progress=False)
    for record in result["epochs"]:
        # 60 images per epoch: every accuracy is a whole number of those 60 images.
        assert record["train_acc"] * 60 / 100 == pytest.approx(round(record["train_acc"] * 0.6))
    full = train_run(_config(), tiny, progress=False)
    assert result["epochs"][0]["train_loss"] != full["epochs"][0]["train_loss"]


def test_eval_mode_training_accuracy_is_measured_from_the_last_pruning_epoch_on(tiny):
    config = _config(data=DataConfig(train_subset=200, test_subset=100, train_eval_images=50))
    epochs = train_run(config, tiny, progress=False)["epochs"]
    assert [r["epoch"] for r in epochs if "train_eval_acc" in r] == [4, 5]  # last event: 4
    unpruned = train_run(config.replace(pruning=None, epochs=2), tiny, progress=False)["epochs"]
    assert all("train_eval_acc" in r for r in unpruned)


def test_same_seed_same_run_other_seed_other_run(tiny):
    a = train_run(_config(epochs=2, pruning=None), tiny, progress=False)
    b = train_run(_config(epochs=2, pruning=None), tiny, progress=False)
    c = train_run(_config(epochs=2, pruning=None, seed=1), tiny, progress=False)
    assert a["epochs"] == b["epochs"]
    assert a["epochs"] != c["epochs"]


def test_learning_rate_decays_tenfold_at_each_milestone():
    config = RunConfig("vgg11", epochs=325)
    assert [learning_rate(config, e) for e in (0, 149, 150, 299, 300, 324)] == pytest.approx(
        [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5]
    )


def test_derived_seeds_differ_by_purpose():
    assert (
        derive_seed(0, "shuffle", 1) != derive_seed(0, "shuffle", 2) != derive_seed(1, "shuffle", 1)
    )


@pytest.mark.parametrize("figure", ["fig2", "fig3", "fig5"])
def test_every_kind_of_smoke_run_trains(figure, tiny_cifar):
    """Decile (structured and unstructured), one-shot, noise: each completes and learns."""
    configs = figure_grid(figure, "smoke", seeds=1)
    picks = {
        "fig2": ["unstructured D9", "structured D10"],
        "fig3": ["unstructured one shot"],
        "fig5": ["zeroing50", "gaussian1500"],
    }[figure]
    for config in (c for c in configs if c.label in picks):
        data = load_cifar10(tiny_cifar, config=config.data)
        result = train_run(config, data, progress=False)
        assert len(result["epochs"]) == config.epochs
        assert result["summary"]["n_pruning_epochs"] >= 1
        assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in result["epochs"])


def test_a_separate_instability_set_measures_events_and_the_full_set_the_summary(tiny_cifar):
    data_config = DataConfig(train_subset=200, test_subset=100, instability_test_subset=40)
    data = load_cifar10(tiny_cifar, config=data_config)
    assert data.instability_labels.numel() == 40 and data.test_labels.numel() == 100
    assert data.info.n_instability == 40
    result = train_run(_config(data=data_config), data, progress=False)
    epochs = result["epochs"]
    for record in epochs:  # 40 images: every instability-set accuracy is a multiple of 2.5
        assert record["test_acc"] / 2.5 == pytest.approx(round(record["test_acc"] / 2.5))
    assert [r["epoch"] for r in epochs if "full_test_acc" in r] == [4, 5]  # last event: 4
    summary = result["summary"]
    assert summary["final_test_acc"] == epochs[-1]["full_test_acc"]
    assert summary["final_test_acc_instability_set"] == epochs[-1]["test_acc"]
    assert summary["best_test_acc_after_pruning"] == max(r["full_test_acc"] for r in epochs[4:])


def test_one_pass_over_the_test_set_gives_the_instability_sets_numbers_too(tiny_cifar):
    """Where the whole test set is evaluated (the last epochs), the instability set's
    numbers come from the same pass: the run is the one a separate pass would give,
    accuracies exactly and losses to rounding."""
    data_config = DataConfig(train_subset=200, test_subset=100, instability_test_subset=40)
    data = load_cifar10(tiny_cifar, config=data_config)
    assert torch.equal(data.test_images[data.instability_positions], data.instability_images)
    assert torch.equal(data.test_labels[data.instability_positions], data.instability_labels)
    config = _config(data=data_config)
    shared = train_run(config, data, progress=False)["epochs"]
    apart = dataclasses.replace(data, instability_positions=None)  # two passes, as before
    separate = train_run(config, apart, progress=False)["epochs"]
    assert [r["epoch"] for r in shared if "full_test_acc" in r] == [4, 5]
    for a, b in zip(shared, separate, strict=True):
        assert a["test_acc"] == b["test_acc"]
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-5)
        assert a.get("full_test_acc") == b.get("full_test_acc")


def test_a_runs_evaluations_record_no_gradients(tiny_cifar):
    """Every eval-mode forward pass of a run (instability, curve, whole test set) runs
    without autograd: a graph built there is wasted time and memory on every epoch."""
    data_config = DataConfig(train_subset=200, test_subset=100, instability_test_subset=40)
    data = load_cifar10(tiny_cifar, config=data_config)
    seen = []  # (module in training mode, autograd on) at each forward of the classifier

    original = torch.nn.Linear.forward

    def forward(self, x):
        seen.append((self.training, torch.is_grad_enabled()))
        return original(self, x)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.nn.Linear, "forward", forward)
        train_run(_config(data=data_config), data, progress=False)
    evaluations = [grad for training, grad in seen if not training]
    assert evaluations and not any(evaluations)
    assert any(grad for training, grad in seen if training)


def test_evaluating_a_part_of_the_images_in_the_same_pass_equals_evaluating_it_alone():
    from prunestab.models import build
    from prunestab.training.evaluation import evaluate_seeds
    from prunestab.training.model_sets import SingleModel

    torch.manual_seed(0)
    model = build("vgg11", width=0.125).eval()
    images = torch.randint(0, 256, (1100, 3, 32, 32), dtype=torch.uint8)  # 3 batches of 500
    labels = torch.randint(0, 10, (1100,))
    part = torch.tensor([0, 3, 499, 500, 777, 1000, 1099])
    args = ("fp32", torch.contiguous_format)
    whole, alone = evaluate_seeds(SingleModel(model), model, images, labels, *args, part)
    assert whole == evaluate_seeds(SingleModel(model), model, images, labels, *args)[0]
    single = evaluate_seeds(SingleModel(model), model, images[part], labels[part], *args)[0]
    assert alone[0].accuracy == single[0].accuracy
    assert alone[0].loss == pytest.approx(single[0].loss, rel=1e-6)
    assert evaluate_seeds(SingleModel(model), model, images, labels, *args)[1] is None


def test_the_instability_set_cannot_exceed_the_test_set():
    with pytest.raises(ValueError, match="instability_test_subset=600; allowed: at most the 500"):
        DataConfig(test_subset=500, instability_test_subset=600)
