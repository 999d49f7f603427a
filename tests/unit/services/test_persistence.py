"""Data survives a restart of the real service process, seeding happens only once, a create
retried after a restart is answered from the first one, and a database from before idempotency
keys gets their columns and index at start-up."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
)

from customer_subgraph.db import customers
from order_subgraph.db import orders
from subgraph_kit.db import create_engine
from tests.support.auth import STAFF_HEADERS
from tests.support.services import GraphQLClient, ServiceProcess


@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
async def test_data_survives_restart(
    module: str, database_url: str, customers_process: ServiceProcess
) -> None:
    args = ["--database-url", database_url]
    if module == "order_subgraph":
        args += ["--customers-url", f"{customers_process.url}/graphql"]
        create = 'mutation { createOrder(input: {customerId: "2", items: [{sku: "KEPT", quantity: 2, unitPrice: "5.55"}]}) { id } }'
        read = "query($id: ID!) { order(id: $id) { items { sku } total { amount } } }"
        expected = {"order": {"items": [{"sku": "KEPT"}], "total": {"amount": "11.10"}}}
        count = "{ orders { totalCount } }"
        field = "createOrder"
    else:
        create = (
            'mutation { createCustomer(input: {name: "Kept", email: "kept@example.com"}) { id } }'
        )
        read = "query($id: ID!) { customer(id: $id) { name email } }"
        expected = {"customer": {"name": "Kept", "email": "kept@example.com"}}
        count = "{ customers { totalCount } }"
        field = "createCustomer"

    service = ServiceProcess(module, args).start()
    try:
        async with service.client(STAFF_HEADERS) as http:
            client = GraphQLClient(http)
            seeded_total = await client.data(count)
            created_id = (await client.data(create))[field]["id"]
    finally:
        service.stop()

    service.start()  # same database URL, new process
    try:
        async with service.client(STAFF_HEADERS) as http:
            client = GraphQLClient(http)
            assert await client.data(read, {"id": created_id}) == expected
            totals = await client.data(count)
            (name,) = totals
            assert totals[name]["totalCount"] == seeded_total[name]["totalCount"] + 1
    finally:
        service.stop()


def keyed_create(module: str, key: str) -> tuple[str, str]:
    """A create with an idempotency key for this service, and the field that answers it."""
    if module == "order_subgraph":
        return (
            f'mutation {{ createOrder(input: {{customerId: "2", idempotencyKey: "{key}", '
            'items: [{sku: "ONCE", quantity: 1, unitPrice: "3.00"}]}) { id total { amount } } }',
            "createOrder",
        )
    return (
        f'mutation {{ createCustomer(input: {{name: "Once", email: "once@example.com", '
        f'idempotencyKey: "{key}"}}) {{ id email }} }}',
        "createCustomer",
    )


def service_args(module: str, database_url: str, customers_process: ServiceProcess) -> list[str]:
    args = ["--database-url", database_url]
    if module == "order_subgraph":
        args += ["--customers-url", f"{customers_process.url}/graphql"]
    return args


async def rows_with_key(database_url: str, table: Table, key: str) -> list[int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(table.c.id).where(table.c.idempotency_key == key)
            return [row.id for row in await conn.execute(query)]
    finally:
        await engine.dispose()


TABLES = {"order_subgraph": orders, "customer_subgraph": customers}


@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
async def test_retry_after_a_restart_returns_the_first_create(
    module: str, database_url: str, customers_process: ServiceProcess
) -> None:
    # The kill -9 case: the create committed, its answer was lost, the client sends it again
    # to a new process.
    create, field = keyed_create(module, "retry-after-restart")
    service = ServiceProcess(module, service_args(module, database_url, customers_process))
    service.start()
    try:
        async with service.client(STAFF_HEADERS) as http:
            first = (await GraphQLClient(http).data(create))[field]
    finally:
        service.stop()
    service.start()
    try:
        async with service.client(STAFF_HEADERS) as http:
            again = (await GraphQLClient(http).data(create))[field]
    finally:
        service.stop()
    assert again == first
    stored = await rows_with_key(database_url, TABLES[module], "retry-after-restart")
    assert stored == [int(first["id"])]


def first_release_tables(module: str) -> MetaData:
    """The service's tables as they were before idempotency keys (no key columns, no index)."""
    legacy = MetaData()
    stamps = [Column(name, DateTime(timezone=True), nullable=False) for name in _STAMPS]
    if module == "customer_subgraph":
        table = Table(
            "customers",
            legacy,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("name", String(200), nullable=False),
            Column("email", String(320), nullable=False),
            *stamps,
        )
        Index("uq_customers_email", func.lower(table.c.email), unique=True)
        return legacy
    table = Table(
        "orders",
        legacy,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String(64), nullable=False),
        Column("status", String(16), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("total_cents", BigInteger, nullable=False),
        *stamps,
    )
    Index("ix_orders_customer_id", table.c.customer_id, table.c.id)
    Table(
        "order_items",
        legacy,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        Column("position", Integer, nullable=False),
        Column("sku", String(64), nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("unit_price_cents", BigInteger, nullable=False),
    )
    return legacy


_STAMPS = ("created_at", "updated_at")


async def make_first_release_database(module: str, database_url: str) -> None:
    """A database as the first release left it, holding one row it wrote."""
    legacy = first_release_tables(module)
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(legacy.create_all)
            if module == "customer_subgraph":
                row = {"name": "Old", "email": "old@example.com"}
                await conn.execute(insert(legacy.tables["customers"]), [{**row, **_at(now)}])
            else:
                row = {"customer_id": "1", "status": "PAID", "currency": "USD", "total_cents": 700}
                await conn.execute(insert(legacy.tables["orders"]), [{**row, **_at(now)}])
                item = {"order_id": 1, "position": 0, "sku": "OLD", "quantity": 1}
                await conn.execute(
                    insert(legacy.tables["order_items"]), [{**item, "unit_price_cents": 700}]
                )
    finally:
        await engine.dispose()


def _at(now: datetime) -> dict[str, datetime]:
    return dict.fromkeys(_STAMPS, now)


async def key_columns_and_index(database_url: str, table: str) -> tuple[set[str], bool]:
    """The idempotency columns the table has, and whether its key index exists and is unique."""

    def look(conn: Connection) -> tuple[set[str], bool]:
        inspector = inspect(conn)
        columns = {c["name"] for c in inspector.get_columns(table)}
        with warnings.catch_warnings():  # SQLite cannot reflect the lower(email) index
            warnings.simplefilter("ignore")
            indexes = {i["name"]: bool(i["unique"]) for i in inspector.get_indexes(table)}
        return {c for c in columns if c.startswith("idempotency")}, indexes.get(
            f"uq_{table}_idempotency_key", False
        )

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(look)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
async def test_database_from_before_idempotency_keys_is_upgraded_at_start(
    module: str, database_url: str, customers_process: ServiceProcess
) -> None:
    await make_first_release_database(module, database_url)
    table = TABLES[module].name
    assert await key_columns_and_index(database_url, table) == (set(), False)
    create, field = keyed_create(module, "after-upgrade")
    if module == "order_subgraph":
        read = "{ order(id: 1) { status items { sku } total { amount } } }"
        old = {"order": {"status": "PAID", "items": [{"sku": "OLD"}], "total": {"amount": "7.00"}}}
    else:
        read = "{ customer(id: 1) { name email } }"
        old = {"customer": {"name": "Old", "email": "old@example.com"}}

    service = ServiceProcess(module, service_args(module, database_url, customers_process))
    service.start()
    try:
        async with service.client(STAFF_HEADERS) as http:
            client = GraphQLClient(http)
            assert await client.data(read) == old
            first = (await client.data(create))[field]
            assert (await client.data(create))[field] == first
    finally:
        service.stop()
    assert await key_columns_and_index(database_url, table) == (
        {"idempotency_key", "idempotency_fingerprint"},
        True,
    )
    assert await rows_with_key(database_url, TABLES[module], "after-upgrade") == [int(first["id"])]
    service.start()  # and the upgraded database starts as it is
    try:
        async with service.client(STAFF_HEADERS) as http:
            assert await GraphQLClient(http).data(read) == old
    finally:
        service.stop()
