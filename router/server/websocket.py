"""graphql-transport-ws on the GraphQL path, as graphql-ws's server speaks it.

The upgrade must name the subprotocol `graphql-transport-ws` (else 400), and a browser's
must come from one of the router's own pages or an origin `cors.origins` allows (else 403
CSRF_ERROR: a cross-site page would otherwise subscribe with the browser's cookies, which the
JWT `cookie` source reads). The client has
`subscription.connection_init_timeout_seconds` to send `connection_init` (else close 4408);
a second one closes with 4429. Its `payload.headers` (an object of strings) are laid over the
upgrade request's headers, names lower-cased, the payload winning: those are the headers the
request's identity (JWT, the `identify` hook, `authorization.require_authentication`) and the
header rules see, as for an HTTP request. A refused identity closes with 4403 and the code as
the reason. Then `connection_ack`, and:

- `ping` is answered with `pong`; the router pings every `subscription.ping_interval_seconds`;
- `subscribe` (before the ack: close 4401; an id in use: close 4409) runs the operation through
  `Router.subscribe`: one `next` per event, then `complete`; a refusal before the first event
  is one `error` message with its GraphQL errors; beyond `subscription.max_per_connection` or
  `subscription.max_total` an `error` SUBSCRIPTION_MAX_LIMIT (live.py);
- `complete` from the client stops that operation (its iterator is closed);
- anything else (not JSON, an unknown type, a malformed message) closes with 4400.

On shutdown or a hot reload every connection is closed with 1001 "Going away", the reason being
the code (live.py): graphql-ws clients reconnect after 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlsplit

import orjson

from router.authz import ANONYMOUS, Identity
from router.config import Config
from router.errors import RequestError
from router.server.graphql_http import request_parts, scope_headers
from router.server.identify import Identities
from router.server.live import Subscriber, Subscriptions
from router.server.persisted import PersistedQueries
from router.server.responses import JSON, error_body
from router.types import JSONObject

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from router.router import Router

__all__ = ["GOING_AWAY", "PROTOCOL", "LiveApp", "origin_allowed", "serve_websocket"]

PROTOCOL = "graphql-transport-ws"
GOING_AWAY = 1001
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
INIT_TIMEOUT = 4408
SUBSCRIBER_EXISTS = 4409
TOO_MANY_INITS = 4429


class LiveApp(Protocol):
    """What the transports read of the served app (router/server/app.py)."""

    router: Router
    config: Config
    identities: Identities
    persisted: PersistedQueries
    subscriptions: Subscriptions


class _Closed(Exception):
    """The connection is closed (by the client, or by the router): stop reading."""


async def serve_websocket(app: LiveApp, scope: Scope, receive: Receive, send: Send) -> None:
    """One WebSocket connection: refused with a coded HTTP answer, or served as the module
    docstring says."""
    if (await receive())["type"] != "websocket.connect":
        return
    config = app.config
    if not config.subscription_enabled:
        message = (
            "subscriptions are off on this router (router.yaml: subscription.enabled); "
            "send queries and mutations with HTTP POST"
        )
        await _refuse(scope, send, 400, error_body(message, "SUBSCRIPTION_DISABLED"))
        return
    if scope["path"] not in (config.path, "/"):
        path = scope["path"]
        await _refuse(scope, send, 404, error_body(f"no route for {path}", "NOT_FOUND"))
        return
    if PROTOCOL not in scope.get("subprotocols", []):
        message = f"WebSocket connections must use the subprotocol {PROTOCOL}"
        await _refuse(scope, send, 400, error_body(message, "SUBPROTOCOL_NOT_ACCEPTABLE"))
        return
    headers = scope_headers(scope)
    origin = headers.get("origin")
    if origin is not None and not origin_allowed(config, origin, headers.get("host")):
        message = (
            f"WebSocket connections from {origin} are not allowed: a page of another origin "
            "would subscribe with the browser's cookies (router.yaml: cors.origins)"
        )
        await _refuse(scope, send, 403, error_body(message, "CSRF_ERROR"))
        return
    await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
    await _Connection(app, scope, headers, receive, send).run()


def origin_allowed(config: Config, origin: str, host: str | None) -> bool:
    """Whether a browser page of `origin` may open a WebSocket here: one of this router's own
    pages (the origin's host is the request's `Host`), or an origin the `cors` section allows.
    Browsers send cookies with an upgrade and no preflight guards it, so this is the WebSocket's
    cross-site check (clients other than browsers send no Origin and are not asked)."""
    if "*" in config.cors_origins or origin in config.cors_origins:
        return True
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


async def _refuse(scope: Scope, send: Send, status: int, body: JSONObject) -> None:
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})  # the server answers 403
        return
    payload = orjson.dumps(body)
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", JSON), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "websocket.http.response.body", "body": payload})


class _Connection:
    """One accepted graphql-transport-ws connection."""

    def __init__(
        self, app: LiveApp, scope: Scope, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self._send = send
        self.headers = headers
        """The upgrade's headers; `connection_init.payload.headers` are laid over them."""
        self.identity: Identity = ANONYMOUS
        self.acknowledged = False
        self.closed = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._sending = asyncio.Lock()

    async def run(self) -> None:
        subscriptions = self.app.subscriptions
        if subscriptions.closing:
            await self.close(GOING_AWAY, "SUBSCRIPTION_SHUTDOWN")
            return
        subscriptions.add(self.go_away)
        heartbeat: asyncio.Task[None] | None = None
        try:
            try:
                async with asyncio.timeout(self.app.config.subscription_init_timeout):
                    while not self.acknowledged:
                        await self.handle(await self.next_message())
            except TimeoutError:
                await self.close(INIT_TIMEOUT, "Connection initialisation timeout")
                return
            if self.app.config.subscription_ping_interval > 0:
                heartbeat = asyncio.create_task(self.ping_every())
            while True:
                await self.handle(await self.next_message())
        except _Closed:
            return
        finally:
            subscriptions.discard(self.go_away)
            if heartbeat is not None:
                heartbeat.cancel()
            for task in list(self.operations.values()):
                task.cancel()
            self.closed = True

    async def next_message(self) -> JSONObject:
        """The next message as JSON; a message that is not a JSON object closes with 4400."""
        if self.closed:
            raise _Closed
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
            raise _Closed
        text = message.get("text")
        if text is None:
            await self.close(BAD_REQUEST, "Invalid message received: binary frames are not read")
            raise _Closed
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            await self.close(BAD_REQUEST, "Invalid message received")
            raise _Closed
        return parsed

    async def handle(self, message: JSONObject) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self.init(message.get("payload"))
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self.subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self.close(BAD_REQUEST, f"Invalid message received: unknown type {kind!r}")
            raise _Closed

    async def init(self, payload: Any) -> None:
        if self.acknowledged:
            await self.close(TOO_MANY_INITS, "Too many initialisation requests")
            raise _Closed
        extra = (payload or {}).get("headers") if isinstance(payload, dict | None) else None
        if not isinstance(payload, dict | None) or not (
            extra is None
            or (isinstance(extra, dict) and all(isinstance(v, str) for v in extra.values()))
        ):
            await self.close(
                BAD_REQUEST, "Invalid message received: payload.headers must be strings"
            )
            raise _Closed
        self.headers = {**self.headers, **{k.lower(): v for k, v in (extra or {}).items()}}
        app = self.app
        try:
            self.identity = await app.identities.of(
                app.config, "GET", self.scope["path"], self.headers
            )
        except RequestError as exc:
            await self.close(FORBIDDEN, f"Forbidden: {exc.code}")
            raise _Closed from None
        self.acknowledged = True
        await self.send({"type": "connection_ack"})

    async def subscribe(self, message: JSONObject) -> None:
        if not self.acknowledged:
            await self.close(UNAUTHORIZED, "Unauthorized")
            raise _Closed
        id_ = message.get("id")
        payload = message.get("payload")
        if not isinstance(id_, str) or not id_ or not isinstance(payload, dict):
            await self.close(BAD_REQUEST, "Invalid message received: subscribe needs id, payload")
            raise _Closed
        if id_ in self.operations:
            await self.close(SUBSCRIBER_EXISTS, f"Subscriber for {id_} already exists")
            raise _Closed
        app = self.app
        try:
            query, variables, operation_name, extensions = request_parts(payload)
            query = app.persisted.resolve(app.router, app.config, query, extensions, operation_name)
            app.subscriptions.reserve(app.config, "websocket", len(self.operations))
        except RequestError as exc:
            await self.send({"id": id_, "type": "error", "payload": exc.graphql_errors()})
            return
        self.operations[id_] = asyncio.create_task(
            self.run_operation(id_, query, variables, operation_name)
        )

    async def run_operation(
        self, id_: str, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> None:
        """One operation's events as `next` messages, then `complete`; a refusal before the
        first event is one `error` message."""
        # Router.subscribe is the Subscriber the transports are written against
        subscriber = cast("Subscriber", self.app.router)
        events = subscriber.subscribe(
            query, variables, operation_name, headers=self.headers, identity=self.identity
        )
        started = False
        try:
            try:
                async for event in events:
                    started = True
                    await self.send({"id": id_, "type": "next", "payload": event})
                    self.app.subscriptions.delivered("websocket")
            except RequestError as exc:
                if not started:
                    await self.send({"id": id_, "type": "error", "payload": exc.graphql_errors()})
                    return
                await self.send({"id": id_, "type": "next", "payload": exc.response()})
            await self.send({"id": id_, "type": "complete"})
        finally:
            self.app.subscriptions.release("websocket")
            if self.operations.get(id_) is asyncio.current_task():
                del self.operations[id_]
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def ping_every(self) -> None:
        interval = self.app.config.subscription_ping_interval
        while not self.closed:
            await asyncio.sleep(interval)
            await self.send({"type": "ping"})

    async def go_away(self, code: str) -> None:
        """Closed by the router (a reload, the shutdown): end the operations, close with 1001."""
        for task in list(self.operations.values()):
            task.cancel()
        await self.close(GOING_AWAY, code)

    async def send(self, message: JSONObject) -> None:
        async with self._sending:
            if self.closed:
                return
            with contextlib.suppress(Exception):  # the client went away meanwhile
                await self._send({"type": "websocket.send", "text": orjson.dumps(message).decode()})

    async def close(self, code: int, reason: str) -> None:
        async with self._sending:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(Exception):
                await self._send({"type": "websocket.close", "code": code, "reason": reason[:120]})
