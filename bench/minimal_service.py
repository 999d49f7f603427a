"""The floor bench/services.py measures a service against: a bare Starlette handler that answers
`customer(id)` or `_entities` over customers with the same SQL the customers service sends, and
nothing else (no GraphQL: the operation is recognised by a substring, the answer built by hand).

    python -m bench.minimal_service --port 6601 --database FILE --driver sqlite3|aiosqlite|database

`sqlite3` reads with the standard module on the event loop; `aiosqlite` with SQLAlchemy's asyncio
engine (the services' reads before subgraph_kit.database); `database` with subgraph_kit's Database.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from customer_subgraph.db import customers
from subgraph_kit.database import Database
from subgraph_kit.db import as_utc, create_engine

Reader = Callable[[list[int]], Awaitable[Sequence[Any]]]


def reader(driver: str, database: str) -> Reader:
    """Rows (id, name, email, created_at) for the ids, the way `driver` reads them."""
    if driver == "sqlite3":
        conn = sqlite3.connect(database)
        columns = "id, name, email, created_at"

        async def read_sqlite3(ids: list[int]) -> Sequence[Any]:
            marks = ", ".join("?" * len(ids))
            sql = f"SELECT {columns} FROM customers WHERE id IN ({marks})"
            return conn.execute(sql, ids).fetchall()

        return read_sqlite3
    engine = create_engine(f"sqlite:///{database}")
    store = Database(engine)

    async def read_async(ids: list[int]) -> Sequence[Any]:
        statement = select(customers).where(customers.c.id.in_(ids))
        async with engine.connect() as conn:
            return [
                (r.id, r.name, r.email, as_utc(r.created_at)) for r in await conn.execute(statement)
            ]

    async def read_database(ids: list[int]) -> Sequence[Any]:
        statement = select(customers).where(customers.c.id.in_(ids))
        return [(r.id, r.name, r.email, as_utc(r.created_at)) for r in await store.rows(statement)]

    return read_async if driver == "aiosqlite" else read_database


def app(read: Reader) -> Starlette:
    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        if "_entities" in body["query"]:
            keys = [int(r["id"]) for r in body["variables"]["r"]]
            rows = {row[0]: row for row in await read(sorted(set(keys)))}
            entities = [_customer(rows[k]) if k in rows else None for k in keys]
            data: dict[str, Any] = {"_entities": entities}
        else:
            found = await read([int(body["variables"]["id"])])
            data = {"customer": _customer(found[0]) if found else None}
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/health", health)]
    )


def _customer(row: Any) -> dict[str, Any]:
    created = row[3] if not isinstance(row[3], str) else row[3].replace(" ", "T")
    return {"id": str(row[0]), "name": row[1], "email": row[2], "createdAt": str(created)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True, help="the customers service's SQLite file")
    parser.add_argument("--driver", choices=["sqlite3", "aiosqlite", "database"], required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    uvicorn.run(
        app(reader(args.driver, args.database)),
        host="127.0.0.1",
        port=args.port,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
