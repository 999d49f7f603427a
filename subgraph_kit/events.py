"""Domain events: published when the transaction that wrote them commits, never when it rolls back.

A write stages its events inside its transaction (`Database.publishing`); subscribers ask for
one topic, of one key or of all (`EventBus.subscribe`). Two buses, picked by the database URL
(`event_bus`):

- `LocalBus` (SQLite): the events are handed to this process's subscribers once the commit
  has returned. Another process on the same file does not see them.
- `PostgresBus` (PostgreSQL): each event is a `NOTIFY` on the service's channel, sent inside
  the transaction, which PostgreSQL delivers only if it commits, to every session that
  `LISTEN`s: one connection per process, so a subscriber of one replica sees writes made
  through another. The listener connection is probed every `KEEPALIVE` seconds and made again
  when it is lost. What is committed while it is down is never delivered (NOTIFY keeps
  nothing), so no subscription may go on as if it had missed nothing: when the connection is
  lost, every open subscription ends with `EventsInterrupted` (SERVICE_UNAVAILABLE), and its
  client subscribes again (and reads what it may have missed).

A subscriber that falls `QUEUE_SIZE` events behind is dropped: its stream ends with
`SubscriberTooSlow` (SERVICE_UNAVAILABLE) rather than holding the events of every other
subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from subgraph_kit.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
"""Events one subscriber may have waiting before it is dropped."""
KEEPALIVE = 10.0
"""Seconds between the listener connection's probes (and the longest a probe may take)."""
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Seconds to wait before each attempt to make the listener connection again (the last repeats)."""
INTERRUPTED = (
    "the events stopped reaching this service for a while (its database listener was lost), "
    "so some may be missed: subscribe again"
)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: its topic ("orderCreated"), the key subscribers filter on (a
    customer id, an order id), and what it carries (a JSON object)."""

    topic: str
    key: str
    data: dict[str, Any]

    def encode(self) -> str:
        return orjson.dumps({"topic": self.topic, "key": self.key, "data": self.data}).decode()

    @classmethod
    def decode(cls, payload: str) -> Event:
        raw = orjson.loads(payload)
        return cls(str(raw["topic"]), str(raw["key"]), dict(raw["data"]))


Publish = Callable[[Event], None]
"""Stages an event in the transaction it is given to (`Database.publishing`)."""


class SubscriberTooSlow(ServiceUnavailable):
    """A subscriber fell QUEUE_SIZE events behind and was dropped."""


class EventsInterrupted(ServiceUnavailable):
    """The events stopped reaching this process for a while (its PostgreSQL listener was lost):
    the subscription ends, as some may be missed."""


class Subscriber:
    """One subscription's queue of events: of `topic`, of `key` (None: every key)."""

    def __init__(self, topic: str, key: str | None) -> None:
        self.topic = topic
        self.key = key
        self._queue: asyncio.Queue[Event | ServiceUnavailable] = asyncio.Queue(QUEUE_SIZE + 1)
        self._ended = False

    def offer(self, event: Event) -> bool:
        """Queue the event; False (and the stream ends) when the subscriber is too far behind."""
        if self._queue.qsize() >= QUEUE_SIZE:
            self.end(SubscriberTooSlow(f"fell {QUEUE_SIZE} events behind and was dropped"))
            return False
        self._queue.put_nowait(event)
        return True

    def end(self, error: ServiceUnavailable) -> None:
        """End the stream, after the events queued, with `error`."""
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(error)  # the queue keeps one place for it

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not isinstance(item := await self._queue.get(), ServiceUnavailable):
            yield item
        raise item


