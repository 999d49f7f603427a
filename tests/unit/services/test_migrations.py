"""Each service's Alembic migrations, on real SQLite and PostgreSQL databases: from an empty
database to exactly what `create_all` makes; a database the release before migrations made,
with rows in it, stamped at the baseline with every row kept; replicas upgrading one database
at once migrate it once; `--no-migrate`, `migrate` and `migrate --sql` as a deployment uses them.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from customer_subgraph import Settings as CustomerSettings
from customer_subgraph import create_app as create_customer_app
from customer_subgraph.migrations import MIGRATIONS as CUSTOMERS
from customer_subgraph.seed import DEMO_CUSTOMERS
from customer_subgraph.settings import parse_args as parse_customer_args
from order_subgraph import Settings as OrderSettings
from order_subgraph import create_app as create_order_app
from order_subgraph.migrations import MIGRATIONS as ORDERS
from order_subgraph.seed import DEMO_ORDERS
from subgraph_kit.db import SchemaError, create_engine
from subgraph_kit.migrations import Migrations, Upgrade, upgrade
from tests.conftest import fresh_postgres_database
from tests.support import paths
from tests.support.auth import STAFF_HEADERS
from tests.support.services import ROOT, GraphQLClient, ServiceProcess, in_process

CASES = paths.CASES / "migration"
SERVICES = {"customers": CUSTOMERS, "orders": ORDERS}
HEAD = "0001"


@pytest.fixture(params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def another_database(database_url: str, request: pytest.FixtureRequest) -> str:
    """A second empty database of the same kind."""
    if database_url.startswith("sqlite"):
        return database_url.replace(".sqlite3", "-other.sqlite3")
    return await fresh_postgres_database(request.getfixturevalue("postgres_server_url"))


async def migrated_schema(
    database_url: str, request: pytest.FixtureRequest, migrations: Migrations
) -> list[tuple[Any, ...]]:
    """The schema an empty database of this kind has once upgraded."""
    migrated = create_engine(await another_database(database_url, request))
    try:
        await upgrade(migrated, migrations)
        schema: list[tuple[Any, ...]] = await read(migrated, schema_of)
        return schema
    finally:
        await migrated.dispose()


# What a database holds, read from its catalogue (not through SQLAlchemy's reflection, which
# skips SQLite's expression index): the statements SQLite keeps, or PostgreSQL's columns,
# constraints and index definitions. The migrations' version table is left out.


def schema_of(conn: Connection) -> list[tuple[Any, ...]]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'alembic_version%' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [(kind, name, table, " ".join(sql.split())) for kind, name, table, sql in rows]
    columns = conn.exec_driver_sql(
        "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length,"
        " is_nullable, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name NOT LIKE 'alembic_version%'"
        " ORDER BY table_name, ordinal_position"
    )
    constraints = conn.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text"
        " NOT LIKE 'alembic_version%' ORDER BY 1, 2"
    )
    indexes = conn.exec_driver_sql(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename NOT LIKE 'alembic_version%' ORDER BY 1, 2"
    )
    return [*map(tuple, columns), *map(tuple, constraints), *map(tuple, indexes)]


def differences(conn: Connection, metadata: MetaData, migrations: Migrations) -> list[Any]:
    """Alembic's autogenerate comparison of the database with the models: empty when equal."""
    context = MigrationContext.configure(
        conn,
        opts={"version_table": migrations.version_table, "compare_server_default": True},
    )
    with warnings.catch_warnings():  # SQLite: the lower(email) index cannot be compared
        warnings.simplefilter("ignore")
        return list(compare_metadata(context, metadata))


async def read(engine: AsyncEngine, function: Any, *args: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.run_sync(function, *args)


def all_rows(conn: Connection, metadata: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))]
        for name, table in metadata.tables.items()
    }


def versions(conn: Connection, migrations: Migrations) -> list[str]:
    table = migrations.version_table
    return [row[0] for row in conn.exec_driver_sql(f"SELECT version_num FROM {table}")]


