"""Shaping is pure: merged data in, exactly the requested response out."""

from __future__ import annotations

from typing import Any

from graphql import build_schema, parse

from router.operation.normalize import normalize
from router.shape.shaper import Shaper
from router.supergraph.load import load_supergraph
from tests.support.paths import REPO

SUPERGRAPH = load_supergraph((REPO / "supergraph.graphql").read_text())


def shape(
    query: str, data: dict[str, Any], variables: dict[str, Any] | None = None
) -> tuple[Any, list[Any]]:
    shaper = Shaper(SUPERGRAPH.api_schema, normalize(parse(query), None))
    errors: list[Any] = []
    return shaper.shape(data, variables or {}, errors), errors


def test_only_requested_fields_in_request_order_with_aliases() -> None:
    merged = {
        "order": {
            "__typename": "Order",
            "customer": {"__typename": "Customer", "id": "1", "name": "Alice"},
            "id": "7",
            "status": "PENDING",
            "when": "2026-01-01",
        }
    }
    data, errors = shape(
        '{ order(id: "7") { when: createdAt status customer { name } } }', {**merged}
    )
    assert data == {
        "order": {"when": "2026-01-01", "status": "PENDING", "customer": {"name": "Alice"}}
    }
    assert list(data["order"]) == ["when", "status", "customer"]
    assert errors == []


def test_null_in_non_null_field_nulls_the_nearest_nullable_parent() -> None:
    data, errors = shape(
        '{ order(id: "7") { id customer { name } } }',
        {"order": {"id": "7", "customer": {"name": None}}},
    )
    assert data == {"order": None}
    assert errors == [
        {
            "message": "Cannot return null for non-nullable field Customer.name.",
            "path": ["order", "customer", "name"],
            "extensions": {"code": "INVALID_GRAPHQL"},
        }
    ]


def test_null_propagation_reaches_the_root_for_non_null_roots() -> None:
    data, _ = shape("{ customers { totalCount } }", {"customers": {"totalCount": None}})
    assert data is None


def test_no_extra_error_when_a_subgraph_error_covers_the_path() -> None:
    shaper = Shaper(
        SUPERGRAPH.api_schema, normalize(parse('{ order(id: "1") { customer { name } } }'), None)
    )
    errors: list[Any] = [{"message": "customers is down", "path": ["order", "customer"]}]
    assert shaper.shape({"order": {"customer": None}}, {}, errors) == {"order": None}
    assert len(errors) == 1


def test_skip_and_include_follow_the_variables() -> None:
    query = 'query ($full: Boolean!) { order(id: "1") { id status @include(if: $full) total @skip(if: $full) { amount } } }'
    merged = {"order": {"id": "1", "status": "PAID", "total": {"amount": "1.00"}}}
    assert shape(query, merged, {"full": True})[0] == {"order": {"id": "1", "status": "PAID"}}
    assert shape(query, merged, {"full": False})[0] == {
        "order": {"id": "1", "total": {"amount": "1.00"}}
    }


def test_enum_values_the_api_schema_lacks_become_null() -> None:
    data, _ = shape(
        '{ order(id: "1") { id } o2: order(id: "2") { status } }',
        {"order": {"id": "1"}, "o2": {"status": "LOST"}},
    )
    assert data == {"order": {"id": "1"}, "o2": None}  # status is non-null: o2 becomes null


def test_root_typename_and_fragments() -> None:
    query = '{ __typename ... on Query { order(id: "1") { ... on Order { id } } } }'
    data, _ = shape(query, {"order": {"id": "1"}})
    assert data == {"__typename": "Query", "order": {"id": "1"}}


def test_root_introspection_fields_come_from_the_router() -> None:
    shaper = Shaper(
        SUPERGRAPH.api_schema,
        normalize(parse('{ __schema { queryType { name } } order(id: "1") { id } }'), None),
    )
    data = shaper.shape(
        {"order": {"id": "1"}}, {}, [], {"__schema": {"queryType": {"name": "Query"}}}
    )
    assert data == {"__schema": {"queryType": {"name": "Query"}}, "order": {"id": "1"}}


