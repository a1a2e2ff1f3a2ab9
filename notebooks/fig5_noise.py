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
# # Figure 5: pruning as noise injection
#
# *Section 4.4.* Does pruning help because it removes capacity, or because it injects
# noise the network must adapt to? The paper keeps VGG11's $\ell_2$ prune$_L$ schedule
# ($r=40$, 13%) but, instead of removing the chosen filters, **zeroes** them or adds
# **Gaussian** noise (std of an untargeted filter of the layer) for 0, 50 or 1500 steps,
# after which they train freely. **Zeroing for 50 steps matches prune$_L$'s accuracy;
# zeroing once does not help; Gaussian noise for 1500 steps helps, but less.**
#
# Our windows count training steps (the authors counted forward calls, test batches
# included: their 50 and 1500 were 51 and 1106 training steps). Reduced profiles keep the
# windows in training steps, the time scale on which a zeroed filter regrows under Adam,
# but cut each to the steps between two events of a layer: at the quick profile (4 steps
# per epoch, so 160 steps per $r=40$ period) "1500" is 160 steps, noise until the layer's
# next event. As in the authors' code, the BatchNorm of a noised (and, here, of a pruned)
# filter stays active, so prune$_L$ and zeroing differ only in permanence.
#
# `noise` selects what to run: `all`, or one of `prune_L`, `zeroing0`, `zeroing50`,
# `zeroing1500`, `gaussian0`, `gaussian50`, `gaussian1500` (with the unpruned and
# prune$_L$ runs it is compared with), e.g.
# `papermill notebooks/fig5_noise.ipynb -p noise zeroing50` (the executed notebook goes
# to standard output; name an output path to keep it).

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # the published profile; also smoke (tests), paper (GPUs), steps650 | steps2600 | steps10400
seeds = None  # runs per configuration; None: the profile's default
device = "cpu"
data = None  # CIFAR-10 folder; None: $PRUNESTAB_DATA or torchvision's download
store = None  # run store folder; None: results/ in the repository
jobs = 1  # runs computed at once, in worker processes (2 on a 2-core CPU)
noise = "all"

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display

from prunestab.book import analysis, claims, explorers, plots, tables
from prunestab.paper import windows
from prunestab.paper.common import Label
from prunestab.paper.fig5 import NOISE_STEPS as FIG5_NOISE_STEPS
from prunestab.paper.fig5 import noise_window_fractions

VARIANTS = [Label.PRUNE_L] + [
    Label.noise(kind, steps) for kind in ("zeroing", "gaussian") for steps in FIG5_NOISE_STEPS
]
if noise != "all" and noise not in VARIANTS:
    raise ValueError(f"noise={noise!r}; allowed: all, {', '.join(VARIANTS)}")
labels = None if noise == "all" else sorted({Label.UNPRUNED, Label.PRUNE_L, noise})
runs = analysis.open_figure("fig5", profile, seeds, device, data, store, jobs, labels)
fractions = noise_window_fractions(profile)
differ = any(abs(ours - paper) > 0.1 * paper for _, ours, paper in fractions.values() if paper)
if differ:  # at the paper profile the windows are the paper's: nothing to warn about
    display(
        HTML(
            '<div class="admonition warning"><p class="admonition-title">These windows are not '
            "the paper's</p><p>The paper's windows are "
            + ", ".join(
                f"{w} steps ({100 * paper:.2f}%)" for w, (_, _, paper) in fractions.items() if w
            )
            + " of the steps between two of a layer's pruning events. Here, at the "
            f"<code>{profile}</code> profile, they are "
            + ", ".join(
                f"{steps} steps ({100 * ours:.1f}%)"
                for w, (steps, ours, _) in fractions.items()
                if w
            )
            + ": the paper's step counts, cut to the retrain period, so the noise lasts a far "
            "larger part of it. "
            + tables.sentence(windows.status(store))
            + ' See the <a href="../book/budget.html">protocol</a> and <a href="budget_study.html">'
            "the budget study</a>.</p></div>"
        )
    )

# %% [markdown]
# ## Test accuracy during training: zeroing (left) and Gaussian noise (right)

# %% tags=["hide-input"]
groups = analysis.by_label(runs)
plots.noise_curves(
    {"": {k: analysis.curves(v) for k, v in groups.items()}},
    f"Figure 5 ({profile} profile): VGG11, noise instead of pruning",
)
plt.show()

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(8, 3.5))
finals = {
    k: analysis.points(v, "best_test_acc_after_pruning", "final_test_acc")[0]
    for k, v in groups.items()
}
bottom = max(0, round(min(v.min() for v in finals.values()) - 5))
plots.mean_bars(ax, finals, ylabel="final test accuracy (%)", bottom=bottom)
plt.show()

# %% [markdown]
# Pick a noise variant to see it alone beside prune$_L$ and the unpruned runs (on this
# page the control switches among figures drawn from the stored runs; in Jupyter it
# redraws live).

# %% tags=["hide-input"]
explorers.fig5_explorer(runs)

# %% [markdown]
# ## The paper's claims beside ours
#
# Only the claims whose runs this execution includes are evaluated.

# %% tags=["hide-input"]
found = claims.evaluate("fig5", runs, profile)
if noise == "all":
    claims.save(analysis.default_store(store, profile), profile, "fig5", found)
display(
    HTML(tables.claims_table(found)) if found else Markdown("No claim compares only these runs.")
)
