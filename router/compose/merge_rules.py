"""Composition rules across subgraphs, on the merged types, with Apollo's error codes:
TYPE_KIND_MISMATCH, FIELD_TYPE_MISMATCH, FIELD_ARGUMENT_TYPE_MISMATCH, INVALID_FIELD_SHARING,
ENUM_VALUE_MISMATCH, EMPTY_MERGED_ENUM_TYPE, REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH,
EMPTY_MERGED_INPUT_TYPE, OVERRIDE_FROM_SELF_ERROR, OVERRIDE_SOURCE_HAS_OVERRIDE,
OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE.

Hints (FROM_SUBGRAPH_DOES_NOT_EXIST) are returned separately: they do not fail composition.
"""

from collections.abc import Sequence

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField, SType, Subgraph, is_external
from router.compose.validate import check_field_set, named, type_shape

__all__ = ["validate_merge"]


def validate_merge(
    subgraphs: Sequence[Subgraph], merged: dict[str, Merged]
) -> tuple[list[CompositionError], list[CompositionError]]:
    """Errors and hints for the merged types."""
    errors: list[CompositionError] = []
    hints: list[CompositionError] = []
    names = {s.name for s in subgraphs}
    for entry in merged.values():
        kinds = {("interface" if t.has("interfaceObject") else t.kind) for _, t in entry.parts}
        if len(kinds) > 1:
            detail = ", ".join(f'{t.kind} in "{s.name}"' for s, t in entry.parts)
            errors.append(
                CompositionError(
                    "TYPE_KIND_MISMATCH",
                    f'Type "{entry.name}" has mismatched kind: it is defined as {detail}',
                    tuple(s.name for s, _ in entry.parts),
                )
            )
            first = entry.parts[0][1].kind
            if first == "input":
                # As Apollo: the first subgraph's kind wins, and a subgraph defining the name
                # with another kind counts as an input type without fields.
                errors += _input(_as_kind(entry, first))
            continue
        if entry.kind in ("object", "interface"):
            errors += _fields(entry, names, hints, merged)
        elif entry.kind == "enum":
            errors += _enum(entry, merged)
        elif entry.kind == "input":
            errors += _input(entry)
    return errors, hints


def _fields(
    entry: Merged,
    subgraph_names: set[str],
    hints: list[CompositionError],
    merged: dict[str, Merged],
) -> list[CompositionError]:
    errors: list[CompositionError] = []
    by_field: dict[str, list[tuple[Subgraph, SType, SField]]] = {}
    for subgraph, stype in entry.parts:
        for name, sfield in stype.fields.items():
            by_field.setdefault(name, []).append((subgraph, stype, sfield))
    for name, sources in by_field.items():
        coordinate = f"{entry.name}.{name}"
        # An @external declaration's type is EXTERNAL_TYPE_MISMATCH's business (rules/).
        typed = [(s, t, f) for s, t, f in sources if not is_external(s, t, f)] or sources
        shapes = {type_shape(f.type).replace("!", "") for _, _, f in typed}
        nameds = {named(f.type) for _, _, f in typed}
        if len(shapes) > 1 or (len(nameds) > 1 and not _related(nameds, merged)):
            detail = ", ".join(f'type "{f.type}" in subgraph "{s.name}"' for s, _, f in typed)
            errors.append(
                CompositionError(
                    "FIELD_TYPE_MISMATCH",
                    f'Type of field "{coordinate}" is incompatible across subgraphs: it has {detail}',
                    tuple(s.name for s, _, _ in typed),
                )
            )
        errors += _arguments(coordinate, [(s, f) for s, _, f in typed])
        overridden = _overrides(coordinate, sources, subgraph_names, errors, hints)
        # A subgraph resolves the field where it is not @external, or where a @provides there
        # selects it.
        resolving = [
            (s, t, f)
            for s, t, f in sources
            if (not f.has("external") or (t.name, f.name) in _provided(s))
            and s.name not in overridden
        ]
        unshared = [
            s.name for s, t, f in resolving if not f.has("external") and not is_shareable(s, t, f)
        ]
        if len(resolving) > 1 and entry.kind == "object" and unshared:
            names = ", ".join(f'"{s.name}"' for s, _, _ in resolving)
            errors.append(
                CompositionError(
                    "INVALID_FIELD_SHARING",
                    f'Non-shareable field "{coordinate}" is resolved from multiple subgraphs: it is '
                    f"resolved from subgraphs {names} and defined as non-shareable in "
                    + ", ".join(f'"{u}"' for u in unshared),
                    tuple(s.name for s, _, _ in resolving),
                )
            )
    return errors


