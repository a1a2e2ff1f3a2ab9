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
# # E[BN]: the expected magnitude of a batch-normalised filter
#
# *Section 3.1.1 and Appendix A.1.* In a batch-normalised network a filter's weight norm
# does not scale its output: BatchNorm removes it, and the output's size is set by BN's
# affine parameters $\gamma$ and $\beta$. The paper therefore scores a filter by the
# expected value of its post-ReLU activation, estimated from $\gamma$ and $\beta$ alone.
#
# ## Derivation
#
# The feature map of a convolution followed by BN is
#
# $$M = \gamma\,\mathrm{BN}(W * x) + \beta .$$
#
# If the dot products in $W * x$ satisfy the central limit theorem, each normalised
# activation is standard normal, so $M_{ij} \sim \mathcal{N}(\beta, \gamma^2)$ ($\gamma$ acts
# as a standard deviation; the appendix writes $\mathcal{N}(\beta, \gamma)$). After the ReLU,
# $R = \max\{0, M\}$, each $R_{ij}$ is $0$ with probability $\Phi(\lambda)$ and otherwise a
# draw from $\mathcal{N}(\beta, \gamma^2)$ truncated to $[l, r) = [0, \infty)$, whose mean is
#
# $$\mu = \gamma\,\frac{\phi(\lambda) - \phi(\rho)}{Z} + \beta, \qquad
#   \lambda = \frac{l - \beta}{\gamma} = -\frac{\beta}{\gamma},\quad
#   \rho = \frac{r - \beta}{\gamma} = \infty,\quad
#   Z = \Phi(\rho) - \Phi(\lambda) = 1 - \Phi(\lambda),$$
#
# with $\phi$ and $\Phi$ the standard normal density and distribution function. Hence
#
# $$\mathbb{E}[R_{ij}] \approx \Phi(\lambda)\cdot 0 + \bigl(1 - \Phi(\lambda)\bigr)\,\mu
#   = \gamma\,\phi(\lambda) + \beta\,\bigl(1 - \Phi(\lambda)\bigr).$$
#
# Since $\phi$ is even and $1 - \Phi(\lambda) = \Phi(-\lambda)$, with $\sigma = |\gamma|$,
#
# $$\boxed{\;\mathbb{E}[\mathrm{BN}] = \beta\,\Phi\!\left(\frac{\beta}{\sigma}\right)
#   + \sigma\,\phi\!\left(\frac{\beta}{\sigma}\right)\;}$$
#
# This closed form needs no division by $Z$, which underflows when $\beta \ll 0$, and has
# the limit $\max(\beta, 0)$ as $\gamma \to 0$. `prunestab.pruning.expected_bn_relu`
# computes it in float64 with `torch.special.ndtr`. E[BN] pruning is magnitude pruning
# with this score in place of the filter's $\ell_2$ norm.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # the published profile (smoke: tests; paper: GPUs): the trained VGG19 of the last section
seeds = None  # unused: one trained model suffices here
device = "cpu"
data = None  # CIFAR-10 folder; None: $PRUNESTAB_DATA or torchvision's download
store = None  # run store folder; None: results/ in the repository
jobs = 1  # runs computed at once, in worker processes (2 on a 2-core CPU)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch
from IPython.display import HTML, Markdown, display

from prunestab.book import analysis, plots, tables
from prunestab.pruning import expected_bn_relu

plots.style()

# %% [markdown]
# ## A numerical check against Monte Carlo
#
# For a grid of $(\gamma, \beta)$ the closed form is compared with the mean of 200,000
# draws of $\max\{0, \mathcal{N}(\beta, \gamma^2)\}$; $z$ is the difference in units of the
# Monte Carlo standard error (|z| < 3 is agreement).

# %% tags=["hide-input"]
rows = []
worst = 0.0
for gamma in (0.25, 0.5, 1.0, 2.0, -1.0):
    for beta in (-2.0, -0.5, 0.0, 0.5, 2.0):
        closed = expected_bn_relu(torch.tensor([gamma]), torch.tensor([beta])).item()
        mc, se = analysis.monte_carlo_expected_relu(gamma, beta)
        z = (closed - mc) / se if se > 0 else 0.0
        worst = max(worst, abs(z))
        rows.append([gamma, beta, f"{closed:.5f}", f"{mc:.5f}", f"{z:+.2f}"])
display(
    HTML(
        tables.html_table(
            ["gamma", "beta", "E[BN] closed form", "Monte Carlo", "z"],
            rows,
            "The closed form of E[BN] against a Monte Carlo estimate over a grid of BN"
            " scales and shifts (z: their difference in Monte Carlo standard errors).",
        )
    )
)
display(Markdown(f"Largest |z| over the grid: **{worst:.2f}**."))

# %% [markdown]
# ## The score surface
#
# E[BN] grows with $\beta$ and, for a given $\beta$, with $|\gamma|$; a negative $\beta$ with a
# small $|\gamma|$ gives a filter whose activations rarely pass the ReLU, which an
# $|\gamma|$-only score would not see.

# %% tags=["hide-input"]
gammas = np.linspace(0, 3, 121)
betas = np.linspace(-3, 3, 121)
G, B = np.meshgrid(gammas, betas)
surface = expected_bn_relu(torch.from_numpy(G), torch.from_numpy(B)).numpy()
fig, ax = plt.subplots(figsize=(6, 4.5))
mesh = ax.pcolormesh(G, B, surface, shading="auto", cmap="viridis")
ax.contour(G, B, surface, levels=[0.05, 0.25, 0.5, 1, 2], colors="white", linewidths=0.7)
fig.colorbar(mesh, label="E[BN]")
ax.set_xlabel(r"$|\gamma|$")
ax.set_ylabel(r"$\beta$")
ax.set_title("E[BN] over (|gamma|, beta); white: level sets")
plt.show()

# %% [markdown]
# ## E[BN] against $\ell_2$ on trained BN layers
#
# On the VGG19 trained for Figure A1 (final four convolutions), how similarly do the two
# scores rank filters? Both scores of every filter are read from the run's stored probe
# (`probe.json`, measured on the final weights), so nothing is trained to show them. A Spearman correlation near 1 would make E[BN] and $\ell_2$ pruning
# the same algorithm; the paper's Figures 4 and A2 show they are not.

# %% tags=["hide-input"]
runs = analysis.open_figure("figA1", profile, 1, device, data, store, jobs)
measured = analysis.stored_probe(runs[0], analysis.default_store(store, profile))
fig, axes = plt.subplots(1, len(measured["scores"]), figsize=(13, 3.2), squeeze=False)
for ax, layer in zip(axes[0], measured["scores"], strict=True):
    l2, ebn = np.asarray(layer["l2"]), np.asarray(layer["ebn"])
    rho = scipy.stats.spearmanr(l2, ebn).statistic
    ax.scatter(l2, ebn, s=6, alpha=0.6)
    ax.set_title(f"{layer['name']}: Spearman {rho:.2f}")
    ax.set_xlabel(r"$\ell_2$ norm of the filter")
axes[0, 0].set_ylabel("E[BN]")
fig.tight_layout()
plt.show()
display(HTML(tables.probe_provenance(measured, runs[0].summary["final_test_acc"])))
