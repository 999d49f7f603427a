"""Benchmark the two services directly: requests/s, p50 and p99 for `_entities` with 100
representations and for `order(id)` / `customer(id)`.

    .venv/bin/python bench/subgraphs.py [--duration 10] [--warmup 2] [--concurrency 10]

Each service runs as a real uvicorn process (python -m ...) on a seeded SQLite file in a temporary
folder (or on --customers-db / --orders-db URLs). On Linux the service is pinned to CPU 0 and the
load generator to CPU 1, so they do not compete for a core. Every answer is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.loadgen import HEADER, Measured, measure  # noqa: E402
from tests.support.auth import STAFF_HEADERS  # noqa: E402
from tests.support.services import ServiceProcess  # noqa: E402


def entities(typename: str, selection: str, ids: int) -> dict[str, Any]:
    return {
        "query": f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on {typename} {{ {selection} }} }} }}",
        "variables": {"r": [{"__typename": typename, "id": str(1 + i % ids)} for i in range(100)]},
    }


ENTITIES_CUSTOMERS = entities("Customer", "id name email", 3)
ENTITIES_ORDERS = entities("Order", "id status total { amount currency }", 5)
ENTITIES_CUSTOMER_ORDERS = entities(
    "Customer", "id orders(first: 5) { edges { node { id status } } }", 3
)
ORDER_BY_ID = {
    "query": "query($id: ID!) { order(id: $id) { id status total { amount currency } customer { id } "
    "items { sku quantity unitPrice { amount } } } }",
    "variables": {"id": "1"},
}
CUSTOMER_BY_ID = {
    "query": "query($id: ID!) { customer(id: $id) { id name email createdAt } }",
    "variables": {"id": "1"},
}


def all_entities(body: Any) -> bool:
    found = body["data"]["_entities"]
    return "errors" not in body and len(found) == 100 and all(e is not None for e in found)


def first_one(field: str) -> Callable[[Any], bool]:
    return lambda body: "errors" not in body and body["data"][field]["id"] == "1"


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
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {1})

    folder = Path(tempfile.mkdtemp(prefix="bench-subgraphs-"))
    customers_db = args.customers_db or f"sqlite:///{folder}/customers.sqlite3"
    orders_db = args.orders_db or f"sqlite:///{folder}/orders.sqlite3"
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "seconds": args.duration,
        "warmup": args.warmup,
        "headers": STAFF_HEADERS,  # what the router forwards for a staff token
    }
    results: list[Measured] = []
    with service("customer_subgraph", ["--database-url", customers_db]) as customers:
        url = f"{customers.url}/graphql"
        results.append(
            await measure(
                "customers: _entities × 100 Customer",
                url,
                ENTITIES_CUSTOMERS,
                all_entities,
                **options,
            )
        )
        results.append(
            await measure(
                "customers: customer(id)", url, CUSTOMER_BY_ID, first_one("customer"), **options
            )
        )
    with service("order_subgraph", ["--database-url", orders_db]) as orders:
        url = f"{orders.url}/graphql"
        results.append(
            await measure(
                "orders: _entities × 100 Order", url, ENTITIES_ORDERS, all_entities, **options
            )
        )
        results.append(
            await measure(
                "orders: _entities × 100 Customer.orders",
                url,
                ENTITIES_CUSTOMER_ORDERS,
                all_entities,
                **options,
            )
        )
        results.append(
            await measure(
                "orders: order(id) with items", url, ORDER_BY_ID, first_one("order"), **options
            )
        )

    print(
        f"\n{args.concurrency} concurrent requests, {args.duration:g} s per scenario after {args.warmup:g} s warm-up;"
        " service on CPU 0, load generator on CPU 1; SQLite unless a URL was given\n"
    )
    print(HEADER)
    for result in results:
        print(result.row())


if __name__ == "__main__":
    asyncio.run(main())
