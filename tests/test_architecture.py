"""The package's import graph, function-level imports included: no module reaches itself
through others, and the toolkit (what any pruning experiment needs) imports nothing that
knows the paper's figures (issue 25; ``../shared/STYLE.md``'s two layers)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "prunestab"
#: Modules that know the paper: its figures, claims, chapters and commands.
PAPER = {"figures", "claims", "budget", "analysis", "explorers", "frontpage", "book", "cli"}
#: The toolkit: it may be used for another experiment without this paper.
TOOLKIT = {
    "config", "data", "models", "pruning", "schedule", "noise", "folding", "train",
    "batched", "store", "lease", "preempt", "probe", "runner", "cluster", "verdicts",
    "stats", "paths", "migrations",
}  # fmt: skip


def _graph() -> dict[str, set[str]]:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    graph = {}
    for name in modules:
        found = set()
        for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "prunestab":
                    found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.count(".") >= 1
                          and a.name.startswith("prunestab.")}  # fmt: skip
        graph[name] = (found & modules) - {name}
    return graph


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


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others():
    assert _cycles(_graph()) == []


def test_the_toolkit_imports_nothing_that_knows_the_paper():
    graph = _graph()
    assert TOOLKIT <= set(graph), TOOLKIT - set(graph)
    upward = {m: sorted(graph[m] & PAPER) for m in TOOLKIT if graph[m] & PAPER}
    assert upward == {}
