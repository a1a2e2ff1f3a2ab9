"""A pytest plugin that prints each test's CPU time, which load on the machine barely moves.

CPU time is user + system time of the test process, of the children it waited for, and
of multiprocessing's fork server with the workers it forked
(``prunestab.sweep.workers.worker_context``), so on a busy machine it still says what a test
costs; with ``OMP_NUM_THREADS=1`` it bounds the test's wall time on an idle machine from above.

    OMP_NUM_THREADS=1 PYTHONPATH=.:benchmarks python -m pytest -q -m "not slow" -p cpuclock
"""

from __future__ import annotations

import multiprocessing.forkserver
import os
import resource
import time
from pathlib import Path

import pytest

_rows: list[tuple[float, float, str]] = []


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _forkserver()


def _forkserver() -> float:
    """CPU of multiprocessing's fork server and the workers it forked and reaped: they are
    not this process's waited-for children until it exits, so rusage misses them."""
    pid = multiprocessing.forkserver._forkserver._forkserver_pid
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, wall = _cpu(), time.perf_counter()
    yield
    _rows.append((_cpu() - cpu, time.perf_counter() - wall, item.nodeid))


def pytest_terminal_summary(terminalreporter) -> None:
    write = terminalreporter.write_line
    rows = sorted(_rows, reverse=True)
    total_cpu, total_wall = sum(r[0] for r in rows), sum(r[1] for r in rows)
    write(
        f"== CPU time per test: {len(rows)} tests, {total_cpu:.1f} s CPU, {total_wall:.1f} s wall =="
    )
    for cpu, wall, nodeid in rows[:30]:
        write(f"{cpu:8.2f} s CPU {wall:8.2f} s wall  {nodeid}")
    write("== Waiting: wall minus CPU time, the most (sleeps, timeouts, other processes) ==")
    for cpu, wall, nodeid in sorted(rows, key=lambda r: r[0] - r[1])[:15]:
        write(f"{wall - cpu:8.2f} s waiting {cpu:8.2f} s CPU  {nodeid}")
    by_file: dict[str, float] = {}
    for cpu, _, nodeid in rows:
        by_file[nodeid.split("::")[0]] = by_file.get(nodeid.split("::")[0], 0.0) + cpu
    write("== CPU time per file ==")
    for name, cpu in sorted(by_file.items(), key=lambda item: -item[1]):
        write(f"{cpu:8.2f} s  {name}")
