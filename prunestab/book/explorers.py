"""Explorers: controls over a figure that work in Jupyter and in the static book alike.

An :class:`Explorer` is a set of :class:`Control` s (a rate, a score, a target, a noise
variant) and a ``draw(**values)`` function that returns a matplotlib figure for one
choice of their options (or a sentence, where the grid has no such runs). Displayed in a
notebook it carries two forms of itself:

- **live** (Jupyter, with a kernel): ipywidgets controls whose callback redraws;
- **static** (the book, no kernel): every combination of the options drawn when the
  notebook runs, embedded in the page as images, and switched among by the book's own
  script, ``book/_static/explorer.js``, which the build copies into the site (nothing is
  fetched from a CDN).

Jupyter front ends show the live widget (its MIME type ranks first there); the book's
``_config.yml`` ranks ``text/html`` first for HTML, so the page gets the static form.

The figure-specific explorers (Figures 1, 4 and 5, and the schedule explorer) are
defined here once; notebooks call them with their runs.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image

from prunestab.book import analysis, plots
from prunestab.paper import fig4, fig5
from prunestab.paper.common import SCHEDULES, Label
from prunestab.paper.profiles import PROFILES
from prunestab.paper.registry import figure_grid
from prunestab.runs import Run, curves, points
from prunestab.schedule import PruningSchedule
from prunestab.sweep.runner import DataCache, execute_many

CONTROL_KINDS = ("select", "slider")
#: Shown under a static explorer until the book's script runs (it hides it): in an
#: untrusted notebook in Jupyter, before its cells run, and in a browser without
#: JavaScript, the controls cannot switch the figure.
STATIC_NOTE = (
    "The figure shown is the controls' first choice; in Jupyter, run the notebook's cells "
    "to use the controls."
)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class Control:
    """One control: a ``name`` shown beside it, its ``options`` (labels, in order) and the
    option first shown. ``kind="slider"`` for ordered options (rates), else a menu."""

    name: str
    options: tuple[str, ...]
    value: str | None = None
    kind: str = "select"

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(str(o) for o in self.options))
        if not self.options:
            raise ValueError(f"control {self.name!r} has no options; allowed: one or more")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"control {self.name!r}: options repeat: {list(self.options)}")
        if self.value is None:
            object.__setattr__(self, "value", self.options[0])
        if self.value not in self.options:
            raise ValueError(
                f"control {self.name!r}: value={self.value!r}; allowed: {list(self.options)}"
            )
        if self.kind not in CONTROL_KINDS:
            raise ValueError(f"control kind={self.kind!r}; allowed: {', '.join(CONTROL_KINDS)}")


Drawn = Any  # a matplotlib Figure, or a str saying why there is nothing to draw


class Explorer:
    """Controls over ``draw(**values) -> Figure | str``, live in Jupyter, static in the book.

    ``live``: an optional factory of the live widget, for explorers whose Jupyter form
    offers more than the static one (free sliders, computing a missing run).
    """

    def __init__(
        self,
        name: str,
        controls: Sequence[Control],
        draw: Callable[..., Drawn],
        *,
        live: Callable[[], Any] | None = None,
        dpi: int = plots.DPI,
    ) -> None:
        if not controls:
            raise ValueError(f"explorer {name!r} has no controls; allowed: one or more")
        names = [c.name for c in controls]
        if len(set(names)) != len(names):
            raise ValueError(f"explorer {name!r}: control names repeat: {names}")
        self.name = name
        self.controls = tuple(controls)
        self.draw = draw
        self.dpi = dpi
        self._live = live

    def combinations(self) -> list[dict[str, str]]:
        """Every choice of one option per control, in the controls' order."""
        options = [c.options for c in self.controls]
        return [
            dict(zip((c.name for c in self.controls), values, strict=True))
            for values in itertools.product(*options)
        ]

    def render(self, values: Mapping[str, str]) -> str:
        """One choice drawn as an HTML fragment: an ``<img>`` (PNG) or a ``<p>`` message."""
        drawn = self.draw(**values)
        if isinstance(drawn, str):
            return f'<p class="ps-explorer-message">{html.escape(drawn)}</p>'
        encoded = base64.b64encode(png(drawn, self.dpi)).decode("ascii")
        alt = f"{self.name}: " + ", ".join(f"{k} {v}" for k, v in values.items())
        return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'

    def static_html(self) -> str:
        """The static form: the controls and every combination, the default one shown."""
        default = {c.name: c.value for c in self.controls}
        panes = []
        for values in self.combinations():
            key = json.dumps([values[c.name] for c in self.controls], ensure_ascii=False)
            # hidden="hidden", not the bare attribute: JupyterLab's sanitizer drops empty
            # attributes, and an untrusted notebook's panes would all show (issue 34).
            hidden = "" if values == default else ' hidden="hidden"'
            panes.append(
                f'<div class="ps-explorer-pane" data-key="{html.escape(key)}"{hidden}>'
                f"{self.render(values)}</div>"
            )
        controls = "".join(_control_html(c) for c in self.controls)
        return (
            f'<div class="ps-explorer" data-explorer="{html.escape(self.name)}">'
            f'<div class="ps-explorer-controls">{controls}</div>{"".join(panes)}'
            f'<p class="ps-explorer-message ps-explorer-static">{STATIC_NOTE}</p></div>'
        )

    def widget(self):
        """The live form: ipywidgets controls whose callback redraws into an output."""
        if self._live is not None:
            return self._live()
        import ipywidgets as widgets

        controls = {}
        for c in self.controls:
            if c.kind == "slider":
                controls[c.name] = widgets.SelectionSlider(
                    options=c.options, value=c.value, description=c.name, continuous_update=False
                )
            else:
                controls[c.name] = widgets.Dropdown(
                    options=c.options, value=c.value, description=c.name
                )
        return live_redraw(self.draw, controls)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": f"<{self.name} explorer>", "text/html": self.static_html()}
        live = self.widget()._repr_mimebundle_()
        if isinstance(live, tuple):
            live = live[0]
        if WIDGET_MIME in (live or {}):
            bundle[WIDGET_MIME] = live[WIDGET_MIME]
        return bundle


