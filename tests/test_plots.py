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
