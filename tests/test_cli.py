"""The command line: one run, a figure's sweep, and clear messages for bad input."""

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from prunestab.cli import main
from prunestab.config import RunConfig
from prunestab.paper.registry import figure_grid
from prunestab.store import RunStore


def test_run_stores_a_result_and_a_second_call_reads_it(tmp_path, tiny_cifar, capsys):
    argv = [
        "run",
        "--profile",
        "smoke",
        "--model",
        "vgg11",
        "--score",
        "l2",
        "--target",
        "L",
        "--retrain-period",
        "40",
        "--store",
        str(tmp_path),
        "--data",
        str(tiny_cifar),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "l2 prune_L" in out and "stored in" in out
    (result_file,) = tmp_path.glob("vgg11-*/result.json")
    result = json.loads(result_file.read_text())
    assert result["profile"] == "smoke" and result["config"]["pruning"]["target"] == "largest"
    assert main(argv) == 0


def test_sweep_list_prints_one_json_line_per_distinct_run(tmp_path, capsys):
    assert (
        main(
            [
                "sweep",
                "fig5",
                "--profile",
                "quick",
                "--seeds",
                "1",
                "--list",
                "--store",
                str(tmp_path),
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 8 and {line["status"] for line in lines} == {"todo"}
    assert len({line["hash"] for line in lines}) == 8


def test_a_listed_config_runs_elsewhere(tmp_path, tiny_cifar, capsys):
    main(["sweep", "fig1", "--profile", "smoke", "--list", "--store", str(tmp_path)])
    first = capsys.readouterr().out.splitlines()[0]
    (tmp_path / "one.json").write_text(first)
    argv = [
        "run",
        "--config",
        str(tmp_path / "one.json"),
        "--store",
        str(tmp_path),
        "--data",
        str(tiny_cifar),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "stored in" in capsys.readouterr().out
    # No --profile: the run records the profile its listed line names and its data match.
    (result_file,) = tmp_path.glob(f"*-{json.loads(first)['hash'][:16]}/result.json")
    assert json.loads(first)["profile"] == "smoke"
    assert json.loads(result_file.read_text())["profile"] == "smoke"


def test_run_config_with_a_disagreeing_or_no_profile_is_a_clear_error(tmp_path, capsys):
    from prunestab.paper.registry import figure_grid

    config = figure_grid("budget", "steps650", 1)[0]
    (tmp_path / "c.json").write_text(json.dumps(config.to_dict()))
    argv = ["run", "--config", str(tmp_path / "c.json"), "--store", str(tmp_path)]
    assert main([*argv, "--profile", "quick"]) == 2
    err = capsys.readouterr().err
    assert "is a steps650 run" in err and "--profile quick" in err and "Traceback" not in err
    custom = config.replace(data=dataclasses.replace(config.data, train_subset=1234))
    (tmp_path / "c.json").write_text(json.dumps(custom.to_dict()))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "match no profile" in err and "allowed: paper, quick" in err
    assert not list(tmp_path.glob("*/result.json"))


def test_profile_of_names_every_grid_runs_profile():
    from prunestab.paper.profiles import PROFILES, profile_of
    from prunestab.paper.registry import FIGURES, figure_grid

    for profile in PROFILES:
        for figure in FIGURES:
            assert {profile_of(c) for c in figure_grid(figure, profile, 1)} == {profile}


def test_missing_data_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PRUNESTAB_DATA", str(tmp_path / "nothing"))
    monkeypatch.setattr("prunestab.data.files.default_root", lambda: tmp_path / "nothing")
    monkeypatch.setattr("torchvision.datasets.CIFAR10", _no_internet)
    code = main(
        ["run", "--profile", "smoke", "--store", str(tmp_path), "--data", str(tmp_path / "none")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "PRUNESTAB_DATA" in err and "Traceback" not in err


def _no_internet(*args, **kwargs):
    raise OSError("no network")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["sweep", "fig9"], "fig9"),
        (["run", "--profile", "huge"], "huge"),
        (["run", "--target", "Q"], "'Q'"),
        (["sweep", "fig1", "--seeds", "0", "--list"], "seeds=0"),
    ],
)
def test_bad_flags_name_the_value_and_the_allowed_ones(argv, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert named in err and ("allowed" in err or "choose from" in err)


def test_run_defaults_to_each_models_paper_retrain_period():
    from prunestab.cli import _config_from_flags, _parser

    conv4, profile = _config_from_flags(
        _parser().parse_args(["run", "--model", "conv4", "--score", "l2"])
    )
    assert profile == "paper"
    assert conv4.pruning.schedule.retrain_period == 3  # A.3.2: 17 events
    assert conv4.pruning.schedule.n_events(0) == 17
    vgg, _ = _config_from_flags(_parser().parse_args(["run", "--model", "vgg11"]))
    assert vgg.pruning.schedule.retrain_period == 40


def test_runs_of_unpublished_profiles_never_land_in_the_committed_results(tmp_path, monkeypatch):
    from prunestab.paper.profiles import default_store

    monkeypatch.delenv("PRUNESTAB_STORE", raising=False)
    (tmp_path / "_toc.yml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert default_store(None, "quick").root == tmp_path / "results"
    assert default_store(None, "steps2600").root == tmp_path / "results"
    assert default_store(None, "smoke").root == tmp_path / "store" / "smoke"
    assert default_store(None, "paper").root == tmp_path / "store" / "paper"
    assert default_store(tmp_path / "mine", "smoke").root == tmp_path / "mine"


def test_book_without_data_says_how_to_provide_it_without_a_traceback(
    tmp_path, monkeypatch, capsys
):
    import shutil
    from pathlib import Path

    from prunestab.book import build

    root = Path(__file__).resolve().parents[1]
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("PRUNESTAB_DATA", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache copy either
    argv = [
        "--profile",
        "smoke",
        "--root",
        str(tmp_path),
        "--only",
        "fig1_instability",
        "--store",
        str(tmp_path / "store"),
        "--no-build",
    ]
    assert build.main(argv) == 2
    captured = capsys.readouterr()
    assert "fig1_instability.ipynb: 0 runs stored" in captured.out  # the plan comes first
    err = captured.err
    assert "runs must be computed" in err and "CIFAR-10 not found" in err
    assert "PRUNESTAB_DATA" in err and "Traceback" not in err
    assert not (tmp_path / "_build" / "executed").exists()  # stopped before executing
    # Figure A1's run stored with its weights but not their probe: measuring it reads
    # images, so it counts as to compute and is checked before executing too.
    argv[argv.index("fig1_instability")] = "figA1_bn_normality"
    from prunestab.config import config_hash
    from prunestab.paper.registry import figure_grid
    from prunestab.store import RunStore

    (vgg19,) = figure_grid("figA1", "smoke", 1)
    store = RunStore(tmp_path / "store")
    store.save_result(vgg19, {"config": {}, "hash": config_hash(vgg19)})
    store.save_model(vgg19, {})
    assert build.main(argv) == 2
    captured = capsys.readouterr()
    assert "figA1_bn_normality.ipynb: 0 runs stored, 1 to compute" in captured.out
    assert "runs must be computed, and CIFAR-10 not found" in captured.err


@pytest.mark.parametrize("argv", [["status", "fig5"], ["sweep", "fig5", "--list"]])
def test_a_truncated_result_is_named_not_counted_as_done(tmp_path, capsys, argv):
    """status and sweep --list read the store: a truncated result.json is one line naming
    the file, exit status 2, and the file is untouched."""
    from prunestab.config import config_hash
    from prunestab.paper.registry import figure_grid
    from prunestab.store import RunStore

    store = RunStore(tmp_path)
    config = figure_grid("fig5", "smoke", 1)[0]
    store.save_result(config, {"config": config.to_dict(), "hash": config_hash(config)})
    path = store.result_path(config)
    path.unlink()
    path.write_text('{"config": {"model"')
    code = main([*argv, "--profile", "smoke", "--seeds", "1", "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{path} is not a readable result" in err and len(err.strip().splitlines()) == 1
    assert path.read_text() == '{"config": {"model"'


def _listed_config() -> dict:
    from prunestab.paper.registry import figure_grid

    return figure_grid("fig5", "smoke", 1)[1].to_dict()


@pytest.mark.parametrize(
    "mutate, named",
    [
        (
            lambda c: c | {"colour": "red"},
            "RunConfig has unknown field(s) 'colour'; allowed: model",
        ),
        (
            lambda c: c | {"optimizer": c["optimizer"] | {"momentum": 0.9}},
            "RunConfig.optimizer has unknown field(s) 'momentum'; allowed: lr",
        ),
        (
            lambda c: (
                c | {"pruning": c["pruning"] | {"schedule": c["pruning"]["schedule"] | {"x": 1}}}
            ),
            "PruningConfig.schedule has unknown field(s) 'x'",
        ),
        (
            lambda c: c | {"optimizer": c["optimizer"] | {"lr": "fast"}},
            "lr='fast'; allowed: a number > 0",
        ),
        (lambda c: c | {"data": [1, 2]}, "RunConfig.data=[1, 2]; allowed: a JSON object"),
        (lambda c: [c], "RunConfig=[{"),
        (lambda c: None, "RunConfig=None; allowed: a JSON object with fields model"),
        (lambda c: {k: v for k, v in c.items() if k != "model"}, "lacks required field(s) model"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_value(tmp_path, capsys, mutate, named):
    """Issue 24, item 4: each of these printed a traceback before."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(mutate(_listed_config())))
    code = main(["run", "--config", str(path), "--profile", "smoke", "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"--config {path}: " in err and named in err


@pytest.mark.parametrize(
    "argv", [["run", "--profile", "smoke"], ["sweep", "fig5", "--profile", "smoke"]]
)
def test_a_read_only_store_is_one_line_before_anything_runs(tmp_path, capsys, argv):
    """Issue 24, item 5: a read-only store gave raw OSError tracebacks (and, through
    submitit, jobs submitted before the CLI failed). Checked first, one line, exit 2."""
    import os

    if os.geteuid() == 0:  # root writes through a read-only mode: make it a file instead
        store = tmp_path / "a-file"
        store.write_text("")
    else:
        store = tmp_path / "ro"
        store.mkdir()
        store.chmod(0o500)
    code = main([*argv, "--store", str(store / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"run store {store / 'runs'} is not writable" in err


def test_a_full_disk_is_one_line_and_leaves_no_lease_temporaries(tmp_path, capsys, monkeypatch):
    """Issue 24, item 5: ENOSPC while claiming a run printed a traceback and left
    .lease.*.tmp files behind."""
    import errno

    from prunestab.store import lease

    real_dump = lease.json.dump

    def full(obj, f, *a, **k):
        real_dump(obj, f, *a, **k)
        raise OSError(errno.ENOSPC, "No space left on device", str(f.name))

    monkeypatch.setattr(lease.json, "dump", full)
    code = main(["run", "--profile", "smoke", "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "no space left on the device" in err
    assert not list(tmp_path.rglob("*.tmp"))


@contextlib.contextmanager
def _as_user(uid: int, umask: int):
    """This process acting as another user (effective ids; root can switch back)."""
    old_mask = os.umask(umask)
    os.setegid(uid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.umask(old_mask)


COLLEAGUE, ME = 65534, 54321


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_store_shared_with_a_colleague_gives_one_line_before_anything_starts(
    tmp_path, capsys, monkeypatch, umask
):
    """Issue 35, item 6: a colleague (another uid, umask 022 or 077) made the run folders;
    this user may write in the store's root but not in them. ``run``, a submitit sweep,
    ``status``, ``sweep --list`` (077: unreadable) and an unwritable ``--log-dir`` each
    give one line naming the folder, its owner and what to do, exit 2, and nothing is
    submitted."""
    from prunestab import cli
    from prunestab.sweep import cluster

    share = Path(tempfile.mkdtemp(dir="/tmp"))
    share.chmod(0o777)
    root = share / "store"
    run_config, _ = cli._config_from_flags(cli._parser().parse_args(["run", "--profile", "smoke"]))
    configs = [run_config, *figure_grid("fig1", "smoke", 1)]
    with _as_user(COLLEAGUE, umask):
        store = RunStore(root)
        for config in configs:
            store.folder(config).create()
        root.chmod(0o777)  # the share's root is open to the lab
    submitted = []
    monkeypatch.setattr(cluster, "_executor", lambda *a: submitted.append(a))
    logs = share / "logs"
    logs.mkdir(mode=0o755)
    store_flags = ["--store", str(root)]
    sweep = ["sweep", "fig1", "--profile", "smoke"]
    commands = [
        ["run", "--profile", "smoke", *store_flags],
        [*sweep, "--executor", "submitit-local", *store_flags],
        [
            *sweep,
            "--executor",
            "submitit-local",
            "--log-dir",
            str(logs),
            "--store",
            str(share / "mine"),
        ],
    ]
    if umask == 0o077:
        commands += [
            ["status", "fig1", "--profile", "smoke", *store_flags],
            [*sweep, "--list", *store_flags],
        ]
    try:
        for command in commands:
            with _as_user(ME, 0o022):
                code = cli.main(command)
            err = capsys.readouterr().err.strip()
            assert code == 2 and len(err.splitlines()) == 1, (command, err)
            assert "belongs to" in err and "cannot" in err, err
            assert "--store" in err or "--log-dir" in err, err
        assert submitted == []
    finally:
        shutil.rmtree(share)


def _smoke_config() -> dict:
    from prunestab import cli

    args = cli._parser().parse_args(["run", "--profile", "smoke"])
    return cli._config_from_flags(args)[0].to_dict()


def _with(path: str, value):
    """The smoke run's config with the field at dotted ``path`` set to ``value``."""
    config = json.loads(json.dumps(_smoke_config()))
    *parents, name = path.split(".")
    node = config
    for parent in parents:
        node = node[parent]
    node[name] = value
    return json.dumps(config)


BAD_CONFIGS = {  # issue 35, item 9: each crashed with a traceback or was accepted
    "nested": "[" * 100_000 + "]" * 100_000,
    "milestones 5": _with("optimizer.lr_milestones", 5),
    "milestones abc": _with("optimizer.lr_milestones", "abc"),
    "milestones null": _with("optimizer.lr_milestones", [None]),
    "label 123": _with("label", 123),
    "lr 1e300": _with("optimizer.lr", 1e300),
    "epochs 1e29": _with("epochs", 10**29),
    "lr Infinity": _with("optimizer.lr", float("inf")),
    "width true": _with("width", True),
    "milestones 1.5": _with("optimizer.lr_milestones", [1.5, 3]),
    "not utf-8": b"\xff\xfe{}",
}


@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_a_bad_config_gives_one_line_and_exit_code_2(tmp_path, capsys, name):
    """Issue 35, item 9: one line naming the bad value (or the file) and what is allowed,
    exit code 2, no traceback, nothing stored or leased."""
    bad = BAD_CONFIGS[name]
    path = tmp_path / "bad config.json"
    path.write_bytes(bad if isinstance(bad, bytes) else bad.encode())
    store = tmp_path / "store"
    code = main(["run", "--config", str(path), "--store", str(store), "--data", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert str(path) in err and ("allowed" in err or "not" in err), err
    assert not store.exists() or not any(store.rglob(".lease"))


def test_a_folder_in_place_of_a_result_is_named_not_a_traceback(tmp_path, capsys):
    """Issue 35, item 9: a directory where ``result.json`` belongs gave IsADirectoryError
    in every reader; now each names it (``run``, ``status``, ``sweep --list``)."""
    config = RunConfig.from_dict(_smoke_config())
    store = RunStore(tmp_path / "store")
    store.result_path(config).mkdir(parents=True)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    flags = ["--store", str(store.root)]
    for command in (
        ["run", "--config", str(path), *flags],
        ["status", "fig1", "--profile", "smoke", *flags],
        ["sweep", "fig1", "--profile", "smoke", "--list", *flags],
    ):
        code = main(command)
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1, (command, err)
        assert str(store.result_path(config)) in err, err


def test_the_watch_hint_quotes_a_store_path_with_spaces(tmp_path, capsys, monkeypatch):
    """Issue 35, item 10: the "watch:" line printed the store path unquoted, so copying
    it broke on a path with spaces."""
    import shlex

    from prunestab.sweep import cluster

    class Recording:
        def batch(self):
            return contextlib.nullcontext()

        def submit(self, task):
            return type("Job", (), {"job_id": "7"})()

    monkeypatch.setattr(cluster, "_executor", lambda *a: Recording())
    store = tmp_path / "my runs"
    sweep = ["sweep", "fig1", "--profile", "smoke", "--executor", "submitit-local"]
    assert main([*sweep, "--store", str(store), "--log-dir", str(tmp_path / "logs")]) == 0
    watch = next(line for line in capsys.readouterr().out.splitlines() if "watch:" in line)
    words = shlex.split(watch.split("watch: ", 1)[1])
    assert words[words.index("--store") + 1] == str(store)
