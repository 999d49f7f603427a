"""Access-control directives (@authenticated, @requiresScopes, @policy): never on an interface,
an interface field or an @interfaceObject (AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE: they are
inherited there from the implementations); and a field whose `@requires` reads data behind
requirements asks at least those requirements itself, on the field or its type
(MISSING_TRANSITIVE_AUTH_REQUIREMENTS), or `@requires` would hand it data its client may not
see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graphql import GraphQLError

from router.compose.access import SPECS, AccessControl, Requirements
from router.compose.errors import CompositionError
from router.compose.merge import Merged, implementations
from router.compose.subgraph import Subgraph, is_external
from router.operation.ir import Field, Selection, parse_field_set

_NAMES = tuple(spec.name for spec in SPECS)


def check(subgraph: Subgraph) -> list[CompositionError]:
    """AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE for each @authenticated, @requiresScopes or @policy
    the subgraph puts on an interface, an interface's field or an @interfaceObject."""
    if subgraph.link is None:
        return []
    errors = []
    for stype in subgraph.types.values():
        interface_object = stype.has("interfaceObject")
        if stype.kind == "interface" or interface_object:
            kind = "interface object" if interface_object else "interface"
            errors += _misplaced(subgraph, _NAMES, stype.directives, kind, stype.name)
        if stype.kind == "interface":
            for sfield in stype.fields.values():
                coordinate = f"{stype.name}.{sfield.name}"
                errors += _misplaced(subgraph, _NAMES, sfield.directives, "field", coordinate)
    return errors


def _misplaced(
    subgraph: Subgraph,
    names: Iterable[str],
    directives: Mapping[str, object],
    kind: str,
    coordinate: str,
) -> list[CompositionError]:
    return [
        CompositionError(
            "AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE",
            f'[{subgraph.name}] @{name} is applied to {kind} "{coordinate}", where it may not be:'
            " put it on the object types that implement the interface (and their fields); the"
            " interface inherits their requirements in the supergraph.",
            (subgraph.name,),
        )
        for name in names
        if name in directives
    ]


def check_merged(
    subgraphs: Sequence[Subgraph], merged: dict[str, Merged]
) -> list[CompositionError]:
    """MISSING_TRANSITIVE_AUTH_REQUIREMENTS for each field whose `@requires` field set reads a
    field or type that asks more of a request than the field (with its type) does."""
    access = AccessControl(subgraphs, implementations(merged))
    if not access.used:
        return []
    requirements = _Requirements(access, merged)
    errors = []
    for entry in merged.values():
        for subgraph, stype in entry.parts:
            for sfield in stype.fields.values():
                fields = sfield.arg("requires", "fields")
                if not isinstance(fields, str):
                    continue
                coordinate = f"{entry.name}.{sfield.name}"
                own = requirements.of_type(entry.name).both(requirements.of_field(coordinate))
                try:
                    selections = parse_field_set(fields)
                except GraphQLError:
                    continue  # REQUIRES_INVALID_FIELDS says why
                for reached in requirements.reached(entry.name, selections):
                    if not own.satisfies(requirements.of(reached)):
                        errors.append(
                            CompositionError(
                                "MISSING_TRANSITIVE_AUTH_REQUIREMENTS",
                                f'[{subgraph.name}] Field "{coordinate}" has @requires reading'
                                f' "{reached}", which requires more of a request than'
                                f' "{coordinate}" does: give "{coordinate}" (or its type) the'
                                f" same @authenticated, @requiresScopes and @policy, or more.",
                                (subgraph.name,),
                            )
                        )
                        break
    return errors


class _Requirements:
    """The supergraph requirements of types and fields, by coordinate."""

    def __init__(self, access: AccessControl, merged: dict[str, Merged]) -> None:
        self.access = access
        self.merged = merged

    def of(self, coordinate: str) -> Requirements:
        if "." in coordinate:
            return self.of_field(coordinate)
        return self.of_type(coordinate)

    def of_type(self, name: str) -> Requirements:
        entry = self.merged.get(name)
        maps = [t.directives for _, t in entry.parts] if entry is not None else []
        return self.access.requirements(name, maps)

    def of_field(self, coordinate: str) -> Requirements:
        type_name, field_name = coordinate.split(".", 1)
        entry = self.merged.get(type_name)
        maps = [
            t.fields[field_name].directives
            for s, t in (entry.parts if entry is not None else [])
            if field_name in t.fields and not is_external(s, t, t.fields[field_name])
        ]
        return self.access.requirements(coordinate, maps)

    def _field_type(self, type_name: str, field_name: str) -> str | None:
        entry = self.merged.get(type_name)
        for _, stype in entry.parts if entry is not None else []:
            if field_name in stype.fields:
                text = stype.fields[field_name].type
                return text.replace("[", "").replace("]", "").replace("!", "")
        return None

    def reached(self, parent: str, selections: Iterable[Selection]) -> Iterable[str]:
        """Each field (`Type.field`), its type and each type condition the selections read."""
        for selection in selections:
            if isinstance(selection, Field):
                yield f"{parent}.{selection.name}"
                field_type = self._field_type(parent, selection.name)
                if field_type is None:
                    continue
                yield field_type
                yield from self.reached(field_type, selection.selections or ())
            else:
                target = selection.type_condition or parent
                if selection.type_condition:
                    yield target
                yield from self.reached(target, selection.selections)