def live_redraw(draw: Callable[..., Drawn], controls: Mapping[str, Any]):
    """A VBox of ``controls`` over an Output that shows ``draw(**values)`` on each change.

    The figure is appended to the Output's ``outputs`` from the kernel (not captured by a
    front end), so what it shows can be read back: ``box.output.outputs``.
    """
    import ipywidgets as widgets
    from IPython.display import Image

    output = widgets.Output()

    def redraw(change=None) -> None:
        if box.paused and change is not None:
            return  # several controls are being set at once; one redraw follows
        output.outputs = ()
        try:
            drawn = draw(**{name: control.value for name, control in controls.items()})
        except Exception as error:  # a widget callback's error would reach only the log
            show_error(output, "could not draw this choice", error)
            return
        if isinstance(drawn, str):
            output.append_stdout(drawn + "\n")
        else:
            output.append_display_data(Image(data=png(drawn, 100), format="png"))

    for control in controls.values():
        control.observe(redraw, names="value")
    box = widgets.VBox([*controls.values(), output])
    box.output = output
    box.redraw = redraw
    box.paused = False
    redraw()
    return box


def show_error(output, what: str, error: BaseException) -> None:
    """``error`` in a widget's ``output``, where the reader looks: a callback's exception
    would otherwise go to JupyterLab's log console only, and the controls look dead."""
    output.append_stderr(f"{what}: {type(error).__name__}: {error}\n")


