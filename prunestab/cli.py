"""``prunestab``: run one configuration, or sweep a figure's grid.

    prunestab run --profile smoke --model vgg11 --score l2 --target L --retrain-period 40
    prunestab run --config run.json
    prunestab sweep fig1 --profile quick [--store DIR] [--seeds N] [--device D] [--list]
    prunestab sweep fig4 --profile paper --executor slurm --partition gpu --gpus-per-task 1
    prunestab status fig4 --profile paper [--json]
    prunestab book --profile smoke        # execute every notebook, then build the book

Runs are stored under ``--store`` (default ``./results``), one folder per config hash;
a completed run is never recomputed and an interrupted one resumes. ``sweep --list``
prints each run's hash, status and config as JSON lines, so that another executor (a
cluster array job, another machine) can take the runs with ``prunestab run --config``.
"""

from __future__ import annotations

import argparse
import errno
import json
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from prunestab.book.build import main as book_main
from prunestab.config import TARGET_LABELS, RunConfig, config_hash
from prunestab.data.files import DataNotFoundError
from prunestab.paper import fig5
from prunestab.paper.common import (
    CONV4_EPOCHS,
    CONV4_MILESTONES,
    DEFAULT_RETRAIN_PERIODS,
    SCHEDULES,
    base_config,
    pruned,
)
from prunestab.paper.profiles import PROFILES, default_store, get_profile, profile_of
from prunestab.paper.registry import FIGURES, figure
from prunestab.store import RunLockedError, RunStore, check_access, check_writable
from prunestab.sweep.arguments import add_cluster_arguments, cluster_options, positive_int
from prunestab.sweep.cluster import JobLiveness, submit
from prunestab.sweep.runner import DataCache, execute, execute_many
from prunestab.sweep.status import DEFAULT_MAX_RETRIES, as_json, grid_status, render
from prunestab.training.execution import Execution

TARGETS_BY_LABEL = {label: name for name, label in TARGET_LABELS.items()}
NOISE_CHOICES = [f"{kind}{steps}" for kind in fig5.NOISE_KINDS for steps in fig5.NOISE_STEPS]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prunestab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "book", help="execute the notebooks at a profile and build the book (prunestab book --help)"
    )

    common = _common_arguments()
    _add_run(sub, common)
    _add_sweep(sub, common)
    _add_status(sub)
    return parser


