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
import math
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.common import BenchError  # noqa: E402
from bench.harness.stats import spread_ms  # noqa: E402
from bench.harness.usage import PeakRss, cpu_seconds, process_tree, rss_kb  # noqa: E402
from bench.live_system import AUTH, LiveSystem, live_system  # noqa: E402

CREATED, CHANGED = "orderCreated", "orderStatusChanged"
SUBSCRIBE = {
    CREATED: "subscription($key: ID) { orderCreated(customerId: $key) { id status customer { name } } }",
    CHANGED: "subscription($key: ID!) { orderStatusChanged(orderId: $key) { id status customer { name } } }",
}
CREATE = (
    'mutation($c: ID!) { createOrder(input: {customerId: $c, items: [{sku: "BENCH", '
    'quantity: 1, unitPrice: "1.00"}]}) { id status } }'
)
ADVANCE = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { id status } }"
MOVES = ("SHIPPED", "DELIVERED")
"""The measured moves of a followed order, after its probe move to PAID."""
WAIT = 30.0


def customer_name(customer: str) -> str:
    """bench/services.py's seed names customer N "Customer N"."""
    return f"Customer {customer}"


# --- who follows what, and which writes are made -------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One client subscription: `field` of `key` (a customer id, or an order id)."""

    field: str
    key: str


@dataclass(frozen=True)
class Write:
    """One measured mutation: a new order of customer `key`, or order `key` moved to `to`."""

    field: str
    key: str
    to: str = "PENDING"


def layout(subscribers: int, customers: int, share: float, orders: list[str]) -> list[Subscription]:
    """The subscriptions: `share` of them on the `orders`' status in turn, the rest on the
    customers 1..`customers`' new orders in turn."""
    changed = round(subscribers * share) if orders else 0
    found = [Subscription(CHANGED, orders[i % len(orders)]) for i in range(changed)]
    found += [Subscription(CREATED, str(1 + i % customers)) for i in range(subscribers - changed)]
    random.Random(15).shuffle(found)  # each connection holds a mix
    return found


def followed_orders(rate: float, duration: float, share: float) -> int:
    """How many orders the status subscribers follow: enough for every measured move."""
    if share <= 0:
        return 0
    moves = int(rate * duration) // 2
    return max(1, math.ceil(moves / len(MOVES)))


