"""Schema migrations (Alembic): each service ships its migration environment inside its package
(`<service>/migrations`: `env.py`, `versions/`), and this module runs it.

- `upgrade` brings a database to the newest revision behind a lock (`schema_lock`: a PostgreSQL
  advisory lock, or on SQLite a lock file beside the database), so replicas starting together
  migrate it once. `python -m <service> migrate` runs it; `prepare` is a service's start-up:
  upgrade (or `verify`) and seed, under the same lock.
- `upgrade_sql` prints that upgrade as SQL, for a DBA to read or run (`migrate --sql`).
- `verify` is what a service that does not migrate at start-up runs instead (`--no-migrate`):
  the database must already be at this release's revision.
- `run_environment` is the body of every service's `env.py`; `create_baseline` is the body of
  every service's first revision.

A database from before migrations (tables made at start-up by the previous release, no version
table) is recognised: its first revision is the previous release's own start-up step, frozen:
it creates what is missing, adds the columns and indexes an older schema lacks, and changes
nothing else, so the rows are kept and the database is stamped at the baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, MetaData, Table, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from subgraph_kit.db import SchemaError, async_url

logger = logging.getLogger("subgraph_kit.migrations")

# Any constant shared by every service of the platform (advisory locks are per database): replicas
# starting together on one PostgreSQL database take turns, and the second finds nothing to do.
_MIGRATION_LOCK = 0x7066_6564_5F64_62  # "pfed_db"


@dataclass(frozen=True, slots=True)
class Migrations:
    """A service's migration environment: its scripts, the tables its code expects, and the table
    that records the revision (one per service, so two services could even share a database)."""

    service: str  # the package, e.g. "customer_subgraph"; scripts are in <service>/migrations
    metadata: MetaData
    version_table: str  # e.g. "alembic_version_customers"

    def config(self, **attributes: Any) -> Config:
        """Alembic's configuration, built in code: no alembic.ini to install or to find."""
        config = Config(output_buffer=attributes.pop("output", None))
        config.set_main_option("script_location", f"{self.service}:migrations")
        config.attributes.update(attributes, migrations=self)
        return config

    def head(self) -> str:
        """The newest revision this release knows."""
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        assert head is not None, f"{self.service} has no migration scripts"
        return head


class Upgrade(NamedTuple):
    """What one `upgrade` found and left: revisions before and after, and whether the database
    was one from before migrations."""

    before: str | None
    after: str
    adopted: bool


async def upgrade(engine: AsyncEngine, migrations: Migrations) -> Upgrade:
    """Bring the database to the newest revision, once however many replicas ask at once."""
    async with schema_lock(engine):
        return await _upgrade_locked(engine, migrations)


