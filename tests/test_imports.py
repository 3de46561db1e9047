"""No import cycles between the integration's modules, type-only imports included."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "custom_components/pbx_bridge"
ROOT = "custom_components.pbx_bridge"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name `node` imports from, as written in `module` at `path`."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def import_graph() -> dict[str, set[str]]:
    """Module -> the integration's modules it imports, wherever the import statement is."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name in MODULES}
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, path, node)
                for alias in node.names:
                    if (submodule := f"{source}.{alias.name}") in MODULES:
                        targets.add(submodule)
                    elif source in MODULES:
                        targets.add(source)
        graph[module] = targets - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while (member := stack.pop()) != node:
                group.append(member)
            group.append(node)
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_check_finds_a_type_only_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_and_type_only_imports() -> None:
    graph = import_graph()
    assert f"{ROOT}.api.models" in graph[f"{ROOT}.api.client"]
    assert f"{ROOT}.coordinator" in graph[f"{ROOT}.sensor"]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_entries_and_coordinators_are_typed() -> None:
    """`PbxConfigEntry` and `PbxCoordinator` everywhere: no `ConfigEntry[Any]`, and no
    bare `DataUpdateCoordinator[...]` but the one the coordinator subclasses."""
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        assert "ConfigEntry[Any]" not in text, module
        uses = text.count("DataUpdateCoordinator[")
        assert uses == ("class PbxCoordinator(DataUpdateCoordinator[" in text), module