def png(figure, dpi: int) -> bytes:
    """``figure`` as PNG bytes (the figure is closed), in a 256-colour palette: an
    explorer embeds every pane it offers (Figure 4's 25), and line plots need no more
    colours; a palette PNG is about a third of the bytes at the same resolution."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    buffer.seek(0)
    palette = PIL.Image.open(buffer).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _control_html(control: Control) -> str:
    name = html.escape(control.name)
    if control.kind == "slider":
        index = control.options.index(control.value)
        options = html.escape(json.dumps(list(control.options), ensure_ascii=False))
        return (
            f'<label class="ps-explorer-control">{name} '
            f'<input type="range" min="0" max="{len(control.options) - 1}" step="1" '
            f'value="{index}" data-control="{name}" data-options="{options}">'
            f"<output>{html.escape(control.value)}</output></label>"
        )
    options = "".join(
        f'<option value="{html.escape(o)}"{" selected" if o == control.value else ""}>'
        f"{html.escape(o)}</option>"
        for o in control.options
    )
    return (
        f'<label class="ps-explorer-control">{name} '
        f'<select data-control="{name}">{options}</select></label>'
    )


# --- The figures' explorers --------------------------------------------------------------


def _runs_of(runs: Iterable, label: str) -> list:
    return [r for r in runs if r.label == label]


def _curve_panel(ax, groups: Mapping[str, list], key: str = "test_acc") -> None:

    plots.curves_with_ci(ax, {k: curves(v, key) for k, v in groups.items() if v})
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower right")


def _event_panel(ax, runs: Sequence) -> None:
    """Each pruning epoch's instability (``|t_pre - t_post|``), one colour per run."""
    for i, run in enumerate(runs):
        records = [e for e in run.result["epochs"] if e.get("instability") is not None]
        ax.scatter(
            [e["epoch"] + 1 for e in records],
            [e["instability"] for e in records],
            s=9,
            color=f"C{i % 10}",
            alpha=0.7,
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("instability (pp)")
    ax.set_title("each pruning epoch's instability, one colour per run")


def fig1_explorer(runs: Sequence) -> Explorer:
    """Figure 1: pick one of the stored configurations (model, score, target and
    iterative rate, only those that have runs); see its test accuracy beside the unpruned
    runs', and its pruning events' instability.

    >>> [c.name for c in fig1_explorer([]).controls]
    ['configuration']
    """
    order = (Label.PRUNE_L_13, Label.PRUNE_S_13, Label.PRUNE_S_1, Label.L2_PRUNE_S_1)
    models = tuple(dict.fromkeys(r.config.model for r in runs))
    stored = {(r.config.model, r.label) for r in runs}
    choices = {
        f"{_MODEL_NAMES.get(model, model)}: {'E[BN] ' if label != Label.L2_PRUNE_S_1 else ''}"
        f"{label}": (model, label)
        for model in models
        for label in order
        if (model, label) in stored
    }

    def draw(configuration: str) -> Drawn:
        if configuration not in choices:
            return "Figure 1's runs are not stored yet."
        model, label = choices[configuration]
        model_runs = [r for r in runs if r.config.model == model]
        chosen = _runs_of(model_runs, label)
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
        _curve_panel(left, {Label.UNPRUNED: _runs_of(model_runs, Label.UNPRUNED), label: chosen})
        _event_panel(right, chosen)
        x, y = points(chosen, "mean_instability", "best_test_acc_after_pruning")
        fig.suptitle(
            f"{configuration}: mean instability {np.nanmean(x):.2f} pp, "
            f"best accuracy after the last event {np.nanmean(y):.1f}% (n={len(chosen)})"
        )
        fig.tight_layout()
        return fig

    options = tuple(choices) or ("none stored",)
    return Explorer("Figure 1", [Control("configuration", options)], draw)


#: How the explorers name the models.
_MODEL_NAMES = {"vgg11": "VGG11", "resnet18": "ResNet18", "vgg19": "VGG19", "conv4": "Conv4"}


_PERIOD = re.compile(r" r=(\d+)$")


def _rate_text(period: int) -> str:
    """A retrain period with the largest per-event rate it gives at full scale (VGG11)."""
    schedule = PruningSchedule(retrain_period=period, **SCHEDULES["vgg11"])
    return f"r={period} ({100 * schedule.max_iterative_rate():.2f}%)"


def fig4_explorer(
    runs: Sequence,
    profile: str | None = None,
    store=None,
    data=None,
    device: str = "cpu",
) -> Explorer:
    """Figure 4: pick the method and the iterative rate (retrain period r, with the
    largest per-event rate it gives at full scale); see the runs' test accuracy beside the
    unpruned runs' and each event's instability.

    Live, a rate the store lacks can be computed: type r, choose a profile, press
    *compute*; a progress bar counts the runs, and the new rate joins the slider.
    """
    runs = list(runs)
    methods = tuple(dict.fromkeys(fig4.method(r.config.pruning) for r in runs if r.config.pruning))
    if not methods:
        raise ValueError("fig4_explorer got no pruned runs; allowed: Figure 4's runs")

    def periods_of(all_runs) -> tuple[int, ...]:
        """The paper's retrain periods in the runs' labels (a profile may scale the
        schedule; the label keeps the paper's r)."""
        found = {int(m.group(1)) for r in all_runs if (m := _PERIOD.search(r.label))}
        return tuple(sorted(found | set(fig4.RETRAIN_PERIODS)))

    def draw_from(shown: Sequence, method: str, rate: str, title: str = "") -> Drawn:
        period = int(rate.split()[0].removeprefix("r="))
        chosen = _runs_of(shown, Label.rate(method, period))
        if not chosen:
            return f"No stored {method} runs at r={period} in this profile's store."
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
        _curve_panel(left, {Label.UNPRUNED: _runs_of(shown, Label.UNPRUNED), method: chosen})
        _event_panel(right, chosen)
        fig.suptitle(f"{title}{method}, {rate} (n={len(chosen)})")
        fig.tight_layout()
        return fig

    def draw(method: str, rate: str) -> Drawn:
        return draw_from(runs, method, rate)

    def live():
        return _fig4_live(runs, methods, draw_from, periods_of, profile, store, data, device)

    return Explorer(
        "Figure 4",
        [
            Control("method", methods, value=_preferred(methods, "E[BN] prune_L")),
            Control(
                "rate",
                tuple(_rate_text(p) for p in periods_of(runs)),
                value=_rate_text(40),
                kind="slider",
            ),
        ],
        draw,
        live=live,
    )


def _preferred(options: Sequence[str], wanted: str) -> str:
    return wanted if wanted in options else options[0]


def _fig4_live(runs, methods, draw_from, periods_of, profile, store, data, device):
    """Figure 4's live widget, with a row that computes a rate the store lacks.

    The figure shows one profile's runs at a time (a 7-epoch smoke run beside a 325-epoch
    quick one would be no comparison): the ``runs of`` menu lists the notebook's profile
    and each profile computed into here. *compute* defaults to a profile whose store is
    outside the committed ``results/``; writing into ``results/`` must be ticked first.
    An error in any callback is shown under the controls, and the controls stay live.
    """
    import ipywidgets as widgets

    shown = {"profile": profile or "smoke"}
    by_profile = {shown["profile"]: list(runs)}

    def draw(method: str, rate: str, runs_of: str) -> Drawn:
        title = "" if runs_of == profile else f"{runs_of} profile: "
        return draw_from(by_profile[runs_of], method, rate, title)

    method = widgets.Dropdown(
        options=methods, value=_preferred(methods, "E[BN] prune_L"), description="method"
    )
    rate = widgets.SelectionSlider(
        options=[_rate_text(p) for p in periods_of(runs)],
        value=_rate_text(40),
        description="rate",
        continuous_update=False,
    )
    runs_of = widgets.Dropdown(
        options=[shown["profile"]], value=shown["profile"], description="runs of"
    )
    box = live_redraw(draw, {"method": method, "rate": rate, "runs_of": runs_of})

    def show_profile(change=None) -> None:
        """Put the slider on the chosen profile's rates, and redraw."""
        if box.paused:
            return  # compute sets the slider itself
        options = [_rate_text(p) for p in periods_of(by_profile[runs_of.value])]
        if list(rate.options) != options:
            value = rate.value if rate.value in options else options[0]
            box.paused = True
            try:
                rate.options = options
                rate.value = value
            finally:
                box.paused = False
            box.redraw()

    runs_of.observe(show_profile, names="value")

    def computed(target: str, new: list, period: int) -> None:
        """Show ``target``'s runs, the ``new`` ones at ``period`` among them."""
        if target not in by_profile:
            by_profile[target] = _stored_fig4_runs(target, store, device)
        known = {r.config for r in by_profile[target]}
        by_profile[target].extend(r for r in new if r.config not in known)
        if target == profile:
            runs[:] = by_profile[target]
        box.paused = True
        try:
            runs_of.options = list(by_profile)
            runs_of.value = target
            rate.options = [_rate_text(p) for p in periods_of(by_profile[target])]
            rate.value = _rate_text(period)
        finally:
            box.paused = False
        box.redraw()

    row = _compute_row(profile, store, data, device, box.output, computed)
    whole = widgets.VBox([box, row])
    whole.output, whole.redraw, whole.compute, whole.status = (
        box.output,
        box.redraw,
        row.compute,
        row.status,
    )
    whole.controls = {"method": method, "rate": rate, "runs_of": runs_of, **row.controls}
    return whole


def _compute_row(profile, store, data, device, output, computed):
    """Figure 4's compute row: a retrain period, a profile (by default one stored outside
    the committed ``results/``; writing there must be ticked), a button, a progress bar
    and a status line. ``computed(profile, runs, period)`` gets what a click computed; an
    error goes to ``output``."""
    import ipywidgets as widgets

    period = widgets.BoundedIntText(value=10, min=1, max=324, description="new r")
    # The notebook's profile where its store is not results/ (a GPU reader at paper), else
    # smoke: a click never writes into the committed results/ unasked (issue 34).
    outside = [p for p in (profile, "smoke") if p and not _writes_results(p, store)]
    chosen = widgets.Dropdown(
        options=list(PROFILES), value=(outside or [profile])[0], description="profile"
    )
    confirm = widgets.Checkbox(value=False, description="write into results/", indent=False)
    button = widgets.Button(description="compute")
    bar = widgets.IntProgress(value=0, min=0, max=1, description="runs")
    status = widgets.Label()

    def where(change=None) -> None:
        """Say where the chosen profile's runs go; ask before the committed results/."""
        committed = _writes_results(chosen.value, store)
        confirm.layout.display = None if committed else "none"
        confirm.value = False
        status.value = (
            "this profile stores into the committed results/: tick to confirm"
            if committed
            else f"stores into {analysis.default_store(store, chosen.value).root}"
        )

    chosen.observe(where, names="value")
    where()

    def compute(_=None) -> None:
        target = chosen.value
        if _writes_results(target, store) and not confirm.value:
            status.value = f"not computed: tick 'write into results/' to store {target} runs there"
            return
        button.disabled = True
        try:
            new = compute_fig4_rate(
                period.value,
                target,
                store=store,
                data=data,
                device=device,
                on_progress=lambda done, total: _set_progress(bar, status, done, total),
            )
            computed(target, new, period.value)
        except Exception as error:
            status.value = f"failed: {type(error).__name__}"
            show_error(output, f"computing r={period.value} at {target} failed", error)
        finally:
            button.disabled = False

    button.on_click(compute)
    row = widgets.HBox([period, chosen, confirm, button, bar, status])
    row.compute, row.status = compute, status
    row.controls = {"period": period, "profile": chosen, "confirm": confirm}
    return row


def _writes_results(profile: str, store) -> bool:
    """Whether ``profile``'s runs would go into the repository's committed ``results/``."""
    target = analysis.default_store(store, profile).root.resolve()
    return target == analysis.default_store(None, None).root.resolve()


def _stored_fig4_runs(profile: str, store, device: str) -> list:
    """Figure 4's runs of ``profile`` that ``store`` already holds (nothing computed)."""
    runs_store = analysis.default_store(store, profile)
    found = []
    for config in figure_grid("fig4", profile, None, device):
        result = runs_store.load(config)
        if result is not None:
            found.append(Run(config, result))
    return found


def _set_progress(bar, status, done: int, total: int) -> None:
    bar.max = max(total, 1)
    bar.value = done
    status.value = f"{done}/{total} runs"


def compute_fig4_rate(
    period: int,
    profile: str,
    seeds: int | None = None,
    store=None,
    data=None,
    device: str = "cpu",
    on_progress: Callable[[int, int], None] | None = None,
) -> list:
    """Figure 4's five methods at retrain period ``period`` (stored runs are read, missing
    ones computed), as analysis ``Run`` s; ``on_progress(done, total)`` after each run."""

    if not isinstance(period, int) or not 1 <= period <= 324:
        raise ValueError(f"retrain period {period!r}; allowed: an integer from 1 to 324")
    configs = fig4.rate_configs(profile, period, seeds, device)
    configs += [c for c in figure_grid("fig4", profile, seeds, device) if c.pruning is None]
    done = 0

    def counted(config, result, computed) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, len(configs))

    if on_progress is not None:
        on_progress(0, len(configs))
    results = execute_many(
        configs,
        analysis.default_store(store, profile),
        DataCache(data),
        profile=profile,
        on_result=counted,
    )
    return [Run(c, r) for c, r in zip(configs, results, strict=True)]


