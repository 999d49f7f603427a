"""An SSE client that stops reading (router/server/streams.py, router/execute/fanout.py): served
by uvicorn through the real Router, the orders subgraph a real graphql-transport-ws server in
this process, the customers subgraph a fake whose customer's name is a megabyte, so the
sockets' buffers fill after a few events (each sent once the last was completed). The stream
then takes no more events from the router; the subscriber's bounded queue fills and it is dropped, which closes the upstream; when
the client reads again it gets what was written, SUBSCRIPTION_QUEUE_FULL, and the end."""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from tests.support.auth import STAFF, jwt_yaml, token
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.streaming import SSE, WAIT, Reader, http_url
from tests.support.subscriber import FAST, served
from tests.support.ws_subgraph import Seen, acknowledged, subgraph, until
from tests.unit.execute.test_router_subscribe import CREATED, customers, order, router_to

EVENTS = 40
NAME = "x" * 1_000_000


async def test_a_client_that_stops_reading_is_dropped_with_subscription_queue_full() -> None:
    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        for n in range(EVENTS):
            # paced: the next event once the last was completed, so a client that read would
            # keep up (its queue empty each time); this one only fills the sockets' buffers
            await until(lambda n=n: len(fake.calls) >= n or ws.state is not State.OPEN)
            payload = order(str(n), "2")
            message = json.dumps({"id": subscribe["id"], "type": "next", "payload": payload})
            try:
                await ws.send(message)
            except ConnectionClosed:
                return  # the router closed it: nobody listens any more

    fake = FakeSubgraphs()
    customers(fake, {"2": {"data": {"_entities": [{"name": NAME}]}}})
    headers = {**SSE, "authorization": f"Bearer {token('staff-1', STAFF)}"}
    async with subgraph(orders) as (ws_url, seen):
        router = router_to(ws_url, fake, subscription_queue_capacity=2, subscription_batch=1)
        async with (
            served(jwt_yaml() + FAST, router) as (url, _, _, _),
            httpx.AsyncClient(timeout=WAIT) as client,
        ):
            body = {"query": CREATED, "variables": {"c": "2"}}
            async with client.stream("POST", http_url(url), json=body, headers=headers) as response:
                assert response.status_code == 200
                # not reading: the router drops the subscriber, so nobody holds the upstream
                await asyncio.wait_for(seen.closed.wait(), WAIT)
                events = await Reader(response).sse()
    ids = [data["data"]["orderCreated"]["id"] for kind, data in events[:-2]]
    assert 0 < len(ids) < EVENTS
    assert ids == [str(n) for n in range(len(ids))]  # in order, none skipped
    (kind, last), end = events[-2:]
    assert kind == "next"
    assert last["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_QUEUE_FULL"
    assert end == ("complete", None)
    assert len(router.subscribing.upstreams) == 0
