"""Subscription events completed in batches against one at a time (router/execute/events.py).

    .venv/bin/python -m bench.subscription_batches [--events 2000] [--burst 20] [--customers 20]

One process, real sockets: the orders subgraph is a websockets graphql-transport-ws server
(tests/support/ws_subgraph.py) sending `--events` orderCreated events in bursts of `--burst`
(each burst in one go, the next once the router has delivered the last), each event's customer
one of `--customers`; the customers subgraph is bench/canned_subgraph.py's app under uvicorn,
counting its requests; the router is in-process (`Router.subscribe`, HTTP to customers). For
`subscription.max_events_per_batch` 1 (each event alone) and 32 (the default) it prints
events/s, the `_entities` requests made and CPU ms per event. Both subgraphs share the
process, so the CPU is the router's plus theirs (the customers' requests are what batching
saves). Nothing is asserted on time: this is a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import uvicorn
from websockets.asyncio.server import ServerConnection

from bench.canned_subgraph import make_app
from bench.harness.table import markdown_table
from router.execute.transport import HttpTransport
from tests.support.auth import STAFF_IDENTITY, signed_in_router
from tests.support.ws_subgraph import Seen, acknowledged, subgraph
from tests.unit.execute.test_router_subscribe import CREATED, SUPERGRAPH, order


class Counted:
    """An ASGI app that counts the HTTP requests it passes to `app`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


async def measure(batch: int, events: int, burst: int, customers: int) -> dict[str, Any]:
    """One run: events/s, `_entities` requests and CPU ms per event at `batch`."""
    counted = Counted(make_app("customers", 1))
    server = uvicorn.Server(uvicorn.Config(counted, port=0, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn sets a flag)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    delivered = 0
    reached = asyncio.Event()
    target = 0

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        nonlocal target
        subscribe = await acknowledged(ws, seen)
        for start in range(0, events, burst):
            target = min(start + burst, events)
            reached.clear()
            for n in range(start, target):
                payload = order(str(n), str(n % customers + 1))
                await ws.send(
                    json.dumps({"id": subscribe["id"], "type": "next", "payload": payload})
                )
            await reached.wait()
        await ws.send(json.dumps({"id": subscribe["id"], "type": "complete"}))

    try:
        async with subgraph(orders) as (url, _):
            transport = HttpTransport({"customers": f"http://127.0.0.1:{port}/graphql"})
            router = signed_in_router(
                SUPERGRAPH, transport, subscription_urls={"orders": url}, subscription_batch=batch
            )
            started, cpu = time.perf_counter(), time.process_time()
            async for event in router.subscribe(CREATED, identity=STAFF_IDENTITY):
                assert event["data"]["orderCreated"]["customer"]["name"].startswith("Customer ")
                delivered += 1
                if delivered >= target:
                    reached.set()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            await router.close()
    finally:
        server.should_exit = True
        await serving
    assert delivered == events, f"{delivered} of {events} events"
    return {
        "max_events_per_batch": batch,
        "events/s": round(events / elapsed),
        "_entities requests": counted.requests,
        "CPU ms/event": round(cpu * 1000 / events, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--customers", type=int, default=20)
    args = parser.parse_args(argv)
    rows = [
        asyncio.run(measure(batch, args.events, args.burst, args.customers)) for batch in (1, 32)
    ]
    table = [[str(value) for value in row.values()] for row in rows]
    print(markdown_table(list(rows[0]), table, right=range(4)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
