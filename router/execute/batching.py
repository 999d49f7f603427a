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
without a path go to every fetch. `requests` counts the subgraph requests a plan sends at most
with batching on, the number to compare with a planner whose every Fetch node is one request.
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

from router.plan.nodes import Condition, Fetch, Flatten, Parallel, PlanNode, Sequence
from router.types import JSONObject

REPRESENTATIONS = "representations"


def alias(index: int) -> str:
    """The alias of the `index`th fetch's `_entities` field in a batched operation (`_0`)."""
    return f"_{index}"


def variable(index: int) -> str:
    """The `index`th fetch's representations variable in a batched query (`_representations0`)."""
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


# --- how many requests a plan sends -----------------------------------------------------------


def requests(node: PlanNode | None) -> int:
    """The subgraph requests `node` sends at most when entity fetches are batched: one per
    Fetch node (both branches of a Condition counted, as its fetches are), less one for each
    entity fetch that leaves in the same batch as another.

    Fetches batch when they start at the same moment: the moment a plan starts, or the one
    each step of a Sequence after the first, or a Condition's branch, starts at. The entity
    fetches starting at a moment are the Flatten nodes reached from it through Parallels and
    the first steps of Sequences; those to one subgraph that `batched_operation` can combine
    go as one request. Fetches the event loop happens to make ready together otherwise are
    not counted as batched, so this is an upper bound of what the executor sends."""
    if node is None:
        return 0
    moments: list[list[Fetch]] = [_starting(node)]
    _later_moments(node, moments)
    saved = 0
    for starting in moments:
        by_service: dict[str, list[Fetch]] = {}
        for fetch in starting:
            by_service.setdefault(fetch.service, []).append(fetch)
        for group in by_service.values():
            if len(group) > 1 and batched_operation(tuple(group)) is not None:
                saved += len(group) - 1
    return _fetches(node) - saved


def _fetches(node: PlanNode | None) -> int:
    if node is None:
        return 0
    if isinstance(node, (Fetch, Flatten)):
        return 1
    if isinstance(node, Condition):
        return _fetches(node.then) + _fetches(node.otherwise)
    return sum(_fetches(child) for child in node.nodes)


def _starting(node: PlanNode | None) -> list[Fetch]:
    """The entity fetches that start when `node` does (a root Fetch is never batched)."""
    if isinstance(node, Flatten):
        return [node.node] if node.node.operation_kind == "query" else []
    if isinstance(node, Sequence):
        return _starting(node.nodes[0]) if node.nodes else []
    if isinstance(node, Parallel):
        return [fetch for child in node.nodes for fetch in _starting(child)]
    return []  # a root Fetch; a Condition's branches are moments of their own


def _later_moments(node: PlanNode | None, moments: list[list[Fetch]]) -> None:
    """Appends what starts at each moment inside `node` after its own start."""
    if isinstance(node, Sequence):
        for index, child in enumerate(node.nodes):
            if index:
                moments.append(_starting(child))
            _later_moments(child, moments)
    elif isinstance(node, Parallel):
        for child in node.nodes:
            _later_moments(child, moments)
    elif isinstance(node, Condition):
        for branch in (node.then, node.otherwise):
            if branch is not None:
                moments.append(_starting(branch))
                _later_moments(branch, moments)
