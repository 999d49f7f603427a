"""What the subscription transports share (websocket.py, streams.py): the `Subscriber` they
call, the count of open subscriptions against router.yaml's limits, and the close of every open
one when the router shuts down or its supergraph or router.yaml is reloaded.

Codes, as Apollo Router names them: SUBSCRIPTION_MAX_LIMIT (a limit is reached: "can't open
new subscription, limit reached"), SUBSCRIPTION_SCHEMA_RELOAD and SUBSCRIPTION_CONFIG_RELOAD
(closed by a hot reload; the client subscribes again, to the new supergraph), and ours,
SUBSCRIPTION_SHUTDOWN (closed because this process stops; the client subscribes again, to a
replica that is not stopping).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from router.authz import ANONYMOUS, Identity
from router.config import Config
from router.errors import RequestError
from router.server.metrics import Metrics
from router.types import JSONObject

__all__ = [
    "CONFIG_RELOAD",
    "MAX_LIMIT",
    "SCHEMA_RELOAD",
    "SHUTDOWN",
    "Closer",
    "Subscriber",
    "Subscriptions",
    "closing_error",
]

MAX_LIMIT = "SUBSCRIPTION_MAX_LIMIT"
SCHEMA_RELOAD = "SUBSCRIPTION_SCHEMA_RELOAD"
CONFIG_RELOAD = "SUBSCRIPTION_CONFIG_RELOAD"
SHUTDOWN = "SUBSCRIPTION_SHUTDOWN"
_CLOSING_MESSAGES = {
    SCHEMA_RELOAD: "subscription has been closed due to a schema reload",
    CONFIG_RELOAD: "subscription has been closed due to a configuration reload",
    SHUTDOWN: "subscription has been closed because the router is shutting down",
}

Closer = Callable[[str], Awaitable[None]]
"""Closes one open transport (a WebSocket connection, an SSE or multipart response), given the
code saying why."""


class Subscriber(Protocol):
    """What the transports call: `Router.subscribe` (router/router.py). Its iterator raises
    RequestError from the first `__anext__()` for a refusal known before any event, yields one
    GraphQL response per event, and closes the upstream subscription on `aclose()`."""

    def subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        identity: Identity = ANONYMOUS,
    ) -> AsyncIterator[JSONObject]:
        """The events of one operation, as GraphQL responses."""
        ...

    async def operation_kind(self, query: str, operation_name: str | None = None) -> str:
        """ "query", "mutation" or "subscription": the operation `query` names (a GET may not
        carry a mutation); RequestError when it cannot be prepared."""
        ...


def closing_error(code: str) -> JSONObject:
    """The GraphQL error that tells a client why its subscription was closed."""
    return {"message": _CLOSING_MESSAGES.get(code, code), "extensions": {"code": code}}


class Subscriptions:
    """The served app's open subscriptions (every transport) and the transports holding them."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        """Counts them per transport (router_subscriptions_open, router_subscription_events)."""
        self.open = 0
        """Subscriptions open now, every transport counted (`subscription.max_total`)."""
        self.closing = False
        """The process is stopping: new transports are closed at once."""
        self._closers: set[Closer] = set()

    def reserve(self, config: Config, transport: str, held: int = 0) -> None:
        """Count one more open subscription over `transport`, held by a transport that holds
        `held` already; RequestError SUBSCRIPTION_MAX_LIMIT when a limit is reached."""
        if self.open >= config.subscription_max_total or (
            held >= config.subscription_max_per_connection
        ):
            raise RequestError("can't open new subscription, limit reached", MAX_LIMIT, status=429)
        self.open += 1
        self.metrics.subscribed(transport, 1)

    def release(self, transport: str) -> None:
        """One subscription fewer is open over `transport`."""
        self.open -= 1
        self.metrics.subscribed(transport, -1)

    def delivered(self, transport: str) -> None:
        """One event delivered over `transport`."""
        self.metrics.delivered(transport)

    def add(self, closer: Closer) -> None:
        """An open transport, closed by `close_all`."""
        self._closers.add(closer)

    def discard(self, closer: Closer) -> None:
        """A transport that has closed."""
        self._closers.discard(closer)

    async def close_all(self, code: str) -> None:
        """Close every open transport, saying `code` (a reload's, or SHUTDOWN)."""
        if code == SHUTDOWN:
            self.closing = True
        for closer in list(self._closers):
            with contextlib.suppress(Exception):  # one broken transport must not keep the rest
                await closer(code)
