"""What each layer of a service costs, and what the services answer per second.

    .venv/bin/python bench/services.py [--duration 5] [--warmup 1] [--concurrency 1,10]
        [--rounds 3] [--baseline DIR] [--ports 6600]

1. In process, CPU microseconds per call: the SQL alone (the standard `sqlite3` module, SQLAlchemy
   Core sync, SQLAlchemy's asyncio engine on aiosqlite, subgraph_kit's Database), graphql-core's
   parse and validate of the document (what the caches save), and Strawberry executing
   `customer(id)` with its data in memory (through Strawberry's own execute with its extension
   hooks, then through the service schema's prepared path, subgraph_kit.prepared) and then with
   the database.
2. Over HTTP (uvicorn processes on CPU 0, the load generator on CPU 1): a bare Starlette handler
   running the same SQL with each driver (bench/minimal_service.py, the floor), then the real
   services, for `customer(id)`, `order(id)`, `_entities` × 100 distinct customers and orders,
   `_entities` × 100 customers' order pages, and a page of 50 orders. With `--baseline DIR` (a
   checkout of older code, e.g. `git worktree add /tmp/before main`), the services from DIR
   answer the same requests in the same run, on the same databases. All servers run at once and
   take turns, round after round; the table has each one's medians, with the server's own CPU
   time per request (robust to other load on the machine, where wall time is not).

The databases are SQLite files in a temporary folder, seeded with 120 customers and 150 orders.
Every answer is checked. `--ports` gives the first of the ports the servers listen on (default:
any free port).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.loadgen import HEADER, Measured, measure  # noqa: E402
from tests.support.services import ServiceProcess, free_port  # noqa: E402

CUSTOMERS = 120
ORDERS = 150
ENTITY_IDS = range(1, 101)
STAFF = {"x-customer-id": "1", "x-customer-scopes": "staff"}
"""What the router forwards for a staff token: every field may be read (emails, orders)."""


def entities(typename: str, selection: str) -> dict[str, Any]:
    return {
        "query": f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on {typename} {{ {selection} }} }} }}",
        "variables": {"r": [{"__typename": typename, "id": str(i)} for i in ENTITY_IDS]},
    }


CUSTOMER_BY_ID = {
    "query": "query($id: ID!) { customer(id: $id) { id name email createdAt } }",
    "variables": {"id": "7"},
}
ORDER_BY_ID = {
    "query": "query($id: ID!) { order(id: $id) { id status total { amount currency } customer { id } } }",
    "variables": {"id": "7"},
}
ORDER_WITH_ITEMS = {
    "query": "query($id: ID!) { order(id: $id) { id status total { amount currency } customer { id } "
    "items { sku quantity unitPrice { amount } } } }",
    "variables": {"id": "7"},
}
ORDERS_PAGE = {
    "query": "{ orders(first: 50) { edges { node { id status total { amount currency } customer { id } } } "
    "pageInfo { hasNextPage endCursor } } }",
}
ENTITIES_CUSTOMERS = entities("Customer", "id name email")
ENTITIES_ORDERS = entities("Order", "id status total { amount currency }")
ENTITIES_CUSTOMER_ORDERS = entities(
    "Customer", "id orders(first: 5) { edges { node { id status } } }"
)


def all_entities(body: Any) -> bool:
    found = body["data"]["_entities"]
    return "errors" not in body and len(found) == 100 and all(e is not None for e in found)


def the_one(field: str) -> Callable[[Any], bool]:
    return lambda body: "errors" not in body and body["data"][field]["id"] == "7"


def page_of(n: int) -> Callable[[Any], bool]:
    return lambda body: "errors" not in body and len(body["data"]["orders"]["edges"]) == n


CUSTOMER_SCENARIOS = [
    ("customer(id)", CUSTOMER_BY_ID, the_one("customer")),
    ("_entities × 100 Customer", ENTITIES_CUSTOMERS, all_entities),
]
ORDER_SCENARIOS = [
    ("order(id)", ORDER_BY_ID, the_one("order")),
    ("order(id) with items", ORDER_WITH_ITEMS, the_one("order")),
    ("_entities × 100 Order", ENTITIES_ORDERS, all_entities),
    ("_entities × 100 Customer.orders", ENTITIES_CUSTOMER_ORDERS, all_entities),
    ("orders(first: 50)", ORDERS_PAGE, page_of(50)),
]


# --- the databases -------------------------------------------------------------------------------


async def seed_databases(customers_url: str, orders_url: str) -> None:
    """The services' tables (made by their own code) and the bench's rows, on empty databases."""
    from sqlalchemy import insert, text

    from customer_subgraph.db import customers
    from customer_subgraph.migrations import MIGRATIONS as customer_migrations
    from order_subgraph.db import order_items, orders
    from order_subgraph.migrations import MIGRATIONS as order_migrations
    from subgraph_kit.db import create_engine
    from subgraph_kit.migrations import upgrade

    now = datetime.now(UTC)
    rows = {
        customers: [
            {"id": i, "name": f"Customer {i}", "email": f"c{i}@example.com"}
            for i in range(1, CUSTOMERS + 1)
        ],
        orders: [
            {"id": i, "customer_id": str(1 + i % CUSTOMERS), "status": "PAID"}
            | {"currency": "USD", "total_cents": 100 * i}
            for i in range(1, ORDERS + 1)
        ],
        order_items: [
            {"order_id": i, "position": p, "sku": f"SKU-{p}", "quantity": 1 + p}
            | {"unit_price_cents": 50 * i}
            for i in range(1, ORDERS + 1)
            for p in range(2)
        ],
    }
    for url, migrations, tables in (
        (customers_url, customer_migrations, [customers]),
        (orders_url, order_migrations, [orders, order_items]),
    ):
        engine = create_engine(url)
        await upgrade(engine, migrations)
        async with engine.begin() as conn:
            for table in tables:
                stamped = "created_at" in table.c
                values = [
                    r | {"created_at": now, "updated_at": now} if stamped else r
                    for r in rows[table]
                ]
                await conn.execute(insert(table), values)
        if engine.dialect.name == "postgresql":  # the ids were given: move the sequences on
            async with engine.begin() as conn:
                for table in tables:
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
        await engine.dispose()


async def seed(folder: Path) -> tuple[Path, Path]:
    """Two seeded SQLite files in `folder`."""
    customers, orders = folder / "customers.sqlite3", folder / "orders.sqlite3"
    await seed_databases(f"sqlite:///{customers}", f"sqlite:///{orders}")
    return customers, orders


# --- 1. layers, in process -----------------------------------------------------------------------


async def per_call(fn: Callable[[], Awaitable[object]], seconds: float = 1.0) -> float:
    """CPU microseconds per call of fn (every thread of this process), after a warm-up."""
    for _ in range(50):
        await fn()
    calls, started = 0, time.process_time()
    while (elapsed := time.process_time() - started) < seconds:
        for _ in range(20):
            await fn()
        calls += 20
    return elapsed / calls * 1e6


async def layers(customers_db: Path) -> list[tuple[str, float]]:
    import importlib

    import strawberry
    from graphql import parse, validate
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import select

    from customer_subgraph.db import customers
    from customer_subgraph.repository import CustomerRecord
    from subgraph_kit.caller import Caller
    from subgraph_kit.database import Database
    from subgraph_kit.db import create_engine

    customer_schema = importlib.import_module("customer_subgraph.schema")
    schema = customer_schema.schema
    statement = select(customers).where(customers.c.id.in_([7]))
    raw = sqlite3.connect(customers_db)
    sync_engine = create_sync_engine(f"sqlite:///{customers_db}")
    engine = create_engine(f"sqlite:///{customers_db}")
    database = Database(engine)
    document = str(CUSTOMER_BY_ID["query"])
    variables = CUSTOMER_BY_ID["variables"]
    staff = Caller.from_headers(STAFF)
    record = CustomerRecord(7, "Customer 7", "c7@example.com", datetime.now(UTC), datetime.now(UTC))

    async def sqlite3_module() -> object:
        return raw.execute("SELECT * FROM customers WHERE id IN (?)", (7,)).fetchall()

    async def core_sync() -> object:
        with sync_engine.connect() as conn:
            return conn.execute(statement).all()

    async def core_asyncio() -> object:
        async with engine.connect() as conn:
            return (await conn.execute(statement)).all()

    async def subgraph_kit_database() -> object:
        return await database.rows(statement)

    async def parse_and_validate() -> object:
        return validate(schema._schema, parse(document))

    def in_memory_context() -> Any:
        return _in_memory_context(customer_schema, database, staff, record)

    async def strawberry_in_memory() -> object:
        result = await schema.execute(document, variables, context_value=in_memory_context())
        assert result.errors is None, result.errors
        return result

    async def strawberrys_own_path() -> object:
        result = await strawberry.federation.Schema.execute(
            schema, document, variables, context_value=in_memory_context()
        )
        assert result.errors is None, result.errors
        return result

    async def strawberry_with_database() -> object:
        context = customer_schema.make_context(database, staff)
        result = await schema.execute(document, variables, context_value=context)
        assert result.errors is None, result.errors
        return result

    measured = [
        ("SQL: sqlite3 module", sqlite3_module),
        ("SQL: SQLAlchemy Core, sync engine", core_sync),
        ("SQL: SQLAlchemy Core, asyncio engine (aiosqlite)", core_asyncio),
        ("SQL: subgraph_kit Database.rows", subgraph_kit_database),
        ("graphql-core parse + validate (uncached)", parse_and_validate),
        ("Strawberry's own path (extensions), data in memory", strawberrys_own_path),
        ("Strawberry customer(id), data in memory", strawberry_in_memory),
        ("Strawberry customer(id), Database", strawberry_with_database),
    ]
    rows = [(label, await per_call(call)) for label, call in measured]
    await database.dispose()
    sync_engine.dispose()
    raw.close()
    return rows


def _in_memory_context(customer_schema: Any, database: Any, caller: Any, record: Any) -> Any:
    """A customers context whose loader answers `record` for every id (no database read)."""
    from strawberry.dataloader import DataLoader

    async def load(ids: list[int]) -> list[Any]:
        return [customer_schema.Customer.from_record(record) for _ in ids]

    return customer_schema.Context(database, DataLoader(load_fn=load), caller)


# --- 2. over HTTP --------------------------------------------------------------------------------


class Ports:
    """The next port to listen on: from --ports upwards, or any free one."""

    def __init__(self, first: int) -> None:
        self._next = first

    def take(self) -> int:
        if not self._next:
            return free_port()
        self._next += 1
        return self._next - 1

    def place(self, process: ServiceProcess) -> ServiceProcess:
        process.port = self.take()
        process.url = f"http://127.0.0.1:{process.port}"
        return process


@contextlib.contextmanager
def running(
    module: str, args: list[str], ports: Ports, tree: Path | None = None
) -> Iterator[ServiceProcess]:
    """`python -m module` pinned to CPU 0 (where there are two), run in `tree` if given."""
    prefix = ["env", "-C", str(tree)] if tree else []
    if (os.cpu_count() or 1) > 1 and shutil.which("taskset") is not None:
        prefix = ["taskset", "-c", "0", *prefix]
    process = ServiceProcess(module, [*args, "--log-level", "warning"], prefix=prefix)
    ports.place(process).start()
    try:
        yield process
    finally:
        process.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One scenario over several rounds: the medians of requests/s, p50, p99 and server CPU."""

    name: str
    rounds: list[tuple[Measured, float]]  # each round's load, and server CPU ms per request

    def line(self) -> str:
        def median(values: list[float]) -> float:
            return statistics.median(values)

        loads = [m for m, _ in self.rounds]
        rps = median([m.rps for m in loads])
        p50 = median([statistics.median(m.latencies) * 1000 for m in loads])
        p99 = median([m.percentile(99) for m in loads])
        cpu = median([c for _, c in self.rounds])
        requests = sum(m.requests for m in loads)
        errors = sum(m.errors for m in loads)
        return f"| {self.name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {requests} | {errors} | {cpu:.2f} |"


