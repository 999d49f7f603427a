"""Workload 2: our real services (SQLite) behind the router, over HTTP and in process.

    .venv/bin/python bench/workload2.py [--duration 10] [--warmup 2]

For an order with its customer and for a page of 50 orders each with its customer, it measures
(one request at a time, so latencies add up plainly): the subgraph requests of the router's plan
sent straight to the services (their own time), the router over HTTP in front of them, and the
router with the services in its own process. The router's overhead is its p50 minus the sum of
the services' p50s. Services on CPU 1, router and load generator on CPU 0 (one request at a time,
so they never compete).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import Measured, measure  # noqa: E402
from router.router import Router  # noqa: E402
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


async def direct_subgraph_time(
    sdl: str, urls: dict[str, str], body: dict[str, Any], options: dict[str, Any]
) -> tuple[float, list[Measured]]:
    """Replay the plan's subgraph requests straight to the services; their p50s, summed."""
    from router.execute.transport import HttpTransport

    class Recording:
        def __init__(self) -> None:
            self.inner = HttpTransport(urls)
            self.calls: list[tuple[str, dict[str, Any]]] = []

        async def send(
            self, service: str, request: dict[str, Any], headers: Any = None
        ) -> dict[str, Any]:
            self.calls.append((service, request))
            return await self.inner.send(service, request, headers)

        async def close(self) -> None:
            await self.inner.close()

    recording = Recording()
    router = Router.from_sdl(sdl, recording)
    assert ok(await router.execute(body["query"]))
    await router.close()
    measured = []
    for index, (service, request) in enumerate(recording.calls):
        measured.append(
            await measure(
                f"  direct: {service} fetch {index + 1}", urls[service], request, ok, **options
            )
        )
    return sum(statistics.median(m.latencies) for m in measured) * 1000, measured


def seed_orders(url: str) -> None:
    import httpx

    for n in range(60):
        mutation = (
            f'mutation {{ createOrder(input: {{customerId: "{1 + n % 3}", items: '
            f'[{{sku: "B{n}", quantity: 1, unitPrice: "1.00"}}]}}) {{ id }} }}'
        )
        httpx.post(url, json={"query": mutation})


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
    await asyncio.to_thread(seed_orders, f"{orders.url}/graphql")  # so a page of 50 is 50
    urls = {"customers": f"{customers.url}/graphql", "orders": f"{orders.url}/graphql"}
    sdl = (ROOT / "supergraph.graphql").read_text()
    sdl = sdl.replace("http://127.0.0.1:4001/graphql", urls["customers"]).replace(
        "http://127.0.0.1:4002/graphql", urls["orders"]
    )
    (folder / "supergraph.graphql").write_text(sdl)
    router = ServiceProcess(
        "router",
        ["--supergraph", str(folder / "supergraph.graphql"), "--log-level", "warning"],
        subcommand=["serve"],
        prefix=pin("0"),
    ).start()
    in_process_port = free_port()
    in_process = ServiceProcess(
        "bench.inprocess_router",
        ["--supergraph", str(folder / "supergraph.graphql"), "--data", str(folder / "inproc")],
        prefix=pin("0"),
    )
    in_process.port, in_process.url = in_process_port, f"http://127.0.0.1:{in_process_port}"
    options = {"concurrency": 1, "seconds": args.duration, "warmup": args.warmup}
    rows = []
    try:
        in_process.start()
        for name, body in (
            ("an order with its customer", ORDER),
            ("a page of 50 orders with customers", PAGE),
        ):
            services_p50, parts = await direct_subgraph_time(sdl, urls, body, options)
            over_http = await measure(
                f"router over HTTP: {name}", f"{router.url}/graphql", body, ok, **options
            )
            inside = await measure(
                f"router in process: {name}", f"{in_process.url}/graphql", body, ok, **options
            )
            rows.append((name, services_p50, parts, over_http, inside))
    finally:
        for process in (in_process, router, orders, customers):
            process.stop()
    print(
        f"\none request at a time, {args.duration:g} s per measurement after {args.warmup:g} s warm-up; SQLite\n"
    )
    print(
        "| query | services p50 ms (sum of the plan's fetches) | router/HTTP p50 ms | router overhead ms | in-process p50 ms | router/HTTP req/s | in-process req/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, services_p50, _, over_http, inside in rows:
        http_p50 = statistics.median(over_http.latencies) * 1000
        inside_p50 = statistics.median(inside.latencies) * 1000
        print(
            f"| {name} | {services_p50:.2f} | {http_p50:.2f} | {http_p50 - services_p50:.2f} | {inside_p50:.2f} | {over_http.rps:,.0f} | {inside.rps:,.0f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
