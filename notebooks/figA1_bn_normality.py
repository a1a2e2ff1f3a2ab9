# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure A1: how normal are BatchNorm activations?
#
# *Appendix A.1.* E[BN] assumes a filter's batch-normalised activations are standard
# normal before BN's affine transform. The paper checks this on VGG19's final eight
# convolutional layers **before and after training to convergence**: the approximation
# is reasonable early on but **degrades with training, particularly near the output**.
#
# We train VGG19 on CIFAR-10 (the authors' figure used torchvision's ImageNet-trained
# `vgg19_bn` fed CIFAR-10 images; we keep the paper's wording, a VGG19 trained on our
# task), and compare the normalised activations of one batch of 128 training images
# in train mode, $(\text{BN}(x) - \beta)/\gamma$, with $\mathcal{N}(0, 1)$ for the model at
# initialisation and after training. Normality is measured by the Kolmogorov-Smirnov
# distance.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # the published profile; also smoke (tests), paper (GPUs), steps650 | steps2600 | steps10400
seeds = None  # runs per configuration; None: the profile's default
device = "cpu"
data = None  # CIFAR-10 folder; None: $PRUNESTAB_DATA or torchvision's download
store = None  # run store folder; None: results/ in the repository
jobs = 1  # runs computed at once, in worker processes (2 on a 2-core CPU)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display

from prunestab import analysis, claims, plots

runs = analysis.open_figure("figA1", profile, 1, device, data, store, jobs)
(run,) = runs
images = analysis.training_batch(run.config, data)
before = analysis.normalized_bn_activations(analysis.initial_model(run.config), images)
trained = analysis.trained_model(run.config, analysis.default_store(store, profile))
after = analysis.normalized_bn_activations(trained, images)

# %% tags=["hide-input"]
fig = plots.bn_histograms(before, after)
fig.suptitle(f"Figure A1 ({profile} profile): VGG19's last eight BN layers", y=1.01)
plt.show()

# %% tags=["hide-input"]
ks_before, ks_after = claims.ks_distances(before), claims.ks_distances(after)
rows = ["| layer | KS before | KS after |", "|---|---|---|"]
rows += [
    f"| {name} | {b:.3f} | {a:.3f} |"
    for (name, _), b, a in zip(before, ks_before, ks_after, strict=True)
]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## The paper's claims beside ours

# %% tags=["hide-input"]
found = claims.figA1(ks_before, ks_after, profile)
claims.save(analysis.default_store(store, profile), profile, "figA1", found)
display(HTML(claims.html_table(found)))