LISTS_AND_ABSTRACTS = build_schema(
    """
    type Query { matrix: [[Int!]]! grid: [[Int]] things: [Thing!] colors: [Color!] named: Named }
    enum Color { RED GREEN }
    interface Named { name: String! }
    type Dog implements Named { name: String! barks: Boolean }
    type Cat implements Named { name: String! lives: Int! }
    union Thing = Dog | Cat
    """
)


def shape_in(schema: Any, query: str, data: Any) -> tuple[Any, list[Any]]:
    errors: list[Any] = []
    return Shaper(schema, normalize(parse(query), None)).shape(data, {}, errors), errors


def test_nested_lists_null_only_as_far_as_the_nearest_nullable_position() -> None:
    data, errors = shape_in(
        LISTS_AND_ABSTRACTS,
        "{ grid matrix }",
        {"grid": [[1, None], None], "matrix": [[1], [2, None], [3]]},
    )
    # [Int!] items of a nullable outer list: the inner list with the null becomes null
    assert data == {"grid": [[1, None], None], "matrix": [[1], None, [3]]}
    assert errors == [
        {
            "message": "Cannot return null for non-nullable field Query.matrix.",
            "path": ["matrix", 1, 1],
            "extensions": {"code": "INVALID_GRAPHQL"},
        }
    ]


def test_abstract_items_by_typename_and_enum_lists() -> None:
    query = "{ things { __typename ... on Dog { name barks } ... on Cat { lives } } colors named { name } }"
    data, errors = shape_in(
        LISTS_AND_ABSTRACTS,
        query,
        {
            "things": [
                {"__typename": "Cat", "name": "Tom", "lives": 9},
                {"__typename": "Dog", "name": "Rex", "barks": True, "lives": 1},
            ],
            "colors": ["RED", "BLUE"],
            "named": {"__typename": "Dog", "name": "Rex"},
        },
    )
    assert data == {
        "things": [
            {"__typename": "Cat", "lives": 9},
            {"__typename": "Dog", "name": "Rex", "barks": True},
        ],
        "colors": None,  # BLUE is not a Color: a non-null item nulls the nullable list
        "named": {"name": "Rex"},
    }
    assert [e["path"] for e in errors] == [["colors", 1]]
    data, errors = shape_in(
        LISTS_AND_ABSTRACTS, query, {"things": [{"__typename": "Fish"}], "named": {"name": "?"}}
    )
    # an unknown runtime type is a null: in a non-null item position it nulls the list;
    # an interface value with no __typename is shaped by the interface's own fields
    assert data == {"things": None, "colors": None, "named": {"name": "?"}}
    assert [e["path"] for e in errors] == [["things", 0]]


def test_an_interface_value_of_unknown_object_type_cannot_answer_its_typename() -> None:
    # From an @interfaceObject subgraph the value is typed by the interface (`Named`) until
    # another subgraph names its object type; when that fetch failed, the interface's own
    # fields are still an answer, but `__typename` has no object type to name: the object is
    # null (nullable here, so without an error of the router's own: the subgraph's covers it).
    value = {"named": {"__typename": "Named", "name": "Rex"}}
    assert shape_in(LISTS_AND_ABSTRACTS, "{ named { name } }", value) == (
        {"named": {"name": "Rex"}},
        [],
    )
    assert shape_in(LISTS_AND_ABSTRACTS, "{ named { __typename name } }", value) == (
        {"named": None},
        [],
    )
    errors: list[Any] = []
    shaper = Shaper(
        LISTS_AND_ABSTRACTS,
        normalize(
            parse("query ($t: Boolean!) { named { __typename @include(if: $t) name } }"), None
        ),
    )
    assert shaper.shape(value, {"t": False}, errors) == {"named": {"name": "Rex"}}
    assert shaper.shape(value, {"t": True}, errors) == {"named": None}
