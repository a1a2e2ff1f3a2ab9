"""From a figure's grid to the quantities its plot shows, through the run store.

Notebooks call :func:`ensure_runs` (computes only what the store lacks, then returns
every run of the figure with its result), and then the small functions here to get the
per-run points, the per-epoch curves and the provenance line each figure states.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
import torch

from prunestab.book import plots
from prunestab.config import RunConfig, config_hash
from prunestab.data.files import DatasetVariantWarning
from prunestab.paper import registry
from prunestab.paper.profiles import default_store
from prunestab.pruning import EmptyEventsWarning
from prunestab.runs import Run, by_label, curves, nan_if_none, points, unique_runs, value_at_epoch
from prunestab.stats import Correlation, pearson
from prunestab.store import RunStore
from prunestab.sweep.runner import DataCache, execute_many, is_stored
from prunestab.training import probe

__all__ = [
    "Run",
    "by_label",
    "curves",
    "default_store",
    "ensure_runs",
    "instability_points",
    "last_event_recovery",
    "monte_carlo_expected_relu",
    "open_figure",
    "points",
    "provenance",
    "provenance_markdown",
    "stored_probe",
    "unique_runs",
    "value_at_epoch",
]

#: Fewer runs than this give no correlation (its Fisher interval is uninformative).
MIN_CORRELATION_RUNS = 5


def ensure_runs(
    figure: str,
    profile: str,
    seeds: int | None = None,
    device: str = "cpu",
    data: str | os.PathLike | None = None,
    store: str | os.PathLike | RunStore | None = None,
    labels: Iterable[str] | None = None,
    progress: bool | None = False,
    batch_seeds: bool | None = None,
    jobs: int = 1,
    report: Callable[[str], None] | None = None,
) -> list[Run]:
    """Every run of ``figure`` at ``profile`` (only ``labels``, if given), computing missing ones.

    Runs shared with other figures, or already computed, are read from the store. When
    some must be computed, ``report`` gets one line as each finishes (runs done / to do,
    time so far and left); ``None`` sends them to ``prunestab book``'s terminal when it
    runs the chapter (never onto the page), else to stderr.
    ``batch_seeds`` trains each configuration's missing seeds side by side as one model
    (``prunestab.training.batched``); ``None`` does so on GPUs, where it pays, unless ``jobs`` > 1
    asks for that many worker processes instead (the faster choice on CPUs).
    """
    if batch_seeds is None:
        batch_seeds = device.startswith("cuda") and jobs == 1
    runs_store = store if isinstance(store, RunStore) else default_store(store, profile)
    spec = registry.figure(figure)
    grid = spec.configs(profile, seeds, device)
    if labels is not None:
        wanted = set(labels)
        unknown = wanted - {c.label for c in grid}
        if unknown:
            allowed = ", ".join(sorted({c.label for c in grid}))
            raise ValueError(f"labels {sorted(unknown)} are not in {figure}; allowed: {allowed}")
        grid = [c for c in grid if c.label in wanted]
    cache = DataCache(data)
    distinct = {config_hash(c): c for c in grid}.values()
    missing = sum(not is_stored(runs_store, c, spec.keeps_weights) for c in distinct)
    counter = RunsProgress(f"{figure} ({profile})", missing, jobs, report) if missing else None
    with warnings.catch_warnings():
        # The dataset variant is stated by provenance_markdown, beside the results.
        warnings.simplefilter("ignore", DatasetVariantWarning)
        results = execute_many(
            grid,
            runs_store,
            cache,
            batch_seeds=batch_seeds,
            jobs=jobs,
            profile=profile,
            progress=progress,
            keep_model=lambda config: spec.keeps_weights,
            on_result=None if counter is None else counter.on_result,
        )
    runs = [Run(config, result) for config, result in zip(grid, results, strict=True)]
    return runs


class RunsProgress:
    """Lines like ``fig1 (quick): 3/12 runs computed, 4.1 min so far, about 12.3 min
    left`` as a sweep's runs finish (the estimate: mean time per run so far)."""

    def __init__(
        self,
        what: str,
        total: int,
        jobs: int = 1,
        report: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.total, self.done = what, total, 0
        self.report = report or _to_terminal
        self.clock = clock
        self.started = clock()
        self.report(f"{what}: computing {total} missing run(s) ({jobs} at a time)")

    def on_result(self, config: RunConfig, result: dict, computed: bool) -> None:
        if not computed:
            return
        self.done += 1
        elapsed = self.clock() - self.started
        left = elapsed / self.done * (self.total - self.done)
        self.report(
            f"{self.what}: {self.done}/{self.total} runs computed ({config.display_label()}, "
            f"seed {config.seed}), {elapsed / 60:.1f} min so far, about {left / 60:.1f} min left"
        )


#: A file that ``prunestab book`` names for the chapters' progress lines (it prints them
#: as they come), so that they reach its terminal and never the pages.
PROGRESS_ENV_VAR = "PRUNESTAB_PROGRESS_FILE"


def _to_terminal(line: str) -> None:
    """Under ``prunestab book``, append to its progress file; else write to stderr (in
    Jupyter: the cell's output)."""
    path = os.environ.get(PROGRESS_ENV_VAR)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")
        return
    print(line, file=sys.stderr, flush=True)


def open_figure(
    figure: str,
    profile: str,
    seeds: int | None = None,
    device: str = "cpu",
    data: str | os.PathLike | None = None,
    store: str | os.PathLike | RunStore | None = None,
    jobs: int = 1,
    labels: Iterable[str] | None = None,
) -> list[Run]:
    """A chapter's opening: :func:`ensure_runs` of ``figure``, then its provenance shown.

    Every notebook starts with this one call after its parameters cell (the book's
    plotting style is set too), so what produced a chapter's numbers is always stated
    first.
    """
    from IPython.display import Markdown, display  # the book's extra, not the library's

    plots.style()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptyEventsWarning)
        runs = ensure_runs(figure, profile, seeds, device, data, store, labels=labels, jobs=jobs)
    display(Markdown(provenance_markdown(runs, profile)))
    empty = list(dict.fromkeys(str(w.message) for w in caught if w.category is EmptyEventsWarning))
    for w in caught:
        if w.category is not EmptyEventsWarning:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if empty:
        display(
            Markdown(
                "**Pruning epochs that remove nothing** (a narrow layer at this profile has "
                "fewer units to remove than the schedule has events):\n\n"
                + "\n".join(f"- {m}" for m in empty)
            )
        )
    return runs


