"""A validated operation as IR: fragments inlined, constant @skip/@include applied, fields
merged per response key, variables listed with their printed definitions.

Each named fragment is normalised once and its IR shared by every spread of it, and within a
selection set fields with one response key and the same directives are merged into the first
(whose position the response keeps) unless a selection between them selects that key too, and
a fragment that repeats an earlier one is dropped. So the IR's size, and the planner's and the
shaper's work on it, follow the operation's distinct fields: a spread bomb
(`fragment F2 { ...F1 ...F1 }` thirty levels deep) is thirty levels of one fragment each."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    print_ast,
)

from router.errors import RequestError
from router.operation.ir import (
    Field,
    InlineFragment,
    Selection,
    conditions_of,
    print_arguments,
    print_directives,
    variables_in,
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a document, ready for planning and shaping."""

    kind: str
    name: str | None
    selections: tuple[Selection, ...]
    variable_definitions: dict[str, str]
    """Variable name → its definition as printed (`$id: ID! = 1`), for subgraph operations."""
    definition: OperationDefinitionNode


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    """The operation of the document the request names, or its only one; a coded RequestError
    (GRAPHQL_VALIDATION_FAILED) when the name is missing or unknown."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise RequestError(
                "Must provide operation name if query contains multiple operations.",
                "GRAPHQL_VALIDATION_FAILED",
            )
        return operations[0]
    for operation in operations:
        if operation.name and operation.name.value == operation_name:
            return operation
    raise RequestError(f"Unknown operation named '{operation_name}'.", "GRAPHQL_VALIDATION_FAILED")


def normalize(document: DocumentNode, operation_name: str | None) -> Operation:
    """The named operation of a validated document as an Operation: fragments inlined, constant
    `@skip`/`@include` applied, fields merged per response key."""
    definition = select_operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    variables = {
        v.variable.name.value: print_variable_definition(v)
        for v in definition.variable_definitions or ()
    }
    return Operation(
        kind=definition.operation.value,
        name=definition.name.value if definition.name else None,
        selections=_Normalizer(fragments).selections(definition.selection_set),
        variable_definitions=variables,
        definition=definition,
    )


def print_variable_definition(definition: VariableDefinitionNode) -> str:
    """`$name: Type = default`, printed from the AST. Directives on the definition are left out,
    as Apollo's planner leaves them out of subgraph operations (they concern the client's
    operation, and a subgraph need not define them)."""
    return print_ast(
        VariableDefinitionNode(
            variable=definition.variable,
            type=definition.type,
            default_value=definition.default_value,
            directives=(),
        )
    )


class _Normalizer:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, tuple[Selection, ...]] = {}

    def fragment(self, name: str) -> tuple[Selection, ...]:
        found = self.memo.get(name)
        if found is None:
            found = self.memo[name] = self.selections(self.fragments[name].selection_set)
        return found

    def selections(self, selection_set: SelectionSetNode) -> tuple[Selection, ...]:
        result: list[Selection] = []
        for node in selection_set.selections:
            conditions = conditions_of(node.directives)
            if any(c.variable is None and not c.holds({}) for c in conditions):
                continue  # @skip(if: true) / @include(if: false)
            kept = tuple(c for c in conditions if c.variable is not None)
            directives = tuple(
                d
                for d in node.directives or ()
                if (d.name.value not in ("skip", "include") or _is_variable_condition(d))
                and d.name.value != "defer"  # answered by the router, never sent on
            )
            if isinstance(node, FieldNode):
                result.append(
                    Field(
                        name=node.name.value,
                        alias=node.alias.value if node.alias else None,
                        arguments=print_arguments(node.arguments),
                        directives=print_directives(directives),
                        selections=self.selections(node.selection_set)
                        if node.selection_set
                        else None,
                        variables=variables_in(*(node.arguments or ()), *directives),
                        conditions=kept,
                    )
                )
            elif isinstance(node, InlineFragmentNode):
                result.append(
                    InlineFragment(
                        type_condition=node.type_condition.name.value
                        if node.type_condition
                        else None,
                        selections=self.selections(node.selection_set),
                        directives=print_directives(directives),
                        variables=variables_in(*directives),
                        conditions=kept,
                    )
                )
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                result.append(
                    InlineFragment(
                        type_condition=fragment.type_condition.name.value,
                        selections=self.fragment(node.name.value),
                        directives=print_directives(directives),
                        variables=variables_in(*directives),
                        conditions=kept,
                    )
                )
        return merge(result)


def merge(selections: list[Selection]) -> tuple[Selection, ...]:
    """Fields with one response key and the same directives become one, at the first one's
    place, with their sub-selections merged; a fragment equal to an earlier one is dropped.
    (Validation has made sure fields with one response key are the same field.)

    A field is merged into an earlier one only when nothing between them selects its response
    key (a field with other directives, a fragment that selects it): the response orders the
    key's sub-fields by their first included selection, in document order (CollectFields), and
    the selections between would otherwise come after the merged ones."""
    result: list[Selection] = []
    fields: dict[tuple[str, str, str], int] = {}
    latest: dict[str, int] = {}
    """Response key → the index in `result` of the last selection that selects it."""
    fragments: set[InlineFragment] = set()
    for selection in selections:
        if isinstance(selection, InlineFragment):
            if selection in fragments:
                continue  # everything it selects was selected, in this order, by the first
            fragments.add(selection)
            for name in response_names(selection.selections):
                latest[name] = len(result)
            result.append(selection)
            continue
        name = selection.response_name
        key = (name, selection.arguments, selection.directives)
        at = fields.get(key)
        if at is None or latest[name] != at:
            fields[key] = latest[name] = len(result)
            result.append(selection)
            continue
        first = result[at]
        assert isinstance(first, Field)
        if first.selections is not None and selection.selections is not None:
            if first.selections is not selection.selections:
                result[at] = first.with_selections(
                    merge([*first.selections, *selection.selections])
                )
    return tuple(result)


def response_names(selections: tuple[Selection, ...]) -> set[str]:
    """The response keys some selections put into their object, fragments' included."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, Field):
            names.add(selection.response_name)
        else:
            names |= response_names(selection.selections)
    return names


def _is_variable_condition(directive: object) -> bool:
    arguments = getattr(directive, "arguments", None) or ()
    return any(type(a.value).__name__ == "VariableNode" for a in arguments)
