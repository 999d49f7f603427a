"""A real HTTP server that misbehaves on purpose, standing where a dependency should be."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from tests.support.services import free_port

Send = Any
Receive = Any


def faulty_app(mode: str) -> Any:
    """An ASGI app answering every request in one broken way: `500`, `garbage` or `slow`."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if mode == "slow":
            await asyncio.sleep(3)
        status, body = {
            "500": (500, b'{"errors": [{"message": "boom"}]}'),
            "garbage": (200, b"<html>definitely not json</html>"),
            "errors": (200, b'{"data": null, "errors": [{"message": "db down"}]}'),
            "slow": (200, b'{"data": {"customer": {"id": "1"}}}'),
        }[mode]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def answering_app(status: int, body: bytes, content_type: bytes = b"application/json") -> Any:
    """An ASGI app answering every request with `status` and `body`."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", content_type)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@contextlib.contextmanager
def serve_in_thread(app: Any, **options: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free port in a thread; yields its base URL.
    `options` go to `uvicorn.Config`."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def faulty_server(mode: str) -> Iterator[str]:
    """Serve `faulty_app(mode)`; yields its GraphQL URL."""
    with serve_in_thread(faulty_app(mode)) as url:
        yield f"{url}/graphql"
