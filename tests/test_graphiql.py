"""GraphiQL served by the router: the vendored assets, the page, and a real headless Chromium
running queries through it against the real `RouterApp` over HTTP.

The browser tests drive the system Chromium (Debian: `apt-get install chromium`) with Playwright
for Python (`pip install playwright`; never `playwright install`, which downloads browsers).
Either missing skips them locally and fails them when CI or REQUIRE_BROWSER is set.

`GraphiQLSite` serves `graphiql_html()` and the assets itself (so these tests do not depend on
how `RouterApp` routes them) and hands every other request to a real `RouterApp`, whose
`expose_query_plan` setting decides whether it answers `Apollo-Expose-Query-Plan: true` with
`extensions.apolloQueryPlan` or refuses it (`QUERY_PLAN_NOT_EXPOSED`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import pytest

from router.config import Config
from router.router import Router
from router.server.app import RouterApp
from router.server.graphiql import (
    QUERY_PLAN_HEADER,
    STATIC_DIR,
    STATIC_URL_PATH,
    graphiql_html,
    static_file,
)
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.faulty import serve_in_thread

ROOT = Path(__file__).parents[1]
SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()
QUERY = '{ customer(id: "1") { name } }'
SCREENSHOT = Path(tempfile.gettempdir()) / "graphiql.png"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# --- the assets and the page ------------------------------------------------------------------


def test_vendored_assets_match_versions_txt() -> None:
    listed: dict[str, str] = {}
    for line in (STATIC_DIR / "VERSIONS.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, package, _path, digest = line.split()
        assert re.fullmatch(r"(@?[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+", package), line
        listed[name] = digest
    on_disk = {p.name for p in STATIC_DIR.iterdir()} - {"VERSIONS.txt"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        data = (STATIC_DIR / name).read_bytes()
        assert len(data) < 2 * 1024 * 1024, name
        if not digest.startswith("("):
            assert hashlib.sha256(data).hexdigest() == digest, name


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("graphiql.min.js", "text/javascript; charset=utf-8"),
        ("graphiql.min.css", "text/css; charset=utf-8"),
        ("react.production.min.js", "text/javascript; charset=utf-8"),
        ("react-dom.production.min.js", "text/javascript; charset=utf-8"),
        ("LICENSE.graphiql", "text/plain; charset=utf-8"),
        ("VERSIONS.txt", "text/plain; charset=utf-8"),
    ],
)
def test_static_file_serves_the_assets(name: str, content_type: str) -> None:
    found = static_file(name)
    assert found is not None
    body, served_type = found
    assert (body, served_type) == ((STATIC_DIR / name).read_bytes(), content_type)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../__init__.py",
        "__init__.py",
        "static/graphiql.min.js",
        "./graphiql.min.js",
        "/graphiql.min.js",
        "..%2F__init__.py",
        "graphiql.min.js/",
        "GRAPHIQL.MIN.JS",
        "graphiql.min.js.map",
        "nope.js",
    ],
)
def test_static_file_refuses_anything_else(name: str) -> None:
    assert static_file(name) is None


def test_page_loads_only_the_routers_own_assets() -> None:
    page = graphiql_html()
    assert not re.search(r"(https?:)?//[a-z0-9]", page, re.IGNORECASE), "external URL in page"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources.pop(0) == "data:,"  # no favicon request
    assert sources == [
        f"{STATIC_URL_PATH}/graphiql.min.css",
        f"{STATIC_URL_PATH}/react.production.min.js",
        f"{STATIC_URL_PATH}/react-dom.production.min.js",
        f"{STATIC_URL_PATH}/graphiql.min.js",
    ]
    for source in sources:
        assert static_file(source.rsplit("/", 1)[1]) is not None
    assert '"endpoint": "/graphql"' in page
    assert QUERY_PLAN_HEADER in page
    assert 'id="query-plan"' in page


def test_page_escapes_what_it_embeds() -> None:
    page = graphiql_html('/x"</script><script>alert(1)</script>')
    assert page.count("</script>") == 4  # the three assets and the boot script
    assert "alert(1)</script>" not in page
    # An absolute endpoint is the one other origin the page may talk to.
    assert "connect-src 'self' https://api.example.com;" in graphiql_html(
        "https://api.example.com/graphql"
    )


# --- GraphiQL in a real browser ---------------------------------------------------------------

Scope = dict[str, Any]
Receive = Any
Send = Any
PLAN_HEADER = QUERY_PLAN_HEADER.lower()


class GraphiQLSite:
    """What a browser sees of the router: the GraphiQL page, its assets, and `RouterApp`.

    Records every request path and the headers of every POST to `/graphql`.
    """

    def __init__(self, app: RouterApp, *, page_asks_for_plans: bool) -> None:
        self.app = app
        self.page = graphiql_html("/graphql", expose_query_plan=page_asks_for_plans).encode()
        self.paths: list[str] = []
        self.posts: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        self.paths.append(path)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if method == "GET" and path == "/graphql" and "text/html" in headers.get("accept", ""):
            await _send(send, 200, self.page, "text/html; charset=utf-8")
        elif method == "GET" and path.startswith(STATIC_URL_PATH + "/"):
            found = static_file(unquote(path[len(STATIC_URL_PATH) + 1 :]))
            if found is None:
                await _send(send, 404, b"not found", "text/plain")
            else:
                await _send(send, 200, *found)
        else:
            if method == "POST" and path == "/graphql":
                self.posts.append(headers)
            await self.app(scope, receive, send)


async def _send(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


serve = serve_in_thread  # uvicorn on a free port in a thread; yields the base URL


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (required because CI or REQUIRE_BROWSER is set)")
    pytest.skip(reason)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system Chromium, headless, driven by Playwright (a `playwright.sync_api.Browser`)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    executable = next(
        (c for c in (shutil.which("chromium"), "/usr/bin/chromium") if c and os.access(c, os.X_OK)),
        None,
    )
    if executable is None:
        _unavailable("Chromium not found (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable, headless=True, args=LAUNCH_ARGS
            )
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {executable} did not start under Playwright: {exc}")
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """One page in the browser, with every request it made and every problem it reported."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.requested: list[str] = []
        self.problems: list[str] = []
        page = self.page
        page.on("request", lambda request: self.requested.append(request.url))
        page.on(
            "requestfailed",
            lambda r: self.problems.append(f"failed: {r.method} {r.url}: {r.failure}"),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        # Nothing may leave the machine, whatever the page tries.
        page.route(
            "**/*",
            lambda route: route.continue_() if _is_local(route.request.url) else route.abort(),
        )

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def open(self, base: str) -> None:
        """Load GraphiQL from `base`; it fetches the schema (an introspection POST) on start."""
        page = self.page
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url == f"{base}/graphql", timeout=15_000
        ) as introspection:
            response = page.goto(f"{base}/graphql", wait_until="load")
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        assert introspection.value.status == 200
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        _expect()(editor).to_contain_text("{ __typename }", timeout=15_000)

    def run(self, query: str) -> Any:
        """Type `query` into the editor, run it with the ▶ button; the result pane's locator."""
        page = self.page
        page.locator(".graphiql-query-editor .CodeMirror").click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(query)
        page.keyboard.press("Escape")  # close the autocompletion hint, if open
        typed = page.evaluate(
            "() => document.querySelector('.graphiql-query-editor .CodeMirror')"
            ".CodeMirror.getValue()"
        )
        assert typed == query
        page.locator("button.graphiql-execute-button").click()
        return page.locator(".graphiql-response .CodeMirror")

    def check_stayed_local(self, site: GraphiQLSite, *, expected_problems: int = 0) -> None:
        external = [url for url in self.requested if not _is_local(url)]
        assert external == [], f"the page tried to reach other origins: {external}"
        assert len(self.problems) == expected_problems, self.problems
        assets = {p.rsplit("/", 1)[1] for p in site.paths if p.startswith(STATIC_URL_PATH + "/")}
        assert assets == {
            "graphiql.min.css",
            "react.production.min.js",
            "react-dom.production.min.js",
            "graphiql.min.js",
        }


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _site(*, router_exposes: bool, page_asks: bool) -> tuple[GraphiQLSite, FakeSubgraphs]:
    fake = FakeSubgraphs()
    fake.on(
        "customers",
        'query { customer(id: "1") { name } }',
        {},
        {"data": {"customer": {"name": "Alice"}}},
    )
    router = Router.from_sdl(SUPERGRAPH, fake)
    app = RouterApp(router, Config(expose_query_plan=router_exposes))
    return GraphiQLSite(app, page_asks_for_plans=page_asks), fake


