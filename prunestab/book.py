"""Execute every notebook with papermill at a profile, then build the Jupyter Book.

    prunestab book --profile smoke        # or quick, paper; --only fig1,fig5 to subset

Notebooks run in place (``notebooks/*.ipynb``, then the claims page), each with the
same parameters, from the repository root, so they share one run store; the book is
then built without execution (``_config.yml``: ``execute_notebooks: "off"``), rendering
exactly what papermill produced. Wall times are printed per notebook and for the build.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from prunestab.paths import repository_root

#: Execution order: the claims page last, since it collects what the others recorded.
NOTEBOOKS = (
    "notebooks/ebn_derivation.ipynb",
    "notebooks/fig1_instability.ipynb",
    "notebooks/fig2_deciles.ipynb",
    "notebooks/fig3_resnet_unstructured.ipynb",
    "notebooks/fig4_rates.ipynb",
    "notebooks/fig5_noise.ipynb",
    "notebooks/figA1_bn_normality.ipynb",
    "notebooks/figA2_epochwise.ipynb",
    "notebooks/budget_study.ipynb",
    "book/claims.ipynb",
)


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
) -> list[Timing]:
    """Run the notebooks with papermill; returns each one's wall time.

    ``only``: notebook stems to run (e.g. ``("fig1_instability", "claims")``), in the
    fixed order. ``output_root``: write executed copies there instead of in place.
    """
    import papermill

    timings = []
    for relative in NOTEBOOKS:
        stem = Path(relative).stem
        if only is not None and stem not in only:
            continue
        source = root / relative
        target = (output_root or root) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        names = _parameter_names(source)
        started = time.monotonic()
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters={k: v for k, v in parameters.items() if k in names},
            cwd=str(root),
            progress_bar=False,
            kernel_name="python3",
        )
        timings.append(Timing(relative, time.monotonic() - started))
        print(f"executed {relative} in {timings[-1].seconds:.1f} s", flush=True)
    return timings


def _parameter_names(notebook: Path) -> set[str]:
    import papermill

    return {p for p in papermill.inspect_notebook(str(notebook))}


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


def main(argv: list[str] | None = None) -> int:
    """``prunestab book``: execute the notebooks at a profile, then build the book."""
    import argparse

    from prunestab.profiles import PROFILES

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
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds={args.seeds}; allowed: an integer >= 1")
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs}; allowed: an integer >= 1")
    root = args.root.resolve() if args.root else find_root()
    known = {Path(n).stem for n in NOTEBOOKS}
    only = None if args.only is None else (*args.only.split(","), "claims")
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
        timings = execute_notebooks(root, parameters, only)
    except Exception as err:  # papermill's execution error carries the cell's exception
        ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
        if ename is None:
            raise
        print(f"prunestab book: a notebook stopped with {ename}: {evalue}", file=sys.stderr)
        return 2
    if not args.no_build:
        timings.append(build(root))
    width = max(len(t.name) for t in timings)
    print("\nwall time")
    for t in timings:
        print(f"  {t.name:<{width}}  {t.seconds:7.1f} s")
    print(f"  {'total':<{width}}  {sum(t.seconds for t in timings):7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
