"""Subscriptions over HTTP on the GraphQL path: GraphQL over SSE (the graphql-sse protocol's
distinct connections mode) for `Accept: text/event-stream`, over POST or GET, and Apollo's
multipart HTTP subscriptions for `Accept: multipart/mixed;subscriptionSpec="1.0"` over POST.

A POST is read and checked as any POST is (CSRF, identity, JSON content type and body, one
request, no batch), and a refusal there is answered as JSON with its status. A GET (graphql-sse
allows one: `query`, `variables`, `operationName`, `extensions` in the query string) is checked
as any GET is (CSRF: a browser's GET carries none of `csrf.required_headers`, identity), its
persisted query resolved and its operation prepared first: a refusal there, and a mutation (405
METHOD_NOT_ALLOWED: a GET must not change anything), is answered as JSON. From then on
the answer is a stream of the operation's events through `Router.subscribe`, any operation
(a query gives its one answer):

- SSE (`text/event-stream`): `event: next` with `data: {response}` per event, `event: complete`
  at the end; a refusal before the first event (validation, a limit) is one `next` holding the
  errors, then `complete`, as the protocol asks; a comment line `:` every
  `subscription.ping_interval_seconds`.
- multipart (`multipart/mixed;boundary="graphql";subscriptionSpec="1.0"`): a part
  `{"payload": {response}}` per event, a heartbeat part `{}` at once and every
  `subscription.ping_interval_seconds` (5 s, Apollo Router's), then `--graphql--`; a refusal
  before the first event is a part `{"payload": {"errors": [...]}}`; a response with no `data`
  (the upstream lost: SUBSCRIPTION_UPSTREAM_FAILED) is a transport error,
  `{"payload": null, "errors": [...]}`, and the last part.

Each stream counts against `subscription.max_total`. A shutdown or hot reload ends it with a
coded error (live.py) in the protocol's form; a client that goes away closes the iterator.
The next event is taken from the iterator only once the last one is written, so a client that
stops reading leaves its events in the router's bounded queue (router/execute/fanout.py) and is
dropped from there, rather than buffered here without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Protocol, cast

import orjson

from router.errors import RequestError
from router.server.csrf import check_csrf
from router.server.graphql_http import (
    from_query_string,
    read_json,
    request_parts,
    require_json_content_type,
)
from router.server.live import Subscriber, closing_error
from router.server.responses import JSON, RawHeaders, respond
from router.server.websocket import LiveApp
from router.types import JSONObject

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["EVENT_STREAM", "MULTIPART", "PART", "StreamApp", "answer_stream", "stream_kind"]

EVENT_STREAM = b"text/event-stream"
MULTIPART = b'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
_DELIMITER = b"\r\n--graphql"
PART = b"\r\ncontent-type: application/json\r\n\r\n"
"""Each part is written with the delimiter after it, so a client knows it whole on arrival
(as Apollo Router writes them); the end is that delimiter's `--`."""
_END = b"--\r\n"


class StreamApp(LiveApp, Protocol):
    """What the streams read of the served app: the transports' needs, and the body limit."""

    max_body: int


def stream_kind(headers: dict[str, str], method: str = "POST") -> str | None:
    """ "sse" or "multipart" when the request's Accept asks for that stream over `method`
    (a GET only for SSE), else None."""
    accept = headers.get("accept", "").lower()
    if method == "POST" and "multipart/mixed" in accept and "subscriptionspec" in accept:
        return "multipart"
    if method in ("POST", "GET") and "text/event-stream" in accept:
        return "sse"
    return None


async def answer_stream(
    app: StreamApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    headers: dict[str, str],
    cors: RawHeaders,
    kind: str,
    method: str = "POST",
) -> None:
    """Answer one POST or GET as the `kind` stream the module docstring describes."""
    config = app.config
    try:
        check_csrf(config, method, headers)
        identity = await app.identities.of(config, method, scope["path"], headers)
        if method == "GET":
            request = await _get_request(app, scope)
        else:
            require_json_content_type(headers)
            request = await read_json(receive, headers, app.max_body)
        if isinstance(request, list):
            raise RequestError(
                "a subscription stream carries one request, not a batch", "BAD_REQUEST"
            )
    except RequestError as exc:
        await respond(send, exc.status, exc.response(), JSON, cors)
        return
    stream = _Stream(app, send, kind)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", EVENT_STREAM if kind == "sse" else MULTIPART),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
                *cors,
            ],
        }
    )
    await stream.open()
    try:
        query, variables, operation_name, extensions = request_parts(request)
        query = app.persisted.resolve(app.router, config, query, extensions, operation_name)
        app.subscriptions.reserve(config, kind)
    except RequestError as exc:
        await stream.refused(exc)
        await stream.end()
        return
    try:
        # Router.subscribe is the Subscriber the transports are written against
        subscriber = cast("Subscriber", app.router)
        events = subscriber.subscribe(
            query, variables, operation_name, headers=headers, identity=identity
        )
        await stream.run(events, receive)
    finally:
        app.subscriptions.release(kind)


