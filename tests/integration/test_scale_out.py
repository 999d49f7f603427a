"""Scale-out as it is deployed, and a rolling restart of every process under load.

Two routers behind nginx; two customers and two orders processes, each pair on one PostgreSQL
database and behind nginx, which is how the routers (and the orders service, asking customers)
reach them. nginx's configuration is deploy/nginx/pyfederation.conf.template, rendered with the
ports of these processes.

While readers and writers (`createOrder` with idempotency keys) send a steady load through the
front nginx, every process is restarted, one at a time, as a supervisor does it: SIGTERM, wait
for the exit, start again, wait until ready. Then every write that was answered with an order id
must be in the orders database, exactly once, and no request may have failed: the processes
drain on SIGTERM (router/server/drain.py), so what a stopping process was sent is answered, and
what nginx could not send to it goes to its partner.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from router.compose import compose_config
from tests.conftest import fresh_postgres_database
from tests.support.auth import jwt_yaml, staff_bearer
from tests.support.nginx import Nginx, find_nginx, render
from tests.support.replicas import Replica
from tests.support.services import ROOT, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.nginx]

READERS = 4
WRITERS = 2
PAUSE = 0.01  # between one worker's requests: a steady load that leaves the restarts CPU

READ = """
query Orders { orders(first: 5) { edges { node { id total { amount } customer { name } } } } }
"""
CREATE = """
mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { id } }
"""


def _required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"))


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    """Debian's nginx; missing, the test is skipped locally and fails in CI (as PostgreSQL)."""
    found = find_nginx()
    if found is None:
        message = "nginx not found (Debian: apt-get install nginx)"
        if _required():
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Load:
    """What the readers and writers saw."""

    reads: int = 0
    writes: dict[str, str] = field(default_factory=dict)  # idempotency key -> order id
    failures: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, http: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            problem = await _ask(http, {"query": READ})
            if problem is None:
                self.reads += 1
            else:
                self.failures.append(f"read: {problem}")
            await asyncio.sleep(PAUSE)

    async def write(self, http: httpx.AsyncClient, customer: str) -> None:
        while not self.stop.is_set():
            key = f"scale-{uuid.uuid4()}"
            order = {
                "customerId": customer,
                "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "12.50"}],
                "idempotencyKey": key,
            }
            body: dict[str, object] = {}
            problem = await _ask(http, {"query": CREATE, "variables": {"input": order}}, body)
            if problem is None:
                self.writes[key] = body["data"]["createOrder"]["id"]  # type: ignore[index]
            else:
                self.failures.append(f"write {key}: {problem}")
            await asyncio.sleep(PAUSE)


async def _ask(
    http: httpx.AsyncClient, request: dict[str, object], into: dict[str, object] | None = None
) -> str | None:
    """None when the router answered 200 with data and no errors, else what went wrong."""
    at = time.strftime("%H:%M:%S")
    try:
        response = await http.post("/graphql", json=request)
    except httpx.HTTPError as exc:
        return f"{at} {type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return f"{at} HTTP {response.status_code}: {response.text[:200]}"
    body = response.json()
    if body.get("errors") or not body.get("data"):
        return f"{at} errors: {str(body)[:300]}"
    if into is not None:
        into.update(body)
    return None


@dataclass
class Topology:
    nginx: Nginx
    front: str
    routers: list[Replica]
    customers: list[Replica]
    orders: list[Replica]
    orders_database: str

    @property
    def everyone(self) -> list[Replica]:
        return [*self.orders, *self.customers, *self.routers]


