"""Database engines for SQLite (default) and PostgreSQL, one code path for both. Their schemas
are made and changed by migrations (subgraph_kit.migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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


class SchemaError(Exception):
    """The database's schema cannot be brought to what this release needs without an operator."""


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp these services store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
