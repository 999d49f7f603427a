"""The core composition rules, with Apollo's error codes (the other families are in
`router/compose/rules/`, one module each; the pipeline in merge.py runs both).

Each check returns `CompositionError`s naming the types, fields and subgraphs involved:

    per subgraph      KEY_INVALID_FIELDS, REQUIRES_INVALID_FIELDS, PROVIDES_INVALID_FIELDS
                      (empty, aliased, unknown fields), *_DIRECTIVE_IN_FIELDS_ARG,
                      EXTERNAL_UNUSED
    across subgraphs  TYPE_KIND_MISMATCH, FIELD_TYPE_MISMATCH, FIELD_ARGUMENT_TYPE_MISMATCH,
                      INVALID_FIELD_SHARING, ENUM_VALUE_MISMATCH, EMPTY_MERGED_ENUM_TYPE,
                      REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH, EMPTY_MERGED_INPUT_TYPE,
                      OVERRIDE_FROM_SELF_ERROR, OVERRIDE_SOURCE_HAS_OVERRIDE,
                      OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE
    visibility        REFERENCED_INACCESSIBLE (an accessible field typed with an inaccessible type)
    reachability      SATISFIABILITY_ERROR (a field only where no query can enter its type:
                      no root path there, and no resolvable @key whose fields another
                      subgraph holding the type can give; not Apollo's full query-path walk),
                      SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES

Hints (FROM_SUBGRAPH_DOES_NOT_EXIST) are returned separately: they do not fail composition.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField, SType, Subgraph, is_external
from router.operation.ir import Field, InlineFragment, Selection, parse_field_set

__all__ = [
    "CompositionError",
    "validate_inaccessible",
    "validate_merge",
    "validate_satisfiability",
    "validate_subgraph",
]


def named(type_text: str) -> str:
    return type_text.replace("[", "").replace("]", "").replace("!", "")


def _shape(type_text: str) -> str:
    """The list/non-null structure, without the named type: `[X!]!` → `[_!]!`."""
    return type_text.replace(named(type_text), "_")


# --- per subgraph ----------------------------------------------------------------------------


def validate_subgraph(subgraph: Subgraph) -> list[CompositionError]:
    errors: list[CompositionError] = []
    used_external: set[tuple[str, str]] = set()
    for stype in subgraph.types.values():
        for key in stype.keys:
            fields = key.get("fields")
            if not isinstance(fields, str):
                continue  # KEY_INVALID_FIELDS_TYPE (rules/keys.py)
            problem, names = _check_field_set(subgraph, stype.name, fields)
            if problem:
                errors.append(
                    CompositionError(
                        _field_set_code("KEY_INVALID_FIELDS", problem),
                        f'[{subgraph.name}] On type "{stype.name}", for @key(fields: "{fields}"): {problem}',
                        (subgraph.name,),
                    )
                )
            used_external |= names
        for sfield in stype.fields.values():
            for directive, code, target in (
                ("requires", "REQUIRES_INVALID_FIELDS", stype.name),
                ("provides", "PROVIDES_INVALID_FIELDS", named(sfield.type)),
            ):
                fields = sfield.arg(directive, "fields")
                if not isinstance(fields, str) or not _composite(subgraph, target):
                    continue  # *_INVALID_FIELDS_TYPE, PROVIDES_ON_NON_OBJECT_FIELD (rules/)
                problem, names = _check_field_set(subgraph, target, fields)
                if problem:
                    errors.append(
                        CompositionError(
                            _field_set_code(code, problem),
                            f'[{subgraph.name}] On field "{stype.name}.{sfield.name}", for '
                            f'@{directive}(fields: "{fields}"): {problem}',
                            (subgraph.name,),
                        )
                    )
                used_external |= names
    if subgraph.federation2 and not any(
        not _composite(subgraph, named(f.type))
        for t in subgraph.types.values()
        for f in t.fields.values()
        if f.has("provides")
    ):  # as Apollo, no EXTERNAL_UNUSED next to a @provides on a leaf field
        for stype in subgraph.types.values():
            for sfield in stype.fields.values():
                if sfield.has("external") and (stype.name, sfield.name) not in used_external:
                    if stype.has("interfaceObject") or _implements_external_interface_field(
                        subgraph, stype, sfield
                    ):
                        continue
                    errors.append(
                        CompositionError(
                            "EXTERNAL_UNUSED",
                            f'[{subgraph.name}] Field "{stype.name}.{sfield.name}" is marked @external '
                            "but is not used in any federation directive (@key, @provides, @requires) "
                            "or to satisfy an interface; the field declaration has no use and should "
                            "be removed (or the field should not be @external).",
                            (subgraph.name,),
                        )
                    )
    return errors


_DIRECTIVE_IN_FIELDS = "it applies a directive, and a field set cannot: remove it"


def _field_set_code(code: str, problem: str) -> str:
    """KEY_INVALID_FIELDS, or KEY_DIRECTIVE_IN_FIELDS_ARG when a directive is the problem (and
    the same for @requires and @provides)."""
    if problem == _DIRECTIVE_IN_FIELDS:
        return code.replace("INVALID_FIELDS", "DIRECTIVE_IN_FIELDS_ARG")
    return code


def _composite(subgraph: Subgraph, type_name: str) -> bool:
    if type_name in ("String", "Int", "Float", "Boolean", "ID"):
        return False
    stype = subgraph.types.get(type_name)
    return stype is None or stype.kind in ("object", "interface", "union")


def _implements_external_interface_field(subgraph: Subgraph, stype: SType, sfield: SField) -> bool:
    return any(
        sfield.name in subgraph.types[i].fields for i in stype.interfaces if i in subgraph.types
    )


def _check_field_set(
    subgraph: Subgraph, type_name: str, text: str
) -> tuple[str | None, set[tuple[str, str]]]:
    """A problem with a field set (None when fine), and the (type, field) pairs it selects."""
    if not text.strip():
        return "it selects no field", set()
    try:
        selections = parse_field_set(text)
    except GraphQLError as exc:
        return f"it cannot be parsed: {exc.message}", set()
    names: set[tuple[str, str]] = set()
    problem = _walk_field_set(subgraph, type_name, selections, names)
    return problem, names


def _walk_field_set(
    subgraph: Subgraph,
    type_name: str,
    selections: tuple[Selection, ...],
    names: set[tuple[str, str]],
) -> str | None:
    stype = subgraph.types.get(type_name)
    if stype is None:
        return f'type "{type_name}" is not defined in this subgraph'
    for selection in selections:
        if isinstance(selection, InlineFragment):
            condition = selection.type_condition or type_name
            problem = _walk_field_set(subgraph, condition, selection.selections, names)
            if problem:
                return problem
            continue
        assert isinstance(selection, Field)
        if selection.alias:
            return f'it aliases field "{selection.name}" as "{selection.alias}": remove the alias'
        if selection.name == "__typename":
            continue
        sfield = stype.fields.get(selection.name)
        if sfield is None:
            return f'field "{selection.name}" is not defined on type "{type_name}"'
        names.add((type_name, selection.name))
        if selection.directives:
            return _DIRECTIVE_IN_FIELDS
        if selection.selections:
            problem = _walk_field_set(subgraph, named(sfield.type), selection.selections, names)
            if problem:
                return problem
        elif named(sfield.type) in subgraph.types and subgraph.types[named(sfield.type)].kind in (
            "object",
            "interface",
            "union",
        ):
            return (
                f'field "{type_name}.{selection.name}" is of a composite type and needs a selection'
            )
    return None


# --- across subgraphs ------------------------------------------------------------------------


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
        shapes = {_shape(f.type).replace("!", "") for _, _, f in typed}
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
        overridden = set()
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
                    conflict = _override_conflict(
                        coordinate, subgraph.name, external, origin, source
                    )
                    if conflict is not None:
                        errors.append(conflict)  # and the @override takes no effect
                    else:
                        # With a label (progressive override) the two resolve it in turn, not at
                        # once. Two fields overriding each other override neither.
                        overridden.add(origin)
        # A subgraph resolves the field where it is not @external, or where a @provides there
        # selects it.
        resolving = [
            (s, t, f)
            for s, t, f in sources
            if (not f.has("external") or (t.name, f.name) in _provided(s))
            and s.name not in overridden
        ]
        unshared = [
            s.name for s, t, f in resolving if not f.has("external") and not _shareable(s, t, f)
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


def _shareable(subgraph: Subgraph, stype: SType, sfield: SField) -> bool:
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
                _, names = _check_field_set(subgraph, named(sfield.type), fields)
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
                _, names = _check_field_set(subgraph, stype.name, fields)
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
        shapes = {_shape(a.type).replace("!", "") for _, a in defined}
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
            or len({_shape(f.type).replace("!", "") for _, f in defined}) > 1
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


# --- visibility ------------------------------------------------------------------------------


def validate_inaccessible(merged: dict[str, Merged]) -> list[CompositionError]:
    hidden = {
        name for name, entry in merged.items() if any(t.has("inaccessible") for _, t in entry.parts)
    }
    errors = []
    for entry in merged.values():
        if entry.name in hidden:
            continue
        for subgraph, stype in entry.parts:
            for sfield in stype.fields.values():
                if named(sfield.type) in hidden and not sfield.has("inaccessible"):
                    errors.append(
                        CompositionError(
                            "REFERENCED_INACCESSIBLE",
                            f'Type "{named(sfield.type)}" is @inaccessible but is referenced by '
                            f'"{entry.name}.{sfield.name}" (subgraph "{subgraph.name}"), which is in the API schema.',
                            (subgraph.name,),
                        )
                    )
    return errors


# --- reachability ----------------------------------------------------------------------------


def validate_satisfiability(
    subgraphs: Sequence[Subgraph], merged: dict[str, Merged]
) -> list[CompositionError]:
    """The common cases of an unreachable field: it is resolved only in subgraphs a query
    cannot enter the type in — neither from their root fields nor through a resolvable @key
    whose fields another subgraph, already holding the type, can give. Types no query reaches
    in any subgraph are not checked (no query can ask for them)."""
    reachable = _reachable(subgraphs)
    anywhere = set().union(*reachable.values()) if reachable else set()
    errors = []
    for entry in merged.values():
        if entry.kind != "object" or entry.name in ("Query", "Mutation", "Subscription"):
            continue
        if entry.name not in anywhere:
            continue
        for name in dict.fromkeys(n for _, t in entry.parts for n in t.fields):
            defined = [
                (s, t)
                for s, t in entry.parts
                if name in t.fields and not t.fields[name].has("external")
            ]
            if not defined:
                continue
            if any(entry.name in reachable[s.name] for s, _ in defined):
                continue
            where = ", ".join(f'"{s.name}"' for s, _ in defined)
            errors.append(
                CompositionError(
                    "SATISFIABILITY_ERROR",
                    f'The field "{entry.name}.{name}" cannot be reached by any query: it is only '
                    f'resolved in subgraph {where}, where no root field leads to "{entry.name}" '
                    "and no other subgraph that has it can give the fields of a resolvable @key "
                    "there.",
                    tuple(s.name for s, _ in defined),
                )
            )
    return errors + _runtime_types(merged, reachable)


def _runtime_types(
    merged: dict[str, Merged], reachable: dict[str, set[str]]
) -> list[CompositionError]:
    """SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES: a shared field of abstract type, resolved by
    several subgraphs a query can be in there, whose possible object types in those subgraphs
    have none in common (each would answer with a type the others never return). Apollo finds
    it walking query paths; here every subgraph resolving the field where its type is reachable
    takes part."""
    errors = []
    for entry in merged.values():
        if entry.kind != "object":
            continue
        for name in dict.fromkeys(n for _, t in entry.parts for n in t.fields):
            runtime: dict[str, set[str]] = {}
            for subgraph, stype in entry.parts:
                sfield = stype.fields.get(name)
                if (
                    sfield is None
                    or is_external(subgraph, stype, sfield)
                    or entry.name not in reachable[subgraph.name]
                    or not _shareable(subgraph, stype, sfield)
                ):
                    continue
                target = subgraph.types.get(named(sfield.type))
                if target is None or target.kind not in ("interface", "union"):
                    continue
                runtime[subgraph.name] = _possible_types(subgraph, target)
            if len(runtime) < 2 or not any(runtime.values()):
                continue
            if set.intersection(*runtime.values()):
                continue
            detail = "; ".join(
                f'in "{graph}", ' + (", ".join(f'"{t}"' for t in sorted(types)) or "none")
                for graph, types in runtime.items()
            )
            errors.append(
                CompositionError(
                    "SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES",
                    f'Shared field "{entry.name}.{name}" returns an abstract type whose possible '
                    f"object types have none in common across the subgraphs resolving it ({detail}):"
                    " a shared field must resolve the same way everywhere, so those subgraphs need"
                    " at least one object type in common there.",
                    tuple(runtime),
                )
            )
    return errors


def _possible_types(subgraph: Subgraph, abstract: SType) -> set[str]:
    """The object types of the subgraph a value of this interface or union can be."""
    if abstract.kind == "union":
        return set(abstract.members)
    return {
        t.name
        for t in subgraph.types.values()
        if t.kind == "object" and not t.has("interfaceObject") and abstract.name in t.interfaces
    }


def _reachable(subgraphs: Sequence[Subgraph]) -> dict[str, set[str]]:
    """Per subgraph, the types a query can be in there: from its roots, then (until nothing
    changes) from entities another subgraph holding them can jump in with a resolvable key."""
    reach = {s.name: _walk_types(s, list(s.roots.values())) for s in subgraphs}
    changed = True
    while changed:
        changed = False
        for target in subgraphs:
            for stype in target.types.values():
                if stype.name in reach[target.name]:
                    continue
                if any(
                    _key_given(source, stype.name, key)
                    for key in stype.keys
                    if key.get("resolvable", True) is not False
                    for source in subgraphs
                    if source is not target and stype.name in reach[source.name]
                ):
                    reach[target.name] |= _walk_types(target, [stype.name])
                    changed = True
    return reach


def _key_given(source: Subgraph, type_name: str, key: dict[str, object]) -> bool:
    """Whether `source` has the top-level fields of `key` on `type_name` (resolved there)."""
    fields = key.get("fields")
    if not isinstance(fields, str):
        return False
    try:
        selections = parse_field_set(fields)
    except GraphQLError:
        return False
    stype = source.types.get(type_name)
    if stype is None:
        return False
    for selection in selections:
        if not isinstance(selection, Field):
            continue
        sfield = stype.fields.get(selection.name)
        if sfield is None or is_external(source, stype, sfield):
            if not (stype.kind == "interface" or stype.has("interfaceObject")):
                return False
    return True


def _walk_types(subgraph: Subgraph, start: list[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name in seen or name not in subgraph.types:
            continue
        seen.add(name)
        stype = subgraph.types[name]
        stack.extend(named(f.type) for f in stype.fields.values() if not f.has("external"))
        stack.extend(stype.members)
        if stype.kind == "interface":
            stack.extend(t.name for t in subgraph.types.values() if name in t.interfaces)
    return seen
