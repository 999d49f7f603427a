"""GraphiQL for browsers (`sandbox.enabled`): its page on the GraphQL path and its bundled
assets under `/graphiql/static/` (router/server/graphiql/), gzip-compressed when accepted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.config import Config
from router.server.responses import RawHeaders, error_body, respond, send_payload

if TYPE_CHECKING:
    from starlette.types import Send

__all__ = ["STATIC_PREFIX", "accepts_gzip", "answer_graphiql", "answer_static"]

STATIC_PREFIX = "/graphiql/static/"


async def answer_graphiql(send: Send, config: Config, cors: RawHeaders) -> None:
    """The GraphiQL page for the GraphQL path, with the CORS headers; 404 NOT_FOUND when this build
    has no GraphiQL bundle."""
    try:
        from router.server.graphiql import graphiql_html
    except ImportError:
        await respond(send, 404, error_body("GraphiQL is not bundled with this build", "NOT_FOUND"))
        return
    page = graphiql_html(config.path, expose_query_plan=config.expose_query_plan)
    await send_payload(send, 200, page.encode(), b"text/html; charset=utf-8", cors)


async def answer_static(send: Send, name: str, gzipped: bool) -> None:
    """One GraphiQL asset by file name, cacheable for a day and gzip-compressed when `gzipped`; 404
    NOT_FOUND for an unknown name or a build without the bundle."""
    try:
        from router.server.graphiql import static_file, static_file_gzip
    except ImportError:
        found = None
    else:
        found = static_file(name)
    if found is None:
        await respond(send, 404, error_body(f"no asset {name}", "NOT_FOUND"))
        return
    body, content_type = found
    extra = [(b"cache-control", b"public, max-age=86400"), (b"vary", b"accept-encoding")]
    compressed = static_file_gzip(name) if gzipped else None
    if compressed is not None:
        body = compressed
        extra.append((b"content-encoding", b"gzip"))
    await send_payload(send, 200, body, content_type.encode(), extra)


def accepts_gzip(headers: dict[str, str]) -> bool:
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
