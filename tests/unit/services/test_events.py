"""Domain events and the orders service's subscriptions, with real databases, real processes and a
real WebSocket client (graphql-transport-ws).

An event that must not arrive is shown not to by the order events keep: a write that rolls back
(or changes nothing) is followed by one that commits, and the first event a subscriber receives
must be the second's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from order_subgraph import repository
from order_subgraph.app import EVENTS_CHANNEL
from order_subgraph.db import orders
from order_subgraph.migrations import MIGRATIONS
from order_subgraph.repository import ORDER_CREATED, ItemRecord, NewOrder, Status
from router.router import SUBSCRIPTION_ELSEWHERE
from subgraph_kit.database import Database
from subgraph_kit.db import create_engine
from subgraph_kit.events import Event, EventBus, LocalBus, PostgresBus, Publish, event_bus
from subgraph_kit.live import GOING_AWAY
from subgraph_kit.migrations import prepare
from tests.conftest import fresh_postgres_database
from tests.support.auth import STAFF_HEADERS, router_headers, signed_in_router
from tests.support.live import PROTOCOL, live, open_subscriptions
from tests.support.orders import orders_service
from tests.support.services import (
    ROOT,
    GraphQLClient,
    ServiceProcess,
    error_codes,
    start_services,
)

BOB = router_headers("2")  # the seed's customer 2: orders 3 (PENDING) and 4 (PAID)
ALICE = router_headers("1")  # customer 1: orders 1 (DELIVERED), 2 (SHIPPED), 5 (PENDING)

CREATED = """subscription($c: ID) { orderCreated(customerId: $c) {
    id status total { amount currency } items { sku quantity } customer { id } } }"""
CHANGED = "subscription($o: ID!) { orderStatusChanged(orderId: $o) { id status } }"
CREATE = """mutation($c: ID, $sku: String!) { createOrder(input: {customerId: $c,
    items: [{sku: $sku, quantity: 2, unitPrice: "1.25"}]}) { id } }"""
ADVANCE = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { status } }"


async def _post(
    service: ServiceProcess, headers: dict[str, str], query: str, **variables: Any
) -> Any:
    async with service.client(headers) as http:
        return await GraphQLClient(http).data(query, variables)


async def _create(
    service: ServiceProcess, headers: dict[str, str], sku: str, customer: str | None = None
) -> str:
    created = await _post(service, headers, CREATE, c=customer, sku=sku)
    return str(created["createOrder"]["id"])


# --- the bus, on each database, below the service ------------------------------------------


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The orders database, migrated and empty, with the event bus its URL picks, started."""
    engine = create_engine(database_url)
    await prepare(engine, MIGRATIONS, migrate=True, seed=None)
    database = Database(engine, event_bus(database_url, EVENTS_CHANNEL))
    await database.events.start()
    try:
        yield database
    finally:
        await database.events.close()
        await database.dispose()


async def _first(subscriber: Any) -> Event:
    async def first() -> Event:
        async for event in subscriber:
            return event  # type: ignore[no-any-return]
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(first(), 30)


def test_the_database_url_picks_the_bus() -> None:
    assert isinstance(event_bus("sqlite:///x.sqlite3", "c"), LocalBus)
    assert isinstance(event_bus("sqlite+aiosqlite:///:memory:", "c"), LocalBus)
    bus = event_bus("postgresql+asyncpg://u:p@db:5433/orders", "c")
    assert isinstance(bus, PostgresBus) and bus.url == "postgresql://u:p@db:5433/orders"


