"""Identical subscriptions share one upstream subscription (router/execute/live.py): counted at
a real graphql-transport-ws server in this process; different variables or forwarded headers
get their own; one subscriber leaving keeps the other's, the last one leaving closes it."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection

from subgraph_kit.caller import CUSTOMER_ID_HEADER
from tests.support.auth import STAFF_IDENTITY, identity
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.ws_subgraph import WAIT, Seen, acknowledged, subgraph, until
from tests.unit.execute.test_router_subscribe import CREATED, customers, order, router_to, take


async def test_two_identical_subscriptions_share_one_upstream_and_both_get_each_event() -> None:
    connections: list[ServerConnection] = []
    subscribed = asyncio.Event()
    go = asyncio.Event()
    second_connection = asyncio.Event()

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        connections.append(ws)
        if len(connections) == 2:
            second_connection.set()
        subscribe = await acknowledged(ws, seen)
        subscribed.set()
        await go.wait()
        for event in (order("7", "2"), order("8", "2")):
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": event}))

    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    async with subgraph(orders) as (url, _):
        router = router_to(url, fake)
        one = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        two = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        first = asyncio.ensure_future(take(one, 2))
        second = asyncio.ensure_future(take(two, 2))
        await subscribed.wait()
        await asyncio.sleep(0.1)  # both joined before the events are sent
        go.set()
        ones, twos = await first, await second
        assert ones == twos
        assert [e["data"]["orderCreated"]["id"] for e in ones] == ["7", "8"]
        assert len(connections) == 1
        other = router.subscribe(CREATED, {"c": "3"}, identity=STAFF_IDENTITY)
        third = asyncio.ensure_future(take(other, 1))
        await asyncio.wait_for(second_connection.wait(), 10)
        third.cancel()
        await one.aclose()
        await two.aclose()


class Connections:
    """The orders server's connections: each one's upgrade headers, and which have closed."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.closed: list[asyncio.Event] = []
        self.sockets: list[ServerConnection] = []
        self.ids: list[str] = []
        self.subscribed = asyncio.Event()
        self._watching: list[asyncio.Task[None]] = []

    async def orders(self, ws: ServerConnection, seen: Seen) -> None:
        assert ws.request is not None
        self.headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        closed = asyncio.Event()
        self.closed.append(closed)
        self.sockets.append(ws)
        watch = asyncio.ensure_future(ws.wait_closed())
        watch.add_done_callback(lambda _: closed.set())
        self._watching.append(watch)
        self.ids.append((await acknowledged(ws, seen))["id"])
        self.subscribed.set()

    async def send(self, index: int, event: dict[str, object]) -> None:
        message = {"id": self.ids[index], "type": "next", "payload": event}
        await self.sockets[index].send(json.dumps(message))


async def test_other_forwarded_headers_get_their_own_upstream() -> None:
    """Staff and Bob ask the same subscription, but the orders subgraph is told who asks
    (a claim header): each gets its own upstream, so neither sees what is sent to the other."""
    connections = Connections()
    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    async with subgraph(connections.orders) as (url, _):
        router = router_to(url, fake)
        staff = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        bob = router.subscribe(CREATED, {"c": "2"}, identity=identity("2"))
        firsts = [asyncio.ensure_future(take(staff, 1)), asyncio.ensure_future(take(bob, 1))]
        await until(lambda: len(router.subscribing.upstreams) == 2 and len(connections.ids) == 2)
        assert len(connections.headers) == 2
        assert (
            connections.headers[0][CUSTOMER_ID_HEADER] != connections.headers[1][CUSTOMER_ID_HEADER]
        )
        for index in range(2):
            await connections.send(index, order(str(index), "2"))
        answers = {tuple(e["data"]["orderCreated"]["id"] for e in await first) for first in firsts}
        assert answers == {("0",), ("1",)}  # each its own upstream's event, once
        await staff.aclose()
        await bob.aclose()


async def test_one_of_two_leaving_keeps_the_other_receiving_and_the_last_closes_it() -> None:
    connections = Connections()
    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": "Bob"}]}}})
    async with subgraph(connections.orders) as (url, _):
        router = router_to(url, fake)
        one = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        two = router.subscribe(CREATED, {"c": "2"}, identity=STAFF_IDENTITY)
        firsts = asyncio.gather(take(one, 1), take(two, 1))
        await until(lambda: router.subscribing.streams.listening() == 2)
        await connections.subscribed.wait()
        await connections.send(0, order("7", "2"))
        assert [[e["data"]["orderCreated"]["id"] for e in f] for f in await firsts] == [["7"]] * 2
        await one.aclose()
        await connections.send(0, order("8", "2"))
        (event,) = await take(two, 1)
        assert event["data"]["orderCreated"]["id"] == "8"
        assert not connections.closed[0].is_set()
        assert len(connections.headers) == 1  # one upstream all along
        await two.aclose()
        await asyncio.wait_for(connections.closed[0].wait(), WAIT)
        assert len(router.subscribing.upstreams) == 0
