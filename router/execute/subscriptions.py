"""Subscriptions to subgraphs: one graphql-transport-ws connection per subscription.

    connect (ws:// or wss://, subprotocol graphql-transport-ws, the forwarded headers)
    → connection_init {"headers": forwarded} → connection_ack (within `ack_timeout`)
    → subscribe → next… → complete

The forwarded headers (router.yaml's header rules and claim headers, as for an HTTP fetch) go
both on the upgrade request and in `connection_init`'s payload, since a subgraph may read its
caller from either. Each `next` payload is one event; `complete` ends the stream; a `ping` is
answered with a `pong`. An `error` message is the subgraph refusing the subscription
(`UpstreamRefused`, its GraphQL errors); a connection that cannot be opened or acknowledged,
that closes before `complete` or that breaks the protocol is `UpstreamFailed`
(SUBSCRIPTION_UPSTREAM_FAILED). Closing the subscription sends `complete` and closes the socket
(events left unread are read and dropped meanwhile, so the close handshake completes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConcurrencyError, ConnectionClosed, InvalidHandshake, InvalidURI

from router.errors import RouterError
from router.types import JSONObject

__all__ = [
    "PROTOCOL",
    "UPSTREAM_FAILED",
    "UpstreamFailed",
    "UpstreamRefused",
    "UpstreamSubscription",
    "websocket_url",
]

PROTOCOL = "graphql-transport-ws"
"""The WebSocket subprotocol spoken to subgraphs (graphql-ws's; Strawberry serves it)."""
UPSTREAM_FAILED = "SUBSCRIPTION_UPSTREAM_FAILED"
"""The code of a subscription whose subgraph connection failed or was lost."""
ACK_TIMEOUT = 10.0
"""Seconds a subgraph has to acknowledge `connection_init`, by default."""
OPERATION_ID = "1"
"""The one operation each upstream connection carries."""


class UpstreamFailed(RouterError):
    """A subgraph's subscription connection could not be opened, was not acknowledged in time,
    broke the protocol or was lost before `complete` (SUBSCRIPTION_UPSTREAM_FAILED)."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service
        self.message = message
        self.code = UPSTREAM_FAILED

    def to_graphql(self) -> JSONObject:
        """The error a client is answered with."""
        return {
            "message": f"{self.message} (subgraph {self.service!r})",
            "extensions": {"code": self.code, "serviceName": self.service},
        }


class UpstreamRefused(RouterError):
    """A subgraph answered the subscription with an `error` message: its GraphQL errors."""

    def __init__(self, service: str, errors: list[JSONObject]) -> None:
        super().__init__(f"subgraph {service!r} refused the subscription")
        self.service = service
        self.errors = errors


def websocket_url(url: str) -> str:
    """A subgraph's HTTP URL as its WebSocket URL: http → ws, https → wss, the rest kept."""
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            return ws + url[len(http) :]
    return url


class UpstreamSubscription:
    """One subscription to one subgraph over its own graphql-transport-ws connection.

    >>> upstream = UpstreamSubscription("orders", url, body, headers)
    >>> await upstream.open()          # connected, acknowledged, subscribed
    >>> async for payload in upstream: # each `next` payload ({"data": …, "errors": …})
    ...     ...
    >>> await upstream.close()
    """

    def __init__(
        self,
        service: str,
        url: str,
        body: JSONObject,
        headers: Mapping[str, str] | None = None,
        *,
        ack_timeout: float = ACK_TIMEOUT,
        open_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self.service = service
        self.url = websocket_url(url)
        self.body = body
        """The subscribe payload: `query`, `variables`, `operationName`."""
        self.headers = dict(headers or {})
        self.ack_timeout = ack_timeout
        self.open_timeout = open_timeout
        self._ws: ClientConnection | None = None
        self._done = False

    async def open(self) -> None:
        """Connect, initialise within `ack_timeout` and subscribe; UpstreamFailed when any of it
        fails (the connection closed again)."""
        try:
            self._ws = await connect(
                self.url,
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                additional_headers=self.headers,
                open_timeout=self.open_timeout,
                ping_interval=None,  # the protocol's own ping/pong, not WebSocket's, is answered
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise UpstreamFailed(self.service, f"cannot open the subscription: {exc}") from None
        try:
            await self._send({"type": "connection_init", "payload": {"headers": self.headers}})
            try:
                async with asyncio.timeout(self.ack_timeout):
                    while True:
                        message = await self._receive()
                        if message.get("type") == "connection_ack":
                            break
                        if message.get("type") != "ping":
                            raise self._protocol(f"{message.get('type')!r} before connection_ack")
            except TimeoutError:
                raise UpstreamFailed(
                    self.service, f"connection_init not acknowledged within {self.ack_timeout}s"
                ) from None
            await self._send({"id": OPERATION_ID, "type": "subscribe", "payload": self.body})
        except BaseException:
            await self.close()
            raise

    def __aiter__(self) -> UpstreamSubscription:
        return self

    async def __anext__(self) -> JSONObject:
        """The next event's payload; StopAsyncIteration once the subgraph completes (or the
        subscription was closed); UpstreamRefused for an `error` message, UpstreamFailed for a
        lost connection (either way the connection is closed)."""
        if self._done or self._ws is None:
            raise StopAsyncIteration
        try:
            while True:
                message = await self._receive()
                kind = message.get("type")
                if kind == "pong" or (kind != "ping" and message.get("id") != OPERATION_ID):
                    continue  # not ours, or a pong: nothing to do
                if kind == "ping":
                    await self._send({"type": "pong"})
                elif kind == "next":
                    payload = message.get("payload")
                    if not isinstance(payload, dict):
                        raise self._protocol("a `next` message without a payload object")
                    return payload
                elif kind == "complete":
                    self._done = True  # the subgraph ended it: nothing to complete on close
                    await self.close()
                    raise StopAsyncIteration
                elif kind == "error":
                    self._done = True
                    await self.close()
                    raise UpstreamRefused(self.service, _errors(message.get("payload")))
                else:
                    raise self._protocol(f"an unexpected {kind!r} message")
        except UpstreamFailed:
            await self.close()
            raise

    async def close(self) -> None:
        """Complete the subscription (unless it ended) and close the connection. Idempotent."""
        ws, self._ws = self._ws, None
        if ws is None:
            return
        if not self._done:
            self._done = True
            with contextlib.suppress(ConnectionClosed, OSError):
                await ws.send(json.dumps({"id": OPERATION_ID, "type": "complete"}))
        # events left unread past websockets' queue pause its reading, and the subgraph's close
        # frame would wait behind them until close_timeout: they are read and dropped meanwhile
        discard = asyncio.ensure_future(_discard(ws))
        try:
            with contextlib.suppress(ConnectionClosed, OSError):
                await ws.close()
        finally:
            discard.cancel()

    async def aclose(self) -> None:
        """`close()`, as an async generator's `aclose` is called."""
        await self.close()

    async def _send(self, message: JSONObject) -> None:
        assert self._ws is not None
        try:
            await self._ws.send(json.dumps(message))
        except ConnectionClosed as exc:
            raise self._lost(exc) from None

    async def _receive(self) -> dict[str, Any]:
        ws = self._ws
        if ws is None:  # closed meanwhile (by close(), from another task)
            raise UpstreamFailed(self.service, "the subscription was closed")
        try:
            raw = await ws.recv()
        except ConnectionClosed as exc:
            raise self._lost(exc) from None
        try:
            message = json.loads(raw)
        except ValueError:
            raise self._protocol("a message that is not JSON") from None
        if not isinstance(message, dict):
            raise self._protocol("a message that is not a JSON object")
        return message

    def _lost(self, exc: ConnectionClosed) -> UpstreamFailed:
        received = exc.rcvd
        why = ""
        if received is not None:
            why = (
                f" (close code {received.code}{', ' + received.reason if received.reason else ''})"
            )
        return UpstreamFailed(self.service, "the subscription's connection was lost" + why)

    def _protocol(self, what: str) -> UpstreamFailed:
        return UpstreamFailed(self.service, f"graphql-transport-ws broken: {what}")


async def _discard(ws: ClientConnection) -> None:
    """Read and drop messages until the connection closes (or another reader has it)."""
    with contextlib.suppress(ConnectionClosed, ConcurrencyError, OSError):
        while True:
            await ws.recv()


def _errors(payload: Any) -> list[JSONObject]:
    """An `error` message's payload as GraphQL errors (the protocol says a list of them)."""
    items = payload if isinstance(payload, list) else [payload]
    errors = [e for e in items if isinstance(e, dict)]
    return errors or [{"message": "the subgraph refused the subscription"}]