async def test_a_create_that_rolls_back_after_its_insert_publishes_nothing(
    database: Database,
) -> None:
    with database.events.subscribe(ORDER_CREATED, "7") as subscriber:
        # the order's row is inserted, then its item's row fails NOT NULL: all rolled back
        broken = NewOrder("7", "USD", (ItemRecord(None, 1, 100),))  # type: ignore[arg-type]
        with pytest.raises(IntegrityError):
            await repository.create(database, broken)
        assert await repository.count(database, customer_id="7", status=None) == 0
        await repository.create(database, NewOrder("8", "USD", (ItemRecord("OTHER", 1, 5),)))
        kept = await repository.create(database, NewOrder("7", "USD", (ItemRecord("PEN", 2, 50),)))
        event = await _first(subscriber)
    assert repository.from_event(event) == kept  # the row as committed, not the other customer's
    assert database.events.subscriptions == 0


async def test_events_of_a_transaction_that_raises_are_never_delivered(database: Database) -> None:
    def fails(conn: Connection, publish: Publish) -> None:
        publish(Event("topic", "k", {"committed": False}))
        conn.execute(insert(orders).values(customer_id=None))  # NOT NULL: an IntegrityError

    def commits(conn: Connection, publish: Publish) -> None:
        publish(Event("topic", "k", {"committed": True}))

    with database.events.subscribe("topic") as subscriber:
        with pytest.raises(IntegrityError):
            await database.publishing(fails)
        await database.publishing(commits)
        assert (await _first(subscriber)).data == {"committed": True}


async def test_a_subscriber_that_falls_behind_is_dropped() -> None:
    bus: EventBus = LocalBus()
    with bus.subscribe("t") as subscriber:
        bus.committed([Event("t", "k", {"n": n}) for n in range(1001)])
        assert bus.subscriptions == 0  # dropped, the others' events are not held
        received = []
        with pytest.raises(Exception, match="fell 1000 events behind"):
            async for event in subscriber:
                received.append(event.data["n"])
    assert received == list(range(1000))


# --- the service's subscriptions, real processes on SQLite -----------------------------------


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    customers, orders_process = start_services(tmp_path_factory.mktemp("events"))
    try:
        yield customers, orders_process
    finally:
        orders_process.stop()
        customers.stop()


@pytest.fixture
def orders_url(services: tuple[ServiceProcess, ServiceProcess]) -> str:
    return services[1].url


async def test_an_order_placed_reaches_its_customers_subscriber(
    services: tuple[ServiceProcess, ServiceProcess],
) -> None:
    process = services[1]
    async with live(process.url, BOB) as bob:
        await bob.subscribe("s", CREATED)  # customerId left out: Bob's own
        await open_subscriptions(process.url, 1)
        await _create(process, STAFF_HEADERS, "NOT-BOBS", customer="1")
        order_id = await _create(process, BOB, "BOBS")
        event = await bob.next_data("s")
    assert event["orderCreated"] == {
        "id": order_id,
        "status": "PENDING",
        "total": {"amount": "2.50", "currency": "USD"},
        "items": [{"sku": "BOBS", "quantity": 2}],
        "customer": {"id": "2"},
    }
    await open_subscriptions(process.url, 0)  # closed with the connection


async def test_each_status_change_reaches_the_orders_subscriber(
    services: tuple[ServiceProcess, ServiceProcess],
) -> None:
    process = services[1]
    order_id = await _create(process, BOB, "LAMP")
    async with live(process.url, BOB) as bob:
        await bob.subscribe("s", CHANGED, {"o": order_id})
        await open_subscriptions(process.url, 1)
        seen = []
        for to in ("PAID", "PAID", "SHIPPED", "DELIVERED"):  # the second PAID changes nothing
            mover = BOB if to == "PAID" else STAFF_HEADERS  # the shop ships and delivers
            assert (await _post(process, mover, ADVANCE, id=order_id, to=to))["advanceOrder"] == {
                "status": to
            }
        for _ in range(3):
            seen.append((await bob.next_data("s"))["orderStatusChanged"])
    assert seen == [{"id": order_id, "status": s} for s in ("PAID", "SHIPPED", "DELIVERED")]


