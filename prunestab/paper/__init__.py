"""The paper's layer: one module per figure, above a toolkit that knows no figure.

Each figure module (``ebn``, ``fig1`` .. ``fig5``, ``figA1``, ``figA2``, ``budget``)
owns everything about its figure: its grid of runs, its labels, the paper's numbers,
its claim specs, its chapter and its plot defaults. ``registry`` lists them; the claims
page, the explorers, the book runner and the CLI read the registry, never a figure
module's internals. ``common`` holds what several figures share (Appendix A.3's
schedules, the run labels, the builders of a run), ``claim`` the vocabulary of a claim,
``profiles`` the scales at which every figure exists (``smoke``, ``quick``, ``paper`` and
the training-budget profiles).

Adding a figure means adding one module here (with its ``FIGURE`` and ``CHAPTER``), one
entry in ``registry``, and one chapter notebook.
"""
