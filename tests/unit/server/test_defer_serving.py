"""`@defer` over real HTTP (router/server/deferred.py, router/defer.py): the router served by
uvicorn in front of a fake subgraph served by uvicorn too, read part by part with httpx
streaming as Apollo Client asks (`multipart/mixed;deferSpec=20220824,application/json`).

The fake subgraph (tests/support/held_subgraph.py) holds a fetch until the test lets it go, so "the Primary does not wait for
what only the deferred part needs" is asserted by the order things happen in, never by time:
the first part is read while the deferred fetch is still held."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.auth import staff_bearer
from tests.support.held_subgraph import (
    EDGES,
    NAME_WHOLE,
    ORDER,
    ORDER_WHOLE,
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
    assert ORDER in subgraph.queries  # the primary asked for nothing of the customer
    assert ORDER_WHOLE not in subgraph.queries


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
        async with stream(url, {"query": NESTED, "variables": {"outer": False}}) as (_, reader):
            not_outer = await reader.parts()
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
    subgraph = HeldSubgraph()
    query = (
        "query Q { orders(first: 2) { edges { node { id ... @defer { customer { name } } } } } }"
    )
    with served(subgraph) as url:
        async with stream(url, {"query": query}) as (_, reader):
            parts = await reader.parts()
    assert parts == [
        {"data": {"orders": {"edges": EDGES}}, "hasNext": True},
        {
            "incremental": [
                {"data": {"customer": {"name": "Ada"}}, "path": ["orders", "edges", 0, "node"]},
                {"data": {"customer": {"name": "Bo"}}, "path": ["orders", "edges", 1, "node"]},
            ],
            "hasNext": False,
        },
        "END",
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
