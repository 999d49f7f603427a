"""Subscriptions as a client sees them: the real customers and orders services (processes on
seeded SQLite files), the router served as `python -m router serve` serves it (uvicorn, the
drain and its closing hook, JWT authentication, claim headers), and real clients: `websockets`
over graphql-transport-ws, httpx streaming for GraphQL over SSE and Apollo's multipart
subscriptions. An order created through the router reaches each subscriber with its customer's
name, which only the customers service knows; each status change made through the router
reaches its `orderStatusChanged` subscriber, and a refused move sends nothing; shutdown closes
the WebSocket with 1001."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from router.execute.transport import HttpTransport
from router.server.build import build_router
from tests.support.auth import jwt_config, jwt_yaml, staff_bearer
from tests.support.live import open_subscriptions
from tests.support.paths import REPO
from tests.support.services import ServiceProcess, start_services
from tests.support.streaming import MULTIPART, SSE, WAIT, Reader, http_url
from tests.support.subscriber import served

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
CREATED = "subscription { orderCreated { id customer { name } } }"
CREATE = """mutation($c: ID, $sku: String!) { createOrder(input: {customerId: $c,
    items: [{sku: $sku, quantity: 1, unitPrice: "2.00"}]}) { id } }"""
CONFIG = jwt_yaml() + "subscription: { ping_interval_seconds: 0 }\n"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, ...]]:
    customers, orders = start_services(tmp_path_factory.mktemp("served-subscriptions"))
    try:
        yield customers, orders
    finally:
        orders.stop()
        customers.stop()


@contextlib.asynccontextmanager
async def serving(services: tuple[ServiceProcess, ...]) -> AsyncIterator[tuple[str, Any]]:
    """The served router in front of the real services; yields its ws:// URL and the server."""
    customers, orders = services
    urls = {"customers": f"{customers.url}/graphql", "orders": f"{orders.url}/graphql"}
    router = build_router(SUPERGRAPH, jwt_config(CONFIG), transport=HttpTransport(urls))
    try:
        async with served(CONFIG, router) as (url, _, _, server):
            yield url, server
    finally:
        await router.close()


async def create(client: httpx.AsyncClient, url: str, customer: str, sku: str) -> str:
    response = await client.post(
        http_url(url),
        json={"query": CREATE, "variables": {"c": customer, "sku": sku}},
        headers=staff_bearer(),
    )
    body = response.json()
    assert "errors" not in body, body
    return str(body["data"]["createOrder"]["id"])


async def test_a_websocket_subscriber_signed_in_by_connection_init_sees_the_order_and_its_customer(
    services: tuple[ServiceProcess, ...],
) -> None:
    orders = services[1]
    async with (
        serving(services) as (url, server),
        httpx.AsyncClient(timeout=WAIT) as client,
        connect(url, subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
    ):
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"headers": staff_bearer()}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"type": "connection_ack"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CREATED}}))
        await open_subscriptions(orders.url, 1)  # subscribed upstream: the next order is seen
        bobs = await create(client, url, "2", "WS-FOR-BOB")
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"orderCreated": {"id": bobs, "customer": {"name": "Bob"}}}},
        }
        server.should_exit = True  # shutdown: the router closes its subscriptions first
        with contextlib.suppress(Exception):
            while True:
                await asyncio.wait_for(ws.recv(), WAIT)
        assert ws.close_code == 1001
    await open_subscriptions(orders.url, 0)  # and the upstream subscription is closed too


@pytest.mark.parametrize("transport", ["sse", "multipart"])
async def test_an_http_stream_subscriber_sees_the_order_and_its_customer(
    services: tuple[ServiceProcess, ...], transport: str
) -> None:
    orders = services[1]
    headers = {**(SSE if transport == "sse" else MULTIPART), **staff_bearer()}
    async with (
        serving(services) as (url, _),
        httpx.AsyncClient(timeout=WAIT) as client,
        client.stream("POST", http_url(url), json={"query": CREATED}, headers=headers) as response,
    ):
        reader = Reader(response)
        if transport == "multipart":
            assert await reader.parts(1) == [{}]  # the heartbeat sent at once
        await open_subscriptions(orders.url, 1)
        alices = await create(client, url, "1", f"{transport}-FOR-ALICE")
        event = {"data": {"orderCreated": {"id": alices, "customer": {"name": "Alice"}}}}
        if transport == "sse":
            assert await reader.sse(1) == [("next", event)]
        else:
            assert await reader.parts(1) == [{"payload": event}]
    await open_subscriptions(orders.url, 0)  # the client left: the upstream is closed


CHANGED = (
    "subscription($o: ID!) { orderStatusChanged(orderId: $o) { id status customer { name } } }"
)
ADVANCE = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { status } }"


async def test_status_changes_through_the_router_reach_the_subscriber_and_a_refused_one_sends_nothing(
    services: tuple[ServiceProcess, ...],
) -> None:
    orders = services[1]
    async with (
        serving(services) as (url, _),
        httpx.AsyncClient(timeout=WAIT, headers=staff_bearer()) as client,
        connect(url, subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
    ):

        async def advance(to: str) -> Any:
            body = {"query": ADVANCE, "variables": {"id": order, "to": to}}
            return (await client.post(http_url(url), json=body)).json()

        order = await create(client, url, "2", "STATUS-FOR-BOB")
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"headers": staff_bearer()}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"type": "connection_ack"}
        subscribe = {"query": CHANGED, "variables": {"o": order}}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": subscribe}))
        await open_subscriptions(orders.url, 1)
        refused = await advance("DELIVERED")  # PENDING cannot be delivered: nothing is written
        assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
        assert (await advance("PAID"))["data"] == {"advanceOrder": {"status": "PAID"}}
        assert (await advance("SHIPPED"))["data"] == {"advanceOrder": {"status": "SHIPPED"}}
        received = [json.loads(await asyncio.wait_for(ws.recv(), WAIT)) for _ in range(2)]
    changed = [m["payload"]["data"]["orderStatusChanged"] for m in received]
    # the first event is PAID's: the refused move sent none before it
    assert changed == [
        {"id": order, "status": status, "customer": {"name": "Bob"}}
        for status in ("PAID", "SHIPPED")
    ]