async def prepare(
    engine: AsyncEngine,
    migrations: Migrations,
    *,
    migrate: bool,
    seed: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """A service's start-up, one replica at a time: upgrade the database (or, when a deployment
    migrates it once before the services start, check that it did), then `seed` it."""
    async with schema_lock(engine):
        if migrate:
            await _upgrade_locked(engine, migrations)
        else:
            await verify(engine, migrations)
        if seed is not None:
            await seed()


@contextlib.asynccontextmanager
async def schema_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Held by one process at a time per database, while it changes the schema or seeds.

    PostgreSQL: a session advisory lock, on a connection of its own (released when that
    connection ends, a process killed included). SQLite: an exclusive lock on a file beside the
    database (never on the database file itself: closing any descriptor of it would drop the
    locks SQLite holds); an in-memory database belongs to one process and needs none.
    """
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            await conn.commit()  # the lock is the session's: no transaction stays open
            try:
                yield
            finally:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK}
                )
                await conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    fd = await asyncio.to_thread(os.open, f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


async def _upgrade_locked(engine: AsyncEngine, migrations: Migrations) -> Upgrade:
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            async with conn.begin():  # DDL is transactional: all of the upgrade, or none of it
                result = await conn.run_sync(_upgrade, migrations)
        elif conn.dialect.name == "sqlite":
            result = await _upgrade_sqlite(conn, migrations)
        else:
            raise SchemaError(f"migrations support SQLite and PostgreSQL, not {conn.dialect.name}")
    if result.before == result.after:
        logger.info("%s database at revision %s", migrations.service, result.after)
    else:
        logger.info(
            "%s database upgraded from %s to %s%s",
            migrations.service,
            result.before or "an empty database",
            result.after,
            " (a database from before migrations, its rows kept)" if result.adopted else "",
        )
    return result


async def _upgrade_sqlite(conn: AsyncConnection, migrations: Migrations) -> Upgrade:
    """One SQLite transaction that holds the write lock from before the version is read.

    The driver's own transaction handling is off (it would commit before DDL), and so are foreign
    keys, as SQLite asks for schema changes: a batch migration copies a table and drops the old
    one, which would otherwise cascade to the rows referring to it. Any reference the migration
    broke is found before the commit, and nothing is kept.
    """
    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
    await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            result = await conn.run_sync(_upgrade, migrations)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise SchemaError(f"the migration broke references: {broken[:5]}")
        except BaseException:
            await conn.exec_driver_sql("ROLLBACK")
            raise
        await conn.exec_driver_sql("COMMIT")
    finally:
        await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    return result


def _upgrade(conn: Connection, migrations: Migrations) -> Upgrade:
    before = _current(conn, migrations)
    adopted = before is None and any(map(inspect(conn).has_table, migrations.metadata.tables))
    command.upgrade(migrations.config(connection=conn), "head")
    after = _current(conn, migrations)
    assert after is not None
    return Upgrade(before, after, adopted)


def _current(conn: Connection, migrations: Migrations) -> str | None:
    opts = {"version_table": migrations.version_table}
    return MigrationContext.configure(conn, opts=opts).get_current_revision()


def upgrade_sql(database_url: str, migrations: Migrations) -> str:
    """The SQL that upgrades an empty database of this URL's kind to the newest revision, not run
    (Alembic's offline mode: nothing is connected to, so nothing is inspected)."""
    output = io.StringIO()
    config = migrations.config(output=output, url=async_url(database_url))
    command.upgrade(config, "head", sql=True)
    return output.getvalue()


async def verify(engine: AsyncEngine, migrations: Migrations) -> str:
    """The database's revision, which must be this release's newest; SchemaError if not."""
    async with engine.connect() as conn:
        current = await conn.run_sync(_current, migrations)
    head = migrations.head()
    if current != head:
        raise SchemaError(
            f"the {migrations.service} database is at revision {current or '(none)'}, this "
            f"release needs {head}: run `python -m {migrations.service} migrate` first, or start "
            "the service with migrations at start-up"
        )
    return current


def run_environment() -> None:
    """The body of a service's `env.py`: run the migrations on the connection `upgrade` holds,
    or print them as SQL for the URL `upgrade_sql` was given."""
    config = context.config
    migrations: Migrations = config.attributes["migrations"]
    options: dict[str, Any] = {
        "target_metadata": migrations.metadata,
        "version_table": migrations.version_table,
        "render_as_batch": True,  # autogenerate writes ALTERs SQLite can do (copy and move)
        "compare_server_default": True,
    }
    if context.is_offline_mode():
        url = make_url(config.attributes["url"])
        context.configure(url=url, literal_binds=True, **options)
    else:
        context.configure(connection=config.attributes["connection"], **options)
    with context.begin_transaction():
        context.run_migrations()


def create_baseline(metadata: MetaData) -> None:
    """The body of a first revision: the schema of the release before migrations, `metadata`
    being a frozen copy of its tables.

    On an empty database this is `metadata.create_all`, the same DDL. On a database that release
    made, it is that release's own start-up step: missing tables are created; a table created by
    an earlier version gets the columns added since, then the indexes it lacks. Offline, the DDL
    for an empty database is printed.
    """
    if context.is_offline_mode():
        for table in metadata.sorted_tables:
            op.execute(CreateTable(table))
            for index in sorted(table.indexes, key=lambda index: str(index.name)):
                op.execute(CreateIndex(index))
        return
    _create_missing(op.get_bind(), metadata)


def _create_missing(conn: Connection, metadata: MetaData) -> None:
    missing = _missing_columns(conn, metadata)  # nullable, all: that release added no other kind
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
