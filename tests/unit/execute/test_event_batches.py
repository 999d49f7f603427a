"""Events of one subscription that arrive together are completed together (router/execute/
events.py): the orders subgraph a real graphql-transport-ws server in this process sending
several `next` messages at once, the customers subgraph a fake answering exact requests and
counting them. Each entity fetch is one request for the whole batch, its representations
de-duplicated across the events, and each event still gets its own answer, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection

from router.execute.transport import SubgraphFetchError
from tests.support.auth import STAFF_IDENTITY
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.ws_subgraph import WAIT, Seen, acknowledged, subgraph, until
from tests.unit.execute.test_router_subscribe import CREATED, ENTITIES, order, router_to, take


def representations(*ids: str) -> dict[str, Any]:
    return {"representations": [{"__typename": "Customer", "id": id} for id in ids]}


def names(*names: str) -> dict[str, Any]:
    return {"data": {"_entities": [{"name": name} for name in names]}}


def at_once(*events: dict[str, Any]) -> Any:
    """An orders handler sending `events` in one go (no await yields between the sends, so
    they reach the router's socket together), then `complete`."""

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        for event in events:
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": event}))
        await ws.send(json.dumps({"id": subscribe["id"], "type": "complete"}))

    return orders


def customer_names(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [
        (e["data"]["orderCreated"]["id"], e["data"]["orderCreated"]["customer"]["name"])
        for e in events
    ]


async def test_events_sent_together_share_one_entity_request_each_answered_right() -> None:
    fake = FakeSubgraphs()
    # Bob (2) is in two events: sent once; the answer's error on Alice is hers alone
    answer = {
        **names("Bob", "Alice", "Carol"),
        "errors": [{"message": "stale", "path": ["_entities", 1, "name"]}],
    }
    fake.on("customers", ENTITIES, representations("2", "1", "3"), answer)
    handler = at_once(order("7", "2"), order("8", "1"), order("9", "2"), order("10", "3"))
    async with subgraph(handler) as (url, _):
        router = router_to(url, fake, show_subgraph_errors=lambda service: True)
        events = [e async for e in router.subscribe(CREATED, identity=STAFF_IDENTITY)]
    assert len(fake.calls) == 1  # four events, one `_entities` request
    assert fake.calls[0][1]["variables"] == representations("2", "1", "3")
    assert customer_names(events) == [("7", "Bob"), ("8", "Alice"), ("9", "Bob"), ("10", "Carol")]
    assert [("errors" in e) for e in events] == [False, True, False, False]
    assert events[1]["errors"] == [
        {
            "message": "stale",
            "path": ["orderCreated", "customer", "name"],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "customers"},
        }
    ]


async def test_events_that_arrive_apart_are_completed_one_request_each() -> None:
    delivered = asyncio.Event()

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(
            json.dumps({"id": subscribe["id"], "type": "next", "payload": order("7", "2")})
        )
        await delivered.wait()  # the first event reached the client before the second is sent
        await ws.send(
            json.dumps({"id": subscribe["id"], "type": "next", "payload": order("8", "1")})
        )

    fake = FakeSubgraphs()
    fake.on("customers", ENTITIES, representations("2"), names("Bob"))
    fake.on("customers", ENTITIES, representations("1"), names("Alice"))
    async with subgraph(orders) as (url, _):
        events = router_to(url, fake).subscribe(CREATED, identity=STAFF_IDENTITY)
        first = await take(events, 1)
        delivered.set()
        second = await take(events, 1)
        await events.aclose()
    assert customer_names(first + second) == [("7", "Bob"), ("8", "Alice")]
    assert [call[1]["variables"] for call in fake.calls] == [
        representations("2"),
        representations("1"),
    ]


async def test_a_batch_holds_at_most_max_events_per_batch() -> None:
    fake = FakeSubgraphs()
    fake.on("customers", ENTITIES, representations("2", "1"), names("Bob", "Alice"))
    fake.on("customers", ENTITIES, representations("2", "3"), names("Bob", "Carol"))
    fake.on("customers", ENTITIES, representations("4"), names("Dan"))
    handler = at_once(
        order("7", "2"), order("8", "1"), order("9", "2"), order("10", "3"), order("11", "4")
    )
    async with subgraph(handler) as (url, _):
        router = router_to(url, fake, subscription_batch=2)
        events = [e async for e in router.subscribe(CREATED, identity=STAFF_IDENTITY)]
    assert customer_names(events) == [
        ("7", "Bob"),
        ("8", "Alice"),
        ("9", "Bob"),
        ("10", "Carol"),
        ("11", "Dan"),
    ]
    assert [call[1]["variables"] for call in fake.calls] == [
        representations("2", "1"),
        representations("2", "3"),
        representations("4"),
    ]


async def test_a_failed_batch_request_is_every_events_own_coded_error() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "customers", ENTITIES, representations("2", "1"), SubgraphFetchError("connection refused")
    )
    async with subgraph(at_once(order("7", "2"), order("8", "1"))) as (url, _):
        events = [e async for e in router_to(url, fake).subscribe(CREATED, identity=STAFF_IDENTITY)]
    assert len(fake.calls) == 1
    assert (
        events
        == [
            {
                "data": None,
                "errors": [
                    {
                        "message": "connection refused (subgraph 'customers')",
                        "path": ["orderCreated", "customer"],
                        "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "customers"},
                    }
                ],
            }
        ]
        * 2
    )


async def test_a_batch_answer_of_the_wrong_length_is_malformed_for_every_event() -> None:
    fake = FakeSubgraphs()
    fake.on("customers", ENTITIES, representations("2", "1"), names("Bob"))
    async with subgraph(at_once(order("7", "2"), order("8", "1"))) as (url, _):
        events = [e async for e in router_to(url, fake).subscribe(CREATED, identity=STAFF_IDENTITY)]
    assert len(events) == 2
    for event in events:
        (error,) = event["errors"]
        assert error["extensions"]["code"] == "SUBREQUEST_MALFORMED_RESPONSE"
        assert error["path"] == ["orderCreated", "customer"]


class Held(FakeSubgraphs):
    """The fake customers subgraph, its first request held until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, service: str, body: Any, headers: Any = None) -> Any:
        if not self.arrived.is_set():
            self.arrived.set()
            await self.release.wait()
        return await super().send(service, body, headers)


async def test_events_arriving_while_a_batch_is_completed_make_the_next_batch() -> None:
    more = asyncio.Event()

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(
            json.dumps({"id": subscribe["id"], "type": "next", "payload": order("7", "2")})
        )
        await more.wait()
        for event in (order("8", "1"), order("9", "3")):
            await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": event}))

    fake = Held()
    fake.on("customers", ENTITIES, representations("2"), names("Bob"))
    fake.on("customers", ENTITIES, representations("1", "3"), names("Alice", "Carol"))
    async with subgraph(orders) as (url, _):
        router = router_to(url, fake)
        events = router.subscribe(CREATED, identity=STAFF_IDENTITY)
        taken = asyncio.ensure_future(take(events, 3))
        await asyncio.wait_for(fake.arrived.wait(), WAIT)  # the first event is being completed
        more.set()
        await until(lambda: router.subscribing.upstreams.pending() == 2)  # both queued meanwhile
        fake.release.set()
        got = await taken
        await events.aclose()
    assert customer_names(got) == [("7", "Bob"), ("8", "Alice"), ("9", "Carol")]
    assert [call[1]["variables"] for call in fake.calls] == [
        representations("2"),
        representations("1", "3"),
    ]
