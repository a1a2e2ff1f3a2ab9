"""A chapter opened live in a real JupyterLab, driven through Chromium's DevTools protocol
as a reader drives it (issue 34): open Figure 4's chapter, see one static pane before
the cells run, run them, move a control, compute a new rate at smoke, and check that the
figure updated, that no error reached the log only, and that nothing was written into
the committed ``results/`` or the reviewed ``.py`` pairs.

It runs where the ``.[live]`` extra (JupyterLab) and Debian's chromium are installed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from cdp import Chromium, _free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    import jupyterlab  # noqa: F401

    HAVE_LAB = True
except ImportError:
    HAVE_LAB = False

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not HAVE_LAB, reason="JupyterLab (the .[live] extra) is not installed"),
]

CHAPTER = "notebooks/fig4_rates.ipynb"


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """The book's sources and committed results, copied aside: the reader's clone."""
    root = tmp_path_factory.mktemp("clone")
    for name in ("_config.yml", "_toc.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    for folder in ("notebooks", "results"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("*.pt"))
    return root


@pytest.fixture(scope="module")
def lab(repository, tiny_cifar, tmp_path_factory):
    """JupyterLab on a free port over the copy; yields its URL and token."""
    home = tmp_path_factory.mktemp("jupyter")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PRUNESTAB_DATA=str(tiny_cifar),  # what compute trains on: the tiny fake CIFAR-10
    )
    env.pop("PRUNESTAB_STORE", None)
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={repository}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--ServerApp.disable_check_xsrf=True",
        ],
        cwd=repository,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        "JupyterLab did not start: " + (home / "lab.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait(browser: Chromium, expression: str, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = browser.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            shot = Path(tempfile.gettempdir()) / "prunestab-live-failure.png"
            shot.write_bytes(
                base64.b64decode(browser.send("Page.captureScreenshot", format="png")["data"])
            )
            raise AssertionError(f"{what}: not within {timeout:.0f} s (screenshot: {shot})")
        time.sleep(0.5)


# The explorer widget, found by its 'runs of' menu; its parts by their labels.
_WIDGET = """
(() => {
  const menus = Array.from(document.querySelectorAll('.widget-dropdown'));
  const runsOf = menus.find(m => (m.querySelector('label') || {}).textContent === 'runs of');
  if (!runsOf) return null;
  const whole = runsOf.closest('.widget-vbox').parentElement.closest('.widget-vbox');
  const select = label => Array.from(whole.querySelectorAll('.widget-dropdown'))
    .find(m => m.querySelector('label').textContent === label).querySelector('select');
  const output = whole.querySelector('.widget-output');
  const img = output.querySelector('img');
  return {
    method: select('method').value,
    methods: Array.from(select('method').options).map(o => o.value),
    runs_of: select('runs of').value,
    runs_of_options: Array.from(select('runs of').options).map(o => o.value),
    profile: select('profile').value,
    image: img ? img.src.slice(-120) : null,
    text: output.innerText,
    stderr: output.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length,
    row: whole.lastElementChild.textContent,
  };
})()
"""


_BUSY = "Array.from(document.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'))"


def _run_all_cells(browser: Chromium, timeout: float = 900) -> None:
    """Run every cell until the live explorer appears. A run-all issued before the
    chapter's kernel has connected clears the outputs and runs nothing (seen under load),
    so it is issued again whenever no cell is running and the explorer is not there."""
    _wait(browser, "!!window.jupyterapp", 60, "JupyterLab exposed its app")
    deadline = time.monotonic() + timeout
    while True:
        browser.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        time.sleep(10)
        while browser.evaluate(_BUSY) and not browser.evaluate(_WIDGET):
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        if browser.evaluate(_WIDGET):
            return
        if time.monotonic() > deadline:
            _wait(browser, _WIDGET, 0, "the live explorer appeared")


def _widget_when(browser: Chromium, condition: str, timeout: float, what: str) -> dict:
    """The explorer widget's state once ``condition`` (JavaScript over ``w``) holds."""
    return _wait(browser, f"(w => w && ({condition}) ? w : null)({_WIDGET})", timeout, what)


