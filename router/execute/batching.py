"""Entity fetches to one subgraph that are ready at the same moment, sent as one request.

A plan often has several `_entities` fetches to the same subgraph side by side (a Parallel over
different paths, or parallel Sequences reaching the same step together). Hive Gateway sends
them as one operation with one aliased `_entities` field each; so do we:

    query Op__inventory__batch($_representations0: [_Any!]!, $_representations1: [_Any!]!) {
      _0: _entities(representations: $_representations0) { ... on Product { inStock } }
      _1: _entities(representations: $_representations1) { ... on Product { inStock } }
    }

`batched_operation` builds that text from the fetches' own operations (pure; cached by the
caller), and `split_answer` turns the one answer back into the answer each fetch would have
got: its `_entities` list and the errors under its alias (re-pathed to `_entities`); errors
without a path go to every fetch.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    parse,
    print_ast,
)

from router.plan.nodes import Fetch
from router.types import JSONObject

REPRESENTATIONS = "representations"


def alias(index: int) -> str:
    return f"_{index}"


def variable(index: int) -> str:
    return f"_{REPRESENTATIONS}{index}"


def batched_operation(fetches: tuple[Fetch, ...]) -> str | None:
    """One operation carrying every fetch's `_entities` selection under its own alias and
    representations variable; None when they cannot be combined (then each is sent alone)."""
    definitions: dict[str, VariableDefinitionNode] = {}
    fields: list[FieldNode] = []
    for index, fetch in enumerate(fetches):
        try:
            document = parse(fetch.operation, no_location=True)
        except GraphQLError:
            return None
        operations = document.definitions
        if len(operations) != 1 or not isinstance(operations[0], OperationDefinitionNode):
            return None
        operation = operations[0]
        if (
            operation.operation != OperationType.QUERY
            or len(operation.selection_set.selections) != 1
        ):
            return None
        field = operation.selection_set.selections[0]
        if not isinstance(field, FieldNode) or field.name.value != "_entities" or field.alias:
            return None
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name == REPRESENTATIONS:
                definition = VariableDefinitionNode(
                    variable=VariableNode(name=NameNode(value=variable(index))),
                    type=definition.type,
                    default_value=None,
                    directives=(),
                )
                name = variable(index)
            elif name.startswith(f"_{REPRESENTATIONS}"):
                return None  # a client variable with our name: do not guess
            known = definitions.get(name)
            if known is not None and print_ast(known.type) != print_ast(definition.type):
                return None
            definitions[name] = definition
        fields.append(
            FieldNode(
                alias=NameNode(value=alias(index)),
                name=field.name,
                arguments=(
                    ArgumentNode(
                        name=NameNode(value=REPRESENTATIONS),
                        value=VariableNode(name=NameNode(value=variable(index))),
                    ),
                ),
                directives=field.directives,
                selection_set=field.selection_set,
            )
        )
    first = fetches[0].operation_name
    batched = OperationDefinitionNode(
        operation=OperationType.QUERY,
        name=NameNode(value=f"{first}__batch") if first else None,
        variable_definitions=tuple(definitions.values()),
        directives=(),
        selection_set=SelectionSetNode(selections=tuple(fields)),
    )
    return print_ast(DocumentNode(definitions=(batched,)))


def split_answer(answer: JSONObject, count: int) -> list[JSONObject]:
    """The batched answer as `count` answers, one per fetch, each shaped like `_entities`'."""
    data = answer.get("data")
    errors = answer.get("errors")
    parts: list[JSONObject] = []
    aliases = {alias(index): index for index in range(count)}
    per_fetch: list[list[Any]] = [[] for _ in range(count)]
    shared: list[Any] = []
    for error in errors if isinstance(errors, list) else ():
        path = error.get("path") if isinstance(error, dict) else None
        if isinstance(path, list) and path and isinstance(path[0], str) and path[0] in aliases:
            per_fetch[aliases[path[0]]].append({**error, "path": ["_entities", *path[1:]]})
        else:
            shared.append(error)
    for index in range(count):
        part: JSONObject = {
            "data": {"_entities": data.get(alias(index))} if isinstance(data, dict) else None
        }
        if per_fetch[index] or shared:
            part["errors"] = [*per_fetch[index], *shared]
        parts.append(part)
    return parts