async def test_an_empty_database_is_migrated_to_what_create_all_makes(
    service: str, database_url: str, engine: AsyncEngine, request: pytest.FixtureRequest
) -> None:
    migrations = SERVICES[service]
    assert await upgrade(engine, migrations) == Upgrade(None, HEAD, adopted=False)
    assert await read(engine, versions, migrations) == [HEAD]
    assert await read(engine, differences, migrations.metadata, migrations) == []

    made = create_engine(await another_database(database_url, request))
    try:
        async with made.begin() as conn:
            await conn.run_sync(migrations.metadata.create_all)
        expected = await read(made, schema_of)
    finally:
        await made.dispose()
    names = {*migrations.metadata.tables}
    names |= {str(i.name) for t in migrations.metadata.tables.values() for i in t.indexes}
    assert names <= {name for row in expected for name in row}  # the query sees them all
    assert await read(engine, schema_of) == expected

    # and a second upgrade finds nothing to do
    assert await upgrade(engine, migrations) == Upgrade(HEAD, HEAD, adopted=False)
    assert await read(engine, versions, migrations) == [HEAD]


# The release before migrations: its tables made from DDL captured from it, and rows in them.

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ROWS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "customers": [
        ("customers", {"name": "Ada", "email": "Ada@Example.com", "idempotency_key": None}),
        ("customers", {"name": "Bo", "email": "bo@example.com", "idempotency_key": "k-1"}),
    ],
    "orders": [
        ("orders", {"customer_id": "2", "status": "PAID", "currency": "EUR", "total_cents": 1250}),
        ("order_items", {"order_id": 1, "position": 0, "sku": "A", "quantity": 2}),
        ("order_items", {"order_id": 1, "position": 1, "sku": "B", "quantity": 1}),
    ],
}


async def make_previous_release_database(service: str, engine: AsyncEngine) -> None:
    ddl = (CASES / "previous_release" / f"{service}.{engine.dialect.name}.sql").read_text()
    lines = [line for line in ddl.splitlines() if not line.startswith("--")]
    statements = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
    async with engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)
    await make_previous_release_rows(engine, service)


async def make_previous_release_rows(engine: AsyncEngine, service: str = "orders") -> None:
    metadata = SERVICES[service].metadata
    async with engine.begin() as conn:
        for table, row in ROWS[service]:
            if table == "order_items":
                row = {**row, "unit_price_cents": 500 if row["sku"] == "A" else 250}
            else:
                row = {**row, "created_at": NOW, "updated_at": NOW}
            await conn.execute(metadata.tables[table].insert(), [row])


async def test_a_database_of_the_previous_release_is_stamped_with_its_rows_kept(
    service: str, database_url: str, engine: AsyncEngine, request: pytest.FixtureRequest
) -> None:
    migrations = SERVICES[service]
    await make_previous_release_database(service, engine)
    before = await read(engine, all_rows, migrations.metadata)
    assert sum(map(len, before.values())) == len(ROWS[service])

    assert await upgrade(engine, migrations) == Upgrade(None, HEAD, adopted=True)
    assert await read(engine, versions, migrations) == [HEAD]
    assert await read(engine, all_rows, migrations.metadata) == before
    assert await read(engine, differences, migrations.metadata, migrations) == []
    assert await read(engine, schema_of) == await migrated_schema(database_url, request, migrations)

    # The service starts on it, serves the old rows and seeds nothing (the table is not empty).
    if service == "customers":
        app = create_customer_app(CustomerSettings(database_url=database_url))
        query, expected = (
            "{ customers { totalCount } customer(id: 2) { name email } }",
            {"customers": {"totalCount": 2}, "customer": {"name": "Bo", "email": "bo@example.com"}},
        )
    else:
        # reading orders does not call the customers service; nothing listens on port 9
        app = create_order_app(
            OrderSettings(database_url=database_url, customers_url="http://127.0.0.1:9/graphql")
        )
        query = "{ orders { totalCount } order(id: 1) { status items { sku } total { amount } } }"
        expected = {
            "orders": {"totalCount": 1},
            "order": {
                "status": "PAID",
                "items": [{"sku": "A"}, {"sku": "B"}],
                "total": {"amount": "12.50"},
            },
        }
    async with in_process(app) as client:
        client.http.headers.update(STAFF_HEADERS)  # as the router forwards a staff member
        assert await client.data(query) == expected
    assert await read(engine, all_rows, migrations.metadata) == before


