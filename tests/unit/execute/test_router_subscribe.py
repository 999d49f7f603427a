"""`Router.subscribe` over the project's supergraph, its orders subgraph a real graphql-transport-ws
server in this process (tests/support/ws_subgraph.py), its customers subgraph a fake answering
exact requests: what is subscribed upstream, how each event is completed and shaped, and what
the subscriber is told when the upstream refuses, cannot be reached or goes away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from router.errors import RequestError
from router.execute.transport import SubgraphFetchError
from router.router import Router
from subgraph_kit.caller import CUSTOMER_ID_HEADER
from tests.support.auth import STAFF_HEADERS, STAFF_IDENTITY, identity, signed_in_router
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.paths import REPO
from tests.support.ws_subgraph import WAIT, Seen, acknowledged, subgraph

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
CREATED = "subscription($c: ID) { orderCreated(customerId: $c) { id customer { name } } }"
PRIMARY = "subscription($c: ID) { orderCreated(customerId: $c) { id customer { __typename id } } }"
ENTITIES = (
    "query($representations: [_Any!]!) { _entities(representations: $representations)"
    " { ... on Customer { name } } }"
)


def order(id: str, customer: str) -> dict[str, Any]:
    """An orderCreated event as the orders subgraph sends it for PRIMARY."""
    return {
        "data": {"orderCreated": {"id": id, "customer": {"__typename": "Customer", "id": customer}}}
    }


def customers(fake: FakeSubgraphs, answers: dict[str, Any]) -> None:
    """The customers subgraph's answer to one entity fetch per customer id."""
    for id, answer in answers.items():
        representations = [{"__typename": "Customer", "id": id}]
        fake.on("customers", ENTITIES, {"representations": representations}, answer)


def router_to(url: str, fake: FakeSubgraphs, **options: Any) -> Router:
    return signed_in_router(SUPERGRAPH, fake, subscription_urls={"orders": url}, **options)


