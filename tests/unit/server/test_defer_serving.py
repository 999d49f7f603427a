"""`@defer` over real HTTP (router/server/deferred.py, router/defer.py): the router served by
uvicorn in front of a fake subgraph served by uvicorn too, read part by part with httpx
streaming as Apollo Client asks (`multipart/mixed;deferSpec=20220824,application/json`).

The fake subgraph holds a fetch until the test lets it go, so "the Primary does not wait for
what only the deferred part needs" is asserted by the order things happen in, never by time:
the first part is read while the deferred fetch is still held."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.auth import bearer, staff_bearer
from tests.support.held_subgraph import (
    ANSWERS,
    NAME_WHOLE,
    ORDER,
    ORDER_KEY,
    ORDER_WHOLE,
    ORDERS,
    HeldSubgraph,
    served,
)
from tests.support.streaming import WAIT, Reader

STAFF = staff_bearer()
APOLLO_CLIENT = {
    "accept": "multipart/mixed;deferSpec=20220824,application/json",
    "content-type": "application/json",
    **STAFF,
}
DEFER_DELIMITER = b"\r\n---"


@contextlib.asynccontextmanager
async def stream(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[httpx.Response, Reader]]:
    async with (
        httpx.AsyncClient(timeout=WAIT) as client,
        client.stream("POST", url, json=body, headers=headers or APOLLO_CLIENT) as response,
    ):
        yield response, Reader(response, DEFER_DELIMITER)


DEFERRED_CUSTOMER = (
    'query Q { order(id: "1") { id status ... @defer(label: "customer") { customer { name } } } }'
)


async def test_the_primary_part_comes_first_while_the_deferred_fetch_is_held() -> None:
    subgraph = HeldSubgraph()
    subgraph.release.clear()
    with served(subgraph) as url:
        async with stream(url, {"query": DEFERRED_CUSTOMER}) as (response, reader):
            assert response.headers["content-type"] == (
                'multipart/mixed; boundary="-"; deferSpec=20220824'
            )
            first = await reader.parts(1)
            # the customers fetch is still held: the primary did not wait for it
            assert first == [{"data": {"order": {"id": "1", "status": "PAID"}}, "hasNext": True}]
            assert not subgraph.release.is_set()
            subgraph.release.set()
            rest = await reader.parts()
    assert rest == [
        {
            "incremental": [
                {"data": {"customer": {"name": "Ada"}}, "path": ["order"], "label": "customer"}
            ],
            "hasNext": False,
        },
        "END",
    ]
    # the primary asked for nothing of the customer, only the order's key besides its fields;
    # the deferred part started from that key: the root field was asked once
    assert subgraph.root_fetches() == [ORDER]
    assert [q.split("{ ... on ")[1].split(" ")[0] for q in subgraph.queries[1:]] == [
        "Order",
        "Customer",
    ]


async def test_a_client_without_multipart_gets_the_answer_of_the_query_without_defer() -> None:
    subgraph = HeldSubgraph()
    plain = 'query Q { order(id: "1") { id status customer { name } } }'
    with served(subgraph) as url:
        async with httpx.AsyncClient(timeout=WAIT, headers=STAFF) as client:
            deferred = await client.post(url, json={"query": DEFERRED_CUSTOMER})
            undeferred = await client.post(url, json={"query": plain})
    assert deferred.headers["content-type"].startswith("application/json")
    assert (
        deferred.json()
        == undeferred.json()
        == {"data": {"order": {"id": "1", "status": "PAID", "customer": {"name": "Ada"}}}}
    )
    # the subgraphs saw the same fetches, never a @defer
    assert subgraph.queries[:2] == subgraph.queries[2:] == [ORDER_WHOLE, NAME_WHOLE]


NESTED = (
    'query Q($outer: Boolean!) { order(id: "1") { id ... @defer(label: "outer", if: $outer)'
    ' { status customer { id ... @defer(label: "inner") { name } } } } }'
)


async def test_nested_defers_arrive_outer_first_and_if_false_is_no_defer() -> None:
    subgraph = HeldSubgraph()
    with served(subgraph) as url:
        async with stream(url, {"query": NESTED, "variables": {"outer": True}}) as (_, reader):
            parts = await reader.parts()
        # one root fetch (the primary's, with the order's key); the outer part from that key,
        # with the customer's key; the inner part from the customer's key
        assert subgraph.root_fetches() == [ORDER_KEY]
        assert len(subgraph.queries) == 3
        async with stream(url, {"query": NESTED, "variables": {"outer": False}}) as (_, reader):
            not_outer = await reader.parts()
        assert subgraph.root_fetches() == [ORDER_KEY, ORDER_WHOLE]
        assert subgraph.queries[3:] == [ORDER_WHOLE, NAME_WHOLE.replace("__1(", "__0(")]
    assert parts[0] == {"data": {"order": {"id": "1"}}, "hasNext": True}
    outer = {
        "data": {"status": "PAID", "customer": {"id": "7"}},
        "path": ["order"],
        "label": "outer",
    }
    inner = {"data": {"name": "Ada"}, "path": ["order", "customer"], "label": "inner"}
    # the inner part is never delivered before the outer one it is deferred inside
    assert parts[1:] in (
        [
            {"incremental": [outer], "hasNext": True},
            {"incremental": [inner], "hasNext": False},
            "END",
        ],
        [{"incremental": [outer, inner], "hasNext": False}, "END"],
    )
    # if: false: the outer fragment is answered with the primary, the inner still deferred
    assert not_outer == [
        {
            "data": {"order": {"id": "1", "status": "PAID", "customer": {"id": "7"}}},
            "hasNext": True,
        },
        {"incremental": [inner], "hasNext": False},
        "END",
    ]


async def test_a_fragment_deferred_under_a_list_is_one_item_per_object() -> None:
    """Each item of the list gets its own part, at its index; the list is fetched once, so a
    list that changes (the fake answers a second `orders` fetch in another order) cannot
    give an order another order's customer."""
    subgraph = HeldSubgraph()
    query = (
        "query Q { orders(first: 2) { edges { node { id ... @defer { customer { name } } } } } }"
    )
    with served(subgraph) as url:
        async with stream(url, {"query": query}) as (_, reader):
            parts = await reader.parts()
    assert parts == [
        {
            "data": {"orders": {"edges": [{"node": {"id": "1"}}, {"node": {"id": "2"}}]}},
            "hasNext": True,
        },
        {
            "incremental": [
                {"data": {"customer": {"name": "Ada"}}, "path": ["orders", "edges", 0, "node"]},
                {"data": {"customer": {"name": "Bo"}}, "path": ["orders", "edges", 1, "node"]},
            ],
            "hasNext": False,
        },
        "END",
    ]
    assert subgraph.root_fetches() == [ORDERS]
    _, orders, names = subgraph.bodies
    assert orders["variables"]["representations"] == [
        {"__typename": "Order", "id": "1"},
        {"__typename": "Order", "id": "2"},
    ]
    assert names["variables"]["representations"] == [
        {"__typename": "Customer", "id": "7"},
        {"__typename": "Customer", "id": "8"},
    ]


