"""The subscribers' side of bench/subscriptions.py: who follows what and which writes are made,
the WebSocket clients (graphql-transport-ws over the `websockets` library, each `next`
stamped as it is read), and how their deliveries add up to delivered, lost, duplicated and
wrong ones. Pure but for `Clients`."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.harness.common import BenchError
from bench.live_system import AUTH

CREATED, CHANGED = "orderCreated", "orderStatusChanged"
SUBSCRIBE = {
    CREATED: "subscription($key: ID) { orderCreated(customerId: $key) { id status customer { name } } }",
    CHANGED: "subscription($key: ID!) { orderStatusChanged(orderId: $key) { id status customer { name } } }",
}
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