def provenance(runs: Iterable[Run]) -> dict:
    """Which profile, dataset copy, devices and software produced these runs."""
    runs = list(runs)
    results = [run.result for run in runs]
    return {
        "runs": len(runs),
        "distinct_configs": len({config_hash(run.config.replace(seed=0)) for run in runs}),
        "seeds": sorted({run.config.seed for run in runs}),
        "profiles": sorted({str(r.get("profile")) for r in results}),
        "dataset_variants": sorted({r["dataset"]["variant"] for r in results}),
        "dataset_roots": sorted({r["dataset"]["root"] for r in results}),
        "devices": sorted({r["device"] for r in results}),
        "torch": sorted({r["environment"]["torch"] for r in results}),
        "train_hours": sum(r.get("train_seconds", 0.0) for r in results) / 3600,
        "model": sorted({run.config.model for run in runs}),
        "width": sorted({run.config.width for run in runs}),
        "train_images": sorted({r["dataset"]["n_train"] for r in results}),
        "test_images": sorted({r["dataset"]["n_test"] for r in results}),
        "epochs": sorted({run.config.epochs for run in runs}),
    }


def _listed(values) -> str:
    """``[a]`` -> ``a``; ``[a, b, c]`` -> ``a, b and c``."""
    text = [str(v) for v in values]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} and {text[-1]}"


def provenance_markdown(runs: Iterable[Run], profile: str) -> str:
    """The sentence each notebook opens its results with."""
    p = provenance(runs)
    variant = ", ".join(p["dataset_variants"])
    note = (
        " (the JPEG re-encoded offline copy, or another copy whose checksums differ from "
        "the official files; the offline copy's decoded pixels differ from the official "
        "ones by 5.8/255 on average, PSNR 30.5 dB; its effect on accuracy is unmeasured)"
        if "modified" in p["dataset_variants"]
        else ""
    )
    described = {
        "smoke": "**smoke** profile: a plumbing check with a tiny model and data; "
        "its numbers say nothing about the paper",
        "quick": "**quick** profile: a reduced, CPU-sized version of the paper's setting",
        "paper": "**paper** profile: Appendix A.3's setting",
    }
    names = [name.strip() for name in profile.split(",") if name.strip()]
    if len(names) == 1:
        scale = described.get(names[0], f"**{names[0]}** profile")
    else:  # a chapter over several profiles (the budget study)
        listed = [f"**{name}**" for name in names]
        scale = f"profiles {', '.join(listed[:-1])} and {listed[-1]}"
    widths = (
        f"width {p['width'][0]}, " if len(p["width"]) == 1 else f"widths {_listed(p['width'])}; "
    )
    runs = f"{p['runs']} run" + ("s" if p["runs"] != 1 else "")
    configs = f"{p['distinct_configs']} configuration" + ("s" if p["distinct_configs"] != 1 else "")
    seeds = f"seed {p['seeds'][0]}" if len(p["seeds"]) == 1 else f"seeds {_listed(p['seeds'])}"
    return (
        f"Results below come from the {scale}. {runs} stored ({configs}, {seeds}), "
        f"models {', '.join(p['model'])} at {widths}"
        f"{_listed(p['train_images'])} training and "
        f"{', '.join(map(str, p['test_images']))} test images, "
        f"{', '.join(map(str, p['epochs']))} epochs; CIFAR-10 variant: {variant}{note}; "
        f"computed on {', '.join(p['devices'])} with torch {', '.join(p['torch'])} "
        f"in {p['train_hours']:.2f} hours of recorded run time (each run's wall-clock "
        "time from start to end, evaluation included)."
    )


