"""GraphQL over HTTP, the reading side: a POST's JSON body, a GET's query string, the parts of
one request (`query`, `variables`, `operationName`, `extensions`), each refused with a code."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from router.errors import RequestError
from router.types import JSONObject

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

__all__ = [
    "JSON_CONTENT_TYPES",
    "from_query_string",
    "may_mutate",
    "media_type",
    "read_json",
    "request_parts",
    "require_json_content_type",
    "scope_headers",
]

JSON_CONTENT_TYPES = ("application/json", "application/graphql-response+json")
_MUTATION = re.compile(r"\bmutation\b")


def scope_headers(scope: Scope) -> dict[str, str]:
    """An HTTP or WebSocket request's headers, names lower-cased. Decoded as latin-1 (as
    Starlette does): it maps every byte to one character, so a header that is not UTF-8 is no
    error, and forwarding it (the subgraph client encodes latin-1) sends the same bytes on."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def media_type(headers: dict[str, str]) -> str:
    """The request's content-type without its parameters, lower-cased ('' when absent)."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def require_json_content_type(headers: dict[str, str]) -> None:
    """A POST body is read only as JSON (Apollo Router answers 415 for anything else)."""
    if media_type(headers) not in JSON_CONTENT_TYPES:
        raise RequestError(
            "'content-type' header must be one of: "
            + " or ".join(f'"{t}"' for t in JSON_CONTENT_TYPES),
            "INVALID_CONTENT_TYPE_HEADER",
            status=415,
        )


async def read_json(receive: Receive, headers: dict[str, str], max_body: int) -> Any:
    """The request body as JSON, refused (413) once it is larger than `max_body` bytes."""
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_body:
        raise RequestError(
            f"request body is larger than {max_body} bytes",
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
        if size > max_body:
            raise RequestError(
                f"request body is larger than {max_body} bytes",
                "PAYLOAD_TOO_LARGE",
                status=413,
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}", "BAD_REQUEST") from None


def from_query_string(raw: bytes) -> JSONObject:
    """A GET request's parts, `variables` and `extensions` decoded from JSON."""
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


def request_parts(
    request: Any,
) -> tuple[str | None, dict[str, Any] | None, str | None, JSONObject]:
    """`query` (None for a persisted query sent by hash), `variables`, `operationName` and
    `extensions` of one request, each checked for its type."""
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


def may_mutate(item: Any) -> bool:
    """Whether a batch item may be a mutation: any item whose text is not at hand (a persisted
    query) or that mentions `mutation` at all counts."""
    query = item.get("query") if isinstance(item, dict) else None
    return not isinstance(query, str) or _MUTATION.search(query) is not None
