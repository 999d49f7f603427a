"""The expected answer: graphql-core executing the operation on the unfederated API schema over
the same data set the fake subgraphs answer from."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo, parse, validate
from graphql import experimental_execute_incrementally as execute

from router.types import JSONObject
from tests.support.oracle.dataset import DataSet, Record, value_of


def monolith_answer(
    data: DataSet,
    query: str,
    variables: JSONObject | None = None,
    operation_name: str | None = None,
) -> JSONObject:
    """The response (`data`, and `errors` when there are some) the monolith gives."""

    def resolve(parent: Record, info: GraphQLResolveInfo, **args: Any) -> Any:
        return value_of(data, parent, info.field_name, args)

    def resolve_type(value: Record, info: GraphQLResolveInfo, abstract: Any) -> str:
        return value.typename

    document = parse(query)
    invalid = validate(data.supergraph.api_schema, document)
    if invalid:
        return {"errors": [e.formatted for e in invalid]}
    result = execute(
        data.supergraph.api_schema,
        document,
        root_value=data.root,
        variable_values=variables or {},
        operation_name=operation_name,
        field_resolver=resolve,
        type_resolver=resolve_type,
    )
    assert not hasattr(result, "__await__")
    response: JSONObject = {"data": result.data}  # type: ignore[union-attr]
    if result.errors:  # type: ignore[union-attr]
        response["errors"] = [e.formatted for e in result.errors]  # type: ignore[union-attr]
    return response
