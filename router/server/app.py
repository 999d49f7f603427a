"""The router as an ASGI app: GraphQL over HTTP, GraphiQL, health, metrics, hot reload.

Routes (the GraphQL path is `supergraph.path` in router.yaml, `/graphql` by default):

    POST path        GraphQL over HTTP (JSON; `application/graphql-response+json` by Accept);
                     a JSON array is a batch when batching is enabled; `Accept:
                     text/event-stream` (GraphQL over SSE) or `multipart/mixed;
                     subscriptionSpec="1.0"` (Apollo's) streams events (streams.py)
    WebSocket path   graphql-transport-ws (websocket.py)
    GET  path        queries only (a mutation gets 405); a browser (Accept: text/html) gets GraphiQL
                     when `sandbox.enabled` (off by default, on with --dev); `Accept:
                     text/event-stream` streams a subscription over SSE (streams.py)
    GET  /graphiql/static/NAME   GraphiQL's bundled assets (no internet needed), with GraphiQL;
                     gzip-compressed when the browser accepts it
    GET  /health     {"status": "UP"}; `/health?ready` also asks every subgraph (503 if one is down;
                     503 DRAINING once the process stops: router/server/drain.py)
    GET  /metrics    Prometheus text format
    OPTIONS          CORS preflight for allowed origins

A GraphQL request not answered within `traffic_shaping.router.timeout` (30s) gets 504
(GATEWAY_TIMEOUT). Other methods on the GraphQL path get 405 (with `Allow`), a POST whose
body is not JSON 415 (INVALID_CONTENT_TYPE_HEADER), a WebSocket upgrade 400
(SUBSCRIPTION_DISABLED) when `subscription.enabled` is false; otherwise it is served as
graphql-transport-ws (websocket.py). With
`traffic_shaping.router.concurrency_limit`, GraphQL requests beyond that many in flight get 503
(REQUEST_CONCURRENCY_LIMITED); /health and /metrics always answer.
Header values are decoded as latin-1 (as Starlette does), so no byte in them is an error.
Each GraphQL request's `Identity` comes from the app's `identify` hook (router/authz/identity.py;
anonymous by default), once per HTTP request; with `authorization.require_authentication` an
anonymous one gets 401 (AUTH_ERROR), and a hook raising a RequestError answers with it.
Connection-level limits (header count and size, read deadlines) are in `connections.py`.

This module only dispatches; each route's work is in its own module (endpoint.py and what it
uses, health.py, sandbox.py, reload.py). Written against raw ASGI (no framework) because it is
the request hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from router.authentication.jwks import JwksError
from router.authz import Identify
from router.config import Config, load_config
from router.router import Router
from router.server.build import build_router
from router.server.cors import ALLOWED_METHODS, cors_headers
from router.server.dedup import InFlight
from router.server.drain import close_first_on_signal
from router.server.endpoint import answer_graphql
from router.server.graphql_http import scope_headers
from router.server.health import answer_health, is_readiness
from router.server.identify import Identities
from router.server.live import SHUTDOWN, Subscriptions
from router.server.metrics import Metrics
from router.server.persisted import PersistedQueries
from router.server.reload import HotReload
from router.server.responses import JSON, RawHeaders, error_body, respond, send_payload
from router.server.sandbox import STATIC_PREFIX, accepts_gzip, answer_graphiql, answer_static
from router.server.streams import answer_stream, stream_kind
from router.server.websocket import serve_websocket

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["RouterApp", "build_router", "is_readiness"]


class RouterApp:
    """`RouterApp(router)` serves that router; with a supergraph file it also hot-reloads it."""

    def __init__(
        self,
        router: Router,
        config: Config | None = None,
        *,
        supergraph_file: Path | None = None,
        max_body: int | None = None,
        reload_interval: float = 1.0,
        metrics: Metrics | None = None,
        router_factory: Callable[[str, Config], Router] | None = None,
        config_file: Path | None = None,
        config_loader: Callable[[Path], Config] = load_config,
        identify: Identify | None = None,
        close_first_on_signal: bool = False,
    ) -> None:
        self.identities = Identities(identify)
        self.close_first_on_signal = close_first_on_signal
        """Install drain.close_first_on_signal at startup: a `--workers N` worker's own hook
        closing subscriptions before uvicorn's shutdown."""
        self.config_file = config_file
        """router.yaml, watched with the supergraph: a good new version applies at once."""
        self.config_loader = config_loader
        """Reads a changed router.yaml (the served process's own reading of it)."""
        self.config = config or Config()
        self.router = router
        self.metrics = metrics or Metrics()
        self.max_body = max_body or self.config.http_max_request_bytes
        self.supergraph_file = supergraph_file
        self.reload_interval = reload_interval
        self.reload = HotReload(self)
        self.persisted = PersistedQueries(self.config)
        self.in_flight = InFlight()
        self.subscriptions = Subscriptions(self.metrics)
        """Open subscriptions (WebSocket, SSE, multipart) and the transports holding them."""
        self.requests_in_flight = 0
        """GraphQL requests being answered now (traffic_shaping.router.concurrency_limit)."""
        self.router_factory = router_factory or (
            lambda sdl, config: build_router(sdl, config, self.metrics)
        )
        """Builds the router for a reloaded supergraph and config (in-process mode keeps its
        transport)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            await serve_websocket(self, scope, receive, send)
            return
        if scope["type"] != "http":
            return
        headers = scope_headers(scope)
        cors = cors_headers(self.config, headers)
        method = scope["method"]
        path = scope["path"]
        if method == "OPTIONS":
            await send_payload(send, 204 if cors else 403, b"", b"text/plain", cors)
            return
        if path == "/health":
            await answer_health(send, self.router, scope.get("query_string", b""))
            return
        if path == self.config.metrics_path and self.config.metrics_enabled:
            hits, misses = self.reload.retired
            body = self.metrics.render(
                hits + self.router.cache_hits, misses + self.router.cache_misses
            )
            await send_payload(send, 200, body, b"text/plain; version=0.0.4; charset=utf-8")
            return
        if path.startswith(STATIC_PREFIX) and method == "GET" and self.config.sandbox:
            await answer_static(send, path.rsplit("/", 1)[-1], accepts_gzip(headers))
            return
        if path not in (self.config.path, "/"):
            await respond(send, 404, error_body(f"no route for {path}", "NOT_FOUND"), JSON, cors)
            return
        await self._graphql_route(scope, receive, send, headers, cors)

    async def _graphql_route(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], cors: RawHeaders
    ) -> None:
        """The GraphQL path: the method, GraphiQL for a browser, admission, then the request."""
        method = scope["method"]
        if method not in ("GET", "POST"):
            refusal = error_body(
                f"{method} is not supported: use GET or POST", "METHOD_NOT_ALLOWED"
            )
            await respond(send, 405, refusal, JSON, [*cors, (b"allow", ALLOWED_METHODS)])
            return
        if (
            method == "GET"
            and "text/html" in headers.get("accept", "")
            and not scope.get("query_string")
        ):
            if not self.config.sandbox:
                message = "GraphiQL is off on this router (router.yaml: sandbox.enabled)"
                await respond(send, 404, error_body(message, "NOT_FOUND"), JSON, cors)
                return
            await answer_graphiql(send, self.config, cors)
            return
        kind = stream_kind(headers, method)
        if kind is not None and self.config.subscription_enabled:
            # long-lived: not counted among the requests in flight, nor timed out
            await answer_stream(self, scope, receive, send, headers, cors, kind, method)
            return
        limit = self.config.concurrency_limit
        if limit is not None and self.requests_in_flight >= limit:
            code = "REQUEST_CONCURRENCY_LIMITED"
            refusal = error_body("Your request has been concurrency limited", code)
            await respond(send, 503, refusal, JSON, cors)
            self.metrics.answered(None, 503, 0.0, [code])
            return
        self.requests_in_flight += 1
        try:
            await answer_graphql(self, scope, receive, send, headers, cors)
        finally:
            self.requests_in_flight -= 1

    async def close_subscriptions(self) -> None:
        """Close every open subscription transport (WebSocket 1001, SSE and multipart with a
        SUBSCRIPTION_SHUTDOWN error), and any that opens from now on: the serve command's
        hook before the drain (drain.py), and the lifespan's shutdown."""
        await self.subscriptions.close_all(SHUTDOWN)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.identities.start(self.config)
                except JwksError as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self.supergraph_file is not None:
                    self.reload.start(self.supergraph_file)
                if self.close_first_on_signal:
                    close_first_on_signal(self.close_subscriptions, self.config.shutdown_timeout)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close_subscriptions()
                await self.reload.close()
                await self.identities.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
