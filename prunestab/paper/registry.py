"""The paper's figures and chapters, listed once: the claims page, the explorers, the
book runner and the CLI read them here.

>>> list(FIGURES)
['fig1', 'fig2', 'fig3', 'fig4', 'fig5', 'figA1', 'figA2', 'budget']
>>> [chapter.stem for chapter in CHAPTERS][:2]
['ebn_derivation', 'fig1_instability']
"""

from __future__ import annotations

from prunestab.config import RunConfig
from prunestab.paper import budget, ebn, fig1, fig2, fig3, fig4, fig5, figA1, figA2
from prunestab.paper.claim import ClaimSpec
from prunestab.paper.common import Chapter, Figure
from prunestab.paper.profiles import Profile

_MODULES = (ebn, fig1, fig2, fig3, fig4, fig5, figA1, figA2, budget)

#: Every figure with a grid of runs, by name (the CLI's ``FIGURE`` argument).
FIGURES: dict[str, Figure] = {m.FIGURE.name: m.FIGURE for m in _MODULES if hasattr(m, "FIGURE")}
#: Every chapter, in the book's order of execution.
CHAPTERS: tuple[Chapter, ...] = tuple(m.CHAPTER for m in _MODULES)
#: Every claim row of every figure, in figure order.
CLAIMS: tuple[ClaimSpec, ...] = tuple(spec for f in FIGURES.values() for spec in f.claims)


def figure(name: str) -> Figure:
    """The figure called ``name``.

    Raises:
        ValueError: no figure has that name (the message lists those that do).

    >>> figure("fig3").paper_seeds
    3
    """
    if name not in FIGURES:
        raise ValueError(f"figure={name!r}; allowed: {', '.join(FIGURES)}")
    return FIGURES[name]


def figure_grid(
    name: str, profile: str | Profile, seeds: int | None = None, device: str = "cpu"
) -> list[RunConfig]:
    """Every run of figure ``name`` at ``profile`` (:meth:`Figure.configs`).

    Raises:
        ValueError: an unknown figure or a bad ``seeds`` (the message names what is allowed).

    >>> len(figure_grid("fig1", "smoke", seeds=2))
    18
    """
    return figure(name).configs(profile, seeds, device)
