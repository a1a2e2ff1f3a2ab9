"""``prunestab book``'s own logic: what it plans before executing, how it reports a
failing cell, and that an executed notebook replaces the tracked one only when what a
reader sees changed."""

import json

from papermill.exceptions import PapermillExecutionError

from prunestab.book import build


def _notebook(outputs, execution_meta=None, widget_id="abc"):
    return {
        "cells": [
            {
                "cell_type": "code",
                "source": ["x = 1\n", "x"],
                "metadata": {"tags": ["hide-input"], "execution": execution_meta or {}},
                "execution_count": 3,
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {
                            "text/html": outputs,
                            "application/vnd.jupyter.widget-view+json": {"model_id": widget_id},
                        },
                        "metadata": {},
                    }
                ],
            }
        ],
        "metadata": {"papermill": {"start_time": "2026-11-27T10:00:00", "duration": 3.2}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_an_unchanged_page_keeps_the_tracked_file_byte_for_byte(tmp_path):
    tracked, executed = tmp_path / "tracked.ipynb", tmp_path / "executed.ipynb"
    tracked.write_text(json.dumps(_notebook("<p>r = .5</p>")))
    before = tracked.read_bytes()
    rerun = _notebook("<p>r = .5</p>", {"iopub.execute_input": "later"}, widget_id="new-id")
    rerun["metadata"]["papermill"]["duration"] = 9.9
    executed.write_text(json.dumps(rerun))
    assert build.settle(executed, tracked) is False
    assert tracked.read_bytes() == before


def test_a_changed_output_replaces_the_tracked_file(tmp_path):
    tracked, executed = tmp_path / "tracked.ipynb", tmp_path / "executed.ipynb"
    tracked.write_text(json.dumps(_notebook("<p>r = .5</p>")))
    executed.write_text(json.dumps(_notebook("<p>r = .6</p>")))
    assert build.settle(executed, tracked) is True
    assert tracked.read_bytes() == executed.read_bytes()


def test_a_changed_tag_replaces_the_tracked_file(tmp_path):
    tracked, executed = tmp_path / "tracked.ipynb", tmp_path / "executed.ipynb"
    tracked.write_text(json.dumps(_notebook("<p>same</p>")))
    changed = _notebook("<p>same</p>")
    changed["cells"][0]["metadata"]["tags"] = ["remove-input"]
    executed.write_text(json.dumps(changed))
    assert build.settle(executed, tracked) is True


def test_a_failing_cell_is_one_paragraph_naming_notebook_and_cell():
    err = PapermillExecutionError(
        4,
        2,
        "runs = analysis.open_figure('fig1', profile)",
        "ValueError",
        "seeds=0; allowed: ...",
        ["\x1b[31mTraceback (most recent call last)\x1b[0m", "  File x, line 1"],
    )
    err.notebook = "notebooks/fig1_instability.ipynb"
    message = build.failure_message(err)
    assert message.startswith("prunestab book: notebooks/fig1_instability.ipynb, cell [2]")
    assert "ValueError: seeds=0; allowed" in message and "--verbose" in message
    assert "Traceback" not in message
    verbose = build.failure_message(err, verbose=True)
    assert "Traceback (most recent call last)" in verbose and "\x1b" not in verbose
    assert build.failure_message(RuntimeError("not a notebook's")) is None


def test_the_plan_counts_stored_and_missing_runs_without_training(tmp_path):
    from prunestab.config import config_hash
    from prunestab.paper.registry import figure_grid
    from prunestab.store import RunStore

    (tmp_path / "_toc.yml").write_text("")
    (tmp_path / "notebooks").mkdir()
    parameters = {"profile": "smoke", "store": "runs", "seeds": 1}
    grid = figure_grid("fig5", "smoke", 1)
    distinct = len({config_hash(c) for c in grid})  # short noise windows can coincide
    (fig5,) = build.plan(tmp_path, parameters, only=("fig5_noise",))
    assert (fig5.stored, fig5.missing) == (0, distinct)
    RunStore(tmp_path / "runs").save_result(
        grid[0], {"config": {}, "summary": {}, "hash": config_hash(grid[0])}
    )
    (fig5,) = build.plan(tmp_path, parameters, only=("fig5_noise",))
    assert (fig5.stored, fig5.missing) == (1, distinct - 1)
    claims, intro = build.plan(tmp_path, parameters, only=("claims", "intro"))
    assert claims.missing == intro.missing == 0  # they read stored results only


def _figure_png(label: str, nudged: int = 0) -> bytes:
    """A figure as a notebook stores it (PNG bytes), with ``nudged`` pixels changed by
    1/255, as the same figure drawn on another CPU."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    axes.plot([0, 1, 2], [1, 3, 2])
    axes.set_title(label)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    pixels = np.array(Image.open(io.BytesIO(buffer.getvalue())))
    for i in range(nudged):
        pixels[10 + i, 10 + i, 0] ^= 1  # flip the last bit: a 1/255 difference
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="png")
    return out.getvalue()


def _figure_notebook(png: bytes, embedded: bool = False) -> dict:
    import base64

    encoded = base64.b64encode(png).decode("ascii")
    data = (
        {"text/html": f'<div><img src="data:image/png;base64,{encoded}"></div>'}
        if embedded
        else {"image/png": encoded, "text/plain": "<Figure size 600x400 with 1 Axes>"}
    )
    notebook = _notebook("<p>same</p>")
    notebook["cells"][0]["outputs"].append(
        {"output_type": "display_data", "data": data, "metadata": {}}
    )
    return notebook


def test_a_figure_a_few_1_255_different_is_the_same_page(tmp_path):
    # What an AVX-512 CPU does to Figure 1: the committed file must stay as it is.
    for embedded in (False, True):
        tracked, executed = tmp_path / "tracked.ipynb", tmp_path / "executed.ipynb"
        tracked.write_text(json.dumps(_figure_notebook(_figure_png("r = .5"), embedded)))
        before = tracked.read_bytes()
        nudged = _figure_png("r = .5", nudged=5)
        assert nudged != _figure_png("r = .5")
        executed.write_text(json.dumps(_figure_notebook(nudged, embedded)))
        assert build.settle(executed, tracked) is False
        assert tracked.read_bytes() == before


def test_a_figure_that_changed_replaces_the_tracked_file(tmp_path):
    for embedded in (False, True):
        tracked, executed = tmp_path / "tracked.ipynb", tmp_path / "executed.ipynb"
        tracked.write_text(json.dumps(_figure_notebook(_figure_png("r = .5"), embedded)))
        executed.write_text(json.dumps(_figure_notebook(_figure_png("r = .6"), embedded)))
        assert build.settle(executed, tracked) is True
        assert tracked.read_bytes() == executed.read_bytes()


def test_pixel_tolerance_separates_rendering_noise_from_one_changed_digit():
    noise = _figure_png("r = .5", nudged=5)
    assert build.same_picture(_figure_png("r = .5"), noise)
    assert not build.same_picture(_figure_png("r = .5"), _figure_png("r = .6"))
