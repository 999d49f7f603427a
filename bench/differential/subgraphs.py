"""Evidence from the subgraphs' own answers: a root value a gateway dropped.

Each gateway's subgraph requests are recorded with their answers (`proxy`). When a gateway
answers `null` for a root field of the operation, with no error at all (and no
`extensions.valueCompletion`, Apollo's note of a value it nulled on purpose), while the one
subgraph that resolves that root field (`root_owners`: a single resolving graph, no progressive
override) answered it, with the same arguments, without errors and not `null` (to any of the
gateways: the subgraphs answer a query the same each time), the gateway lost a value: the spec
allows a `null` there only with an error that says why.

Only what matches unambiguously is compared: root fields of the operation (after `@skip` /
`@include`) against root fields of the subgraph requests that carry no directive, by field name
and argument values (variables substituted, defaults of the operation's variables applied; an
argument left to its schema default on one side and written on the other does not match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    value_from_ast_untyped,
)

from bench.differential.shape import Checker

if TYPE_CHECKING:
    from router.supergraph.model import Supergraph

Arguments = dict[str, Any]


def _arguments(node: FieldNode, variables: Mapping[str, Any]) -> Arguments:
    return {
        a.name.value: value_from_ast_untyped(a.value, dict(variables)) for a in node.arguments or ()
    }


def root_owners(supergraph: Supergraph, paths: Mapping[str, str]) -> dict[str, str]:
    """Query field -> the request path of the one subgraph resolving it (`paths`: graph id ->
    the path its requests reach the proxies with); fields resolved by several are left out."""
    root = supergraph.root_types.get("query")
    model = supergraph.types.get(root or "")
    if model is None:
        return {}
    owners = {}
    for name, field in model.fields.items():
        if any(j.override_label is not None for j in field.joins):
            continue
        graphs = supergraph.resolving_graphs(model.name, name, frozenset())
        if len(graphs) == 1 and graphs[0] in paths:
            owners[name] = paths[graphs[0]]
    return owners


def _root_answers(exchange: Mapping[str, Any]) -> list[tuple[str, Arguments, Any]]:
    """(field name, arguments, answered value) of each plain root field of a subgraph request."""
    request, response = exchange.get("request"), exchange.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        return []
    if response.get("errors") or not isinstance(response.get("data"), dict):
        return []
    try:
        document = parse(request.get("query") or "")
    except GraphQLError:
        return []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        return []
    variables = request.get("variables") or {}
    found = []
    for selection in operations[0].selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            continue
        name = selection.name.value
        if name.startswith("_"):
            continue  # _entities, _service, __typename
        key = selection.alias.value if selection.alias else name
        if key in response["data"]:
            found.append((name, _arguments(selection, variables), response["data"][key]))
    return found


def dropped_root_values(
    schema: GraphQLSchema,
    query: str,
    variables: Mapping[str, Any],
    body: Any,
    exchanges: Sequence[Mapping[str, Any]],
    owners: Mapping[str, str],
) -> list[str]:
    """The root fields `body` answers null, without any error, that their subgraph answered
    (`exchanges`: every gateway's, each with the `path` it was sent to)."""
    if not isinstance(body, dict) or body.get("errors"):
        return []
    if (body.get("extensions") or {}).get("valueCompletion"):
        return []
    data = body.get("data")
    root = schema.query_type
    if not isinstance(data, dict) or root is None:
        return []
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    if operation.operation.value != "query":
        return []
    checker = Checker(schema, document, operation, variables)
    answered = [a for e in exchanges for a in _root_answers(e) if owners.get(a[0]) == e.get("path")]
    found = []
    for key, nodes in checker.collect(root, [operation.selection_set]).items():
        if key not in data or data[key] is not None:
            continue
        name = nodes[0].name.value
        arguments = _arguments(nodes[0], checker.variables)
        if any(_arguments(n, checker.variables) != arguments for n in nodes):
            continue
        if any(n == name and a == arguments and v is not None for n, a, v in answered):
            found.append(f"{key}: null without an error; a subgraph answered {name} non-null")
    return found