def _common_arguments() -> argparse.ArgumentParser:
    """The options ``run`` and ``sweep`` share (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        default=None,
        help="run store folder (default: results/ for published profiles, quick and the "
        "budget ones; store/PROFILE/ for smoke and paper)",
    )
    common.add_argument("--data", default=None, help="CIFAR-10 folder (else $PRUNESTAB_DATA)")
    common.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    common.add_argument("--no-progress", action="store_true", help="no progress bars")
    common.add_argument(
        "--compile",
        action="store_true",
        help="train with torch.compile (speed only: results are the same runs)",
    )
    return common


def _add_run(sub, common: argparse.ArgumentParser) -> None:
    run = sub.add_parser("run", parents=[common], help="compute (or fetch) one run")
    run.add_argument("--config", type=Path, help="a RunConfig as JSON (from sweep --list)")
    run.add_argument(
        "--profile",
        default=None,
        choices=list(PROFILES),
        help="default: paper; with --config, the profile whose data settings the config has",
    )
    run.add_argument("--model", default="vgg11", choices=list(SCHEDULES))
    run.add_argument(
        "--score",
        default="l2",
        choices=["none", "l2", "ebn", "ebn_signed", "magnitude"],
        help="none: unpruned baseline",
    )
    run.add_argument("--target", default="S", choices=list(TARGETS_BY_LABEL))
    run.add_argument("--structure", default="structured", choices=["structured", "unstructured"])
    run.add_argument(
        "--retrain-period",
        type=int,
        default=None,
        help="paper epochs between pruning events (A.3's r; default per model: "
        + ", ".join(f"{m} {r}" for m, r in DEFAULT_RETRAIN_PERIODS.items())
        + ")",
    )
    run.add_argument(
        "--one-shot",
        type=int,
        default=None,
        metavar="EPOCH",
        help="prune everything at this paper epoch instead",
    )
    run.add_argument(
        "--noise",
        default=None,
        choices=NOISE_CHOICES,
        help="Figure 5: noise instead of pruning (l2 prune_L targets)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--keep-model", action="store_true", help="also save final weights")


def _add_sweep(sub, common: argparse.ArgumentParser) -> None:
    sweep = sub.add_parser("sweep", parents=[common], help="every run of a figure")
    sweep.add_argument("figure", choices=[*FIGURES, "all"], help="a figure, or all of them")
    sweep.add_argument("--profile", default="paper", choices=list(PROFILES))
    sweep.add_argument("--seeds", type=int, default=None, help="runs per configuration")
    sweep.add_argument("--list", action="store_true", help="print the runs as JSON lines, run none")
    sweep.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="runs at once in N worker processes, each with cores/N threads "
        "(fastest on CPUs; default: 1)",
    )
    sweep.add_argument(
        "--batch-seeds",
        action="store_true",
        help="train the seeds of each configuration side by side as one model "
        "(fastest on GPUs; results equal up to rounding)",
    )
    sweep.add_argument(
        "--max-group",
        type=positive_int,
        default=None,
        metavar="K",
        help="with --batch-seeds, at most K seeds per group (default: all)",
    )
    add_cluster_arguments(sweep)


def _add_status(sub) -> None:
    status = sub.add_parser("status", help="where a figure's runs stand (done, running, ...)")
    status.add_argument("figure", choices=[*FIGURES, "all"], help="a figure, or all of them")
    status.add_argument("--profile", default="paper", choices=list(PROFILES))
    status.add_argument("--seeds", type=int, default=None, help="runs per configuration")
    status.add_argument("--store", default=None, help="run store folder (as for sweep)")
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    status.add_argument("--all", action="store_true", help="list every run, done ones too")
    status.add_argument("--max-retries", type=int, default=DEFAULT_MAX_RETRIES, help="as for sweep")


def _config_from_flags(args: argparse.Namespace) -> tuple[RunConfig, str]:
    """The run that ``prunestab run``'s flags describe, and the profile it records.

    With ``--config`` the profile comes from the config's data settings
    (``profiles.profile_of``) unless ``--profile`` names it; a disagreeing ``--profile`` is
    refused. Otherwise the config is built from the flags, at ``--profile`` (default
    ``paper``). ``args`` is not modified.
    """
    if args.config is not None:
        try:
            data = json.loads(args.config.read_text())
        except (OSError, ValueError) as err:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"--config {args.config}: cannot read a JSON config ({err})") from None
        except RecursionError:
            raise ValueError(
                f"--config {args.config}: cannot read a JSON config (nested too deeply); "
                "allowed: a run's config as sweep --list writes it"
            ) from None
        if isinstance(data, dict) and "config" in data:
            data = data["config"]  # a line of sweep --list
        try:
            config = RunConfig.from_dict(data).replace(device=args.device)
        except ValueError as err:
            raise ValueError(f"--config {args.config}: {err}") from None
        matched = profile_of(config)
        if args.profile is None:
            if matched is None:
                raise ValueError(
                    f"--config {args.config}: its data settings match no profile; name the "
                    f"profile to record with --profile (allowed: {', '.join(PROFILES)})"
                )
            return config, matched
        if matched is not None and matched != args.profile:
            raise ValueError(
                f"--config {args.config} is a {matched} run (its data settings); "
                f"--profile {args.profile} would record it wrongly: drop --profile or pass "
                f"--profile {matched}"
            )
        return config, args.profile
    name = "paper" if args.profile is None else args.profile
    profile = get_profile(name)
    schedule = SCHEDULES[args.model]
    conv4 = dict(epochs=CONV4_EPOCHS, milestones=CONV4_MILESTONES, augment=True)
    base = base_config(
        profile, args.model, args.seed, args.device, **(conv4 if args.model == "conv4" else {})
    )
    if args.score == "none":
        return base, name
    period = (
        DEFAULT_RETRAIN_PERIODS[args.model] if args.retrain_period is None else args.retrain_period
    )
    structure = "unstructured" if args.score == "magnitude" else args.structure
    score = "magnitude" if structure == "unstructured" else args.score
    if args.noise is None:
        target = TARGETS_BY_LABEL[args.target]
        config = pruned(
            base, profile, schedule, period, score, target, structure, one_shot_epoch=args.one_shot
        )
        return config, name
    kind = next(k for k in fig5.NOISE_KINDS if args.noise.startswith(k))
    baseline = fig5.prune_l(base, profile, schedule, period, structure, args.one_shot)
    return fig5.with_noise(
        baseline, profile, kind, int(args.noise.removeprefix(kind)), period
    ), name


def _summary_line(result: dict) -> str:
    s = result["summary"]
    return (
        f"{result['label']}: final test {s['final_test_acc']:.2f}%, best after pruning "
        f"{s['best_test_acc_after_pruning']:.2f}%, mean instability "
        f"{s['mean_instability'] if s['mean_instability'] is not None else float('nan'):.2f} pp"
    )


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"prunestab: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["book"]:  # notebooks + Jupyter Book: its own parser, in prunestab.book.build
        return book_main(argv[1:])
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the global hook when we return
        warnings.showwarning = _show_warning
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    data = DataCache(getattr(args, "data", None))
    progress = False if getattr(args, "no_progress", False) else None
    execution = Execution(compile=True) if getattr(args, "compile", False) else None
    try:
        # A run's profile may come from its --config, and the store follows the profile.
        profile = getattr(args, "profile", None)
        config = None
        if args.command == "run":
            config, profile = _config_from_flags(args)
        store = default_store(args.store, profile)
        if args.command == "run" or (args.command == "sweep" and not args.list):
            store.check_writable()  # before anything is computed or submitted
        if args.command == "run":
            check_access(store.run_dir(config), write=True)
        if args.command == "run":
            return _run(args, config, profile, store, data, progress, execution)
        figures = FIGURES if args.figure == "all" else (args.figure,)
        if args.command == "status":
            return _status(args, figures, store)
        return _sweep(args, figures, store, data, progress, execution)
    except (DataNotFoundError, RunLockedError, ValueError) as err:
        print(f"prunestab: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        print(
            f"prunestab: no space left on the device while writing {err.filename or 'the store'}; "
            "free some space and rerun: stored results are kept, and an interrupted run "
            "resumes from its last checkpoint",
            file=sys.stderr,
        )
        return 2


def _run(args, config: RunConfig, profile: str, store: RunStore, data, progress, execution) -> int:
    """``prunestab run``: compute (or fetch) one run and say where it is stored."""
    started = time.monotonic()
    result = execute(
        config,
        store,
        data,
        profile=profile,
        progress=progress,
        keep_model=args.keep_model,
        execution=execution,
    )
    print(_summary_line(result))
    print(f"stored in {store.run_dir(config)} ({time.monotonic() - started:.1f} s)")
    return 0


def _sweep(args, figures: Sequence[str], store: RunStore, data, progress, execution) -> int:
    """``prunestab sweep``: every distinct run of ``figures``, here, listed, or submitted."""
    grid = {f: figure(f).configs(args.profile, args.seeds, args.device) for f in figures}
    unique = list({config_hash(c): c for f in figures for c in grid[f]}.values())
    keeps = {config_hash(c) for f in figures if figure(f).keeps_weights for c in grid[f]}

    def keeps_weights(config: RunConfig) -> bool:
        return config_hash(config) in keeps

    if not args.list:  # a shared store: runs another user made must be writable here
        for config in unique:
            if not store.is_complete(config):
                check_access(store.run_dir(config), write=True)
    if args.executor != "local":
        options = cluster_options(args, store)
        check_writable(options.log_dir, "log folder", "--log-dir")
        submission = submit(
            unique, store, options, args.data, args.profile, keep_model=keeps_weights
        )
        print(submission.report())
        watch = ["prunestab", "status", args.figure, "--profile", args.profile]
        watch += ["--store", str(args.store)] if args.store else []
        print(f"watch: {shlex.join(watch)}")  # quoted: a copied path may hold spaces
        return 0
    if args.list:
        for config in unique:
            line = {
                "hash": config_hash(config),
                "status": "done" if store.is_complete(config) else "todo",
                "profile": args.profile,
                "config": config.to_dict(),
            }
            print(json.dumps(line))
        return 0
    counter = iter(range(1, len(unique) + 1))

    def report(config: RunConfig, result: dict, computed: bool) -> None:
        i = next(counter)
        print(
            f"[{i}/{len(unique)}] {'ran' if computed else 'stored'} {_summary_line(result)}",
            flush=True,
        )

    execute_many(
        unique,
        store,
        data,
        batch_seeds=args.batch_seeds,
        max_group=args.max_group,
        jobs=args.jobs,
        profile=args.profile,
        progress=progress,
        on_result=report,
        keep_model=keeps_weights,
        execution=execution,
    )
    return 0


def _status(args: argparse.Namespace, figures: Sequence[str], store: RunStore) -> int:
    reports, alive = [], JobLiveness()
    for name in figures:
        spec = figure(name)
        states = grid_status(
            spec.configs(args.profile, args.seeds),
            store,
            max_retries=args.max_retries,
            alive=alive,
            keep_model=lambda config, keep=spec.keeps_weights: keep,
        )
        reports.append((name, states))
    if args.json:
        print(json.dumps([as_json(f, args.profile, s) for f, s in reports], indent=1))
    else:
        for name, states in reports:
            print(render(name, args.profile, states, verbose=args.all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
