"""memo's layer map holds: every import in memo/ (module top and function bodies) points down
`memo.LAYERS`, no two first-level units import each other in a cycle, and no module is a
grab-bag (files of at most 400 lines, functions of at most 60)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import memo

PACKAGE = Path(memo.__file__).parent
TOP = {"__init__", "__main__"}  # the package itself (version, layer map) and `python -m memo`


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every memo module `path` imports, at its top or inside a function, absolute or relative."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] == "memo"}


def unit_of(module: str) -> str | None:
    """The first-level unit of a memo module (a subpackage or a top-level module); None for the
    package root itself (`from memo import __version__`)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    unit = parts[1]
    is_unit = (PACKAGE / unit).is_dir() or (PACKAGE / f"{unit}.py").is_file()
    return unit if is_unit else None


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the modules that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        source = unit_of(module_name(path)) or "__init__"
        for target in filter(None, map(unit_of, imported_modules(path))):
            if target != source:
                graph[source][target].add(module_name(path))
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected groups of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for other in graph.get(unit, {}):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            group = []
            while not group or group[-1] != unit:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for unit in list(graph):
        if unit not in index:
            visit(unit)
    return found


def test_the_graph_reader_sees_function_body_and_relative_imports(tmp_path):
    module = PACKAGE / "eval" / "bench.py"
    assert "memo.eval.judge" in imported_modules(module)
    graph = import_graph()
    assert "core" in graph["llm"] and "cli" in graph["__main__"]
    assert cycles({"a": {"b": set()}, "b": {"c": set()}, "c": {"a": set()}, "d": {"a": set()}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_first_level_units():
    assert cycles(import_graph()) == []


def test_every_import_points_down_the_layer_map():
    layers = {name: rank for rank, name in enumerate(memo.LAYERS)}
    units = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert units == set(layers), "every subpackage has a place in memo.LAYERS, and only they"
    loose = {p.stem for p in PACKAGE.glob("*.py")} - TOP
    assert not loose, f"first-level modules outside the layer map: {sorted(loose)}"
    upward = [f"{', '.join(sorted(modules))} ({source}) imports {target}"
              for source, targets in import_graph().items() if source in layers
              for target, modules in targets.items() if target in layers and layers[target] >= layers[source]]
    assert not upward, "imports against the layer map:\n" + "\n".join(upward)


def test_files_and_functions_stay_small():
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > 400:
            too_long.append(f"{path.relative_to(PACKAGE)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: "
                                f"{node.end_lineno - node.lineno + 1} lines")
    assert not too_long, "\n".join(too_long)
