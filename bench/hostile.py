"""Hostile requests against a served router: what each costs it, and whether it keeps serving.

    .venv/bin/python bench/hostile.py [--timeout 30] [--only NAME ...] [--slowloris-seconds 20]

Starts the real customers and orders services (fresh SQLite files, 60 extra orders) and
`python -m router serve` in front of them (one process, router.yaml defaults with JWT from a
development key; every request carries a staff token, so authorization removes nothing), then
sends each hostile request of issue #10 in turn. For each case it reads the router's CPU time
before and after (/proc/PID/task/*/schedstat, summed over its threads: nanoseconds, where
/proc/PID/stat's utime+stime only has 10 ms ticks), its RSS after, and, from a separate
process, polls `GET /health` every 100 ms (each poll a new connection, answered within 1 s or
counted as missed). A case that gets no answer within `--timeout` s, or after which /health
does not answer, kills the router and starts it again; the table says so.

Prints a markdown table: case, HTTP status(es), error code(s), router CPU ms (per request for
the cases that send many), RSS MB after, /health answered/polled, and for the hostile
documents whether they were refused within 50 ms of router CPU. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import itertools
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.workload2 import pin, seed_orders  # noqa: E402
from tests.support.auth import STAFF_HEADERS, jwt_yaml, staff_bearer  # noqa: E402

AUTH = staff_bearer()
"""Every request to the router is a staff member's (nothing removed by authorization: the
whole operation reaches planning and the services), unless a case says otherwise."""
from tests.support.services import ServiceProcess  # noqa: E402

REFUSAL_BUDGET_MS = 50.0
HOST = "127.0.0.1"

# --- measuring the router -----------------------------------------------------------------


def cpu_ms(pid: int) -> float:
    """CPU time the process has used so far (all its threads), in ms."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e6


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def poll_health(port: int, commands: Connection) -> None:
    """In its own process: GET /health every 100 ms on a new connection; on "dump", send the
    (answered, polled) counts since the last dump."""
    answered = polled = 0
    request = f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    while True:
        started = time.monotonic()
        if commands.poll():
            command = commands.recv()
            if command == "stop":
                return
            commands.send((answered, polled))
            answered = polled = 0
        polled += 1
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.settimeout(max(0.01, 1 - (time.monotonic() - started)))
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    answered += 1
        except OSError:
            pass
        time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


class HealthPoller:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.commands, remote = context.Pipe()
        self.process = context.Process(target=poll_health, args=(port, remote), daemon=True)
        self.process.start()

    def counts(self) -> tuple[int, int]:
        """(answered, polled) since the last call."""
        self.commands.send("dump")
        return self.commands.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.commands.send("stop")
        self.process.join(5)


# --- the system -----------------------------------------------------------------------------


class System:
    """The two services and the router, started; the router can be killed and started again."""

    def __init__(self, folder: Path) -> None:
        self.customers = ServiceProcess(
            "customer_subgraph",
            ["--database-url", f"sqlite:///{folder}/c.sqlite3", "--log-level", "warning"],
            prefix=pin("1"),
        ).start()
        self.orders = ServiceProcess(
            "order_subgraph",
            [
                *("--database-url", f"sqlite:///{folder}/o.sqlite3"),
                *("--customers-url", f"{self.customers.url}/graphql"),
                *("--log-level", "warning"),
            ],
            prefix=pin("1"),
        ).start()
        seed_orders(f"{self.orders.url}/graphql")
        sdl = (ROOT / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", f"{self.customers.url}/graphql")
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{self.orders.url}/graphql")
        (folder / "supergraph.graphql").write_text(sdl)
        (folder / "router.yaml").write_text(jwt_yaml())  # JWT and claim headers, else defaults
        self.router = ServiceProcess(
            "router",
            [
                *("--supergraph", str(folder / "supergraph.graphql")),
                *("--config", str(folder / "router.yaml")),
                *("--log-level", "warning"),
            ],
            subcommand=["serve"],
            prefix=pin("0"),
        ).start()

    @property
    def pid(self) -> int:
        assert self.router.process is not None
        return self.router.process.pid

    @property
    def url(self) -> str:
        return f"{self.router.url}/graphql"

    def healthy(self, seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.router.url}/health", timeout=1).status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def restart_router(self) -> None:
        process = self.router.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.router.process = None
        self.router.stop()  # closes its output file
        self.router.start()

    def stop(self) -> None:
        for service in (self.router, self.orders, self.customers):
            with contextlib.suppress(Exception):
                service.stop()


# --- what a case returns ---------------------------------------------------------------------


@dataclass
class Outcome:
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: int = 0
    note: str = ""
    timed_out: bool = False

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, status: int | str, body: bytes | None) -> None:
        self.requests += 1
        self.statuses[str(status)] += 1
        code, message = error_code(body)
        self.codes[code] += 1
        self.messages.setdefault(code, message)


