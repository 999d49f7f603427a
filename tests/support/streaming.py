"""Reading a streamed subscription answer as it arrives: GraphQL over SSE events and Apollo's
multipart parts, from an httpx streaming response (the server transports' tests)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

SSE = {"accept": "text/event-stream", "content-type": "application/json"}
MULTIPART = {
    "accept": 'multipart/mixed;subscriptionSpec="1.0", application/json',
    "content-type": "application/json",
}
WAIT = 10.0
DELIMITER = b"\r\n--graphql"


def http_url(ws_url: str) -> str:
    return ws_url.replace("ws://", "http://", 1)


class Reader:
    """One streamed response read as it comes: SSE events or multipart parts."""

    def __init__(self, response: httpx.Response, delimiter: bytes = DELIMITER) -> None:
        self.delimiter = delimiter
        """The part delimiter (`\\r\\n--` and the boundary): `--graphql` for subscriptions,
        `---` for @defer."""
        self.chunks = response.aiter_bytes()
        self.buffer = b""
        self.ended = False

    async def sse(self, count: int | None = None) -> list[Any]:
        """The next events as (event, data) pairs, comments as (":", None), up to `count`."""
        seen: list[Any] = []
        while count is None or len(seen) < count:
            if b"\n\n" not in self.buffer:
                if not await self._more():
                    return seen
                continue
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            text = block.decode()
            if text.startswith(":"):
                seen.append((":", None))
                continue
            fields = dict(line.split(":", 1) for line in text.split("\n"))
            data = fields.get("data", "").strip()
            seen.append((fields["event"].strip(), json.loads(data) if data else None))
        return seen

    async def parts(self, count: int | None = None) -> list[Any]:
        """The next parts as JSON, "END" for the final delimiter, up to `count`."""
        seen: list[Any] = []
        while count is None or len(seen) < count:
            start = self.buffer.find(self.delimiter)
            if start != -1:
                after = self.buffer[start + len(self.delimiter) :]
                if after.startswith(b"--"):
                    seen.append("END")
                    self.buffer = b""
                    continue
                end = after.find(self.delimiter)
                if end != -1:  # a part is whole once the next delimiter is there
                    seen.append(json.loads(after[:end].split(b"\r\n\r\n", 1)[1]))
                    self.buffer = after[end:]
                    continue
            if not await self._more():
                return seen
        return seen

    async def _more(self) -> bool:
        try:
            self.buffer += await asyncio.wait_for(anext(self.chunks), WAIT)
        except StopAsyncIteration:
            return False
        return True
