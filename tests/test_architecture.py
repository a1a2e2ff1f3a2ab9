"""The package's import graph, function-level imports included: no module reaches itself
through others, every prunestab import sits at module top, and the toolkit (what any
pruning experiment needs) imports nothing that knows the paper's figures
(``../shared/STYLE.md``'s two layers). The paper's layer keeps one module per figure in
``prunestab/paper/``, each listed by the registry."""

import ast
from pathlib import Path

from prunestab.paper import registry

PACKAGE = Path(__file__).resolve().parents[1] / "prunestab"
#: The paper's layer: its figures (``paper/``), claims, chapters, plots and commands.
PAPER_TOP = {
    "analysis", "book", "claims", "cli", "explorers", "frontpage", "plots", "tables",
}  # fmt: skip
#: The toolkit: it may be used for another experiment without this paper.
TOOLKIT = {
    "config", "data", "models", "noise", "paths", "pruning", "runs", "schedule", "stats",
    "store", "store.attempts", "store.files", "store.folder", "store.lease", "store.locks",
    "store.migrations", "store.results", "store.run_store", "sweep", "sweep.arguments",
    "sweep.cluster", "sweep.provenance", "sweep.runner", "sweep.status", "sweep.workers", "training", "training.batched",
    "training.evaluation", "training.execution", "training.folding", "training.loop",
    "training.model_sets", "training.parts", "training.preempt", "training.probe",
    "training.seeding", "verdicts",
}  # fmt: skip
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


def _paper(name: str) -> bool:
    return name == "paper" or name.startswith("paper.") or name in PAPER_TOP


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others():
    assert _cycles(_graph()[0]) == []


def test_every_prunestab_import_sits_at_module_top():
    assert {name: found for name, found in _graph()[1].items() if found} == {}


def test_every_module_is_in_one_layer_and_the_toolkit_imports_nothing_above():
    graph = _graph()[0]
    unplaced = {m for m in graph if not _paper(m) and m not in TOOLKIT} - {""}
    assert unplaced == set(), "place each new module in the toolkit or the paper's layer"
    upward = {m: sorted(filter(_paper, graph[m])) for m in TOOLKIT if any(map(_paper, graph[m]))}
    assert upward == {}


def test_the_paper_keeps_one_module_per_figure_and_chapter_each_in_the_registry():
    figure_modules = {
        name.removeprefix("paper.")
        for name in _modules()
        if name.startswith("paper.")
        and name not in ("paper.registry", "paper.common", "paper.claim", "paper.profiles")
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