def writes(count: int, customers: int, orders: list[str]) -> list[Write]:
    """`count` mutations: new orders of each customer in turn, alternating (when orders are
    followed) with the followed orders' moves in turn, each order moving SHIPPED, DELIVERED."""
    made: list[Write] = []
    moves = [Write(CHANGED, order, to) for to in MOVES for order in orders]
    created = 0
    for i in range(count):
        if moves and i % 2 == 1 and i // 2 < len(moves):
            made.append(moves[i // 2])
        else:
            made.append(Write(CREATED, str(1 + created % customers)))
            created += 1
    return made


# --- what the clients received, and what it adds up to -----------------------------------------


@dataclass
class Delivery:
    """One `next` message: when it arrived, at which subscriber (an index into the layout),
    with what payload."""

    at: float
    subscriber: int
    payload: dict[str, Any]


@dataclass
class Sent:
    """A mutation as made: when it was sent and answered, and the event key it makes."""

    write: Write
    sent: float
    answered: float
    event: tuple[str, str, str]
    """(field, order id, status): what every subscriber of it receives."""


def event_of(delivery: Delivery, sub: Subscription) -> tuple[str, str, str] | None:
    """The (field, order id, status) a delivery to `sub` carries; None when it is not a clean
    event of it (errors, no customer name, another customer's or order's)."""
    order = (delivery.payload.get("data") or {}).get(sub.field)
    if "errors" in delivery.payload or not isinstance(order, dict):
        return None
    if sub.field == CHANGED and order["id"] != sub.key:
        return None
    if not order.get("customer") or not order["customer"].get("name"):
        return None
    if sub.field == CREATED and order["customer"]["name"] != customer_name(sub.key):
        return None
    return (sub.field, str(order["id"]), str(order["status"]))


@dataclass
class Outcome:
    """The measured deliveries, summed up."""

    expected: int = 0
    delivered: int = 0
    lost: int = 0
    unexpected: int = 0
    wrong: int = 0
    from_answer: list[float] = field(default_factory=list)
    from_request: list[float] = field(default_factory=list)
    window: float = 0.0
    """Seconds from the first mutation sent to the last delivery."""
    spread: list[float] = field(default_factory=list)
    """Per event: seconds from its first subscriber's receipt to its last's."""

    @property
    def rate(self) -> float:
        return self.delivered / self.window if self.window > 0 else 0.0


def outcome(
    subscriptions: list[Subscription], sent: list[Sent], deliveries: list[Delivery]
) -> Outcome:
    """Match every delivery to the measured mutation whose event it carries: each event counts
    once per subscriber (a second copy is a duplicate); one that a subscriber of another key
    got, or that came with errors or without its customer's name, is wrong."""
    by_event = {s.event: s for s in sent}
    counts = Counter((s.field, s.key) for s in subscriptions)
    result = Outcome()
    arrived: Counter[tuple[str, str, str]] = Counter()
    reached: dict[tuple[str, str, str], tuple[float, float]] = {}
    seen: set[tuple[tuple[str, str, str], int]] = set()
    last = 0.0
    for delivery in deliveries:
        event = event_of(delivery, subscriptions[delivery.subscriber])
        if event is None:
            result.wrong += 1
            continue
        made = by_event.get(event)
        if made is None:
            continue  # a probe's event, or one before the measurement
        if (event, delivery.subscriber) in seen:
            result.unexpected += 1  # a second copy at the same subscriber
            continue
        seen.add((event, delivery.subscriber))
        arrived[event] += 1
        result.from_answer.append(delivery.at - made.answered)
        result.from_request.append(delivery.at - made.sent)
        first, final = reached.get(event, (delivery.at, delivery.at))
        reached[event] = (min(first, delivery.at), max(final, delivery.at))
        last = max(last, delivery.at)
    for made in sent:
        want = counts[(made.write.field, made.write.key)]
        got = arrived[made.event]
        result.expected += want
        result.delivered += got
        result.lost += want - got
    result.spread = [final - first for first, final in reached.values()]
    if sent:
        result.window = last - min(s.sent for s in sent) if last else 0.0
    return result


# --- the subscribers ---------------------------------------------------------------------------


def limited(message: dict[str, Any]) -> bool:
    """An `error` message refusing a subscribe with REQUEST_CONCURRENCY_LIMITED."""
    errors = message.get("payload") or []
    return any(
        (e.get("extensions") or {}).get("code") == "REQUEST_CONCURRENCY_LIMITED" for e in errors
    )


class Clients:
    """The subscribers' WebSocket connections, `per_connection` subscriptions on each, and
    every `next` they received, stamped as it was read."""

    def __init__(self, url: str, subscriptions: list[Subscription], per_connection: int) -> None:
        self.ws_url = url.replace("http://", "ws://", 1) + "/graphql"
        self.subscriptions = subscriptions
        self.per_connection = per_connection
        self.deliveries: list[Delivery] = []
        self.problems: list[str] = []
        self.retried = 0
        """Subscribes refused with REQUEST_CONCURRENCY_LIMITED (too many new operations being
        prepared at once) and sent again."""
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Connect, sign in and subscribe on every connection (at most 20 opening at once)."""
        gate = asyncio.Semaphore(20)
        count = len(self.subscriptions)
        ready = []
        for first in range(0, count, self.per_connection):
            event = asyncio.Event()
            ready.append(event)
            indices = range(first, min(count, first + self.per_connection))
            self.tasks.append(asyncio.create_task(self._connection(indices, gate, event)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), WAIT * 4)
        if self.problems:
            raise BenchError(f"{len(self.problems)} subscribers failed: {self.problems[:3]}")

    async def _connection(
        self, indices: range, gate: asyncio.Semaphore, ready: asyncio.Event
    ) -> None:
        try:
            async with gate:
                ws = await connect(
                    self.ws_url,
                    subprotocols=["graphql-transport-ws"],
                    open_timeout=WAIT,  # type: ignore[list-item]
                )
                init = {"type": "connection_init", "payload": {"headers": AUTH}}
                await ws.send(orjson.dumps(init).decode())
                ack = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT))
                if ack.get("type") != "connection_ack":
                    raise BenchError(f"no connection_ack: {ack}")
                for i in indices:
                    await ws.send(self.subscribe(i))
        except Exception as error:  # any failure to subscribe is reported, not raised
            self.problems.append(repr(error))
            return
        finally:
            ready.set()
        async with ws:
            await self._read(ws)

    def subscribe(self, i: int) -> str:
        """The `subscribe` message of subscriber `i` (its id: `i`)."""
        sub = self.subscriptions[i]
        payload = {"query": SUBSCRIBE[sub.field], "variables": {"key": sub.key}}
        return orjson.dumps({"id": str(i), "type": "subscribe", "payload": payload}).decode()

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            at = time.perf_counter()
            message = orjson.loads(raw)
            kind = message["type"]
            if kind == "next":
                self.deliveries.append(Delivery(at, int(message["id"]), message["payload"]))
            elif kind == "ping":
                await ws.send('{"type":"pong"}')
            elif kind == "error" and limited(message):
                self.retried += 1  # the router's own advice: try again
                await asyncio.sleep(0.05)
                await ws.send(self.subscribe(int(message["id"])))
            elif kind != "pong":
                self.problems.append(f"{kind}: {str(message)[:200]}")

    async def received(
        self, events: set[tuple[str, str, str]], who: set[int], seconds: float
    ) -> set[int]:
        """The subscribers of `who` that have received one of `events`, once all have or
        `seconds` have passed."""
        got: set[int] = set()
        read = 0
        deadline = time.monotonic() + seconds
        while True:
            new = self.deliveries[read:]
            read += len(new)
            for d in new:
                if d.subscriber in who and event_of(d, self.subscriptions[d.subscriber]) in events:
                    got.add(d.subscriber)
            if got >= who or time.monotonic() > deadline:
                return got
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


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
