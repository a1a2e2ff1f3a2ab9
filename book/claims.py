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
# # The paper's claims, reproduced or not
#
# Every claim of the paper's figures, with the paper's numbers, ours (with confidence
# intervals) and a verdict decided by the fixed rules of `prunestab.claims`: an ordering
# is reproduced when the bootstrap interval of the difference of means lies on the
# claimed side of zero, a correlation when Pearson's $r$ has the claimed sign with
# $p < .05$, and an equivalence when the interval lies within $\pm1$ point. Each figure's
# notebook records its claims when it runs; this page collects them.

# %% tags=["parameters", "remove-cell"]
profile = "smoke"
store = None

# %%
from IPython.display import Markdown, display

from prunestab import analysis, claims

ORDER = ["fig1", "fig2", "fig3", "fig4", "fig5", "figA1", "figA2"]
recorded = claims.load(analysis.default_store(store), profile)
found = [c for figure in ORDER for c in recorded.get(figure, [])]
missing = [figure for figure in ORDER if figure not in recorded]
counts = {v: sum(c.verdict == v for c in found) for v in (claims.REPRODUCED, claims.NOT_REPRODUCED, claims.INCONCLUSIVE)}  # fmt: skip
summary = (
    f"Profile **{profile}**: {len(found)} claims; "
    + ", ".join(f"{n} {v}" for v, n in counts.items())
    + "."
)
if profile == "smoke":
    summary += (
        " The smoke profile checks the plumbing only: its verdicts say nothing about the paper."
    )
if profile == "quick":
    summary += (
        " The quick profile keeps the paper's schedules, rates and epoch axis but trains each"
        " run for about 1% of the paper's optimizer steps, at a quarter of its width (Conv4: half), on a"
        " tenth of its images ([How to reproduce](reproduce)): each verdict is a verdict at"
        " that scale."
    )
if missing:
    summary += f" Not yet run at this profile: {', '.join(missing)}."
display(Markdown(summary))
display(Markdown(claims.markdown_table(found) if found else "No claims recorded yet."))
