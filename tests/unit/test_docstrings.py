"""Docstrings on the public API (#13), so that a reader (or an editor's hover) learns what a name
does without reading its body. Read from the source with `ast`: every module under router/ has a
module docstring, every package's `__init__.py` assigns `__all__`, and every public function,
class and method says what it does. Public means a name without a leading `_`, at
module level or in a public class's body (dunder methods, `@overload` stubs and property setters
are not asked; names inside function bodies are not public). The failure lists `path:line name`
for each offender, so the fix is a docstring, not a search."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import REPO

PACKAGE = REPO / "router"
SKIPPED = [PACKAGE / "server" / "graphiql" / "static"]
"""Vendored assets, no Python of ours."""

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def sources() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not any(path.is_relative_to(skipped) for skipped in SKIPPED)
    )


def is_public(name: str) -> bool:
    return not name.startswith("_")


def decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[str]:
    """`overload`, `typing.overload`, `x.setter`: each decorator as dotted text."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        yield ast.unparse(target)


def exempt(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        name in {"overload", "typing.overload"} or name.endswith((".setter", ".deleter"))
        for name in decorator_names(node)
    )


def top_level(body: list[ast.stmt]) -> Iterator[Definition]:
    """The definitions a body makes, looking into `if` and `try` blocks (a conditional import's
    fallback is still module level) but not into functions."""
    for statement in body:
        if isinstance(statement, Definition):
            yield statement
        elif isinstance(statement, ast.If):
            yield from top_level(statement.body)
            yield from top_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from top_level(block)
            for handler in statement.handlers:
                yield from top_level(handler.body)


def undocumented(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, qualified name) of each public definition in `tree` without a docstring."""
    for node in top_level(tree.body):
        if not is_public(node.name):
            continue
        if isinstance(node, ast.ClassDef):
            if ast.get_docstring(node) is None:
                yield node.lineno, node.name
            for member in top_level(node.body):
                if (
                    isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                    and is_public(member.name)
                    and not exempt(member)
                    and ast.get_docstring(member) is None
                ):
                    yield member.lineno, f"{node.name}.{member.name}"
        elif not exempt(node) and ast.get_docstring(node) is None:
            yield node.lineno, node.name


def assigns_all(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets)
        for node in tree.body
    )


def offenders() -> list[str]:
    found: list[str] = []
    for path in sources():
        where = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=where)
        if ast.get_docstring(tree) is None:
            found.append(f"{where}:1 (module docstring)")
        if path.name == "__init__.py" and not assigns_all(tree):
            found.append(f"{where}:1 (__all__)")
        found.extend(f"{where}:{line} {name}" for line, name in undocumented(tree))
    return found


def test_the_walk_reaches_the_packages() -> None:
    paths = sources()
    assert len(paths) >= 100
    assert PACKAGE / "plan" / "__init__.py" in paths
    assert not any(path.suffix != ".py" for path in paths)


SAMPLE = '''
from typing import overload

def bare(): pass
def _private(): pass
def documented():
    """Said."""
    def inner(): pass
@overload
def stub(x: int) -> int: ...
class Open:
    def method(self): pass
    def __init__(self): pass
    @property
    def value(self): pass
    @value.setter
    def value(self, v): pass
class _Hidden:
    def method(self): pass
if True:
    def conditional(): pass
'''


def test_what_counts_as_public() -> None:
    found = [name for _, name in undocumented(ast.parse(SAMPLE))]
    assert found == ["bare", "Open", "Open.method", "Open.value", "conditional"]


def test_every_public_name_in_router_has_a_docstring() -> None:
    found = offenders()
    assert not found, "without a docstring (or __all__):\n" + "\n".join(found)
