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
# # The Generalization-Stability Tradeoff in Neural Network Pruning
#
# **The paper's thesis** (Bartoldson, Morcos, Barbu and Erlebacher): pruning's benefit to
# generalization is better explained by the **instability** it causes (the drop in test
# accuracy at a pruning event) than by the parameters it removes. Runs whose pruning was
# more unstable end more accurate, and noise as disruptive as pruning but impermanent
# gives the same benefit. This book re-runs the paper's figures on CPUs and sets each of
# its claims beside what our runs measured, with a verdict.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # the profile whose verdicts lead; the budget profiles are shown beside it
store = None  # run store folder; None: results/ in the repository

# %% tags=["remove-input"]
import matplotlib.pyplot as plt
from IPython.display import HTML, display

from prunestab.book import frontpage

display(HTML(frontpage.answer_html(profile, store)))
forest = frontpage.central_forest(profile, store)
if forest is not None:
    plt.show()
display(HTML(frontpage.scale_html(profile, store)))

# %% [markdown]
# The figure: each central claim's estimate (dot) and 95% interval (line), against zero,
# coloured by its verdict; the grey band is ±1 point, the equivalence margin and the
# effect at which a difference's power is stated. Every claim, at every profile, is on
# the [claims page](claims).
#
# ```{admonition} What the data support, in words (written 2026-12-06 from the stored runs)
# :class: dropdown
# - **Figure 1 at 10,400 steps, width 0.25:** every pruned configuration ended below
#   unpruned (prune$_L$ 13% − unpruned −0.85 points, 95% interval −1.41 to −0.29): the
#   paper's ordering is contradicted at this scale, as a model too small to lose filters
#   would predict.
# - **Twice the width (the width test, 25 runs):** prune$_L$ 13% − unpruned is −0.02
#   points (−0.86 to +0.83): any advantage of prune$_L$ there is below +0.83 points, and a
#   true 1-point advantage would have been found 67% of the time. Whether the width-0.25
#   deficit was capacity could not be told: the width × pruning interaction is +0.84
#   points, −0.08 to +1.75: anything from a 0.08-point widening of the gap to a
#   1.75-point closing is consistent with the runs, and a true 1-point interaction would
#   have been found 57% of the time.
# - **Instability and accuracy at 10,400 steps:** over the 4 configuration means, the
#   slope of accuracy on instability is at most +0.757 points per point of instability
#   (95%; r = +.39 over the 4 means), and the rule finds the paper's r = .84 there
#   only 32% of the time: the data neither support nor rule out the paper's
#   correlation. The rate study (13 configurations, pre-registered with 98% power at
#   the paper's r), the powered test, has all 27 runs stored: no relation could be
#   told (r = +.46 over the 13 configuration means; slope +0.13 [-0.11, +0.37] points
#   of accuracy per point of instability, 95%), with 92% power at the paper's r = .84:
#   any benefit of instability is below +0.37 points of accuracy per point of
#   instability, and the slope the paper's r would give on this design, +1.30, lies
#   above that interval.
# - **Figure 5 at 2,600 steps:** prune$_L$ − unpruned is −0.19 points (−0.88 to +0.50):
#   any benefit of pruning there is below +0.50 points, and a true 1-point benefit would
#   have been found 83% of the time. The claims that noise matches pruning compare noise
#   with that benefit, so they cannot be decided at this budget, whatever the window; the
#   two that compare noise with prune$_L$ directly are inconclusive, with 59% and at most
#   78% power at +1 point (the table above).
# ```

# %% [markdown]
# ## The chapters
#
# Each chapter is one section of the paper: its argument, the figure, the code that
# produced it, and the paper's claims beside what our run measured. The paper's claims and
# our findings are separate columns.

# %% tags=["remove-input"]
display(HTML(frontpage.chapters_html(profile, store)))

# %% tags=["remove-input"]
display(
    HTML(
        "<details><summary><strong>Verdicts per profile</strong></summary>"
        + frontpage.findings_html(profile, store)
        + "</details>"
    )
)
if profile != "smoke":
    display(
        HTML(
            "<details><summary><strong>The training-budget study and its follow-ups"
            "</strong></summary>" + frontpage.budget_html(profile, store) + "</details>"
        )
    )

# %% [markdown]
# The reference pages:
#
# - [Claims](claims): every claim with its verdict, per profile, as a forest plot and a table.
# - [Protocol](budget) and [budget study](../notebooks/budget_study) (Sections 4.1, 4.4): at
#   which training budget the tradeoff appears, pre-registered.
# - [The authors' implementation](authors_code): what the authors' code did where the
#   paper is silent, and what we follow.
#
# Each chapter states at its top which **profile** produced its numbers (`smoke`: a
# plumbing check; `quick`: a CPU-sized reduction; `paper`: Appendix A.3 exactly) and which
# copy of CIFAR-10 (the official files, or a modified copy such as the JPEG re-encoding used
# on machines without internet). [How to reproduce](reproduce) reruns any of it.
