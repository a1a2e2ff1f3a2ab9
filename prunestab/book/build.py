"""Execute every notebook with papermill at a profile, then build the Jupyter Book.

    prunestab book --profile quick        # or smoke, paper; --only fig1,fig5 to subset

Before executing anything it states, per notebook, how many runs are stored and how many
must be computed, and stops with one paragraph if runs must be computed and no CIFAR-10
is found. Notebooks run from the repository root with the same parameters (so they share
one run store), into ``_build/executed/``; an executed notebook replaces the tracked one
(``notebooks/*.ipynb``, then the claims page) only if what a reader sees changed, so a
run with nothing new to show leaves ``git status`` clean. The book is then built without
execution (``_config.yml``: ``execute_notebooks: "off"``), rendering exactly what
papermill produced. Wall times are printed per notebook and for the build.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from matplotlib.testing.compare import compare_images
from matplotlib.testing.exceptions import ImageComparisonFailure

from prunestab.book.analysis import PROGRESS_ENV_VAR
from prunestab.config import config_hash
from prunestab.data.files import DataNotFoundError, locate
from prunestab.paper.profiles import PROFILES, default_store
from prunestab.paper.registry import CHAPTERS, figure
from prunestab.paths import repository_root
from prunestab.sweep.arguments import add_cluster_arguments, cluster_options
from prunestab.sweep.cluster import submit
from prunestab.sweep.runner import is_stored

#: The chapters in execution order (``paper.registry.CHAPTERS``), then the claims page,
#: which collects what they recorded, and the front page last, since it counts the claims.
NOTEBOOKS = (*(c.notebook for c in CHAPTERS), "book/claims.ipynb", "book/intro.ipynb")
#: The figures whose runs each notebook computes when they are missing (the budget study
#: and the claims page read stored results only).
NOTEBOOK_FIGURES = {**{c.stem: c.computes for c in CHAPTERS}, "claims": (), "intro": ()}
#: Where executed copies go before they are compared with the tracked notebooks.
EXECUTED = Path("_build") / "executed"


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float


def find_root(start: Path | None = None) -> Path:
    """The repository root (``prunestab.paths.repository_root``), or a clear error."""
    root = repository_root(start)
    if root is None:
        here = (start or Path.cwd()).resolve()
        raise FileNotFoundError(
            f"no _toc.yml above {here}: run from the prunestab repository (or pass --root)"
        )
    return root


def execute_notebooks(
    root: Path,
    parameters: dict,
    only: tuple[str, ...] | None = None,
    output_root: Path | None = None,
    stream: bool = False,
) -> list[Timing]:
    """Run the notebooks with papermill; returns each one's wall time.

    ``only``: notebook stems to run (e.g. ``("fig1_instability", "claims")``), in the
    fixed order. Each is executed into ``_build/executed/`` and then replaces the tracked
    notebook only if what a reader sees changed (:func:`settle`); ``output_root``: write
    the executed copies there instead and touch nothing tracked. ``stream``: echo the
    notebooks' output to this terminal as it comes.
    """
    timings = []
    with _progress_to_terminal(root):
        for relative in NOTEBOOKS:
            if only is not None and Path(relative).stem not in only:
                continue
            timings.append(_execute_one(root, relative, parameters, output_root, stream))
    return timings


@contextmanager
def _progress_to_terminal(root: Path):
    """Name a progress file for the chapters' kernels (``analysis.PROGRESS_ENV_VAR``) and
    print its lines here as they are appended."""
    folder = root / EXECUTED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "progress.log"
    path.write_text("")
    stop = threading.Event()

    def follow() -> None:
        with open(path) as f:
            while True:
                line = f.readline()
                if line:
                    print(f"  {line.rstrip()}", flush=True)
                elif stop.is_set():
                    return
                else:
                    time.sleep(0.5)

    previous = os.environ.get(PROGRESS_ENV_VAR)
    os.environ[PROGRESS_ENV_VAR] = str(path)
    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        yield
    finally:
        stop.set()
        follower.join(timeout=5)
        if previous is None:
            os.environ.pop(PROGRESS_ENV_VAR, None)
        else:
            os.environ[PROGRESS_ENV_VAR] = previous


def _execute_one(root: Path, relative: str, parameters: dict, output_root, stream) -> Timing:
    import papermill

    source = root / relative
    target = (output_root or root / EXECUTED) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    names = _parameter_names(source)
    started = time.monotonic()
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters={k: v for k, v in parameters.items() if k in names},
            cwd=str(root),
            progress_bar=False,
            kernel_name="python3",
            stdout_file=sys.stdout if stream else None,
            stderr_file=sys.stderr if stream else None,
        )
    except Exception as err:
        err.notebook = relative  # named in the one-paragraph failure message
        raise
    timing = Timing(relative, time.monotonic() - started)
    hide_injected_parameters(target)
    changed = True if output_root is not None else settle(target, source)
    note = "" if changed else " (nothing a reader sees changed; kept the tracked copy)"
    print(f"executed {relative} in {timing.seconds:.1f} s{note}", flush=True)
    return timing


def hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected parameters cell ``remove-cell``: the book shows the
    chapter's provenance line, not the parameter plumbing."""
    import nbformat

    notebook = nbformat.read(str(path), as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, str(path))


