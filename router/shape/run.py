"""The state one response's shaping shares: its variables, errors, the path being shaped, and
the null propagation rule (`Run.null_at`) that the generated functions (shaper.py) call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from router.types import JSONObject, ResponsePath, Variables

LEAF, ENUM, OBJECT, ABSTRACT = range(4)
"""The kinds of a shaping plan's types (a list's is -1): a scalar, an enum, an object type, an
interface or union."""

NULL = object()
"""A non-null position got null: the parent becomes null too (already reported)."""


class NamedField(Protocol):
    """What an error about a field names: its parent type and its field name."""

    parent: str
    field_name: str


class Run:
    """The per-response state the generated functions share."""

    __slots__ = ("completion", "error_paths", "errors", "extra", "path", "silent", "variables")

    def __init__(
        self,
        variables: Variables,
        errors: list[JSONObject],
        extra: JSONObject,
        silent: Sequence[ResponsePath] = (),
        completion: list[JSONObject] | None = None,
    ) -> None:
        self.variables = variables
        self.errors = errors
        self.extra = extra
        self.path: list[str | int] = []
        """The response path being shaped (for error paths): objects and lists push their key."""
        self.error_paths = [tuple(e["path"]) for e in errors if isinstance(e.get("path"), list)]
        """Paths whose nulls are already explained (by a subgraph error or an earlier null)."""
        self.silent = [tuple(path) for path in silent]
        self.completion = [] if completion is None else completion

    def null_at(self, entry: NamedField, key: str | int) -> object:
        """Report a null in the non-null position `key` under the current path (unless a
        subgraph error already covers it); returns NULL for the caller to propagate."""
        here = (*self.path, key)
        if related(here, self.error_paths):
            return NULL
        error = {
            "message": "Cannot return null for non-nullable field "
            f"{entry.parent}.{entry.field_name}.",
            "path": list(here),
            "extensions": {"code": "INVALID_GRAPHQL"},
        }
        (self.completion if related(here, self.silent) else self.errors).append(error)
        self.error_paths.append(here)
        return NULL


def related(path: tuple[str | int, ...], known: list[tuple[str | int, ...]]) -> bool:
    """Whether `path` is at, under or above one of the `known` paths (where `@` in a known
    path, as authorization errors give them, stands for any list index)."""
    return any(
        path[: len(k)] == k or k[: len(path)] == path or ("@" in k and matches(path, k))
        for k in known
    )


def matches(path: tuple[str | int, ...], known: tuple[str | int, ...]) -> bool:
    """Whether `path` and `known` agree step by step over their common length, `@` in `known`
    matching any list index."""
    return all(
        step == other or (other == "@" and isinstance(step, int))
        for step, other in zip(path, known, strict=False)
    )
