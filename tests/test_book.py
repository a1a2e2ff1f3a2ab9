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
