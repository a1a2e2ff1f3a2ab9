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
# # Figure 3: structured beats unstructured prune$_L$ on ResNet18
#
# *Section 4.2.* Pruning the largest weights need not regularise best everywhere: on
# ResNet18 the paper finds that **structured prune$_L$ (whole filters, E[BN]) reaches
# higher test accuracy than unstructured prune$_L$ (single weights, $|w|$)**, perhaps
# because removing every filter's most important connections harms the convolutional
# inductive bias more than removing whole filters.
#
# Settings (Appendix A.3.3): the final four convolutions, $s=(3,4,5,6)$,
# $e=(150,150,150,275)$, $p=(.1,.1,.1,.9)$, $r=4$ (1%) or $r=40$ (13%), and a one-shot
# pruning of everything at epoch 246; 80% bootstrap intervals from 3+ runs.

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

from prunestab.book import analysis, claims, plots, tables

runs = analysis.open_figure("fig3", profile, seeds, device, data, store, jobs)

# %% [markdown]
# ## Test accuracy during training (80% intervals, as in the paper)

# %% tags=["hide-input"]
groups = analysis.by_label(runs)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
plots.curves_with_ci(left, {k: analysis.curves(v) for k, v in groups.items()}, confidence=0.80)
left.set_ylabel("test accuracy (%)")
left.legend(loc="best")
finals = {
    k: analysis.points(v, "best_test_acc_after_pruning", "final_test_acc")[0]
    for k, v in groups.items()
}
bottom = max(0, round(min(v.min() for v in finals.values()) - 5))
plots.mean_bars(right, finals, confidence=0.80, ylabel="final test accuracy (%)", bottom=bottom)
fig.suptitle(f"Figure 3 ({profile} profile): ResNet18, structured vs unstructured prune_L")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The paper's claims beside ours

# %% tags=["hide-input"]
found = claims.evaluate("fig3", runs, profile)
claims.save(analysis.default_store(store, profile), profile, "fig3", found)
display(HTML(tables.claims_table(found)))
