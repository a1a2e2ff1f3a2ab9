"""Simulated error rates of the verdict rules, as quoted on the claims page and the
protocol page (2,000 null studies per setting; seeds fixed, so a rerun prints the same).

    python benchmarks/verdict_error_rates.py

Prints, per setting, the share of null studies called "reproduced" and "contradicted":
TOST with a true difference at the margin; the grouped correlation and the run-level one
it replaced, at the budget study's 4 configurations x 5 seeds (instability as at
steps10400) over configuration effects of 0 to 1 point and run SDs of 0.3 to 1; the gated
match with and without a pruning effect; the width x pruning interaction. The bounds are
asserted by tests/test_verdicts.py; this script prints the numbers the pages quote.
"""

import numpy as np

from prunestab import grouped, verdicts

TRIALS = 2000
MEANS = np.array([0.28, 1.72, 2.82, 0.35])  # mean instability per configuration
SDS = np.array([0.02, 0.22, 0.54, 0.05])
SEEDS = 5
GROUPS = np.repeat(np.arange(MEANS.size), SEEDS)


def rates(decide, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    out = [decide(rng) for _ in range(TRIALS)]
    return out.count(verdicts.REPRODUCED) / TRIALS, out.count(verdicts.CONTRADICTED) / TRIALS


def study(rng, between: float, run_sd: float):
    x = rng.normal(np.repeat(MEANS, SEEDS), np.repeat(SDS, SEEDS))
    effect = rng.normal(0, between, MEANS.size)
    return x, 74 + np.repeat(effect, SEEDS) + rng.normal(0, run_sd, x.size)


def main() -> None:
    for n in (3, 5, 10):
        r = rates(
            lambda g, n=n: (
                verdicts.equivalence(g.normal(61, 1, n), g.normal(60, 1, n), 1.0).verdict
            ),
            300 + n,
        )
        print(f"TOST, true difference at the margin, n = {n}: reproduced {r[0]:.1%}")
    for between in (0.0, 0.2, 0.5, 1.0):
        for sd in (0.3, 0.6, 1.0):
            seed = int(1000 * between + 10 * sd)
            new = rates(
                lambda g, b=between, sd=sd: (
                    grouped.grouped_correlation(*study(g, b, sd), GROUPS).verdict
                ),
                seed,
            )
            old = rates(
                lambda g, b=between, sd=sd: verdicts.correlation(*study(g, b, sd)).verdict, seed
            )
            print(
                f"correlation, between {between:g}, run SD {sd:g}: grouped {new[0]:.1%} / "
                f"{new[1]:.1%}, run-level {old[0]:.1%} / {old[1]:.1%} (reproduced / contradicted)"
            )
    for effect, sd in ((0.0, 0.5), (0.0, 0.1), (3.0, 0.5)):
        shift = 1.0 if effect else 0.0
        r = rates(
            lambda g, effect=effect, shift=shift, sd=sd: (
                verdicts.matches_effect(
                    g.normal(66 - effect + shift, sd, 5),
                    g.normal(66 - effect, sd, 5),
                    g.normal(66, sd, 5),
                    1.0,
                ).verdict
            ),
            20 + int(effect),
        )
        print(f"gated match, pruning effect {effect:g}, run SD {sd:g}: reproduced {r[0]:.1%}")
    r = rates(
        lambda g: (
            verdicts.interaction(
                g.normal(73, 1, 5), g.normal(74, 0.3, 5), g.normal(72, 0.6, 5), g.normal(73, 0.3, 5)
            ).verdict
        ),
        30,
    )
    print(f"interaction, none true: reproduced {r[0]:.1%}, contradicted {r[1]:.1%}")
    run_sds, runs = [0.5] * MEANS.size, [SEEDS] * MEANS.size
    slope = grouped.slope_for_correlation(MEANS, run_sds, runs, 0.84, 0.5)
    power = grouped.grouped_power(MEANS, run_sds, runs, slope, 0.5)
    print(f"grouped rule's power at the paper's r = .84, 4 configurations x 5 runs: {power:.0%}")


if __name__ == "__main__":
    main()
