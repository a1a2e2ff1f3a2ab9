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
# # The Generalization-Stability Tradeoff in Neural Network Pruning
#
# This book is a re-runnable companion to *The Generalization-Stability Tradeoff in Neural
# Network Pruning* by Brian R. Bartoldson, Ari S. Morcos, Adrian Barbu and Gordon
# Erlebacher. Each chapter is one section of the paper: its argument, the figure, the code
# that produced the figure, and the paper's claim set beside what our run measured, with a
# verdict.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # the profile whose verdicts lead; the budget profiles are shown beside it
store = None  # run store folder; None: results/ in the repository

# %% tags=["remove-input"]
from IPython.display import HTML, display

from prunestab import frontpage

display(HTML(frontpage.findings_html(profile, store)))
frontpage.budget_figure(profile, store)

# %% [markdown]
# The paper's thesis: pruning's benefit to generalization is better explained by the
# **instability** it causes than by the parameters it removes. A pruning event's
# instability is the drop in test accuracy it causes,
#
# $$\text{instability}_i = |t_\text{pre} - t_\text{post}|,$$
#
# and across pruning algorithms, targets and rates, runs whose pruning was more unstable
# end with higher test accuracy; noise that is as disruptive as pruning but impermanent
# gives the same benefit.
#
# | chapter | paper | what it shows |
# |---|---|---|
# | [E[BN]](../notebooks/ebn_derivation) | Sec. 3.1.1, App. A.1 | the expected post-ReLU magnitude of a BN filter, derived and checked |
# | [Figure 1](../notebooks/fig1_instability) | Sec. 4.1 | instability correlates with final accuracy (VGG11, ResNet18) |
# | [Figure 2](../notebooks/fig2_deciles) | Sec. 4.2 | pruning larger weights gives smaller generalization gaps (Conv4) |
# | [Figure 3](../notebooks/fig3_resnet_unstructured) | Sec. 4.2 | structured vs unstructured prune$_L$ on ResNet18 |
# | [Figure 4](../notebooks/fig4_rates) | Sec. 4.3 | higher iterative pruning rates give more instability |
# | [Figure 5](../notebooks/fig5_noise) | Sec. 4.4 | impermanent zeroing noise mimics pruning |
# | [Figure A1](../notebooks/figA1_bn_normality) | App. A.1 | how normal BN activations are, before and after training |
# | [Figure A2](../notebooks/figA2_epochwise) | App. A.2 | epoch-wise instability of E[BN] vs $\ell_2$ pruning |
# | [Claims](claims) | all | every claim with its verdict, per profile |
# | [Protocol](budget) and [budget study](../notebooks/budget_study) | Sec. 4.1, 4.4 | at which training budget the tradeoff appears, pre-registered |
# | [The authors' implementation](authors_code) | all | what the authors' code did where the paper is silent, and what we follow |
#
# Each chapter states at its top which **profile** produced its numbers (`smoke`: a
# plumbing check; `quick`: a CPU-sized reduction; `paper`: Appendix A.3 exactly) and which
# copy of CIFAR-10 (the official files, or a modified copy such as the JPEG re-encoding used
# on machines without internet). [How to reproduce](reproduce) reruns any of it.