#: Cell and notebook metadata that change on every execution without changing the page.
_VOLATILE_METADATA = ("execution", "papermill", "widgets")
#: Images embedded in HTML outputs (the static explorers' panes), as base64 PNG.
_EMBEDDED_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")
#: How far two renderings of one figure may differ and still count as the same picture:
#: the root mean square of the pixel differences, on matplotlib's 0-255 scale. The same
#: figure drawn on a CPU with AVX-512 differs from the committed one in 2 pixels by 1/255
#: (5 such pixels: RMS 0.003 on a 600 x 400 figure); a title that changes one digit
#: ("r = .5" to "r = .6") gives RMS 1.9 there (``tests/test_book.py``). 0.05 sits well
#: between them, and a one-digit change on a figure ten times larger still exceeds it.
IMAGE_TOLERANCE = 0.05


def _placeholder(index: int) -> str:
    return f"<image {index}>"


def reader_view(notebook: dict) -> tuple[dict, list[bytes]]:
    """What a reader of the book sees of an executed notebook, as its text and its
    images: cells, tags and outputs, without timestamps, durations, kernel bookkeeping,
    live-widget ids or the cells the page removes (the parameters cells). Every PNG, as
    an output or embedded in HTML, is replaced by ``<image i>`` in the text and returned
    decoded as the i-th image, so that pictures can be compared by their pixels."""
    images: list[bytes] = []

    def take(encoded: str) -> str:
        images.append(base64.b64decode("".join(encoded.split())))
        return _placeholder(len(images) - 1)

    cells = []
    for cell in notebook.get("cells", []):
        if "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue  # not on the page (the parameters cells: jobs=2 changes no number)
        outputs = []
        for output in cell.get("outputs", []):
            data = {}
            for mime, value in output.get("data", {}).items():
                if mime == "application/vnd.jupyter.widget-view+json":
                    continue
                if mime == "image/png":
                    data[mime] = take("".join(value) if isinstance(value, list) else value)
                elif mime == "text/html":
                    html = "".join(value) if isinstance(value, list) else value
                    data[mime] = _EMBEDDED_PNG.sub(lambda m: take(m.group(1)), html)
                else:
                    data[mime] = value
            kept = {k: v for k, v in output.items() if k not in ("data", "execution_count")}
            outputs.append({**kept, "data": data} if "data" in output else kept)
        metadata = {
            k: v for k, v in cell.get("metadata", {}).items() if k not in _VOLATILE_METADATA
        }
        cells.append(
            {
                "type": cell.get("cell_type"),
                "source": "".join(cell.get("source", "")),
                "metadata": metadata,
                "outputs": outputs,
            }
        )
    return {"cells": cells}, images


def same_picture(old: bytes, new: bytes, tolerance: float = IMAGE_TOLERANCE) -> bool:
    """Whether two PNGs show the same picture: equal bytes, or equal sizes whose pixels
    differ by an RMS of at most ``tolerance`` (``matplotlib.testing.compare``, the tool
    matplotlib tests its own figures with). Rendering differs between CPUs in the last
    bit of a few pixels; that is not a change a reader can see.

    >>> import io, matplotlib.pyplot as plt
    >>> buffer = io.BytesIO(); plt.figure(figsize=(1, 1)).savefig(buffer); plt.close("all")
    >>> same_picture(buffer.getvalue(), buffer.getvalue())
    True
    """
    if old == new:
        return True
    with tempfile.TemporaryDirectory() as folder:
        expected, actual = Path(folder) / "old.png", Path(folder) / "new.png"
        expected.write_bytes(old)
        actual.write_bytes(new)
        try:
            return compare_images(str(expected), str(actual), tol=tolerance) is None
        except ImageComparisonFailure:  # different sizes
            return False