def _overrides(
    coordinate: str,
    sources: list[tuple[Subgraph, SType, SField]],
    subgraph_names: set[str],
    errors: list[CompositionError],
    hints: list[CompositionError],
) -> set[str]:
    """The subgraphs whose field an @override takes over (OVERRIDE_* errors and the
    FROM_SUBGRAPH_DOES_NOT_EXIST hint on the way)."""
    overridden: set[str] = set()
    for subgraph, stype, sfield in sources:
        origin = sfield.arg("override", "from")
        if origin is None:
            continue
        if origin == subgraph.name:
            errors.append(
                CompositionError(
                    "OVERRIDE_FROM_SELF_ERROR",
                    f'Source and destination subgraphs "{origin}" are the same for overridden field "{coordinate}"',
                    (subgraph.name,),
                )
            )
        elif origin not in subgraph_names:
            hints.append(
                CompositionError(
                    "FROM_SUBGRAPH_DOES_NOT_EXIST",
                    f'Source subgraph "{origin}" for field "{coordinate}" on subgraph "{subgraph.name}" '
                    "does not exist. Did you mean another subgraph?",
                    (subgraph.name,),
                )
            )
        else:
            source = next((f for s, _, f in sources if s.name == origin), None)
            if source is not None and source.has("override"):
                errors.append(
                    CompositionError(
                        "OVERRIDE_SOURCE_HAS_OVERRIDE",
                        f'Field "{coordinate}" on subgraph "{subgraph.name}" is also marked with '
                        f'directive @override in subgraph "{origin}". Only one @override directive '
                        "is allowed per field.",
                        (subgraph.name, origin),
                    )
                )
            elif source is not None:
                external = is_external(subgraph, stype, sfield)
                conflict = _override_conflict(coordinate, subgraph.name, external, origin, source)
                if conflict is not None:
                    errors.append(conflict)  # and the @override takes no effect
                else:
                    # With a label (progressive override) the two resolve it in turn, not at
                    # once. Two fields overriding each other override neither.
                    overridden.add(origin)
    return overridden


def _override_conflict(
    coordinate: str, subgraph: str, external: bool, origin: str, source: SField
) -> CompositionError | None:
    """OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE, as Apollo: the overridden field has @requires
    or @provides in its subgraph (what it needs or provides would be lost with it), or the
    overriding field is @external (it does not resolve the field it claims). Such an @override
    takes no effect, so both subgraphs still resolve the field."""
    conflicting = next((d for d in ("requires", "provides") if source.has(d)), None)
    where = origin
    if conflicting is None and external:
        conflicting, where = "external", subgraph
    if conflicting is None:
        return None
    return CompositionError(
        "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
        f'Field "{coordinate}" in subgraph "{subgraph}" has @override(from: "{origin}"), '
        f'but the field is marked @{conflicting} in subgraph "{where}": an overridden field may '
        "not have @requires or @provides, nor the overriding one @external. Remove one of the "
        "two directives.",
        (subgraph, origin),
    )


def _related(nameds: set[str], merged: dict[str, Merged]) -> bool:
    """Output types may differ when one of them is a supertype of all the others (an interface
    they implement, a union they belong to)."""

    def subtypes(name: str) -> set[str]:
        entry = merged.get(name)
        if entry is None:
            return set()
        found = {m for _, t in entry.parts for m in t.members}
        for other in merged.values():
            if any(name in t.interfaces for _, t in other.parts):
                found.add(other.name)
        return found

    return any(nameds - {top} <= subtypes(top) for top in nameds)


def is_shareable(subgraph: Subgraph, stype: SType, sfield: SField) -> bool:
    """Whether the subgraph lets other subgraphs resolve the field too: `@shareable` on it or its
    type, a field of a `@key`, or any field of a Federation 1 subgraph."""
    if not subgraph.federation2:
        return True
    if sfield.has("shareable") or stype.has("shareable"):
        return True
    return (stype.name, sfield.name) in _key_fields(subgraph)


def _provided(subgraph: Subgraph) -> set[tuple[str, str]]:
    """Every (type, field) a @provides of the subgraph selects."""
    found: set[tuple[str, str]] = set()
    for stype in subgraph.types.values():
        for sfield in stype.fields.values():
            fields = sfield.arg("provides", "fields")
            if isinstance(fields, str):
                _, names = check_field_set(subgraph, named(sfield.type), fields)
                found |= names
    return found


def _key_fields(subgraph: Subgraph) -> set[tuple[str, str]]:
    """Every (type, field) a @key of the subgraph selects, nested selections included: key
    fields are shareable without saying so."""
    found: set[tuple[str, str]] = set()
    for stype in subgraph.types.values():
        for key in stype.keys:
            fields = key.get("fields")
            if isinstance(fields, str):
                _, names = check_field_set(subgraph, stype.name, fields)
                found |= names
    return found


