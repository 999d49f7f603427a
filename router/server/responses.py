"""Writing an answer over raw ASGI: one `http.response.start` and one body, JSON by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from router.types import JSONObject

if TYPE_CHECKING:
    from starlette.types import Send

__all__ = ["GRAPHQL_RESPONSE", "JSON", "RawHeaders", "error_body", "respond", "send_payload"]

JSON = b"application/json"
GRAPHQL_RESPONSE = b"application/graphql-response+json"
RawHeaders = list[tuple[bytes, bytes]]
"""Response headers as ASGI sends them: lower-case names and values, as bytes."""


def error_body(message: str, code: str) -> JSONObject:
    """A response holding one GraphQL error with `extensions.code`."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


async def respond(
    send: Send,
    status: int,
    body: Any,
    content_type: bytes = JSON,
    extra: RawHeaders | None = None,
) -> None:
    """Answer with `body` serialised as JSON."""
    await send_payload(send, status, orjson.dumps(body), content_type, extra)


async def send_payload(
    send: Send,
    status: int,
    payload: bytes,
    content_type: bytes,
    extra: RawHeaders | None = None,
) -> None:
    """Answer with these bytes, their type and length, and `extra` headers."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
