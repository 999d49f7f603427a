"""The router as an ASGI app: GraphQL over HTTP, GraphiQL, health, metrics, hot reload.

Routes (the GraphQL path is `supergraph.path` in router.yaml, `/graphql` by default):

    POST path        GraphQL over HTTP (JSON; `application/graphql-response+json` by Accept);
                     a JSON array is a batch when batching is enabled
    GET  path        queries only (a mutation gets 405); a browser (Accept: text/html) gets GraphiQL
                     when `sandbox.enabled` (off by default, on with --dev)
    GET  /graphiql/static/NAME   GraphiQL's bundled assets (no internet needed), with GraphiQL;
                     gzip-compressed when the browser accepts it
    GET  /health     {"status": "UP"}; `/health?ready` also asks every subgraph (503 if one is down;
                     503 DRAINING once the process stops: router/server/drain.py)
    GET  /metrics    Prometheus text format
    OPTIONS          CORS preflight for allowed origins

A GraphQL request not answered within `traffic_shaping.router.timeout` (30s) gets 504
(GATEWAY_TIMEOUT). Other methods on the GraphQL path get 405 (with `Allow`), a POST whose
body is not JSON 415 (INVALID_CONTENT_TYPE_HEADER), a WebSocket upgrade 400
(SUBSCRIPTION_DISABLED: subscriptions are not served). With
`traffic_shaping.router.concurrency_limit`, GraphQL requests beyond that many in flight get 503
(REQUEST_CONCURRENCY_LIMITED); /health and /metrics always answer.
Header values are decoded as latin-1 (as Starlette does), so no byte in them is an error.
Each GraphQL request's `Identity` comes from the app's `identify` hook (router/authz/identity.py;
anonymous by default), once per HTTP request; with `authorization.require_authentication` an
anonymous one gets 401 (AUTH_ERROR), and a hook raising a RequestError answers with it.
Connection-level limits (header count and size, read deadlines) are in `connections.py`.

Written against raw ASGI (no framework) because it is the request hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson

from router.authentication import AuthenticationError, JwtVerifier
from router.authentication.jwks import JwksError
from router.authz import ANONYMOUS, Identify, Identity, IncomingRequest
from router.config import Config
from router.errors import RequestError
from router.execute.transport import HttpTransport
from router.request.cache import BoundedCache
from router.request.limits import Limits
from router.router import Router
from router.server.metrics import Metrics
from router.supergraph.load import load_supergraph
from router.telemetry import Tracing
from router.types import JSONObject

logger = logging.getLogger("router")
JSON = b"application/json"
GRAPHQL_RESPONSE = b"application/graphql-response+json"
APQ_ENTRIES = 10_000
APQ_BYTES = 32 * 1024 * 1024
IDENTITIES_KEPT = 10_000
"""Identities remembered per verified token (`RouterApp._authenticate`)."""
SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
JSON_CONTENT_TYPES = ("application/json", "application/graphql-response+json")
ALLOWED_METHODS = b"GET, POST, OPTIONS"
_MUTATION = re.compile(r"\bmutation\b")


def build_router(
    sdl: str,
    config: Config,
    metrics: Metrics | None = None,
    transport: Any | None = None,
    tracing: Tracing | None = None,
) -> Router:
    """A Router for this supergraph, configured by router.yaml."""
    from router.config import subgraph_headers

    supergraph = load_supergraph(sdl)
    transport = transport or HttpTransport(
        {g.name: g.url for g in supergraph.graphs.values()},
        timeout=config.timeout,
        timeouts=config.subgraph_timeouts,
        deduplicate=config.deduplicate_query,
        max_response_bytes=config.subgraph_max_response_bytes,
        max_response_bytes_for=config.subgraph_max_response_bytes_for,
    )
    return Router(
        supergraph,
        transport,
        override_labels=config.override_labels,
        limits=Limits(
            max_depth=config.max_depth,
            max_aliases=config.max_aliases,
            max_root_fields=config.max_root_fields,
            max_tokens=config.parser_max_tokens,
            max_source_length=config.parser_max_source_length,
            max_recursive_selections=config.max_recursive_selections,
            max_planning_steps=config.max_planning_steps,
        ),
        introspection=config.introspection,
        subgraph_headers=(
            lambda service, incoming, claims: subgraph_headers(config, service, incoming, claims)
        )
        if config.header_rules
        else None,
        show_subgraph_errors=config.subgraph_errors,
        on_fetch=metrics.fetched if metrics else None,
        tracing=tracing or _tracing(config),
        batch_entities=config.batch_entity_fetches,
        demand_control=config.demand_control,
        authorization=config.authorization,
    )


_TRACING: dict[tuple[str, str | None], Tracing] = {}


def _tracing(config: Config) -> Tracing:
    """One tracer provider per process and configuration (hot reloads reuse it)."""
    if not config.tracing_enabled:
        return Tracing.off()
    key = (config.service_name, config.otlp_endpoint)
    if key not in _TRACING:
        _TRACING[key] = Tracing.configured(config.service_name, endpoint=config.otlp_endpoint)
    return _TRACING[key]


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
        identify: Identify | None = None,
    ) -> None:
        self.identify = identify
        """Who sends each request; None: from router.yaml's authentication.router.jwt when
        set (`_authenticate`), else anonymous."""
        self._jwt: JwtVerifier | None = None
        self._identities: dict[int, tuple[Any, Identity]] = {}
        """The Identity of each verified claims object lately seen (`_authenticate`)."""
        self._closing: set[asyncio.Task[None]] = set()
        self.config_file = config_file
        """router.yaml, watched with the supergraph: a good new version applies at once."""
        self.config = config or Config()
        self.router = router
        self.metrics = metrics or Metrics()
        self.max_body = max_body or self.config.http_max_request_bytes
        self.supergraph_file = supergraph_file
        self.reload_interval = reload_interval
        self._retired = (0, 0)  # plan cache hits and misses of replaced routers
        self._apq: BoundedCache[str, str] = BoundedCache(APQ_BYTES, APQ_ENTRIES)
        """Automatic persisted queries: only documents that prepared (parsed, validated,
        planned), weighed by their length."""
        self._safelist = (
            _load_safelist(self.config.safelist_file)
            if self.config.persisted_queries_enabled
            else None
        )
        self._reloader: asyncio.Task[None] | None = None
        self._draining: list[Router] = []  # replaced routers still finishing their requests
        self._in_flight: dict[tuple[Any, ...], asyncio.Future[JSONObject]] = {}
        self.requests_in_flight = 0
        """GraphQL requests being answered now (traffic_shaping.router.concurrency_limit)."""
        self.router_factory = router_factory or (
            lambda sdl, config: build_router(sdl, config, self.metrics)
        )
        """Builds the router for a reloaded supergraph and config (in-process mode keeps its
        transport)."""

    # --- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        # latin-1 maps every byte to one character, so a header that is not UTF-8 is no error,
        # and forwarding it (the subgraph client encodes latin-1) sends the same bytes on.
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cors = self._cors_headers(headers)
        method = scope["method"]
        path = scope["path"]
        if method == "OPTIONS":
            await _send(send, 204 if cors else 403, b"", b"text/plain", cors)
            return
        if path == "/health":
            await self._health(send, scope.get("query_string", b""))
            return
        if path == self.config.metrics_path and self.config.metrics_enabled:
            body = self.metrics.render(
                self._retired[0] + self.router.cache_hits,
                self._retired[1] + self.router.cache_misses,
            )
            await _send(send, 200, body, b"text/plain; version=0.0.4; charset=utf-8")
            return
        if path.startswith("/graphiql/static/") and method == "GET" and self.config.sandbox:
            await self._static(send, path.rsplit("/", 1)[-1], _accepts_gzip(headers))
            return
        if path not in (self.config.path, "/"):
            await _respond(send, 404, _error(f"no route for {path}", "NOT_FOUND"), JSON, cors)
            return
        await self._graphql_route(scope, receive, send, headers, cors)

    async def _graphql_route(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        headers: dict[str, str],
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        """The GraphQL path: the method, GraphiQL for a browser, admission, then the request."""
        method = scope["method"]
        if method not in ("GET", "POST"):
            refusal = _error(f"{method} is not supported: use GET or POST", "METHOD_NOT_ALLOWED")
            await _respond(send, 405, refusal, JSON, [*cors, (b"allow", ALLOWED_METHODS)])
            return
        if (
            method == "GET"
            and "text/html" in headers.get("accept", "")
            and not scope.get("query_string")
        ):
            if not self.config.sandbox:
                message = "GraphiQL is off on this router (router.yaml: sandbox.enabled)"
                await _respond(send, 404, _error(message, "NOT_FOUND"), JSON, cors)
                return
            await self._graphiql(send, cors)
            return
        limit = self.config.concurrency_limit
        if limit is not None and self.requests_in_flight >= limit:
            code = "REQUEST_CONCURRENCY_LIMITED"
            refusal = _error("Your request has been concurrency limited", code)
            await _respond(send, 503, refusal, JSON, cors)
            self.metrics.answered(None, 503, 0.0, [code])
            return
        self.requests_in_flight += 1
        try:
            await self._graphql(scope, receive, send, headers, cors)
        finally:
            self.requests_in_flight -= 1

    async def _graphql(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        headers: dict[str, str],
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        started = time.perf_counter()
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        extra = [*cors, (b"x-request-id", request_id.encode())]
        content_type = (
            GRAPHQL_RESPONSE if GRAPHQL_RESPONSE.decode() in headers.get("accept", "") else JSON
        )
        method = scope["method"]
        with self.router.tracing.request(
            headers, **{"http.request.method": method, "url.path": scope["path"]}
        ):
            try:
                async with asyncio.timeout(self.config.router_timeout):
                    status, body, operation = await self._answer(scope, receive, method, headers)
            except TimeoutError:
                # Apollo Router's traffic_shaping.router.timeout
                status, operation = 504, None
                body = _error("Your request has been timed out", "GATEWAY_TIMEOUT")
        if (
            isinstance(body, dict)
            and "data" not in body
            and content_type == GRAPHQL_RESPONSE
            and status == 200
        ):
            status = 400
        payload = orjson.dumps(body)
        if len(payload) > self.config.http_max_response_bytes:
            body = {
                "data": None,
                "errors": [
                    {
                        "message": f"the response is larger than "
                        f"{self.config.http_max_response_bytes} bytes "
                        "(limits.http_max_response_bytes); ask for less, e.g. smaller pages",
                        "extensions": {"code": "RESPONSE_TOO_LARGE"},
                    }
                ],
            }
            payload = orjson.dumps(body)
        await _send(send, status, payload, content_type, extra)
        elapsed = time.perf_counter() - started
        codes = [
            e.get("extensions", {}).get("code", "UNKNOWN")
            for answer in (body if isinstance(body, list) else [body])
            for e in answer.get("errors", [])
        ]
        # only an operation the router ran names a metrics series (metrics.py bounds them)
        ran = isinstance(body, list) or (isinstance(body, dict) and "data" in body)
        self.metrics.answered(operation, status, elapsed, codes, known=ran)
        logger.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "operation": operation,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "errors": codes,
                }
            )
        )

    async def _answer(
        self, scope: dict[str, Any], receive: Any, method: str, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        body: Any
        operation: str | None
        try:
            self._csrf(method, headers)
            identity = await self._identity(scope, method, headers)
            if method == "POST":
                self._json_content_type(headers)
                request = await self._read_json(receive, headers)
            else:  # GET: other methods were answered with 405 before
                request = _from_query_string(scope.get("query_string", b""))
            if isinstance(request, list):
                if not self.config.batching_enabled:
                    raise RequestError("batched requests are not enabled", "BATCHING_NOT_ENABLED")
                if len(request) > self.config.batching_max_size:
                    raise RequestError(
                        f"a batch may hold {self.config.batching_max_size} requests, "
                        f"got {len(request)}",
                        "BATCH_LIMIT_EXCEEDED",
                    )
                answers = await self._batch(request, method, headers, identity)
                status, body = 200, [answer for _, answer in answers]
                operation = "batch"
            else:
                status, response = await self._one(request, method, headers, identity)
                body, operation = (
                    response,
                    request.get("operationName") if isinstance(request, dict) else None,
                )
        except RequestError as exc:
            status, body, operation = exc.status, {"errors": [exc.to_graphql()]}, None
        return status, body, operation

    async def _identity(
        self, scope: dict[str, Any], method: str, headers: dict[str, str]
    ) -> Identity:
        identity = ANONYMOUS
        if self.config.jwt is not None and self.identify is None:
            identity = await self._authenticate(headers)
        elif self.identify is not None:
            found = self.identify(IncomingRequest(method, scope["path"], headers))
            identity = await found if inspect.isawaitable(found) else found
        if self.config.authorization.require_authentication and not identity.authenticated:
            raise RequestError("unauthenticated", "AUTH_ERROR", status=401)
        return identity

    async def _authenticate(self, headers: dict[str, str]) -> Identity:
        """authentication.router.jwt: the token's claims, anonymous without a token, 401
        UNAUTHENTICATED for a bad one (router/authentication/)."""
        settings = self.config.jwt
        assert settings is not None
        if self._jwt is None or self._jwt.settings != settings:
            if self._jwt is not None:  # router.yaml changed its jwt settings
                self._closing.add(asyncio.create_task(self._jwt.close()))
            self._jwt = JwtVerifier(settings)
        try:
            claims = await self._jwt.authenticate(headers)
        except AuthenticationError as exc:
            raise RequestError(exc.message, exc.code, status=exc.status) from None
        if claims is None:
            return ANONYMOUS
        # The verifier answers a token it verified before with the same claims object: its
        # Identity (scopes parsed, fingerprint made) is made once too. Holding the claims keeps
        # their id from being reused while remembered.
        known = self._identities.get(id(claims))
        if known is not None and known[0] is claims:
            return known[1]
        if len(self._identities) >= IDENTITIES_KEPT:
            self._identities.clear()
        identity = Identity.from_claims(claims)
        self._identities[id(claims)] = (claims, identity)
        return identity

    async def _batch(
        self, items: list[Any], method: str, headers: dict[str, str], identity: Identity
    ) -> list[tuple[int, JSONObject]]:
        """A batch's answers, in its order. Its items run concurrently unless one may be a
        mutation: then one after another, in order, because clients batch "change, then read
        back" and expect each item to see the effects of the mutations before it (as a
        mutation's root fields run serially). Anything not plainly a query counts as a
        possible mutation."""
        if any(_may_mutate(item) for item in items):
            return [await self._one(item, method, headers, identity) for item in items]
        return list(
            await asyncio.gather(*(self._one(item, method, headers, identity) for item in items))
        )

    async def _one(
        self, request: Any, method: str, headers: dict[str, str], identity: Identity = ANONYMOUS
    ) -> tuple[int, JSONObject]:
        """Answer one GraphQL request (of a batch, maybe): status and response body."""
        try:
            query, variables, operation_name, extensions = _parts(request)
            router = self.router
            # new operations are prepared off the event loop (before an APQ registration
            # stores the text, or once a hash has given it)
            if query is not None:
                await router.warm(query, operation_name)
                query = self._persisted(query, extensions, operation_name)
            else:
                query = self._persisted(query, extensions, operation_name)
                await router.warm(query, operation_name)
            if method == "GET":
                prepared = router.prepare(query, operation_name, count=False)
                if prepared.operation.kind != "query":
                    raise RequestError(
                        f"{prepared.operation.kind}s cannot be sent with GET; use POST",
                        "METHOD_NOT_ALLOWED",
                        status=405,
                    )
            expose = headers.get("apollo-expose-query-plan", "").lower()
            if expose in ("true", "dry-run") and not self.config.expose_query_plan:
                raise RequestError(
                    "query plans are not exposed by this router "
                    "(plugins.experimental.expose_query_plan)",
                    "QUERY_PLAN_NOT_EXPOSED",
                    status=403,
                )
            if expose == "dry-run":  # the plan this requester's request would run
                return 200, await router.plan_for(query, operation_name, identity=identity)
        except RequestError as exc:
            return exc.status, {"errors": [exc.to_graphql()]}
        response = await self._execute_shared(
            router, query, variables, operation_name, headers, expose, identity
        )
        status = 200
        code = _code(response)
        if (
            "data" not in response and code in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED")
        ) or code in (
            "MAX_DEPTH_LIMIT",
            "MAX_ALIASES_LIMIT",
            "MAX_ROOT_FIELDS_LIMIT",
            "MAX_TOKENS_LIMIT",
            "MAX_SOURCE_LENGTH_LIMIT",
            "MAX_RECURSIVE_SELECTIONS_EXCEEDED",
            "MAX_PLANNING_STEPS_LIMIT",
            "INTROSPECTION_DISABLED",
            "COST_ESTIMATED_TOO_EXPENSIVE",
            "COST_QUERY_PARSE_FAILURE",
        ):
            status = 400
        elif code == "REQUEST_CONCURRENCY_LIMITED" and "data" not in response:
            status = 503  # its restricted plan could not wait for the preparation thread
        return status, response

    async def _execute_shared(
        self,
        router: Router,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        headers: dict[str, str],
        expose: str,
        identity: Identity = ANONYMOUS,
    ) -> JSONObject:
        """Execute, or join an identical query already executing (inbound de-duplication).

        Identical means the same document, operation, variables, and the same headers the
        router's rules forward to subgraphs (so nobody receives an answer made with another
        client's credentials), and the same identity (authorization answers each its own).
        Mutations always run on their own. The shared response is only read (serialised) by
        each request, never changed."""
        if not self.config.deduplicate_requests or expose:
            return await router.execute(
                query,
                variables,
                operation_name,
                headers=headers,
                count=False,
                identity=identity,
                expose_plan=expose == "true",  # the plan that ran (restricted, maybe)
            )
        prepared, failure, query = router.try_prepare_for(
            query, variables, operation_name, count=False
        )
        if prepared is None:
            return failure
        if prepared.operation.kind != "query":
            return await router.execute(
                query,
                variables,
                operation_name,
                headers=headers,
                prepared=prepared,
                identity=identity,
            )
        forwarded: tuple[tuple[str, str, str], ...] = ()
        if router.executor.subgraph_headers is not None:
            forwarded = tuple(
                sorted(
                    (service, name, value)
                    for service in sorted({g.name for g in router.supergraph.graphs.values()})
                    for name, value in router.executor.subgraph_headers(
                        service, headers, identity.claims if identity.authenticated else None
                    ).items()
                )
            )
        key = (
            id(router),
            query,
            operation_name,
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
            forwarded,
            identity.fingerprint(),
        )
        shared = self._in_flight.get(key)
        if shared is not None:
            try:
                return await asyncio.shield(shared)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise
                # The request executing it was cancelled (its router timeout), not this
                # one: execute it here, within this request's own time.
                return await router.execute(
                    query,
                    variables,
                    operation_name,
                    headers=headers,
                    prepared=prepared,
                    identity=identity,
                )
        shared = asyncio.get_running_loop().create_future()
        self._in_flight[key] = shared
        try:
            response = await router.execute(
                query,
                variables,
                operation_name,
                headers=headers,
                prepared=prepared,
                identity=identity,
            )
        except BaseException as exc:
            shared.set_exception(exc)
            shared.exception()  # retrieved: every waiter re-raises it itself
            raise
        finally:
            self._in_flight.pop(key, None)
        shared.set_result(response)
        return response

    # --- request checks ------------------------------------------------------------------

    def _csrf(self, method: str, headers: dict[str, str]) -> None:
        """Apollo Router's CSRF prevention: a request a browser could send without a preflight
        (a GET or a "simple" POST) needs a JSON content type or one of the required headers."""
        if not self.config.csrf_enabled:
            return
        if any(h in headers for h in self.config.csrf_required_headers):
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if method == "POST" and content_type and content_type not in SIMPLE_CONTENT_TYPES:
            return
        raise RequestError(
            "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
            "Please "
            "either specify a 'content-type' header (with a mime-type that is not one of "
            f"{', '.join(SIMPLE_CONTENT_TYPES)}) or provide one of the following headers: "
            + ", ".join(self.config.csrf_required_headers),
            "CSRF_ERROR",
        )

    def _json_content_type(self, headers: dict[str, str]) -> None:
        """A POST body is read only as JSON (Apollo Router answers 415 for anything else)."""
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_CONTENT_TYPES:
            raise RequestError(
                "'content-type' header must be one of: "
                + " or ".join(f'"{t}"' for t in JSON_CONTENT_TYPES),
                "INVALID_CONTENT_TYPE_HEADER",
                status=415,
            )

    def _persisted(
        self, query: str | None, extensions: JSONObject, operation_name: str | None
    ) -> str:
        """Automatic persisted queries and the safelist."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if isinstance(persisted, dict) and self.config.apq_enabled and "sha256Hash" in persisted:
            sha = persisted.get("sha256Hash")
            if not isinstance(sha, str):
                raise RequestError("persistedQuery.sha256Hash must be a string", "BAD_REQUEST")
            if query is None:
                known = self._apq.get(sha)
                if known is None:
                    raise RequestError(
                        "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", status=200
                    )
                query = known
            elif hashlib.sha256(query.encode()).hexdigest() != sha:
                raise RequestError(
                    "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH"
                )
            else:
                prepared, _ = self.router.try_prepare(query, operation_name, count=False)
                if prepared is not None:  # a document that cannot run is never stored
                    self._apq.put(sha, query, len(sha) + 2 * len(query) + 100)
        if self._safelist is not None:
            ids, bodies = self._safelist
            operation_id = persisted.get("id") if isinstance(persisted, dict) else None
            if isinstance(operation_id, str) and operation_id in ids:
                return ids[operation_id]
            if query is None or self.config.require_id or query not in bodies:
                raise RequestError(
                    "this operation is not in the router's safelist",
                    "QUERY_NOT_IN_SAFELIST",
                    status=403,
                )
        if query is None:
            raise RequestError("the request has no `query` string", "BAD_REQUEST")
        return query

    async def _read_json(self, receive: Any, headers: dict[str, str]) -> Any:
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise RequestError(
                f"request body is larger than {self.max_body} bytes",
                "PAYLOAD_TOO_LARGE",
                status=413,
            )
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError("client disconnected", "BAD_REQUEST")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise RequestError(
                    f"request body is larger than {self.max_body} bytes",
                    "PAYLOAD_TOO_LARGE",
                    status=413,
                )
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise RequestError(
                f"the request body is not valid JSON: {exc}", "BAD_REQUEST"
            ) from None

    def _cors_headers(self, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
        origin = headers.get("origin")
        if origin is None or not self.config.cors_origins:
            return []
        if "*" in self.config.cors_origins:
            # Any origin: `*`, never the request's origin reflected (and never with
            # credentials; the config refuses that combination).
            allowed_origin = b"*"
        elif origin in self.config.cors_origins:
            allowed_origin = origin.encode("latin-1")
        else:
            return []
        allowed = [
            (b"access-control-allow-origin", allowed_origin),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", ", ".join(self.config.cors_allow_headers).encode()),
            (b"vary", b"origin"),
        ]
        if self.config.cors_allow_credentials:
            allowed.append((b"access-control-allow-credentials", b"true"))
        return allowed

    # --- other routes --------------------------------------------------------------------

    async def _health(self, send: Any, query_string: bytes) -> None:
        if b"ready" not in query_string:
            await _respond(send, 200, {"status": "UP"})
            return
        down = await self._unreachable_subgraphs()
        if down:
            await _respond(send, 503, {"status": "DOWN", "unreachable": down})
        else:
            await _respond(send, 200, {"status": "UP"})

    async def _unreachable_subgraphs(self) -> list[str]:
        async def ping(service: str) -> str | None:
            try:
                answer = await asyncio.wait_for(
                    self.router.transport.send(service, {"query": "{ __typename }"}), timeout=2
                )
                return None if answer.get("data") else service
            except Exception:  # readiness: any failure means not ready
                return service

        names = [g.name for g in self.router.supergraph.graphs.values()]
        results = await asyncio.gather(*(ping(n) for n in names))
        return sorted(r for r in results if r)

    async def _graphiql(self, send: Any, cors: list[tuple[bytes, bytes]]) -> None:
        try:
            from router.server.graphiql import graphiql_html
        except ImportError:
            await _respond(
                send, 404, _error("GraphiQL is not bundled with this build", "NOT_FOUND")
            )
            return
        await _send(
            send,
            200,
            graphiql_html(
                self.config.path, expose_query_plan=self.config.expose_query_plan
            ).encode(),
            b"text/html; charset=utf-8",
            cors,
        )

    async def _static(self, send: Any, name: str, gzipped: bool) -> None:
        try:
            from router.server.graphiql import static_file, static_file_gzip
        except ImportError:
            found = None
        else:
            found = static_file(name)
        if found is None:
            await _respond(send, 404, _error(f"no asset {name}", "NOT_FOUND"))
            return
        body, content_type = found
        extra = [(b"cache-control", b"public, max-age=86400"), (b"vary", b"accept-encoding")]
        compressed = static_file_gzip(name) if gzipped else None
        if compressed is not None:
            body = compressed
            extra.append((b"content-encoding", b"gzip"))
        await _send(send, 200, body, content_type.encode(), extra)

    # --- hot reload ----------------------------------------------------------------------

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.config.jwt is not None and self.identify is None:
                    self._jwt = JwtVerifier(self.config.jwt)
                    try:
                        await self._jwt.start()
                    except JwksError as exc:
                        await send({"type": "lifespan.startup.failed", "message": str(exc)})
                        return
                if self.supergraph_file is not None:
                    self._reloader = asyncio.create_task(self._watch(self.supergraph_file))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._reloader is not None:
                    self._reloader.cancel()
                for router in [self.router, *self._draining]:
                    with contextlib.suppress(Exception):
                        await router.close()
                if self._jwt is not None:
                    await self._jwt.close()
                self._draining.clear()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _watch(self, path: Path) -> None:
        """Poll the supergraph file (and router.yaml, when given); swap in a router for a good
        new version, keep the old one (and say why) for a bad one. Requests in flight finish on
        the router they started on."""
        files = [path, *([self.config_file] if self.config_file else [])]
        seen = {f: await asyncio.to_thread(_mtime, f) for f in files}
        while True:
            await asyncio.sleep(self.reload_interval)
            changed = [
                f
                for f in files
                if (m := await asyncio.to_thread(_mtime, f)) is not None and m != seen[f]
            ]
            if not changed:
                continue
            for f in changed:
                seen[f] = await asyncio.to_thread(_mtime, f)
            try:
                config = self.config
                if self.config_file is not None and self.config_file in changed:
                    from router.config import load_config

                    config = await asyncio.to_thread(load_config, self.config_file)
                sdl = await asyncio.to_thread(path.read_text)
                fresh = await asyncio.to_thread(self.router_factory, sdl, config)
            except Exception as exc:  # a bad supergraph or config must never take the router down
                logger.error(
                    json.dumps(
                        {
                            "event": "reload_rejected",
                            "files": [str(f) for f in changed],
                            "reason": str(exc),
                        }
                    )
                )
                continue
            # the config and the router built from it change together
            old, self.router, self.config = self.router, fresh, config
            self._retired = (self._retired[0] + old.cache_hits, self._retired[1] + old.cache_misses)
            logger.info(json.dumps({"event": "reloaded", "files": [str(f) for f in changed]}))
            # Give requests that started on the old router time to finish, then close it (or
            # close it at shutdown, whichever comes first).
            self._draining.append(old)
            asyncio.get_running_loop().call_later(30, self._close_drained, old)

    def _close_drained(self, router: Router) -> None:
        if router in self._draining:
            self._draining.remove(router)
            task = asyncio.ensure_future(router.close())
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)


