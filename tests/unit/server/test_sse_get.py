"""GraphQL over SSE via GET through the real Router (router/server/streams.py): served by uvicorn,
read with httpx streaming; the orders subgraph a real graphql-transport-ws server in this
process, the customers subgraph a fake. The query string's operation is subscribed and each
event completed; a GET's mutation is refused before anything runs (CSRF: a GET must not change
anything), and multipart subscriptions stay POST only."""

from __future__ import annotations

import json
from typing import Any

import httpx
from websockets.asyncio.server import ServerConnection

from tests.support.auth import STAFF, jwt_yaml, token
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.streaming import MULTIPART, WAIT, Reader, http_url
from tests.support.subscriber import FAST, served
from tests.support.ws_subgraph import Seen, acknowledged, subgraph
from tests.unit.execute.test_router_subscribe import CREATED, customers, order, router_to

HEADERS = {
    "accept": "text/event-stream",
    "apollo-require-preflight": "true",  # CSRF: a GET needs one of csrf.required_headers
    "authorization": f"Bearer {token('staff-1', STAFF)}",
}
CONFIG = jwt_yaml() + FAST


async def orders(ws: ServerConnection, seen: Seen) -> None:
    subscribe = await acknowledged(ws, seen)
    for event in (order("7", "2"), order("8", "2")):
        await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": event}))
    await ws.send(json.dumps({"id": subscribe["id"], "type": "complete"}))


def bob() -> FakeSubgraphs:
    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    return fake


async def test_a_subscription_over_get_streams_each_completed_event() -> None:
    async with subgraph(orders) as (ws_url, seen):
        router = router_to(ws_url, bob())
        async with served(CONFIG, router) as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as c:
            params = {"query": CREATED, "variables": '{"c": "2"}'}
            async with c.stream("GET", http_url(url), params=params, headers=HEADERS) as response:
                assert response.status_code == 200
                events = await Reader(response).sse()
    assert events == [
        ("next", {"data": {"orderCreated": {"id": id, "customer": {"name": "Bob"}}}})
        for id in ("7", "8")
    ] + [("complete", None)]
    assert seen.messages[1]["payload"]["variables"] == {"c": "2"}


async def test_a_mutation_over_get_is_refused_405_before_it_runs() -> None:
    fake = FakeSubgraphs()  # any request to it fails the test
    mutation = 'mutation { createCustomer(input: {name: "Eve", email: "eve@example.com"}) { id } }'
    router = router_to("http://127.0.0.1:9/unused", fake)
    async with served(CONFIG, router) as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as c:
        response = await c.get(http_url(url), params={"query": mutation}, headers=HEADERS)
        invalid = await c.get(http_url(url), params={"query": "{ nope }"}, headers=HEADERS)
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert invalid.status_code == 400  # refused before the stream, as JSON
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert fake.calls == []


async def test_multipart_subscriptions_are_post_only() -> None:
    """A GET asking for Apollo's multipart subscription is an ordinary GET: its JSON answer
    cannot carry a subscription."""
    router = router_to("http://127.0.0.1:9/unused", FakeSubgraphs())
    headers: dict[str, Any] = {**HEADERS, "accept": MULTIPART["accept"]}
    async with served(CONFIG, router) as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as c:
        response = await c.get(http_url(url), params={"query": CREATED}, headers=headers)
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
