"""The router as an ASGI app: POST/GET `/graphql` (JSON) and GET `/health`.

Written against raw ASGI (no framework) because it is the request hot path. The fuller HTTP
surface (GraphiQL, CSRF, batching, config) builds on this.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

import orjson

from router.errors import RequestError
from router.router import Router
from router.types import JSONObject

logger = logging.getLogger("router")
MAX_BODY = 2 * 1024 * 1024
JSON = b"application/json"
GRAPHQL_RESPONSE = b"application/graphql-response+json"


class RouterApp:
    """`RouterApp(router)` is an ASGI application serving that router."""

    def __init__(self, router: Router, *, max_body: int = MAX_BODY) -> None:
        self.router = router
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        method = scope["method"]
        if path == "/health":
            await _respond(send, 200, {"status": "UP"})
            return
        if path not in ("/graphql", "/"):
            await _respond(
                send,
                404,
                {
                    "errors": [
                        {"message": f"no route for {path}", "extensions": {"code": "NOT_FOUND"}}
                    ]
                },
            )
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        content_type = JSON
        if GRAPHQL_RESPONSE.decode() in headers.get("accept", ""):
            content_type = GRAPHQL_RESPONSE
        try:
            if method == "POST":
                request = await self._read_json(receive, headers)
            elif method == "GET":
                request = _from_query_string(scope.get("query_string", b""))
            else:
                raise RequestError(
                    f"{method} is not supported: use GET or POST", "METHOD_NOT_ALLOWED", status=405
                )
            query, variables, operation_name = _parts(request)
            if method == "GET":
                self._refuse_mutation_over_get(query, operation_name)
        except RequestError as exc:
            await _respond(send, exc.status, {"errors": [exc.to_graphql()]}, content_type)
            return
        response = await self.router.execute(query, variables, operation_name, headers=None)
        status = 200
        if ("data" not in response and content_type == GRAPHQL_RESPONSE) or (
            "data" not in response
            and _code(response) in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED")
        ):
            status = 400
        await _respond(send, status, response, content_type)

    def _refuse_mutation_over_get(self, query: str, operation_name: str | None) -> None:
        try:
            prepared = self.router.prepare(query, operation_name)
        except RequestError:
            return  # answered as a normal GraphQL error by execute()
        if prepared.operation.kind != "query":
            raise RequestError(
                f"{prepared.operation.kind}s cannot be sent with GET; use POST",
                "METHOD_NOT_ALLOWED",
                status=405,
            )

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
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                raise RequestError(
                    f"request body is larger than {self.max_body} bytes",
                    "PAYLOAD_TOO_LARGE",
                    status=413,
                )
            chunks.append(body)
            if not message.get("more_body"):
                break
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise RequestError(
                f"the request body is not valid JSON: {exc}", "BAD_REQUEST"
            ) from None

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                with contextlib.suppress(Exception):
                    await self.router.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _from_query_string(raw: bytes) -> JSONObject:
    values = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    request: JSONObject = {"query": values.get("query")}
    if "operationName" in values:
        request["operationName"] = values["operationName"]
    if "variables" in values:
        try:
            request["variables"] = orjson.loads(values["variables"])
        except orjson.JSONDecodeError:
            raise RequestError("`variables` is not valid JSON", "BAD_REQUEST") from None
    return request


def _parts(request: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    if isinstance(request, list):
        raise RequestError("batched requests are not enabled", "BATCHING_NOT_ENABLED")
    if not isinstance(request, dict):
        raise RequestError("the request body must be a JSON object", "BAD_REQUEST")
    query = request.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError("the request has no `query` string", "BAD_REQUEST")
    variables = request.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("`variables` must be a JSON object", "BAD_REQUEST")
    operation_name = request.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("`operationName` must be a string", "BAD_REQUEST")
    return query, variables, operation_name


def _code(response: JSONObject) -> str | None:
    errors = response.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


async def _respond(send: Any, status: int, body: JSONObject, content_type: bytes = JSON) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