def is_readiness(scope: dict[str, Any]) -> bool:
    """Whether a request is the readiness check (`/health?ready`), as `_health` tells them."""
    return bool(scope["path"] == "/health" and b"ready" in scope.get("query_string", b""))


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


_CLOSING: set[asyncio.Task[None]] = set()


def _accepts_gzip(headers: dict[str, str]) -> bool:
    """Whether `Accept-Encoding` allows gzip: named, or else `*`, with a q-value above 0."""
    weights: dict[str, float] = {}
    for item in headers.get("accept-encoding", "").split(","):
        coding, _, params = item.partition(";")
        name = coding.strip().lower()
        q = params.strip().lower()
        try:
            weights[name] = float(q.removeprefix("q=")) if q.startswith("q=") else 1.0
        except ValueError:
            weights[name] = 0.0
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def _load_safelist(path: Path | None) -> tuple[dict[str, str], set[str]]:
    """Apollo's persisted query manifest: {"operations": [{"id", "body", ...}]}."""
    if path is None:
        return {}, set()
    manifest = json.loads(path.read_text())
    ids = {op["id"]: op["body"] for op in manifest.get("operations", [])}
    return ids, set(ids.values())


def _from_query_string(raw: bytes) -> JSONObject:
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise RequestError("the query string is not UTF-8", "BAD_REQUEST") from None
    values = {k: v[0] for k, v in parse_qs(text).items()}
    request: JSONObject = {"query": values.get("query")}
    if "operationName" in values:
        request["operationName"] = values["operationName"]
    for key in ("variables", "extensions"):
        if key in values:
            try:
                request[key] = orjson.loads(values[key])
            except orjson.JSONDecodeError:
                raise RequestError(f"`{key}` is not valid JSON", "BAD_REQUEST") from None
    return request


