"""How a service talks to its database: SQLAlchemy Core statements, each read as cheap as the
store allows, each write one short transaction.

What a read costs is mostly not the SQL. Through SQLAlchemy's asyncio layer a one-row SELECT on
SQLite takes about a millisecond: aiosqlite runs every DB-API call (cursor, execute, fetch,
close, the rollback on return to the pool) on its own thread, and each hop waits for the event
loop. The same SELECT through the standard `sqlite3` module takes microseconds. So:

- SQLite (a file): reads run on the event loop, a statement used again and again through the
  `sqlite3` module directly (subgraph_kit.sqlite_reads), any other through a synchronous engine.
  In WAL mode a reader never waits for a writer, and each SELECT outside a transaction sees the
  latest commit (of this process or any other). Writes run in a worker thread, the whole
  transaction in one hop, so a writer waiting for the file's lock (busy_timeout) never stalls
  the loop.
- PostgreSQL (asyncpg) and in-memory SQLite: the asyncio engine. Reads run in autocommit, so a
  read is one round trip, without BEGIN and ROLLBACK around it; a write is one transaction.

A write is a plain function of a synchronous `Connection` (`transaction(work)`), so the same
code runs in the thread or, through `AsyncConnection.run_sync`, on the asyncio engine. A write
that has something to tell subscribers is `publishing(work)`: its events go out through the
database's event bus (subgraph_kit.events) when, and only when, its transaction commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from subgraph_kit.events import Event, EventBus, LocalBus, Publish
from subgraph_kit.sqlite_reads import SqliteReader

T = TypeVar("T")
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
"""A row of any width."""

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)
"""Set on every SQLite connection, by either engine."""


def use_sqlite_pragmas(engine: Engine) -> None:
    """Set SQLITE_PRAGMAS on each new connection of `engine` (a sync engine, or an async one's
    `sync_engine`)."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()


class Database:
    """A service's database (see the module's docstring for which path each store takes)."""

    def __init__(self, engine: AsyncEngine, events: EventBus | None = None) -> None:
        self.engine = engine
        self.events = events if events is not None else LocalBus()
        self._sync = _sqlite_file_engine(engine.url)
        self._reader = (
            None
            if self._sync is None
            else SqliteReader(str(engine.url.database), self._sync.dialect, SQLITE_PRAGMAS)
        )
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def sync_engines(self) -> tuple[Engine, ...]:
        """Every synchronous engine statements go through (for event listeners, e.g. in tests)."""
        own = (self._sync,) if self._sync is not None else ()
        return (self.engine.sync_engine, *own)

    def listen(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener` with the SQL of every statement sent (as SQLAlchemy's
        `before_cursor_execute` on each of `sync_engines`, and for the reads that bypass them);
        returns what stops it."""

        def hear(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            listener(statement)

        for engine in self.sync_engines:
            event.listen(engine, "before_cursor_execute", hear)
        if self._reader is not None:
            self._reader.listeners.append(listener)

        def stop() -> None:
            for engine in self.sync_engines:
                event.remove(engine, "before_cursor_execute", hear)
            if self._reader is not None:
                self._reader.listeners.remove(listener)

        return stop

    async def rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[AnyRow]:
        """All rows of a read (each with the columns as attributes and by position). A
        statement built once, with `bindparam`s that `params` fill, costs a fraction of one
        built per call (the repositories' `_BY_IDS`), most of all on a SQLite file."""
        if self._reader is not None:
            found = self._reader.rows(statement, params)
            if found is not None:
                return found
        if self._sync is not None:
            with self._sync.connect() as conn:
                return conn.execute(statement, params).all()
        async with self._autocommit.connect() as conn:
            return (await conn.execute(statement, params)).all()

    async def first(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> AnyRow | None:
        """The first row of a read, or None."""
        found = await self.rows(statement, params)
        return found[0] if found else None

    async def scalar(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the one row a read answers."""
        found = await self.rows(statement, params)
        return found[0][0]

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in one transaction, committed when it returns, rolled back if it raises."""
        if self._sync is not None:
            return await asyncio.to_thread(self._in_transaction, self._sync, work)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    async def publishing(self, work: Callable[[Connection, Publish], T]) -> T:
        """`work(conn, publish)` in one transaction; the events it passes to `publish` reach
        subscribers once the transaction has committed, and never if it rolls back."""
        staged: list[Event] = []

        def run(conn: Connection) -> T:
            def publish(event: Event) -> None:
                self.events.stage(conn, event)
                staged.append(event)

            return work(conn, publish)

        result = await self.transaction(run)
        self.events.committed(staged)
        return result

    @staticmethod
    def _in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
        with engine.begin() as conn:
            return work(conn)

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._sync is not None:
            self._sync.dispose()
        await self.engine.dispose()


def _sqlite_file_engine(url: URL) -> Engine | None:
    """A synchronous engine (the standard `sqlite3` module) on the same SQLite file, or None
    for other stores and for in-memory SQLite (a second connection would see another database)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    engine = create_sync_engine(url.set(drivername="sqlite"), connect_args={"timeout": 30})
    use_sqlite_pragmas(engine)
    return engine
