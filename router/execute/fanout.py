"""One source stream shared by every subscriber asking for the same thing (subscription
de-duplication, Apollo Router's `subscription.enable_deduplication`).

    fanout = Fanout[JSONObject](capacity=128)
    listener = fanout.join(key, make)   # the stream under `key`, started by `make()` if none
    await listener.opened()             # the source opened (or its open's exception, raised)
    async for item in listener: ...     # every item the source yields from now on
    listener.ready(10)                  # up to 10 items queued now, without waiting
    await listener.leave()              # the last one leaving closes the source

The first `join` of a key makes its `Source` and starts one task (the pump) that opens it and
puts each item it yields into every listener's queue. A listener that joins later waits for the
same open and sees the items that arrive after it joined (a subscription has no history). When
the source ends, every listener's iteration ends; when it raises, every listener raises that
exception (after the items queued before it); either way the key is free again at once, so a
later `join` starts a fresh source. When the last listener leaves, the pump is cancelled and the
source closed.

Each listener's queue holds at most `capacity` unread items: a listener that falls that far
behind is dropped (`FellBehind`, raised after the items it had queued), so a subscriber that
stops reading neither holds memory without bound nor stalls the others; when it was the last
one, the source is closed.

`Mapped` is a source made of another fan-out's stream, its items mapped by an async function a
batch at a time: a subscription's upstream events, completed (their entity fetches) once for
every client that asked the same, the events queued together completed together, while clients
that asked something else of the same upstream events map them their own way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Protocol, TypeVar

from router.errors import RouterError

__all__ = ["CAPACITY", "Fanout", "FellBehind", "Listener", "Mapped", "Source"]

S = TypeVar("S")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

CAPACITY = 128
"""Unread items a listener may hold by default (Apollo Router's `subscription.queue_capacity`)."""


class FellBehind(RouterError):
    """A listener left `capacity` items unread: it was dropped from its stream."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"the subscriber fell {capacity} events behind and was dropped")
        self.capacity = capacity


class Source(Protocol[T_co]):
    """A stream that is opened, iterated and closed (`UpstreamSubscription` is one)."""

    async def open(self) -> None:
        """Open the stream; raises when it cannot be."""
        ...

    def __aiter__(self) -> Source[T_co]: ...

    async def __anext__(self) -> T_co:
        """The next item; StopAsyncIteration at its end."""
        ...

    async def close(self) -> None:
        """Close the stream (idempotent)."""
        ...


class _End:
    """Put in a queue after a source's last item."""


_END = _End()


class Fanout(Generic[T]):
    """The shared streams open now, by key; each listener holds at most `capacity` unread
    items (None: no bound)."""

    def __init__(self, capacity: int | None = CAPACITY) -> None:
        self._streams: dict[Hashable, _Stream[T]] = {}
        self.capacity = capacity

    def __len__(self) -> int:
        """How many sources are open (or opening) now."""
        return len(self._streams)

    def listening(self) -> int:
        """How many listeners the open sources have, together."""
        return sum(len(stream.listeners) for stream in self._streams.values())

    def pending(self) -> int:
        """How many items wait unread in the listeners' queues, together."""
        return sum(
            listener.pending for stream in self._streams.values() for listener in stream.listeners
        )

    def join(self, key: Hashable, make: Callable[[], Source[T]]) -> Listener[T]:
        """A listener to the stream under `key`: the open one, else one made by `make()` and
        started now."""
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(self, key, make())
        return stream.add()

    def _ended(self, stream: _Stream[T]) -> None:
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]