async def take(events: AsyncIterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    taken = []
    for _ in range(n):
        taken.append(await asyncio.wait_for(anext(events), WAIT))
    return taken


async def test_each_event_is_completed_by_the_rest_and_shaped_as_a_querys_answer() -> None:
    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        for event in (order("7", "2"), order("8", "404"), order("9", "1")):
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": event}))
        await ws.send(json.dumps({"id": subscribe["id"], "type": "complete"}))

    fake = FakeSubgraphs()
    customers(
        fake,
        {
            "2": {"data": {"_entities": [{"name": "Bob"}]}},
            "404": SubgraphFetchError("connection refused"),
            "1": {"data": {"_entities": [{"name": "Alice"}]}},
        },
    )
    async with subgraph(orders) as (url, seen):
        router = router_to(url, fake, subscription_batch=1)  # each event alone (batches:
        # tests/unit/execute/test_event_batches.py)
        events = [e async for e in router.subscribe(CREATED, {"c": None}, identity=STAFF_IDENTITY)]
    assert events[0] == {"data": {"orderCreated": {"id": "7", "customer": {"name": "Bob"}}}}
    # the customers fetch failed: its non-null fields null the event up to its root, with why
    assert events[1] == {
        "data": None,
        "errors": [
            {
                "message": "connection refused (subgraph 'customers')",
                "path": ["orderCreated", "customer"],
                "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "customers"},
            }
        ],
    }
    assert events[2] == {"data": {"orderCreated": {"id": "9", "customer": {"name": "Alice"}}}}
    assert len(events) == 3  # the subgraph completed: so did the stream
    # upstream: the Primary with the variables it uses, the claim headers on the upgrade and
    # in connection_init, as an HTTP fetch to orders would carry them
    init, subscribe = seen.messages[0], seen.messages[1]
    assert subscribe["payload"] == {"query": PRIMARY, "variables": {"c": None}}
    assert init["payload"] == {"headers": STAFF_HEADERS}
    assert seen.headers[CUSTOMER_ID_HEADER] == STAFF_HEADERS[CUSTOMER_ID_HEADER]
    assert fake.headers[0] == ("customers", STAFF_HEADERS)


async def test_closing_the_stream_completes_the_upstream_subscription() -> None:
    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(
            json.dumps({"id": subscribe["id"], "type": "next", "payload": order("7", "2")})
        )

    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    async with subgraph(orders) as (url, seen):
        events = router_to(url, fake).subscribe(CREATED, identity=STAFF_IDENTITY)
        assert (await take(events, 1))[0]["data"]["orderCreated"]["id"] == "7"
        await events.aclose()
        await asyncio.wait_for(seen.closed.wait(), WAIT)
    assert seen.messages[-1] == {"id": seen.messages[1]["id"], "type": "complete"}


async def test_an_error_after_the_first_event_ends_the_stream_with_the_subgraphs_errors() -> None:
    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        op = subscribe["id"]
        await ws.send(json.dumps({"id": op, "type": "next", "payload": order("7", "2")}))
        await ws.send(json.dumps({"id": op, "type": "error", "payload": [{"message": "boom"}]}))

    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    async with subgraph(orders) as (url, _):
        router = router_to(url, fake, show_subgraph_errors=lambda service: True)
        events = [e async for e in router.subscribe(CREATED, identity=STAFF_IDENTITY)]
    assert events[1:] == [
        {
            "errors": [
                {
                    "message": "boom",
                    "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "orders"},
                }
            ]
        }
    ]


async def test_a_refusal_by_the_subgraph_before_any_event_raises_its_coded_errors() -> None:
    refusal = [{"message": "not yours", "extensions": {"code": "FORBIDDEN"}}]

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(json.dumps({"id": subscribe["id"], "type": "error", "payload": refusal}))

    async with subgraph(orders) as (url, _):
        router = router_to(url, FakeSubgraphs(), show_subgraph_errors=lambda service: True)
        with pytest.raises(RequestError) as raised:
            await anext(router.subscribe(CREATED, identity=STAFF_IDENTITY))
    assert raised.value.graphql_errors() == [
        {"message": "not yours", "extensions": {"code": "FORBIDDEN", "serviceName": "orders"}}
    ]


async def test_an_upstream_that_does_not_acknowledge_or_cannot_be_reached_raises_a_code() -> None:
    async def silent(ws: ServerConnection, seen: Seen) -> None:
        await seen.receive(ws)  # connection_init, never acknowledged

    async with subgraph(silent) as (url, _):
        router = router_to(url, FakeSubgraphs(), subscription_ack_timeout=0.2)
        with pytest.raises(RequestError) as unacknowledged:
            await anext(router.subscribe(CREATED, identity=STAFF_IDENTITY))
    assert (unacknowledged.value.code, unacknowledged.value.status) == (
        "SUBSCRIPTION_UPSTREAM_FAILED",
        502,
    )
    assert unacknowledged.value.to_graphql()["extensions"]["serviceName"] == "orders"
    gone = router_to(url, FakeSubgraphs())  # that server is closed: its port refuses
    with pytest.raises(RequestError) as unreachable:
        await anext(gone.subscribe(CREATED, identity=STAFF_IDENTITY))
    assert unreachable.value.code == "SUBSCRIPTION_UPSTREAM_FAILED"


async def test_a_connection_lost_mid_stream_yields_one_coded_error_and_ends() -> None:
    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(
            json.dumps({"id": subscribe["id"], "type": "next", "payload": order("7", "2")})
        )
        await ws.close(1011, "crashed")

    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    async with subgraph(orders) as (url, _):
        events = [e async for e in router_to(url, fake).subscribe(CREATED, identity=STAFF_IDENTITY)]
    assert events[1:] == [
        {
            "errors": [
                {
                    "message": "the subscription's connection was lost (close code 1011,"
                    " crashed) (subgraph 'orders')",
                    "extensions": {"code": "SUBSCRIPTION_UPSTREAM_FAILED", "serviceName": "orders"},
                }
            ]
        }
    ]


async def test_execute_refuses_a_subscription_and_names_the_protocols_that_carry_one() -> None:
    answer = await router_to("http://unused", FakeSubgraphs()).execute(CREATED)
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "OPERATION_NOT_SUPPORTED"}
    for protocol in ("WebSocket", "SSE", "multipart"):
        assert protocol in error["message"]


async def test_what_authorization_removes_is_null_in_every_event_with_its_error() -> None:
    """A customer without `read:email` subscribes to their orders' customer's email: it is
    removed before planning (never fetched) and each event says so, as a query's answer does."""

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        for event in (order("7", "2"), order("8", "2")):
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": event}))
        await ws.send(json.dumps({"id": subscribe["id"], "type": "complete"}))

    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    query = "subscription { orderCreated { id customer { name email } } }"
    async with subgraph(orders) as (url, _):
        router = router_to(url, fake, subscription_batch=1)
        events = [e async for e in router.subscribe(query, identity=identity("2", ()))]
    assert [e["data"] for e in events] == [
        {"orderCreated": {"id": id, "customer": {"name": "Bob", "email": None}}}
        for id in ("7", "8")
    ]
    for event in events:
        (error,) = event["errors"]
        assert error["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
        assert error["path"] == ["orderCreated", "customer", "email"]
    assert [body["query"] for _, body in fake.calls] == [ENTITIES, ENTITIES]  # no email asked
