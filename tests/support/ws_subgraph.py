"""A subgraph's side of graphql-transport-ws for tests: websockets' asyncio server on an ephemeral
port in the test's process (real WebSocket), running a test's handler per connection and
recording what the client sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from router.execute.subscriptions import PROTOCOL

WAIT = 10.0


class Seen:
    """What the server was sent: the upgrade's headers and subprotocol, every message."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.subprotocol: str | None = None
        self.messages: list[dict[str, Any]] = []
        self.closed = asyncio.Event()

    async def receive(self, ws: ServerConnection) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        self.messages.append(message)
        return dict(message)


@contextlib.asynccontextmanager
async def subgraph(
    handler: Callable[[ServerConnection, Seen], Awaitable[None]],
) -> AsyncIterator[tuple[str, Seen]]:
    """A graphql-transport-ws server running `handler` per connection: its http:// URL."""
    seen = Seen()

    async def connection(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.headers = {k.lower(): v for k, v in ws.request.headers.raw_items()}
        seen.subprotocol = ws.subprotocol
        try:
            await handler(ws, seen)
            with contextlib.suppress(ConnectionClosed):  # until the client closes
                while True:
                    await seen.receive(ws)
        except ConnectionClosed:
            pass
        finally:
            seen.closed.set()

    async with serve(connection, "127.0.0.1", 0, subprotocols=[PROTOCOL]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}/graphql", seen


async def acknowledged(ws: ServerConnection, seen: Seen) -> dict[str, Any]:
    """Acknowledge the client's connection_init; its subscribe message."""
    init = await seen.receive(ws)
    assert init["type"] == "connection_init"
    await ws.send(json.dumps({"type": "connection_ack"}))
    subscribe = await seen.receive(ws)
    assert subscribe["type"] == "subscribe"
    return subscribe


async def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition` to hold (checked every few milliseconds, at most WAIT seconds)."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 (a count in the router, no event to await)
            await asyncio.sleep(0.005)
