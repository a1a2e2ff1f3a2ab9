"""The E[BN] chapter (Section 3.1.1, Appendix A.1): the expected post-ReLU magnitude of a
BatchNorm filter, derived, checked by Monte Carlo, and read off Figure A1's trained
VGG19 (its stored probe). It decides no claim; the tests check the closed form against
references."""

from __future__ import annotations

from prunestab.paper.common import Chapter

CHAPTER = Chapter(
    "notebooks/ebn_derivation.ipynb",
    "E[BN]",
    "Sec. 3.1.1, App. A.1",
    "the expected post-ReLU magnitude of a BN filter has a closed form",
    computes=("figA1",),
    decides=None,
)
