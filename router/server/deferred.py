"""Incremental delivery of `@defer` over HTTP, as Apollo Router speaks it to Apollo Client: for
a request whose Accept takes `multipart/mixed;deferSpec=20220824`, the answer is
`multipart/mixed; boundary="-"; deferSpec=20220824`, one JSON part per payload of
`Router.incremental` (the Primary's `{"data", "hasNext": true}`, then `{"incremental": [...],
"hasNext": …}`), each written as it is ready, with the part framing of the multipart
subscriptions (router/server/streams.py: a part's delimiter follows it, so a client knows it
whole on arrival), then the closing delimiter. A client that does not take multipart gets
the whole answer at once (the operation run as if it had no @defer).

The whole answer is bounded by `traffic_shaping.router.timeout`, as any request is: the
Primary is made before the response starts (`Incremental.start`, within the request's
timeout: past it the client gets 504 GATEWAY_TIMEOUT), and the deferred parts must follow by
the same deadline; those that do not are ended with one last payload, `hasNext: false`, whose
item carries the GATEWAY_TIMEOUT error."""

from __future__ import annotations

import asyncio
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
    first: JSONObject | None = None
    """The Primary's payload, once `start` has made it."""

    async def start(self) -> None:
        """Make the first payload (the Primary's) now, within the caller's timeout."""
        self.first = await anext(self.payloads)


TIMED_OUT: JSONObject = {
    "hasNext": False,
    "incremental": [
        {
            "path": [],
            "errors": [
                {
                    "message": "Your request has been timed out",
                    "extensions": {"code": "GATEWAY_TIMEOUT"},
                }
            ],
        }
    ],
}
"""The last payload when the deferred parts are not done by the request's deadline."""


def accepts_incremental(headers: dict[str, str]) -> bool:
    """Whether the request's Accept takes `multipart/mixed` with `deferSpec=20220824`."""
    accept = headers.get("accept", "").lower().replace(" ", "")
    return any(
        media.startswith("multipart/mixed") and "deferspec=20220824" in media
        for media in accept.split(",")
    )


async def send_incremental(
    send: Send, answer: Incremental, extra: RawHeaders, deadline: float | None = None
) -> None:
    """Write the answer's payloads as multipart parts, each as soon as it is made: the started
    answer's first, then the others until `deadline` (the event loop's clock), then TIMED_OUT."""
    headers = [
        (b"content-type", DEFER_MULTIPART),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),  # nginx: pass each part on at once
        *extra,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _DELIMITER, "more_body": True})
    try:
        payload = answer.first
        while payload is not None:
            answer.sent.append(payload)
            body = PART + orjson.dumps(payload) + _DELIMITER
            await send({"type": "http.response.body", "body": body, "more_body": True})
            if not payload.get("hasNext"):
                break
            payload = await _next(answer.payloads, deadline)
        await send({"type": "http.response.body", "body": _END, "more_body": False})
    except OSError:
        pass  # the client went away while we wrote
    finally:
        with contextlib.suppress(Exception):
            await answer.payloads.aclose()


async def _next(
    payloads: AsyncGenerator[JSONObject, None], deadline: float | None
) -> JSONObject | None:
    """The next payload by `deadline`, TIMED_OUT past it, None after the last."""
    try:
        async with asyncio.timeout_at(deadline):
            return await anext(payloads)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        return TIMED_OUT
