"""Many subscriptions on one router process: how fast it fans events out, how late they arrive,
and what the open subscriptions cost in memory.

    .venv/bin/python -m bench.subscriptions [--subscribers 1000] [--duration 20] [--rate 20]
        [--dedupe on|off] [--customers 5] [--status-share 0.2] [--per-connection 10]

The real services on seeded SQLite and `python -m router serve` (bench/live_system.py). One
asyncio process opens `--subscribers` subscriptions over graphql-transport-ws (the
`websockets` library, `--per-connection` on each connection, signed in by connection_init's
headers): most follow `orderCreated(customerId)` of one of `--customers` customers, a
`--status-share` follow `orderStatusChanged(orderId)` of orders made for the run, each asking
`id status customer { name }`, so every event is completed with the customers service. Every
subscriber is seen live first (a probe order per customer, a probe move per order). Then
`--rate` mutations per second for `--duration` seconds through the router, alternately a
`createOrder` and an `advanceOrder` (PAID → SHIPPED → DELIVERED).

Printed: deliveries per second (the fan-out rate), each delivery's latency from the mutation's
answer (the write committed before the answer left; an event can arrive before it, a negative
latency) and from its request, the router's RSS before and after subscribing and at the end,
its CPU time, the upstream subscriptions the orders service has open (its /health), and the
deliveries lost, misrouted or incomplete, which must all be 0 (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.common import BenchError  # noqa: E402
from bench.harness.stats import spread_ms  # noqa: E402
from bench.harness.usage import PeakRss, cpu_seconds, process_tree, rss_kb  # noqa: E402
from bench.live_system import AUTH, LiveSystem, live_system  # noqa: E402
from bench.subscribers import (  # noqa: E402
    CHANGED,
    CREATED,
    WAIT,
    Clients,
    Delivery,
    Outcome,
    Sent,
    Subscription,
    Write,
    event_of,
    followed_orders,
    layout,
    outcome,
    writes,
)

CREATE = (
    'mutation($c: ID!) { createOrder(input: {customerId: $c, items: [{sku: "BENCH", '
    'quantity: 1, unitPrice: "1.00"}]}) { id status } }'
)
ADVANCE = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { id status } }"

# --- the writes --------------------------------------------------------------------------------


async def mutate(session: aiohttp.ClientSession, url: str, write: Write) -> Sent:
    """Make `write` through the router; raises BenchError when it is refused."""
    if write.field == CREATED:
        body: dict[str, Any] = {"query": CREATE, "variables": {"c": write.key}}
    else:
        body = {"query": ADVANCE, "variables": {"id": write.key, "to": write.to}}
    sent = time.perf_counter()
    async with session.post(f"{url}/graphql", data=orjson.dumps(body)) as response:
        answer = orjson.loads(await response.read())
    answered = time.perf_counter()
    order = (answer.get("data") or {}).get(
        "createOrder" if write.field == CREATED else "advanceOrder"
    )
    if "errors" in answer or not order or order["status"] != write.to:
        raise BenchError(f"{write} refused: {str(answer)[:300]}")
    return Sent(write, sent, answered, (write.field, str(order["id"]), write.to))


async def drive(
    session: aiohttp.ClientSession, url: str, plan: list[Write], rate: float
) -> tuple[list[Sent], list[str]]:
    """The mutations of `plan` at `rate` per second, each sent on time (not after the last's
    answer); those made, and why the others were refused."""
    start = time.perf_counter()
    tasks = []
    for i, write in enumerate(plan):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(mutate(session, url, write)))
    done = await asyncio.gather(*tasks, return_exceptions=True)
    for item in done:
        if isinstance(item, BaseException) and not isinstance(item, BenchError):
            raise item
    return [d for d in done if isinstance(d, Sent)], [
        str(d) for d in done if isinstance(d, BenchError)
    ]


async def probe(
    session: aiohttp.ClientSession, url: str, clients: Clients, orders: list[str]
) -> None:
    """Every subscriber seen live: an order of each followed customer (again, up to 5 rounds,
    until each orderCreated subscriber has one), then every followed order moved to PAID."""
    subs = clients.subscriptions
    for field_name, rounds in ((CREATED, 5), (CHANGED, 1)):
        waiting = {i for i, s in enumerate(subs) if s.field == field_name}
        keys = sorted({subs[i].key for i in waiting}) if field_name == CREATED else orders
        for _ in range(rounds):
            if not waiting:
                break
            made = [
                await mutate(
                    session,
                    url,
                    Write(field_name, key, "PENDING" if field_name == CREATED else "PAID"),
                )
                for key in keys
            ]
            waiting -= await clients.received({m.event for m in made}, waiting, 10.0)
        if waiting:
            raise BenchError(
                f"{len(waiting)} {field_name} subscribers never received a probe event"
            )


async def upstream_subscriptions(system: LiveSystem) -> int:
    """The subscriptions the orders service has open (its /health counts them)."""
    async with aiohttp.ClientSession() as session, session.get(f"{system.orders.url}/health") as r:
        return int(orjson.loads(await r.read())["subscriptions"])


async def settle_upstream(system: LiveSystem, expected: int, seconds: float = 60.0) -> int:
    """Wait (up to `seconds`) until the orders service has `expected` subscriptions open."""
    deadline = time.monotonic() + seconds
    while (  # noqa: ASYNC110 (polling another process's /health)
        seen := await upstream_subscriptions(system)
    ) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return seen


async def drained(clients: Clients, sent: list[Sent], seconds: float = WAIT) -> None:
    """Wait until every measured event has reached all its subscribers, or nothing more has
    arrived for 5 s, or `seconds`."""
    wanted = Counter((s.field, s.key) for s in clients.subscriptions)
    expected = sum(wanted[(s.write.field, s.write.key)] for s in sent)
    events = {s.event for s in sent}
    arrived = read = 0
    deadline, quiet = time.monotonic() + seconds, time.monotonic() + 5
    while arrived < expected and time.monotonic() < min(deadline, quiet):
        new = clients.deliveries[read:]
        read += len(new)
        found = sum(1 for d in new if event_of(d, clients.subscriptions[d.subscriber]) in events)
        if found:
            arrived, quiet = arrived + found, time.monotonic() + 5
        await asyncio.sleep(0.05)


def rss_mb(pid: int) -> float:
    return sum(rss_kb(p) for p in process_tree(pid)) / 1024


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Run:
    """What one run measured besides the deliveries."""

    subscriptions: list[Subscription]
    connections: int
    retried: int
    """Subscribes refused with REQUEST_CONCURRENCY_LIMITED and sent again."""
    upstream: tuple[int, int]
    """The orders service's open subscriptions once subscribed, and at the end."""
    rss: tuple[float, float, float, float]
    """Router RSS MB: before subscribing, subscribed, peak under load, at the end."""
    cpu: tuple[float, float, float]
    """CPU seconds from the first mutation to the last delivery: the router, the two services,
    this client."""
    sent: list[Sent]
    refused: list[str]
    """The mutations the router refused (an overloaded system's timeouts)."""
    deliveries: list[Delivery]
    placement: str
    load: tuple[float, float]
    """The machine's 1-minute load average before and after (others' processes count too)."""


