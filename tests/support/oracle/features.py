"""What an operation uses, for leaving known router bugs out of the oracle's random run.

Each function answers one question about a parsed operation (fragments inlined, in document
order, within one merged selection set at a time), so that the test can say exactly which
operations it does not send and why.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    value_from_ast_untyped,
)

from router.supergraph.model import Supergraph

CONDITIONS = ("skip", "include")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One field selection as it is merged into its parent's response object."""

    response_name: str
    node: FieldNode
    parent: str
    conditions: tuple[str, ...]
    """The `@skip`/`@include` directive names on the field and on the fragments around it
    that are on the parent's own type (or have no type condition)."""
    included: bool
    """Whether every `@skip`/`@include` on the way holds, with the request's variables."""
    chain: tuple[str, ...]
    """The type of the response object, then each type condition on the way to the field."""


@dataclass(frozen=True, slots=True)
class Operation:
    """A parsed operation with its variables (defaults applied) and the schema it runs on."""

    schema: GraphQLSchema
    document: DocumentNode
    variables: Mapping[str, Any]
    fragments: dict[str, FragmentDefinitionNode]
    walked: dict[bool, list[list[Occurrence]]] = field(default_factory=dict)
    """`scopes`, computed once per operation (by `everything`)."""
    literal_only: bool = False
    """Whether only `@skip(if: true)`/`@include(if: false)` drop selections (variables keep)."""

    @classmethod
    def of(
        cls, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> Operation:
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        values = dict(variables)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                for variable in definition.variable_definitions or ():
                    name = variable.variable.name.value
                    if name not in values and variable.default_value is not None:
                        values[name] = value_from_ast_untyped(variable.default_value)
        return cls(schema, document, values, fragments)

    def holds(self, selection: SelectionNode) -> bool:
        """Whether the selection's own `@skip`/`@include` keep it."""
        for directive in selection.directives or ():
            if directive.name.value not in CONDITIONS:
                continue
            (argument,) = directive.arguments
            value = argument.value
            if isinstance(value, VariableNode):
                if self.literal_only:
                    continue
                on = bool(self.variables.get(value.name.value))
            else:
                assert isinstance(value, BooleanValueNode)
                on = value.value
            if on != (directive.name.value == "include"):
                return False
        return True


def occurrences(
    operation: Operation,
    selection_sets: list[tuple[SelectionSetNode, str]],
    conditions: tuple[str, ...] = (),
    included: bool = True,
    chain: tuple[str, ...] = (),
) -> Iterator[Occurrence]:
    """The fields of some selection sets merged into one response object, fragments inlined."""
    for selection_set, parent in selection_sets:
        for selection in selection_set.selections:
            here = conditions + tuple(
                d.name.value for d in selection.directives or () if d.name.value in CONDITIONS
            )
            holds = included and operation.holds(selection)
            if isinstance(selection, FieldNode):
                name = selection.alias.value if selection.alias else selection.name.value
                yield Occurrence(name, selection, parent, here, holds, chain or (parent,))
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = condition.name.value if condition else parent
                body = selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = operation.fragments[selection.name.value]
                inner = fragment.type_condition.name.value
                body = fragment.selection_set
            # a fragment on another type is kept as a fragment: its conditions stay on it
            kept = here if inner == parent else ()
            inner_chain = (*(chain or (parent,)), inner)
            yield from occurrences(operation, [(body, inner)], kept, holds, inner_chain)


def scopes(operation: Operation, *, everything: bool = False) -> list[list[Occurrence]]:
    """Every merged response object of the operation (see `_scopes`), computed once."""
    if everything not in operation.walked:
        operation.walked[everything] = list(_scopes(operation, everything=everything))
    return operation.walked[everything]


def _scopes(operation: Operation, *, everything: bool) -> Iterator[list[Occurrence]]:
    """Every merged response object of the operation: the fields selected into it, in order.
    Below a dropped field, `included` is False for every field, unless `everything`: then it
    says what holds within the object."""
    schema = operation.schema
    (definition,) = [
        d for d in operation.document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    root = schema.get_root_type(definition.operation)
    assert root is not None
    pending: list[list[tuple[SelectionSetNode, str, bool]]] = [
        [(definition.selection_set, root.name, True)]
    ]
    while pending:
        found = [
            occurrence
            for selection_set, parent, included in pending.pop()
            for occurrence in occurrences(operation, [(selection_set, parent)], (), included)
        ]
        yield found
        by_name: dict[str, list[tuple[SelectionSetNode, str, bool]]] = {}
        for occurrence in found:
            if occurrence.node.selection_set is None:
                continue
            parent_type = schema.get_type(occurrence.parent)
            assert isinstance(parent_type, (GraphQLObjectType, GraphQLInterfaceType))
            field_definition = parent_type.fields[occurrence.node.name.value]
            child = get_named_type(field_definition.type).name
            by_name.setdefault(occurrence.response_name, []).append(
                (occurrence.node.selection_set, child, occurrence.included or everything)
            )
        pending.extend(by_name.values())


def planner_names(supergraph: Supergraph) -> frozenset[str]:
    """Every field name a key or a `@requires` field set selects, at any depth: the fields the
    planner may add to a subgraph selection."""
    known = _PLANNER_NAMES.get(id(supergraph))
    if known is not None and known[0] is supergraph:
        return known[1]
    names: set[str] = set()
    for model in supergraph.types.values():
        for join in model.joins.values():
            for key in join.keys:
                names.update(_names(key.selections))
        for field_model in model.fields.values():
            for selections in field_model.requires_by_graph.values():
                names.update(_names(selections))
    _PLANNER_NAMES[id(supergraph)] = (supergraph, frozenset(names))
    return frozenset(names)


_PLANNER_NAMES: dict[int, tuple[Supergraph, frozenset[str]]] = {}


def _names(selections: tuple[Any, ...]) -> Iterator[str]:
    for selection in selections:
        if hasattr(selection, "name"):
            yield selection.name
        if selection.selections:
            yield from _names(selection.selections)


def alias_reuses_a_planner_name(supergraph: Supergraph, operation: Operation) -> bool:
    """A response name that is the name of a field some key or `@requires` selects while it
    stands for another field (`id: name`, `sku: region { … }`, `width: height`) or for the
    same field with arguments (`cost(zone: "a")` where `@requires(fields: "cost")`)."""
    names = planner_names(supergraph)
    for scope in scopes(operation, everything=True):
        for occurrence in scope:
            alias = occurrence.response_name
            renamed = alias != occurrence.node.name.value or occurrence.node.arguments
            if renamed and alias in names:
                return True
    return False


def conditions_that_differ(operation: Operation) -> bool:
    """A response name selected more than once into one object, some selections kept and some
    dropped, one of them by its own `@skip`/`@include` (`a @skip(if: $x) a @include(if: $x)`)."""
    for scope in scopes(operation):
        seen: dict[str, list[Occurrence]] = {}
        for occurrence in scope:
            seen.setdefault(occurrence.response_name, []).append(occurrence)
        for group in seen.values():
            own = any(_own_condition(o.node) for o in group)
            if len(group) > 1 and own and len({o.included for o in group}) > 1:
                return True
    return False


def _own_condition(node: FieldNode) -> bool:
    return any(d.name.value in CONDITIONS for d in node.directives or ())


def repeated_root_condition(operation: Operation) -> bool:
    """A root field under two `@skip`s or two `@include`s: its own and those of fragments on
    the root type around it."""
    root = scopes(operation, everything=True)[0]
    return any(o.conditions.count(name) > 1 for o in root for name in CONDITIONS)


def emptied_selection(operation: Operation) -> bool:
    """A field whose whole sub-selection literal `@skip(if: true)`/`@include(if: false)` drop
    (`a { b @skip(if: true) }`), even below a field that is itself dropped."""
    operation = dataclasses.replace(operation, walked={}, literal_only=True)
    schema = operation.schema
    for scope in scopes(operation, everything=True):
        for occurrence in scope:
            node = occurrence.node
            if node.selection_set is None:
                continue
            parent = schema.get_type(occurrence.parent)
            assert isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType))
            child = get_named_type(parent.fields[node.name.value].type).name
            inner = list(occurrences(operation, [(node.selection_set, child)]))
            if not any(o.included for o in inner):
                return True
    return False


