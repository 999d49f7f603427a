"""A graphql-transport-ws client for tests (the `websockets` library), and a wait until a service
has as many subscriptions open as a test expects (its `/health` counts them), so a write made
after is one the subscription is there to see."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"
WAIT = 30.0
"""Seconds a test waits for a message or a count before it fails (never a measure of speed)."""


class LiveClient:
    """One acknowledged graphql-transport-ws connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": id, "type": "subscribe", "payload": payload}))

    async def receive(self) -> dict[str, Any]:
        """The next message (pings answered on the way)."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return dict(message)

    async def next_data(self, id: str) -> dict[str, Any]:
        """The data of the next message, which must be a `next` of operation `id`, error-free."""
        message = await self.receive()
        assert message["type"] == "next" and message["id"] == id, message
        assert "errors" not in message["payload"], message
        return dict(message["payload"]["data"])


@contextlib.asynccontextmanager
async def live(
    url: str, headers: dict[str, str] | None = None, init: dict[str, Any] | None = None
) -> AsyncIterator[LiveClient]:
    """A connection to a service's `/graphql` over WebSocket (`url` is its http:// base),
    sending `headers` with the upgrade and `init` as the connection_init payload."""
    ws_url = url.replace("http://", "ws://", 1) + "/graphql"
    async with connect(
        ws_url, subprotocols=[PROTOCOL], additional_headers=headers or {}, open_timeout=WAIT
    ) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert ack["type"] == "connection_ack", ack
        yield LiveClient(ws)


async def open_subscriptions(url: str, count: int) -> None:
    """Wait until the service at `url` says it has `count` subscriptions open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    async with httpx.AsyncClient(base_url=url) as http:
        while True:
            seen = (await http.get("/health")).json()["subscriptions"]
            if seen == count:
                return
            assert loop.time() < deadline, f"{seen} subscriptions open, not {count}"
            await asyncio.sleep(0.02)
