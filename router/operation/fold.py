"""An operation with its `@skip`/`@include` conditions decided by one request's variables.

Planning looks at an operation once, for every value of its variables. A selection no
subgraph can resolve makes the whole operation unplannable, even where the request's variables
drop it (`... @include(if: $c) { unreachable }` with `c: false`): per the GraphQL spec a
skipped selection is not executed, so it cannot fail. `fold` writes the operation with each
condition on a variable replaced by its value (`@include(if: false)`), the variables used only
there left out, so the router can plan what this request really asks (router/prepare.py, for
operations that fail to plan only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)
from graphql.language import ArgumentNode, DirectiveNode

CONDITIONS = ("skip", "include")


def conditional_variables(document: DocumentNode) -> frozenset[str]:
    """The variables some `@skip(if:)` / `@include(if:)` of the document reads."""
    found: set[str] = set()

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            if node.name.value in CONDITIONS:
                for argument in node.arguments or ():
                    if argument.name.value == "if" and isinstance(argument.value, VariableNode):
                        found.add(argument.value.name.value)

    visit(document, Collect())
    return frozenset(found)


def fold(document: DocumentNode, values: Mapping[str, Any]) -> str:
    """The document's text with conditions on `values`' variables written as literals, and
    the definitions of variables nothing else reads removed."""

    class Fold(Visitor):
        def leave_directive(self, node: DirectiveNode, *_: Any) -> Any:
            if node.name.value not in CONDITIONS:
                return None
            arguments = []
            for argument in node.arguments or ():
                value = argument.value
                if (
                    argument.name.value == "if"
                    and isinstance(value, VariableNode)
                    and isinstance(values.get(value.name.value), bool)
                ):
                    value = BooleanValueNode(value=values[value.name.value])
                arguments.append(ArgumentNode(name=argument.name, value=value))
            return DirectiveNode(name=node.name, arguments=tuple(arguments))

    folded = visit(document, Fold())
    used: set[str] = set()

    class Used(Visitor):
        def enter_variable_definition(self, *_: Any) -> Any:
            return False  # not a use

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            used.add(node.name.value)

    visit(folded, Used())

    class Unused(Visitor):
        def leave_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            kept = tuple(
                d for d in node.variable_definitions or () if d.variable.name.value in used
            )
            return OperationDefinitionNode(
                operation=node.operation,
                name=node.name,
                variable_definitions=kept,
                directives=node.directives,
                selection_set=node.selection_set,
            )

    return print_ast(visit(folded, Unused()))
