"""A real HTTP subgraph for serving tests: answers from a table, records every request's
headers and body, so tests can assert what reached the subgraph."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class RecordingSubgraph:
    def __init__(self, answers: dict[str, Any], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        """Seconds to wait before answering (so concurrent requests overlap)."""
        """query text → the JSON answer."""
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        # latin-1: every byte is kept as one character, so tests can assert exact bytes
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append((headers, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.answers.get(body.get("query"), {"data": {"__typename": "Query"}})
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def read_body(receive: Any) -> bytes:
    """The whole body of an ASGI HTTP request."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