def nested_abstract_condition(operation: Operation) -> bool:
    """A type condition inside a fragment on an abstract type other than the object's own
    (`… on Media { … on Node { … on Film { f } } }`)."""
    schema = operation.schema
    for scope in scopes(operation, everything=True):
        for occurrence in scope:
            chain = occurrence.chain
            for index, name in enumerate(chain[1:-1], start=1):
                named = schema.get_type(name)
                if is_abstract_type(named) and name != chain[index - 1]:
                    return True
    return False


def condition_unknown_in_a_subgraph(supergraph: Supergraph, operation: Operation) -> bool:
    """A type condition on an abstract type that a subgraph defining the enclosing type cannot
    take there: it does not know the type, or the two have no object type in common there
    (while they have in the supergraph), as when an implementation moved with `@override`."""
    for scope in scopes(operation, everything=True):
        for occurrence in scope:
            chain = occurrence.chain
            for outer, inner in itertools.pairwise(chain):
                if outer == inner or supergraph.types.get(inner) is None:
                    continue
                if supergraph.types[inner].kind == "object":
                    continue
                for graph in supergraph.types[outer].joins:
                    if graph not in supergraph.types[inner].joins:
                        return True
                    here = set(supergraph.possible_types(outer, graph)) & set(
                        supergraph.possible_types(inner, graph)
                    )
                    everywhere = set(supergraph.possible_types(outer)) & set(
                        supergraph.possible_types(inner)
                    )
                    if everywhere and not here:
                        return True
    return False


def conditional_requires(supergraph: Supergraph, operation: Operation) -> bool:
    """Two `@requires` fields in one object, one of them in a fragment under `@skip`/`@include`
    (`… @skip(if: $c) { cost } label`)."""
    for scope in scopes(operation, everything=True):
        requiring = [
            o
            for o in scope
            if (f := supergraph.field(o.parent, o.node.name.value)) is not None
            and f.requires_by_graph
        ]
        names = {o.node.name.value for o in requiring}
        in_fragment = any(
            len(o.conditions)
            > sum(1 for d in o.node.directives or () if d.name.value in CONDITIONS)
            for o in requiring
        )
        if len(names) > 1 and in_fragment:
            return True
    return False


def emptied_interface_object_fragment(supergraph: Supergraph, operation: Operation) -> bool:
    """On an interface some subgraph has as an interface object, a fragment on another type
    whose every selection `@skip`/`@include` drop (`… on Admin { id @skip(if: true) }`)."""
    for scope in scopes(operation, everything=True):
        if not scope or not _interface_object(supergraph, scope[0].chain[0]):
            continue
        chains: dict[tuple[str, ...], bool] = {}
        for occurrence in scope:
            for depth in range(2, len(occurrence.chain) + 1):
                prefix = occurrence.chain[:depth]
                if prefix[-1] != prefix[-2]:
                    chains[prefix] = chains.get(prefix, False) or occurrence.included
        if any(not kept for kept in chains.values()):
            return True
    return False


def _interface_object(supergraph: Supergraph, type_name: str) -> bool:
    model = supergraph.types.get(type_name)
    return model is not None and any(j.is_interface_object for j in model.joins.values())