async def one_round(
    name: str,
    server: ServiceProcess,
    body: dict[str, Any],
    check: Callable[[Any], bool],
    concurrency: int,
    options: dict[str, Any],
) -> tuple[Measured, float]:
    """Warm-up, then the measured window, whose server CPU time (from /proc, so other load on
    the machine does not count) is divided by its requests."""
    assert server.process is not None
    pid, url = server.process.pid, f"{server.url}/graphql"
    warmup, seconds = options["warmup"], options["seconds"]
    await measure(
        name, url, body, check, concurrency=concurrency, seconds=0, warmup=warmup, headers=STAFF
    )
    before = cpu_seconds(pid)
    measured = await measure(
        name, url, body, check, concurrency=concurrency, seconds=seconds, warmup=0, headers=STAFF
    )
    return measured, (cpu_seconds(pid) - before) / (measured.requests + 1) * 1000


async def interleaved(
    servers: dict[str, ServiceProcess],
    scenarios: list[tuple[str, dict[str, Any], Callable[[Any], bool]]],
    options: dict[str, Any],
    concurrencies: list[int],
    rounds: int,
) -> list[Row]:
    """Each scenario at each concurrency on every server, round after round, the servers taking
    turns within a round (so a change in the machine's other load reaches all of them alike)."""
    rows = []
    for scenario, body, check in scenarios:
        for concurrency in concurrencies:
            found: dict[str, list[tuple[Measured, float]]] = {label: [] for label in servers}
            for _ in range(rounds):
                for label, server in servers.items():
                    name = f"{label}: {scenario}, c={concurrency}"
                    found[label].append(
                        await one_round(name, server, body, check, concurrency, options)
                    )
            rows += [
                Row(f"{label}: {scenario}, c={concurrency}", found[label]) for label in servers
            ]
    return rows


