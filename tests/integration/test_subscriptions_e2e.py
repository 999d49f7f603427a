"""Subscriptions through the router, end to end: the real customers and orders services (separate
processes on seeded SQLite files), a Router in this process over real HTTP and WebSocket to
them, signed in as staff. An order created through the router reaches an `orderCreated`
subscriber with its customer's name, which only the customers service knows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from router.errors import RequestError
from router.execute.transport import HttpTransport
from router.router import Router
from tests.support.auth import STAFF_IDENTITY, SignedInRouter, identity, signed_in_router
from tests.support.live import WAIT, open_subscriptions
from tests.support.paths import REPO
from tests.support.services import ServiceProcess, start_services

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
CREATED = "subscription { orderCreated { id customer { name } } }"
CREATE = """mutation($c: ID, $sku: String!) { createOrder(input: {customerId: $c,
    items: [{sku: $sku, quantity: 1, unitPrice: "2.00"}]}) { id } }"""


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, ...]]:
    customers, orders = start_services(tmp_path_factory.mktemp("subscriptions"))
    try:
        yield customers, orders
    finally:
        orders.stop()
        customers.stop()


def _router(services: tuple[ServiceProcess, ...]) -> SignedInRouter:
    customers, orders = services
    urls = {"customers": f"{customers.url}/graphql", "orders": f"{orders.url}/graphql"}
    return signed_in_router(SUPERGRAPH, HttpTransport(urls))


@pytest.fixture
async def router(services: tuple[ServiceProcess, ...]) -> AsyncIterator[SignedInRouter]:
    router = _router(services)
    try:
        yield router
    finally:
        await router.close()


async def _next(events: AsyncIterator[dict[str, Any]]) -> asyncio.Task[dict[str, Any]]:
    """The stream's next event, awaited in a task (the first one opens the subscription)."""

    async def next_event() -> dict[str, Any]:
        return await asyncio.wait_for(anext(events), WAIT)

    return asyncio.ensure_future(next_event())


async def _create(router: Router, customer: str, sku: str) -> str:
    created = await router.execute(CREATE, {"c": customer, "sku": sku})
    assert "errors" not in created, created
    return str(created["data"]["createOrder"]["id"])


async def test_an_order_created_through_the_router_reaches_the_subscriber_with_its_customers_name(
    router: SignedInRouter, services: tuple[ServiceProcess, ...]
) -> None:
    orders = services[1]
    events = router.subscribe(CREATED, identity=STAFF_IDENTITY)  # staff: every order
    first = await _next(events)
    await open_subscriptions(orders.url, 1)  # subscribed upstream: the next order is seen
    bobs = await _create(router, "2", "FOR-BOB")
    assert await first == {"data": {"orderCreated": {"id": bobs, "customer": {"name": "Bob"}}}}
    second = await _next(events)
    alices = await _create(router, "1", "FOR-ALICE")
    assert await second == {"data": {"orderCreated": {"id": alices, "customer": {"name": "Alice"}}}}
    await events.aclose()
    await open_subscriptions(orders.url, 0)  # closing the stream closed the upstream one


async def test_a_customers_subscription_sees_only_its_own_orders(
    router: SignedInRouter, services: tuple[ServiceProcess, ...]
) -> None:
    """The subscription reaches the orders service as the requester (router.yaml's claim
    headers), so the service filters its events by that customer."""
    orders = services[1]
    events = router.subscribe(CREATED, identity=identity("2"))  # Bob's own
    first = await _next(events)
    await open_subscriptions(orders.url, 1)
    await _create(router, "1", "NOT-BOBS")  # staff places one for Alice: not Bob's to see
    bobs = await _create(router, "2", "BOBS")
    assert await first == {"data": {"orderCreated": {"id": bobs, "customer": {"name": "Bob"}}}}
    await events.aclose()
    await open_subscriptions(orders.url, 0)


async def test_a_refusal_before_the_first_event_raises_its_request_error(
    router: SignedInRouter,
) -> None:
    unknown = router.subscribe("subscription { orderCreated { nope } }", identity=STAFF_IDENTITY)
    with pytest.raises(RequestError) as invalid:
        await anext(unknown)
    assert invalid.value.code == "GRAPHQL_VALIDATION_FAILED"
    anonymous = router.subscribe(CREATED)  # @authenticated, and nobody signed in
    with pytest.raises(RequestError) as unauthorized:
        await anext(anonymous)
    assert unauthorized.value.code == "UNAUTHORIZED_FIELD_OR_TYPE"
    missing = router.subscribe(
        "subscription { orderStatusChanged(orderId: 404) { id } }", identity=STAFF_IDENTITY
    )
    with pytest.raises(RequestError) as refused:  # the orders service refuses it
        await anext(missing)
    assert refused.value.code == "NOT_FOUND"
    assert refused.value.graphql_errors()[0]["extensions"]["serviceName"] == "orders"


async def test_a_query_given_to_subscribe_yields_its_one_answer(router: SignedInRouter) -> None:
    query = '{ order(id: "3") { id customer { name } } }'
    answers = [a async for a in router.subscribe(query, identity=STAFF_IDENTITY)]
    assert answers == [await router.execute(query)]
    assert answers == [{"data": {"order": {"id": "3", "customer": {"name": "Bob"}}}}]


async def test_an_orders_service_that_stops_ends_the_stream_with_a_coded_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Its own services: the orders process is stopped mid-stream, so it closes its WebSocket
    (1001, going away), and the subscriber is told with a code instead of waiting forever."""
    customers, orders = start_services(tmp_path_factory.mktemp("stopping"))
    router = _router((customers, orders))
    try:
        events = router.subscribe(CREATED, identity=STAFF_IDENTITY)
        first = await _next(events)
        await open_subscriptions(orders.url, 1)
        order = await _create(router, "2", "BEFORE-STOP")
        assert (await first)["data"]["orderCreated"]["id"] == order
        orders.stop()
        (error,) = (await (await _next(events)))["errors"]
        assert error["extensions"] == {
            "code": "SUBSCRIPTION_UPSTREAM_FAILED",
            "serviceName": "orders",
        }
        assert "connection was lost" in error["message"]
        with pytest.raises(StopAsyncIteration):  # and the stream is over
            await anext(events)
    finally:
        await router.close()
        orders.stop()
        customers.stop()
