"""Subscriptions over WebSocket (`graphql-transport-ws`), with the caller the router forwards,
and closed with a code when the service stops.

The caller of a WebSocket connection comes from the upgrade request's headers, as for a POST
(`x-customer-id`, `x-customer-scopes`); a `connection_init` payload with a `headers` object
naming either of them replaces it (what a router sends when its client's auth travels in
`connection_init`). Once the service is told to stop (`LiveConnections.close`), every open
connection is closed with 1001 "Going away", as graphql-ws servers close on dispose, and a
connection that opens after is closed at once the same way: a client reconnects, to a
replica that is not stopping.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from subgraph_kit.caller import CUSTOMER_ID_HEADER, SCOPES_HEADER, Caller

GOING_AWAY = 1001
"""The WebSocket close code of a server that stops (RFC 6455)."""


class LiveConnections:
    """The open graphql-transport-ws connections of one app."""

    def __init__(self) -> None:
        self.handlers: set[ClosingHandler] = set()
        self.closing = False

    async def close(self) -> None:
        """Close every open connection with GOING_AWAY, and any that opens from now on."""
        self.closing = True
        for handler in list(self.handlers):
            await handler.go_away()


class ClosingHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """Strawberry's graphql-transport-ws handler, registered with its view's LiveConnections."""

    async def handle(self) -> None:
        live: LiveConnections = self.view.live  # type: ignore[attr-defined]
        if live.closing:
            await self.go_away()
            return
        live.handlers.add(self)
        try:
            await super().handle()
        finally:
            live.handlers.discard(self)

    async def go_away(self) -> None:
        """End this connection's operations, then close it with GOING_AWAY."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(RuntimeError, OSError):  # the client closed it meanwhile
            await self.websocket.close(GOING_AWAY, "Going away")


def caller_from_init(caller: Caller, payload: Mapping[str, object] | None) -> Caller:
    """The connection's caller once its `connection_init` payload is known (see the module's
    docstring); ConnectionRejectionError (close 4403) when `headers` is not an object of strings."""
    headers = (payload or {}).get("headers")
    if headers is None:
        return caller
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConnectionRejectionError({"message": "connection_init headers must be strings"})
    lowered = {name.lower(): value for name, value in headers.items()}
    if CUSTOMER_ID_HEADER not in lowered and SCOPES_HEADER not in lowered:
        return caller
    return Caller.from_headers(lowered)
