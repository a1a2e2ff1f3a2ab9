# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
# ---

# %% [markdown]
# # Figure 1: the generalization-stability tradeoff
#
# *Section 4.1.* The paper defines a pruning event's **instability** as the drop in top-1
# test accuracy it causes, $\text{instability}_i = |t_\text{pre} - t_\text{post}|$, measured
# immediately before and after the event. It prunes the final four convolutional layers of
# VGG11 and ResNet18 during training with E[BN] pruning (Appendix A.1), targeting the
# smallest (prune$_S$) or largest (prune$_L$) units, at a low (1%) or high (13%) iterative
# rate, and finds that **runs with more instability end with higher test accuracy**:
# Pearson $r = .84$ ($p = 1.3\times10^{-11}$) for VGG11 and $r = .65$ ($p = 5.2\times10^{-5}$)
# for ResNet18, with prune$_L$ at 13% generalising best.
#
# Settings (Appendix A.3.1): Adam, lr $10^{-3}$, batch 128, 325 epochs, lr$\times0.1$ at
# epochs 150 and 300; VGG11 $s=(3,4,5,6)$, $e=(150,150,150,275)$, $p=(.3,.3,.3,.9)$;
# ResNet18 $e=(150,150,170,275)$, $p=(.25,.4,.25,.95)$; $r=4$ (1%) or $r=40$ (13%).
# The grid is `prunestab.paper.registry.figure_grid("fig1", profile)` (defined in `prunestab/paper/fig1.py`).

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # the published profile; also smoke (tests), paper (GPUs), steps650 | steps2600 | steps10400
seeds = None  # runs per configuration; None: the profile's default
device = "cpu"
data = None  # CIFAR-10 folder; None: $PRUNESTAB_DATA or torchvision's download
store = None  # run store folder; None: results/ in the repository
jobs = 1  # runs computed at once, in worker processes (2 on a 2-core CPU)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import HTML, display

from prunestab.book import analysis, claims, explorers, plots, tables
from prunestab.paper.common import Label
from prunestab.paper.fig1 import paper_correlation_text

runs = analysis.open_figure("fig1", profile, seeds, device, data, store, jobs)

# %% [markdown]
# ## Test accuracy during training, and instability against final accuracy
#
# Left: mean test accuracy per epoch with its 95% bootstrap interval over runs (the
# $\ell_2$ prune$_S$ run is left out, as in the paper). Right: one point per run, its mean
# instability over pruning events against its final test accuracy (the best post-pruning
# test accuracy, as the authors' code measured it), with the least-squares fit and
# Pearson's $r$ over the pruned runs, descriptive only: a configuration's seeds are not
# independent points, so the verdict below is decided on the configurations' means
# ([claims page](../book/claims)), and no run-level $p$-value is shown.

# %% tags=["hide-input"]
fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
for row, model in enumerate(("vgg11", "resnet18")):
    groups = analysis.by_label(r for r in runs if r.config.model == model)
    curves = {k: analysis.curves(v) for k, v in groups.items() if k != Label.L2_PRUNE_S_1}
    plots.curves_with_ci(axes[row, 0], curves)
    axes[row, 0].set_ylabel(f"{model}: test accuracy (%)")
    axes[row, 0].legend(loc="best")
    points, correlation = analysis.instability_points(r for r in runs if r.config.model == model)
    plots.instability_scatter(axes[row, 1], points, correlation, paper_correlation_text(model))
    axes[row, 1].legend(loc="best")
fig.suptitle(f"Figure 1 ({profile} profile): VGG11 (top), ResNet18 (bottom)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Recovery after the last pruning event
#
# The paper's prune$_L$ runs end better *despite* dramatic drops, because "the network
# recovers to higher performance within a few epochs". The last event of each run (its
# last-layer event, after the learning-rate decay at epoch 150) is the hardest to recover
# from: its drop, how far the run climbs back, and how many training steps it had to do
# so (the paper's runs have 391 per epoch).

# %% tags=["hide-input"]
header = ["model", "method", "last event (epoch)", "before", "after", "best after", "final"]
rows = []
for model in ("vgg11", "resnet18"):
    recovery = analysis.last_event_recovery(r for r in runs if r.config.model == model)
    for label, v in recovery.items():
        rows.append(
            [
                model,
                label,
                f"{v['epoch'] + 1:.0f}",
                f"{v['pre']:.1f}",
                f"{v['post']:.1f}",
                f"{v['best_after']:.1f}",
                f"{v['final']:.1f}",
                f"{v['steps_after']:,.0f}",
            ]
        )
display(
    HTML(
        tables.html_table(
            [*header, "steps after"],
            rows,
            "One 13% pruning event per configuration: test accuracy just before and after it,"
            " the best after the last event, the final accuracy, and the optimizer steps left.",
        )
    )
)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=False)
for ax, model in zip(axes, ("vgg11", "resnet18"), strict=True):
    model_runs = [r for r in runs if r.config.model == model]
    tail_start = max(0, max(r.config.epochs for r in model_runs) - 125)
    groups = analysis.by_label(model_runs)
    plots.curves_with_ci(
        ax,
        {k: analysis.curves(v) for k, v in groups.items() if k != Label.L2_PRUNE_S_1},
        start_epoch=tail_start,
    )
    ax.set_title(model)
    ax.set_ylabel("test accuracy (%)")
axes[0].legend(loc="lower left")
fig.suptitle(f"Figure 1 ({profile} profile): the last 125 epochs")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Explore the configurations
#
# Pick one of the stored configurations (model, score, target and iterative rate; only
# those with runs are offered): its test accuracy beside the unpruned runs' (left) and
# each of its pruning epochs' instability (right). On this page the controls switch among figures drawn from the stored runs when
# the chapter ran; in Jupyter they redraw live.

# %% tags=["hide-input"]
explorers.fig1_explorer(runs)

# %% [markdown]
# ## The paper's claims beside ours

# %% tags=["hide-input"]
found = claims.evaluate("fig1", runs, profile)
claims.save(analysis.default_store(store, profile), profile, "fig1", found)
display(HTML(tables.claims_table(found)))
