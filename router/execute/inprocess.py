"""Subgraphs inside the router's process: start each ASGI app (its lifespan: databases, clients),
serve it through `AsgiTransport`, and shut it down afterwards.

    async with in_process({"customers": customer_app, "orders": order_app}) as transport:
        router = Router(supergraph, transport)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from router.errors import RouterError
from router.execute.transport import AsgiTransport


class LifespanError(RouterError):
    """An in-process subgraph failed to start or stop."""


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan protocol: startup on enter, shutdown on exit."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))

    async def step(message: str, expected: str) -> None:
        await inbox.put({"type": message})
        waiter = asyncio.ensure_future(outbox.get())
        done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            task.result()  # raises what the app raised
            raise LifespanError(f"the app stopped before {expected}")
        reply = waiter.result()
        if reply["type"] != expected:
            raise LifespanError(f"{message}: {reply.get('message', reply['type'])}")

    await step("lifespan.startup", "lifespan.startup.complete")
    try:
        yield
    finally:
        await step("lifespan.shutdown", "lifespan.shutdown.complete")
        await task


@contextlib.asynccontextmanager
async def in_process(
    apps: Mapping[str, Any], *, request_timeout: float = 30.0
) -> AsyncIterator[AsgiTransport]:
    """Start every app, yield a transport that calls them directly, stop them on exit."""
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(lifespan(app))
        yield AsgiTransport(apps, timeout=request_timeout)
