"""Incremental delivery of `@defer` over HTTP, as Apollo Router speaks it to Apollo Client: for
a request whose Accept takes `multipart/mixed;deferSpec=20220824`, the answer is
`multipart/mixed; boundary="-"; deferSpec=20220824`, one JSON part per payload of
`Router.incremental` (the Primary's `{"data", "hasNext": true}`, then `{"incremental": [...],
"hasNext": …}`), each written as it is ready, with the part framing of the multipart
subscriptions (router/server/streams.py: a part's delimiter follows it, so a client knows it
whole on arrival), then the closing delimiter. A client that does not take multipart gets
the whole answer at once (the operation run as if it had no @defer)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from router.server.responses import RawHeaders
from router.server.streams import PART
from router.types import JSONObject

if TYPE_CHECKING:
    from starlette.types import Send

__all__ = ["DEFER_MULTIPART", "Incremental", "accepts_incremental", "send_incremental"]

DEFER_MULTIPART = b'multipart/mixed; boundary="-"; deferSpec=20220824'
_DELIMITER = b"\r\n---"
_END = b"--\r\n"


@dataclass(slots=True)
class Incremental:
    """An answer to be sent as incremental parts (an operation with active @defer)."""

    payloads: AsyncGenerator[JSONObject, None]
    sent: list[JSONObject]
    """The payloads written so far (for the request's metrics and log line)."""


def accepts_incremental(headers: dict[str, str]) -> bool:
    """Whether the request's Accept takes `multipart/mixed` with `deferSpec=20220824`."""
    accept = headers.get("accept", "").lower().replace(" ", "")
    return any(
        media.startswith("multipart/mixed") and "deferspec=20220824" in media
        for media in accept.split(",")
    )


async def send_incremental(send: Send, answer: Incremental, extra: RawHeaders) -> None:
    """Write the answer's payloads as multipart parts, each as soon as it is made."""
    headers = [
        (b"content-type", DEFER_MULTIPART),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),  # nginx: pass each part on at once
        *extra,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _DELIMITER, "more_body": True})
    try:
        async for payload in answer.payloads:
            answer.sent.append(payload)
            body = PART + orjson.dumps(payload) + _DELIMITER
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": _END, "more_body": False})
    except OSError:
        pass  # the client went away while we wrote
    finally:
        with contextlib.suppress(Exception):
            await answer.payloads.aclose()
