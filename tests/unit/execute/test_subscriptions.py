"""The upstream subscription client against a real graphql-transport-ws server (websockets' asyncio
server on an ephemeral port, in this process): each test's server plays one subgraph's part."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from router.execute.subscriptions import (
    PROTOCOL,
    UPSTREAM_FAILED,
    UpstreamFailed,
    UpstreamRefused,
    UpstreamSubscription,
    websocket_url,
)
from tests.support.ws_subgraph import WAIT, Seen, acknowledged, subgraph

BODY = {"query": "subscription { ticks { n } }", "variables": {}}


async def events(upstream: UpstreamSubscription) -> list[dict[str, Any]]:
    return [payload async for payload in upstream]


def test_the_websocket_url_is_the_subgraphs_url_with_a_websocket_scheme() -> None:
    assert websocket_url("http://orders:4002/graphql") == "ws://orders:4002/graphql"
    assert websocket_url("https://orders.example/graphql?x=1") == "wss://orders.example/graphql?x=1"


async def test_events_arrive_in_order_pings_are_answered_and_complete_ends_the_stream() -> None:
    async def handler(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        op = subscribe["id"]
        await ws.send(json.dumps({"id": op, "type": "next", "payload": {"data": {"n": 1}}}))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await seen.receive(ws)) == {"type": "pong"}
        await ws.send(json.dumps({"id": "other", "type": "next", "payload": {"data": {"n": 0}}}))
        await ws.send(json.dumps({"id": op, "type": "next", "payload": {"data": {"n": 2}}}))
        await ws.send(json.dumps({"id": op, "type": "complete"}))

    forwarded = {"x-customer-id": "7", "x-customer-scopes": "staff"}
    async with subgraph(handler) as (url, seen):
        upstream = UpstreamSubscription("ticks", url, BODY, forwarded)
        await upstream.open()
        assert await events(upstream) == [{"data": {"n": 1}}, {"data": {"n": 2}}]
        await asyncio.wait_for(seen.closed.wait(), WAIT)  # the client closed the socket
    assert seen.subprotocol == PROTOCOL
    assert seen.headers["x-customer-id"] == "7" and seen.headers["x-customer-scopes"] == "staff"
    init, subscribe = seen.messages[0], seen.messages[1]
    assert init == {"type": "connection_init", "payload": {"headers": forwarded}}
    assert subscribe["payload"] == BODY
    # it ended on the subgraph's complete: nothing is completed back
    assert [m["type"] for m in seen.messages] == ["connection_init", "subscribe", "pong"]


async def test_no_connection_ack_in_time_fails_with_a_code() -> None:
    async def handler(ws: ServerConnection, seen: Seen) -> None:
        await seen.receive(ws)  # connection_init, never acknowledged

    async with subgraph(handler) as (url, seen):
        upstream = UpstreamSubscription("ticks", url, BODY, ack_timeout=0.2)
        with pytest.raises(UpstreamFailed) as raised:
            await upstream.open()
        await asyncio.wait_for(seen.closed.wait(), WAIT)  # and the connection is closed
    assert raised.value.to_graphql() == {
        "message": "connection_init not acknowledged within 0.2s (subgraph 'ticks')",
        "extensions": {"code": UPSTREAM_FAILED, "serviceName": "ticks"},
    }


async def test_a_subgraph_that_cannot_be_reached_fails_with_a_code() -> None:
    async with subgraph(acknowledged) as (url, _):
        pass  # the server is gone: its port refuses
    upstream = UpstreamSubscription("ticks", url, BODY)
    with pytest.raises(UpstreamFailed) as raised:
        await upstream.open()
    assert raised.value.code == UPSTREAM_FAILED
    assert "cannot open the subscription" in raised.value.message


async def test_an_error_message_is_the_subgraph_refusing_with_its_errors() -> None:
    refusal = [{"message": "not yours", "extensions": {"code": "FORBIDDEN"}}]

    async def handler(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(json.dumps({"id": subscribe["id"], "type": "error", "payload": refusal}))

    async with subgraph(handler) as (url, seen):
        upstream = UpstreamSubscription("ticks", url, BODY)
        await upstream.open()
        with pytest.raises(UpstreamRefused) as raised:
            await upstream.__anext__()
        await asyncio.wait_for(seen.closed.wait(), WAIT)
    assert raised.value.errors == refusal and raised.value.service == "ticks"
    with pytest.raises(StopAsyncIteration):  # and the stream is over
        await upstream.__anext__()


async def test_a_connection_dropped_mid_stream_fails_after_the_events_before_it() -> None:
    async def handler(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": {"n": 1}}))
        await ws.close(1011, "subgraph crashed")

    async with subgraph(handler) as (url, _):
        upstream = UpstreamSubscription("ticks", url, BODY)
        await upstream.open()
        assert await upstream.__anext__() == {"n": 1}
        with pytest.raises(UpstreamFailed) as raised:
            await upstream.__anext__()
    assert raised.value.code == UPSTREAM_FAILED
    assert raised.value.message == (
        "the subscription's connection was lost (close code 1011, subgraph crashed)"
    )


async def test_closing_completes_the_subscription_and_closes_the_socket() -> None:
    async def handler(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": {"n": 1}}))

    async with subgraph(handler) as (url, seen):
        upstream = UpstreamSubscription("ticks", url, BODY)
        await upstream.open()
        assert await upstream.__anext__() == {"n": 1}
        await upstream.close()
        await asyncio.wait_for(seen.closed.wait(), WAIT)
    assert seen.messages[-1] == {"id": seen.messages[1]["id"], "type": "complete"}
    with pytest.raises(StopAsyncIteration):
        await upstream.__anext__()


async def test_a_message_that_breaks_the_protocol_fails_with_a_code() -> None:
    async def handler(ws: ServerConnection, seen: Seen) -> None:
        subscribe = await acknowledged(ws, seen)
        await ws.send(json.dumps({"id": subscribe["id"], "type": "next", "payload": "n"}))

    async with subgraph(handler) as (url, seen):
        upstream = UpstreamSubscription("ticks", url, BODY)
        await upstream.open()
        with pytest.raises(UpstreamFailed, match="without a payload object"):
            await upstream.__anext__()
        await asyncio.wait_for(seen.closed.wait(), WAIT)
