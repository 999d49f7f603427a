"""subgraph_kit's Database on SQLite and PostgreSQL: a read sees every commit made before it,
through any connection; a write commits whole or not at all; on a SQLite file reads take the
synchronous engine (no thread hop), elsewhere the asyncio one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, event, func, insert, select
from sqlalchemy.exc import IntegrityError

from customer_subgraph.db import customers
from customer_subgraph.migrations import MIGRATIONS
from subgraph_kit.database import Database
from subgraph_kit.db import create_engine
from subgraph_kit.migrations import upgrade

WHEN = datetime(2024, 5, 1, 12, tzinfo=UTC)


def row(id: int, email: str) -> dict[str, Any]:
    when = WHEN
    return {"id": id, "name": f"N{id}", "email": email, "created_at": when, "updated_at": when}


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    engine = create_engine(database_url)
    await upgrade(engine, MIGRATIONS)
    database = Database(engine)
    try:
        yield database
    finally:
        await database.dispose()


BY_IDS = select(customers.c.id).where(customers.c.id.in_(bindparam("ids", expanding=True)))


async def test_a_read_sees_what_another_connection_committed(database: Database) -> None:
    assert await database.rows(BY_IDS, {"ids": [1]}) == []
    # committed through the asyncio engine, as a second process or replica would
    async with database.engine.begin() as conn:
        await conn.execute(insert(customers), [row(1, "a@example.com")])
    assert [r.id for r in await database.rows(BY_IDS, {"ids": [1, 2]})] == [1]
    await database.transaction(lambda conn: conn.execute(insert(customers), [row(2, "b@x.io")]))
    async with database.engine.connect() as conn:
        seen = (await conn.execute(select(func.count()).select_from(customers))).scalar_one()
    assert seen == 2
    assert [r.id for r in await database.rows(BY_IDS, {"ids": [1, 2]})] == [1, 2]


async def test_a_write_that_fails_leaves_nothing(database: Database) -> None:
    def two_then_a_clash(conn: Connection) -> None:
        conn.execute(insert(customers), [row(1, "a@example.com"), row(2, "b@example.com")])
        conn.execute(insert(customers), [row(3, "A@example.com")])  # the same email, any case

    with pytest.raises(IntegrityError):
        await database.transaction(two_then_a_clash)
    assert await database.scalar(select(func.count()).select_from(customers)) == 0
    assert await database.first(BY_IDS, {"ids": [1]}) is None


async def test_reads_on_a_sqlite_file_do_not_use_the_asyncio_engine(
    database: Database, database_url: str
) -> None:
    used: list[str] = []
    for engine in database.sync_engines:
        name = "asyncio" if engine is database.engine.sync_engine else "sync"
        event.listen(engine, "before_cursor_execute", lambda *_, n=name: used.append(n))
    await database.rows(BY_IDS, {"ids": [1]})
    expected = "sync" if database_url.startswith("sqlite") else "asyncio"
    assert used == [expected]
