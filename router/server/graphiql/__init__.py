"""GraphiQL for browsers, served by the router itself with no network access beyond the router.

The page (`graphiql_html()`) loads GraphiQL and React from UMD bundles vendored byte-for-byte
from npm into `static/` (versions, sources and hashes in `static/VERSIONS.txt`), served by the
router under `STATIC_URL_PATH` through `static_file()`. The page references no other origin, and
its Content-Security-Policy forbids loading anything from one.

Below the editor, a "Query plan" panel shows the plan of the last operation run: the page's
fetcher sends `Apollo-Expose-Query-Plan: true` and shows `extensions.apolloQueryPlan.text` from
the response (Apollo's convention), handing the response to GraphiQL unchanged.
"""

from __future__ import annotations

import base64
import functools
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
]

STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
"""The vendored GraphiQL/React bundles and their licences."""

STATIC_URL_PATH = "/graphiql/static"
"""Where the router serves `STATIC_DIR`: `GET {STATIC_URL_PATH}/<name>` → `static_file(name)`."""

QUERY_PLAN_HEADER = "Apollo-Expose-Query-Plan"
"""The request header (value `true`) asking for `extensions.apolloQueryPlan` in the response."""

DEFAULT_QUERY = """\
# The federation router's GraphiQL.
#
# Run an operation with Ctrl-Enter (Cmd-Enter on a
# Mac) or the ▶ button. The plan the router made for
# it appears in the "Query plan" panel below.

{ __typename }
"""

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

# The assets the page loads, in load order (React before ReactDOM before GraphiQL).
_STYLESHEETS = ("graphiql.min.css",)
_SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")


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