async def test_an_error_in_a_deferred_part_goes_in_its_incremental_item() -> None:
    subgraph = HeldSubgraph(failing_names=True)
    with served(subgraph) as url:
        async with stream(url, {"query": DEFERRED_CUSTOMER}) as (_, reader):
            parts = await reader.parts()
    assert parts[0] == {"data": {"order": {"id": "1", "status": "PAID"}}, "hasNext": True}
    [item] = parts[1]["incremental"]
    assert parts[1]["hasNext"] is False and parts[2] == "END"
    # Order.customer is non-null: the null goes up to the deferred fragment's boundary
    assert (item["path"], item["label"], item["data"]) == (["order"], "customer", None)
    [error] = item["errors"]
    assert error["path"] == ["order", "customer"]  # the entity fetch failed as a whole
    assert "customers are down" in error["message"]


async def test_an_operation_without_active_defer_is_answered_as_json() -> None:
    subgraph = HeldSubgraph()
    with served(subgraph) as url:
        async with stream(
            url,
            {
                "query": NESTED.replace('"inner"', '"inner", if: false'),
                "variables": {"outer": False},
            },
        ) as (response, _):
            await response.aread()
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "data": {"order": {"id": "1", "status": "PAID", "customer": {"id": "7", "name": "Ada"}}}
    }


async def test_a_primary_that_authorization_restricts_leaves_its_parts_to_the_root() -> None:
    """A requester without the scope for a field of the Primary gets the Primary's restricted
    plan, which fetches no keys: the part deferred under it is then answered from the root
    (its own operation), not from missing representations."""
    subgraph = HeldSubgraph()
    query = (
        'query Q { order(id: "1") { id customer { email } ... @defer(label: "status")'
        " { status } } }"
    )
    restricted = 'query Q__orders__0 { order(id: "1") { id customer { __typename } } }'
    status = 'query Q__orders__0 { order(id: "1") { status } }'
    ANSWERS[restricted] = {"data": {"order": {"id": "1", "customer": {"__typename": "Customer"}}}}
    ANSWERS[status] = {"data": {"order": {"status": "PAID"}}}
    headers = {**APOLLO_CLIENT, **bearer("1", scopes=())}
    try:
        with served(subgraph) as url:
            async with stream(url, {"query": query}, headers) as (_, reader):
                parts = await reader.parts()
    finally:
        del ANSWERS[restricted], ANSWERS[status]
    first = parts[0]
    assert first["data"] == {"order": {"id": "1", "customer": {"email": None}}}
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UNAUTHORIZED_FIELD_OR_TYPE"]
    assert parts[1:] == [
        {
            "incremental": [{"data": {"status": "PAID"}, "path": ["order"], "label": "status"}],
            "hasNext": False,
        },
        "END",
    ]
    assert subgraph.root_fetches() == [restricted, status]
