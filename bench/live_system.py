"""The whole system for the live-data benchmarks (bench/subscriptions.py, bench/defer.py): the
customers and orders services as processes on seeded SQLite files (bench/services.py's
`seed_databases`: 120 customers, 150 orders), maybe a delay proxy in front of the customers
service (bench/delay_proxy.py), and `python -m router serve` over them, verifying JWTs of a
development key as the committed router.yaml does (tests/support/auth.py's `jwt_yaml`; every
request sends `AUTH`, a staff token).

    async with live_system("name", config="subscription: {...}\n") as system:
        system.url        # the router's http:// base; /graphql is its GraphQL path
        system.router_pid

Where the machine has two CPUs and taskset, the router runs on CPU 0 and the services, the
proxy and the benchmark's own process on CPU 1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.processes import GATEWAY_CPU, LOAD_CPU, can_pin, pin  # noqa: E402
from bench.services import seed_databases  # noqa: E402
from tests.support.auth import jwt_yaml, staff_bearer  # noqa: E402
from tests.support.services import ServiceProcess  # noqa: E402

AUTH = staff_bearer()
"""The Authorization header of every request (and every connection_init) to the router."""

QUIET = ("--log-level", "warning")


@dataclass
class LiveSystem:
    """The started processes; `url` is the router's http:// base."""

    customers: ServiceProcess
    orders: ServiceProcess
    router: ServiceProcess
    pinned: bool

    @property
    def url(self) -> str:
        return self.router.url

    @property
    def router_pid(self) -> int:
        assert self.router.process is not None
        return self.router.process.pid

    @property
    def placement(self) -> str:
        """Where the processes run, for the report."""
        if self.pinned:
            return (
                f"router on CPU {GATEWAY_CPU}; services and this client on CPU {LOAD_CPU} "
                "(one 2-core machine: client and router share it, with anything else running)"
            )
        return "no CPU pinning: router, services and this client share every CPU"


@contextlib.asynccontextmanager
async def live_system(
    name: str, config: str = "", customers_delay_ms: float = 0.0
) -> AsyncIterator[LiveSystem]:
    """The services, the proxy when `customers_delay_ms` > 0 (the router asks the customers
    service through it), and the router with `config` after its JWT settings; all stopped on
    exit."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    started: list[ServiceProcess] = []

    def start(process: ServiceProcess) -> ServiceProcess:
        started.append(process)
        return process.start()

    try:
        customers_db, orders_db = f"sqlite:///{folder}/c.sqlite3", f"sqlite:///{folder}/o.sqlite3"
        await seed_databases(customers_db, orders_db)
        side = pin(LOAD_CPU)
        database = ["--no-seed", *QUIET, "--database-url"]
        customers = start(
            ServiceProcess("customer_subgraph", [*database, customers_db], prefix=side)
        )
        customers_url = f"{customers.url}/graphql"
        orders = start(
            ServiceProcess(
                "order_subgraph",
                [*database, orders_db, "--customers-url", customers_url],
                prefix=side,
            )
        )
        if customers_delay_ms > 0:
            delay = ["--target", customers.url, "--delay-ms", str(customers_delay_ms)]
            proxy = start(ServiceProcess("bench.delay_proxy", delay, prefix=side))
            customers_url = f"{proxy.url}/graphql"
        sdl = (ROOT / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", customers_url)
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{orders.url}/graphql")
        (folder / "supergraph.graphql").write_text(sdl)
        (folder / "router.yaml").write_text(jwt_yaml() + config)
        files = ["--supergraph", str(folder / "supergraph.graphql")]
        files += ["--config", str(folder / "router.yaml"), "--no-reload"]
        router = start(
            ServiceProcess(
                "router", [*files, *QUIET], subcommand=["serve"], prefix=pin(GATEWAY_CPU)
            )
        )
        pinned = can_pin()
        if pinned:
            os.sched_setaffinity(0, {int(LOAD_CPU)})
        yield LiveSystem(customers, orders, router, pinned)
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(folder, ignore_errors=True)