def static_file(name: str) -> tuple[bytes, str] | None:
    """`(body, content type)` of the static asset called `name`, or None if there is none.

    Only the plain file names present in `STATIC_DIR` are served (no sub-paths, so no path
    traversal); contents are read once and kept in memory (about 1.5 MB in all).
    """
    if name not in _allowed_names():
        return None
    return _read(name), _content_type(name)


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

    With `expose_query_plan` (pass the router's own setting), operations are sent with
    `Apollo-Expose-Query-Plan: true` and the "Query plan" panel shows the plan of the last one.
    Should the router refuse (error code `QUERY_PLAN_NOT_EXPOSED`), the page runs the operation
    again without the header and stops asking. Introspection never asks for a plan.
    """
    prefix = static_path.rstrip("/")
    boot = _BOOT_SCRIPT.replace(
        "__CONFIG__",
        _script_json(
            {
                "endpoint": endpoint,
                "defaultQuery": default_query,
                "planHeader": QUERY_PLAN_HEADER,
                "exposeQueryPlan": expose_query_plan,
            }
        ),
    )
    links = "\n".join(
        f'    <link rel="stylesheet" href="{_attribute(f"{prefix}/{name}")}">'
        for name in _STYLESHEETS
    )
    scripts = "\n".join(
        f'    <script src="{_attribute(f"{prefix}/{name}")}"></script>' for name in _SCRIPTS
    )
    return _PAGE.format(
        csp=_attribute(_content_security_policy(endpoint, boot)),
        links=links,
        style=_STYLE,
        scripts=scripts,
        boot=boot,
    )


def _attribute(value: str) -> str:
    """`value` escaped for a double-quoted HTML attribute (single quotes left readable)."""
    return html.escape(value, quote=False).replace('"', "&quot;")


def _script_json(value: object) -> str:
    """`value` as a JavaScript literal that is safe inside an inline <script> element."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _content_security_policy(endpoint: str, boot: str) -> str:
    """Same origin only; the one inline script is allowed by its hash.

    Inline styles stay allowed: CodeMirror and GraphiQL add <style> elements at run time, and
    the bundled fonts are `data:` URLs.
    """
    digest = base64.b64encode(hashlib.sha256(boot.encode()).digest()).decode()
    connect = "'self'"
    parts = urlsplit(endpoint)
    if parts.scheme in ("http", "https") and parts.netloc:
        connect += f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'sha256-{digest}'",
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
{links}
    <style>{style}</style>
  </head>
  <body>
    <div id="graphiql"><p class="graphiql-loading">Loading GraphiQL…</p></div>
    <details id="query-plan" open data-state="empty" aria-live="polite">
      <summary>Query plan</summary>
      <pre id="query-plan-text">Run an operation to see the plan the router made for it.</pre>
    </details>
    <noscript>GraphiQL needs JavaScript.</noscript>
{scripts}
    <script>{boot}</script>
  </body>
</html>
"""

_STYLE = """
      html, body { height: 100%; margin: 0; }
      body {
        display: flex; flex-direction: column; overflow: hidden;
        font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
      }
      #graphiql { flex: 1 1 auto; min-height: 0; }
      .graphiql-loading { margin: 2rem; color: #666; }
      #query-plan {
        flex: 0 0 auto; max-height: 40vh; overflow: auto;
        border-top: 1px solid rgba(59, 75, 104, 0.15);
        background: #fff; color: #3b4b68;
      }
      #query-plan > summary {
        cursor: pointer; padding: 6px 16px; font-size: 14px; font-weight: 500;
        position: sticky; top: 0; background: inherit;
      }
      #query-plan > pre {
        margin: 0; padding: 4px 16px 12px; font-size: 13px; line-height: 1.4;
        font-family: "Fira Code", Menlo, Consolas, monospace; white-space: pre;
      }
      #query-plan[data-state="error"] > pre { color: #c53030; }
      #query-plan[data-state="off"] > pre, #query-plan[data-state="none"] > pre { opacity: 0.7; }
      body.graphiql-dark #query-plan {
        background: #0f1525; color: #c3c9d5; border-top-color: rgba(255, 255, 255, 0.15);
      }
    """

# `__CONFIG__` becomes the page's settings; the resulting script's SHA-256 goes into the page's
# Content-Security-Policy, which lets no other inline script run.
_BOOT_SCRIPT = """
(function () {
  "use strict";
  var config = __CONFIG__;
  var root = document.getElementById("graphiql");
  var panel = document.getElementById("query-plan");
  var planText = document.getElementById("query-plan-text");

  function setPlan(state, text) {
    panel.setAttribute("data-state", state);
    planText.textContent = text;
  }

  if (typeof window.GraphiQL === "undefined" || typeof window.ReactDOM === "undefined") {
    root.textContent = "GraphiQL could not load its scripts.";
    return;
  }

  var askForPlans = config.exposeQueryPlan;
  var headers = {};
  headers[config.planHeader] = "true";
  var withPlan = GraphiQL.createFetcher({ url: config.endpoint, headers: headers });
  var plain = GraphiQL.createFetcher({ url: config.endpoint });
  if (!askForPlans) setPlan("off", "Query plans are not shown (the router does not expose them).");

  function planOf(payload) {
    var plan = payload && payload.extensions && payload.extensions.apolloQueryPlan;
    return plan && typeof plan.text === "string" ? plan.text : null;
  }

  function refusal(payload) {
    var error = payload && payload.errors && payload.errors[0];
    var code = error && error.extensions && error.extensions.code;
    return code === "QUERY_PLAN_NOT_EXPOSED" ? String(error.message) : null;
  }

  // Every payload goes to GraphiQL as it came: one, or several for an incremental response.
  async function* run(params, options) {
    var asked = askForPlans;
    var payloads = await (asked ? withPlan : plain)(params, options);
    if (payloads == null || typeof payloads[Symbol.asyncIterator] !== "function") {
      payloads = [payloads];
    }
    var first = true;
    var seen = false;
    for await (var payload of payloads) {
      var refused = first && asked ? refusal(payload) : null;
      if (refused !== null) {
        // The router does not expose plans: stop asking, and run the operation again.
        askForPlans = false;
        setPlan("off", "Query plans are not shown: " + refused);
        yield* run(params, options);
        return;
      }
      first = false;
      var text = planOf(payload);
      if (text !== null) {
        seen = true;
        setPlan("plan", text);
      }
      yield payload;
    }
    if (asked && !seen) setPlan("none", "The router sent no query plan for this operation.");
  }

  function fetcher(params, options) {
    if (params && params.operationName === "IntrospectionQuery") return plain(params, options);
    if (askForPlans) setPlan("running", "Running…");
    var payloads = run(params, options);
    return (async function* () {
      try {
        yield* payloads;
      } catch (error) {
        var message = error && error.message ? error.message : String(error);
        if (askForPlans) setPlan("error", "The request failed: " + message);
        throw error;
      }
    })();
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      shouldPersistHeaders: false
    })
  );
})();
"""