async def test_the_caller_comes_from_connection_init_headers(orders_url: str) -> None:
    # no headers on the upgrade: the payload's say who calls
    async with live(
        orders_url, init={"headers": {"X-Customer-Id": "2", "x-customer-scopes": ""}}
    ) as bob:
        await bob.subscribe("mine", CHANGED, {"o": "4"})
        await bob.subscribe("alices", CHANGED, {"o": "2"})
        refused = await bob.receive()
    assert refused["type"] == "error" and refused["id"] == "alices"
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["FORBIDDEN"]
    # the payload's headers replace the upgrade's
    async with live(orders_url, ALICE, init={"headers": {"x-customer-id": "2"}}) as bob:
        await bob.subscribe("alices", CHANGED, {"o": "2"})
        assert (await bob.receive())["type"] == "error"


@pytest.mark.parametrize(
    ("headers", "query", "variables", "code"),
    [
        ({}, CREATED, {}, "FORBIDDEN"),  # anonymous
        (BOB, CREATED, {"c": "1"}, "FORBIDDEN"),  # another customer's orders
        (ALICE, CHANGED, {"o": "3"}, "FORBIDDEN"),  # another customer's order
        (ALICE, CHANGED, {"o": "999"}, "NOT_FOUND"),
        (ALICE, CHANGED, {"o": "x"}, "NOT_FOUND"),
    ],
)
async def test_subscriptions_follow_the_callers_rules(
    orders_url: str, headers: dict[str, str], query: str, variables: dict[str, Any], code: str
) -> None:
    async with live(orders_url, headers) as client:
        await client.subscribe("s", query, variables)
        message = await client.receive()
    assert (message["type"], message["id"]) == ("error", "s"), message
    assert [e["extensions"]["code"] for e in message["payload"]] == [code]


async def test_a_malformed_connection_init_is_refused_with_4403(orders_url: str) -> None:
    url = orders_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"headers": {"x-customer-id": 2}}}
        await ws.send(json.dumps(init))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_staff_follow_every_customers_orders(
    services: tuple[ServiceProcess, ServiceProcess],
) -> None:
    process = services[1]
    async with live(process.url, STAFF_HEADERS) as staff:
        await staff.subscribe("all", CREATED)
        await open_subscriptions(process.url, 1)
        ids = [await _create(process, ALICE, "A"), await _create(process, BOB, "B")]
        got = [(await staff.next_data("all"))["orderCreated"]["id"] for _ in ids]
    assert got == ids


async def test_sigterm_closes_subscriptions_with_going_away(tmp_path: Path) -> None:
    customers, process = start_services(tmp_path)
    try:
        async with live(process.url, BOB) as bob:
            await bob.subscribe("s", CREATED)
            await open_subscriptions(process.url, 1)
            assert process.process is not None
            process.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await bob.receive()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == GOING_AWAY
            assert process.process.wait(timeout=30) is not None  # not held by the drain
    finally:
        process.stop()
        customers.stop()


# --- PostgreSQL: NOTIFY across processes, the listener connection -----------------------------

LISTENERS = f"""SELECT pid FROM pg_stat_activity
    WHERE application_name = '{EVENTS_CHANNEL} listener' AND query <> ''"""
"""The orders processes' listener connections that have sent LISTEN (their first query; the
probes come after)."""


@pytest.fixture
async def orders_database(postgres_server_url: str) -> str:
    return await fresh_postgres_database(postgres_server_url)


async def _listeners(url: str) -> set[int]:
    async with _admin(url) as conn:
        return {row["pid"] for row in await conn.fetch(LISTENERS)}


async def _until(check: Any) -> Any:
    for _ in range(1500):
        if found := await check():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("never")


