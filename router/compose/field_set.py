"""Walking a field set (`@key`, `@requires`, `@provides` `fields:`) over one subgraph's types:
which fields it selects, where, and whether under an @external field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import GraphQLError

from router.compose.subgraph import SField, Subgraph, is_external
from router.operation.ir import Field, Selection, parse_field_set


@dataclass(frozen=True, slots=True)
class Selected:
    """A field a field set selects, where it sits in the selection."""

    parent: str
    field: SField
    leaf: bool
    under_external: bool
    """True when a field above it in the selection is @external."""

    @property
    def named(self) -> str:
        """The named type of the selected field (lists and non-null stripped)."""
        return self.field.type.replace("[", "").replace("]", "").replace("!", "")


def selected_fields(subgraph: Subgraph, type_name: str, text: str) -> list[Selected]:
    """The fields `text` selects from `type_name`, known to the subgraph, at any depth (none
    when it does not parse: KEY/REQUIRES/PROVIDES_INVALID_FIELDS say why)."""
    try:
        selections = parse_field_set(text)
    except GraphQLError:
        return []
    return list(_walk(subgraph, type_name, selections, False))


def _walk(
    subgraph: Subgraph, type_name: str, selections: tuple[Selection, ...], under_external: bool
) -> Iterator[Selected]:
    stype = subgraph.types.get(type_name)
    if stype is None:
        return
    for selection in selections:
        if not isinstance(selection, Field):
            condition = selection.type_condition or type_name
            yield from _walk(subgraph, condition, selection.selections, under_external)
            continue
        sfield = stype.fields.get(selection.name)
        if sfield is None:
            continue
        external = is_external(subgraph, stype, sfield) or (
            stype.kind == "interface"
            and any(
                stype.name in t.interfaces
                and selection.name in t.fields
                and is_external(subgraph, t, t.fields[selection.name])
                for t in subgraph.types.values()
            )
        )
        found = Selected(type_name, sfield, not selection.selections, under_external)
        yield found
        if selection.selections:
            yield from _walk(
                subgraph, found.named, selection.selections, under_external or external
            )


def used_fields(subgraph: Subgraph) -> set[tuple[str, str]]:
    """Every (type, field) a @key, @requires or @provides of the subgraph selects."""
    found: set[tuple[str, str]] = set()
    for stype in subgraph.types.values():
        for key in stype.keys:
            fields = key.get("fields")
            if isinstance(fields, str):
                found |= {
                    (s.parent, s.field.name) for s in selected_fields(subgraph, stype.name, fields)
                }
        for sfield in stype.fields.values():
            for directive, target in (("requires", stype.name), ("provides", _named(sfield.type))):
                fields = sfield.arg(directive, "fields")
                if isinstance(fields, str):
                    found |= {
                        (s.parent, s.field.name) for s in selected_fields(subgraph, target, fields)
                    }
    return found


def _named(type_text: str) -> str:
    return type_text.replace("[", "").replace("]", "").replace("!", "")