@pytest.fixture
def topology(
    nginx_binary: str, postgres_server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Topology]:
    customers_db, orders_db = asyncio.run(_both_databases(postgres_server_url))
    ports = {name: free_port() for name in ("ROUTER", "CUSTOMERS", "ORDERS")}
    subgraph = {name: f"http://127.0.0.1:{ports[name]}/graphql" for name in ("CUSTOMERS", "ORDERS")}
    supergraph = tmp_path / "supergraph.graphql"
    monkeypatch.setenv("CUSTOMERS_ROUTING_URL", subgraph["CUSTOMERS"])
    monkeypatch.setenv("ORDERS_ROUTING_URL", subgraph["ORDERS"])
    supergraph.write_text(compose_config(ROOT / "supergraph.yaml"))
    router_yaml = tmp_path / "router.yaml"  # verifies the writers' staff token
    router_yaml.write_text(jwt_yaml())
    logs = tmp_path / "logs"
    logs.mkdir()
    customers = [
        Replica(
            f"customers-{n}", "customer_subgraph", ["--database-url", customers_db], logs, "/health"
        )
        for n in (1, 2)
    ]
    orders = [
        Replica(
            f"orders-{n}",
            "order_subgraph",
            ["--database-url", orders_db, "--customers-url", subgraph["CUSTOMERS"]],
            logs,
            "/health",
        )
        for n in (1, 2)
    ]
    routers = [
        Replica(
            f"router-{n}",
            "router",
            ["serve", "--config", str(router_yaml), "--supergraph", str(supergraph), "--no-reload"],
            logs,
            "/health?ready",
        )
        for n in (1, 2)
    ]
    http = render(
        {
            "ROUTER_1": routers[0].address,
            "ROUTER_2": routers[1].address,
            "CUSTOMERS_1": customers[0].address,
            "CUSTOMERS_2": customers[1].address,
            "ORDERS_1": orders[0].address,
            "ORDERS_2": orders[1].address,
            **{f"{name}_LISTEN": f"127.0.0.1:{port}" for name, port in ports.items()},
        }
    )
    nginx = Nginx(nginx_binary, tmp_path / "nginx", http, list(ports.values()))
    everyone = [*customers, *orders, *routers]
    try:
        nginx.start()
        # the first of each pair creates its database's tables and demo data, then the rest
        for first in (customers[0], orders[0]):
            first.launch()
        for first in (customers[0], orders[0]):
            first.wait_ready()
        for replica in (customers[1], orders[1], *routers):
            replica.launch()
        for replica in (customers[1], orders[1], *routers):
            replica.wait_ready()
        yield Topology(
            nginx, f"http://127.0.0.1:{ports['ROUTER']}", routers, customers, orders, orders_db
        )
    finally:
        for replica in everyone:
            replica.kill()
        nginx.stop()


async def _both_databases(server_url: str) -> tuple[str, str]:
    return await fresh_postgres_database(server_url), await fresh_postgres_database(server_url)


async def test_a_rolling_restart_under_load_loses_no_write_and_fails_no_request(
    topology: Topology,
) -> None:
    limits = httpx.Limits(max_connections=READERS + WRITERS)
    async with httpx.AsyncClient(
        base_url=topology.front, timeout=40, limits=limits, headers=staff_bearer()
    ) as http:
        customers = await http.post(
            "/graphql", json={"query": "{ customers(first: 2) { edges { node { id } } } }"}
        )
        customer = customers.json()["data"]["customers"]["edges"][0]["node"]["id"]
        load = Load()
        workers = [asyncio.create_task(load.read(http)) for _ in range(READERS)]
        workers += [asyncio.create_task(load.write(http, customer)) for _ in range(WRITERS)]
        await asyncio.sleep(1)  # the load is steady before the first restart
        before = (load.reads, len(load.writes))
        drains, starts = {}, {}
        for replica in topology.everyone:
            drains[replica.name], starts[replica.name] = await asyncio.to_thread(replica.restart)
        await asyncio.sleep(1)  # and goes on after the last
        load.stop.set()
        await asyncio.gather(*workers)

    rows = await _orders_by_key(topology.orders_database)
    found = {key: ids for key, ids in rows.items() if key in load.writes}
    exactly_once = [key for key, ids in found.items() if ids == [load.writes[key]]]
    print(
        f"\nreads answered {load.reads}, writes acknowledged {len(load.writes)} "
        f"(before the first restart: {before[0]} reads, {before[1]} writes), "
        f"found in the database exactly once {len(exactly_once)}, "
        f"failed requests {len(load.failures)}; seconds from SIGTERM to exit: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in drains.items())
        + "; from start to ready: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in starts.items())
    )
    assert load.failures == [], "\n".join([*load.failures[:20], *_nginx_errors(topology.nginx)])
    assert len(exactly_once) == len(load.writes), {
        key: (load.writes[key], rows.get(key)) for key in load.writes if key not in exactly_once
    }
    # nothing the clients were not told about was written: every row of theirs was answered
    assert set(rows) == set(load.writes)
    assert load.reads > 0 and len(load.writes) > 0
    # every process exited by itself on SIGTERM (uvicorn re-raises the signal once drained)
    for replica in topology.everyone:
        assert replica.exit_codes in ([0], [-15]), (replica.name, replica.output()[-2000:])
    # the load went through both processes of every pair
    served = Counter(
        address
        for line in topology.nginx.answered()
        for address in line.split("|")[2].split(", ")
        if address != "-"
    )
    for replica in topology.everyone:
        assert served[replica.address] > 0, (replica.name, served)


def _nginx_errors(nginx: Nginx) -> list[str]:
    """nginx's errors, but refused connections (a stopped server: the request went on)."""
    lines = nginx.errors().splitlines()
    return [line for line in lines if "(111: Connection refused)" not in line][-20:]


async def _orders_by_key(database_url: str) -> dict[str, list[str]]:
    """Each test key's orders (their ids), from the orders database itself."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT idempotency_key, id FROM orders WHERE idempotency_key LIKE 'scale-%' ORDER BY id"
        )
    finally:
        await conn.close()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["idempotency_key"], []).append(str(row["id"]))
    return found