def config(args: argparse.Namespace) -> str:
    dedupe = "true" if args.dedupe == "on" else "false"
    return (
        f"subscription: {{ max_total: {args.subscribers + 100}, "
        f"max_per_connection: {args.per_connection}, enable_deduplication: {dedupe} }}\n"
    )


async def measure(args: argparse.Namespace) -> Run:
    load = os.getloadavg()[0]
    async with live_system("subscriptions", config(args)) as system:
        headers = {**AUTH, "content-type": "application/json"}
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            url, pid = system.url, system.router_pid
            first = [
                Write(CREATED, str(1 + j % args.customers))
                for j in range(followed_orders(args.rate, args.duration, args.status_share))
            ]
            orders = [(await mutate(session, url, w)).event[1] for w in first]
            subs = layout(args.subscribers, args.customers, args.status_share, orders)
            before = rss_mb(pid)
            clients = Clients(url, subs, args.per_connection)
            await clients.open()
            distinct = len({(s.field, s.key) for s in subs})
            upstream = await settle_upstream(system, distinct if args.dedupe == "on" else len(subs))
            await probe(session, url, clients, orders)
            subscribed = rss_mb(pid)
            peak = PeakRss(pid)
            peak.start()
            services = [p.process.pid for p in (system.customers, system.orders) if p.process]
            cpu = (cpu_seconds(pid), sum(map(cpu_seconds, services)), time.process_time())
            plan = writes(int(args.rate * args.duration), args.customers, orders)
            sent, refused = await drive(session, url, plan, args.rate)
            await drained(clients, sent)
            now = (cpu_seconds(pid), sum(map(cpu_seconds, services)), time.process_time())
            used = (now[0] - cpu[0], now[1] - cpu[1], now[2] - cpu[2])
            peak.stop()
            end, upstream_end = rss_mb(pid), await upstream_subscriptions(system)
            await clients.close()
            if clients.problems:
                raise BenchError(f"subscribers saw: {clients.problems[:3]}")
            return Run(
                subs,
                len(clients.tasks),
                clients.retried,
                (upstream, upstream_end),
                (before, subscribed, peak.peak_mb, end),
                used,
                sent,
                refused,
                clients.deliveries,
                system.placement,
                (load, os.getloadavg()[0]),
            )


