"""A fake `Router.subscribe` for the subscription transports' tests (router/server/live.py's
`Subscriber`): scripted events per operation, a refusal before the first event, an operation
that never ends; it records every call and every iterator closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import uvicorn

from router.authz import ANONYMOUS, Identity
from router.config import parse_config
from router.errors import RequestError
from router.router import Router
from router.server.app import RouterApp
from router.server.drain import Draining, DrainingServer, ShutdownSettings
from router.server.health import is_readiness
from router.types import JSONObject

WAIT = 10.0
FAST = "subscription: { connection_init_timeout_seconds: 300ms, ping_interval_seconds: 0 }"
"""A short connection_init timeout, no heartbeats."""
TWO = "subscription Two { n }"
"""Two events, then the end."""
REFUSED = "subscription Refused { n }"
"""A RequestError (GRAPHQL_VALIDATION_FAILED) from the first `__anext__()`."""
FOREVER = "subscription Forever { n }"
"""One event, then nothing until closed."""
LOST = "subscription Lost { n }"
"""One event, then the contract's SUBSCRIPTION_UPSTREAM_FAILED response, then the end."""
UPSTREAM_FAILED = {
    "errors": [
        {
            "message": "the upstream went away",
            "extensions": {"code": "SUBSCRIPTION_UPSTREAM_FAILED"},
        }
    ]
}


class Events:
    """One operation's iterator: not an async generator, so only `aclose()` closes it."""

    def __init__(self, owner: FakeSubscriber, query: str) -> None:
        self.owner = owner
        self.query = query
        self.sent = 0

    def __aiter__(self) -> Events:
        return self

    async def __anext__(self) -> JSONObject:
        if self.query == REFUSED:
            raise RequestError("Cannot query field 'x'", "GRAPHQL_VALIDATION_FAILED")
        self.sent += 1
        if self.query == TWO and self.sent <= 2:
            return {"data": {"n": self.sent}}
        if self.query == LOST and self.sent <= 2:
            return {"data": {"n": 1}} if self.sent == 1 else UPSTREAM_FAILED
        if self.query == FOREVER:
            if self.sent == 1:
                return {"data": {"n": 1}}
            await asyncio.Event().wait()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.owner.closed.append(self.query)


class FakeSubscriber:
    """Stands where the Router is: `subscribe` per the contract, `close` for the app's
    shutdown."""

    cache_hits = 0
    cache_misses = 0

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any] | None, dict[str, str], Identity]] = []
        self.closed: list[str] = []

    def subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        identity: Identity = ANONYMOUS,
    ) -> Events:
        self.calls.append((query, variables, dict(headers or {}), identity))
        return Events(self, query)

    async def operation_kind(self, query: str, operation_name: str | None = None) -> str:
        """The operation's kind by its first word, as the scripted operations are written."""
        first = query.split(maxsplit=1)[0]
        return first if first in ("mutation", "subscription") else "query"

    async def close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def served(
    config_text: str = FAST, router: Router | None = None, **kwargs: Any
) -> AsyncIterator[tuple[str, FakeSubscriber, RouterApp, DrainingServer]]:
    """The app, in front of a FakeSubscriber (or of `router`, a real one), served as
    `python -m router serve` serves it (the drain and its closing hook); yields its ws://
    GraphQL URL."""
    fake = FakeSubscriber()
    config = parse_config(config_text)
    app = RouterApp(router or cast(Router, fake), config, **kwargs)
    drain = Draining(app, is_readiness)
    server = DrainingServer(
        uvicorn.Config(drain, host="127.0.0.1", port=0, log_level="warning"),
        drain,
        ShutdownSettings(delay=0, timeout=5),
        app.close_subscriptions,
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn sets a flag)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/graphql", fake, app, server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)