def error_code(body: bytes | None) -> tuple[str, str]:
    """The first error's code (or what the body is instead) and its message, shortened."""
    if not body:
        return "—", ""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "(not JSON)", body[:40].decode(errors="replace")
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not errors:
        return ("(data)" if isinstance(answer, dict) and "data" in answer else "—"), ""
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = first.get("extensions", {}).get("code")
    message = str(first.get("message", ""))
    return (str(code) if code else "(no code)"), message[:70] + ("…" if len(message) > 70 else "")


def counted(counter: collections.Counter[str]) -> str:
    if len(counter) == 1 and sum(counter.values()) == 1:
        return next(iter(counter))
    return ", ".join(f"{key} ×{n}" for key, n in counter.most_common())


# --- the hostile requests ------------------------------------------------------------------


def fragment_bomb(levels: int, on: str, leaf: str) -> str:
    """`...F{levels}` where each fragment spreads the previous one twice: 2^levels leaves."""
    fragments = [f"fragment F0 on {on} {{ {leaf} }}"]
    fragments += [
        f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return " ".join(fragments)


def query_bomb(levels: int) -> str:
    return f"query {{ ...F{levels} }} " + fragment_bomb(levels, "Query", "__typename")


def customer_bomb(levels: int) -> str:
    return f'query {{ customer(id: "1") {{ ...F{levels} }} }} ' + fragment_bomb(
        levels, "Customer", "id"
    )


def padded(i: int, size: int = 1_900_000) -> str:
    """A valid 1.9 MB document that is nearly all comments and whitespace, distinct per i."""
    line = "#" + " " * 70 + "padding\n"
    return f"# document {i}\n{{ __typename }}\n" + line * (size // len(line))


def unparsable(i: int, size: int = 1_900_000) -> str:
    return f"{{ {i} " + "!" * size


CUSTOMERS_ORDERS = (
    "customers(first: 100) { edges { node { orders(first: 100) { edges { node { customer { "
    "orders(first: 100) { edges { node { id status total { amount } } } } } } } } } } }"
)
ORDER_FIELDS = [
    "id",
    "status",
    "createdAt",
    "total { amount }",
    "total { currency }",
    "items { sku }",
    "items { quantity }",
    "customer { name }",
]


def distinct_order_selections(count: int) -> str:
    combos = (
        c for r in range(1, len(ORDER_FIELDS) + 1) for c in itertools.combinations(ORDER_FIELDS, r)
    )
    parts = [
        f"orders {{ edges {{ node {{ {' '.join(c)} }} }} }}"
        for c in itertools.islice(combos, count)
    ]
    return f'{{ customer(id: "1") {{ {" ".join(parts)} }} }}'


async def post(client: httpx.AsyncClient, url: str, payload: Any, outcome: Outcome) -> None:
    response = await client.post(
        url, content=orjson.dumps(payload), headers={"content-type": "application/json"}
    )
    outcome.add(response.status_code, response.content)


async def raw_http(request: bytes, wait: float) -> tuple[str, bytes]:
    """Send raw bytes on a new connection, then read the answer: (status, body) or what
    happened instead."""
    reader, writer = await asyncio.open_connection(HOST, PORT[0])
    try:
        writer.write(request)
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
        except asyncio.IncompleteReadError as exc:
            return ("closed, no answer" if not exc.partial else "bad answer"), b""
        except TimeoutError:
            return f"no answer in {wait:g} s", b""
        status = head.split(b" ", 2)[1].decode()
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await asyncio.wait_for(reader.readexactly(length), wait) if length else b""
        return status, body
    except (ConnectionError, OSError) as exc:
        return type(exc).__name__, b""
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


PORT = [0]
POLL_COST_MS = [0.0]
JSON_QUERY = orjson.dumps({"query": "{ __typename }"})


def raw_post(extra_headers: bytes, body: bytes = JSON_QUERY, length: int | None = None) -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + extra_headers
        + f"Content-Length: {len(body) if length is None else length}\r\n\r\n".encode()
        + body
    )


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


@dataclass
class Row:
    case: Case
    outcome: Outcome
    cpu: float
    rss_before: float
    rss: float
    health: tuple[int, int]
    restarted: bool


def table(rows: list[Row]) -> str:
    lines = [
        "| case | HTTP status | error code | router CPU ms | RSS MB before → after | /health ok | "
        f"refused ≤ {REFUSAL_BUDGET_MS:g} ms CPU | note |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        outcome = row.outcome
        per = row.cpu / outcome.requests if outcome.requests > 1 else row.cpu
        cpu = f"{row.cpu:,.0f}" if outcome.requests <= 1 else f"{row.cpu:,.0f} ({per:,.1f} each)"
        if outcome.timed_out:
            cpu = f"≥ {row.cpu:,.0f} (no answer)"
        refused = "—"
        if row.case.document:
            answered_data = "(data)" in outcome.codes
            refused = (
                "yes"
                if per <= REFUSAL_BUDGET_MS and not outcome.timed_out and not answered_data
                else "**no**"
            )
        note = outcome.note
        said = [
            f"{code}: “{message}”"
            for code, message in outcome.messages.items()
            if message and code != "(data)"
        ]
        if said:
            note = "; ".join([*said, *([note] if note else [])])
        if row.restarted:
            note = (note + "; " if note else "") + "**router killed and restarted**"
        lines.append(
            f"| {row.case.name} | {counted(outcome.statuses)} | {counted(outcome.codes)} | {cpu} "
            f"| {row.rss_before:,.0f} → {row.rss:,.0f} | {row.health[0]}/{row.health[1]} "
            f"| {refused} | {note} |"
        )
    return "\n".join(lines)


async def run_case(
    case: Case, system: System, poller: HealthPoller, args: argparse.Namespace
) -> Row:
    pid = system.pid
    poller.counts()  # forget the polls before this case
    before = cpu_ms(pid)
    rss_before = rss_mb(pid)
    outcome = Outcome()
    async with httpx.AsyncClient(timeout=args.timeout, headers=AUTH) as client:
        try:
            # each request has the client timeout; the case as a whole a generous bound
            await asyncio.wait_for(case.run(system, client, args, outcome), 1200)
        except (TimeoutError, httpx.TimeoutException):
            outcome.timed_out = True
            outcome.add(f"no answer in {args.timeout:g} s", None)
        except httpx.HTTPError as exc:
            outcome.add(type(exc).__name__, None)
    try:
        spent, rss = cpu_ms(pid) - before, rss_mb(pid)
    except OSError:  # the router died
        spent, rss = float("nan"), float("nan")
        outcome.note = (outcome.note + "; " if outcome.note else "") + "router process died"
    health = poller.counts()
    # less the /health polls' own cost, measured at idle
    spent = max(0.0, spent - health[0] * POLL_COST_MS[0])
    restarted = False
    if outcome.timed_out or not system.healthy():
        system.restart_router()
        restarted = True
    return Row(case, outcome, spent, rss_before, rss, health, restarted)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="client timeout per request (s)"
    )
    parser.add_argument("--slowloris-seconds", type=float, default=20.0)
    parser.add_argument(
        "--only", nargs="*", help="run only the cases whose name contains one of these"
    )
    args = parser.parse_args()
    if pin("1"):
        os.sched_setaffinity(0, {1})
    folder = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    system = System(folder)
    PORT[0] = system.router.port
    poller = HealthPoller(system.router.port)
    poller.counts()
    idle = cpu_ms(system.pid)
    await asyncio.sleep(5)
    polls = poller.counts()[0]
    POLL_COST_MS[0] = (cpu_ms(system.pid) - idle) / max(1, polls)
    print(
        f"one /health poll costs the router {POLL_COST_MS[0]:.2f} ms of CPU at idle",
        file=sys.stderr,
    )
    rows: list[Row] = []
    try:
        for case in CASES:
            if args.only and not any(word.lower() in case.name.lower() for word in args.only):
                continue
            print(f"… {case.name}", file=sys.stderr, flush=True)
            rows.append(await run_case(case, system, poller, args))
    finally:
        poller.stop()
        system.stop()
    print(
        f"\nrouter: python -m router serve (router.yaml defaults, JWT with a development key; requests carry a staff token), real services on SQLite; "
        f"client timeout {args.timeout:g} s; /health polled every 100 ms from another process, "
        "each poll answered within 1 s or missed; "
        f"CPU is the router's, less {POLL_COST_MS[0]:.2f} ms per answered poll (their cost at idle)\n"
    )
    print(table(rows))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
