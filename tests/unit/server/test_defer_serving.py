"""`@defer` over real HTTP (router/server/deferred.py, router/defer.py): the router served by
uvicorn in front of a fake subgraph served by uvicorn too, read part by part with httpx
streaming as Apollo Client asks (`multipart/mixed;deferSpec=20220824,application/json`).

The fake subgraph holds a fetch until the test lets it go, so "the Primary does not wait for
what only the deferred part needs" is asserted by the order things happen in, never by time:
the first part is read while the deferred fetch is still held."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics
from tests.support.auth import jwt_config, staff_bearer
from tests.support.faulty import serve_in_thread
from tests.support.paths import REPO
from tests.support.recording_subgraph import read_body
from tests.support.streaming import WAIT, Reader

STAFF = staff_bearer()
APOLLO_CLIENT = {
    "accept": "multipart/mixed;deferSpec=20220824,application/json",
    "content-type": "application/json",
    **STAFF,
}
DEFER_DELIMITER = b"\r\n---"

ORDER = 'query Q__orders__0 { order(id: "1") { id status } }'
ORDER_ID = 'query Q__orders__0 { order(id: "1") { id } }'
ORDER_WHOLE = 'query Q__orders__0 { order(id: "1") { id status customer { __typename id } } }'
ORDER_STATUS_CUSTOMER = 'query Q__orders__0 { order(id: "1") { status customer { id } } }'
CUSTOMER_KEY = 'query Q__orders__0 { order(id: "1") { customer { __typename id } } }'
NAME = (
    "query Q__customers__1($representations: [_Any!]!) { _entities(representations:"
    " $representations) { ... on Customer { name } } }"
)
NAME_WHOLE = NAME
ORDER_STATUS_CUSTOMER_ID = 'query Q__orders__0 { order(id: "1") { id status customer { id } } }'
ORDER_ALL = 'query Q__orders__0 { order(id: "1") { id status customer { id __typename } } }'
ORDERS = "query Q__orders__0 { orders(first: 2) { edges { node { id } } } }"
ORDERS_CUSTOMERS = (
    "query Q__orders__0 { orders(first: 2) { edges { node { customer { __typename id } } } } }"
)
EDGES = [{"node": {"id": "1"}}, {"node": {"id": "2"}}]
CUSTOMER_EDGES = [
    {"node": {"customer": {"__typename": "Customer", "id": "7"}}},
    {"node": {"customer": {"__typename": "Customer", "id": "8"}}},
]
ANSWERS: dict[str, Any] = {
    ORDER: {"data": {"order": {"id": "1", "status": "PAID"}}},
    ORDER_ID: {"data": {"order": {"id": "1"}}},
    ORDER_WHOLE: {
        "data": {
            "order": {
                "id": "1",
                "status": "PAID",
                "customer": {"__typename": "Customer", "id": "7"},
            }
        }
    },
    ORDER_STATUS_CUSTOMER: {"data": {"order": {"status": "PAID", "customer": {"id": "7"}}}},
    ORDER_STATUS_CUSTOMER_ID: {
        "data": {"order": {"id": "1", "status": "PAID", "customer": {"id": "7"}}}
    },
    ORDER_ALL: {
        "data": {
            "order": {
                "id": "1",
                "status": "PAID",
                "customer": {"id": "7", "__typename": "Customer"},
            }
        }
    },
    CUSTOMER_KEY: {"data": {"order": {"customer": {"__typename": "Customer", "id": "7"}}}},
    ORDERS: {"data": {"orders": {"edges": EDGES}}},
    ORDERS_CUSTOMERS: {"data": {"orders": {"edges": CUSTOMER_EDGES}}},
}
NAMES = {"7": "Ada", "8": "Bo"}


class HeldSubgraph:
    """Both services in one ASGI app: answers from ANSWERS (entities from NAMES), records the
    queries, and holds every `_entities` request until `release` is set."""

    def __init__(self, *, failing_names: bool = False) -> None:
        self.release = threading.Event()
        self.release.set()
        self.failing_names = failing_names
        self.queries: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        query = body.get("query")
        self.queries.append(query)
        if "_entities" in query:
            while not self.release.is_set():  # noqa: ASYNC110 (set from the test's thread)
                await asyncio.sleep(0.005)
            if self.failing_names:
                answer: Any = {"data": None, "errors": [{"message": "customers are down"}]}
            else:
                representations = body["variables"]["representations"]
                answer = {
                    "data": {"_entities": [{"name": NAMES[r["id"]]} for r in representations]}
                }
        else:
            answer = ANSWERS.get(query, {"errors": [{"message": f"unexpected {query}"}]})
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@contextlib.contextmanager
def served(subgraph: HeldSubgraph) -> Iterator[str]:
    """The router served over HTTP in front of `subgraph` (both services); its /graphql URL."""
    with serve_in_thread(subgraph) as url:
        sdl = (REPO / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", f"{url}/customers")
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{url}/orders")
        # orders are for signed-in callers: the tests send a staff token
        config = jwt_config("include_subgraph_errors: { all: true }")
        metrics = Metrics()
        app = RouterApp(build_router(sdl, config, metrics), config, metrics=metrics)
        with serve_in_thread(app) as router_url:
            yield f"{router_url}/graphql"


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
