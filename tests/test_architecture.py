"""The package's import graph, function-level imports included: no module reaches itself
through others, every prunestab import sits at module top, and the layers import only
downwards (``../shared/STYLE.md``'s two layers). The layers are read from the tree, so a
new module needs no entry here; it belongs to the layer of the folder it stands in:

* the toolkit: every module and package of ``prunestab/`` but those below; what any
  pruning experiment needs, knowing no figure of the paper;
* ``paper/``: the paper's own knowledge, one module per figure, listed by its registry;
* ``book/``: the book's machinery, which turns stored runs into pages;
* on top, the module of the ``prunestab`` command (``pyproject.toml``'s
  ``[project.scripts]``), which reads them all.
"""

import ast
import re
import tomllib
from collections import Counter
from pathlib import Path

from prunestab.paper import registry

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "prunestab"
#: The folders of ``prunestab/`` above the toolkit, from the ground up.
LAYER_FOLDERS = ("paper", "book")
#: Every layer from the ground up: the toolkit, the layer folders, the command.
LAYERS = ("toolkit", *LAYER_FOLDERS, "command")
#: The modules of ``paper/`` that are no figure or chapter of their own (study, width,
#: windows, rates: the follow-up studies of the budget chapter, ``book/budget.md``, and
#: what they share).
NOT_FIGURES = {
    "paper.registry",
    "paper.common",
    "paper.claim",
    "paper.profiles",
    "paper.study",
    "paper.width",
    "paper.windows",
    "paper.rates",
}
#: Raw lines (``end_lineno - lineno + 1``), docstrings included.
LONGEST_FUNCTION = 80
LONGEST_CLASS = 180


def _modules() -> dict[str, Path]:
    """Every module by its dotted name below ``prunestab`` (``paper.fig1``, ``cli``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def _imported(node: ast.AST, modules: set[str]) -> set[str]:
    """The prunestab modules one import statement names."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("prunestab"):
        base = node.module.removeprefix("prunestab").lstrip(".")
        named = {f"{base}.{a.name}".lstrip(".") for a in node.names}
        return (named & modules) or ({base} & modules)
    if isinstance(node, ast.Import):
        return {a.name.removeprefix("prunestab.") for a in node.names} & modules
    return set()


def _graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """The import graph, and per module its imports made inside a function or class."""
    modules = _modules()
    graph, hidden = {}, {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        graph[name], hidden[name] = set(), []
        for node in ast.walk(tree):
            found = _imported(node, set(modules)) - {name}
            graph[name] |= found
            if found and id(node) not in top:
                hidden[name] += sorted(found)
    return graph, hidden


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on.discard(group[-1])
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _commands() -> set[str]:
    """The modules of the package's console scripts (``prunestab.cli:main`` -> ``cli``)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return {target.split(":")[0].removeprefix("prunestab.") for target in scripts.values()}


def _layer(name: str) -> str:
    """The layer of a module (``paper.fig1``, ``store.lease``, ``cli``), from where it stands."""
    if name in _commands():
        return "command"
    folder = name.split(".")[0]
    return folder if folder in LAYER_FOLDERS else "toolkit"


def _unit(name: str) -> str:
    """The top-level module or folder a module belongs to (``store.lease`` -> ``store``)."""
    return name.split(".")[0]


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others():
    assert _cycles(_graph()[0]) == []


def test_every_prunestab_import_sits_at_module_top():
    assert {name: found for name, found in _graph()[1].items() if found} == {}


def test_the_layer_folders_and_the_command_exist():
    assert all((PACKAGE / folder / "__init__.py").exists() for folder in LAYER_FOLDERS)
    assert _commands() and all(c in _modules() for c in _commands())


def test_every_import_runs_down_the_layers_never_up():
    graph = _graph()[0]
    upward = {
        m: sorted(i for i in imported if LAYERS.index(_layer(i)) > LAYERS.index(_layer(m)))
        for m, imported in graph.items()
    }
    assert {m: found for m, found in upward.items() if found} == {}


def test_the_folders_import_each_other_without_a_circle():
    """Drawn with each top-level module or folder as one box, the arrows still run one way:
    the store does not import training or the sweeps, training not the sweeps."""
    graph = _graph()[0]
    units: dict[str, set[str]] = {}
    for name, imported in graph.items():
        units.setdefault(_unit(name), set()).update(_unit(i) for i in imported)
    assert _cycles({u: found - {u} for u, found in units.items()}) == []


def test_no_two_top_level_modules_share_a_prefix_that_names_one_concern():
    """A concern grown past one file is a folder (``store/``), not ``store_*.py`` files
    side by side with the rest."""
    top = [p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    folders = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    first_words = Counter(name.split("_")[0] for name in top + folders)
    assert [word for word, n in first_words.items() if n > 1] == []


def test_toolkit_docstrings_show_the_toolkit_s_own_use():
    """An example in a toolkit docstring imports nothing from the layers above it."""
    above = re.compile(r"(from|import) prunestab\.(" + "|".join(LAYER_FOLDERS) + ")")
    shown = {}
    for name, path in _modules().items():
        if _layer(name) != "toolkit":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                doc = ast.get_docstring(node) or ""
                if above.search(doc):
                    shown.setdefault(name, []).append(getattr(node, "name", "<module>"))
    assert shown == {}


def test_the_paper_keeps_one_module_per_figure_and_chapter_each_in_the_registry():
    figure_modules = {
        name.removeprefix("paper.")
        for name in _modules()
        if name.startswith("paper.") and name not in NOT_FIGURES
    }
    assert set(registry.FIGURES) <= figure_modules
    stems = {c.stem for c in registry.CHAPTERS}
    assert len(stems) == len(figure_modules) == len(registry.CHAPTERS)
    for chapter in registry.CHAPTERS:
        assert (PACKAGE.parent / chapter.notebook).exists(), chapter.notebook


def test_no_class_or_function_is_too_long_to_read():
    """Raw lines, from ``def``/``class`` to the last line, docstrings and comments
    included (the issue's "no class over 180 lines and no function over 80"); methods
    count as functions. A long docstring is a sign that prose about the module's concept
    belongs in the module docstring."""
    too_long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            limit = {ast.ClassDef: LONGEST_CLASS, ast.FunctionDef: LONGEST_FUNCTION}.get(type(node))
            lines = node.end_lineno - node.lineno + 1 if limit else 0
            if limit and lines > limit:
                too_long.append(f"{name}.{node.name}: {lines} lines")
    assert too_long == []
