"""A fast canned subgraph for router benchmarks: raw ASGI, answers from precomputed bytes.

    python bench/canned_subgraph.py --port 4101 --service customers|orders [--orders 100]

`orders` answers `order(...)` with one order and `orders(...)` with a page of N orders (each with
a customer reference among 20 customers); `customers` answers `_entities` for any
representations. Answers are built once per distinct request body and cached.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import uvicorn


def order(n: int) -> dict[str, Any]:
    return {
        "__typename": "Order",
        "id": str(n),
        "status": "PAID",
        "total": {"amount": f"{n}.99", "currency": "USD"},
        "items": [{"sku": f"SKU-{n}-{i}", "quantity": i + 1} for i in range(2)],
        "customer": {"__typename": "Customer", "id": str(n % 20 + 1)},
    }


def answer(service: str, body: dict[str, Any], page: int) -> dict[str, Any]:
    query = body.get("query", "")
    if service == "customers":
        reps = (body.get("variables") or {}).get("representations") or []
        return {
            "data": {
                "_entities": [
                    {"name": f"Customer {r['id']}", "email": f"c{r['id']}@example.com"}
                    for r in reps
                ]
            }
        }
    if "orders(" in query:
        return {"data": {"orders": {"edges": [{"node": order(n)} for n in range(1, page + 1)]}}}
    return {"data": {"order": order(1)}}


def make_app(service: str, page: int) -> Any:
    cache: dict[bytes, bytes] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        payload = cache.get(raw)
        if payload is None:
            payload = cache[raw] = orjson.dumps(answer(service, orjson.loads(raw), page))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service", choices=["customers", "orders"], required=True)
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.service, args.orders),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )
