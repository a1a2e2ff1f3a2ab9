"""Matplotlib figures in the paper's layout (the explorers are in ``prunestab.book.explorers``).

Every function draws on axes it is given (or returns a new figure) from arrays the
analysis produced; nothing here computes results. Error bands are bootstrapped
confidence intervals of the mean across runs (``stats.curve_ci``), as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from prunestab.paper.common import COLORS, Label
from prunestab.schedule import PruningSchedule
from prunestab.stats import Correlation, bootstrap_mean_ci, curve_ci


def color(label: str, index: int = 0) -> str:
    """The colour of ``label`` (``paper.common.COLORS``), else matplotlib's ``index``-th.

    >>> color("unpruned"), color("something else", 11)
    ('black', 'C1')
    """
    return COLORS.get(label, f"C{index % 10}")


def style() -> None:
    """Readable defaults for the book: larger text, light grid, no top/right spines."""
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "font.size": 10,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.fontsize": 8,
            "legend.frameon": False,
        }
    )


def curves_with_ci(
    ax: plt.Axes,
    groups: Mapping[str, np.ndarray],
    confidence: float = 0.95,
    start_epoch: int = 0,
) -> None:
    """Mean per-epoch curve of each group (``[runs, epochs]``) with its bootstrap band."""
    for i, (label, curves) in enumerate(groups.items()):
        if not 0 <= start_epoch < curves.shape[1]:
            raise ValueError(
                f"start_epoch={start_epoch} for {label!r}, whose runs have {curves.shape[1]} epochs; "
                f"allowed: 0 <= start_epoch < {curves.shape[1]}"
            )
        curves = curves[:, start_epoch:]
        epochs = np.arange(start_epoch, start_epoch + curves.shape[1]) + 1
        mean, low, high = curve_ci(curves, confidence)
        c = color(label, i)
        ax.plot(epochs, mean, color=c, lw=1.4, label=f"{label} (n={curves.shape[0]})")
        ax.fill_between(epochs, low, high, color=c, alpha=0.2, lw=0)
    ax.set_xlabel("epoch")


def noise_curves(
    rows: Mapping[str, Mapping[str, np.ndarray]], title: str, ylabel: str = "test accuracy (%)"
) -> plt.Figure:
    """Figure 5's layout: per row (one grid of runs, ``{row title: {label: [runs, epochs]}}``),
    zeroing (left) and Gaussian noise (right), each beside unpruned and prune_L, with the
    bootstrap band of the mean. A one-row mapping with an empty title is the paper's figure.
    """
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 4 * len(rows)), sharey=True, squeeze=False)
    for row_axes, (row, groups) in zip(axes, rows.items(), strict=True):
        for ax, kind in zip(row_axes, ("zeroing", "gaussian"), strict=True):
            shown = {
                k: v
                for k, v in groups.items()
                if k in (Label.UNPRUNED, Label.PRUNE_L) or k.startswith(kind)
            }
            curves_with_ci(ax, shown)
            ax.set_title(f"{row}: {kind}" if row else kind)
            ax.legend(loc="best")
        row_axes[0].set_ylabel(ylabel)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def instability_scatter(
    ax: plt.Axes,
    groups: Mapping[str, tuple[np.ndarray, np.ndarray]],
    correlation: Correlation | None,
    paper: str,
) -> None:
    """Per-run mean instability against final test accuracy, with the least-squares fit
    over the runs and their Pearson r in the title, descriptive only: the runs of one
    configuration are not independent, so the verdict (``grouped.grouped_correlation``)
    is decided on configuration means and no run-level p-value is shown."""
    xs, ys = [], []
    for i, (label, (x, y)) in enumerate(groups.items()):
        ax.scatter(x, y, s=22, color=color(label, i), label=label, alpha=0.85)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    if correlation is not None:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 50)
        ax.plot(grid, slope * grid + intercept, color="gray", lw=1, ls="--")
        text = (
            f"ours: r = {correlation.r:.2f} over {correlation.n} runs "
            "(descriptive; the verdict uses configuration means)"
        )
    else:
        text = "ours: too few varying runs for r"
    ax.set_title(f"{text}\npaper: {paper}", fontsize=8)
    ax.set_xlabel("mean instability (pp)")
    ax.set_ylabel("final test accuracy (%)")


def mean_bars(
    ax: plt.Axes,
    groups: Mapping[str, np.ndarray],
    confidence: float = 0.95,
    ylabel: str = "",
) -> None:
    """Mean of per-run values per group, with bootstrap CI error bars."""
    labels = list(groups)
    for i, label in enumerate(labels):
        values = groups[label]
        ci = bootstrap_mean_ci(values, confidence)
        ax.bar(i, ci.mean, color=color(label, i), alpha=0.8)
        ax.errorbar(
            i,
            ci.mean,
            yerr=[[max(ci.mean - ci.low, 0)], [max(ci.high - ci.mean, 0)]],
            color="black",
            capsize=3,
        )
        ax.scatter(np.full(len(values), i), values, s=8, color="black", zorder=3)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel(ylabel)


def decile_plot(
    ax: plt.Axes, deciles: np.ndarray, gaps: np.ndarray, title: str, confidence: float = 0.95
) -> None:
    """Figure 2: generalization gap per decile target, mean and bootstrap CI."""
    order = sorted(set(deciles.tolist()))
    means, lows, highs = [], [], []
    for d in order:
        ci = bootstrap_mean_ci(gaps[deciles == d], confidence)
        means.append(ci.mean)
        lows.append(ci.mean - ci.low)
        highs.append(ci.high - ci.mean)
    ax.errorbar(
        order, means, yerr=[np.maximum(lows, 0), np.maximum(highs, 0)], marker="o", capsize=3
    )
    ax.scatter(deciles, gaps, s=8, color="gray", alpha=0.6)
    ax.set_xticks(order, [f"D{d}" for d in order])
    ax.set_xlabel("pruning target (weight-magnitude decile)")
    ax.set_ylabel("generalization gap (train - test, pp)")
    ax.set_title(title)


def rate_plot(
    ax: plt.Axes,
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ylabel: str,
    baseline: float | None = None,
    confidence: float = 0.95,
) -> None:
    """Figure 4: a per-run quantity against the iterative pruning rate, one line per method."""
    for i, (label, (rates, values)) in enumerate(series.items()):
        rounded = np.round(np.asarray(rates, dtype=float), 4)  # one point per rate, runs grouped
        xs = sorted(set(rounded.tolist()))
        cis = [bootstrap_mean_ci(np.asarray(values)[rounded == x], confidence) for x in xs]
        means = [ci.mean for ci in cis]
        ax.plot(xs, means, marker="o", color=color(label, i), label=label)
        ax.fill_between(
            xs, [c.low for c in cis], [c.high for c in cis], color=color(label, i), alpha=0.15, lw=0
        )
    if baseline is not None:
        ax.axhline(baseline, color="black", ls=":", lw=1, label=Label.UNPRUNED)
    ax.set_xlabel("largest iterative pruning rate (%)")
    ax.set_ylabel(ylabel)


def bn_histograms(layers: Sequence[Mapping], bins: int, value_range: Sequence[float]) -> plt.Figure:
    """Figure A1: normalised BN activations per layer, before and after training, vs N(0,1).

    Args:
        layers: per layer, a mapping with ``name``, ``counts_before`` and ``counts_after``
            (histogram counts on ``bins`` equal bins over ``value_range``, as
            ``prunestab.training.probe`` stores them).
        bins: the number of bins.
        value_range: ``(low, high)`` of the bins.

    Returns:
        A figure with one row per layer: each histogram as a density (over the values
        inside the range), with the standard normal density drawn over it.
    """
    n = len(layers)
    fig, axes = plt.subplots(n, 2, figsize=(7, 1.4 * n), sharex=True, squeeze=False)
    low, high = value_range
    edges = np.linspace(low, high, bins + 1)
    grid = np.linspace(low, high, 200)
    normal = np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi)
    for row, layer in enumerate(layers):
        for col, key in enumerate(("counts_before", "counts_after")):
            counts = np.asarray(layer[key], dtype=float)
            density = counts / max(counts.sum(), 1.0) / np.diff(edges)
            ax = axes[row, col]
            ax.stairs(density, edges, fill=True, color="tab:blue", alpha=0.7)
            ax.plot(grid, normal, color="tab:orange", lw=1.2)
            ax.set_yticks([])
            ax.grid(False)
            if col == 0:
                name = layer["name"].replace("features.", "BN ")
                ax.set_ylabel(name, fontsize=7, rotation=0, ha="right")
    axes[0, 0].set_title("before training")
    axes[0, 1].set_title("after training")
    fig.tight_layout()
    return fig


def epochwise_instability(ax: plt.Axes, groups: Mapping[str, np.ndarray]) -> None:
    """Figure A2: per-epoch instability (mean over runs) on the pruning epochs."""
    for i, (label, curves) in enumerate(groups.items()):
        # Epochs without pruning are NaN in every run: their mean is NaN, not a warning.
        counted = np.sum(~np.isnan(curves), axis=0)
        mean = np.where(counted > 0, np.nansum(curves, axis=0) / np.maximum(counted, 1), np.nan)
        epochs = np.arange(1, mean.size + 1)
        keep = ~np.isnan(mean)
        ax.plot(
            epochs[keep], mean[keep], marker=".", ms=3, lw=0.8, color=color(label, i), label=label
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("instability (pp)")


def schedule_plot(
    ax_events: plt.Axes,
    ax_rate: plt.Axes,
    schedule: PruningSchedule,
    n_units: Sequence[int],
    layer_names: Sequence[str] | None = None,
) -> None:
    """A schedule's pruning events per layer (top) and per-event rate in % (bottom)."""
    names = layer_names or [f"layer {i + 1}" for i in range(schedule.n_layers)]
    events = schedule.events(tuple(n_units))
    for layer in range(schedule.n_layers):
        mine = [e for e in events if e.layer == layer]
        epochs = [e.epoch for e in mine]
        ax_events.plot(
            epochs,
            [c.cumulative / n_units[layer] * 100 for c in mine],
            drawstyle="steps-post",
            marker="|",
            label=f"{names[layer]} ({len(mine)} events)",
        )
        ax_rate.scatter(epochs, [e.count / n_units[layer] * 100 for e in mine], s=8)
    ax_events.set_ylabel("pruned (%)")
    ax_rate.set_ylabel("per-event rate (%)")
    ax_rate.set_xlabel("epoch (0-based; pruning at the end of the epoch)")
    ax_events.legend(loc="lower right")
    ax_events.set_title(
        f"retrain period r = {schedule.retrain_period}: largest iterative rate "
        f"{100 * schedule.max_iterative_rate():.2f}%"
    )


