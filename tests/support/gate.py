"""A real HTTP proxy that holds requests until a number of them have arrived, then forwards all.

Put in front of the customers service, it makes concurrent createOrder calls all pass the
"is this key stored yet?" check before any of them can insert: the race two replicas can run
into, every time instead of now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from tests.support.faulty import serve_in_thread

# Only so that a test whose requests never all arrive still ends (and fails on its own
# assertions); a passing run releases the gate as soon as the last request arrives.
GIVE_UP_AFTER = 10.0


def gate_app(upstream: str, together: int) -> Any:
    """An ASGI app that forwards POSTs to `upstream` once `together` of them are waiting."""
    arrived = 0
    open_ = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal arrived
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        arrived += 1
        if arrived >= together:
            open_.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(open_.wait(), GIVE_UP_AFTER)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                upstream, content=body, headers={"content-type": "application/json"}
            )
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    return app


@contextlib.contextmanager
def gate(upstream: str, together: int) -> Iterator[str]:
    """Serve `gate_app` on a free port; yields the URL to use instead of `upstream`."""
    with serve_in_thread(gate_app(upstream, together)) as url:
        yield f"{url}/graphql"
