"""The companion: notebooks paired and in sync, executed at smoke, built into a book that
renders its figures and math in a real (headless) browser."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import pytest
from cdp import FLAGS

from prunestab.book.build import NOTEBOOKS, build, execute_notebooks

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / Path(n).with_suffix(".py") for n in NOTEBOOKS]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [f for f in FLAGS if not f.startswith("--remote")]  # one list: tests/cdp.py


def _inputs(notebook):
    return [
        (cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", [])))
        for cell in notebook.cells
        if "injected-parameters" not in cell.metadata.get("tags", [])
    ]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_jupytext_pair_is_in_sync(source):
    """The reviewed .py and the rendered .ipynb hold the same cells."""
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired} is missing: run jupytext --sync {source}"
    assert _inputs(jupytext.read(source)) == _inputs(jupytext.read(paired)), (
        f"{source.name} and {paired.name} differ: run jupytext --sync {source}"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_notebook_has_the_papermill_parameters(source):
    notebook = jupytext.read(source)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    for name in (
        ("profile", "store")
        if source.stem in ("claims", "intro")
        else ("profile", "seeds", "device", "data", "store")
    ):
        assert f"{name} = " in cell.source


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory, tiny_cifar):
    """The book's sources copied aside, so executing them leaves the repository as it is."""
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root / name)
    for folder in ("book", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder)
    (root / "prunestab").mkdir()  # marks the folder as the repository for default_store
    parameters = {
        "profile": "smoke",
        "data": str(tiny_cifar),
        "store": str(root / "results"),
        "device": "cpu",
        "seeds": None,
    }
    return root, parameters


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: Path(n).stem)
def test_notebook_executes_at_the_smoke_profile(book_copy, notebook):
    root, parameters = book_copy
    (timing,) = execute_notebooks(root, parameters, only=(Path(notebook).stem,))
    executed = jupytext.read(root / notebook)
    errors = [
        o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    streams = [o for c in executed.cells for o in c.get("outputs", []) if "text" in o]
    assert not any("runs computed" in str(o["text"]) for o in streams)  # progress: terminal
    assert not any("Warning" in str(o["text"]) for o in streams)  # no raw warnings on pages
    if "claims" not in notebook:
        assert "smoke" in str([c.get("outputs") for c in executed.cells])  # states its profile


@pytest.fixture(scope="module")
def built_book(book_copy):
    root, _ = book_copy
    build(root)
    return root / "_build" / "html"


@pytest.mark.slow
def test_the_book_builds_with_every_chapter_and_bundled_mathjax(built_book):
    for notebook in NOTEBOOKS:
        assert (built_book / Path(notebook).with_suffix(".html")).exists()
    assert (built_book / "_static" / "mathjax" / "MathJax.js").exists()
    page = (built_book / "notebooks" / "fig1_instability.html").read_text()
    assert 'src="../_static/mathjax/MathJax.js' in page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com/mathjax" not in page


def _rendered(page: Path) -> str:
    """The page's DOM after its scripts (MathJax) ran, from headless Chromium."""
    out = subprocess.run(
        [
            CHROMIUM,
            *BROWSER_FLAGS,
            f"--user-data-dir={page.parent / '.chromium'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_a_browser_sees_the_figures_and_rendered_math(built_book):
    index = _rendered(built_book / "index.html")
    assert "Generalization-Stability Tradeoff" in index
    assert 'class="MathJax"' in index  # the intro's instability formula, typeset offline
    figure = _rendered(built_book / "notebooks" / "fig1_instability.html")
    assert 'class="MathJax"' in figure
    images = re.findall(r'<img[^>]*\ssrc="([^"]+)"', figure)
    assert any(src.endswith(".png") for src in images)
    for src in images:
        if not src.startswith("data:"):  # the explorers' figures are inline
            assert (built_book / "notebooks" / src).resolve().exists()


_SUBSCRIPT = """
(() => {
  const hub = window.MathJax && MathJax.Hub;
  if (!hub || hub.queue.pending || hub.queue.running || !document.querySelector('.MathJax'))
    return null;
  const math = Array.from(document.querySelectorAll('article span.math')).find(
    m => (m.querySelector('script[type="math/tex"]') || {}).textContent === '_L');
  if (!math) return {missing: 'no inline prune$_L$ in the article'};
  const glyph = Array.from(math.querySelectorAll('.mi span, .mi'))
    .filter(s => s.childElementCount === 0 && s.textContent.trim()).pop();
  const text = document.createRange();
  text.selectNodeContents(math.previousSibling);
  const line = Array.from(text.getClientRects()).pop();
  return {glyph_bottom: glyph.getBoundingClientRect().bottom, text_bottom: line.bottom,
          font: getComputedStyle(glyph).fontFamily};
})()
"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_inline_math_is_set_in_the_bundled_font_with_subscripts_below_the_line(
    built_book, tmp_path
):
    """The bundled MathJax 2 ships only its STIX-Web fonts (``_config.yml`` names them), and
    the theme's flex layout of inline math lifts MathJax 2's subscripts (``math.css``)."""
    from cdp import Chromium

    with Chromium(CHROMIUM, tmp_path / "profile") as browser:
        browser.open((built_book / "notebooks" / "budget_study.html").as_uri())
        for _ in range(300):
            found = browser.evaluate(_SUBSCRIPT)  # "prune$_L$ 13% minus unpruned"
            if found is not None:
                break
            time.sleep(0.1)
    assert found is not None, "MathJax did not finish typesetting within 30 s"
    assert "missing" not in found, found["missing"]
    assert found["font"].startswith("STIXMathJax"), found["font"]
    assert found["glyph_bottom"] > found["text_bottom"], found


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_a_browser_sees_every_claim_as_a_table_row_with_a_text_verdict(built_book):
    """MyST-NB renders Markdown outputs as CommonMark (no tables): every table a chapter
    prints must be HTML, or the reader meets raw pipes; claims carry text verdicts."""
    claim_pages = {"book/claims.html"} | {
        str(Path(n).with_suffix(".html")) for n in NOTEBOOKS if "fig" in n and "ebn" not in n
    }
    pipe_row = re.compile(r"\|\s*:?-{3,}:?\s*\|")  # a Markdown table's separator row
    for page in [str(Path(n).with_suffix(".html")) for n in NOTEBOOKS]:
        dom = _rendered(built_book / page)
        shown = re.sub(r"<pre.*?</pre>", "", dom, flags=re.S)  # what a reader reads, not code
        shown = re.sub(r"<script.*?</script>", "", shown, flags=re.S)
        assert not pipe_row.search(shown) and "| figure |" not in shown, page
        if page not in claim_pages:
            continue
        tables = re.findall(r'<table class="claims">.*?</table>', dom, re.S)
        verdict_tables = [t for t in tables if 'class="verdict verdict-' in t]
        assert verdict_tables, f"{page}: no claims table"
        for table in verdict_tables:  # every claim row carries its text badge
            rows = table.count("<tr>") - 1
            badges = len(re.findall(r'class="verdict verdict-\w+"', table))
            assert rows >= 1 and badges >= rows, page
    stylesheet = built_book / "_static" / "verdicts.css"
    assert ".verdict-reproduced" in stylesheet.read_text()


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_no_page_logs_an_error_in_the_console(built_book, tmp_path):
    """Every page once logged ``SyntaxError: Identifier 'THEBE_JS_URL' has already been
    declared`` (``book/_ext/single_scripts.py``)."""
    from cdp import Chromium

    pages = [str(Path(n).with_suffix(".html")) for n in NOTEBOOKS]
    with Chromium(CHROMIUM, tmp_path / "profile") as browser:
        for page in pages:
            browser.open((built_book / page).as_uri())
            time.sleep(0.5)  # scripts loaded async
            browser.evaluate("1")  # read the events that arrived meanwhile
            assert not browser.errors, f"{page}: {browser.errors}"


_VISIBLE = """
(() => {
  const explorer = document.querySelector('[data-explorer="NAME"]');
  return Array.from(explorer.querySelectorAll('.ps-explorer-pane'))
    .filter(p => !p.hidden)
    .map(p => [p.getAttribute('data-key'), p.innerHTML.length, p.innerHTML.slice(-200)]);
})()
"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_a_reader_moves_an_explorer_control_and_the_figure_changes(built_book, tmp_path):
    """No kernel: the static explorers switch among figures drawn at build time, with the
    site's own script (no CDN)."""
    from cdp import Chromium

    assert (built_book / "_static" / "explorer.js").exists()
    explorers = {
        "notebooks/fig1_instability.html": ["Figure 1"],
        "notebooks/fig4_rates.html": ["Figure 4", "schedule"],
        "notebooks/fig5_noise.html": ["Figure 5"],
    }
    with Chromium(CHROMIUM, tmp_path / "profile") as browser:
        for page, names in explorers.items():
            html = (built_book / page).read_text()
            external = re.findall(r'<script[^>]*src="(https?:[^"]+)"', html)
            assert not external, f"{page} loads scripts from elsewhere: {external}"
            browser.open((built_book / page).as_uri())
            notes = "Array.from(document.querySelectorAll('.ps-explorer-static'))"
            assert browser.evaluate(f"{notes}.length") == len(names)
            assert browser.evaluate(f"{notes}.every(n => n.hidden)"), (
                f"{page}: the script left the 'run the notebook' note showing"
            )
            for name in names:
                visible = _VISIBLE.replace("NAME", name)
                (before,) = browser.evaluate(visible)
                slider = browser.evaluate(
                    f"""(() => {{
                      const s = document.querySelector('[data-explorer="{name}"] input[type=range]');
                      if (!s) return null;
                      s.scrollIntoView({{block: 'center'}});
                      const r = s.getBoundingClientRect();
                      return [r.left, r.top, r.width, r.height, Number(s.value), Number(s.max)];
                    }})()"""
                )
                if slider is not None:  # a mouse click at the slider's other end
                    left, top, width, height, value, top_index = slider
                    x = left + 3 if value == top_index else left + width - 3
                    browser.click(x, top + height / 2)
                else:  # a menu: choose its next option, as the browser does on a pick
                    browser.evaluate(
                        f"""(() => {{
                          const s = document.querySelector('[data-explorer="{name}"] select');
                          s.selectedIndex = (s.selectedIndex + 1) % s.options.length;
                          s.dispatchEvent(new Event('change', {{bubbles: true}}));
                        }})()"""
                    )
                (after,) = browser.evaluate(visible)
                assert after[0] != before[0], f"{page} {name}: the control did not switch"
                assert after[1:] != before[1:], f"{page} {name}: the figure did not change"


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout"
)
def test_the_readme_papermill_command_reads_the_published_runs_and_leaves_git_clean():
    """The exact command README gives (no output path: the notebook goes to stdout)."""
    import nbformat

    readme = (ROOT / "README.md").read_text().splitlines()
    (command,) = [line for line in readme if line.startswith("papermill notebooks/fig5_noise")]
    before = _git_status()
    # As a user of this environment types it: its scripts first on PATH, whether or not
    # the suite was started from an activated venv (VENV/bin/python -m pytest).
    scripts = str(Path(sys.executable).parent)
    env = os.environ | {"PATH": scripts + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run(
        command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    notebook = nbformat.reads(done.stdout, as_version=4)
    shown = str([c.get("outputs") for c in notebook.cells])
    assert "Results below come from the **quick** profile" in shown
    assert "zeroing50" in shown and "error" not in [
        o.get("output_type") for c in notebook.cells for o in c.get("outputs", [])
    ]
    assert _git_status() == before  # nothing written into results/ or the notebooks


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout"
)
def test_a_clean_clone_rebuilds_the_committed_book_computing_nothing(tmp_path):
    """README's main command on a fresh clone (of this checkout's tracked files as they
    are now: ``git stash create``), with no CIFAR-10 anywhere: every chapter reads stored
    results (and Figure A1's stored probe), so nothing is trained, no image is read, the
    executed notebooks equal the committed ones and ``git status`` stays clean."""

    def git(*args, cwd=ROOT):
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    commit = git("stash", "create") or git("rev-parse", "HEAD")
    clone = tmp_path / "clone"
    git("clone", "-q", "--shared", "--no-checkout", str(ROOT), str(clone))
    git("checkout", "-q", commit, cwd=clone)
    home = tmp_path / "home"  # no ~/.cache/prunestab copy of CIFAR-10 either
    home.mkdir()
    scripts = str(Path(sys.executable).parent)
    env = os.environ | {
        "PATH": scripts + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(clone),  # the clone's package, not the installed checkout's
        "PRUNESTAB_DATA": str(tmp_path / "no-cifar-here"),
        "HOME": str(home),
    }
    entry = "from prunestab.cli import main; raise SystemExit(main())"
    done = subprocess.run(
        [sys.executable, "-c", entry, "book", "--profile", "quick", "--jobs", "2"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert " to compute" not in done.stdout.replace("nothing to compute", "")
    assert (clone / "_build" / "html" / "index.html").exists()
    assert git("status", "--porcelain", "--untracked-files=all", cwd=clone) == ""