async def _get_request(app: StreamApp, scope: Scope) -> JSONObject:
    """A GET's request from its query string, its persisted query resolved (the text put in
    its place); RequestError when it cannot be prepared or is a mutation."""
    request = from_query_string(scope.get("query_string", b""))
    query, _, operation_name, extensions = request_parts(request)
    query = app.persisted.resolve(app.router, app.config, query, extensions, operation_name)
    subscriber = cast("Subscriber", app.router)
    kind = await subscriber.operation_kind(query, operation_name)
    if kind == "mutation":
        raise RequestError(
            "mutations cannot be sent with GET; use POST", "METHOD_NOT_ALLOWED", status=405
        )
    return {**request, "query": query}


class _Stream:
    """One SSE or multipart answer being written."""

    def __init__(self, app: LiveApp, send: Send, kind: str) -> None:
        self.app = app
        self._send = send
        self.sse = kind == "sse"
        self.kind = kind
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def write(self, chunk: bytes) -> None:
        if not self.sse:
            chunk += _DELIMITER
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def event(self, response: Any) -> bool:
        """Write one event; False when it was the last (a multipart transport error)."""
        if self.sse:
            await self.write(b"event: next\ndata: " + orjson.dumps(response) + b"\n\n")
            return True
        if isinstance(response, dict) and "data" not in response:
            await self.write(
                PART + orjson.dumps({"payload": None, "errors": response.get("errors", [])})
            )
            return False
        await self.write(PART + orjson.dumps({"payload": response}))
        return True

    async def refused(self, exc: RequestError) -> None:
        if self.sse:
            await self.event(exc.response())
        else:
            await self.write(PART + orjson.dumps({"payload": exc.response()}))

    async def open(self) -> None:
        """The stream's first bytes: for multipart the first delimiter and a heartbeat."""
        if not self.sse:
            await self._send({"type": "http.response.body", "body": _DELIMITER, "more_body": True})
            await self.heartbeat()

    async def heartbeat(self) -> None:
        await self.write(b":\n\n" if self.sse else PART + b"{}")

    async def end(self) -> None:
        closing = b"event: complete\ndata:\n\n" if self.sse else _END
        await self._send({"type": "http.response.body", "body": closing, "more_body": False})

    async def run(self, events: Any, receive: Receive) -> None:
        """The events as they come, heartbeats between, until the end, a refusal, a close by
        the router, or the client going away."""
        queue = self.queue

        async def produce() -> None:
            started = False
            try:
                async for response in events:
                    started = True
                    await queue.put(("event", response))
                    await queue.join()  # written: only then is the next one taken
                await queue.put(("end", None))
            except RequestError as exc:
                await queue.put(("event", exc.response()) if started else ("refused", exc))
                await queue.put(("end", None))

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            await queue.put(("gone", None))

        async def close(code: str) -> None:
            await queue.put(("closed", code))

        interval = self.app.config.subscription_ping_interval or None
        tasks = [asyncio.create_task(produce()), asyncio.create_task(watch())]
        self.app.subscriptions.add(close)
        gone = False
        try:
            while True:
                try:
                    kind, value = await asyncio.wait_for(queue.get(), interval)
                except TimeoutError:
                    await self.heartbeat()
                    continue
                if kind == "event":
                    written = await self.event(value)
                    queue.task_done()  # `produce` may take the next event now
                    self.app.subscriptions.delivered(self.kind)
                    if not written:
                        break
                elif kind == "refused":
                    await self.refused(value)
                elif kind == "closed":
                    await self.event({"errors": [closing_error(value)]})
                    break
                elif kind == "gone":
                    gone = True
                    break
                else:
                    break
            if not gone:
                await self.end()
        except OSError:
            pass  # the client went away while we wrote
        finally:
            self.app.subscriptions.discard(close)
            for task in tasks:
                task.cancel()
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