async def over_http(
    customers_db: Path,
    orders_db: Path,
    ports: Ports,
    options: dict[str, Any],
    concurrencies: list[int],
    baseline: Path | None,
    rounds: int,
) -> list[Row]:
    trees: list[tuple[str, Path | None]] = [("before", baseline)] if baseline else []
    trees.append(("now", None))
    with contextlib.ExitStack() as stack:
        floors = {
            f"Starlette + {driver}": stack.enter_context(
                running(
                    "bench.minimal_service",
                    ["--database", str(customers_db), "--driver", driver],
                    ports,
                )
            )
            for driver in ("sqlite3", "aiosqlite", "database")
        }
        customer_args = ["--database-url", f"sqlite:///{customers_db}", "--no-seed"]
        customer_services = {
            f"customers {label}": stack.enter_context(
                running("customer_subgraph", customer_args, ports, tree)
            )
            for label, tree in trees
        }
        order_args = ["--database-url", f"sqlite:///{orders_db}", "--no-seed"]
        order_services = {
            f"orders {label}": stack.enter_context(
                running("order_subgraph", order_args, ports, tree)
            )
            for label, tree in trees
        }
        return [
            *await interleaved(
                floors | customer_services, CUSTOMER_SCENARIOS, options, concurrencies, rounds
            ),
            *await interleaved(order_services, ORDER_SCENARIOS, options, concurrencies, rounds),
        ]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up each")
    parser.add_argument("--concurrency", default="1,10", help="requests in flight, e.g. 1,10")
    parser.add_argument("--baseline", type=Path, help="a tree of older code to measure too")
    parser.add_argument("--ports", type=int, default=0, help="first port to listen on")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario (medians)")
    parser.add_argument("--skip-layers", action="store_true", help="only the HTTP table")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-services-"))
    try:
        customers_db, orders_db = await seed(folder)
        if not args.skip_layers:
            print("\nIn process, one call at a time (CPU µs per call):\n")
            print("| layer | µs |\n|---|---:|")
            for name, micros in await layers(customers_db):
                print(f"| {name} | {micros:,.1f} |")
        with contextlib.suppress(AttributeError, OSError):
            if len(os.sched_getaffinity(0)) > 1:
                os.sched_setaffinity(0, {1})
        options = {"seconds": args.duration, "warmup": args.warmup}
        results = await over_http(
            customers_db,
            orders_db,
            Ports(args.ports),
            options,
            concurrencies,
            args.baseline,
            args.rounds,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\nOver HTTP, medians of {args.rounds} interleaved rounds of {args.duration:g} s after "
        f"{args.warmup:g} s warm-up; servers on CPU 0, load generator on CPU 1; SQLite\n"
    )
    print(HEADER.replace("errors |\n", "errors | server CPU ms/req |\n") + "---:|")
    for result in results:
        print(result.line())


if __name__ == "__main__":
    asyncio.run(main())
