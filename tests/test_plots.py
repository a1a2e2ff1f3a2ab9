import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from prunestab.book import plots


def test_curves_with_ci_plots_from_the_start_epoch():
    fig, ax = plt.subplots()
    curves = np.arange(20, dtype=float).reshape(2, 10)
    plots.curves_with_ci(ax, {"a": curves}, start_epoch=6)
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [7, 8, 9, 10]
    assert list(line.get_ydata()) == [11.0, 12.0, 13.0, 14.0]
    plt.close(fig)


def test_curves_with_ci_names_a_start_epoch_past_the_runs():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"start_epoch=200 .* 10 epochs"):
        plots.curves_with_ci(ax, {"a": np.zeros((2, 10))}, start_epoch=200)
    plt.close(fig)


def test_rate_plot_groups_runs_by_rate_whatever_its_rounding():
    fig, ax = plt.subplots()
    # Rates as schedules compute them (0.526315...%), not round numbers.
    rates = np.array([100 / 7.77777, 100 / 7.77777, 100 / 7.77777, 10 / 19, 10 / 19])
    values = np.array([1.0, 2.0, 3.0, 5.0, 7.0])
    plots.rate_plot(ax, {"l2 prune_L": (rates, values)}, "instability")
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "l2 prune_L"]
    assert list(line.get_xdata()) == [0.5263, 12.8572]
    assert list(line.get_ydata()) == [6.0, 2.0]
    plt.close(fig)


def test_forest_draws_each_claims_weakest_comparison_coloured_by_its_verdict():
    rows = [
        (
            "Figure 1: beats every other",
            (
                ("vs unpruned", -0.8, -1.3, -0.3, "contradicted", "difference"),
                ("vs prune_S 1%", 0.2, -0.3, 0.7, "inconclusive", "difference"),
            ),
            "contradicted",
        ),
        (
            "Figure 1: r > 0",
            (("", 0.4, -0.9, 0.98, "inconclusive", "correlation"),),
            "inconclusive",
        ),
        (
            "Figure 5: matches",
            (("zeroing50 - prune_L", None, None, None, "inconclusive", ""),),
            "inconclusive",
        ),
    ]
    fig = plots.forest(rows)
    difference, correlation = fig.axes
    labels = [t.get_text() for t in difference.get_yticklabels()]
    assert labels == ["Figure 1: beats every other\nvs unpruned (weakest of 2)"]
    interval, point = difference.get_lines()[1:3]  # after the zero line
    assert list(interval.get_xdata()) == [-1.3, -0.3] and list(point.get_xdata()) == [-0.8]
    assert interval.get_color() == plots.VERDICT_COLORS["contradicted"]
    assert correlation.get_xlim() == (-1.05, 1.05)
    plt.close(fig)


def test_forest_draws_slopes_in_a_panel_per_unit_between_differences_and_r():
    """A correlation over configuration means is drawn as its slope with the rule's
    interval, one panel per unit, after the differences and before any plain r."""
    unit = "points of accuracy per point of instability"
    rows = [
        ("r", (("", 0.4, -0.9, 0.98, "inconclusive", "correlation"),), "inconclusive"),
        ("slope A", (("", -1.3, -4.8, 2.2, "inconclusive", f"slope: {unit}"),), "inconclusive"),
        (
            "gap",
            (("", -0.07, -0.17, 0.03, "inconclusive", "slope: points of gap per decile"),),
            "inconclusive",
        ),
        ("slope B", (("", 0.5, 0.1, 0.9, "reproduced", f"slope: {unit}"),), "reproduced"),
        ("diff", (("", 0.5, 0.1, 0.9, "reproduced", "difference"),), "reproduced"),
    ]
    fig = plots.forest(rows)
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels == [
        plots.FOREST_PANELS["difference"],
        f"slope ({unit})",
        "slope (points of gap per decile)",
        plots.FOREST_PANELS["correlation"],
    ]
    slopes = fig.axes[1]
    assert [t.get_text() for t in slopes.get_yticklabels()] == ["slope A", "slope B"]
    assert list(slopes.get_lines()[1].get_xdata()) == [-4.8, 2.2]
    plt.close(fig)


def test_every_figure_text_is_at_least_10_px_where_the_book_shows_it():
    """Issue 34: the book's column is about 750 px wide at a 1400 px window; figures are
    drawn up to 11 inches wide and scaled to it."""
    plots.style()
    scale = 750 / (11 * 72)  # px per point
    for key in ("font.size", "axes.labelsize", "xtick.labelsize", "legend.fontsize"):
        size = plt.rcParams[key]
        size = size if isinstance(size, float | int) else plots.FONT_SIZE
        assert size * scale >= 10, key
    assert plt.rcParams["savefig.dpi"] >= 150


def test_bars_that_do_not_start_at_zero_say_so():
    fig, ax = plt.subplots()
    plots.mean_bars(
        ax, {"a": np.array([60.0, 61.0]), "b": np.array([62.0, 63.0])}, ylabel="%", bottom=48
    )
    assert ax.get_ylim()[0] == 48 and "starts at 48" in ax.get_ylabel()
    plt.close(fig)
