"""`/health`: liveness (`{"status": "UP"}`) and, with `?ready`, readiness: every subgraph
answers `{ __typename }` within 2 seconds, or 503 names those that did not."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from router.router import Router
from router.server.responses import respond

if TYPE_CHECKING:
    from starlette.types import Scope, Send

__all__ = ["answer_health", "is_readiness"]


def is_readiness(scope: Scope) -> bool:
    """Whether a request is the readiness check (`/health?ready`), as `answer_health` tells."""
    return bool(scope["path"] == "/health" and b"ready" in scope.get("query_string", b""))


async def answer_health(send: Send, router: Router, query_string: bytes) -> None:
    """Liveness: 200 `{"status": "UP"}`. With `ready` in the query string, readiness: 503 with the
    `unreachable` subgraphs' names when some do not answer."""
    if b"ready" not in query_string:
        await respond(send, 200, {"status": "UP"})
        return
    down = await unreachable_subgraphs(router)
    if down:
        await respond(send, 503, {"status": "DOWN", "unreachable": down})
    else:
        await respond(send, 200, {"status": "UP"})


async def unreachable_subgraphs(router: Router) -> list[str]:
    """The subgraphs that do not answer `{ __typename }` within 2 seconds, by name."""

    async def ping(service: str) -> str | None:
        try:
            answer = await asyncio.wait_for(
                router.transport.send(service, {"query": "{ __typename }"}), timeout=2
            )
            return None if answer.get("data") else service
        except Exception:  # readiness: any failure means not ready
            return service

    names = [g.name for g in router.supergraph.graphs.values()]
    results = await asyncio.gather(*(ping(n) for n in names))
    return sorted(r for r in results if r)
