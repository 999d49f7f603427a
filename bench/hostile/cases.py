"""The hostile requests of issue #10, one `Case` each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.hostile.requests import (  # noqa: E402
    CUSTOMERS_ORDERS,
    JSON_QUERY,
    PORT,
    customer_bomb,
    distinct_order_selections,
    padded,
    post,
    query_bomb,
    raw_http,
    raw_post,
    unparsable,
)
from bench.hostile.system import AUTH, HOST, Outcome, System  # noqa: E402
from tests.support.auth import STAFF_HEADERS  # noqa: E402


@dataclass
class Case:
    name: str
    run: Callable[[System, httpx.AsyncClient, argparse.Namespace, Outcome], Awaitable[None]]
    document: bool = False  # a hostile document: must be refused within the CPU budget


def single(payload_of: Callable[[], Any]) -> Callable[..., Awaitable[None]]:
    async def run(
        system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
    ) -> None:
        await post(client, system.url, payload_of(), outcome)

    return run


def many(
    count: int, payload_of: Callable[[int], Any], concurrency: int = 4
) -> Callable[..., Awaitable[None]]:
    async def run(
        system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
    ) -> None:
        numbers = iter(range(count))

        async def worker() -> None:
            for i in numbers:
                await post(client, system.url, payload_of(i), outcome)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    return run


def apq(i: int) -> Any:
    query = unparsable(i)
    sha = hashlib.sha256(query.encode()).hexdigest()
    return {"query": query, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}}}


async def non_utf8_header(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    outcome.add(*await raw_http(raw_post(b"Authorization: Bearer \xff\r\n"), args.timeout))


EMPTY_EMAIL = "hostile-empty-selection@example.com"


async def empty_selections(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    before = await order_one_status(client, system)
    await post(client, system.url, {"query": "{ }"}, outcome)
    mutation = (
        f'mutation {{ createCustomer(input: {{name: "Empty", email: "{EMPTY_EMAIL}"}}) {{ id }} '
        "cancelOrder(id: 1) { total { } } }"
    )
    await post(client, system.url, {"query": mutation}, outcome)
    written = await client.post(
        f"{system.customers.url}/graphql",
        json={"query": "{ customers(first: 100) { edges { node { email } } } }"},
        headers=STAFF_HEADERS,
    )
    emails = [e["node"]["email"] for e in written.json()["data"]["customers"]["edges"]]
    after = await order_one_status(client, system)
    outcome.note = (
        f"customer written: {'YES' if EMPTY_EMAIL in emails else 'no'}; "
        f"order 1 status {before} → {after}"
    )


async def order_one_status(client: httpx.AsyncClient, system: System) -> str:
    answer = await client.post(
        f"{system.orders.url}/graphql",
        json={"query": '{ order(id: "1") { status } }'},
        headers=STAFF_HEADERS,
    )
    return str(answer.json()["data"]["order"]["status"])


async def many_headers(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    headers = b"".join(b"X-H-%d: v\r\n" % i for i in range(10_000))
    outcome.add(*await raw_http(raw_post(headers), args.timeout))


async def huge_header(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    outcome.add(*await raw_http(raw_post(b"X-Big: " + b"a" * 1_000_000 + b"\r\n"), args.timeout))


async def slowloris(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    """200 connections that send a request line and then one header line a second."""
    count = 200
    connections = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            connections.append(await asyncio.open_connection(HOST, PORT[0]))
    closed: set[int] = set()

    async def watch(n: int, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            await reader.read(1024)  # the server answered or closed: either way, done with us
        closed.add(n)

    watchers = [asyncio.create_task(watch(n, r)) for n, (r, _) in enumerate(connections)]
    for _, writer in connections:
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    deadline = time.monotonic() + args.slowloris_seconds
    tick = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        tick += 1
        for n, (_, writer) in enumerate(connections):
            if n not in closed:
                with contextlib.suppress(OSError):
                    writer.write(b"X-Slow-%d: x\r\n" % tick)
    for task in watchers:
        task.cancel()
    for _, writer in connections:
        writer.close()
    outcome.requests = count
    outcome.statuses[f"{len(closed)} of {len(connections)} closed by the server"] += 1
    outcome.codes["—"] += 1
    outcome.note = f"trickled one header line a second for {args.slowloris_seconds:g} s"


async def short_body(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    """Content-Length says 100,000; 20 bytes come, then nothing (the connection stays open).
    Waits past the router's default body read timeout (server.http.body_read_timeout, 30 s)."""
    reader, writer = await asyncio.open_connection(HOST, PORT[0])
    writer.write(raw_post(b"", body=b'{"query": "{ __typen', length=100_000))
    started = time.monotonic()
    wait = max(args.timeout, 35.0)
    try:
        head = await asyncio.wait_for(reader.read(4096), wait)
        status = head.split(b" ", 2)[1].decode() if head else "closed, no answer"
        body = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
        outcome.add(status, body)
        outcome.note = f"server reacted after {time.monotonic() - started:.1f} s"
    except TimeoutError:
        outcome.add(f"no answer, still open after {wait:g} s", None)
    finally:
        writer.close()