def same_page(old: dict, new: dict) -> bool:
    """Whether two executed notebooks show a reader the same page (``reader_view``),
    images compared by their pixels (``same_picture``)."""
    old_text, old_images = reader_view(old)
    new_text, new_images = reader_view(new)
    return (
        old_text == new_text
        and len(old_images) == len(new_images)
        and all(same_picture(a, b) for a, b in zip(old_images, new_images, strict=True))
    )


def settle(executed: Path, tracked: Path) -> bool:
    """Copy ``executed`` over ``tracked`` if what a reader sees differs; return whether it
    did. An unchanged page keeps its file byte for byte (``git status`` stays clean), also
    where a figure was drawn a few 1/255 differently on another CPU."""
    new = json.loads(executed.read_text())
    if tracked.exists() and same_page(json.loads(tracked.read_text()), new):
        return False
    shutil.copyfile(executed, tracked)
    return True


@dataclass(frozen=True)
class Plan:
    """What executing one notebook will do: runs ``stored`` and ``missing``."""

    notebook: str
    stored: int
    missing: int
    to_compute: tuple = ()  # the missing RunConfigs
    keeps_weights: frozenset = frozenset()  # hashes of the runs that keep their weights


def plan(root: Path, parameters: dict, only: tuple[str, ...] | None = None) -> list[Plan]:
    """Per notebook, how many of its figures' runs are stored and how many it would
    compute, from the store alone (nothing is loaded or run)."""
    store = default_store(parameters.get("store"), parameters["profile"], root)
    plans = []
    for relative in NOTEBOOKS:
        stem = Path(relative).stem
        if only is not None and stem not in only:
            continue
        configs, keeps = {}, set()
        for name in NOTEBOOK_FIGURES[stem]:
            spec = figure(name)
            seeds = spec.seeds or parameters.get("seeds")
            grid = spec.configs(parameters["profile"], seeds, parameters.get("device", "cpu"))
            hashed = {config_hash(c): c for c in grid}
            configs.update(hashed)
            keeps |= set(hashed) if spec.keeps_weights else set()
        todo = tuple(c for h, c in configs.items() if not is_stored(store, c, h in keeps))
        plans.append(Plan(relative, len(configs) - len(todo), len(todo), todo, frozenset(keeps)))
    return plans


def _parameter_names(notebook: Path) -> set[str]:
    import papermill

    return {p for p in papermill.inspect_notebook(str(notebook))}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failure_message(err: Exception, verbose: bool = False) -> str | None:
    """One paragraph for a notebook that stopped: which notebook and cell, and the
    exception's own message (the full traceback too, with ``verbose``); ``None`` for an
    error that is not a notebook's."""
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename is None:
        return None
    notebook = getattr(err, "notebook", None) or "a notebook"
    cell = getattr(err, "exec_count", None)
    source = " ".join(str(getattr(err, "source", "")).split())
    where = f"{notebook}, cell [{cell}]" if cell is not None else notebook
    if source:
        where += f" ({source[:70]}{'...' if len(source) > 70 else ''})"
    message = f"prunestab book: {where} stopped with {ename}: {evalue}"
    if verbose:
        trace = _ANSI.sub("", "\n".join(getattr(err, "traceback", None) or []))
        message += "\n\n" + trace
    else:
        message += "\n(the full traceback: rerun with --verbose)"
    return message


def build(root: Path, output: Path | None = None) -> Timing:
    """``jupyter-book build`` of ``root`` (into ``output``/_build, default root/_build)."""
    # jupyter_book.cli.main has no __main__ guard; call its click entry point directly.
    entry = "from jupyter_book.cli.main import main; main()"
    command = [sys.executable, "-c", entry, "build", str(root)]
    if output is not None:
        command += ["--path-output", str(output)]
    started = time.monotonic()
    subprocess.run(command, check=True)
    timing = Timing("jupyter-book build", time.monotonic() - started)
    print(f"built the book in {timing.seconds:.1f} s", flush=True)
    return timing


