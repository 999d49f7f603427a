"""`@requires` and `@provides` field sets: a string (REQUIRES_/PROVIDES_INVALID_FIELDS_TYPE);
`@provides` only on a field of object, interface or union type (PROVIDES_ON_NON_OBJECT_FIELD),
selecting no field with arguments (PROVIDES_FIELDS_HAS_ARGS); in a Federation 2 subgraph every
leaf they select is @external there, or under an @external field
(REQUIRES_/PROVIDES_FIELDS_MISSING_EXTERNAL). `selected_fields` walks a field set for the
other rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import GraphQLError

from router.compose.errors import CompositionError
from router.compose.subgraph import SField, Subgraph, is_external
from router.operation.ir import Field, Selection, parse_field_set

_BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


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


def check(subgraph: Subgraph) -> list[CompositionError]:
    errors = []
    where = (subgraph.name,)
    for stype in subgraph.types.values():
        for sfield in stype.fields.values():
            coordinate = f"{stype.name}.{sfield.name}"
            for directive in ("requires", "provides"):
                if not sfield.has(directive):
                    continue
                fields = sfield.arg(directive, "fields")
                code = directive.upper()
                if not isinstance(fields, str):
                    errors.append(
                        CompositionError(
                            f"{code}_INVALID_FIELDS_TYPE",
                            f'[{subgraph.name}] On field "{coordinate}", @{directive}(fields:) is '
                            f"given {fields!r}: it must be a string naming fields.",
                            where,
                        )
                    )
                    continue
                target = stype.name
                if directive == "provides":
                    target = sfield.type.replace("[", "").replace("]", "").replace("!", "")
                    kind = subgraph.types[target].kind if target in subgraph.types else None
                    if kind in ("scalar", "enum", "input") or target in _BUILTIN_SCALARS:
                        errors.append(
                            CompositionError(
                                "PROVIDES_ON_NON_OBJECT_FIELD",
                                f'[{subgraph.name}] Field "{coordinate}" has @provides but is of '
                                f'type "{sfield.type}", which has no fields to provide: remove '
                                "the @provides or put it on a field of object type.",
                                where,
                            )
                        )
                        continue
                head = (
                    f'[{subgraph.name}] On field "{coordinate}", '
                    f'for @{directive}(fields: "{fields}"): '
                )
                for selected in selected_fields(subgraph, target, fields):
                    selected_coordinate = f"{selected.parent}.{selected.field.name}"
                    if directive == "provides" and selected.field.arguments:
                        errors.append(
                            CompositionError(
                                "PROVIDES_FIELDS_HAS_ARGS",
                                head + f'field "{selected_coordinate}" takes arguments, and '
                                "@provides cannot select a field with arguments.",
                                where,
                            )
                        )
                    if not subgraph.federation2 or not selected.leaf or selected.under_external:
                        continue
                    parent = subgraph.types[selected.parent]
                    if not is_external(subgraph, parent, selected.field):
                        errors.append(
                            CompositionError(
                                f"{code}_FIELDS_MISSING_EXTERNAL",
                                head + f'field "{selected_coordinate}" is resolved by this '
                                f"subgraph (it is not @external), so @{directive} cannot list "
                                f"it: mark it @external or remove it from @{directive}.",
                                where,
                            )
                        )
    return errors