def test_graphiql_runs_a_query_and_shows_its_plan(browser: Any) -> None:
    expect = _expect()
    site, fake = _site(router_exposes=True, page_asks=True)
    visit = Visit(browser)
    try:
        with serve(site) as base:
            visit.open(base)
            result = visit.run(QUERY)
            expect(result).to_contain_text('"Alice"', timeout=15_000)
            expect(result).to_contain_text('"customer"')
            plan = visit.page.locator("#query-plan-text")
            expect(plan).to_contain_text("QueryPlan {", timeout=5_000)
            expect(plan).to_contain_text('Fetch(service: "customers")')
            expect(visit.page.locator("#query-plan")).to_have_attribute("data-state", "plan")
            visit.page.screenshot(path=str(SCREENSHOT))
    finally:
        visit.page.close()
    visit.check_stayed_local(site)
    # The schema came without asking for a plan; the operation asked for one.
    assert [h.get(PLAN_HEADER) for h in site.posts] == [None, "true"]
    assert [service for service, _ in fake.calls] == ["customers"]


def test_graphiql_loads_the_schema(browser: Any) -> None:
    expect = _expect()
    site, _ = _site(router_exposes=True, page_asks=True)
    visit = Visit(browser)
    try:
        with serve(site) as base:
            visit.open(base)
            visit.page.get_by_label("Show Documentation Explorer").click()
            docs = visit.page.locator(".graphiql-doc-explorer")
            expect(docs).to_contain_text("Query", timeout=10_000)
            expect(docs).not_to_contain_text("Error fetching schema")
            # Autocompletion comes from the schema too.
            visit.page.locator(".graphiql-query-editor .CodeMirror").click()
            visit.page.keyboard.press("Control+A")
            visit.page.keyboard.type("{ cust")
            expect(visit.page.locator(".CodeMirror-hints")).to_contain_text("customer")
    finally:
        visit.page.close()
    visit.check_stayed_local(site)