def share(seconds: float, window: float) -> str:
    """CPU seconds as a share of one core over `window` seconds."""
    return f"{seconds:.2f} s ({seconds / window * 100 if window else 0:.0f}% of a core)"


def report(args: argparse.Namespace, run: Run) -> Outcome:
    result = outcome(run.subscriptions, run.sent, run.deliveries)
    kinds = Counter(s.field for s in run.subscriptions)
    made = Counter(s.write.field for s in run.sent)
    before, subscribed, peak, end = run.rss
    per_event = result.expected / len(run.sent) if run.sent else 0
    lines = [
        f"{len(run.subscriptions)} subscriptions over {run.connections} WebSocket connections "
        f"(graphql-transport-ws): {kinds[CREATED]} orderCreated of {args.customers} customers, "
        f"{kinds[CHANGED]} orderStatusChanged of {len({s.key for s in run.subscriptions if s.field == CHANGED})} orders; "
        f"deduplication {args.dedupe}",
        f"{len(run.sent) + len(run.refused)} mutations at {args.rate:g}/s for {args.duration:g} s "
        f"({made[CREATED]} createOrder, {made[CHANGED]} advanceOrder), {per_event:.1f} deliveries each on average",
        f"{run.placement}; the client is one asyncio process; "
        f"load average {run.load[0]:.1f} at the start, {run.load[1]:.1f} at the end",
        "",
        f"fan-out rate     {result.rate:,.0f} deliveries/s ({result.delivered} in {result.window:.2f} s)",
        f"latency, from the mutation's answer   {spread_ms(result.from_answer)}",
        f"latency, from the mutation's request  {spread_ms(result.from_request)}",
        f"an event's first to last subscriber   {spread_ms(result.spread)}",
        f"router RSS       {before:.1f} MB before subscribing, {subscribed:.1f} MB subscribed "
        f"({(subscribed - before) * 1024 / max(1, len(run.subscriptions)):.1f} KB each), "
        f"{peak:.1f} MB peak under load, {end:.1f} MB at the end",
        f"CPU over the {result.window:.2f} s: router {share(run.cpu[0], result.window)} "
        f"({run.cpu[0] / max(1, result.delivered) * 1e6:.0f} µs per delivery), "
        f"services {share(run.cpu[1], result.window)}, this client {share(run.cpu[2], result.window)}",
        f"subscribes refused REQUEST_CONCURRENCY_LIMITED while the operation was new, sent again: {run.retried}",
        f"upstream subscriptions open (orders service): {run.upstream[0]} once subscribed, {run.upstream[1]} at the end",
        f"mutations refused {len(run.refused)}{': ' + run.refused[0][:200] if run.refused else ''}",
        f"deliveries expected {result.expected}, lost {result.lost}, duplicated {result.unexpected}, "
        f"wrong or incomplete {result.wrong}",
    ]
    print("\n".join(lines))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of mutations")
    parser.add_argument("--rate", type=float, default=20.0, help="mutations per second")
    parser.add_argument("--dedupe", choices=["on", "off"], default="on")
    parser.add_argument("--customers", type=int, default=5, help="customers followed")
    parser.add_argument("--status-share", type=float, default=0.2)
    parser.add_argument("--per-connection", type=int, default=10)
    args = parser.parse_args()
    try:
        run = asyncio.run(measure(args))
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = report(args, run)
    clean = result.lost == result.unexpected == result.wrong == len(run.refused) == 0
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
