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
# # Figure A2: epoch-wise instabilities in VGG11
#
# *Appendix A.2.* The per-event view of Figure 1's VGG11 runs: each pruning epoch's
# instability, averaged over runs. The paper finds **E[BN] prune$_S$ more stable than
# $\ell_2$ prune$_S$** (both at the 1% rate), and that methods with higher iterative rates
# create more instability per event.

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
from prunestab.paper.common import Label

runs = analysis.open_figure("figA2", profile, seeds, device, data, store, jobs)

# %% tags=["hide-input"]
groups = {
    k: analysis.curves(v, "instability")
    for k, v in analysis.by_label(runs).items()
    if k != Label.UNPRUNED
}
fig, ax = plt.subplots(figsize=(10, 4))
plots.epochwise_instability(ax, groups)
ax.set_yscale("symlog", linthresh=0.1)
ax.legend(loc="best")
ax.set_title(f"Figure A2 ({profile} profile): instability on each pruning epoch, mean over runs")
plt.show()

# %% [markdown]
# ## The paper's claims beside ours

# %% tags=["hide-input"]
found = claims.evaluate("figA2", runs, profile)
claims.save(analysis.default_store(store, profile), profile, "figA2", found)
display(HTML(tables.claims_table(found)))
