"""A subscriber that stops reading holds at most `subscription.queue_capacity` events: then it is
dropped with SUBSCRIPTION_QUEUE_FULL (after the events it had queued), while the others sharing
its subscription keep receiving; the last one dropped closes the upstream. The orders subgraph
is a real graphql-transport-ws server in this process, sending one event at a time."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from router.execute.subscriptions import UpstreamSubscription
from router.router import Router
from tests.support.auth import STAFF_IDENTITY
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.ws_subgraph import WAIT, Seen, acknowledged, subgraph, until
from tests.unit.execute.test_router_subscribe import CREATED, customers, order, router_to, take


def paced(count: int, go: asyncio.Queue[None]) -> Any:
    """An orders handler sending `count` events, each after the test puts into `go`."""

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        for n in range(count):
            await go.get()
            payload = order(str(n), "2")
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": payload}))

    return orders


def bob() -> FakeSubgraphs:
    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    return fake


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["orderCreated"]["id"] for e in events]


def small_queues(url: str) -> Router:
    return router_to(url, bob(), subscription_queue_capacity=2, subscription_batch=1)


async def test_a_subscriber_that_stops_reading_is_dropped_and_the_other_keeps_receiving() -> None:
    go: asyncio.Queue[None] = asyncio.Queue()
    async with subgraph(paced(6, go)) as (url, seen):
        router = small_queues(url)
        streams = router.subscribing.streams
        reader = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        stalled = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        firsts = asyncio.gather(take(reader, 1), take(stalled, 1))
        await until(lambda: streams.listening() == 2)  # both joined the one stream
        go.put_nowait(None)
        assert [ids(first) for first in await firsts] == [["0"], ["0"]]
        received = []
        for _ in range(5):  # the reader reads each event before the next is sent
            go.put_nowait(None)
            received += await take(reader, 1)
        assert ids(received) == ["1", "2", "3", "4", "5"]
        assert streams.listening() == 1  # the stalled one was dropped at the third unread
        late = [e async for e in stalled]
        assert ids(late[:2]) == ["1", "2"]
        assert late[2:] == [
            {
                "errors": [
                    {
                        "message": "the subscriber fell 2 events behind and was dropped",
                        "extensions": {"code": "SUBSCRIPTION_QUEUE_FULL"},
                    }
                ]
            }
        ]
        assert not seen.closed.is_set()  # the reader's upstream is still open
        await reader.aclose()
        await asyncio.wait_for(seen.closed.wait(), WAIT)


async def test_the_last_subscriber_dropped_closes_the_upstream() -> None:
    go: asyncio.Queue[None] = asyncio.Queue()
    async with subgraph(paced(4, go)) as (url, seen):
        router = small_queues(url)
        stalled = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        first = asyncio.ensure_future(take(stalled, 1))
        await until(lambda: router.subscribing.streams.listening() == 1)
        go.put_nowait(None)
        assert ids(await first) == ["0"]
        for _ in range(3):  # then it reads no more
            go.put_nowait(None)
        await asyncio.wait_for(seen.closed.wait(), WAIT)  # nobody left to read it
        assert len(router.subscribing.upstreams) == 0
        late = [e async for e in stalled]
        assert ids(late[:2]) == ["1", "2"]
        assert late[2]["errors"][0]["extensions"] == {"code": "SUBSCRIPTION_QUEUE_FULL"}


async def test_an_upstream_closed_with_many_events_unread_closes_cleanly() -> None:
    """More unread events than websockets queues pause its reading: the close still completes
    its handshake (the subgraph's close frame read), not an abort after the close timeout."""
    codes: list[int | None] = []

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        for n in range(100):
            payload = order(str(n), "2")
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": payload}))
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.recv()
        codes.append(ws.close_code)

    async with subgraph(orders) as (url, seen):
        upstream = UpstreamSubscription("orders", url, {"query": "subscription { n }"})
        await upstream.open()
        await anext(upstream)
        ws = upstream._ws
        assert ws is not None
        await until(lambda: ws.recv_messages.paused)  # its queue is full: reading paused
        await upstream.close()
        await asyncio.wait_for(seen.closed.wait(), WAIT)
    assert codes == [1000]
    assert ws.protocol.close_rcvd is not None  # the subgraph's close frame was read
