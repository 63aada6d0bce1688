"""The import graph: front ends use only the Engine's public API, and no modules import each other.

Read from the source with `ast`, so every import counts: at the top of a module and inside
functions alike (a function-level import that closes a cycle is still a cycle).
"""
import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"engine": "dockyard.engine", "extension": "dockyard.extension",
            "kernel": "dockyard.kernel"}
# The front ends, and what of the engine they may import: the package (Engine, RunOptions,
# parse_reference, DockyardError), the error tree, go-units' sizes and durations, and the
# Dockerfile front end (a library of its own, as buildkit's parser is).
FRONT_ENDS = ("dockyard.engine.cli", "dockyard.engine.api", "dockyard.extension",
              "dockyard.kernel")
PUBLIC = {"dockyard.engine", "dockyard.engine.errors", "dockyard.engine.units",
          "dockyard.engine.dockerfile"}
# What the API server (engine/api, written before this check) still imports of the engine's
# internals, by its module: its owner moves these onto the public API, and the check below
# fails once one is no longer needed, so this list only shrinks. Most have a public way now:
# Container.summary (container_inspect), Container.connect/disconnect (endpoints),
# Images.summary (image.inspect), RunOptions and parse_reference (options, image.reference),
# Engine.version (image.model's host_architecture).
API_INTERNALS = {
    "build": {"image.reference"}, "hostconfig": {"options"}, "images": {"image.inspect"},
    "containers": {"filters", "container_inspect", "endpoints", "image.model"},
    "networks": {"filters", "endpoints"}, "progress": {"image.reference"},
    "stats": {"storage"}, "streams": {"storage"}, "volumes": {"filters"},
    "system": {"image.model", "filters", "container_inspect", "image.inspect"},
}
API_CYCLES = [["dockyard.engine.api.app", "dockyard.engine.api.system"]]
# Modules whose imports inside functions must each say what they save at start-up (a CPU-time
# figure, "~30 ms", on the line or in the comment just above): the front ends but the API
# server, and the Engine's facade.
LAZY_CHECKED = ("dockyard.engine.cli", "dockyard.extension", "dockyard.kernel",
                "dockyard.engine.engine", "dockyard.engine.containers", "dockyard.engine.create",
                "dockyard.engine.image_collection", "dockyard.engine.volumes",
                "dockyard.engine.usage")
FIGURE = re.compile(r"\d+(\.\d+)? ms\b")


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for top in PACKAGES for p in sorted((REPO / top).rglob("*.py"))}


def imports(name: str) -> list[tuple[str, int]]:
    """(module, line) of each dockyard module `name` imports, anywhere in it."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            # `from . import x` names a module x; `from .m import f` names module m
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        found += [(t, node.lineno) for t in dict.fromkeys(targets) if t.startswith("dockyard.")]
    return found


def known(target: str) -> str:
    """The module an import loads: `dockyard.engine.image.store.ImageStore` -> its module."""
    while target not in MODULES and "." in target:
        target = target.rpartition(".")[0]
    return target


GRAPH = {name: {known(t) for t, _ in imports(name)} - {name} for name in MODULES}


def internals(name: str) -> list[str]:
    """The engine internals a front-end module imports, as "path:line imports module"."""
    return [f"{MODULES[name].relative_to(REPO)}:{line} imports {target}"
            for target, line in imports(name)
            if target.startswith("dockyard.engine") and not target.startswith(FRONT_ENDS)
            and known(target) not in PUBLIC]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of `graph`: each of more than one node is a
    cycle."""
    index, low, stack, found = {}, {}, [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(component) > 1:
                found.append(sorted(component))
    for node in graph:
        if node not in index:
            visit(node)
    return found


def api_internal(line: str) -> bool:
    """Whether an `internals()` line is one of API_INTERNALS."""
    where, _, target = line.partition(" imports dockyard.engine.")
    module = where.partition(":")[0].removeprefix("engine/api/").removesuffix(".py")
    return where.startswith("engine/api/") and target in API_INTERNALS.get(module, ())


def unexplained_lazy_imports(path: Path) -> list[int]:
    """The line of each import inside a function of `path` that has no figure."""
    lines = path.read_text().splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            said = lines[node.lineno - 1:node.end_lineno]
            above = node.lineno - 2
            while above >= 0 and lines[above].strip().startswith(("#", "from ", "import ")):
                said.append(lines[above])
                above -= 1
            if not any(FIGURE.search(line.partition("#")[2]) for line in said):
                found.append(node.lineno)
    return sorted(set(found))


def test_front_ends_use_only_the_public_api():
    found = [line for name in MODULES if name.startswith(FRONT_ENDS) for line in internals(name)]
    wrong = [line for line in found if not api_internal(line)]
    assert not wrong, "front ends import engine internals:\n" + "\n".join(wrong)
    still = {(line.partition(":")[0], line.rpartition(".engine.")[2]) for line in found}
    stale = [f"engine/api/{module}.py: {target}" for module, targets in API_INTERNALS.items()
             for target in targets if (f"engine/api/{module}.py", target) not in still]
    assert not stale, "no longer imported, so drop from API_INTERNALS: " + ", ".join(stale)


def test_no_import_cycles():
    found = cycles(GRAPH)
    wrong = [c for c in found if c not in API_CYCLES]
    assert not wrong, "modules that import each other: " + "; ".join(map(" ".join, wrong))
    assert all(c in found for c in API_CYCLES), "a cycle in API_CYCLES is gone: drop it"


def test_imports_inside_functions_say_what_they_save():
    checked = [name for name in MODULES
               if any(name == m or name.startswith(m + ".") for m in LAZY_CHECKED)]
    wrong = [f"{MODULES[name].relative_to(REPO)}:{line}" for name in checked
             for line in unexplained_lazy_imports(MODULES[name])]
    assert not wrong, ("imports inside functions without the start-up time they save "
                       "(import at the top instead, or measure):\n" + "\n".join(wrong))


def test_a_lazy_import_needs_its_figure(tmp_path):
    (tmp_path / "cp.py").write_text(
        "def a():\n    import sys\n"
        "def b():\n    import tarfile  # ~5 ms\n"
        "def c():\n    # ~30 ms: templates\n    from .format import f\n    from .rows import R\n"
        "def d():\n    x = 1  # 2 ms\n    import json\n")
    assert unexplained_lazy_imports(tmp_path / "cp.py") == [2, 11]


@pytest.mark.parametrize("source, found", [
    ("from .. import Engine", ["dockyard.engine"]),
    ("from ..create import create_container", ["dockyard.engine.create"]),
    ("from ..image import reference", ["dockyard.engine.image.reference"]),
    ("import dockyard.engine.runtime.process", ["dockyard.engine.runtime.process"]),
    ("from .render import size", ["dockyard.engine.cli.render"]),
])
def test_every_import_counts_inside_functions_too(tmp_path, monkeypatch, source, found):
    fake = tmp_path / "cp.py"
    fake.write_text(f"def copy():\n    {source}\n")
    monkeypatch.setitem(MODULES, "dockyard.engine.cli.cp", fake)
    assert [known(t) for t, _ in imports("dockyard.engine.cli.cp")] == found


def test_a_cycle_through_three_modules_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c"]]
