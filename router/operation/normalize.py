"""A validated operation as IR: fragments inlined, constant @skip/@include applied, variables
listed with their printed definitions."""

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
    """Variable name → its definition as printed (`$id: ID!`), for subgraph operations."""
    definition: OperationDefinitionNode


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
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
    definition = select_operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    variables = {
        v.variable.name.value: print_ast(v).split(" @", 1)[0]
        for v in definition.variable_definitions or ()
    }
    return Operation(
        kind=definition.operation.value,
        name=definition.name.value if definition.name else None,
        selections=_selections(definition.selection_set, fragments),
        variable_definitions=variables,
        definition=definition,
    )


def _selections(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[Selection, ...]:
    result: list[Selection] = []
    for node in selection_set.selections:
        conditions = conditions_of(node.directives)
        if any(c.variable is None and not c.holds({}) for c in conditions):
            continue  # @skip(if: true) / @include(if: false)
        kept = tuple(c for c in conditions if c.variable is not None)
        directives = tuple(
            d
            for d in node.directives or ()
            if d.name.value not in ("skip", "include") or _is_variable_condition(d)
        )
        if isinstance(node, FieldNode):
            result.append(
                Field(
                    name=node.name.value,
                    alias=node.alias.value if node.alias else None,
                    arguments=print_arguments(node.arguments),
                    directives=print_directives(directives),
                    selections=_selections(node.selection_set, fragments)
                    if node.selection_set
                    else None,
                    variables=variables_in(*(node.arguments or ()), *directives),
                    conditions=kept,
                )
            )
        elif isinstance(node, InlineFragmentNode):
            result.append(
                InlineFragment(
                    type_condition=node.type_condition.name.value if node.type_condition else None,
                    selections=_selections(node.selection_set, fragments),
                    directives=print_directives(directives),
                    variables=variables_in(*directives),
                    conditions=kept,
                )
            )
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments[node.name.value]
            result.append(
                InlineFragment(
                    type_condition=fragment.type_condition.name.value,
                    selections=_selections(fragment.selection_set, fragments),
                    directives=print_directives(directives),
                    variables=variables_in(*directives),
                    conditions=kept,
                )
            )
    return tuple(result)


def _is_variable_condition(directive: object) -> bool:
    arguments = getattr(directive, "arguments", None) or ()
    return any(type(a.value).__name__ == "VariableNode" for a in arguments)
