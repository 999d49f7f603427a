"""Benchmark the router alone: `python -m router serve` in front of fast canned subgraphs.

    .venv/bin/python bench/router.py [--duration 10] [--warmup 2] [--concurrency 20]

Prints requests/s, p50 and p99 for a small query (an order with its customer: two fetches) and
a large list query (100 orders with items and customers: two fetches, 20 distinct customers
after de-duplication, about 27 KB of JSON), and the canned subgraphs measured directly so they
are known not to be the bottleneck. The router is pinned to CPU 0, the subgraphs and the load
generator to CPU 1 (Linux, taskset). The router verifies JWTs as the committed router.yaml does
(a development key's JWKS, the claim headers); every request carries a staff token (`AUTH`),
verified once and then answered from the verified-token cache.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.loadgen import HEADER, Measured, measure  # noqa: E402
from tests.support.auth import jwt_yaml, staff_bearer  # noqa: E402
from tests.support.services import ServiceProcess  # noqa: E402

AUTH = staff_bearer()
"""The Authorization header every request to a canned_system router sends."""

SMALL = {"query": '{ order(id: "1") { id status customer { name } } }'}
LARGE = {
    "query": "{ orders(first: 100) { edges { node { id status total { amount currency } "
    "items { sku quantity } customer { name email } } } } }"
}


def small_ok(body: dict) -> bool:  # type: ignore[type-arg]
    return body == {
        "data": {"order": {"id": "1", "status": "PAID", "customer": {"name": "Customer 2"}}}
    }


def large_ok(body: dict) -> bool:  # type: ignore[type-arg]
    edges = body["data"]["orders"]["edges"]
    return (
        len(edges) == 100
        and edges[41]["node"]["customer"]["email"] == "c3@example.com"
        and "errors" not in body
    )


def pin(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if pin("1"):
        os.sched_setaffinity(0, {1})

    results: list[Measured] = []
    # every request does the router's whole work: no sharing between identical requests in flight
    no_sharing = "traffic_shaping: { router: { deduplicate_requests: false } }\n"
    with canned_system("router", config=no_sharing) as (canned, router):
        options = {"concurrency": args.concurrency, "seconds": args.duration, "warmup": args.warmup}
        orders_page = {"query": "query { orders(first: 100) { edges { node { id } } } }"}
        results.append(
            await measure(
                "canned orders subgraph, 100 orders (direct)",
                f"{canned['orders'].url}/graphql",
                orders_page,
                lambda b: len(b["data"]["orders"]["edges"]) == 100,
                **options,
            )
        )
        results.append(
            await measure(
                "router: small query (order + customer)",
                f"{router.url}/graphql",
                SMALL,
                small_ok,
                headers=AUTH,
                **options,
            )
        )
        results.append(
            await measure(
                "router: large list (100 orders + customers)",
                f"{router.url}/graphql",
                LARGE,
                large_ok,
                headers=AUTH,
                **options,
            )
        )
    print(
        f"\n{args.concurrency} concurrent requests, {args.duration:g} s each after {args.warmup:g} s warm-up; "
        "router on CPU 0, canned subgraphs and load generator on CPU 1\n"
    )
    print(HEADER)
    for result in results:
        print(result.row())


@contextlib.contextmanager
def canned_system(
    name: str, *router_args: str, config: str = ""
) -> Iterator[tuple[dict[str, ServiceProcess], ServiceProcess]]:
    """Canned customers and orders subgraphs (CPU 1) and `python -m router serve` over them
    (CPU 0) with `config` as its router.yaml (after the JWT settings: requests send `AUTH`),
    started; all stopped on exit."""
    canned = {
        service: ServiceProcess("bench.canned_subgraph", ["--service", service], prefix=pin("1"))
        for service in ("customers", "orders")
    }
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    sdl = (ROOT / "supergraph.graphql").read_text()
    for service, port in (("customers", 4001), ("orders", 4002)):
        sdl = sdl.replace(f"http://127.0.0.1:{port}/graphql", f"{canned[service].url}/graphql")
    (folder / "supergraph.graphql").write_text(sdl)
    (folder / "router.yaml").write_text(jwt_yaml() + config)
    router = ServiceProcess(
        "router",
        [
            *("--supergraph", str(folder / "supergraph.graphql")),
            *("--config", str(folder / "router.yaml")),
            *router_args,
        ],
        subcommand=["serve"],
        prefix=pin("0"),
    )
    try:
        for process in canned.values():
            _start_without_health(process)
        router.start()
        yield canned, router
    finally:
        router.stop()
        for process in canned.values():
            process.stop()


def _start_without_health(process: ServiceProcess) -> None:
    """The canned subgraphs have no /health: wait for their port instead."""
    import socket
    import subprocess
    import time

    command = [
        *process.prefix,
        sys.executable,
        "-m",
        process.module,
        "--port",
        str(process.port),
        *process.args,
    ]
    process.process = subprocess.Popen(command, cwd=ROOT, env=process.env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", process.port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("canned subgraph did not start")


if __name__ == "__main__":
    asyncio.run(main())
