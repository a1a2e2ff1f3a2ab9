"""The claims page's data: each figure's claims decided on its runs, recorded per
profile, and read back.

The rows themselves (wording, the paper's report, the rule) belong to the figure
modules of ``prunestab.paper`` and are listed by ``prunestab.paper.registry``; what a
claim is, in ``prunestab.paper.claim``; the three verdicts and their error rates, in
``prunestab.verdicts`` (stated on the claims page). Each notebook computes its figure's
claims with :func:`evaluate` and records them with :func:`save`; the claims page reads
them all with :func:`load` and shows them with ``prunestab.book.tables``.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from prunestab.paper.budget import CENTRAL_PROFILES
from prunestab.paper.claim import BEST_AFTER, LAST_EPOCH, MEASURES, Claim, ClaimSpec
from prunestab.paper.profiles import BUDGET_PROFILES
from prunestab.paper.registry import CLAIMS
from prunestab.runs import Run
from prunestab.store import RunStore, write_json_atomic
from prunestab.verdicts import CONTRADICTED, INCONCLUSIVE, REPRODUCED, VERDICTS

__all__ = [
    "BEST_AFTER",
    "CLAIMS",
    "CONTRADICTED",
    "INCONCLUSIVE",
    "LAST_EPOCH",
    "MEASURES",
    "REPRODUCED",
    "VERDICTS",
    "Claim",
    "ClaimSpec",
    "claim_label",
    "claims_path",
    "evaluate",
    "figure_title",
    "load",
    "save",
]


def evaluate(figure: str, runs: Sequence[Run], profile: str) -> list[Claim]:
    """Every claim of ``figure`` decided on ``runs``.

    Args:
        figure: the figure's registry name.
        runs: its runs (``analysis.ensure_runs``).
        profile: their profile.

    Returns:
        The decided claims in the registry's order; a claim whose runs give no evidence
        (none of the groups it compares is there) is left out.
    """
    decided = (spec.decide(runs, profile) for spec in CLAIMS if spec.figure == figure)
    return [claim for claim in decided if claim is not None]


def claims_path(store: RunStore, profile: str) -> Path:
    """Where ``profile``'s recorded claims live in ``store``: ``claims/<profile>.json``."""
    return store.root / "claims" / f"{profile}.json"


def save(
    store: RunStore, profile: str, figure: str, claims: Sequence[Claim], central: bool = False
) -> Path | None:
    """Record a figure's claims (replacing that figure's earlier ones) for the claims page.

    At a budget profile (``profiles.BUDGET_PROFILES``) only the protocol's central
    verdicts are recorded (``central=True``: the budget chapter, once the figure's grid in
    ``paper.budget.CENTRAL_GRIDS`` is complete at ``paper.budget.CENTRAL_PROFILES``). A
    figure's own notebook run there, on its own grid or before the grid is complete, is
    not recorded, so it can neither fill a cell the protocol leaves out nor replace a
    central verdict.

    Returns:
        The claims file written, or ``None`` (said on stderr) where nothing is recorded.
    """
    if profile in BUDGET_PROFILES and not (central and CENTRAL_PROFILES.get(figure) == profile):
        print(
            f"prunestab: {figure}'s verdicts at {profile} are not recorded for the claims "
            "page: at the budget profiles the protocol (book/budget.md) decides only the "
            "central claims, in the budget-study chapter.",
            file=sys.stderr,
        )
        return None
    path = claims_path(store, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    everything = json.loads(path.read_text()) if path.exists() else {}
    everything[figure] = [asdict(c) for c in claims]
    write_json_atomic(path, everything)
    return path


def load(store: RunStore, profile: str) -> dict[str, list[Claim]]:
    """``profile``'s recorded claims, by figure (empty where none are recorded)."""
    path = claims_path(store, profile)
    if not path.exists():
        return {}
    stored = json.loads(path.read_text())
    return {fig: [_claim(c) for c in cs] for fig, cs in stored.items()}


def _claim(stored: dict) -> Claim:
    """A recorded claim (older records lack power, bound and parts: their defaults)."""
    parts = tuple(tuple(part) for part in stored.pop("parts", ()))
    return Claim(**stored, parts=parts)


#: The measure a claim's wording ends with, as a short tag for plots and one-line cells.
MEASURE_TAGS = {
    "(last-epoch accuracy)": "last epoch",
    "(best accuracy after the last pruning event)": "best after last event",
}


def figure_title(figure: str) -> str:
    """A figure's registry name as a reader says it.

    >>> figure_title("fig1"), figure_title("figA2")
    ('Figure 1', 'Figure A2')
    """
    return re.sub(r"^fig", "Figure ", figure)


def claim_label(claim: Claim, width: int = 60, before_measure: str = " ", at: str = "") -> str:
    """A claim in one short line: its figure (``at`` a scale, where given), its wording
    shortened to ``width`` characters, and (after ``before_measure``) the accuracy
    measure where the wording names one.

    >>> c = Claim("fig5", "Zeroing once is not enough: prune_L is more accurate "
    ...     "(last-epoch accuracy)", "p", "o", "inconclusive", "quick", "3 vs 3")
    >>> claim_label(c, 40)
    'Figure 5: Zeroing once is not enough: [...] (last epoch)'
    """
    wording, tag = claim.claim, ""
    for ending, short in MEASURE_TAGS.items():
        if wording.endswith(ending):
            wording, tag = wording.removesuffix(ending).rstrip(), f"{before_measure}({short})"
    shortened = textwrap.shorten(wording, width=width, placeholder=" [...]")
    where = f" at {at}" if at else ""
    return f"{figure_title(claim.figure)}{where}: {shortened}{tag}"
