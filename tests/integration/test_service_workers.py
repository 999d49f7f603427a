"""A service served by `--workers N` (subgraph_kit/workers.py): N processes on one port, each
building its own app from the parent's settings, closing its subscriptions first on SIGTERM, and
refused where its events could not reach every worker's subscribers (SQLite)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from subgraph_kit.live import GOING_AWAY
from tests.conftest import fresh_postgres_database
from tests.support.auth import STAFF_HEADERS
from tests.support.live import live
from tests.support.services import ROOT, GraphQLClient, ServiceProcess

CREATED = "subscription { orderCreated { id } }"
CREATE = """mutation($sku: String!) { createOrder(input: {customerId: "2",
    items: [{sku: $sku, quantity: 1, unitPrice: "1.00"}]}) { id } }"""


def workers_of(process: ServiceProcess) -> list[int]:
    """The worker processes uvicorn's supervisor started for `process`."""
    assert process.process is not None
    found = []
    for task in Path(f"/proc/{process.process.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


async def test_two_workers_answer_on_one_port_and_stop_on_sigterm(tmp_path: Path) -> None:
    args = ["--workers", "2", "--database-url", f"sqlite:///{tmp_path}/c.sqlite3"]
    service = ServiceProcess("customer_subgraph", args).start()
    try:
        assert len(workers_of(service)) == 2
        async with service.client(STAFF_HEADERS) as http:
            data = await GraphQLClient(http).data('{ customer(id: "1") { name } }')
        assert data == {"customer": {"name": "Alice"}}
        assert service.process is not None
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=30) == 0
    finally:
        service.stop()


def test_more_than_one_worker_with_subscriptions_on_sqlite_is_refused(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/o.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "order_subgraph", "--workers", "2", "--database-url", database],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--workers 2 needs a PostgreSQL --database-url" in done.stderr
    assert not (tmp_path / "o.sqlite3").exists()  # refused before anything started


async def _one_subscription_seen(url: str) -> None:
    """Until a worker's /health says it holds one subscription (each answers for itself)."""
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(1500):
            if (await http.get("/health")).json()["subscriptions"] == 1:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the subscription never opened")


@pytest.mark.postgres
async def test_workers_on_postgresql_deliver_every_workers_writes_and_close_with_going_away(
    postgres_server_url: str, customers_process: ServiceProcess
) -> None:
    args = [
        *("--workers", "2"),
        *("--database-url", await fresh_postgres_database(postgres_server_url)),
        *("--customers-url", f"{customers_process.url}/graphql"),
    ]
    orders = ServiceProcess("order_subgraph", args).start()
    try:
        assert len(workers_of(orders)) == 2
        async with live(orders.url, STAFF_HEADERS) as staff:
            await staff.subscribe("created", CREATED)
            await _one_subscription_seen(orders.url)
            created = []
            for n in range(6):  # each on a new connection: both workers take some
                async with orders.client(STAFF_HEADERS) as http:
                    answer = await GraphQLClient(http).data(CREATE, {"sku": f"W{n}"})
                created.append(answer["createOrder"]["id"])
            got = [(await staff.next_data("created"))["orderCreated"]["id"] for _ in created]
            assert got == created
            assert orders.process is not None
            orders.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await staff.receive()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == GOING_AWAY
            assert orders.process.wait(timeout=30) == 0
    finally:
        orders.stop()
