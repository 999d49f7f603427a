"""The router with both services in its own process, served by uvicorn (for bench/workload2.py).

python -m bench.inprocess_router --supergraph FILE --port PORT --data FOLDER [--config router.yaml]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx
import uvicorn

import customer_subgraph
import order_subgraph
from router.config import Config, load_config
from router.execute.inprocess import in_process
from router.server.app import RouterApp, build_router
from router.server.factory import tune_gc

STAFF = {"x-customer-id": "staff-1", "x-customer-scopes": "staff"}


async def serve(sdl: str, port: int, data: Path, config: Config) -> None:
    customers = customer_subgraph.create_app(
        customer_subgraph.Settings(database_url=f"sqlite:///{data}/c.sqlite3")
    )
    orders = order_subgraph.create_app(
        order_subgraph.Settings(database_url=f"sqlite:///{data}/o.sqlite3"),
        customers_transport=httpx.ASGITransport(app=customers),
    )
    async with in_process({"customers": customers, "orders": orders}) as transport:
        for n in range(60):  # the same extra orders as the HTTP setup
            await transport.send(
                "orders",
                {
                    "query": f'mutation {{ createOrder(input: {{customerId: "{1 + n % 3}", items: [{{sku: "B{n}", quantity: 1, unitPrice: "1.00"}}]}}) {{ id }} }}'
                },
                STAFF,  # what the router forwards for a staff token
            )
        app = RouterApp(build_router(sdl, config, transport=transport), config)
        tune_gc()  # as `router serve` does
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        await server.serve()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--supergraph", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="router.yaml (default: none)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    config = load_config(args.config)
    asyncio.run(serve(args.supergraph.read_text(), args.port, args.data, config))
