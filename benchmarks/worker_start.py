"""Time how long a worker process takes to be ready to train, two ways, in one process.

1. ``spawn``: a fresh interpreter per worker, which imports torch and prunestab and, on
   its first load of CIFAR-10, torchvision's checksum list (how ``runner`` and
   ``cluster`` started workers before ``workers.worker_context``).
2. ``forkserver``: ``workers.worker_context()``: one fork server imports all that once;
   each worker is a fork of it. The server's own start is timed separately, since a
   process pays it once, at its first pool.

Each way starts ``--workers`` workers ``--repeats`` times (a pool per repeat); a worker
is ready when it has run ``prunestab.data.files.verify_checksums`` on a fake CIFAR-10 folder
(what a run does first). Reported: wall seconds until every worker of a pool is ready,
and the CPU seconds the workers used (read in each worker), fastest repeat; then the
ratios. Run on a quiet machine; on a loaded one the wall times measure the load.

    python benchmarks/worker_start.py
    python benchmarks/worker_start.py --workers 4 --repeats 5
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import write_fake_cifar10  # noqa: E402

from prunestab.data.files import verify_checksums  # noqa: E402
from prunestab.sweep.arguments import positive_int  # noqa: E402
from prunestab.sweep.workers import worker_context  # noqa: E402


def _ready(root: str) -> float:
    """A worker's first step of a run; the CPU seconds this process has used so far."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verify_checksums(Path(root))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pool(context, workers: int, root: str) -> tuple[float, float]:
    """Wall seconds until ``workers`` fresh workers are ready, and their CPU seconds."""
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=context, max_tasks_per_child=1) as pool:
        cpu = sum(pool.map(_ready, [root] * workers))
        wall = time.perf_counter() - started
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--repeats", type=positive_int, default=3)
    args = parser.parse_args()
    root = str(write_fake_cifar10(Path(tempfile.mkdtemp()), train_per_class=2, test_per_class=1))

    started = time.perf_counter()
    forkserver = worker_context()  # starts the fork server, imports included
    if forkserver.get_start_method() != "forkserver":
        sys.exit(f"this platform starts workers with {forkserver.get_start_method()!r}")
    _pool(forkserver, 1, root)
    server_start = time.perf_counter() - started

    rows = {}
    for name, context in (
        ("spawn", multiprocessing.get_context("spawn")),
        ("forkserver", forkserver),
    ):
        rows[name] = min(_pool(context, args.workers, root) for _ in range(args.repeats))
        wall, cpu = rows[name]
        print(f"{name:>10}: {args.workers} workers ready in {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    print(f"fork server's own start (once per process): {server_start:.2f} s wall")
    (sw, sc), (fw, fc) = rows["spawn"], rows["forkserver"]
    print(f"spawn / forkserver: {sw / fw:.1f}x wall, {sc / max(fc, 1e-3):.1f}x CPU per pool")


if __name__ == "__main__":
    main()