async def thundering_herd(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    """2,000 requests at once, each on its own connection; 300 distinct variable sets, so
    that inbound de-duplication shares few of them."""
    import aiohttp

    latencies: list[float] = []
    query = (
        "query($id: ID!, $n: Int!) { customer(id: $id) { name orders(first: $n) { totalCount } } }"
    )
    bodies = [
        orjson.dumps({"query": query, "variables": {"id": str(i % 3 + 1), "n": i % 100 + 1}})
        for i in range(2000)
    ]
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(body: bytes) -> None:
            started = time.monotonic()
            try:
                async with session.post(
                    system.url, data=body, headers={"content-type": "application/json", **AUTH}
                ) as response:
                    payload = await response.read()
                    outcome.add(response.status, payload)
                    latencies.append(time.monotonic() - started)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                outcome.add(type(exc).__name__, None)

        await asyncio.gather(*(one(body) for body in bodies))
    if latencies:
        outcome.note = (
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )


async def websocket(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    request = (
        b"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    )
    outcome.add(*await raw_http(request, args.timeout))


async def other_methods(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    for method in ("PUT", "DELETE"):
        response = await client.request(
            method, system.url, content=JSON_QUERY, headers={"content-type": "application/json"}
        )
        outcome.add(response.status_code, response.content)


async def xml_body(
    system: System, client: httpx.AsyncClient, args: argparse.Namespace, outcome: Outcome
) -> None:
    response = await client.post(
        system.url,
        content=b"<query>{ __typename }</query>",
        headers={"content-type": "application/xml"},
    )
    outcome.add(response.status_code, response.content)


SAME_FIELDS = '{ customer(id: "1") { ' + "orders { edges { node { id } } } " * 1000 + "} }"

CASES = [
    Case(
        "fragment bomb on Query, 2^16 (`...F16`)", single(lambda: {"query": query_bomb(16)}), True
    ),
    Case(
        "fragment bomb on Query, 2^30 (`...F30`)", single(lambda: {"query": query_bomb(30)}), True
    ),
    Case(
        "fragment bomb under customer, 14 levels",
        single(lambda: {"query": customer_bomb(14)}),
        True,
    ),
    Case(
        "fragment bomb under customer, 30 levels",
        single(lambda: {"query": customer_bomb(30)}),
        True,
    ),
    Case(
        "300 distinct 1.9 MB comment/whitespace documents",
        many(300, lambda i: {"query": padded(i)}),
        True,
    ),
    Case("APQ registration of 300 non-parsing 1.9 MB documents", many(300, apq), True),
    Case("non-UTF-8 header (`Authorization: Bearer \\xff`)", non_utf8_header),
    Case("empty selection sets (`{ }`, mutation with `total { }`)", empty_selections, True),
    Case(
        "25 aliased customers→orders→customer→orders",
        single(
            lambda: {
                "query": "{ " + " ".join(f"a{i}: {CUSTOMERS_ORDERS}" for i in range(25)) + " }"
            }
        ),
        True,
    ),
    Case(
        "1,000 same-named `orders { edges { node { id } } }`",
        single(lambda: {"query": SAME_FIELDS}),
        True,
    ),
    Case(
        "200 distinct `orders { … }` selections under one customer",
        single(lambda: {"query": distinct_order_selections(200)}),
        True,
    ),
    Case("10,000 headers", many_headers),
    Case("one 1 MB header", huge_header),
    Case("slowloris: 200 connections trickling headers", slowloris),
    Case("body shorter than its Content-Length", short_body),
    Case("2,000 requests at once", thundering_herd),
    Case("WebSocket upgrade to /graphql", websocket),
    Case("PUT and DELETE /graphql", other_methods),
    Case("application/xml body", xml_body),
]
