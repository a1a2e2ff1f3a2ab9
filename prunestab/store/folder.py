"""Where a run's files are: one folder per run, named by one hash of its config.

A run is a pure function of its :class:`~prunestab.config.RunConfig`, so its files are
kept under ``root / f"{model}-{config_hash(config)[:16]}"`` (the open_lth layout), and
an identical run is found instead of recomputed. ``device`` and ``label`` are not
hashed, so a CPU result answers a GPU request and two figures that name the same run
differently share it. Every file name is defined here, once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from prunestab.config import RunConfig, config_hash
from prunestab.store.lease import LEASE_FILE

RESULT_FILE = "result.json"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
FAILURES_FILE = "failures.json"
QUEUED_FILE = "queued.json"
MODEL_FILE = "model.pt"
PROBE_FILE = "probe.json"


@dataclass(frozen=True)
class RunFolder:
    """One run's folder and the paths of its files, all from one hash of its config.

    Build it with :meth:`of`, which hashes the config once; the paths are derived from
    that hash, so a caller that does several things to one run hashes it once.

    Attributes:
        config: the run.
        digest: ``config_hash(config)``: 64 hex digits, the run's identity.
        path: ``root / "{model}-{first 16 hex digits of digest}"``.

    >>> folder = RunFolder.of("runs", RunConfig("vgg11", epochs=325))
    >>> folder.path.as_posix(), folder.result_file.name
    ('runs/vgg11-55426189497f0f37', 'result.json')
    """

    config: RunConfig
    digest: str
    path: Path

    @classmethod
    def of(cls, root: str | os.PathLike[str], config: RunConfig) -> RunFolder:
        """The folder of ``config``'s run in the store at ``root`` (nothing is created).

        Args:
            root: the store's folder.
            config: the run; it is hashed here, once.

        Returns:
            Its folder, whether or not it exists yet.
        """
        digest = config_hash(config)
        return cls(config, digest, Path(root) / f"{config.model}-{digest[:16]}")

    def create(self) -> Path:
        """Create the folder (and the store's) if needed; returns :attr:`path`."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    @property
    def result_file(self) -> Path:
        """``result.json``: the completed result, written once."""
        return self.path / RESULT_FILE

    @property
    def config_file(self) -> Path:
        """``config.json``: the config and full hash, written on the first lock."""
        return self.path / CONFIG_FILE

    @property
    def checkpoint_file(self) -> Path:
        """``checkpoint.pt``: the latest resumable state of an unfinished run."""
        return self.path / CHECKPOINT_FILE

    @property
    def model_file(self) -> Path:
        """``model.pt``: the final weights, kept only for runs that ask."""
        return self.path / MODEL_FILE

    @property
    def probe_file(self) -> Path:
        """``probe.json``: measurements of the final weights, written once."""
        return self.path / PROBE_FILE

    @property
    def failures_file(self) -> Path:
        """``failures.json``: every failed attempt at the run."""
        return self.path / FAILURES_FILE

    @property
    def queued_file(self) -> Path:
        """``queued.json``: the cluster job the run was last submitted to."""
        return self.path / QUEUED_FILE

    @property
    def lease_file(self) -> Path:
        """``.lease``: the holder of an active run (``prunestab.store.lease``)."""
        return self.path / LEASE_FILE


class StoreLayout:
    """Where the runs of a store under ``root`` keep their files; creates nothing.

    Every method hashes its config once, through :meth:`folder`.

    Args:
        root: the store's folder, which need not exist.

    >>> layout = StoreLayout("runs")
    >>> layout.result_path(RunConfig("vgg11", epochs=325)).as_posix()
    'runs/vgg11-55426189497f0f37/result.json'
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def folder(self, config: RunConfig) -> RunFolder:
        """``config``'s :class:`RunFolder`: its paths, from one hash of ``config``."""
        return RunFolder.of(self.root, config)

    def run_dir(self, config: RunConfig) -> Path:
        """``config``'s folder (:meth:`folder`'s path), whether or not it exists yet.

        Args:
            config: the run; its ``device`` and ``label`` are not hashed, so a CPU result
                answers a GPU request and two figures that name the same run differently
                share it.

        Returns:
            ``root / "{model}-{first 16 hex digits of config_hash}"``.
        """
        return self.folder(config).path

    def result_path(self, config: RunConfig) -> Path:
        """Where ``config``'s ``result.json`` is, or will be."""
        return self.folder(config).result_file

    def config_path(self, config: RunConfig) -> Path:
        """Where ``config``'s ``config.json`` is, or will be."""
        return self.folder(config).config_file

    def checkpoint_path(self, config: RunConfig) -> Path:
        """Where ``config``'s ``checkpoint.pt`` is, or will be."""
        return self.folder(config).checkpoint_file

    def model_path(self, config: RunConfig) -> Path:
        """Where ``config``'s final weights (``model.pt``) are, or will be."""
        return self.folder(config).model_file

    def probe_path(self, config: RunConfig) -> Path:
        """Where ``config``'s ``probe.json`` is, or will be."""
        return self.folder(config).probe_file