def _parts(request: Any) -> tuple[str | None, dict[str, Any] | None, str | None, JSONObject]:
    if not isinstance(request, dict):
        raise RequestError("the request body must be a JSON object", "BAD_REQUEST")
    query = request.get("query")
    extensions = request.get("extensions") or {}
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise RequestError("the request has no `query` string", "BAD_REQUEST")
    if query is None and not (isinstance(extensions, dict) and "persistedQuery" in extensions):
        raise RequestError("the request has no `query` string", "BAD_REQUEST")
    variables = request.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("`variables` must be a JSON object", "BAD_REQUEST")
    operation_name = request.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("`operationName` must be a string", "BAD_REQUEST")
    return query, variables, operation_name, extensions if isinstance(extensions, dict) else {}


def _may_mutate(item: Any) -> bool:
    """Whether a batch item may be a mutation: any item whose text is not at hand (a persisted
    query) or that mentions `mutation` at all counts."""
    query = item.get("query") if isinstance(item, dict) else None
    return not isinstance(query, str) or _MUTATION.search(query) is not None


async def _refuse_websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Subscriptions are not served: a WebSocket upgrade is refused with a coded error."""
    if (await receive())["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})  # the server answers 403
        return
    body = orjson.dumps(
        _error(
            "this router does not serve subscriptions or WebSocket connections; "
            "send queries and mutations with HTTP POST",
            "SUBSCRIPTION_DISABLED",
        )
    )
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 400,
            "headers": [(b"content-type", JSON), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})


def _code(response: JSONObject) -> str | None:
    errors = response.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


def _error(message: str, code: str) -> JSONObject:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


async def _respond(
    send: Any,
    status: int,
    body: Any,
    content_type: bytes = JSON,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await _send(send, status, orjson.dumps(body), content_type, extra)


async def _send(
    send: Any,
    status: int,
    payload: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