def stored_probe(run: Run, store: RunStore) -> dict:
    """What was measured on ``run``'s final weights (``prunestab.training.probe``), as stored beside
    its result: :func:`ensure_runs` stores it for the runs that keep one.

    Raises:
        FileNotFoundError: no probe is stored for this run (the message says how to make it).
        ValueError: the stored probe has another layout version than this code reads.
    """
    found = store.load_probe(run.config)
    if found is None:
        raise FileNotFoundError(
            f"no probe.json in {store.run_dir(run.config)}: run the chapter's notebook (or "
            "prunestab book), which measures it from the kept weights or a retrain"
        )
    if found.get("version") != probe.VERSION:
        raise ValueError(
            f"{store.probe_path(run.config)} has layout version {found.get('version')!r}; "
            f"this code reads {probe.VERSION}"
        )
    return found


def monte_carlo_expected_relu(
    gamma: float, beta: float, samples: int = 200_000, seed: int = 0
) -> tuple[float, float]:
    """Monte Carlo estimate of E[ReLU(M)], M ~ N(beta, gamma^2), and its standard error.

    The check of Appendix A.1's closed form that the E[BN] notebook plots.
    """
    generator = torch.Generator().manual_seed(seed)
    draws = beta + abs(gamma) * torch.randn(samples, generator=generator, dtype=torch.float64)
    relu = draws.clamp(min=0)
    return float(relu.mean()), float(relu.std() / samples**0.5)


def instability_points(
    runs: Iterable[Run],
    accuracy: str = "best_test_acc_after_pruning",
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], Correlation | None]:
    """Figure 1 right: per-run (mean instability, final accuracy) by label, pruned runs only,
    and Pearson's r over all of them (``None`` when fewer than 3 varying points)."""
    # A run listed under two labels (two rates that coincide at a small profile) counts once.
    pruned = [r for r in unique_runs(runs) if r.config.pruning is not None]
    groups = {
        label: points(members, "mean_instability", accuracy)
        for label, members in by_label(pruned).items()
    }
    if not groups:
        return groups, None
    x = np.concatenate([x for x, _ in groups.values()])
    y = np.concatenate([y for _, y in groups.values()])
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < MIN_CORRELATION_RUNS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return groups, None
    return groups, pearson(x, y)


def last_event_recovery(runs: Iterable[Run]) -> dict[str, dict[str, float]]:
    """Per label, means over pruned runs of the last pruning event and what followed.

    ``epoch`` (0-based) of the run's last pruning event; test accuracy just before
    (``pre``) and after (``post``) it; ``best_after`` and ``final`` test accuracy from
    that epoch on; ``steps_after``, the training steps between that event and the end.
    How far a run climbs back after its last, often largest, event is what lets unstable
    pruning end with better accuracy (Section 4.1: "the network recovers to higher
    performance within a few epochs").
    """
    table: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        records = run.result["epochs"]
        pruned = [r for r in records if r.get("pruned")]
        if not pruned:
            continue
        last = pruned[-1]
        after = [r["test_acc"] for r in records if r["epoch"] >= last["epoch"]]
        data = run.config.data
        n = run.result["dataset"]["n_train"]
        per_epoch = -(-min(n, data.epoch_images or n) // run.config.optimizer.batch_size)
        row = table.setdefault(run.label, defaultdict(list))
        row["epoch"].append(last["epoch"])
        row["pre"].append(nan_if_none(last.get("pre_test_acc")))
        row["post"].append(last["test_acc"])
        row["best_after"].append(max(after))
        row["final"].append(records[-1]["test_acc"])
        row["steps_after"].append(per_epoch * (len(records) - 1 - last["epoch"]))
    return {label: {k: float(np.mean(v)) for k, v in row.items()} for label, row in table.items()}
