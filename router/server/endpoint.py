"""The GraphQL endpoint: one HTTP request on the GraphQL path answered, from its checks (CSRF,
identity, content type, body) through its GraphQL requests (one, or a batch) to the response
(status, `application/json` or `application/graphql-response+json` by Accept, the size
limit), its metrics and its log line."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from router.authz import ANONYMOUS, Identity
from router.config import Config
from router.errors import RequestError
from router.router import Prepared, Router
from router.server.csrf import check_csrf
from router.server.dedup import InFlight
from router.server.deferred import Incremental, accepts_incremental, send_incremental
from router.server.graphql_http import (
    from_query_string,
    may_mutate,
    read_json,
    request_parts,
    require_json_content_type,
)
from router.server.identify import Identities
from router.server.metrics import Metrics
from router.server.persisted import PersistedQueries
from router.server.responses import GRAPHQL_RESPONSE, JSON, RawHeaders, error_body, send_payload
from router.types import JSONObject

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["Served", "answer_graphql"]

logger = logging.getLogger("router")


class Served(Protocol):
    """What the endpoint reads of the served app (router/server/app.py)."""

    router: Router
    config: Config
    metrics: Metrics
    max_body: int
    identities: Identities
    persisted: PersistedQueries
    in_flight: InFlight


async def answer_graphql(
    app: Served,
    scope: Scope,
    receive: Receive,
    send: Send,
    headers: dict[str, str],
    cors: RawHeaders,
) -> None:
    """Answer one HTTP request on the GraphQL path within `traffic_shaping.router.timeout` (504 past
    it) and record its metrics and log line; `cors` headers are added to the response. A response
    larger than `limits.http_max_response_bytes` becomes a RESPONSE_TOO_LARGE error."""
    started = time.perf_counter()
    request_id = headers.get("x-request-id") or os.urandom(16).hex()  # 32 hex digits
    extra = [*cors, (b"x-request-id", request_id.encode())]
    content_type = (
        GRAPHQL_RESPONSE if GRAPHQL_RESPONSE.decode() in headers.get("accept", "") else JSON
    )
    method = scope["method"]
    with app.router.tracing.request(
        headers, **{"http.request.method": method, "url.path": scope["path"]}
    ):
        deadline = asyncio.get_running_loop().time() + app.config.router_timeout
        try:
            async with asyncio.timeout_at(deadline):
                status, body, operation = await _answer(app, scope, receive, method, headers)
                if isinstance(body, Incremental):
                    await body.start()  # the Primary within the timeout too
        except TimeoutError:
            # Apollo Router's traffic_shaping.router.timeout
            status, operation = 504, None
            body = error_body("Your request has been timed out", "GATEWAY_TIMEOUT")
    if isinstance(body, Incremental):  # @defer, to a client that takes multipart
        await send_incremental(send, body, extra, deadline)
        summary = incremental_summary(body.sent)
        _record(app.metrics, request_id, operation, status, summary, time.perf_counter() - started)
        return
    if (
        isinstance(body, dict)
        and "data" not in body
        and content_type == GRAPHQL_RESPONSE
        and status == 200
    ):
        status = 400
    payload = app.in_flight.serialize(body)  # once for the requests sharing one execution
    if len(payload) > app.config.http_max_response_bytes:
        body = {
            "data": None,
            **error_body(
                f"the response is larger than {app.config.http_max_response_bytes} bytes "
                "(limits.http_max_response_bytes); ask for less, e.g. smaller pages",
                "RESPONSE_TOO_LARGE",
            ),
        }
        payload = orjson.dumps(body)
    await send_payload(send, status, payload, content_type, extra)
    _record(app.metrics, request_id, operation, status, body, time.perf_counter() - started)


def incremental_summary(payloads: list[JSONObject]) -> JSONObject:
    """An incremental answer as one response for its metrics: the Primary's data and every
    part's errors."""
    errors = [e for p in payloads for e in p.get("errors", [])]
    errors += [e for p in payloads for i in p.get("incremental", []) for e in i.get("errors", [])]
    summary: JSONObject = {"data": payloads[0].get("data")} if payloads else {}
    if errors:
        summary["errors"] = errors
    return summary


