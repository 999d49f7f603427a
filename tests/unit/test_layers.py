"""The router's import graph, read from the source: every dependency points one way (the map
below is the architecture: server → router → request, plan, execute, shape → operation,
supergraph), and no module imports itself back through others. Imports inside functions count:
they are dependencies too, only later ones."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import REPO

ROOT = REPO
PACKAGE = ROOT / "router"

BASE = {"env", "errors", "types"}
"""Imported by anything."""

ALLOWED: dict[str, set[str]] = {
    # the commands: they assemble everything
    "__main__": {
        "authentication",
        "codegen",
        "compose",
        "config",
        "dev",
        "router",
        "server",
        "supergraph",
    },
    "dev": {"authentication", "compose", "config", "execute", "server", "supergraph"},
    # serving one router over HTTP
    "server": {
        "authentication",
        "authz",
        "config",
        "execute",
        "request",
        "router",
        "supergraph",
        "telemetry",
    },
    # router.yaml, read into the settings of the phases it configures
    "config": {"authentication", "authz", "execute", "request"},
    # the core: one operation through its phases
    "router": {
        "admission",
        "authz",
        "defer",
        "execute",
        "operation",
        "plan",
        "prepare",
        "request",
        "restricted",
        "shape",
        "supergraph",
        "telemetry",
    },
    # an operation with @defer split into parts, run and delivered incrementally
    "defer": {"defer_keys", "operation", "plan", "prepare", "request"},
    # which deferred parts start from their entity's key, and the plans they then run
    "defer_keys": {"operation", "plan", "prepare"},
    # a requester's run of a prepared operation admitted, and its response made
    "admission": {"authz", "execute", "plan", "prepare", "request", "restricted"},
    # what the requester may run of a prepared operation, and its own plan
    "restricted": {"authz", "prepare", "request", "shape"},
    # each operation prepared once: request phase, plan, shaper, cached
    "prepare": {"authz", "operation", "plan", "request", "shape", "supergraph", "telemetry"},
    # the phases
    "authentication": set(),
    "authz": {"operation", "supergraph"},
    "request": {"supergraph"},
    "plan": {"operation", "supergraph"},
    "execute": {"codegen", "operation", "plan", "telemetry"},
    "shape": {"codegen", "operation"},
    # composition: subgraph schemas in, a supergraph the loader accepts out
    "compose": {"operation", "supergraph"},
    # what the phases read
    "supergraph": {"operation"},
    "operation": set(),
    "codegen": set(),
    "telemetry": set(),
    "env": set(),
    "errors": set(),
    "types": set(),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str, package: str, source: str, known: set[str]) -> Iterator[str]:
    """The router modules `module` (in `package`) imports: `from a import b` counts `a.b` when
    that is a module, else `a`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [name if name in known else base for name in names]
        else:
            continue
        yield from (name for name in names if name in known and name != module)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        module: set(
            _imports(
                module,
                module if path.name == "__init__.py" else module.rpartition(".")[0],
                path.read_text(encoding="utf-8"),
                known,
            )
        )
        for module, path in modules.items()
    }


def _unit(module: str) -> str:
    """`router.plan.graph.walk` → `plan`; `router.router` → `router`; `router` → `router`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "router"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_map_names_every_package_and_points_one_way() -> None:
    units = {_unit(module) for module in _modules()}
    assert units == set(ALLOWED), "a package is missing from ALLOWED, or ALLOWED names a gone one"
    assert not _cycles({unit: set(targets) for unit, targets in ALLOWED.items()})


def test_every_import_follows_the_map() -> None:
    wrong = sorted(
        f"{module} imports {target} ({_unit(module)} → {_unit(target)})"
        for module, targets in _graph().items()
        for target in targets
        if _unit(target) != _unit(module)
        and _unit(target) not in ALLOWED[_unit(module)] | BASE
        and module != "router"  # the package's entry re-exports its public API
    )
    assert not wrong, "dependencies that run the wrong way:\n" + "\n".join(wrong)


def test_no_module_imports_itself_back() -> None:
    assert not _cycles(_graph()), "import cycles"


def test_the_check_sees_a_wrong_way_import_and_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    known = {"router.server.app", "router.plan.nodes", "router.plan.walk"}
    source = "from router.server.app import App\ndef f():\n    from . import nodes\n"
    found = set(_imports("router.plan.walk", "router.plan", source, known))
    assert found == {"router.server.app", "router.plan.nodes"}
    assert "server" not in ALLOWED["plan"]
