"""GraphiQL for browsers, served by the router itself with no network access beyond the router.

The page (`graphiql_html()`) loads GraphiQL 5 (React, Monaco and its web workers, and the
"Query plan" plugin), bundled into `static/` by the recipe in `tools/graphiql/` (versions,
sources and hashes in `static/VERSIONS.txt`) and served by the router under `STATIC_URL_PATH`
through `static_file()`. The page references no other origin, runs no inline script (its
settings are a JSON data block), and its Content-Security-Policy forbids anything else.

Queries and mutations go to the endpoint over HTTP POST, accepting Apollo's incremental
delivery (`multipart/mixed;deferSpec=20220824`: deferred parts are shown as they arrive);
subscriptions go over graphql-transport-ws to the same endpoint (`ws://` or `wss://`, as the
page's scheme), the Headers pane's headers sent as `connection_init`'s `payload.headers`.

The "Query plan" pane in GraphiQL's sidebar draws the plan of the last operation as a tree
(Sequence, Parallel, Flatten, Fetch with its subgraph and operation, Condition), or shows
Apollo's text. Only while it is open does the page send `Apollo-Expose-Query-Plan: true`, and
it takes `extensions.apolloQueryPlan` out of the result before GraphiQL shows it; an operation
run while it was closed is planned again with `Apollo-Expose-Query-Plan: dry-run` (not
executed) when it opens. A subscription's plan always comes from such a dry run, over HTTP.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_QUERY",
    "QUERY_PLAN_HEADER",
    "STATIC_DIR",
    "STATIC_URL_PATH",
    "graphiql_html",
    "static_file",
    "static_file_gzip",
]

STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
"""The GraphiQL bundle built by tools/graphiql, with its licences and VERSIONS.txt."""

STATIC_URL_PATH = "/graphiql/static"
"""Where the router serves `STATIC_DIR`: `GET {STATIC_URL_PATH}/<name>` → `static_file(name)`."""

QUERY_PLAN_HEADER = "Apollo-Expose-Query-Plan"
"""The request header asking for `extensions.apolloQueryPlan` (`true`; `dry-run`: plan only)."""

DEFAULT_QUERY = """\
# The federation router's GraphiQL.
#
# Run an operation with Ctrl-Enter (Cmd-Enter on a Mac)
# or the ▶ button. Open "Query plan" in the sidebar to
# see the plan the router makes for it, as a picture.

{ __typename }
"""

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

# What the page loads itself; the bundle loads its chunks and workers from beside it (their
# names carry a hash of their content, so they can be cached for long).
_STYLESHEET = "graphiql.css"
_SCRIPT = "graphiql.js"


@functools.cache
def _allowed_names() -> frozenset[str]:
    return frozenset(
        path.name for path in STATIC_DIR.iterdir() if path.is_file() and not path.is_symlink()
    )


def _content_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if name.startswith("LICENSE"):
        return _CONTENT_TYPES[".txt"]
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")


@functools.cache
def _read(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


@functools.cache
def _bundle_tag() -> str:
    """A short hash of the page's two entry files, added to their URLs (`?v=…`) so a browser
    that cached an older router's bundle loads the new one."""
    digest = hashlib.sha256()
    for name in (_STYLESHEET, _SCRIPT):
        digest.update(_read(name))
    return digest.hexdigest()[:12]


def static_file(name: str) -> tuple[bytes, str] | None:
    """`(body, content type)` of the static asset called `name`, or None if there is none.

    Only the plain file names present in `STATIC_DIR` are served (no sub-paths, so no path
    traversal); contents are read once and kept in memory (about 7 MB in all).
    `static_file_gzip()` gives the same bytes compressed.
    """
    if name not in _allowed_names():
        return None
    return _read(name), _content_type(name)


@functools.cache
def static_file_gzip(name: str) -> bytes | None:
    """The static asset called `name` gzip-compressed (for `Content-Encoding: gzip`), or None
    if there is none. Compressed once, on first use: the bundle is a third of its size so."""
    found = static_file(name)
    if found is None:
        return None
    return gzip.compress(found[0], compresslevel=9, mtime=0)


def graphiql_html(
    endpoint: str = "/graphql",
    *,
    static_path: str = STATIC_URL_PATH,
    default_query: str = DEFAULT_QUERY,
    expose_query_plan: bool = True,
) -> str:
    """The GraphiQL page, querying `endpoint` (a path on the router, or an absolute URL).

    Assets are loaded from `static_path` (the router's root-relative `STATIC_URL_PATH` unless
    the router is mounted elsewhere). The page needs nothing from any other origin.

    With `expose_query_plan` (pass the router's own setting), the "Query plan" pane asks for
    the plans of the operations run while it is open. Should the router refuse (error code
    `QUERY_PLAN_NOT_EXPOSED`), the page runs the operation again without the header and stops
    asking. Introspection never asks for a plan.
    """
    prefix = static_path.rstrip("/")
    config = _script_json(
        {
            "endpoint": endpoint,
            "defaultQuery": default_query,
            "planHeader": QUERY_PLAN_HEADER,
            "exposeQueryPlan": expose_query_plan,
        }
    )
    return _PAGE.format(
        csp=_attribute(_content_security_policy(endpoint)),
        stylesheet=_attribute(f"{prefix}/{_STYLESHEET}?v={_bundle_tag()}"),
        style=_STYLE,
        script=_attribute(f"{prefix}/{_SCRIPT}?v={_bundle_tag()}"),
        config=config,
    )


def _attribute(value: str) -> str:
    """`value` escaped for a double-quoted HTML attribute (single quotes left readable)."""
    return html.escape(value, quote=False).replace('"', "&quot;")


def _script_json(value: object) -> str:
    """`value` as JSON that is safe inside a <script> element (no `<`, `>` or `&` in it)."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _content_security_policy(endpoint: str) -> str:
    """Same origin only, and no inline script at all (the settings are a JSON data block).

    Inline styles stay allowed: Monaco and GraphiQL add <style> elements at run time, and the
    bundled fonts are `data:` URLs. Monaco's workers are scripts of the router's own origin.
    `connect-src 'self'` covers the subscriptions' WebSocket to the page's own host too
    (`ws:`/`wss:`, CSP Level 3); an absolute endpoint adds its origin and its WebSocket twin.
    """
    connect = "'self'"
    parts = urlsplit(endpoint)
    if parts.scheme in ("http", "https") and parts.netloc:
        socket = "wss" if parts.scheme == "https" else "ws"
        connect += f" {parts.scheme}://{parts.netloc} {socket}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "worker-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self' data:",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


_PAGE = """\
<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="Content-Security-Policy" content="{csp}">
    <meta name="referrer" content="no-referrer">
    <title>GraphiQL · federation router</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{stylesheet}">
    <style>{style}</style>
  </head>
  <body>
    <div id="graphiql"><p class="graphiql-loading">Loading GraphiQL…</p></div>
    <noscript>GraphiQL needs JavaScript.</noscript>
    <script type="application/json" id="graphiql-config">{config}</script>
    <script type="module" src="{script}"></script>
  </body>
</html>
"""

_STYLE = """
      html, body { height: 100%; margin: 0; }
      body { overflow: hidden; }
      #graphiql { height: 100dvh; }
      .graphiql-loading {
        margin: 2rem; color: #666;
        font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
      }
    """
