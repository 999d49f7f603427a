"""Benchmark the two services directly: requests/s, p50 and p99 for `_entities` with 100
representations and for `order(id)` / `customer(id)`.

    .venv/bin/python bench/subgraphs.py [--duration 10] [--warmup 2] [--concurrency 10]

Each service runs as a real uvicorn process (python -m ...) on a seeded SQLite file in a temporary
folder (or on --customers-db / --orders-db URLs). On Linux the service is pinned to CPU 0 and this
load generator to CPU 1, so they do not compete for a core. Every scenario's answer is checked
before it is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.services import ServiceProcess  # noqa: E402

ENTITIES_CUSTOMERS = {
    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id name email } } }",
    "variables": {"r": [{"__typename": "Customer", "id": str(1 + i % 3)} for i in range(100)]},
}
ENTITIES_ORDERS = {
    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status total { amount currency } } } }",
    "variables": {"r": [{"__typename": "Order", "id": str(1 + i % 5)} for i in range(100)]},
}
ENTITIES_CUSTOMER_ORDERS = {
    "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id orders(first: 5) { edges { node { id status } } } } } }",
    "variables": {"r": [{"__typename": "Customer", "id": str(1 + i % 3)} for i in range(100)]},
}
ORDER_BY_ID = {
    "query": "query($id: ID!) { order(id: $id) { id status total { amount currency } customer { id } items { sku quantity unitPrice { amount } } } }",
    "variables": {"id": "1"},
}
CUSTOMER_BY_ID = {
    "query": "query($id: ID!) { customer(id: $id) { id name email createdAt } }",
    "variables": {"id": "1"},
}


def check_entities(count: int) -> Callable[[Any], bool]:
    return lambda body: (
        "errors" not in body
        and len(body["data"]["_entities"]) == count
        and all(e is not None for e in body["data"]["_entities"])
    )


def check_field(field: str) -> Callable[[Any], bool]:
    return lambda body: "errors" not in body and body["data"][field]["id"] == "1"


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    def row(self) -> str:
        rps = self.requests / self.seconds
        p50 = statistics.median(self.latencies) * 1000 if self.latencies else float("nan")
        p99 = (
            statistics.quantiles(self.latencies, n=100)[98] * 1000
            if len(self.latencies) >= 100
            else float("nan")
        )
        return f"| {self.name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {self.requests} | {self.errors} |"


async def load(
    url: str,
    body: dict[str, Any],
    check: Callable[[Any], bool],
    *,
    concurrency: int,
    seconds: float,
) -> tuple[int, int, list[float]]:
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=payload, headers=headers) as response:
                        answer = await response.json(content_type=None)
                        ok = response.status == 200 and check(answer)
                except (aiohttp.ClientError, ValueError, KeyError, TypeError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), errors, latencies


async def scenario(
    name: str,
    url: str,
    body: dict[str, Any],
    check: Callable[[Any], bool],
    args: argparse.Namespace,
) -> Result:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        answer = await response.json(content_type=None)
    if not check(answer):
        raise SystemExit(f"{name}: wrong answer before load: {json.dumps(answer)[:500]}")
    await load(url, body, check, concurrency=args.concurrency, seconds=args.warmup)
    started = time.perf_counter()
    requests, errors, latencies = await load(
        url, body, check, concurrency=args.concurrency, seconds=args.duration
    )
    return Result(name, requests, errors, time.perf_counter() - started, latencies)


def pin(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def service(module: str, args: list[str]) -> Iterator[ServiceProcess]:
    """The service as a real process, pinned to CPU 0 where taskset and a second CPU exist."""
    pinned = (os.cpu_count() or 1) > 1 and shutil.which("taskset") is not None
    process = ServiceProcess(
        module, [*args, "--log-level", "warning"], prefix=["taskset", "-c", "0"] if pinned else []
    ).start()
    try:
        yield process
    finally:
        process.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured per scenario"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per scenario")
    parser.add_argument("--concurrency", type=int, default=10, help="requests in flight")
    parser.add_argument("--customers-db", help="database URL for the customers service")
    parser.add_argument("--orders-db", help="database URL for the orders service")
    args = parser.parse_args()

    pin(1)
    folder = Path(tempfile.mkdtemp(prefix="bench-subgraphs-"))
    customers_db = args.customers_db or f"sqlite:///{folder}/customers.sqlite3"
    orders_db = args.orders_db or f"sqlite:///{folder}/orders.sqlite3"
    results: list[Result] = []
    with service("customer_subgraph", ["--database-url", customers_db]) as customers:
        url = f"{customers.url}/graphql"
        results.append(
            await scenario(
                "customers: _entities × 100 Customer",
                url,
                ENTITIES_CUSTOMERS,
                check_entities(100),
                args,
            )
        )
        results.append(
            await scenario(
                "customers: customer(id)", url, CUSTOMER_BY_ID, check_field("customer"), args
            )
        )
    with service("order_subgraph", ["--database-url", orders_db]) as orders:
        url = f"{orders.url}/graphql"
        results.append(
            await scenario(
                "orders: _entities × 100 Order", url, ENTITIES_ORDERS, check_entities(100), args
            )
        )
        results.append(
            await scenario(
                "orders: _entities × 100 Customer.orders",
                url,
                ENTITIES_CUSTOMER_ORDERS,
                check_entities(100),
                args,
            )
        )
        results.append(
            await scenario(
                "orders: order(id) with items", url, ORDER_BY_ID, check_field("order"), args
            )
        )

    print(
        f"\n{args.concurrency} concurrent requests, {args.duration:g} s per scenario after {args.warmup:g} s warm-up;"
        f" service on CPU 0, load generator on CPU 1; SQLite unless a URL was given\n"
    )
    print("| scenario | requests/s | p50 ms | p99 ms | requests | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    asyncio.run(main())
