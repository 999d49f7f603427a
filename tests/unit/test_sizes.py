"""Small modules and functions (../shared/STYLE.md): outside tests and vendored assets, no
module of ours is over MODULE_LINES lines and no function over FUNCTION_LINES (decorators and
docstring included), counted with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO

MODULE_LINES = 500
FUNCTION_LINES = 80
PACKAGES = ("router", "subgraph_kit", "customer_subgraph", "order_subgraph", "bench", "tools")
SKIPPED = {"node_modules", "static", ".cache"}
"""Vendored or generated: npm's packages, the built GraphiQL bundle, bench's downloads."""


def sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
        if not SKIPPED & set(path.relative_to(REPO).parts)
    )


def test_modules_are_small() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in sources()
        if (lines := len(path.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}


def test_functions_are_small() -> None:
    long = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines > FUNCTION_LINES:
                    long[f"{path.relative_to(REPO)}:{node.name}"] = lines
    assert long == {}


def test_the_sources_are_found() -> None:
    """The walk sees the packages (an empty list would pass the two tests above)."""
    names = {str(path.relative_to(REPO)) for path in sources()}
    assert {"router/router.py", "subgraph_kit/service.py", "bench/gateways.py"} <= names
