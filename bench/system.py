"""The whole system as a user meets it: the two services on a real database with the router in
front, beside the seed's two Flask services (the REST system this platform replaces).

    .venv/bin/python bench/system.py [--seed ../shared/seeds] [--duration 5] [--warmup 1]
        [--concurrency 1,10] [--ports 6650] [--router-workers 1] [--service-workers 1]
        [--no-postgres]

For each store (SQLite; PostgreSQL too when its server binaries are installed: a private cluster
is started as the tests do), the services are seeded with 120 customers and 150 orders and
asked, through `python -m router serve --config router.yaml` (the production configuration):

- an order with its customer, a page of 50 orders (each with its customer's name), a customer
  with 10 of their orders, and `createOrder`: requests/s, p50 and p99 at each concurrency;
- the same answers fetched from the services directly, the plan's fetches one after another
  (what the router must at least wait for): the services' share of each millisecond, and the
  router's (the rest).

`--router-workers N` serves the router with `serve --workers N`, `--service-workers N` each
service with `--workers N` (the orders service keeps 1 on SQLite, where its subscriptions need
one process).

The seed (the first file under --seed holding `order_service.py` and `customer_service.py`,
run from a temporary folder with Flask's own server, as its `app.run` does) is asked for an
order and then its customer, as its clients had to. Every answer is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.loadgen import HEADER, Measured  # noqa: E402
from bench.seed_system import Step, seed_rest, seed_services  # noqa: E402
from bench.services import Ports, cpu_seconds, seed_databases  # noqa: E402
from tests.support.auth import STAFF_HEADERS, dev_keys, staff_bearer  # noqa: E402
from tests.support.postgres import PostgresCluster, find_bindir  # noqa: E402
from tests.support.services import ServiceProcess  # noqa: E402

ORDER_WITH_CUSTOMER = (
    "query($id: ID!) { order(id: $id) { id status total { amount currency } "
    "customer { name email } } }"
)
ORDERS_PAGE = (
    "{ orders(first: 50) { edges { node { id status total { amount currency } "
    "customer { name } } } } }"
)
CUSTOMER_WITH_ORDERS = (
    "query($id: ID!) { customer(id: $id) { name email "
    "orders(first: 10) { edges { node { id status total { amount } } } } } }"
)
CREATE_ORDER = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) { id status "
    "total { amount } } }"
)
NEW_ORDER = {"customerId": "7", "items": [{"sku": "PEN", "quantity": 2, "unitPrice": "1.25"}]}

# the plan's fetches, as the router sends them
ORDER_FETCH = (
    "query($id: ID!) { order(id: $id) { id status total { amount currency } "
    "customer { __typename id } } }"
)
PAGE_FETCH = (
    "{ orders(first: 50) { edges { node { id status total { amount currency } "
    "customer { __typename id } } } } }"
)
CUSTOMER_FETCH = "query($id: ID!) { customer(id: $id) { __typename id name email } }"
ENTITIES_CUSTOMER = (
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { name email } } }"
)
ENTITIES_CUSTOMER_NAME = (
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { name } } }"
)
ENTITIES_ORDERS_OF = (
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { "
    "orders(first: 10) { edges { node { id status total { amount } } } } } } }"
)


ROUTER_AUTH = staff_bearer()
"""Every request to the router signs in as staff (a development key's token; the committed
router.yaml verifies it against that key's JWKS file)."""


async def graphql(
    session: aiohttp.ClientSession,
    url: str,
    query: str,
    sign_in: dict[str, str] = STAFF_HEADERS,
    **variables: Any,
) -> Any:
    """POST `query`; the answer, or None when it has errors. `sign_in`: the headers saying who
    asks (to a service: what the router forwards for a staff token)."""
    body = orjson.dumps({"query": query, "variables": variables})
    headers = {"content-type": "application/json", **sign_in}
    async with session.post(url, data=body, headers=headers) as response:
        answer = orjson.loads(await response.read())
        return answer if response.status == 200 and "errors" not in answer else None


def through_router(router: str) -> dict[str, Step]:
    async def order(session: aiohttp.ClientSession) -> bool:
        answer = await graphql(session, router, ORDER_WITH_CUSTOMER, id="7", sign_in=ROUTER_AUTH)
        return answer is not None and answer["data"]["order"]["customer"]["name"] == "Customer 8"

    async def page(session: aiohttp.ClientSession) -> bool:
        answer = await graphql(session, router, ORDERS_PAGE, sign_in=ROUTER_AUTH)
        edges = answer["data"]["orders"]["edges"] if answer else []
        return len(edges) == 50 and all(e["node"]["customer"]["name"] for e in edges)

    async def customer(session: aiohttp.ClientSession) -> bool:
        answer = await graphql(session, router, CUSTOMER_WITH_ORDERS, id="7", sign_in=ROUTER_AUTH)
        return answer is not None and len(answer["data"]["customer"]["orders"]["edges"]) >= 1

    return {
        "order with its customer": order,
        "page of 50 orders": page,
        "customer with their orders": customer,
        "createOrder": create_order(router, ROUTER_AUTH),
    }


def create_order(url: str, sign_in: dict[str, str] = STAFF_HEADERS) -> Step:
    """`createOrder` at `url` (the orders service asks the customers service itself, so going
    to the orders service directly is the whole plan: one fetch)."""

    async def create(session: aiohttp.ClientSession) -> bool:
        answer = await graphql(session, url, CREATE_ORDER, sign_in, input=NEW_ORDER)
        return answer is not None and answer["data"]["createOrder"]["total"]["amount"] == "2.50"

    return create


def plan_fetches(customers: str, orders: str) -> dict[str, Step]:
    """The same answers from the services directly, each plan's fetches in order."""

    async def order(session: aiohttp.ClientSession) -> bool:
        first = await graphql(session, orders, ORDER_FETCH, id="7")
        if first is None:
            return False
        ref = first["data"]["order"]["customer"]
        second = await graphql(session, customers, ENTITIES_CUSTOMER, r=[ref])
        return second is not None and second["data"]["_entities"][0]["name"] == "Customer 8"

    async def page(session: aiohttp.ClientSession) -> bool:
        first = await graphql(session, orders, PAGE_FETCH)
        if first is None:
            return False
        refs = {e["node"]["customer"]["id"] for e in first["data"]["orders"]["edges"]}
        r = [{"__typename": "Customer", "id": i} for i in sorted(refs)]
        second = await graphql(session, customers, ENTITIES_CUSTOMER_NAME, r=r)
        return second is not None and len(second["data"]["_entities"]) == len(refs)

    async def customer(session: aiohttp.ClientSession) -> bool:
        first = await graphql(session, customers, CUSTOMER_FETCH, id="7")
        if first is None:
            return False
        r = [{"__typename": "Customer", "id": first["data"]["customer"]["id"]}]
        second = await graphql(session, orders, ENTITIES_ORDERS_OF, r=r)
        return second is not None and len(second["data"]["_entities"][0]["orders"]["edges"]) >= 1

    return {
        "order with its customer": order,
        "page of 50 orders": page,
        "customer with their orders": customer,
        "createOrder": create_order(orders),
    }


# --- the load ----------------------------------------------------------------------------------


async def run_load(
    name: str, step: Step, *, concurrency: int, seconds: float, warmup: float
) -> Measured:
    """`concurrency` users doing `step` over and over for a while, after a warm-up."""
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        if not await step(session):
            raise SystemExit(f"{name}: wrong answer before load")

        async def users(until: float, latencies: list[float]) -> int:
            errors = 0

            async def user() -> None:
                nonlocal errors
                while time.perf_counter() < until:
                    started = time.perf_counter()
                    try:
                        ok = await step(session)
                    except (aiohttp.ClientError, ValueError, KeyError, TypeError):
                        ok = False
                    latencies.append(time.perf_counter() - started)
                    errors += not ok

            await asyncio.gather(*(user() for _ in range(concurrency)))
            return errors

        await users(time.perf_counter() + warmup, [])
        latencies: list[float] = []
        started = time.perf_counter()
        errors = await users(started + seconds, latencies)
        return Measured(name, len(latencies), errors, time.perf_counter() - started, latencies)


# --- the processes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workers:
    """Processes per part: `--router-workers`, and `--service-workers` for each service (the
    orders service, having subscriptions, takes more than one on PostgreSQL only)."""

    router: int
    services: int

    def orders(self, database_url: str) -> int:
        return self.services if database_url.startswith("postgresql") else 1

    def describe(self) -> str:
        services = f"services with {self.services} worker(s)"
        if self.services > 1:
            services += " (the orders service with 1 on SQLite)"
        return f"router with {self.router} worker(s), {services}"


def started(process: ServiceProcess, ports: Ports) -> ServiceProcess:
    return ports.place(process).start()


@contextlib.contextmanager
def services_and_router(
    customers_db: str, orders_db: str, ports: Ports, folder: Path, workers: Workers
) -> Iterator[tuple[str, str, str, dict[str, int]]]:
    """The two services and the router, started; their /graphql URLs and process ids."""
    quiet = ["--log-level", "warning", "--no-seed"]
    customers = started(
        ServiceProcess(
            "customer_subgraph",
            ["--database-url", customers_db, "--workers", str(workers.services), *quiet],
        ),
        ports,
    )
    processes = [customers]
    try:
        orders = started(
            ServiceProcess(
                "order_subgraph",
                [
                    *("--database-url", orders_db),
                    *("--customers-url", f"{customers.url}/graphql"),
                    *("--workers", str(workers.orders(orders_db))),
                    *quiet,
                ],
            ),
            ports,
        )
        processes.append(orders)
        sdl = (ROOT / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", f"{customers.url}/graphql")
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{orders.url}/graphql")
        (folder / "supergraph.graphql").write_text(sdl)
        shutil.copy(ROOT / "router.yaml", folder / "router.yaml")
        router = started(
            ServiceProcess(
                "router",
                [
                    *("--config", str(folder / "router.yaml")),
                    *("--supergraph", str(folder / "supergraph.graphql")),
                    *("--workers", str(workers.router)),
                    *("--log-level", "warning"),
                ],
                subcommand=["serve"],
                env={"ROUTER_JWKS_URL": dev_keys().jwks_file.resolve().as_uri()},
            ),
            ports,
        )
        processes.append(router)
        pids = {name: p.process.pid for name, p in zip(PARTS, processes, strict=True) if p.process}
        yield f"{customers.url}/graphql", f"{orders.url}/graphql", f"{router.url}/graphql", pids
    finally:
        for process in reversed(processes):
            process.stop()


@contextlib.asynccontextmanager
async def stores(use_postgres: bool, folder: Path, ports: Ports) -> AsyncIterator[list[Any]]:
    """(name, customers URL, orders URL) for SQLite, and PostgreSQL when it can be started."""
    found: list[Any] = [
        ("SQLite", f"sqlite:///{folder}/customers.sqlite3", f"sqlite:///{folder}/orders.sqlite3")
    ]
    cluster = None
    bindir = find_bindir() if use_postgres else None
    if bindir is not None:
        cluster = PostgresCluster.start(bindir, ports.take())
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(cluster.url)
        for name in ("customers", "orders"):
            await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        base = cluster.url.rsplit("/", 1)[0]
        found.append(("PostgreSQL", f"{base}/customers", f"{base}/orders"))
    try:
        for _, customers_db, orders_db in found:
            await seed_databases(customers_db, orders_db)
        yield found
    finally:
        if cluster is not None:
            cluster.stop()


PARTS = ("customers", "orders", "router")


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its descendants (a router's workers)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                total += tree_cpu(int(child))
    return total


# --- the table ---------------------------------------------------------------------------------


@dataclass
class Share:
    """Where the milliseconds of one query at concurrency 1 go."""

    store: str
    query: str
    router_p50: float
    services_p50: float
    cpu_ms: dict[str, float]  # per process, per request, through the router

    def line(self) -> str:
        rest = self.router_p50 - self.services_p50
        cpu = " | ".join(f"{self.cpu_ms[part]:.2f}" for part in PARTS)
        return (
            f"| {self.store} | {self.query} | {self.router_p50:.2f} | {self.services_p50:.2f} | "
            f"{rest:.2f} | {cpu} |"
        )


def p50(measured: Measured) -> float:
    return statistics.median(measured.latencies) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=Path, default=ROOT.parent / "shared" / "seeds")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up each")
    parser.add_argument("--concurrency", default="1,10", help="users in flight, e.g. 1,10")
    parser.add_argument("--ports", type=int, default=0, help="first port to listen on")
    parser.add_argument("--router-workers", type=int, default=1)
    parser.add_argument("--service-workers", type=int, default=1, help="each service's --workers")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    timing = {"seconds": args.duration, "warmup": args.warmup}
    ports = Ports(args.ports)
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {1})
    workers = Workers(args.router_workers, args.service_workers)
    results: list[Measured] = []
    shares: list[Share] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-system-"))
    try:
        with seed_services(args.seed, ports) as (seed_orders, seed_customers):
            step = seed_rest(seed_orders, seed_customers)
            for c in concurrencies:
                name = f"seed (Flask, in memory): order, then its customer, c={c}"
                results.append(await run_load(name, step, concurrency=c, **timing))
        async with stores(not args.no_postgres, folder, ports) as found:
            for store, customers_db, orders_db in found:
                with services_and_router(customers_db, orders_db, ports, folder, workers) as (
                    customers,
                    orders,
                    router,
                    pids,
                ):
                    routed = through_router(router)
                    direct = plan_fetches(customers, orders)
                    for query, step in routed.items():
                        one_user: tuple[Measured, dict[str, float]] | None = None
                        for c in concurrencies:
                            before = {part: tree_cpu(pid) for part, pid in pids.items()}
                            name = f"{store}, router: {query}, c={c}"
                            results.append(await run_load(name, step, concurrency=c, **timing))
                            spent = {p: tree_cpu(pid) - before[p] for p, pid in pids.items()}
                            if c == 1:
                                n = results[-1].requests
                                one_user = results[-1], {p: t / n * 1000 for p, t in spent.items()}
                        name = f"{store}, services directly: {query}, c=1"
                        alone = await run_load(name, direct[query], concurrency=1, **timing)
                        results.append(alone)
                        if one_user is not None:
                            via_router, cpu = one_user
                            shares.append(Share(store, query, p50(via_router), p50(alone), cpu))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n{args.duration:g} s per scenario after {args.warmup:g} s warm-up; load generator on "
        f"CPU 1; {workers.describe()}; every answer checked\n"
    )
    print(HEADER)
    for result in results:
        print(result.row())
    print("\nWhere the milliseconds go, one user at a time (p50, ms):\n")
    print(
        "| store | query | through the router | the plan's fetches, services directly | router |"
        " CPU ms/req: customers | orders | router |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for share in shares:
        print(share.line())


if __name__ == "__main__":
    asyncio.run(main())
