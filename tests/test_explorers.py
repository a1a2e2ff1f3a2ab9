"""The explorers: every combination drawn for the static book, the default one shown;
clear errors for bad controls; and live widgets whose callbacks redraw, in a real kernel
too (set the rate, compute a rate the store lacks, watch the output change)."""

import json
import re
import textwrap

import matplotlib.pyplot as plt
import pytest

from prunestab.book import explorers
from prunestab.book.explorers import Control, Explorer, live_redraw


def _draw(shape: str, size: str):
    if shape == "none":
        return "nothing stored for this choice"
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, int(size)], marker="o" if shape == "dots" else None)
    return fig


def _explorer():
    return Explorer(
        "toy",
        [
            Control("shape", ("line", "dots", "none")),
            Control("size", ("1", "2", "3"), value="2", kind="slider"),
        ],
        _draw,
    )


def test_the_static_form_holds_every_combination_and_shows_the_default():
    page = _explorer().static_html()
    keys = [json.loads(k.replace("&quot;", '"')) for k in re.findall(r'data-key="([^"]+)"', page)]
    assert len(keys) == 9 and ["line", "2"] in keys
    panes = re.findall(
        r'<div class="ps-explorer-pane" data-key="([^"]+)"( hidden="hidden")?>', page
    )
    shown = [json.loads(k.replace("&quot;", '"')) for k, hidden in panes if not hidden]
    assert shown == [["line", "2"]]
    assert page.count("data:image/png;base64,") == 6  # 'none' gives a message, not a figure
    assert page.count("nothing stored for this choice") == 3
    assert 'type="range"' in page and "<select" in page  # slider for ordered options
    assert "<script" not in page  # the switching script is the site's, book/_static
    # Without the book's script (an untrusted notebook in JupyterLab, whose sanitizer
    # drops empty attributes): the default pane alone, and a note saying so.
    assert " hidden>" not in page and page.count(' hidden="hidden"') == 8
    assert explorers.STATIC_NOTE in page


