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
from tests.support.auth import bearer, jwt_config, staff_bearer
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

ORDER = 'query Q__orders__0 { order(id: "1") { __typename id status } }'
ORDER_KEY = 'query Q__orders__0 { order(id: "1") { __typename id } }'
ORDER_WHOLE = 'query Q__orders__0 { order(id: "1") { id status customer { __typename id } } }'
NAME_WHOLE = (
    "query Q__customers__1($representations: [_Any!]!) { _entities(representations:"
    " $representations) { ... on Customer { name } } }"
)
ORDER_ALL = 'query Q__orders__0 { order(id: "1") { id status customer { id __typename } } }'
ORDERS = "query Q__orders__0 { orders(first: 2) { edges { node { __typename id } } } }"
ORDER_ROWS: dict[str, dict[str, Any]] = {
    "1": {"status": "PAID", "customer": {"__typename": "Customer", "id": "7"}},
    "2": {"status": "NEW", "customer": {"__typename": "Customer", "id": "8"}},
}
ANSWERS: dict[str, Any] = {
    ORDER: {"data": {"order": {"__typename": "Order", "id": "1", "status": "PAID"}}},
    ORDER_KEY: {"data": {"order": {"__typename": "Order", "id": "1"}}},
    ORDER_WHOLE: {"data": {"order": {"id": "1", **ORDER_ROWS["1"]}}},
    ORDER_ALL: {"data": {"order": {"id": "1", **ORDER_ROWS["1"]}}},
}
NAMES = {"7": "Ada", "8": "Bo"}


def edges(ids: list[str]) -> list[dict[str, Any]]:
    """The orders list as the orders service answers it, in this order."""
    return [{"node": {"__typename": "Order", "id": i}} for i in ids]


def entity(query: str, representation: dict[str, Any]) -> dict[str, Any]:
    """An `_entities` answer for one representation: a customer's name, or the order fields
    the fetch selects (`status`, the customer's key)."""
    if representation["__typename"] == "Customer":
        return {"name": NAMES[representation["id"]]}
    selected = query.split("... on Order", 1)[1]
    row = ORDER_ROWS[representation["id"]]
    return {name: value for name, value in row.items() if name in selected}


class HeldSubgraph:
    """Both services in one ASGI app: answers from ANSWERS (entities from NAMES), records the
    queries, and holds every `_entities` request until `release` is set."""

    def __init__(self, *, failing_names: bool = False) -> None:
        self.release = threading.Event()
        self.release.set()
        self.failing_names = failing_names
        self.queries: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.lists = [["1", "2"], ["2", "1"]]
        """The orders list each `orders` root fetch answers, in turn (the last one again):
        the second sees the list changed, as live data can."""

    def root_fetches(self) -> list[str]:
        """The queries that asked a root field (not `_entities`)."""
        return [q for q in self.queries if "_entities" not in q]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        query = body.get("query")
        self.queries.append(query)
        self.bodies.append(body)
        if "_entities" in query:
            while not self.release.is_set():  # noqa: ASYNC110 (set from the test's thread)
                await asyncio.sleep(0.005)
            representations = body["variables"]["representations"]
            if self.failing_names and "Customer" in query:
                answer: Any = {"data": None, "errors": [{"message": "customers are down"}]}
            else:
                answer = {"data": {"_entities": [entity(query, r) for r in representations]}}
        elif query == ORDERS:
            ids = self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]
            answer = {"data": {"orders": {"edges": edges(ids)}}}
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
