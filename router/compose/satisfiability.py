"""Reachability, with Apollo's error codes: SATISFIABILITY_ERROR (a field only where no query
can enter its type: no root path there, and no resolvable @key whose fields another subgraph
holding the type can give; not Apollo's full query-path walk) and
SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES.
"""

from collections.abc import Sequence

from graphql import GraphQLError

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.merge_rules import is_shareable
from router.compose.subgraph import SType, Subgraph, is_external
from router.compose.validate import named
from router.operation.ir import Field, parse_field_set

__all__ = ["validate_satisfiability"]


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
                    or not is_shareable(subgraph, stype, sfield)
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