async def test_a_database_from_before_idempotency_keys_gets_them_from_the_baseline(
    database_url: str, engine: AsyncEngine
) -> None:
    # The first release's customers table: what the baseline adds to it is what that release's
    # start-up would have added (two nullable columns, their unique index).
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "CREATE TABLE customers (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL,"
            " email VARCHAR(320) NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
            " updated_at TIMESTAMP WITH TIME ZONE NOT NULL)"
        )
        await conn.exec_driver_sql(
            "CREATE UNIQUE INDEX uq_customers_email ON customers (lower(email))"
        )
        await conn.execute(
            text("INSERT INTO customers VALUES (1, 'Old', 'old@example.com', :t, :t)"), {"t": NOW}
        )
    assert await upgrade(engine, CUSTOMERS) == Upgrade(None, HEAD, adopted=True)

    def columns_and_rows(conn: Connection) -> tuple[list[str], list[tuple[Any, ...]]]:
        result = conn.exec_driver_sql("SELECT id, name, idempotency_key FROM customers")
        return list(result.keys()), [tuple(row) for row in result]

    assert await read(engine, columns_and_rows) == (
        ["id", "name", "idempotency_key"],
        [(1, "Old", None)],
    )
    async with engine.begin() as conn:  # the unique index is there
        await conn.execute(
            text("UPDATE customers SET idempotency_key = 'k' WHERE id = 1"),
        )
        await conn.execute(
            text("INSERT INTO customers VALUES (2, 'New', 'new@example.com', :t, :t, 'k2', NULL)"),
            {"t": NOW},
        )
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO customers VALUES (3, 'X', 'x@example.com', :t, :t, 'k', NULL)"),
                {"t": NOW},
            )


async def test_replicas_upgrading_at_once_migrate_once(service: str, database_url: str) -> None:
    migrations = SERVICES[service]
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(upgrade(engine, migrations) for engine in engines))
        assert sorted(results, key=lambda r: r.before or "") == [
            Upgrade(None, HEAD, adopted=False),
            *[Upgrade(HEAD, HEAD, adopted=False)] * 3,
        ]
        assert await read(engines[0], versions, migrations) == [HEAD]
        assert await read(engines[0], differences, migrations.metadata, migrations) == []
    finally:
        for engine in engines:
            await engine.dispose()


def service_args(module: str, database_url: str, customers: ServiceProcess) -> list[str]:
    args = ["--database-url", database_url]
    if module == "order_subgraph":
        args += ["--customers-url", f"{customers.url}/graphql"]
    return args


def output_of(process: ServiceProcess) -> str:
    assert process.output is not None
    process.output.seek(0)
    return process.output.read().decode()


@pytest.mark.postgres
@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
async def test_two_service_processes_start_at_once_on_one_postgres_database(
    module: str, postgres_server_url: str, customers_process: ServiceProcess
) -> None:
    database_url = await fresh_postgres_database(postgres_server_url)
    replicas = [
        ServiceProcess(module, service_args(module, database_url, customers_process))
        for _ in range(2)
    ]
    try:
        with ThreadPoolExecutor(2) as pool:  # started together; each waits until healthy
            list(pool.map(lambda replica: replica.start(), replicas))
        logs = "".join(map(output_of, replicas))
        assert logs.count("database upgraded from an empty database to 0001") == 1, logs
        assert logs.count("database at revision 0001") == 1, logs
        assert logs.count("seeded") == 1, logs  # the demo data, once: seeding is under the lock
        assert "Traceback" not in logs and "ERROR" not in logs, logs
        field, seeded = (
            ("customers", len(DEMO_CUSTOMERS))
            if module == "customer_subgraph"
            else ("orders", len(DEMO_ORDERS))
        )
        for replica in replicas:
            async with replica.client(STAFF_HEADERS) as http:
                data = await GraphQLClient(http).data(f"{{ {field} {{ totalCount }} }}")
            assert data == {field: {"totalCount": seeded}}
    finally:
        for replica in replicas:
            replica.stop()


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


