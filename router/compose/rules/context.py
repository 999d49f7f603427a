"""@context and @fromContext (federation 2.8): a type sets a named context, and an argument
of a field further down takes its value from a field of that type instead of from the client.

Per subgraph: a context name is letters, digits and no underscore (CONTEXT_NAME_INVALID);
@fromContext sits on an argument of an object type's field that implements no interface field,
without a default (CONTEXT_NOT_SET), names a context (NO_CONTEXT_IN_SELECTION) that some type
of the subgraph sets (CONTEXT_NOT_SET) with a selection that picks one field of the argument's
type on every such type (CONTEXT_INVALID_SELECTION), and the field's type has a resolvable key
(CONTEXT_NO_RESOLVABLE_KEY). Across subgraphs: an argument contextual in one subgraph is
nullable or defaulted where it is not (CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS).
Satisfiability: no query reaches the field without passing through a type setting the context
(SATISFIABILITY_ERROR).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

from router.compose.context_value import contextual_arguments, parse_context
from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField, SType, Subgraph

__all__ = ["check", "check_merged", "check_satisfiable"]

_NAME = re.compile(r"^[A-Za-z]\w*$")


def _error(code: str, message: str, subgraph: Subgraph) -> CompositionError:
    return CompositionError(code, f"[{subgraph.name}] {message}", (subgraph.name,))


# --- per subgraph ------------------------------------------------------------------------------


def check(subgraph: Subgraph) -> list[CompositionError]:
    """The subgraph's @context and @fromContext errors: CONTEXT_NAME_INVALID, CONTEXT_NOT_SET,
    NO_CONTEXT_IN_SELECTION, CONTEXT_INVALID_SELECTION and CONTEXT_NO_RESOLVABLE_KEY (none before
    Federation 2)."""
    if not subgraph.federation2:
        return []
    errors: list[CompositionError] = []
    setters: dict[str, list[SType]] = {}
    for stype in subgraph.types.values():
        for args in stype.directives.get("context", ()):
            name = str(args.get("name", ""))
            if "_" in name:
                errors.append(
                    _error(
                        "CONTEXT_NAME_INVALID",
                        f'Context name "{name}" (on "{stype.name}") contains an underscore, which'
                        " context names may not have: rename it, e.g. in camelCase.",
                        subgraph,
                    )
                )
            elif not _NAME.match(name):
                errors.append(
                    _error(
                        "CONTEXT_NAME_INVALID",
                        f'Context name "{name}" (on "{stype.name}") is not a name: use letters and'
                        " digits only, starting with a letter.",
                        subgraph,
                    )
                )
            setters.setdefault(name, []).append(stype)
    errors += _on_directive_definitions(subgraph)
    for stype in subgraph.types.values():
        for sfield in stype.fields.values():
            for argument in sfield.arguments.values():
                for args in argument.directives.get("fromContext", ()):
                    errors += _from_context(
                        subgraph, stype, sfield, argument, str(args.get("field", "")), setters
                    )
    return errors


def _on_directive_definitions(subgraph: Subgraph) -> list[CompositionError]:
    local = _local_name(subgraph, "fromContext")
    errors = []
    for name, definition in subgraph.directive_definitions.items():
        for argument in definition.arguments or ():
            if any(d.name.value == local for d in argument.directives or ()):
                errors.append(
                    _error(
                        "CONTEXT_NOT_SET",
                        f'@fromContext is on "@{name}({argument.name.value}:)", an argument of a'
                        " directive definition: only arguments of object type fields can take"
                        " their value from a context.",
                        subgraph,
                    )
                )
    return errors


def _local_name(subgraph: Subgraph, directive: str) -> str:
    link = subgraph.link
    if link is None:
        return directive
    for item in link.imports:
        if item.name == f"@{directive}":
            return item.local.lstrip("@")
    return link.prefix + directive


def _reference_errors(
    subgraph: Subgraph,
    coordinate: str,
    argument: SField,
    value: str,
    setters: dict[str, list[SType]],
) -> list[CompositionError]:
    """What is wrong with the context `value` names and the selection it makes there."""
    errors: list[CompositionError] = []
    reference = parse_context(value)
    if reference is None:
        errors.append(
            _error(
                "NO_CONTEXT_IN_SELECTION",
                f'@fromContext(field: "{value}") on "{coordinate}" names no context: write'
                ' "$contextName { field }".',
                subgraph,
            )
        )
        return errors
    locations = setters.get(reference.context)
    if locations is None:
        errors.append(
            _error(
                "CONTEXT_NOT_SET",
                f'Context "{reference.context}" is used by "{coordinate}" but no type of the'
                f' subgraph sets it: add @context(name: "{reference.context}") to the type it'
                " comes from.",
                subgraph,
            )
        )
    else:
        problem = _selection_problem(subgraph, reference.selection, argument.type, locations)
        if problem is not None:
            errors.append(
                _error(
                    "CONTEXT_INVALID_SELECTION",
                    f'Context "{reference.context}" is used by "{coordinate}" with the'
                    f' selection "{reference.selection.strip()}", which is invalid: {problem}.',
                    subgraph,
                )
            )
    return errors


def _from_context(
    subgraph: Subgraph,
    stype: SType,
    sfield: SField,
    argument: SField,
    value: str,
    setters: dict[str, list[SType]],
) -> list[CompositionError]:
    coordinate = f"{stype.name}.{sfield.name}({argument.name}:)"
    if stype.kind != "object":
        return [
            _error(
                "CONTEXT_NOT_SET",
                f'@fromContext is on "{coordinate}", a field of the abstract type "{stype.name}":'
                " only fields of object types can have contextual arguments.",
                subgraph,
            )
        ]
    errors = []
    for interface in stype.interfaces:
        owner = subgraph.types.get(interface)
        if owner is not None and sfield.name in owner.fields:
            errors.append(
                _error(
                    "CONTEXT_NOT_SET",
                    f'@fromContext is on "{coordinate}", whose field implements'
                    f' "{interface}.{sfield.name}": a field implementing an interface field'
                    " cannot have contextual arguments.",
                    subgraph,
                )
            )
    if argument.default is not None:
        errors.append(
            _error(
                "CONTEXT_NOT_SET",
                f'The contextual argument "{coordinate}" has a default value: remove it (its'
                " value always comes from the context).",
                subgraph,
            )
        )
    errors += _reference_errors(subgraph, coordinate, argument, value, setters)
    if parse_context(value) is None:
        return errors  # as Apollo: nothing more is checked for an unreadable reference
    if not any(key.get("resolvable", True) is not False for key in stype.keys):
        errors.append(
            _error(
                "CONTEXT_NO_RESOLVABLE_KEY",
                f'"{stype.name}" has a field with a contextual argument ("{coordinate}") but no'
                " resolvable @key: the router fetches that field as an entity, so give the type"
                " a resolvable key.",
                subgraph,
            )
        )
    return errors


# --- the selection -----------------------------------------------------------------------------


def _selection_problem(
    subgraph: Subgraph, selection: str, expected: str, locations: list[SType]
) -> str | None:
    """Why the selection cannot give the argument's value on every type setting the context,
    or None. The selection is one field (to a leaf, through single-field sub-selections), or
    inline fragments on object types, each of which picks such a field."""
    text = selection if selection.strip().startswith("{") else "{" + selection + "}"
    try:
        operation = parse(text).definitions[0]
    except GraphQLError as exc:
        return exc.message
    if not isinstance(operation, OperationDefinitionNode):
        return "it is not a selection set"
    selections = operation.selection_set.selections
    if not selections:
        return "it selects nothing"
    if any(isinstance(s, FragmentSpreadNode) for s in selections):
        return "it uses a fragment spread"
    fragments = [s for s in selections if isinstance(s, InlineFragmentNode)]
    if fragments and len(fragments) != len(selections):
        return "it mixes fields and inline fragments"
    if not fragments and len(selections) != 1:
        return "it selects more than one field"
    conditions = [f.type_condition.name.value for f in fragments if f.type_condition]
    if len(set(conditions)) != len(conditions):
        return "two inline fragments have the same type condition"
    used: set[str] = set()
    for location in locations:
        if fragments:
            chosen = []
            for fragment in fragments:
                if fragment.type_condition is None:
                    return "an inline fragment has no type condition"
                condition = subgraph.types.get(fragment.type_condition.name.value)
                if condition is None or condition.kind != "object":
                    return "a type condition is not an object type"
                if condition.name in _possible_types(subgraph, location):
                    chosen.append((condition, fragment.selection_set))
                    used.add(condition.name)
            if not chosen:
                return f'no type condition matches "{location.name}"'
            for condition, selection_set in chosen:
                problem = _resolves_to(subgraph, condition, selection_set, expected)
                if problem is not None:
                    return problem
        else:
            problem = _resolves_to(subgraph, location, operation.selection_set, expected)
            if problem is not None:
                return problem
    unused = [c for c in conditions if c not in used]
    if unused:
        return f'the type condition "{unused[0]}" matches no type setting the context'
    return None


def _resolves_to(
    subgraph: Subgraph,
    parent: SType,
    selection_set: SelectionSetNode,
    expected: str,
) -> str | None:
    """Why the selection on `parent` does not give a value of the argument's type, or None.
    As Apollo: the selected value's type without its non-nulls must be the argument's (so a
    non-null argument never matches: the context may be absent)."""
    resolved, problem = _resolved_type(subgraph, parent, selection_set)
    if problem is not None:
        return problem
    if resolved is None:
        return "the fields it selects have different types"
    if resolved != expected:
        return f'it gives a "{resolved}", not the argument\'s type "{expected}"'
    return None


def _resolved_type(
    subgraph: Subgraph, parent: SType, selection_set: SelectionSetNode
) -> tuple[str | None, str | None]:
    """(the type the selection gives, without non-nulls, None) or (None, a problem); (None,
    None) when its selections give different types."""
    if parent.has("interfaceObject"):
        return None, f'"{parent.name}" is an @interfaceObject'
    found: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None, "it selects an inline fragment below the top level"
        if selection.alias is not None:
            return None, "aliases are not allowed in it"
        if selection.directives:
            return None, "directives are not allowed in it"
        sfield = parent.fields.get(selection.name.value)
        if sfield is None:
            return None, f'"{parent.name}" has no field "{selection.name.value}"'
        inner = _named(sfield.type)
        child = subgraph.types.get(inner)
        composite = child is not None and child.kind in ("object", "interface", "union")
        if selection.selection_set is None:
            if composite:
                return None, f'"{parent.name}.{sfield.name}" is not a leaf: select its fields'
            found.add(sfield.type.replace("!", ""))
            continue
        if not composite or child is None:
            return None, f'"{parent.name}.{sfield.name}" is a leaf: it has no fields to select'
        below, problem = _resolved_type(subgraph, child, selection.selection_set)
        if problem is not None or below is None:
            return None, problem
        found.add(sfield.type.replace(inner, below, 1).replace("!", ""))
    if len(found) != 1:
        return None, None
    return found.pop(), None


def _possible_types(subgraph: Subgraph, stype: SType) -> set[str]:
    if stype.kind == "object":
        return {stype.name}
    if stype.kind == "union":
        return set(stype.members)
    return {
        t.name for t in subgraph.types.values() if t.kind == "object" and stype.name in t.interfaces
    }


def _named(type_text: str) -> str:
    return type_text.replace("[", "").replace("]", "").replace("!", "")


# --- across subgraphs --------------------------------------------------------------------------


def check_merged(merged: dict[str, Merged]) -> list[CompositionError]:
    """CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS for an argument contextual in one
    subgraph that another subgraph resolving the field takes as non-null without a default."""
    errors = []
    for entry in merged.values():
        if entry.kind != "object":
            continue
        by_field: dict[str, list[tuple[Subgraph, SField]]] = {}
        for subgraph, stype in entry.parts:
            for name, sfield in stype.fields.items():
                by_field.setdefault(name, []).append((subgraph, sfield))
        for name, sources in by_field.items():
            for argument in contextual_arguments([f for _, f in sources]):
                for subgraph, sfield in sources:
                    plain = sfield.arguments.get(argument)
                    if plain is None or plain.has("fromContext"):
                        continue
                    if plain.type.endswith("!") and plain.default is None:
                        errors.append(
                            CompositionError(
                                "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
                                f'Argument "{entry.name}.{name}({argument}:)" takes its value'
                                " from a context in some subgraphs, but in"
                                f' "{subgraph.name}" it has no @fromContext, is non-null and'
                                " has no default: as the supergraph drops the argument, that"
                                " subgraph would never get it. Make it nullable, give it a"
                                " default, or use @fromContext there too.",
                                (subgraph.name,),
                            )
                        )
    return errors


# --- satisfiability ----------------------------------------------------------------------------


def check_satisfiable(
    subgraphs: Sequence[Subgraph], merged: dict[str, Merged]
) -> list[CompositionError]:
    """SATISFIABILITY_ERROR for a field with a contextual argument that a query can reach
    without passing through a type setting its context (then the router has no value to pass).
    Apollo finds it walking query paths; here the walk is over the merged types, from the root
    types, never entering a type that sets the context (or is one of its possible types)."""
    roots = sorted({root for s in subgraphs for root in s.roots.values()})
    errors = []
    for entry in merged.values():
        if entry.kind != "object":
            continue
        for subgraph, stype in entry.parts:
            for sfield in stype.fields.values():
                for argument in sfield.arguments.values():
                    value = argument.arg("fromContext", "field")
                    reference = parse_context(str(value)) if value is not None else None
                    if reference is None:
                        continue
                    setters = _setters(merged, subgraph.name, reference.context)
                    if entry.name not in _reachable_avoiding(merged, roots, setters):
                        continue
                    errors.append(
                        CompositionError(
                            "SATISFIABILITY_ERROR",
                            f'A query can reach "{entry.name}.{sfield.name}" without passing'
                            " through a type that sets the context"
                            f' "{reference.context}" its argument "{argument.name}" comes from'
                            f' (subgraph "{subgraph.name}"): the router would have no value'
                            " for it. Set the context on every type such a query goes"
                            " through, or make that path impossible.",
                            (subgraph.name,),
                        )
                    )
    return errors


def _setters(merged: dict[str, Merged], subgraph: str, context: str) -> set[str]:
    """The types setting the context in the subgraph, and their possible object types."""
    found = {
        entry.name
        for entry in merged.values()
        for s, t in entry.parts
        if s.name == subgraph
        and any(a.get("name") == context for a in t.directives.get("context", ()))
    }
    for entry in merged.values():
        for _, t in entry.parts:
            if found & set(t.interfaces):
                found.add(entry.name)
            if t.name in found:
                found |= set(t.members)
    return found


def _reachable_avoiding(merged: dict[str, Merged], roots: list[str], avoid: set[str]) -> set[str]:
    seen: set[str] = set()
    stack = [r for r in roots if r in merged]
    while stack:
        name = stack.pop()
        if name in seen or name in avoid or name not in merged:
            continue
        seen.add(name)
        entry = merged[name]
        for _, t in entry.parts:
            stack.extend(_named(f.type) for f in t.fields.values() if not f.has("external"))
            stack.extend(t.members)
        if entry.kind == "interface":
            stack.extend(
                other.name
                for other in merged.values()
                if any(name in t.interfaces for _, t in other.parts)
            )
    return seen