@pytest.mark.postgres
async def test_a_subscriber_of_one_replica_sees_writes_made_through_another(
    orders_database: str, customers_process: ServiceProcess
) -> None:
    args = [
        "--database-url",
        orders_database,
        "--customers-url",
        f"{customers_process.url}/graphql",
    ]
    a = ServiceProcess("order_subgraph", args).start()
    b = ServiceProcess("order_subgraph", [*args, "--no-seed"]).start()
    try:
        async with live(a.url, STAFF_HEADERS) as staff:
            await staff.subscribe("created", CREATED)
            await staff.subscribe("changed", CHANGED, {"o": "3"})
            await open_subscriptions(a.url, 2)
            order_id = await _create(b, BOB, "VIA-B")
            assert (await staff.next_data("created"))["orderCreated"]["id"] == order_id
            await _post(b, BOB, ADVANCE, id="3", to="PAID")
            assert (await staff.next_data("changed"))["orderStatusChanged"] == {
                "id": "3",
                "status": "PAID",
            }

            # the listeners' connections are cut: each replica makes its own again
            before = await _listeners(orders_database)
            assert len(before) == 2
            async with _admin(orders_database) as admin:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1)",
                    list(before),
                )
            # what is committed until they are back is lost: a's subscriptions end, coded
            ended = [await staff.receive() for _ in range(4)]
            for id in ("created", "changed"):
                of_id = [m for m in ended if m["id"] == id]
                assert [m["type"] for m in of_id] == ["next", "complete"]
                codes = [e["extensions"]["code"] for e in of_id[0]["payload"]["errors"]]
                assert codes == ["SERVICE_UNAVAILABLE"]
            await _until(lambda: _new_listeners(orders_database, before))
            await staff.subscribe("changed", CHANGED, {"o": "3"})
            await open_subscriptions(a.url, 1)
            await _post(b, STAFF_HEADERS, ADVANCE, id="3", to="SHIPPED")
            assert (await staff.next_data("changed"))["orderStatusChanged"] == {
                "id": "3",
                "status": "SHIPPED",
            }
    finally:
        a.stop()
        b.stop()


async def _new_listeners(url: str, old: set[int]) -> bool:
    now = await _listeners(url)
    return len(now) == 2 and not now & old


@contextlib.asynccontextmanager
async def _admin(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_the_listener_connection_is_closed_at_shutdown(
    orders_database: str, customers_process: ServiceProcess
) -> None:
    async with orders_service(orders_database, f"{customers_process.url}/graphql") as client:
        assert len(await _listeners(orders_database)) == 1
        body = await client('mutation { advanceOrder(id: "3", to: PAID) { status } }')
        assert body == {"data": {"advanceOrder": {"status": "PAID"}}}
    assert await _listeners(orders_database) == set()


async def test_seeded_statuses_are_what_the_tests_assume(orders_client: GraphQLClient) -> None:
    body = await orders_client("{ orders(first: 5) { edges { node { id status } } } }")
    statuses = {e["node"]["id"]: e["node"]["status"] for e in body["data"]["orders"]["edges"]}
    assert statuses == {
        "1": Status.DELIVERED,
        "2": Status.SHIPPED,
        "3": Status.PENDING,
        "4": Status.PAID,
        "5": Status.PENDING,
    }
    assert error_codes(body) == []


async def test_the_router_loads_the_supergraph_and_execute_refuses_subscriptions() -> None:
    """The composed supergraph has a Subscription root; the router loads it, and `execute`
    (one answer per request) refuses a subscription with a code, naming the protocols that
    carry one (`Router.subscribe` serves it)."""
    sdl = (ROOT / "supergraph.graphql").read_text()
    router = signed_in_router(sdl)
    assert sorted(router.api_schema.subscription_type.fields) == [  # type: ignore[union-attr]
        "orderCreated",
        "orderStatusChanged",
    ]
    answer = await router.execute("subscription { orderCreated { id customer { name } } }")
    assert answer == {
        "errors": [
            {
                "message": SUBSCRIPTION_ELSEWHERE,
                "extensions": {"code": "OPERATION_NOT_SUPPORTED"},
            }
        ]
    }
