"""The package's import graph has no cycle, between subpackages nor between modules.

Two granularities, both enforced:

- subpackage level (what the issue's "experts <-> training", "encoders <-> storage" mean): every module
  ``embedroute.<sub>.<...>`` folds into the node ``embedroute.<sub>`` (a top-level module such as
  ``embedroute.errors`` is its own node), with an edge ``embedroute.experts -> embedroute.training`` when any
  module of ``experts`` imports any module of ``training``. A cycle here means two concepts each need the
  other, so neither can be understood, tested or moved alone.
- module level: one node per module, a package's ``__init__`` included. A cycle here (say a router module
  importing its own package's ``__init__``, which imports that module) works only by import order.

The walk reads the source with ``ast`` (nothing is imported): module-level AND function-level imports count
(a function-level import is still a dependency, only a deferred one), relative imports are resolved against
the importing module, and ``from pkg import name`` counts ``pkg.name`` when that is a module, else ``pkg``.
The package root ``embedroute/__init__.py`` re-exports the public API and is left out, as are imports of the
root itself (they name the public API, not a concept's module). ``TYPE_CHECKING`` imports count too.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import embedroute

ROOT = Path(embedroute.__file__).resolve().parent
PACKAGE = "embedroute"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every ``embedroute`` module that ``name`` (at ``path``) imports, at any depth of its body."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for target in targets:
            # `import embedroute.x.y` names the module itself; fall back to its nearest known parent
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE) and target != PACKAGE:
                found.add(target)
    return found


def module_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) - {name} for name, path in modules.items() if name != PACKAGE}


def _node(module: str) -> str:
    return ".".join(module.split(".")[:2])


def subpackage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        graph.setdefault(_node(module), set()).update(_node(t) for t in targets)
    return {node: targets - {node} for node, targets in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of ``graph``: for each strongly connected component of more than one node (Tarjan), a
    shortest cycle through each of its members, each distinct cycle once. Not every cycle of a big
    component, but every node on a cycle appears in one, so nothing tangled goes unreported."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found: list[list[str]] = []
    for component in components:  # a shortest cycle through each member, each distinct cycle once
        for start in component:
            cycle = _cycle_through(graph, set(component), start)
            if not any(set(zip(cycle, cycle[1:])) == set(zip(c, c[1:])) for c in found):
                found.append(cycle)
    return found


def _cycle_through(graph: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """A shortest path start -> ... -> start inside the component (breadth first), for a readable message."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ()) & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is in a component but on no cycle")


def _report(found: list[list[str]], fold: Callable[[str], str]) -> str:
    """Each cycle, then under each of its edges the module imports that make it (what to move to break it)."""
    modules = module_graph()
    lines = []
    for cycle in found:
        lines.append(" -> ".join(cycle))
        for a, b in zip(cycle, cycle[1:]):
            lines += [
                f"    {m} imports {t}"
                for m, ts in sorted(modules.items())
                if fold(m) == a
                for t in sorted(ts)
                if fold(t) == b
            ]
    return "\n".join(lines)


def test_the_walk_sees_known_edges() -> None:
    # guards the walker: a walk that found nothing would pass the cycle tests vacuously
    graph = module_graph()
    assert "embedroute.errors" in graph["embedroute.collection.collection"]  # module level, absolute
    # relative imports resolve: `from . import auto` in a package __init__, `from .base import` in a module
    assert {"embedroute.routing.auto", "embedroute.routing.factory"} <= graph["embedroute.routing"]
    assert "embedroute.routing.base" in graph["embedroute.routing.factory"]
    # function-level imports count (experts/registry.py imports the multi-vector encoders inside functions)
    assert {"embedroute.multivector.encoders", "embedroute.experts.multivector"} <= graph["embedroute.experts.registry"]
    assert "embedroute.multivector" in subpackage_graph()["embedroute.experts"]
    # the cycle finder itself, on tiny graphs
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"], ["c", "a", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycle_between_subpackages() -> None:
    found = cycles(subpackage_graph())
    assert not found, "import cycles between subpackages:\n" + _report(found, _node)


def test_no_cycle_between_modules() -> None:
    found = cycles(module_graph())
    assert not found, "import cycles between modules:\n" + _report(found, lambda m: m)