def _arguments(coordinate: str, sources: list[tuple[Subgraph, SField]]) -> list[CompositionError]:
    errors = []
    by_argument: dict[str, list[tuple[Subgraph, SField]]] = {}
    for subgraph, sfield in sources:
        for name, argument in sfield.arguments.items():
            by_argument.setdefault(name, []).append((subgraph, argument))
    for name, defined in by_argument.items():
        types = {named(a.type) for _, a in defined}
        shapes = {type_shape(a.type).replace("!", "") for _, a in defined}
        if len(types) > 1 or len(shapes) > 1:
            detail = ", ".join(f'type "{a.type}" in subgraph "{s.name}"' for s, a in defined)
            errors.append(
                CompositionError(
                    "FIELD_ARGUMENT_TYPE_MISMATCH",
                    f'Type of argument "{coordinate}({name}:)" is incompatible across subgraphs: it has {detail}',
                    tuple(s.name for s, _ in defined),
                )
            )
    return errors


def _enum(entry: Merged, merged: dict[str, Merged]) -> list[CompositionError]:
    as_input = as_output = False
    for other in merged.values():
        for _, stype in other.parts:
            for sfield in stype.fields.values():
                if other.kind == "input" and named(sfield.type) == entry.name:
                    as_input = True
                elif other.kind != "input":
                    if named(sfield.type) == entry.name:
                        as_output = True
                    if any(named(a.type) == entry.name for a in sfield.arguments.values()):
                        as_input = True
    value_sets = {
        s.name: {v for v, value in t.values.items() if not value.has("inaccessible")}
        for s, t in entry.parts
    }
    union = set().union(*value_sets.values())
    if as_input and as_output:
        for subgraph, values in value_sets.items():
            missing = sorted(union - values)
            if missing:
                return [
                    CompositionError(
                        "ENUM_VALUE_MISMATCH",
                        f'Enum type "{entry.name}" is used as both input type and output type, but '
                        f'value "{missing[0]}" is not defined in all the subgraphs defining '
                        f'"{entry.name}": it is missing in subgraph "{subgraph}"',
                        tuple(value_sets),
                    )
                ]
    if as_input and not as_output and not set.intersection(*value_sets.values()):
        return [
            CompositionError(
                "EMPTY_MERGED_ENUM_TYPE",
                f'None of the values of enum type "{entry.name}" are defined consistently in all '
                "the subgraphs defining that type: as only subgraphs common values are kept, "
                "merging would result in an empty type.",
                tuple(value_sets),
            )
        ]
    return []


def _as_kind(entry: Merged, kind: str) -> Merged:
    """The entry with every part of another kind emptied to a `kind` type without fields."""
    parts = [(s, t if t.kind == kind else SType(t.name, kind)) for s, t in entry.parts]
    return Merged(entry.name, kind, parts)


def _input(entry: Merged) -> list[CompositionError]:
    errors = []
    field_sets = {s.name: t.fields for s, t in entry.parts}
    common = set.intersection(*(set(f) for f in field_sets.values()))
    for name in sorted(common):
        defined = [(s, f[name]) for s, f in field_sets.items()]
        if (
            len({named(f.type) for _, f in defined}) > 1
            or len({type_shape(f.type).replace("!", "") for _, f in defined}) > 1
        ):
            detail = ", ".join(f'type "{f.type}" in subgraph "{s}"' for s, f in defined)
            errors.append(
                CompositionError(
                    "FIELD_TYPE_MISMATCH",
                    f'Type of input field "{entry.name}.{name}" is incompatible across '
                    f"subgraphs: it has {detail}",
                    tuple(s for s, _ in defined),
                )
            )
    for subgraph, fields in field_sets.items():
        for name, sfield in fields.items():
            if name in common:
                continue
            if sfield.type.endswith("!") and sfield.default is None:
                absent = [s for s, f in field_sets.items() if name not in f]
                errors.append(
                    CompositionError(
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                        f'Input object field "{entry.name}.{name}" is required in some subgraphs but '
                        f'does not appear in all subgraphs: it is required in subgraph "{subgraph}" but '
                        f"does not appear in subgraph {', '.join(chr(34) + a + chr(34) for a in absent)}",
                        (subgraph, *absent),
                    )
                )
    if not common:
        errors.append(
            CompositionError(
                "EMPTY_MERGED_INPUT_TYPE",
                f'None of the fields of input object type "{entry.name}" are consistently defined in '
                "all the subgraphs defining that type. As only fields common to all subgraphs are "
                "merged, this would result in an empty type.",
                tuple(field_sets),
            )
        )
    return errors
