"""Workload 2: our real services (SQLite) behind the router, over HTTP and in process.

    .venv/bin/python bench/workload2.py [--duration 10] [--warmup 2]

For an order with its customer and for a page of 50 orders each with its customer, it measures
(one request at a time, so latencies add up plainly) three ways of getting the same answer:

- services: the subgraph requests of the router's plan sent straight to the services, one
  after the other as the plan orders them (what a client calling the services itself waits);
- the router over HTTP in front of the services;
- the router with the services in its own process.

The router's overhead is its p50 minus the services' p50. The three take turns request by
request (services, router, in process, services, …) so that the drift of a shared machine falls
on all three alike. The client is the router's own HTTP client (router/execute/http_client.py)
for all three, so the services are timed with the leanest client we have, not with one slower
than the router's. Every request is a staff member's: the routers verify a development-key token
(tests/support/auth.py) and forward its claims, the services get those headers directly. Services on CPU 1, router and load generator on CPU 0 (one request at a
time, so they never compete).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from router.execute.http_client import Endpoint, post  # noqa: E402
from tests.support.auth import (  # noqa: E402
    STAFF_HEADERS,
    dev_keys,
    jwt_yaml,
    signed_in_router,
    staff_bearer,
)
from tests.support.services import ServiceProcess, free_port  # noqa: E402

ORDER = {
    "query": 'query OrderWithCustomer { order(id: "1") { id status total { amount currency } customer { name email } } }'
}
PAGE = {
    "query": "query OrdersPage { orders(first: 50) { edges { node { id status total { amount } customer { name } } } } }"
}


def pin(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def ok(body: Any) -> bool:
    return isinstance(body, dict) and "errors" not in body and body.get("data") is not None


async def plan_fetches(sdl: str, urls: dict[str, str], query: str) -> list[tuple[str, bytes]]:
    """The subgraph requests the router's plan makes for `query`, in the order it makes them."""
    from router.execute.transport import HttpTransport

    calls: list[tuple[str, bytes]] = []

    class Recording(HttpTransport):
        async def send(
            self, service: str, request: dict[str, Any], headers: Any = None
        ) -> dict[str, Any]:
            calls.append((service, orjson.dumps(request)))
            return await super().send(service, request, headers)

    router = signed_in_router(sdl, Recording(urls, deduplicate=False))  # staff
    assert ok(await router.execute(query))
    await router.close()
    return calls


HEADERS = [("content-type", "application/json")]
SERVICE_HEADERS = HEADERS + list(STAFF_HEADERS.items())  # what the router forwards
ROUTER_HEADERS = HEADERS + list(staff_bearer().items())


Request = tuple[Endpoint, bytes, list[tuple[str, str]]]


async def once(requests: list[Request]) -> float:
    """Send `requests` one after the other, each answer checked; the time it took."""
    started = time.perf_counter()
    for endpoint, payload, headers in requests:
        status, body = await post(endpoint, payload, headers, retry_if_closed=True)
        if status != 200 or not ok(orjson.loads(body)):
            raise SystemExit(f"{endpoint.url}: wrong answer under load: {body[:300]!r}")
    return time.perf_counter() - started


async def in_turns(ways: dict[str, list[Request]], seconds: float) -> dict[str, list[float]]:
    """Each way once per turn, for `seconds` per way in all: their latencies."""
    latencies: dict[str, list[float]] = {way: [] for way in ways}
    deadline = time.perf_counter() + seconds * len(ways)
    while time.perf_counter() < deadline:
        for way, requests in ways.items():
            latencies[way].append(await once(requests))
    return latencies


def seed_orders(url: str) -> None:
    import httpx

    for n in range(60):
        mutation = (
            f'mutation {{ createOrder(input: {{customerId: "{1 + n % 3}", items: '
            f'[{{sku: "B{n}", quantity: 1, unitPrice: "1.00"}}]}}) {{ id }} }}'
        )
        httpx.post(url, json={"query": mutation}, headers=STAFF_HEADERS)