def _submit_missing(args, root: Path, plans: list[Plan]) -> int:
    """``--executor slurm``: submit every notebook's missing runs and stop; the book is
    executed by a later ``prunestab book`` once ``prunestab status`` shows them done."""
    store = default_store(args.store, args.profile, root)
    configs = [c for p in plans for c in p.to_compute]
    keeps = frozenset().union(*(p.keeps_weights for p in plans))
    try:
        options = cluster_options(args, store)
        submitted = submit(
            configs,
            store,
            options,
            args.data,
            args.profile,
            keep_model=lambda config: config_hash(config) in keeps,
        )
        print(submitted.report())
    except ValueError as err:
        print(f"prunestab book: {err}", file=sys.stderr)
        return 2
    print(
        f"then, when `prunestab status all --profile {args.profile}` shows them done: "
        f"prunestab book --profile {args.profile}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prunestab book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="smoke", choices=list(PROFILES))
    parser.add_argument("--seeds", type=int, default=None, help="runs per configuration")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default=None, help="CIFAR-10 folder (else $PRUNESTAB_DATA)")
    parser.add_argument(
        "--store",
        default=None,
        help="run store (default: results/ for quick and the budget profiles, store/PROFILE/"
        " for smoke and paper)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs computed at once in worker processes (2 on a 2-core CPU)",
    )
    parser.add_argument("--root", type=Path, default=None, help="repository root")
    parser.add_argument("--only", default=None, help="comma-separated notebook names")
    parser.add_argument("--no-build", action="store_true", help="execute only")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="echo the notebooks' output as they run, and give a failing cell's full traceback",
    )
    add_cluster_arguments(parser)
    return parser


def _print_plans(plans: list[Plan]) -> None:
    for p in plans:
        if not NOTEBOOK_FIGURES[Path(p.notebook).stem]:
            print(f"{p.notebook}: reads stored results only", flush=True)
            continue
        what = f"{p.missing} to compute" if p.missing else "nothing to compute"
        print(f"{p.notebook}: {p.stored} runs stored, {what}", flush=True)


def _print_timings(timings: list[Timing]) -> None:
    width = max(len(t.name) for t in timings)
    print("\nwall time")
    for t in timings:
        print(f"  {t.name:<{width}}  {t.seconds:7.1f} s")
    print(f"  {'total':<{width}}  {sum(t.seconds for t in timings):7.1f} s")


def main(argv: list[str] | None = None) -> int:
    """``prunestab book``: execute the notebooks at a profile, then build the book.

    Args:
        argv: the command line after ``prunestab book`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 when the book was executed (and built), 2 with one paragraph
        on stderr when an argument, the data or a notebook failed.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds={args.seeds}; allowed: an integer >= 1")
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs}; allowed: an integer >= 1")
    root = args.root.resolve() if args.root else find_root()
    known = {Path(n).stem for n in NOTEBOOKS}
    only = None if args.only is None else (*args.only.split(","), "claims", "intro")
    if only is not None and not set(only) <= known:
        parser.error(f"--only {args.only}; allowed names: {', '.join(sorted(known))}")
    parameters = {
        "profile": args.profile,
        "seeds": args.seeds,
        "device": args.device,
        "data": args.data,
        "store": args.store,
        "jobs": args.jobs,
    }
    try:
        with warnings.catch_warnings():  # the chapters state their grids' warnings
            warnings.simplefilter("ignore")
            plans = plan(root, parameters, only)
    except ValueError as err:
        print(f"prunestab book: {err}", file=sys.stderr)
        return 2
    _print_plans(plans)
    if args.executor != "local":
        return _submit_missing(args, root, plans)
    if any(p.missing for p in plans):  # a run to train, or a kept model to probe
        try:
            locate(args.data)
        except DataNotFoundError as err:
            print(f"prunestab book: runs must be computed, and {err}", file=sys.stderr)
            return 2
    try:
        timings = execute_notebooks(root, parameters, only, stream=args.verbose)
    except Exception as err:  # papermill's execution error carries the cell's exception
        message = failure_message(err, verbose=args.verbose)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2
    if not args.no_build:
        timings.append(build(root))
    _print_timings(timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