def fig5_explorer(runs: Sequence) -> Explorer:
    """Figure 5: pick the noise variant; see it beside prune_L and the unpruned runs."""

    variants = [Label.noise(k, s) for k in ("zeroing", "gaussian") for s in fig5.NOISE_STEPS]
    present = [v for v in variants if _runs_of(runs, v)] or variants

    def draw(noise: str) -> Drawn:
        chosen = _runs_of(runs, noise)
        if not chosen:
            return f"No stored {noise} runs."
        groups = {
            Label.UNPRUNED: _runs_of(runs, Label.UNPRUNED),
            Label.PRUNE_L: _runs_of(runs, Label.PRUNE_L),
            noise: chosen,
        }
        fig, ax = plt.subplots(figsize=(7.5, 3.2))
        _curve_panel(ax, groups)
        finals = ", ".join(
            f"{k} {np.nanmean(points(v, 'final_test_acc', 'final_test_acc')[0]):.1f}%"
            for k, v in groups.items()
            if v
        )
        ax.set_title(f"last-epoch test accuracy: {finals}")
        fig.tight_layout()
        return fig

    return Explorer(
        "Figure 5",
        [Control("noise", tuple(present), value=present[min(1, len(present) - 1)])],
        draw,
    )


SCHEDULE_PERIODS = (1, 2, 4, 10, 20, 40, 60, 100)


