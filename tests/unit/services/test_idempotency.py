"""Idempotency keys on createOrder and createCustomer, on SQLite and PostgreSQL: a retry returns
what the first call created, the same key with other input is CONFLICT, and two real service
processes on one database that get the same key at once still write one row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from customer_subgraph import repository as customer_repository
from customer_subgraph.db import customers as customers_table
from customer_subgraph.repository import NewCustomer
from order_subgraph import repository as order_repository
from order_subgraph.db import order_items, orders
from order_subgraph.repository import ItemRecord, NewOrder
from subgraph_kit.db import create_engine
from tests.support.auth import STAFF_HEADERS
from tests.support.gate import gate
from tests.support.orders import CREATE, order_input, orders_service, stored_rows
from tests.support.services import GraphQLClient, ServiceProcess, error_codes, free_port

CREATE_CUSTOMER = """
mutation Create($input: CreateCustomerInput!) { createCustomer(input: $input) { id name email } }
"""
KEY = "0b8f5e52-7c1e-4f0c-9a53-3f1d3c7f8f21"


async def rows_with_key(engine: AsyncEngine, table: Table, key: str) -> list[int]:
    """The ids of the rows stored under this idempotency key, read straight from the table."""
    query = select(table.c.id).where(table.c.idempotency_key == key)
    async with engine.connect() as conn:
        return [row.id for row in await conn.execute(query)]


async def items_of(engine: AsyncEngine, order_id: int) -> int:
    query = select(func.count()).select_from(order_items).where(order_items.c.order_id == order_id)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the services' database, to count rows."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


# --- createOrder -------------------------------------------------------------------------------


async def test_same_key_twice_is_one_order(orders_client: GraphQLClient) -> None:
    before = await stored_rows(orders_client)
    first = await orders_client.data(CREATE, {"input": order_input("2", idempotencyKey=KEY)})
    again = await orders_client.data(CREATE, {"input": order_input("2", idempotencyKey=KEY)})
    assert again == first
    # sent in another spelling that cleans to the same input, it is still the same order
    padded = order_input("2", idempotencyKey=KEY)
    padded["items"][0]["sku"] = "  PEN "
    padded["items"][0]["unitPrice"] = "0.1"
    assert (await orders_client.data(CREATE, {"input": padded}))["createOrder"]["id"] == (
        first["createOrder"]["id"]
    )
    assert await stored_rows(orders_client) == (before[0] + 1, before[1] + 2)
    engine = orders_client.app.state.engine  # type: ignore[attr-defined]
    assert await rows_with_key(engine, orders, KEY) == [int(first["createOrder"]["id"])]
    # without a key, the same input is a new order every time
    plain = [await orders_client.data(CREATE, {"input": order_input("2")}) for _ in range(2)]
    assert plain[0]["createOrder"]["id"] != plain[1]["createOrder"]["id"]
    assert await stored_rows(orders_client) == (before[0] + 3, before[1] + 6)


@pytest.mark.parametrize(
    "changed",
    [
        {"customerId": "1"},
        {"currency": "EUR"},
        {"items": [{"sku": "PEN", "quantity": 3, "unitPrice": "0.10"}]},
        {"items": [{"sku": "PEN", "quantity": 4, "unitPrice": "0.10"}, order_input()["items"][1]]},
        {"items": list(reversed(order_input()["items"]))},
    ],
)
async def test_same_key_other_input_is_conflict_and_writes_nothing(
    orders_client: GraphQLClient, changed: dict[str, Any]
) -> None:
    first = await orders_client.data(CREATE, {"input": order_input("2", idempotencyKey=KEY)})
    before = await stored_rows(orders_client)
    body = await orders_client(
        CREATE, {"input": {**order_input("2", idempotencyKey=KEY), **changed}}
    )
    assert error_codes(body) == ["CONFLICT"], body
    assert body["errors"][0]["extensions"]["field"] == "input.idempotencyKey"
    assert "already used for another order" in body["errors"][0]["message"]
    assert body["data"] == {"createOrder": None}
    assert await stored_rows(orders_client) == before
    engine = orders_client.app.state.engine  # type: ignore[attr-defined]
    assert await rows_with_key(engine, orders, KEY) == [int(first["createOrder"]["id"])]


async def test_retry_is_answered_while_customers_is_down(
    database_url: str, customers_process: ServiceProcess
) -> None:
    async with orders_service(database_url, f"{customers_process.url}/graphql") as client:
        first = await client.data(CREATE, {"input": order_input("2", idempotencyKey=KEY)})
    closed = f"http://127.0.0.1:{free_port()}/graphql"
    async with orders_service(database_url, closed) as client:
        before = await stored_rows(client)
        # the retry needs only the database: the customer was checked when the order was made
        again = await client.data(CREATE, {"input": order_input("2", idempotencyKey=KEY)})
        assert again == first
        # a new key is a new order, and that still needs the customers service
        body = await client(CREATE, {"input": order_input("2", idempotencyKey="another")})
        assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
        assert await stored_rows(client) == before


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "1 to 255 characters"),
        ("k" * 256, "1 to 255 characters"),
        ("a\x00b", "NUL character"),  # refused for every string input (subgraph_kit.inputs)
        ("line\nbreak", "printable"),
    ],
)
async def test_unusable_key_is_refused_before_any_call(
    database_url: str, key: str, says: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/graphql"
    async with orders_service(database_url, closed) as client:
        before = await stored_rows(client)
        body = await client(CREATE, {"input": order_input(idempotencyKey=key)})
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == "input.idempotencyKey"
        assert says in body["errors"][0]["message"]
        assert await stored_rows(client) == before


async def test_longest_key_is_kept_whole(orders_client: GraphQLClient) -> None:
    key = "é" * 255  # 255 characters, 510 bytes: the limit counts characters
    first = await orders_client.data(CREATE, {"input": order_input(idempotencyKey=key)})
    assert await orders_client.data(CREATE, {"input": order_input(idempotencyKey=key)}) == first
    shorter = await orders_client.data(CREATE, {"input": order_input(idempotencyKey=key[:-1])})
    assert shorter["createOrder"]["id"] != first["createOrder"]["id"]


async def test_insert_refused_by_the_unique_key_returns_the_stored_order(
    orders_client: GraphQLClient,
) -> None:
    # Two inserts with one key, neither having seen the other's row first (what two replicas
    # do when the same retry reaches both): the database's unique index decides.
    engine = orders_client.app.state.engine  # type: ignore[attr-defined]
    database = orders_client.app.state.database  # type: ignore[attr-defined]
    order = NewOrder("2", "USD", (ItemRecord("PEN", 3, 10),), idempotency_key=KEY)
    first = await order_repository.create(database, order)
    second = await order_repository.create(database, order)
    assert second == first
    assert await rows_with_key(engine, orders, KEY) == [first.id]
    assert await items_of(engine, first.id) == 1


async def test_two_processes_given_one_key_at_once_write_one_order(
    database_url: str, customers_process: ServiceProcess, engine: AsyncEngine
) -> None:
    # Two replicas on one database. The gate holds each one's customer check until both have
    # asked, so both have looked for the key and found nothing before either inserts.
    with gate(f"{customers_process.url}/graphql", together=2) as customers_url:
        args = ["--database-url", database_url, "--customers-url", customers_url]
        args += ["--customers-timeout", "30"]
        # started one after the other: the first creates and seeds the database
        replicas = [ServiceProcess("order_subgraph", args).start()]
        replicas.append(ServiceProcess("order_subgraph", args).start())
        try:
            before = await stored_count(engine, orders)

            async def create(replica: ServiceProcess) -> Any:
                async with replica.client(STAFF_HEADERS) as http:
                    return await GraphQLClient(http).data(
                        CREATE, {"input": order_input("2", idempotencyKey=KEY)}
                    )

            answers = await asyncio.gather(*(create(replica) for replica in replicas))
        finally:
            for replica in replicas:
                replica.stop()
    assert answers[0] == answers[1]
    order_id = int(answers[0]["createOrder"]["id"])
    assert await rows_with_key(engine, orders, KEY) == [order_id]
    assert await stored_count(engine, orders) == before + 1
    assert await items_of(engine, order_id) == 2


async def stored_count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


# --- createCustomer ----------------------------------------------------------------------------


def new_customer(**overrides: Any) -> dict[str, Any]:
    return {"name": "Dana", "email": "dana@example.com", "idempotencyKey": KEY, **overrides}


async def test_create_customer_retry_is_the_same_customer_not_an_email_conflict(
    customers: GraphQLClient,
) -> None:
    engine = customers.app.state.engine  # type: ignore[attr-defined]
    before = await stored_count(engine, customers_table)
    first = await customers.data(CREATE_CUSTOMER, {"input": new_customer()})
    assert await customers.data(CREATE_CUSTOMER, {"input": new_customer()}) == first
    assert await rows_with_key(engine, customers_table, KEY) == [int(first["createCustomer"]["id"])]
    assert await stored_count(engine, customers_table) == before + 1
    # without the key, the same input is what it always was: the email is taken
    body = await customers(CREATE_CUSTOMER, {"input": new_customer(idempotencyKey=None)})
    assert error_codes(body) == ["CONFLICT"]
    assert body["errors"][0]["extensions"]["field"] == "input.email"


@pytest.mark.parametrize(
    "changed",
    [{"name": "Dana Other"}, {"email": "dana2@example.com"}, {"email": "DANA@example.com"}],
)
async def test_create_customer_same_key_other_input_is_conflict(
    customers: GraphQLClient, changed: dict[str, str]
) -> None:
    engine = customers.app.state.engine  # type: ignore[attr-defined]
    first = await customers.data(CREATE_CUSTOMER, {"input": new_customer()})
    before = await stored_count(engine, customers_table)
    body = await customers(CREATE_CUSTOMER, {"input": new_customer(**changed)})
    assert error_codes(body) == ["CONFLICT"], body
    assert body["errors"][0]["extensions"]["field"] == "input.idempotencyKey"
    assert "already used for another customer" in body["errors"][0]["message"]
    assert await stored_count(engine, customers_table) == before
    assert await rows_with_key(engine, customers_table, KEY) == [int(first["createCustomer"]["id"])]


async def test_create_customer_unusable_key_is_refused(customers: GraphQLClient) -> None:
    engine = customers.app.state.engine  # type: ignore[attr-defined]
    before = await stored_count(engine, customers_table)
    body = await customers(CREATE_CUSTOMER, {"input": new_customer(idempotencyKey="x" * 256)})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "input.idempotencyKey"
    assert await stored_count(engine, customers_table) == before


async def test_customer_insert_refused_by_the_unique_key_returns_the_stored_customer(
    customers: GraphQLClient,
) -> None:
    engine = customers.app.state.engine  # type: ignore[attr-defined]
    database = customers.app.state.database  # type: ignore[attr-defined]
    customer = NewCustomer("Dana", "dana@example.com", idempotency_key=KEY)
    first = await customer_repository.create(database, customer)
    assert await customer_repository.create(database, customer) == first
    assert await rows_with_key(engine, customers_table, KEY) == [first.id]
    # the email index still refuses another customer's retry-less create
    with pytest.raises(customer_repository.EmailTaken):
        await customer_repository.create(database, NewCustomer("Dana", "DANA@example.com"))


async def test_two_customer_processes_given_one_key_at_once_write_one_customer(
    database_url: str, engine: AsyncEngine
) -> None:
    # Nothing holds these requests at the same point, so whether two of them race past the key
    # check varies from run to run; the test above drives that race every time.
    args = ["--database-url", database_url]
    replicas = [ServiceProcess("customer_subgraph", args).start()]
    replicas.append(ServiceProcess("customer_subgraph", args).start())
    try:
        before = await stored_count(engine, customers_table)

        async def create(replica: ServiceProcess) -> Any:
            async with replica.client(STAFF_HEADERS) as http:
                return await GraphQLClient(http).data(CREATE_CUSTOMER, {"input": new_customer()})

        answers = await asyncio.gather(*(create(replicas[i % 2]) for i in range(8)))
    finally:
        for replica in replicas:
            replica.stop()
    assert all(answer == answers[0] for answer in answers)
    customer_id = int(answers[0]["createCustomer"]["id"])
    assert await rows_with_key(engine, customers_table, KEY) == [customer_id]
    assert await stored_count(engine, customers_table) == before + 1
