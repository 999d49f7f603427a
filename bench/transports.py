"""Which HTTP client the router's hot path uses, decided by measurement: the router in process
(pinned to CPU 0, uvloop as in `router serve`) in front of canned subgraphs (CPU 1), with our
HttpTransport (router/execute/http_client.py), with aiohttp and with an httpx AsyncClient, 20
requests in flight.

    .venv/bin/python bench/transports.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.router import LARGE, SMALL  # noqa: E402
from router.execute.transport import HttpTransport, decode_response  # noqa: E402
from router.router import Router  # noqa: E402
from tests.support.auth import signed_in_router  # noqa: E402
from tests.support.services import free_port  # noqa: E402


class AiohttpTransport:
    """The same transport on aiohttp (the router's client until it lost this benchmark)."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=100, keepalive_timeout=60)
        )

    async def send(
        self, service: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        async with self.session.post(
            self.urls[service],
            data=orjson.dumps(body),
            headers={"content-type": "application/json"},
        ) as response:
            return decode_response(response.status, await response.read())

    async def close(self) -> None:
        await self.session.close()


class HttpxTransport:
    """The same transport on httpx, for comparison only."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        self.client = httpx.AsyncClient(limits=limits, timeout=30)

    async def send(
        self, service: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self.client.post(
            self.urls[service],
            content=orjson.dumps(body),
            headers={"content-type": "application/json"},
        )
        return decode_response(response.status_code, response.content)

    async def close(self) -> None:
        await self.client.aclose()


async def requests_per_second(
    router: Router, query: str, seconds: float, concurrency: int = 20
) -> float:
    await router.execute(query)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await router.execute(query)
            assert "errors" not in response, response
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    urls: dict[str, str] = {}
    processes = []
    pin = ["taskset", "-c", "1"] if (os.cpu_count() or 1) > 1 else []
    for service in ("customers", "orders"):
        port = free_port()
        urls[service] = f"http://127.0.0.1:{port}/graphql"
        command = [
            *pin,
            sys.executable,
            "bench/canned_subgraph.py",
            "--port",
            str(port),
            "--service",
            service,
        ]
        processes.append(subprocess.Popen(command, cwd=ROOT))  # noqa: ASYNC220 (a benchmark, before any load)
    await asyncio.sleep(2)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})
    sdl = (ROOT / "supergraph.graphql").read_text()
    print("| query | HttpTransport req/s | aiohttp req/s | httpx req/s |\n|---|---:|---:|---:|")
    try:
        for name, query in (("small", SMALL["query"]), ("large list", LARGE["query"])):
            results = []
            for transport in (
                HttpTransport(urls, deduplicate=False),  # each request makes its own calls
                AiohttpTransport(urls),
                HttpxTransport(urls),
            ):
                router = signed_in_router(sdl, transport)  # a staff member's requests
                results.append(await requests_per_second(router, query, args.seconds))
                await router.close()
            print(f"| {name} | " + " | ".join(f"{r:,.0f}" for r in results) + " |")
    finally:
        for process in processes:
            process.terminate()


if __name__ == "__main__":
    uvloop.run(main())
