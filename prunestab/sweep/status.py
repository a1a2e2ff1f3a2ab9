"""Where a grid's runs stand: done, running (where, which epoch), stale, queued,
failed or to do, read from the run store alone (``prunestab status FIG``)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from prunestab.config import RunConfig, config_hash
from prunestab.store import RunStore
from prunestab.store.lease import dead_here, default_ttl, describe_age
from prunestab.sweep.runner import is_stored

#: A run's states, in the order they are reported.
STATES = ("done", "running", "stale", "queued", "failed", "to do")
#: Failed attempts after which a run is no longer submitted (``sweep --max-retries``).
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class RunState:
    """One run's state, with what explains it."""

    hash: str
    label: str
    seed: int
    state: str
    where: str | None = None  # running/stale: host, pid, job; queued: the job
    epoch: int | None = None  # running/stale: the last epoch finished (1-based)
    heartbeat_age_s: float | None = None
    failures: int = 0
    last_error: str | None = None
    log: str | None = None


def run_state(
    store: RunStore,
    config: RunConfig,
    ttl: float | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    now: float | None = None,
    alive=None,
    keep_model: bool = False,
) -> RunState:
    """``config``'s state in ``store``: one of :data:`STATES`, with what explains it.

    Done: its result (and, with ``keep_model``, the probe of its final weights,
    ``runner.is_stored``) is stored. Running or stale: a process holds its lease, whose
    heartbeat is fresh (or, stale, older than ``ttl`` or its holder dead on this host).
    Failed: ``max_retries`` failures recorded. Queued: a job that ``alive`` does not
    declare gone was given it. To do: none of these.

    Args:
        store: the run store.
        config: the run.
        ttl: seconds after which a lease's heartbeat is stale (default:
            ``prunestab.store.lease.default_ttl()``).
        max_retries: failures after which the run is not submitted again.
        now: the time to judge heartbeats at (default: now).
        alive: ``alive(submission) -> bool``, whether a queued job still exists (default:
            trust the record).
        keep_model: the run must keep its final weights' probe.

    Returns:
        The :class:`RunState`; ``hash`` holds the config hash's first 16 digits.

    >>> import tempfile
    >>> from prunestab.config import RunConfig
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     run_state(RunStore(folder), RunConfig("conv4", epochs=1)).state
    'to do'
    """
    ttl = default_ttl() if ttl is None else ttl
    now = time.time() if now is None else now
    base = dict(hash=config_hash(config)[:16], label=config.display_label(), seed=config.seed)
    if is_stored(store, config, keep_model):
        return RunState(**base, state="done")
    failures = store.failures(config)
    failed = dict(
        failures=len(failures),
        last_error=failures[-1].get("error") if failures else None,
        log=failures[-1].get("log") if failures else None,
    )
    holder = store.lease_holder(config)
    if holder is not None:
        stale = holder.is_stale(ttl, now) or dead_here(holder)
        return RunState(
            **base,
            state="stale" if stale else "running",
            where=holder.describe().split(", last epoch")[0],
            epoch=None if holder.epoch is None else holder.epoch + 1,
            heartbeat_age_s=now - holder.heartbeat,
            **failed,
        )
    if len(failures) >= max_retries:
        return RunState(**base, state="failed", **failed)
    queued = store.queued(config)
    if queued is not None and (alive is None or alive(queued)):
        where = f"{queued.get('executor', '?')} job {queued.get('job_id', '?')}"
        return RunState(**base, state="queued", where=where, **failed)
    return RunState(**base, state="to do", **failed)


def grid_status(
    configs: Sequence[RunConfig],
    store: RunStore,
    ttl: float | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    alive: Callable[[dict], bool] | None = None,
    keep_model: Callable[[RunConfig], bool] = lambda config: False,
) -> list[RunState]:
    """Every distinct run of ``configs`` with its state (:func:`run_state`).

    Args:
        configs: a grid of runs (a config listed twice is reported once).
        store: where they are stored.
        ttl: the lease TTL in seconds (default: ``lease.default_ttl``).
        max_retries: failed attempts after which a run is "failed", not "to do".
        alive: whether a queued submission's job still exists (default: trusted).
        keep_model: whether a run must also have a probe of its kept weights to be done.

    Returns:
        One :class:`RunState` per distinct config, in grid order.
    """
    grid = {config_hash(c): c for c in configs}
    now = time.time()
    return [run_state(store, c, ttl, max_retries, now, alive, keep_model(c)) for c in grid.values()]


def counts(states: Sequence[RunState]) -> dict[str, int]:
    """How many runs are in each state, every state of :data:`STATES` listed in order.

    Args:
        states: the runs' states (:class:`RunState`).

    Returns:
        ``{state: count}`` for every state of :data:`STATES`, in that order, 0 for those
        no run is in.

    >>> counts([RunState("ab", "L", 0, "done"), RunState("cd", "L", 1, "done")])["done"]
    2
    """
    found = Counter(s.state for s in states)
    return {state: found.get(state, 0) for state in STATES}


def render(figure: str, profile: str, states: Sequence[RunState], verbose: bool = False) -> str:
    """A few lines for a terminal: the counts, then every run that is not done or to do
    (all of them with ``verbose``).

    Args:
        figure: the figure's name, for the heading.
        profile: the profile's name, for the heading.
        states: the runs' states (:func:`figure_status`).
        verbose: list every run.

    Returns:
        The text, without a final newline.

    >>> print(render("fig1", "quick", [RunState("ab12", "prune_L", 0, "running", where="host1")]))
    fig1 (quick): 1 runs: 0 done, 1 running
      running  ab12  prune_L, seed 0  (host1)
    """
    total = counts(states)
    lines = [
        f"{figure} ({profile}): {len(states)} runs: "
        + ", ".join(f"{n} {state}" for state, n in total.items() if n or state == "done")
    ]
    for s in states:
        if not verbose and s.state in ("done", "to do") and not s.failures:
            continue
        detail = []
        if s.where:
            detail.append(s.where)
        if s.epoch is not None:
            detail.append(f"epoch {s.epoch}")
        if s.heartbeat_age_s is not None:
            detail.append(describe_age(s.heartbeat_age_s))
        if s.failures:
            detail.append(f"{s.failures} failure(s), last: {s.last_error}")
        if s.log:
            detail.append(f"log {s.log}")
        lines.append(
            f"  {s.state:<8} {s.hash}  {s.label}, seed {s.seed}"
            + (f"  ({'; '.join(detail)})" if detail else "")
        )
    return "\n".join(lines)


def as_json(figure: str, profile: str, states: Sequence[RunState]) -> dict:
    """The states as a JSON-ready dict (``prunestab status --json``).

    Args:
        figure: the figure's name.
        profile: the profile's name.
        states: the runs' states.

    Returns:
        ``figure``, ``profile``, ``counts`` (:func:`counts`) and ``runs`` (each state's
        fields).

    >>> as_json("fig1", "quick", [])["counts"]["to do"]
    0
    """
    return {
        "figure": figure,
        "profile": profile,
        "counts": counts(states),
        "runs": [asdict(s) for s in states],
    }
