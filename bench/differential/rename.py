"""The alias-renaming variant of an operation, and its answer mapped back to the original names.

A response name is only a label: renaming it to a fresh one (`name: id` → `renamed1: id`) and
renaming it back in the answer must not change any value. `rename_aliases` gives every field whose
response name is one of the operation's aliases (aliased or not: an unaliased `id` beside
`id: name` shares the response name `id` and keeps sharing it) a fresh alias, one per original
name across the whole document, so fields merge after the renaming exactly as before.
`map_back` renames an answer's keys back. A gateway whose mapped-back answer differs from its
answer to the original operation contradicts itself on one of two equivalent operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, NameNode, Visitor, parse, print_ast, visit

FRESH_PREFIX = "renamed"


@dataclass(frozen=True, slots=True)
class Renaming:
    """The renamed operation's text and, per fresh name, the original response name."""

    query: str
    back: Mapping[str, str]


class _Names(Visitor):
    """Every field name and alias in a document, and the aliases on their own."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.aliases: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.names.add(node.name.value)
        if node.alias is not None:
            self.names.add(node.alias.value)
            self.aliases.add(node.alias.value)


class _Rename(Visitor):
    def __init__(self, fresh: Mapping[str, str]) -> None:
        super().__init__()
        self.fresh = fresh

    def enter_field(self, node: FieldNode, *_: Any) -> FieldNode | None:
        key = node.alias.value if node.alias is not None else node.name.value
        if key not in self.fresh:
            return None
        kept = {k: getattr(node, k) for k in node.keys if k not in ("loc", "alias")}
        return FieldNode(alias=NameNode(value=self.fresh[key]), **kept)


def rename_aliases(query: str) -> Renaming | None:
    """The operation with each aliased response name made fresh; None when it has no alias."""
    document = parse(query)
    names = _Names()
    visit(document, names)
    if not names.aliases:
        return None
    fresh: dict[str, str] = {}
    counter = 0
    for alias in sorted(names.aliases):
        counter += 1
        while f"{FRESH_PREFIX}{counter}" in names.names:
            counter += 1
        fresh[alias] = f"{FRESH_PREFIX}{counter}"
    renamed = visit(document, _Rename(fresh))
    return Renaming(print_ast(renamed), {new: old for old, new in fresh.items()})


def map_back(value: Any, back: Mapping[str, str]) -> Any:
    """`value` (a response's data) with every fresh key renamed to its original name."""
    if isinstance(value, dict):
        return {back.get(k, k): map_back(v, back) for k, v in value.items()}
    if isinstance(value, list):
        return [map_back(item, back) for item in value]
    return value