async def test_without_migrations_at_start_up_the_deployment_runs_migrate_first(
    database_url: str, engine: AsyncEngine
) -> None:
    assert parse_customer_args([], {"CUSTOMERS_MIGRATE": "0"})[0].migrate is False
    assert parse_customer_args(["--no-migrate"], {})[0].migrate is False
    assert parse_customer_args([], {})[0].migrate is True

    service = ServiceProcess("customer_subgraph", ["--database-url", database_url, "--no-migrate"])
    with pytest.raises(RuntimeError, match=r"is at revision \(none\), this release needs 0001"):
        service.start()
    assert await read(engine, lambda conn: conn.dialect.has_table(conn, "customers")) is False
    app = create_customer_app(CustomerSettings(database_url=database_url, migrate=False))
    with pytest.raises(SchemaError, match="run `python -m customer_subgraph migrate` first"):
        async with in_process(app):
            pass

    done = run_module("customer_subgraph", "migrate", "--database-url", database_url)
    assert done.returncode == 0, done.stderr
    assert "customer_subgraph database upgraded from an empty database to 0001" in done.stderr
    again = run_module("customer_subgraph", "migrate", "--database-url", database_url)
    assert "customer_subgraph database at revision 0001" in again.stderr

    service.start()  # now it starts, and seeds
    try:
        async with service.client(STAFF_HEADERS) as http:
            data = await GraphQLClient(http).data("{ customers { totalCount } }")
        assert data == {"customers": {"totalCount": len(DEMO_CUSTOMERS)}}
    finally:
        service.stop()


def test_migrate_command_reports_an_unreachable_database_without_a_traceback() -> None:
    done = run_module(
        "order_subgraph", "migrate", "--database-url", "postgresql://nobody@127.0.0.1:9/none"
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: order_subgraph migrate: "), done.stderr
    assert "Traceback" not in done.stderr


async def test_migrate_sql_prints_the_upgrade_and_runs_nothing(
    service: str, database_url: str, engine: AsyncEngine, request: pytest.FixtureRequest
) -> None:
    migrations = SERVICES[service]
    done = run_module(migrations.service, "migrate", "--sql", "--database-url", database_url)
    assert done.returncode == 0, done.stderr
    assert "CREATE TABLE" in done.stdout
    assert await read(engine, schema_of) == []  # nothing was run

    # run as printed, it makes what the upgrade makes, the version included
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            conn.executescript(done.stdout)
    else:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(done.stdout)
        finally:
            await conn.close()
    assert await read(engine, versions, migrations) == [HEAD]
    assert await read(engine, schema_of) == await migrated_schema(database_url, request, migrations)


SECOND_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # on SQLite the table is copied, the old one dropped, the copy renamed (PostgreSQL: ALTER)
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("orders", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("note", sa.String(200), nullable=True))
"""


@dataclass(frozen=True, slots=True)
class ScriptsElsewhere(Migrations):
    """The orders migrations, from a copy of its scripts with one more revision."""

    location: str = ""

    def config(self, **attributes: Any) -> Config:
        config = Migrations.config(self, **attributes)
        config.set_main_option("script_location", self.location)
        return config


async def test_a_batch_revision_keeps_the_rows_that_refer_to_the_copied_table(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    # Dropping the old `orders` with foreign keys on would cascade to its items: the SQLite
    # upgrade runs with them off, and checks the references before it commits.
    await upgrade(engine, ORDERS)
    await make_previous_release_rows(engine)
    before = await read(engine, all_rows, ORDERS.metadata)

    scripts = tmp_path / "migrations"
    shutil.copytree(ROOT / "order_subgraph" / "migrations", scripts)
    (scripts / "versions" / "0002_note.py").write_text(SECOND_REVISION)
    elsewhere = ScriptsElsewhere(
        ORDERS.service, ORDERS.metadata, ORDERS.version_table, str(scripts)
    )
    assert await upgrade(engine, elsewhere) == Upgrade(HEAD, "0002", adopted=False)

    assert await read(engine, all_rows, ORDERS.metadata) == before
    assert len(before["order_items"]) == 2

    def notes(conn: Connection) -> list[Any]:
        return [row[0] for row in conn.exec_driver_sql("SELECT note FROM orders")]

    assert await read(engine, notes) == [None]
    async with engine.begin() as conn:  # and the reference still holds: items go with the order
        await conn.exec_driver_sql("DELETE FROM orders")
    assert await read(engine, all_rows, ORDERS.metadata) == {"orders": [], "order_items": []}