def test_the_bundle_carries_the_live_widget_and_the_static_form():
    bundle = _explorer()._repr_mimebundle_()
    assert "ps-explorer" in bundle["text/html"]
    assert "model_id" in bundle["application/vnd.jupyter.widget-view+json"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Control("rate", ()), "has no options"),
        (lambda: Control("rate", ("1%", "1%")), "options repeat"),
        (lambda: Control("rate", ("1%", "13%"), value="5%"), "value='5%'; allowed"),
        (lambda: Control("rate", ("1%",), kind="knob"), "kind='knob'; allowed: select, slider"),
        (lambda: Explorer("x", [], _draw), "has no controls"),
    ],
)
def test_bad_controls_are_named_with_what_is_allowed(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_a_live_control_change_redraws_the_output():
    import ipywidgets as widgets

    size = widgets.Dropdown(options=["1", "2", "3"], value="1")
    shape = widgets.Dropdown(options=["line", "dots", "none"], value="line")
    box = live_redraw(_draw, {"shape": shape, "size": size})
    first = box.output.outputs[0]["data"]["image/png"]
    size.value = "3"
    assert box.output.outputs[0]["data"]["image/png"] != first
    shape.value = "none"
    assert box.output.outputs[0]["text"] == "nothing stored for this choice\n"


KERNEL_CODE = textwrap.dedent(
    """
    import hashlib
    from prunestab.book import analysis, explorers
    runs = analysis.ensure_runs("fig4", "smoke", 1, data={data!r}, store={store!r})
    live = explorers.fig4_explorer(runs, "smoke", {store!r}, {data!r}).widget()
    def shown():
        data = live.output.outputs[0].get("data", {{}})
        return hashlib.sha1(str(data.get("image/png", live.output.outputs[0])).encode()).hexdigest()
    """
)


@pytest.mark.slow
def test_in_a_real_kernel_setting_the_rate_and_computing_a_new_one_redraw(tiny_cifar, tmp_path):
    """The Figure 4 explorer's live form, driven in a python3 kernel as Jupyter drives it."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:

        def run(code: str) -> str:
            reply_text = []

            def collect(message):
                if message["msg_type"] == "stream":
                    reply_text.append(message["content"]["text"])
                if message["msg_type"] == "error":
                    reply_text.append("\n".join(message["content"]["traceback"]))

            reply = client.execute_interactive(code, timeout=600, output_hook=collect)
            text = "".join(reply_text)
            assert reply["content"]["status"] == "ok", text
            return text

        run(KERNEL_CODE.format(data=str(tiny_cifar), store=str(tmp_path / "runs")))
        before = run("print(shown())").strip()
        run("live.controls['rate'].value = live.controls['rate'].options[0]")
        after_rate = run("print(shown())").strip()
        assert after_rate != before  # the callback redrew for the new rate
        run("live.controls['period'].value = 7")
        assert "r=7" not in run("print(live.controls['rate'].options)")
        assert run("print(live.controls['profile'].value)").strip() == "smoke"
        run("live.compute()")  # what the compute button calls
        state = run(
            "bar = live.children[1].children[4]\n"
            "print(bar.value, bar.max, live.controls['rate'].value, shown())"
        ).split()
        assert state[0] == state[1] and int(state[1]) > 1  # every run counted
        assert state[2].startswith("r=7")  # the new rate joined the slider and is shown
        assert state[-1] != after_rate
        assert "stderr" not in run("print([o.get('name') for o in live.output.outputs])")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_figure_1s_static_explorer_offers_only_configurations_that_have_runs():
    """Issue 34 item 8: the committed quick runs give VGG11 four pruned configurations and
    ResNet18 three; every pane the book embeds is a figure, none a "no runs" message."""
    from pathlib import Path

    from prunestab.book.explorers import fig1_explorer
    from prunestab.paper.registry import figure_grid
    from prunestab.runs import Run
    from prunestab.store import RunStore

    store = RunStore(Path(__file__).resolve().parents[1] / "results")
    runs = [Run(c, r) for c in figure_grid("fig1", "quick") if (r := store.load(c)) is not None]
    explorer = fig1_explorer(runs)
    options = explorer.controls[0].options
    assert len(options) == 7 and options[0] == "VGG11: E[BN] prune_L 13%"
    assert "ResNet18: l2 prune_S 1%" not in options
    for values in explorer.combinations():
        drawn = explorer.draw(**values)
        assert not isinstance(drawn, str), values
        plt.close(drawn)


def test_an_error_while_drawing_shows_in_the_output_and_the_controls_stay_live():
    """Issue 34: a callback's exception reached only JupyterLab's log console."""
    import ipywidgets as widgets

    def draw(shape: str) -> object:
        if shape == "bad":
            raise ValueError("all input arrays must have the same shape")
        return _draw(shape, "1")

    shape = widgets.Dropdown(options=["line", "bad", "dots"], value="line")
    box = live_redraw(draw, {"shape": shape})
    shape.value = "bad"
    (error,) = box.output.outputs
    assert error["name"] == "stderr"
    assert "ValueError: all input arrays must have the same shape" in error["text"]
    shape.value = "dots"
    assert "image/png" in box.output.outputs[0]["data"]


@pytest.fixture(scope="module")
def quick_fig4():
    """Figure 4's committed quick runs (read from results/, nothing computed)."""
    from prunestab.book import analysis

    return analysis.ensure_runs("fig4", "quick")


def test_computing_defaults_to_a_profile_outside_results_and_asks_before_writing_there(
    quick_fig4, monkeypatch
):
    """Issue 34: one click in the quick notebook wrote into the committed results/."""
    calls = []
    monkeypatch.setattr(explorers, "compute_fig4_rate", lambda *a, **k: calls.append(a) or [])
    live = explorers.fig4_explorer(list(quick_fig4), "quick").widget()
    assert live.controls["profile"].value == "smoke"
    assert "store/smoke" in live.status.value
    live.controls["profile"].value = "quick"
    assert "results/" in live.status.value and "tick" in live.status.value
    live.compute()
    assert calls == [] and live.status.value.startswith("not computed")
    live.controls["confirm"].value = True
    live.compute()
    assert [a[:2] for a in calls] == [(10, "quick")]


def test_a_failed_compute_shows_its_error_and_leaves_the_explorer_working(quick_fig4, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("no CIFAR-10 here")

    monkeypatch.setattr(explorers, "compute_fig4_rate", fail)
    live = explorers.fig4_explorer(list(quick_fig4), "quick").widget()
    live.compute()
    assert live.status.value == "failed: RuntimeError"
    assert "RuntimeError: no CIFAR-10 here" in live.output.outputs[-1]["text"]
    before = live.output.outputs
    live.controls["rate"].value = live.controls["rate"].options[0]
    assert live.output.outputs != before and "image/png" in live.output.outputs[0]["data"]


def test_runs_of_another_profile_are_shown_apart_never_mixed(quick_fig4, monkeypatch, tmp_path):
    """Issue 34: smoke's 7-epoch runs appended to quick's 325-epoch ones broke np.stack."""
    from prunestab.runs import Run

    smoke = [Run(c, _fake_result(c, 2)) for c in explorers.fig4.rate_configs("smoke", 10, 1, "cpu")]
    monkeypatch.setattr(explorers, "compute_fig4_rate", lambda *a, **k: smoke)
    quick = list(quick_fig4)
    live = explorers.fig4_explorer(quick, "quick", store=tmp_path).widget()
    live.controls["profile"].value = "smoke"
    live.compute()
    assert live.controls["runs_of"].options == ("quick", "smoke")
    assert live.controls["runs_of"].value == "smoke"
    assert live.controls["rate"].value.startswith("r=10")
    assert "image/png" in live.output.outputs[0]["data"], live.output.outputs
    assert len(quick) == len(quick_fig4)  # the notebook's runs are untouched
    live.controls["runs_of"].value = "quick"
    live.controls["rate"].value = explorers._rate_text(40)
    assert "image/png" in live.output.outputs[0]["data"], live.output.outputs


def _fake_result(config, epochs: int) -> dict:
    """A stored result's shape, ``epochs`` long: what the explorer reads of a run."""
    rows = [
        {"epoch": e, "test_acc": 40.0 + e, "train_loss": 1.0, "instability": 1.5 if e else None}
        for e in range(epochs)
    ]
    summary = {
        "final_test_acc": 41.0,
        "best_test_acc_after_pruning": 41.0,
        "mean_instability": 1.5,
    }
    return {"config": config.to_dict(), "epochs": rows, "summary": summary}