def schedule_explorer(n_units: Sequence[int] = (512, 512, 512, 512)) -> Explorer:
    """A.3's schedules: pick the retrain period r and the paper's layer settings (static);
    live, free sliders for every start, end and fraction as well."""

    settings = {
        "VGG11 (A.3.1)": SCHEDULES["vgg11"],
        "ResNet18 (A.3.1)": SCHEDULES["resnet18"],
    }

    def draw(layers: str, r: str) -> Drawn:
        schedule = PruningSchedule(retrain_period=int(r), **settings[layers])
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.2), sharex=True)
        plots.schedule_plot(top, bottom, schedule, n_units)
        return fig

    return Explorer(
        "schedule",
        [
            Control("layers", tuple(settings)),
            Control("r", tuple(str(p) for p in SCHEDULE_PERIODS), value="40", kind="slider"),
        ],
        draw,
        live=lambda: _schedule_sliders(n_units),
    )


def _schedule_sliders(n_units: Sequence[int]):
    """Free sliders for start, end, fraction (per layer, A.3's VGG11 defaults) and r."""
    import ipywidgets as widgets

    defaults = list(
        zip(
            *(SCHEDULES["vgg11"][k] for k in ("start_epochs", "end_epochs", "fractions")),
            strict=True,
        )
    )
    controls = {}
    for i, (s, e, p) in enumerate(defaults):
        controls[f"start{i}"] = widgets.IntSlider(value=s, min=0, max=324, description=f"s{i + 1}")
        controls[f"end{i}"] = widgets.IntSlider(value=e, min=0, max=324, description=f"e{i + 1}")
        controls[f"fraction{i}"] = widgets.FloatSlider(
            value=p, min=0.0, max=0.99, step=0.01, description=f"p{i + 1}"
        )
    controls["period"] = widgets.IntSlider(value=40, min=1, max=300, description="r")

    def draw(**values) -> Drawn:
        n = len(defaults)
        starts = tuple(values[f"start{i}"] for i in range(n))
        ends = tuple(max(values[f"end{i}"], values[f"start{i}"]) for i in range(n))
        fractions = tuple(values[f"fraction{i}"] for i in range(n))
        schedule = PruningSchedule(starts, ends, fractions, values["period"])
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
        plots.schedule_plot(top, bottom, schedule, n_units)
        return fig

    return live_redraw(draw, controls)