def _record(
    metrics: Metrics,
    request_id: str,
    operation: str | None,
    status: int,
    body: Any,
    elapsed: float,
) -> None:
    """The answer's metrics and its log line."""
    codes = [
        e.get("extensions", {}).get("code", "UNKNOWN")
        for answer in (body if isinstance(body, list) else [body])
        for e in answer.get("errors", [])
    ]
    # only an operation the router ran names a metrics series (metrics.py bounds them)
    ran = isinstance(body, list) or (isinstance(body, dict) and "data" in body)
    metrics.answered(operation, status, elapsed, codes, known=ran)
    if not logger.isEnabledFor(logging.INFO):
        return  # the line is not written: it is not serialised either (#17)
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
    app: Served, scope: Scope, receive: Receive, method: str, headers: dict[str, str]
) -> tuple[int, Any, str | None]:
    body: Any
    operation: str | None
    config = app.config
    try:
        check_csrf(config, method, headers)
        identity = await app.identities.of(config, method, scope["path"], headers)
        if method == "POST":
            require_json_content_type(headers)
            request = await read_json(receive, headers, app.max_body)
        else:  # GET: other methods were answered with 405 before
            request = from_query_string(scope.get("query_string", b""))
        if isinstance(request, list):
            if not config.batching_enabled:
                raise RequestError("batched requests are not enabled", "BATCHING_NOT_ENABLED")
            if len(request) > config.batching_max_size:
                raise RequestError(
                    f"a batch may hold {config.batching_max_size} requests, got {len(request)}",
                    "BATCH_LIMIT_EXCEEDED",
                )
            answers = await _batch(app, request, method, headers, identity)
            status, body = 200, [answer for _, answer in answers]
            operation = "batch"
        else:
            status, response = await _one(
                app, request, method, headers, identity, incremental=accepts_incremental(headers)
            )
            body, operation = (
                response,
                request.get("operationName") if isinstance(request, dict) else None,
            )
    except RequestError as exc:
        status, body, operation = exc.status, exc.response(), None
    return status, body, operation


async def _batch(
    app: Served, items: list[Any], method: str, headers: dict[str, str], identity: Identity
) -> list[tuple[int, JSONObject]]:
    """A batch's answers, in its order. Its items run concurrently unless one may be a
    mutation: then one after another, in order, because clients batch "change, then read
    back" and expect each item to see the effects of the mutations before it (as a
    mutation's root fields run serially). Anything not plainly a query counts as a
    possible mutation."""
    if any(may_mutate(item) for item in items):
        return [await _one(app, item, method, headers, identity) for item in items]
    return list(
        await asyncio.gather(*(_one(app, item, method, headers, identity) for item in items))
    )


async def _one(
    app: Served,
    request: Any,
    method: str,
    headers: dict[str, str],
    identity: Identity = ANONYMOUS,
    *,
    incremental: bool = False,
) -> tuple[int, Any]:
    """Answer one GraphQL request (of a batch, maybe): status and response body. A refused
    request is answered with its error's status, whatever the method (router/errors.py). With
    `incremental` (the client takes multipart), a query with active @defer is answered as an
    `Incremental` (router/server/deferred.py)."""
    config = app.config
    try:
        query, variables, operation_name, extensions = request_parts(request)
        router = app.router
        # new operations are prepared off the event loop (before an APQ registration
        # stores the text, or once a hash has given it)
        if query is not None:
            await router.warm(query, operation_name)
            query = app.persisted.resolve(router, config, query, extensions, operation_name)
        else:
            query = app.persisted.resolve(router, config, query, extensions, operation_name)
            await router.warm(query, operation_name)
        prepared: Prepared | None = None
        if method == "GET":
            prepared, query = router.prepare_for(query, variables, operation_name, count=False)
            if prepared.operation.kind != "query":
                raise RequestError(
                    f"{prepared.operation.kind}s cannot be sent with GET; use POST",
                    "METHOD_NOT_ALLOWED",
                    status=405,
                )
        expose = _expose(headers, config)
        if expose == "dry-run":  # the plan this requester's request would run
            return 200, await router.plan_for(query, operation_name, identity=identity)
        if prepared is None:
            prepared, query = router.prepare_for(query, variables, operation_name, count=False)
        split = router.defer_split(query, operation_name, variables) if incremental else None
        if split is not None:
            payloads = router.incremental(
                split,
                variables,
                operation_name,
                headers=headers,
                identity=identity,
                expose_plan=expose == "true",
            )
            return 200, Incremental(payloads, [])
        shared = config.deduplicate_requests and not expose and prepared.operation.kind == "query"
        # a shared request's forwarded headers are part of its key: made once, for the key and
        # the fetches; otherwise the executor makes them for the subgraphs the plan calls
        forwarded = router.forwarded(headers, identity) if shared else None
        run = functools.partial(
            router.answer,
            query,
            variables,
            operation_name,
            headers=headers,
            prepared=prepared,
            identity=identity,
            forwarded=forwarded,
            expose_plan=expose == "true",  # the plan that ran (restricted, maybe)
        )
        if forwarded is not None:
            response = await app.in_flight.execute(
                run, router, query, variables, operation_name, forwarded, identity
            )
        else:
            response = await run()
    except RequestError as exc:
        return exc.status, exc.response()
    return 200, response


def _expose(headers: dict[str, str], config: Config) -> str:
    """The request's `Apollo-Expose-Query-Plan` (lower case: "true", "dry-run", else ignored);
    403 QUERY_PLAN_NOT_EXPOSED when it asks for a plan this router does not expose."""
    expose = headers.get("apollo-expose-query-plan", "").lower()
    if expose in ("true", "dry-run") and not config.expose_query_plan:
        raise RequestError(
            "query plans are not exposed by this router (plugins.experimental.expose_query_plan)",
            "QUERY_PLAN_NOT_EXPOSED",
            status=403,
        )
    return expose
