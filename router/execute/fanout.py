"""One source stream shared by every subscriber asking for the same thing (subscription
de-duplication, Apollo Router's `subscription.enable_deduplication`).

    fanout = Fanout[JSONObject]()
    listener = fanout.join(key, make)   # the stream under `key`, started by `make()` if none
    await listener.opened()             # the source opened (or its open's exception, raised)
    async for item in listener: ...     # every item the source yields from now on
    await listener.leave()              # the last one leaving closes the source

The first `join` of a key makes its `Source` and starts one task (the pump) that opens it and
puts each item it yields into every listener's queue. A listener that joins later waits for the
same open and sees the items that arrive after it joined (a subscription has no history). When
the source ends, every listener's iteration ends; when it raises, every listener raises that
exception (after the items queued before it); either way the key is free again at once, so a
later `join` starts a fresh source. When the last listener leaves, the pump is cancelled and the
source closed.

`Mapped` is a source made of another fan-out's stream, each item mapped once by an async
function: a subscription's upstream events, each completed (its entity fetches) once for every
client that asked the same, while clients that asked something else of the same upstream events
map them their own way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Protocol, TypeVar

__all__ = ["Fanout", "Listener", "Mapped", "Source"]

S = TypeVar("S")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


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
    """The shared streams open now, by key."""

    def __init__(self) -> None:
        self._streams: dict[Hashable, _Stream[T]] = {}

    def __len__(self) -> int:
        """How many sources are open (or opening) now."""
        return len(self._streams)

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

    def __init__(self, stream: _Stream[T]) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[T | _End | BaseException] = asyncio.Queue()
        self._left = False

    async def opened(self) -> None:
        """Wait until the source is open; its open's exception when it failed."""
        await asyncio.shield(self._stream.opened)

    def __aiter__(self) -> Listener[T]:
        return self

    async def __anext__(self) -> T:
        """The next item; StopAsyncIteration after the last; the source's exception, raised."""
        if self._left:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, _End):
            self._left = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._left = True
            raise item
        return item

    async def leave(self) -> None:
        """Stop listening; the last listener leaving closes the source. Idempotent."""
        self._left = True
        await self._stream.remove(self)

    def _put(self, item: T | _End | BaseException) -> None:
        self._queue.put_nowait(item)


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
        listener = Listener(self)
        self.listeners.append(listener)
        return listener

    async def remove(self, listener: Listener[T]) -> None:
        with contextlib.suppress(ValueError):
            self.listeners.remove(listener)
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
                    for listener in self.listeners:
                        listener._put(item)
            except Exception as exc:
                self._end(exc)
            else:
                self._end(_END)
        finally:
            if not self.opened.done():  # cancelled while opening: nobody waits for it
                self.opened.cancel()
            await self.source.close()

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
    none), each of its items mapped by `map`, one at a time, in order."""

    def __init__(
        self,
        fanout: Fanout[S],
        key: Hashable,
        make: Callable[[], Source[S]],
        map: Callable[[S], Awaitable[T]],
    ) -> None:
        self._fanout = fanout
        self._key = key
        self._make = make
        self._map = map
        self._listener: Listener[S] | None = None

    async def open(self) -> None:
        """Join the underlying stream and wait for it to be open."""
        self._listener = self._fanout.join(self._key, self._make)
        await self._listener.opened()

    def __aiter__(self) -> Mapped[S, T]:
        return self

    async def __anext__(self) -> T:
        """The underlying stream's next item, mapped."""
        if self._listener is None:
            raise StopAsyncIteration
        return await self._map(await anext(self._listener))

    async def close(self) -> None:
        """Leave the underlying stream (the last to leave closes it)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.leave()
