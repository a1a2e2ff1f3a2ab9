"""Matplotlib figures in the paper's layout (the explorers are in ``prunestab.book.explorers``).

Every function draws on axes it is given (or returns a new figure) from arrays the
analysis produced; nothing here computes results. Error bands are bootstrapped
confidence intervals of the mean across runs (``stats.curve_ci``), as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from prunestab.paper.claim import SLOPE
from prunestab.paper.common import COLORS, Label
from prunestab.schedule import PruningSchedule
from prunestab.stats import Correlation, bootstrap_mean_ci, curve_ci


def color(label: str, index: int = 0) -> str:
    """The colour of ``label`` (``paper.common.COLORS``), else matplotlib's ``index``-th.

    >>> color("unpruned"), color("something else", 11)
    ('black', 'C1')
    """
    return COLORS.get(label, f"C{index % 10}")


#: Every figure's text, in points. The book's text column is about 750 px wide at a
#: 1400 px window and figures are drawn up to 11 inches wide, so a point renders at about
#: 750 / (11 * 72) = 0.95 px: 11 pt is the smallest size that stays at least 10 px.
FONT_SIZE = 12
SMALL_FONT_SIZE = 11
#: Pixels per inch of every stored figure (the browser scales it to the column, so text
#: stays sharp at 150 dpi).
DPI = 150


def style() -> None:
    """One style for every figure of the book: text that stays at least 10 px as the book
    shows it (``FONT_SIZE``), 150 dpi, a light grid, no top/right spines."""
    plt.rcParams.update(
        {
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "font.size": FONT_SIZE,
            "axes.titlesize": FONT_SIZE,
            "axes.labelsize": FONT_SIZE,
            "xtick.labelsize": SMALL_FONT_SIZE,
            "ytick.labelsize": SMALL_FONT_SIZE,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.fontsize": SMALL_FONT_SIZE,
            "legend.title_fontsize": SMALL_FONT_SIZE,
            "legend.frameon": False,
        }
    )


#: The verdicts' colours, as the badges of ``book/_static/verdicts.css``.
VERDICT_COLORS = {
    "reproduced": "#1a7f37",
    "contradicted": "#cf222e",
    "inconclusive": "#9a6700",
}
#: The units of a forest plot's panels, by the kind of the evidence (``Evidence.effect_kind``).
FOREST_PANELS = {
    "difference": "difference (points; + is the paper's direction)",
    "correlation": "correlation r",
}


def _deciding_part(parts: Sequence) -> tuple | None:
    """Of a claim's comparisons with an interval, the one that stands most in the way of
    "reproduced": the lowest lower end (every comparison must clear zero)."""
    shown = [p for p in parts if p[1] is not None and p[2] is not None and p[3] is not None]
    if not shown:
        return None
    return min(shown, key=lambda p: p[2])


def forest(rows: Sequence[tuple[str, Sequence, str]], margin: float = 1.0) -> plt.Figure:
    """Findings as a forest plot: per claim, its estimate and 95% interval on one axis
    against zero, coloured by the claim's verdict; differences, the slopes of each unit
    (a correlation over configuration means is drawn as its slope, the rule's interval)
    and plain correlations in separate panels, the differences with the band of
    +-``margin`` points (the equivalence margin, and the effect at which every
    difference's power is stated).

    Args:
        rows: ``(label, parts, verdict)`` per claim, ``parts`` as ``Claim.parts``
            (``(name, estimate, low, high, verdict, kind)``); of several comparisons the
            one with the lowest lower end is drawn (every one must clear zero), its name
            added to the label. Claims without an interval are left out.
        margin: the half-width of the band drawn around zero on the differences panel.

    Returns:
        The figure (empty panels are left out; a figure with one message if no claim
        has an interval).
    """
    panels: dict[str, list] = {"difference": []}  # then each slope's unit, then r
    for label, parts, verdict in rows:
        part = _deciding_part(parts)
        if part is None or not (part[5] in FOREST_PANELS or part[5].startswith(SLOPE)):
            continue
        panels.setdefault(part[5], [])
        name = part[0]
        if name and len(parts) > 1:
            name = f"{name} (weakest of {len(parts)})"
        if name:
            label += ": " + name if "\n" in label else "\n" + name
        panels[part[5]].append((label, part, verdict))
    kinds = sorted((k for k, v in panels.items() if v), key=lambda k: k == "correlation")
    if not kinds:
        fig, ax = plt.subplots(figsize=(9, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no claim with an interval yet", ha="center", va="center")
        return fig
    heights = [len(panels[k]) + 1.6 for k in kinds]
    fig, axes = plt.subplots(
        len(kinds),
        1,
        figsize=(10, 0.5 * sum(heights) + 0.5),
        # About 0.9 inch between panels for the upper one's axis label.
        gridspec_kw={"height_ratios": heights, "hspace": 0.9 / (0.5 * np.mean(heights))},
        squeeze=False,
    )
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        shown = panels[kind]
        ys = np.arange(len(shown))[::-1]
        if kind == "difference":
            ax.axvspan(-margin, margin, color="0.9", lw=0, zorder=0)
        ax.axvline(0, color="black", lw=0.9, zorder=1)
        for y, (_, (_, estimate, low, high, _, _), verdict) in zip(ys, shown, strict=True):
            c = VERDICT_COLORS.get(verdict, "gray")
            ax.plot([low, high], [y, y], color=c, lw=2.2, solid_capstyle="butt", zorder=2)
            ax.plot([estimate], [y], "o", color=c, ms=6, zorder=3)
        ax.set_yticks(ys, [label for label, _, _ in shown], fontsize=SMALL_FONT_SIZE - 1)
        ax.set_ylim(-0.8, len(shown) - 0.2)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(FOREST_PANELS.get(kind) or kind.replace(SLOPE, "slope (") + ")")
        if kind == "correlation":
            ax.set_xlim(-1.05, 1.05)
    handles = [
        plt.Line2D([], [], color=c, marker="o", lw=2.2, label=v) for v, c in VERDICT_COLORS.items()
    ]
    if "difference" in kinds:
        handles.append(plt.Rectangle((0, 0), 1, 1, color="0.9", label=f"within +-{margin:g} point"))
    top = 1 - 0.5 / fig.get_figheight()
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), bbox_to_anchor=(0.5, top))
    # A fixed column for the labels, so every profile's plot lines up.
    fig.subplots_adjust(left=0.53, right=0.97, top=top - 0.02, bottom=0.9 / fig.get_figheight())
    return fig


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
    ax.set_title(f"{text}\npaper: {paper}")
    ax.set_xlabel("mean instability (pp)")
    ax.set_ylabel("final test accuracy (%)")


def mean_bars(
    ax: plt.Axes,
    groups: Mapping[str, np.ndarray],
    confidence: float = 0.95,
    ylabel: str = "",
    bottom: float = 0.0,
) -> None:
    """Mean of per-run values per group, with bootstrap CI error bars. A ``bottom`` above
    zero starts the value axis there, and the axis label says so (bars that do not start
    at zero exaggerate differences)."""
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
    if bottom > 0:
        ax.set_ylim(bottom=bottom)
        ylabel = f"{ylabel}\n(axis starts at {bottom:g}, not 0)"
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
                ax.set_ylabel(name, fontsize=SMALL_FONT_SIZE, rotation=0, ha="right")
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
        ax.text(127_000, ax.get_ylim()[1], " paper", va="top", ha="left", color="gray")
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
        axes[0].legend(loc="lower right")
    axes[1].legend(loc="lower right")
    fig.suptitle("VGG11: the generalization-stability tradeoff against the training budget")
    fig.tight_layout()
    return fig
