"""In-flight subgraph de-duplication (`traffic_shaping.all.deduplicate_query`) against a real
HTTP subgraph on a socket: identical queries share one call, everything else does not, and a
shared call's answer or error reaches every caller, whichever of them leaves early."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest

from router.execute.transport import Forwarded, HttpTransport, SubgraphFetchError

QUERY = {"query": "query Q__s__0 { a }", "variables": {}, "operationName": "Q__s__0"}


@dataclass
class Subgraph:
    """A GraphQL-over-HTTP subgraph that holds every answer until `release` is set, so calls
    stay in flight as they do under load; it records each request's head and body."""

    status: int = 200
    answer: bytes = b'{"data": {"a": 1}}'
    release: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append((head, await reader.readexactly(length)))
                self.arrived.set()
                await self.release.wait()
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % (self.status, len(self.answer))
                    + self.answer
                )
                await writer.drain()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def subgraph(**options: object) -> AsyncIterator[Subgraph]:
    served = Subgraph(**options)  # type: ignore[arg-type]
    tasks: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        with contextlib.suppress(asyncio.CancelledError):
            await served.on_connection(reader, writer)

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    served.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/graphql"
    try:
        yield served
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _in_flight(served: Subgraph, count: int) -> None:
    """Until the subgraph holds `count` requests (a few turns at most on loopback)."""
    async with asyncio.timeout(5):
        while len(served.requests) < count:
            served.arrived.clear()
            await served.arrived.wait()


async def test_concurrent_identical_queries_make_one_upstream_call() -> None:
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, join_turns=1)
        callers = [asyncio.ensure_future(transport.send("s", dict(QUERY))) for _ in range(10)]
        await _in_flight(served, 1)
        later = asyncio.ensure_future(transport.send("s", dict(QUERY)))  # joins while in flight
        await asyncio.sleep(0.05)
        served.release.set()
        answers = await asyncio.gather(*callers, later)
        await transport.close()
    assert len(served.requests) == 1 and transport.http_calls == 1
    assert answers == [{"data": {"a": 1}}] * 11
    assert len({id(answer) for answer in answers}) == 11  # each caller may merge into its own
    assert orjson.loads(served.requests[0][1]) == QUERY


async def test_other_headers_or_another_body_are_calls_of_their_own() -> None:
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, join_turns=1)
        alice = Forwarded({"authorization": "Bearer alice"})
        bob = Forwarded({"authorization": "Bearer bob"})
        callers = [
            transport.send("s", dict(QUERY), alice),
            transport.send("s", dict(QUERY), Forwarded({"authorization": "Bearer alice"})),
            transport.send("s", dict(QUERY), bob),
            transport.send("s", {**QUERY, "variables": {"x": 1}}, alice),
        ]
        tasks = [asyncio.ensure_future(caller) for caller in callers]
        await _in_flight(served, 3)
        served.release.set()
        await asyncio.gather(*tasks)
        await transport.close()
    assert len(served.requests) == 3
    sent = sorted(
        (b"Bearer bob" in head, orjson.dumps(orjson.loads(body)["variables"]))
        for head, body in served.requests
    )
    assert sent == [(False, b'{"x":1}'), (False, b"{}"), (True, b"{}")]


async def test_mutations_are_never_shared() -> None:
    mutation = {"query": "mutation M__s__0 { b }", "variables": {}}
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, join_turns=1)
        tasks = [asyncio.ensure_future(transport.send("s", dict(mutation))) for _ in range(3)]
        await _in_flight(served, 3)
        served.release.set()
        await asyncio.gather(*tasks)
        await transport.close()
    assert len(served.requests) == 3


async def test_off_every_query_is_its_own_call() -> None:
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, deduplicate=False)
        tasks = [asyncio.ensure_future(transport.send("s", dict(QUERY))) for _ in range(3)]
        await _in_flight(served, 3)
        served.release.set()
        await asyncio.gather(*tasks)
        await transport.close()
    assert len(served.requests) == 3


async def test_a_failing_upstream_gives_every_waiter_the_same_coded_error() -> None:
    answer = b'{"errors": [{"message": "database down"}]}'
    async with subgraph(status=503, answer=answer) as served:
        transport = HttpTransport({"s": served.url}, join_turns=1)
        tasks = [asyncio.ensure_future(transport.send("s", dict(QUERY))) for _ in range(5)]
        await _in_flight(served, 1)
        served.release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await transport.close()
    assert len(served.requests) == 1
    assert all(isinstance(result, SubgraphFetchError) for result in results)
    seen = {
        (result.code, result.message, result.subgraph_status)
        for result in results
        if isinstance(result, SubgraphFetchError)
    }
    assert seen == {("SUBREQUEST_HTTP_ERROR", "HTTP fetch failed: 503: database down", 503)}


async def test_a_timeout_is_every_waiters_error() -> None:
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, timeout=0.2, join_turns=1)
        tasks = [asyncio.ensure_future(transport.send("s", dict(QUERY))) for _ in range(3)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        served.release.set()
        await transport.close()
    assert len(served.requests) == 1
    assert {type(result) for result in results} == {SubgraphFetchError}
    assert {str(result) for result in results} == {"the subgraph did not answer within 0.2 s"}


async def test_the_first_caller_leaving_does_not_fail_the_others() -> None:
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, join_turns=1)
        first = asyncio.ensure_future(transport.send("s", dict(QUERY)))
        await asyncio.sleep(0)
        others = [asyncio.ensure_future(transport.send("s", dict(QUERY))) for _ in range(3)]
        await _in_flight(served, 1)
        first.cancel()  # its client went away
        await asyncio.sleep(0.05)
        served.release.set()
        answers = await asyncio.gather(*others)
        await transport.close()
    assert first.cancelled()
    assert answers == [{"data": {"a": 1}}] * 3
    assert len(served.requests) == 1


async def test_the_call_stops_when_every_caller_has_left() -> None:
    async with subgraph() as served:
        transport = HttpTransport({"s": served.url}, join_turns=1)
        tasks = [asyncio.ensure_future(transport.send("s", dict(QUERY))) for _ in range(2)]
        await _in_flight(served, 1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)
        assert transport._in_flight == {}  # nobody waits: no shared call is left behind
        # a new caller does not get the abandoned call's answer: it makes its own
        again = asyncio.ensure_future(transport.send("s", dict(QUERY)))
        await _in_flight(served, 2)
        served.release.set()
        assert await again == {"data": {"a": 1}}
        await transport.close()
    assert len(served.requests) == 2


@pytest.mark.parametrize("join_turns", [1, 16])
async def test_alone_a_call_leaves_at_once_and_answers(join_turns: int) -> None:
    async with subgraph() as served:
        served.release.set()
        transport = HttpTransport({"s": served.url}, join_turns=join_turns)
        assert await transport.send("s", dict(QUERY)) == {"data": {"a": 1}}
        assert await transport.send("s", dict(QUERY)) == {"data": {"a": 1}}
        await transport.close()
    assert len(served.requests) == 2  # one after the other: nothing in flight to share
