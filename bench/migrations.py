"""What the migrations cost a service's start-up (subgraph_kit/migrations.py), on SQLite.

    .venv/bin/python -m bench.migrations [--rounds 9] [--postgres postgresql://…/db]

Three timings of `upgrade` (the lock, the version read, Alembic's scripts loaded, the run):

    empty       an empty database migrated to the head (fresh file each round)
    adopt       a database the release before made (create_all, no version table) stamped
    at head     a database already at the head: what every later start pays

With --postgres, `at head` is also timed on that database (migrated first; left migrated).
Prints milliseconds (the fastest round and the median). No asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from customer_subgraph.migrations import MIGRATIONS
from subgraph_kit.db import create_engine
from subgraph_kit.migrations import upgrade


async def timed(prepare: Callable[[str], Awaitable[None]], url: str) -> float:
    await prepare(url)
    engine = create_engine(url)
    try:
        start = time.perf_counter()
        await upgrade(engine, MIGRATIONS)
        return (time.perf_counter() - start) * 1000
    finally:
        await engine.dispose()


async def nothing(url: str) -> None:
    pass


async def previous_release(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(MIGRATIONS.metadata.create_all)
    finally:
        await engine.dispose()


async def migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine, MIGRATIONS)
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--postgres", help="a PostgreSQL database to time `at head` on")
    args = parser.parse_args()
    rows: dict[str, list[float]] = {"empty": [], "adopt": [], "at head": []}
    with tempfile.TemporaryDirectory() as folder:
        at_head = f"sqlite:///{folder}/head.sqlite3"
        await migrated(at_head)
        for n in range(args.rounds):
            rows["empty"].append(await timed(nothing, f"sqlite:///{folder}/e{n}.sqlite3"))
            rows["adopt"].append(await timed(previous_release, f"sqlite:///{folder}/a{n}.sqlite3"))
            rows["at head"].append(await timed(nothing, at_head))
    if args.postgres:
        await migrated(args.postgres)
        rows["at head, PostgreSQL"] = [
            await timed(nothing, args.postgres) for _ in range(args.rounds)
        ]
    print(f"customers database, {args.rounds} rounds, ms (fastest / median)")
    for name, times in rows.items():
        print(f"  {name:20} {min(times):8.1f} {statistics.median(times):8.1f}")


if __name__ == "__main__":
    asyncio.run(main())
