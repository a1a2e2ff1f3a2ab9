"""What a result records about how it was made: the software and hardware of the process
that wrote it, and every stretch of training that went into it.

Each result lists its run's ``segments``: every stretch of training that went into it
(one per start or resume), with the git commit it ran, whether the package's tracked
files (``prunestab/``) had uncommitted changes, the host, the start time and the epoch
it started from. The ``environment`` block describes the process that wrote the result.
Result files are strict JSON (:func:`json_safe`).
"""

from __future__ import annotations

import math
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

#: The prunestab package, where a result's provenance asks git: its commit, and whether
#: the package's tracked files differ from it (``package_dirty``).
PACKAGE = Path(__file__).resolve().parents[1]


def environment() -> dict[str, Any]:
    """Software and hardware that produced a result.

    Returns:
        ``python``, ``torch``, ``platform``, ``cpu_threads``, ``git_commit`` (``None``
        outside a git checkout) and, with CUDA, ``cuda_device``.

    >>> sorted(environment())[:3]
    ['cpu_threads', 'git_commit', 'platform']
    """
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
    }
    if torch.cuda.is_available():
        env["cuda_device"] = torch.cuda.get_device_name()
    return env


def _git(*args: str) -> str | None:
    """``git ARGS`` run in the package's folder: its output, or ``None`` outside a git
    checkout (or without git). Takes no index lock, so a commit made meanwhile is not
    disturbed."""
    try:
        out = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=PACKAGE,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _git_commit() -> str | None:
    return (_git("rev-parse", "HEAD") or "").strip() or None


def _package_dirty() -> bool | None:
    """Whether the package's tracked files differ from the commit (``None`` outside a git
    checkout). Notebooks and results re-executed beside it do not count."""
    out = _git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return None if out is None else bool(out.strip())


def segments(resume: dict | None) -> list[dict]:
    """The stretches of training a run has had, this one (starting now) last.

    Carried in each checkpoint, so a run resumed over several sessions lists them all;
    a checkpoint written before segments were recorded contributes none.

    Args:
        resume: the checkpoint training resumes from, or ``None`` for a fresh start.

    Returns:
        The checkpoint's segments, then this one: ``git_commit``, ``package_dirty``,
        ``host``, ``started_at`` (UTC) and ``from_epoch``.

    >>> [s["from_epoch"] for s in segments({"epoch": 3, "segments": [{"from_epoch": 0}]})]
    [0, 3]
    """
    earlier = [] if resume is None else list(resume.get("segments", []))
    return [
        *earlier,
        {
            "git_commit": _git_commit(),
            "package_dirty": _package_dirty(),
            "host": platform.node(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "from_epoch": 0 if resume is None else int(resume["epoch"]),
        },
    ]


def json_safe(value: Any) -> Any:
    """NaN/inf floats become ``None`` so result files are strict JSON.

    Args:
        value: a JSON-like value (dicts, lists, tuples, floats ...).

    Returns:
        The same structure, tuples as lists, non-finite floats as ``None``.

    >>> json_safe({"mean": float("nan"), "runs": (1, 2.5)})
    {'mean': None, 'runs': [1, 2.5]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