@pytest.mark.parametrize("page_asks", [True, False], ids=["router-refuses", "page-does-not-ask"])
def test_graphiql_works_when_the_router_hides_plans(browser: Any, page_asks: bool) -> None:
    expect = _expect()
    site, fake = _site(router_exposes=False, page_asks=page_asks)
    visit = Visit(browser)
    try:
        with serve(site) as base:
            visit.open(base)
            for _ in range(2):
                result = visit.run(QUERY)
                expect(result).to_contain_text('"Alice"', timeout=15_000)
                expect(result).not_to_contain_text("QUERY_PLAN_NOT_EXPOSED")
            expect(visit.page.locator("#query-plan")).to_have_attribute("data-state", "off")
            expect(visit.page.locator("#query-plan-text")).to_contain_text("not")
    finally:
        visit.page.close()
    # Chromium logs the refused request (a 403) to the console.
    visit.check_stayed_local(site, expected_problems=1 if page_asks else 0)
    assert all("status of 403" in problem for problem in visit.problems)
    # Refused once, the page stops asking: the refused request is run again without the header.
    asked = [h.get(PLAN_HEADER) for h in site.posts]
    assert asked == ([None, "true", None, None] if page_asks else [None, None, None])
    assert [service for service, _ in fake.calls] == ["customers", "customers"]