class Listener(Generic[T]):
    """One subscriber's view of a shared stream: its items, in order, from when it joined."""

    def __init__(self, stream: _Stream[T], capacity: int | None) -> None:
        self._stream = stream
        self._capacity = capacity
        self._items: deque[T | _End | BaseException] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._left = False

    @property
    def pending(self) -> int:
        """How many items are queued, unread."""
        return len(self._items)

    async def opened(self) -> None:
        """Wait until the source is open; its open's exception when it failed."""
        await asyncio.shield(self._stream.opened)

    def __aiter__(self) -> Listener[T]:
        return self

    async def __anext__(self) -> T:
        """The next item; StopAsyncIteration after the last; the source's exception (or
        FellBehind), raised."""
        if self._left:
            raise StopAsyncIteration
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if isinstance(item, _End):
            self._left = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._left = True
            raise item
        return item

    def ready(self, limit: int) -> list[T]:
        """Up to `limit` items queued now, taken without waiting; an end or an exception is
        left for the next `__anext__`."""
        items, taken = self._items, list[T]()
        while items and len(taken) < limit:
            item = items[0]
            if isinstance(item, (_End, BaseException)):
                break
            taken.append(items.popleft())  # type: ignore[arg-type]
        return taken

    async def leave(self) -> None:
        """Stop listening; the last listener leaving closes the source. Idempotent."""
        self._left = True
        await self._stream.remove(self)

    def _offer(self, item: T) -> bool:
        """Queue `item`; False (nothing queued) when the queue is full."""
        if self._capacity is not None and len(self._items) >= self._capacity:
            return False
        self._put(item)
        return True

    def _put(self, item: T | _End | BaseException) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Stream(Generic[T]):
    """One source, its listeners, and the task pumping its items to them."""

    def __init__(self, fanout: Fanout[T], key: Hashable, source: Source[T]) -> None:
        self.fanout = fanout
        self.key = key
        self.source = source
        self.listeners: list[Listener[T]] = []
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.task = loop.create_task(self._pump())

    def add(self) -> Listener[T]:
        listener = Listener(self, self.fanout.capacity)
        self.listeners.append(listener)
        return listener

    async def remove(self, listener: Listener[T]) -> None:
        try:
            self.listeners.remove(listener)
        except ValueError:
            return  # left already, or dropped
        if self.listeners or self.task.done():
            return
        self.fanout._ended(self)  # no one listens: a later join starts afresh
        self.task.cancel()
        await asyncio.wait([self.task])  # the source closed (the caller's own cancel still raises)

    async def _pump(self) -> None:
        try:
            try:
                await self.source.open()
            except Exception as exc:
                self._end(exc)
                return
            self.opened.set_result(None)
            try:
                async for item in self.source:
                    if not self._deliver(item):
                        return  # every listener was dropped: the source is closed
            except Exception as exc:
                self._end(exc)
            else:
                self._end(_END)
        finally:
            if not self.opened.done():  # cancelled while opening: nobody waits for it
                self.opened.cancel()
            await self.source.close()

    def _deliver(self, item: T) -> bool:
        """`item` queued for every listener, those whose queues are full dropped; False when
        none is left (the key is then free)."""
        dropped = [listener for listener in self.listeners if not listener._offer(item)]
        for listener in dropped:
            self.listeners.remove(listener)
            listener._put(FellBehind(listener._capacity or 0))
        if self.listeners:
            return True
        self.fanout._ended(self)
        return False

    def _end(self, last: _End | Exception) -> None:
        """The source is over: free the key, and tell every listener."""
        self.fanout._ended(self)
        if not self.opened.done():
            assert isinstance(last, Exception)
            self.opened.set_exception(last)
            self.opened.exception()  # retrieved: every listener re-raises it itself
        for listener in self.listeners:
            listener._put(last)


class Mapped(Generic[S, T]):
    """A `Source` of another fan-out's stream under `key` (joined on `open`, made by `make` if
    none), its items mapped by `map` a batch at a time: the items queued when a batch starts,
    up to `batch` of them, mapped together (one list in, one result each out), the results
    yielded one by one, in order."""

    def __init__(
        self,
        fanout: Fanout[S],
        key: Hashable,
        make: Callable[[], Source[S]],
        map: Callable[[list[S]], Awaitable[list[T]]],
        *,
        batch: int = 1,
    ) -> None:
        self._fanout = fanout
        self._key = key
        self._make = make
        self._map = map
        self._batch = max(1, batch)
        self._listener: Listener[S] | None = None
        self._mapped: deque[T] = deque()

    async def open(self) -> None:
        """Join the underlying stream and wait for it to be open."""
        self._listener = self._fanout.join(self._key, self._make)
        await self._listener.opened()

    def __aiter__(self) -> Mapped[S, T]:
        return self

    async def __anext__(self) -> T:
        """The next mapped item: of the batch mapped last, else of a new one, made of the
        underlying stream's next item and those queued behind it."""
        if self._mapped:
            return self._mapped.popleft()
        listener = self._listener
        if listener is None:
            raise StopAsyncIteration
        first = await anext(listener)
        items = [first, *listener.ready(self._batch - 1)]
        results = await self._map(items)
        assert len(results) == len(items), "one result per item"
        self._mapped.extend(results)
        return self._mapped.popleft()

    async def close(self) -> None:
        """Leave the underlying stream (the last to leave closes it)."""
        listener, self._listener = self._listener, None
        self._mapped.clear()
        if listener is not None:
            await listener.leave()
