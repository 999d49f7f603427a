"""A tiny HTTP proxy that holds every POST for a while before passing it on: a slow subgraph
for benchmarks that must show what waiting on one costs (bench/defer.py).

    .venv/bin/python -m bench.delay_proxy --target http://127.0.0.1:4001 --delay-ms 50 --port 4101

Every request goes to the same path at `--target` with its headers (but the hop-by-hop ones);
a POST waits `--delay-ms` first, anything else (GET /health) goes at once. Answers come back
as they are, with their content type.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def proxy_app(target: str, delay: float) -> web.Application:
    """The proxy as an aiohttp app: every path passed on to `target`, a POST after `delay` s."""
    app = web.Application()

    async def start(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST":
            await asyncio.sleep(delay)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with app["session"].request(
            request.method, target + request.path_qs, data=body, headers=headers
        ) as answer:
            content = await answer.read()
            kept = {"content-type": answer.headers.get("content-type", "application/json")}
            return web.Response(status=answer.status, body=content, headers=kept)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{path:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True, help="http://host:port to pass requests to")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = proxy_app(args.target.rstrip("/"), args.delay_ms / 1000)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
