"""subgraph_kit's Database on SQLite and PostgreSQL: a read sees every commit made before it,
through any connection; a write commits whole or not at all; on a SQLite file reads take the
synchronous engine (no thread hop), and a statement read again the `sqlite3` module directly,
with the same rows; elsewhere the asyncio engine."""

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


FULL_BY_IDS = select(customers).where(customers.c.id.in_(bindparam("ids", expanding=True)))
NAMED_AFTER = (
    select(customers.c.id, customers.c.created_at)
    .where(customers.c.name == bindparam("name"))
    .where(customers.c.id.in_(bindparam("ids", expanding=True)))
    .where(customers.c.id > bindparam("after"))
    .order_by(customers.c.id.desc())
    .limit(2)
)
COUNT = select(func.count()).select_from(customers)
READS: list[tuple[Any, dict[str, Any] | None]] = [
    (FULL_BY_IDS, {"ids": [3, 1, 99]}),
    (NAMED_AFTER, {"name": "same", "ids": [1, 2, 3, 4], "after": 1}),
    (COUNT, None),
    (BY_IDS, {"ids": []}),
]


async def test_a_statement_read_again_skips_sqlalchemy_and_answers_the_same(
    database: Database, database_url: str
) -> None:
    rows = [row(i, f"{i}@example.com") | {"name": "same" if i > 1 else "N1"} for i in (1, 2, 3, 4)]
    await database.transaction(lambda conn: conn.execute(insert(customers), rows))
    through_sqlalchemy: list[str] = []
    sent: list[str] = []
    for engine in database.sync_engines:
        event.listen(engine, "before_cursor_execute", lambda *a: through_sqlalchemy.append(a[2]))
    stop = database.listen(sent.append)
    answers = [[await database.rows(s, p) for s, p in READS] for _ in range(3)]
    stop()
    first, *again = answers
    for later in again:
        for statement_rows, first_rows in zip(later, first, strict=True):
            assert [tuple(r) for r in statement_rows] == [tuple(r) for r in first_rows]
    full = first[0]
    assert [r.id for r in full] == [1, 3]
    assert again[-1][0][1].created_at == full[1].created_at  # typed: a datetime, not text
    assert isinstance(again[-1][0][1].created_at, datetime)
    assert again[-1][0][1].email == "3@example.com" and again[-1][0][1].idempotency_key is None
    assert [tuple(r) for r in again[-1][1]] == [tuple(r) for r in first[1]]
    assert [r.id for r in again[-1][1]] == [4, 3]
    assert again[-1][2][0][0] == 4 and again[-1][3] == []
    assert len(sent) == 3 * len(READS)  # every statement is heard, whichever way it went
    if database_url.startswith("sqlite"):
        # the first use of each through SQLAlchemy, later ones directly (an empty IN list
        # is always SQLAlchemy's to spell)
        assert len(through_sqlalchemy) == len(READS) + 2
    else:
        assert len(through_sqlalchemy) == 3 * len(READS)


async def test_a_statement_built_per_call_stays_with_sqlalchemy(
    database: Database, database_url: str
) -> None:
    await database.transaction(lambda conn: conn.execute(insert(customers), [row(1, "a@b.io")]))
    through_sqlalchemy: list[str] = []
    for engine in database.sync_engines:
        event.listen(engine, "before_cursor_execute", lambda *a: through_sqlalchemy.append(a[2]))
    for _ in range(3):
        found = await database.rows(select(customers.c.email).where(customers.c.id == 1))
        assert [r.email for r in found] == ["a@b.io"]
    assert len(through_sqlalchemy) == 3
