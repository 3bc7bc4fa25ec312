"""The package's shape (issue 15): dependencies between kerazoo's modules run one way.

Every import counts, including those inside functions (imported late to keep `kerazoo --help`
fast): a late import still ties two modules together, so a circle through one is a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kerazoo

PACKAGE = Path(kerazoo.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(path: Path) -> set[str]:
    """The kerazoo modules `path` imports: `from a.b import c` names a.b.c when c is a
    module, else a.b."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return {name for name in found if name in MODULES}


def test_no_module_imports_itself_back_through_others():
    graph = {name: imported(path) - {name} for name, path in MODULES.items()}
    # A package's __init__ importing its own modules (a registry of them) is its table of
    # contents, not a dependency: ignore edges from a package to what lies inside it.
    graph = {name: {other for other in edges if not other.startswith(name + ".")}
             for name, edges in graph.items()}
    circles, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                circles.append(" -> ".join([*trail[trail.index(other):], other]))
            elif other not in state:
                visit(other, [*trail, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def part(module: str) -> str:
    """The folder (or top-level module) a module belongs to: kerazoo.training.runner -> training."""
    return module.split(".")[1] if "." in module else module


def test_the_parts_depend_on_each_other_one_way():
    edges = {(part(name), part(other)) for name, path in MODULES.items()
             for other in imported(path) if part(name) != part(other)}
    assert sorted((a, b) for a, b in edges if (b, a) in edges) == []


def test_the_parts_have_folders_and_the_top_level_stays_small():
    top = sorted(path.stem for path in PACKAGE.glob("*.py"))
    for part in ("training", "tracking", "scale", "config", "models", "callbacks", "data",
                 "reports", "serving", "recipes"):
        assert (PACKAGE / part).is_dir(), part
    assert len(top) <= 15, top
