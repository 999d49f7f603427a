"""Identical subscriptions share one upstream subscription (router/execute/live.py): counted at
a real graphql-transport-ws server in this process; different variables get their own."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection

from tests.support.auth import STAFF_IDENTITY
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.ws_subgraph import Seen, acknowledged, subgraph
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