def _start_services(folder: Path) -> tuple[ServiceProcess, ServiceProcess]:
    """The real customers and orders services on fresh SQLite files in `folder`, on CPU 1."""
    customers = ServiceProcess(
        "customer_subgraph",
        ["--database-url", f"sqlite:///{folder}/c.sqlite3", "--log-level", "warning"],
        prefix=pin("1"),
    ).start()
    orders = ServiceProcess(
        "order_subgraph",
        [
            "--database-url",
            f"sqlite:///{folder}/o.sqlite3",
            "--customers-url",
            f"{customers.url}/graphql",
            "--log-level",
            "warning",
        ],
        prefix=pin("1"),
    ).start()
    return customers, orders


def _print_table(
    rows: list[tuple[str, dict[str, list[float]]]], duration: float, warmup: float
) -> None:
    """The markdown table: p50 per way, the router's overhead over the services, p99."""
    print(
        f"\none request at a time, the three ways in turns, {duration:g} s each after "
        f"{warmup:g} s warm-up; SQLite\n"
    )
    print(
        "| query | services p50 ms (the plan's fetches in order) | router/HTTP p50 ms "
        "| router overhead ms | in-process p50 ms | router/HTTP p99 ms | requests measured |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, latencies in rows:
        p50 = {way: statistics.median(values) * 1000 for way, values in latencies.items()}
        p99 = statistics.quantiles(latencies["router over HTTP"], n=100)[98] * 1000
        measured = sum(len(values) for values in latencies.values())
        print(
            f"| {name} | {p50['services']:.2f} | {p50['router over HTTP']:.2f} | "
            f"{p50['router over HTTP'] - p50['services']:.2f} | {p50['in process']:.2f} | "
            f"{p99:.2f} | {measured:,} |"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    if pin("0"):
        os.sched_setaffinity(0, {0})
    folder = Path(tempfile.mkdtemp(prefix="bench-workload2-"))
    customers, orders = _start_services(folder)
    await asyncio.to_thread(seed_orders, f"{orders.url}/graphql")  # so a page of 50 is 50
    urls = {"customers": f"{customers.url}/graphql", "orders": f"{orders.url}/graphql"}
    sdl = (ROOT / "supergraph.graphql").read_text()
    sdl = sdl.replace("http://127.0.0.1:4001/graphql", urls["customers"]).replace(
        "http://127.0.0.1:4002/graphql", urls["orders"]
    )
    (folder / "supergraph.graphql").write_text(sdl)
    dev_keys()  # made before the routers read their JWKS
    (folder / "router.yaml").write_text(jwt_yaml())  # JWT and the claim headers, else defaults
    router = ServiceProcess(
        "router",
        [
            "--supergraph",
            str(folder / "supergraph.graphql"),
            "--config",
            str(folder / "router.yaml"),
            "--log-level",
            "warning",
        ],
        subcommand=["serve"],
        prefix=pin("0"),
    ).start()
    in_process_port = free_port()
    in_process = ServiceProcess(
        "bench.inprocess_router",
        [
            "--supergraph",
            str(folder / "supergraph.graphql"),
            "--data",
            str(folder / "inproc"),
            "--config",
            str(folder / "router.yaml"),
        ],
        prefix=pin("0"),
    )
    in_process.port, in_process.url = in_process_port, f"http://127.0.0.1:{in_process_port}"
    rows = []
    endpoints: dict[str, Endpoint] = {}
    try:
        in_process.start()
        endpoints = {
            url: Endpoint(url, limit=1)
            for url in (*urls.values(), f"{router.url}/graphql", f"{in_process.url}/graphql")
        }
        for name, body in (
            ("an order with its customer", ORDER),
            ("a page of 50 orders with customers", PAGE),
        ):
            payload = orjson.dumps(body)
            ways = {
                "services": [
                    (endpoints[urls[service]], request, SERVICE_HEADERS)
                    for service, request in await plan_fetches(sdl, urls, body["query"])
                ],
                "router over HTTP": [(endpoints[f"{router.url}/graphql"], payload, ROUTER_HEADERS)],
                "in process": [(endpoints[f"{in_process.url}/graphql"], payload, ROUTER_HEADERS)],
            }
            await in_turns(ways, args.warmup)
            rows.append((name, await in_turns(ways, args.duration)))
    finally:
        for endpoint in endpoints.values():
            endpoint.pool.close()
        for process in (in_process, router, orders, customers):
            process.stop()
    _print_table(rows, args.duration, args.warmup)


if __name__ == "__main__":
    asyncio.run(main())