def _choose(browser: Chromium, label: str, value: str) -> None:
    """Pick ``value`` in the widget's menu ``label``, as a reader's pick fires it."""
    browser.evaluate(
        f"""(() => {{
          const m = Array.from(document.querySelectorAll('.widget-dropdown'))
            .find(m => (m.querySelector('label') || {{}}).textContent === {label!r});
          const s = m.querySelector('select');
          s.value = {value!r};
          s.dispatchEvent(new Event('change', {{bubbles: true}}));
        }})()"""
    )


def test_a_reader_runs_figure_4_live_moves_a_control_and_computes_a_rate(repository, lab, tmp_path):
    url, token = lab
    chapter = repository / CHAPTER
    source = chapter.with_suffix(".py")
    # After `prunestab book` (or git writing both files) the .ipynb can be the newer one:
    # the chapter must still open (jupytext refused a pair with a newer .ipynb).
    later = source.stat().st_mtime + 120
    os.utime(chapter, (later, later))
    py_before = source.read_bytes()
    results_before = _digest(repository / "results")

    with Chromium(CHROMIUM, tmp_path / "profile", width=1400, height=1000) as browser:
        browser.open(f"{url}/lab/tree/{CHAPTER}?token={token}", timeout=180)
        _wait(
            browser,
            "document.querySelectorAll('.jp-Notebook .jp-Cell').length > 5 || "
            "!!document.querySelector('.jp-Dialog')",
            180,
            "the chapter opened",
        )
        dialog = browser.evaluate(
            "(document.querySelector('.jp-Dialog') || {innerText: ''}).innerText"
        )
        assert not dialog, f"JupyterLab showed a dialog instead of the chapter: {dialog}"

        # Before the cells run: the saved static form, one pane per explorer and its note.
        panes = browser.evaluate(
            "Array.from(document.querySelectorAll('.ps-explorer')).map(e => "
            "[e.querySelectorAll('.ps-explorer-pane').length, "
            "Array.from(e.querySelectorAll('.ps-explorer-pane')).filter("
            "p => p.offsetHeight > 0).length, "
            "Array.from(e.querySelectorAll('.ps-explorer-static')).filter("
            "p => p.offsetHeight > 0).length])"
        )
        assert panes and all(
            total > 1 and shown == 1 and note == 1 for total, shown, note in panes
        ), f"[panes, visible, visible notes] per explorer: {panes}"

        _run_all_cells(browser)
        first = _widget_when(browser, "w.image", 120, "the live explorer drew its figure")
        assert first["runs_of"] == "quick" and first["stderr"] == 0, first
        # Computing defaults to a profile outside the committed results/.
        assert first["profile"] == "smoke", first

        other = next(m for m in first["methods"] if m != first["method"])
        _choose(browser, "method", other)
        moved = _widget_when(
            browser, f"w.image && w.image !== {first['image']!r}", 60, "the figure changed"
        )
        assert moved["method"] == other and moved["stderr"] == 0, moved

        browser.evaluate(
            "Array.from(document.querySelectorAll('button.jupyter-button'))"
            ".find(b => b.textContent.trim() === 'compute').click()"
        )
        # The menu switches to smoke before the new figure arrives: wait for the figure.
        computed = _widget_when(
            browser,
            f"(w.runs_of === 'smoke' && w.image && w.image !== {moved['image']!r}) || w.stderr",
            900,
            "smoke runs drawn",
        )
        assert computed["stderr"] == 0, computed["text"]
        assert computed["runs_of_options"] == ["quick", "smoke"], computed
        assert computed["image"] and computed["image"] != moved["image"], computed
        assert re.search(r"(\d+)/\1 runs", computed["row"]), computed["row"]

        # Back to the notebook's own runs: drawn again, not mixed with smoke's.
        _choose(browser, "runs of", "quick")
        back = _widget_when(
            browser,
            f"(w.runs_of === 'quick' && w.image && w.image !== {computed['image']!r}) || w.stderr",
            60,
            "quick drawn again",
        )
        assert back["stderr"] == 0, back["text"]

        browser.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
        time.sleep(3)

    assert (repository / "store" / "smoke").is_dir(), "the smoke runs went elsewhere"
    assert _digest(repository / "results") == results_before, "something changed in results/"
    assert source.read_bytes() == py_before, "saving in JupyterLab rewrote the .py pair"
