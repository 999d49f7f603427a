"""The router's subgraph HTTP client against real sockets that answer in every framing HTTP/1.1
allows, and in ways it does not: keep-alive reuse, limits, timeouts, closed connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from router.execute.http_client import Endpoint, HttpClientError, post
from router.execute.transport import HttpTransport, SubgraphFetchError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Seen"], Awaitable[None]]


@dataclass
class Seen:
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0


async def read_request(reader: asyncio.StreamReader, seen: Seen) -> bytes | None:
    """One request (head and Content-Length body), or None when the client closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    request = head + await reader.readexactly(length)
    seen.requests.append(request)
    return request


def response(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{line}\r\n" for line in extra)
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def answers_once(raw: bytes, stay_open: bool = False) -> Handler:
    """A connection that reads one request, writes `raw`, then closes (or waits for the client)."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        await read_request(reader, seen)
        writer.write(raw)
        await writer.drain()
        if stay_open:
            await reader.read()

    return handler


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[Endpoint, Seen]]:
    seen = Seen()
    handlers: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        seen.open_now += 1
        seen.most_open = max(seen.most_open, seen.open_now)
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await handler(reader, writer, seen)
        except asyncio.CancelledError:
            pass  # the test is over
        finally:
            seen.open_now -= 1
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoint = Endpoint(f"http://127.0.0.1:{port}/graphql?x=1", limit=2)
    try:
        yield endpoint, seen
    finally:
        endpoint.pool.close()
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers)


async def send(endpoint: Endpoint, body: bytes = b"{}", seconds: float = 2.0) -> tuple[int, bytes]:
    async with asyncio.timeout(seconds):
        return await post(
            endpoint, body, [("content-type", "application/json")], retry_if_closed=True
        )


async def echo_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
) -> None:
    while (request := await read_request(reader, seen)) is not None:
        writer.write(response(request.split(b"\r\n\r\n", 1)[1]))


async def test_requests_reuse_one_keep_alive_connection_and_say_where_they_go() -> None:
    async with raw_server(echo_forever) as (endpoint, seen):
        answers = [await send(endpoint, b'{"n": %d}' % n) for n in range(3)]
    assert answers == [(200, b'{"n": %d}' % n) for n in range(3)]
    assert seen.connections == 1
    head = seen.requests[0].split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"POST /graphql?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{endpoint.pool.port}".encode() in head
    assert b"content-type: application/json" in head
    assert b"Content-Length: 8" in head


async def test_chunked_informational_and_read_until_close_bodies() -> None:
    async def chunked(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        while await read_request(reader, seen) is not None:
            writer.write(
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'4\r\n{"a"\r\n'
            )
            await writer.drain()
            await asyncio.sleep(0.01)  # the body arrives in two packets
            writer.write(b"4\r\n: 1}\r\n0\r\n\r\n")

    until_close = answers_once(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"b": 2}')
    async with raw_server(chunked) as (endpoint, seen):
        assert await send(endpoint) == (201, b'{"a": 1}')
        assert await send(endpoint) == (201, b'{"a": 1}')
        assert seen.connections == 1
    async with raw_server(until_close) as (endpoint, seen):
        assert await send(endpoint) == (200, b'{"b": 2}')
        assert await send(endpoint) == (200, b'{"b": 2}')
        assert seen.connections == 2  # a closed connection is never reused


async def test_connection_close_answers_are_not_reused() -> None:
    # our side stays open: the client must close on the header alone
    once = answers_once(response(b"{}", "Connection: close"), stay_open=True)
    async with raw_server(once) as (endpoint, seen):
        for _ in range(3):
            assert await send(endpoint) == (200, b"{}")
    assert seen.connections == 3


async def test_concurrent_requests_stay_within_the_connection_limit() -> None:
    async def slow_echo(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        while (request := await read_request(reader, seen)) is not None:
            await asyncio.sleep(0.02)
            writer.write(response(request.split(b"\r\n\r\n", 1)[1]))

    async with raw_server(slow_echo) as (endpoint, seen):
        answers = await asyncio.gather(*(send(endpoint, b"%d" % n) for n in range(8)))
    assert answers == [(200, b"%d" % n) for n in range(8)]
    assert seen.most_open == 2 and seen.connections == 2


async def test_a_timed_out_answer_is_never_read_as_the_next_one() -> None:
    async def late_first(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        while (request := await read_request(reader, seen)) is not None:
            if len(seen.requests) == 1:
                await asyncio.sleep(0.3)
            writer.write(response(request.split(b"\r\n\r\n", 1)[1]))

    async with raw_server(late_first) as (endpoint, seen):
        with pytest.raises(TimeoutError):
            await send(endpoint, b"first", seconds=0.1)
        assert await send(endpoint, b"second") == (200, b"second")
    assert seen.connections == 2


async def test_a_closed_keep_alive_connection_is_retried_for_queries_only() -> None:
    async def closes_second(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        await read_request(reader, seen)
        writer.write(response(b"ok"))
        await writer.drain()
        await read_request(reader, seen)  # read the next request, then hang up unanswered

    async with raw_server(closes_second) as (endpoint, seen):
        transport = HttpTransport({"s": endpoint.url}, deduplicate=False)
        transport._endpoints["s"] = endpoint  # the server above, not a new pool
        query = {"query": "{ a }"}
        await send(endpoint)
        with pytest.raises(SubgraphFetchError):
            await transport.send("s", query)  # "ok" is not JSON; but only after a retry
        assert len(seen.requests) == 3 and seen.connections == 2
        with pytest.raises(SubgraphFetchError, match="closed the connection before answering"):
            await transport.send("s", {"query": "mutation { b }"})
        assert len(seen.requests) == 4  # the mutation went out once and was not repeated


async def test_malformed_answers_and_refused_connections_are_errors() -> None:
    garbage = answers_once(b"this is not HTTP\r\n\r\n", stay_open=True)
    async with raw_server(garbage) as (endpoint, seen):
        with pytest.raises(HttpClientError, match="malformed HTTP response"):
            await send(endpoint)
        assert endpoint.pool.idle == []
        port = endpoint.pool.port
    with pytest.raises(HttpClientError, match="ConnectionRefusedError"):
        await send(Endpoint(f"http://127.0.0.1:{port}/", limit=1))
    async with raw_server(echo_forever) as (endpoint, seen):
        with pytest.raises(HttpClientError, match="line break"):
            await post(endpoint, b"", [("x-a", "1\r\nx-b: 2")], retry_if_closed=True)
    assert seen.requests == []
    with pytest.raises(ValueError, match="not an http"):
        Endpoint("ftp://example.com/", limit=1)


class _Instant(HttpTransport):
    """A subgraph that answers at once: `_post` returns without waiting for anything, so a
    shared call is over as soon as it starts unless the transport lets others join first."""

    posts = 0

    async def _post(
        self, service: str, url: str, data: bytes, headers: dict[str, str], safe: bool
    ) -> tuple[int, bytes]:
        self.posts += 1
        return 200, b'{"data": {"a": 1}}'


async def test_identical_queries_asked_in_one_turn_share_one_call_however_fast_it_is() -> None:
    transport = _Instant({"s": "http://127.0.0.1:9/"})
    query = {"query": "{ a }"}
    first = asyncio.ensure_future(transport.send("s", query))
    second = asyncio.ensure_future(transport.send("s", query))  # asked after, in the same turn
    answers = await asyncio.gather(first, second)
    assert transport.posts == 1
    assert answers == [{"data": {"a": 1}}] * 2 and answers[0] is not answers[1]  # own copies
    # asked once the call has left, or a mutation: a call of its own
    await transport.send("s", query)
    mutations = [transport.send("s", {"query": "mutation { b }"}) for _ in range(2)]
    await asyncio.gather(*mutations)
    assert transport.posts == 4


class _Held(_Instant):
    """Answers `{ held }` only once `release` is set: a call to the subgraph that stays in
    flight, as another request's would under load."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.release = asyncio.Event()

    async def _post(
        self, service: str, url: str, data: bytes, headers: dict[str, str], safe: bool
    ) -> tuple[int, bytes]:
        if b"held" in data:
            self.posts += 1
            await self.release.wait()
            return 200, b'{"data": {"held": 1}}'
        return await super()._post(service, url, data, headers, safe)


async def _turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_while_the_subgraph_is_busy_a_shared_call_waits_more_turns_for_others() -> None:
    transport = _Held({"s": "http://127.0.0.1:9/", "t": "http://127.0.0.1:9/"}, join_turns=6)
    query = {"query": "{ a }"}
    held = asyncio.ensure_future(transport.send("s", {"query": "{ held }"}))
    await _turns(2)  # it has left and is in flight: s is busy
    first = asyncio.ensure_future(transport.send("s", query))
    await _turns(4)  # asked turns later: still joins
    second = asyncio.ensure_future(transport.send("s", query))
    assert await asyncio.gather(first, second) == [{"data": {"a": 1}}] * 2
    assert transport.posts == 2  # { held } and one { a }
    # another subgraph is not busy: its call leaves after one turn, as when alone
    alone = asyncio.ensure_future(transport.send("t", query))
    await _turns(3)
    later = asyncio.ensure_future(transport.send("t", query))
    await asyncio.gather(alone, later)
    assert transport.posts == 4
    # at most join_turns turns, however busy
    first = asyncio.ensure_future(transport.send("s", query))
    await _turns(8)
    second = asyncio.ensure_future(transport.send("s", query))
    await asyncio.gather(first, second)
    assert transport.posts == 6
    transport.release.set()
    assert await held == {"data": {"held": 1}}