class EventBus:
    """Delivers committed events to this process's subscribers; subclasses say how an event
    travels from a transaction to them."""

    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str | None], set[Subscriber]] = {}
        """By (topic, key): an event reaches its own key's and its topic's every-key ones,
        without a scan of every open subscription."""

    @property
    def subscriptions(self) -> int:
        """How many subscriptions are open in this process."""
        return sum(len(group) for group in self._subscribers.values())

    @contextlib.contextmanager
    def subscribe(self, topic: str, key: str | None = None) -> Iterator[Subscriber]:
        """A `Subscriber` receiving, from now on, the committed events of `topic` (of `key`)."""
        subscriber = Subscriber(topic, key)
        self._subscribers.setdefault((topic, key), set()).add(subscriber)
        try:
            yield subscriber
        finally:
            self._drop(subscriber)

    def deliver(self, event: Event) -> None:
        """Offer `event` to the subscribers that want it; drop those too far behind."""
        for route in {(event.topic, None), (event.topic, event.key)}:
            for subscriber in list(self._subscribers.get(route, ())):
                if not subscriber.offer(event):
                    self._drop(subscriber)

    def interrupt(self, error: ServiceUnavailable) -> None:
        """End every open subscription with `error` (events may have been missed)."""
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.end(error)
                self._drop(subscriber)

    def _drop(self, subscriber: Subscriber) -> None:
        route = (subscriber.topic, subscriber.key)
        group = self._subscribers.get(route)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self._subscribers[route]

    def stage(self, conn: Connection, event: Event) -> None:
        """Called inside the transaction that writes `event`'s change."""

    def committed(self, events: Sequence[Event]) -> None:
        """Called once that transaction has committed."""

    async def start(self) -> None:
        """Ready to deliver: on return, every event committed from now on reaches subscribers."""

    async def close(self) -> None:
        """Stop delivering and let go of any connection."""


class LocalBus(EventBus):
    """Events of this process's transactions, handed over in process after their commit."""

    def committed(self, events: Sequence[Event]) -> None:
        for event in events:
            self.deliver(event)


class PostgresBus(EventBus):
    """Events as `NOTIFY` on `channel`, received by one `LISTEN`ing connection per process."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self.connects = 0
        """How many times the listener connection has been made (tests watch it come back)."""
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def stage(self, conn: Connection, event: Event) -> None:
        conn.execute(select(func.pg_notify(self.channel, event.encode())))

    async def start(self) -> None:
        self._connection = await self._listen()
        self._task = asyncio.create_task(self._keep_listening(), name=f"LISTEN {self.channel}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_connection()

    async def _listen(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(
            self.url, server_settings={"application_name": f"{self.channel} listener"}
        )
        try:
            await connection.add_listener(self.channel, self._received)
        except BaseException:
            await connection.close()
            raise
        self._lost.clear()
        connection.add_termination_listener(self._terminated)
        self.connects += 1
        return connection

    def _terminated(self, connection: object) -> None:
        if connection is self._connection:  # not one dropped already, closing late
            self._lost.set()

    def _received(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        try:
            event = Event.decode(payload)
        except (ValueError, KeyError, TypeError):
            logger.warning(
                "ignored a notification on %s that is no event: %.200s", channel, payload
            )
            return
        self.deliver(event)

    async def _keep_listening(self) -> None:
        """Probe the listener connection; make it again, with growing pauses, once it is lost
        (closed by the server, or a probe unanswered)."""
        failures = 0
        while True:
            try:
                if self._connection is None:
                    self._connection = await self._listen()
                    logger.info("listening on %s again", self.channel)
                    failures = 0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), KEEPALIVE)
                if self._lost.is_set():
                    raise ConnectionResetError("the server closed the connection")
                await asyncio.wait_for(self._connection.fetchval("SELECT 1"), KEEPALIVE)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                await self._drop_connection()
                if failures == 0:  # the subscriptions open now may miss events: end them
                    self.interrupt(EventsInterrupted(INTERRUPTED))
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                logger.warning("lost the %s listener (%s); again in %gs", self.channel, exc, delay)
                await asyncio.sleep(delay)

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await connection.close(timeout=5)


def event_bus(database_url: str, channel: str) -> EventBus:
    """The bus for this database: PostgresBus on PostgreSQL (NOTIFY/LISTEN on `channel`, a
    lower-case identifier), LocalBus otherwise."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return LocalBus()
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresBus(plain, channel)
