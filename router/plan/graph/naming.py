"""Names in subgraph operations: the planner's own fields (keys, requirements) never take a
response name the client gave another field, and required fields with arguments get an alias
of their own. Representations are read from the alias and sent under the field's name
(router/execute/projection.py)."""

from __future__ import annotations

import hashlib

from router.operation.ir import Field, InlineFragment, Selection

Names = tuple[Selection, ...]
"""The client's selections at one object: the response names planner fields must avoid."""


def response_names(selections: tuple[Selection, ...]) -> dict[str, list[Field]]:
    """Response name → the client's fields with it, under every fragment."""
    found: dict[str, list[Field]] = {}
    for selection in selections:
        if isinstance(selection, InlineFragment):
            for name, fields in response_names(selection.selections).items():
                found.setdefault(name, []).extend(fields)
        else:
            found.setdefault(selection.response_name, []).append(selection)
    return found


def avoid_names(selections: tuple[Selection, ...], names: Names) -> tuple[Selection, ...]:
    """Fields the planner adds (keys, requirements) get an alias where a client field at the
    same object has their response name but is another field (`{ id: rid }`), at any depth:
    the client's value is never replaced by the planner's, nor the key by the client's."""
    taken = response_names(names)
    result: list[Selection] = []
    for selection in selections:
        if isinstance(selection, InlineFragment):
            result.append(with_selections(selection, avoid_names(selection.selections, names)))
            continue
        if selection.name == "__typename":
            result.append(selection)
            continue
        clients = taken.get(selection.response_name, [])
        alias = selection.alias
        if any((c.name, c.arguments) != (selection.name, selection.arguments) for c in clients):
            alias = f"{selection.name}__internal"
            index = 0
            while alias in taken:
                index += 1
                alias = f"{selection.name}__internal_{index}"
            clients = []
        inner = selection.selections
        if inner:
            below = tuple(s for c in clients for s in (c.selections or ()))
            inner = avoid_names(inner, below)
        result.append(
            Field(
                selection.name,
                alias,
                selection.arguments,
                selection.directives,
                inner,
                selection.variables,
                selection.conditions,
            )
        )
    return tuple(result)


def argument_paths(
    selections: tuple[Selection, ...], prefix: tuple[str, ...]
) -> dict[tuple[str, ...], str]:
    """(type, field, sub-field, …) → printed arguments, for every field of a field set."""
    found: dict[tuple[str, ...], str] = {}
    for selection in selections:
        if isinstance(selection, InlineFragment):
            found.update(argument_paths(selection.selections, prefix))
            continue
        here = (*prefix, selection.name)
        found[here] = selection.arguments
        if selection.selections:
            found.update(argument_paths(selection.selections, here))
    return found


def alias_arguments(selections: tuple[Selection, ...]) -> tuple[Selection, ...]:
    """Required fields that take arguments get an alias of their own, so they never clash with
    the same field the client asks with other arguments (representations are read from the
    alias and sent under the field's name)."""
    result: list[Selection] = []
    for selection in selections:
        if isinstance(selection, InlineFragment):
            result.append(with_selections(selection, alias_arguments(selection.selections)))
            continue
        inner = alias_arguments(selection.selections) if selection.selections else None
        alias = selection.alias
        if selection.arguments and alias is None:
            digest = hashlib.sha1(selection.arguments.encode()).hexdigest()[:8]
            alias = f"{selection.name}__required_{digest}"
        result.append(
            Field(
                selection.name,
                alias,
                selection.arguments,
                selection.directives,
                inner if selection.selections is not None else None,
                selection.variables,
                selection.conditions,
            )
        )
    return tuple(result)


def with_selections(fragment: InlineFragment, selections: tuple[Selection, ...]) -> InlineFragment:
    """`fragment` with `selections` in place of its own; type condition, directives, variables and
    conditions kept."""
    return InlineFragment(
        fragment.type_condition,
        selections,
        fragment.directives,
        fragment.variables,
        fragment.conditions,
    )
