"""Database engines for SQLite (default) and PostgreSQL, one code path for both, and the schema
created at start-up: what is missing is added, nothing is ever changed or dropped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateColumn, CreateIndex

from subgraph_kit.database import use_sqlite_pragmas

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """Map a plain `sqlite:///` or `postgresql://` URL onto its asyncio driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    """Create the engine; for SQLite, the file's folder is created and WAL mode switched on."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_size=10, max_overflow=10, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, connect_args={"timeout": 30})
    use_sqlite_pragmas(engine.sync_engine)
    return engine


# Any constant shared by every service of the platform: replicas starting together on one
# PostgreSQL database take turns at creating the schema instead of racing to CREATE it twice.
_SCHEMA_LOCK = 0x7066_6564_5F64_62  # "pfed_db"


class SchemaError(Exception):
    """The database's schema cannot be brought up to date at start-up without an operator."""


async def create_schema(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create what does not exist yet (safe to run at every start).

    Missing tables are created; a table created by an earlier version gets the columns added
    since, then the indexes it lacks, unique ones included. An added column has no value in the
    rows already there, so it must be nullable or have a server default; if one is not, nothing
    is changed and SchemaError says which.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        await conn.run_sync(_create_missing, metadata)


def _create_missing(conn: Connection, metadata: MetaData) -> None:
    missing = _missing_columns(conn, metadata)
    for table, column in missing:
        if not column.nullable and column.server_default is None:
            raise SchemaError(
                f"table {table.name} lacks column {column.name}, which is NOT NULL without a "
                "server default: the rows already there have no value for it; add it by hand, "
                "then start again"
            )
    metadata.create_all(conn)
    preparer = conn.dialect.identifier_preparer
    for table, column in missing:
        spec = CreateColumn(column).compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {spec}"))
    for table in metadata.sorted_tables:
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))


def _missing_columns(conn: Connection, metadata: MetaData) -> list[tuple[Table, Column[Any]]]:
    """The columns of tables that exist which the database does not have yet."""
    inspector = inspect(conn)
    missing = []
    for table in metadata.sorted_tables:
        if inspector.has_table(table.name):
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing += [(table, c) for c in table.columns if c.name not in present]
    return missing


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp these services store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
