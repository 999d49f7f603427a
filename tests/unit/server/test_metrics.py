"""Prometheus series stay bounded whatever clients send as `operationName`."""

from __future__ import annotations

import asyncio
import json
import re

import httpx

from router.config import Config
from router.router import Router
from router.server.app import RouterApp
from router.server.metrics import MAX_OPERATIONS, Metrics
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.paths import REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
SERIES = re.compile(r'^router_http_requests_total\{operation="([^"]*)"', re.MULTILINE)


def operations(metrics: bytes | str) -> set[str]:
    text = metrics.decode() if isinstance(metrics, bytes) else metrics
    return set(SERIES.findall(text))


async def test_only_operations_the_router_ran_name_a_series() -> None:
    fake = FakeSubgraphs()  # every operation below is answered by the router itself
    app = RouterApp(Router.from_sdl(SUPERGRAPH, fake), Config())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://router"
    ) as client:
        for n in range(50):  # names of no operation in the document
            junk = {"query": "query Q { __typename }", "operationName": f"junk{n}"}
            assert (await client.post("/graphql", json=junk)).status_code == 400
        broken = {"query": "query Broken {", "operationName": "Broken"}
        assert (await client.post("/graphql", json=broken)).status_code == 400
        ran = {"query": "query Q { __typename }", "operationName": "Q"}
        assert (await client.post("/graphql", json=ran)).json() == {"data": {"__typename": "Query"}}
        anonymous = {"query": "{ __typename }"}
        assert (await client.post("/graphql", json=anonymous)).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert fake.calls == []
    assert operations(metrics) == {"unknown", "Q", "anonymous"}
    assert 'router_http_requests_total{operation="unknown",status="400"} 51.0' in metrics


def test_distinct_operation_names_are_capped() -> None:
    metrics = Metrics()
    for n in range(5000):
        metrics.answered(f"Op{n}", 200, 0.001, [])
        metrics.answered(f"junk{n}", 400, 0.001, [f"CODE_{n}"], known=False)
    text = metrics.render(0, 0).decode()
    labels = operations(text)
    assert len(labels) <= MAX_OPERATIONS + 1  # the first names (with `unknown`), then `other`
    assert {"Op0", "unknown", "other"} <= labels and "Op4999" not in labels
    assert 'router_http_requests_total{operation="other",status="200"}' in text
    codes = set(re.findall(r'^router_graphql_errors_total\{code="([^"]*)"', text, re.MULTILINE))
    assert "other" in codes and len(codes) <= 201


def subscription_series(metrics: bytes) -> dict[str, float]:
    """The subscription series of a /metrics text, by name and transport."""
    found = re.findall(
        r'^(router_subscription\w+)\{transport="(\w+)"\} (\S+)$', metrics.decode(), re.MULTILINE
    )
    return {
        f"{name}/{transport}": float(value)
        for name, transport, value in found
        if not name.endswith("_created")
    }


async def test_subscriptions_open_and_their_events_are_counted_per_transport() -> None:
    from websockets.asyncio.client import connect

    from tests.support.streaming import SSE, WAIT, Reader, http_url
    from tests.support.subscriber import FOREVER, TWO, served

    async with served() as (url, _, app, _), httpx.AsyncClient(timeout=WAIT) as client:
        async with client.stream(
            "POST", http_url(url), json={"query": FOREVER}, headers=SSE
        ) as forever:
            await anext(forever.aiter_bytes())  # the first event: the subscription is open
            open_now = subscription_series(app.metrics.render(0, 0))
        async with client.stream("POST", http_url(url), json={"query": TWO}, headers=SSE) as two:
            assert len(await Reader(two).sse()) == 3
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": TWO}}
            await ws.send(json.dumps(subscribe))
            kinds = [json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] for _ in range(4)]
            assert kinds == ["connection_ack", "next", "next", "complete"]
        for _ in range(100):  # an end is seen by the app a moment after the client's
            ended = subscription_series(app.metrics.render(0, 0))
            if (
                ended["router_subscriptions_open/sse"]
                == ended.get("router_subscriptions_open/websocket")
                == 0
            ):
                break
            await asyncio.sleep(0.02)
    assert open_now["router_subscriptions_open/sse"] == 1
    assert ended == {
        "router_subscriptions_open/sse": 0,
        "router_subscription_events_total/sse": 3,  # FOREVER's one, TWO's two
        "router_subscriptions_open/websocket": 0,
        "router_subscription_events_total/websocket": 2,
    }