def budget_tradeoff(points: Sequence, paper_r: float) -> plt.Figure:
    """The budget study's figure: against optimizer steps per run (log axis), prune_L 13%
    minus unpruned (left) and r(instability, accuracy) (right), each with its 95%
    interval, the paper's budget and its r (``paper_r``) marked (``points``:
    ``budget.BudgetPoint`` s)."""

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, attribute, ylabel in (
        (axes[0], "difference", "prune_L 13% - unpruned (points)"),
        (axes[1], "correlation", "r(instability, accuracy)"),
    ):
        shown = [p for p in points if not np.isnan(getattr(p, attribute).estimate)]
        xs = np.array([p.steps for p in shown], dtype=float)
        ys = np.array([getattr(p, attribute).estimate for p in shown])
        lows = np.array([getattr(p, attribute).low for p in shown])
        highs = np.array([getattr(p, attribute).high for p in shown])
        if shown:
            # The line joins every point; complete budgets are filled, interim ones hollow.
            ax.plot(xs, ys, color="tab:red", lw=1)
            for kind, fill in (("complete", "tab:red"), ("interim (runs missing)", "white")):
                at = np.array(
                    [(p.complete if kind == "complete" else not p.complete) for p in shown]
                )
                if at.any():
                    ax.errorbar(
                        xs[at],
                        ys[at],
                        yerr=[(ys - lows)[at], (highs - ys)[at]],
                        marker="o",
                        ls="none",
                        capsize=4,
                        color="tab:red",
                        markerfacecolor=fill,
                        label=kind,
                    )
        else:
            ax.text(
                0.5,
                0.5,
                "no budget has enough runs yet\n(two per group)",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="gray",
            )
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(400, 200_000)
        ax.axvline(127_000, color="gray", ls=":", lw=1)
        ax.text(127_000, ax.get_ylim()[1], " paper", va="top", ha="left", fontsize=8, color="gray")
        ax.set_xlabel("optimizer steps per run (log)")
        ax.set_ylabel(ylabel)
    axes[1].axhline(
        paper_r,
        color="tab:blue",
        ls="--",
        lw=1,
        label=f"paper, r = {paper_r:.2f}".replace("0.", ".", 1),
    )
    axes[1].set_ylim(-1, 1)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="lower right", fontsize=8)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle("VGG11: the generalization-stability tradeoff against the training budget")
    fig.tight_layout()
    return fig
