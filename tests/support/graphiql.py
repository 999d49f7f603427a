"""GraphiQL as the tests and bench/graphiql.py drive it: the page served beside a real
`RouterApp` over canned subgraphs (`graphiql_site`), one browser page with every request and
problem it reported (`Visit`), the system Chromium under Playwright (`headless_chromium`, the
`browser` fixture of tests/conftest.py), and the bundle's VERSIONS.txt."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from router.authz import Identity
from router.authz.identity import IncomingRequest
from router.config import Config
from router.router import Router
from router.server.app import RouterApp
from router.server.graphiql import STATIC_DIR, STATIC_URL_PATH, graphiql_html
from tests.support.auth import STAFF_IDENTITY
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.faulty import serve_in_thread

ROOT = Path(__file__).parents[2]
SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()


def as_staff(request: IncomingRequest) -> Identity:
    """Who uses the page in these tests: staff, as if GraphiQL's headers pane held a staff token
    (the fields the page reads, `Customer.email` among them, are behind scopes)."""
    return STAFF_IDENTITY


LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> NoReturn:
    import pytest

    if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (required because CI or REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """The system Chromium, headless, driven by Playwright (a `playwright.sync_api.Browser`).

    Playwright or Chromium missing skips the test locally and fails it when CI or
    REQUIRE_BROWSER is set."""
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


class Versions:
    """static/VERSIONS.txt, as tools/graphiql/build.mjs writes it."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, str]] = {}  # name → (built from, sha256)
        self.inputs: dict[str, str] = {}  # path under tools/graphiql → sha256
        self.packages: dict[str, str] = {}  # npm package → version bundled
        for line in (STATIC_DIR / "VERSIONS.txt").read_text().splitlines():
            if line.startswith("# bundled:"):
                for package in line.removeprefix("# bundled:").split():
                    name, _, version = package.rpartition("@")
                    self.packages[name] = version
            elif line.startswith("input "):
                path, digest = line.removeprefix("input ").split()
                self.inputs[path] = digest
            elif line.strip() and not line.startswith("#"):
                name, source, digest = line.split()
                self.files[name] = (source, digest)


VERSIONS = Versions()

Scope = dict[str, Any]
Receive = Any
Send = Any


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
            await send_body(send, 200, self.page, "text/html; charset=utf-8")
        else:
            if method == "POST" and path == "/graphql":
                self.posts.append(headers)
            await self.app(scope, receive, send)


async def send_body(send: Send, status: int, body: bytes, content_type: str) -> None:
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


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost")


_EDITOR_TEXT = """() => [...document.querySelectorAll('.graphiql-query-editor .view-line')]
    .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
    .map(line => line.textContent.replace(/\\u00a0/g, ' '))
    .join('\\n')"""


class Visit:
    """One page in the browser, with every request it made and every problem it reported."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1440, "height": 900})
        self.page.set_default_timeout(30_000)
        self.requested: list[str] = []
        self.problems: list[str] = []
        self._sockets: list[Any] = []
        page = self.page
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("websocket", lambda socket: self._sockets.append(socket))
        page.on(
            "requestfailed",
            lambda r: self.problems.append(f"failed: {r.method} {r.url}: {r.failure}"),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        # Nothing may leave the machine, whatever the page tries.
        page.route(
            "**/*",
            lambda route: route.continue_() if is_local(route.request.url) else route.abort(),
        )

    @property
    def websockets(self) -> list[tuple[str, bool]]:
        """Every WebSocket the page opened: its URL, and whether it is closed."""
        return [(socket.url, socket.is_closed()) for socket in self._sockets]

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def open(self, base: str) -> None:
        """Load GraphiQL from `base`; it fetches the schema (an introspection POST) on start."""
        page = self.page
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url == f"{base}/graphql", timeout=20_000
        ) as introspection:
            response = page.goto(f"{base}/graphql", wait_until="load")
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        assert introspection.value.status == 200
        patient_expect()(self.editor()).to_contain_text("__typename", timeout=20_000)
        # The GraphQL language (brackets, indentation, completion) is on in the editor.
        graphql = self.page.locator('.graphiql-query-editor [data-mode-id="graphql"]')
        patient_expect()(graphql).to_have_count(1, timeout=20_000)

    def editor(self) -> Any:
        return self.page.locator(".graphiql-query-editor .monaco-editor")

    def editor_text(self) -> str:
        """The query editor's text, its lines in order (Monaco draws them absolutely placed)."""
        text: str = self.page.evaluate(f"() => ({_EDITOR_TEXT})()")
        return text

    def wait_for_editor_words(self, expected: str) -> None:
        """Wait until the editor shows `expected`, whitespace aside: Monaco draws typed text
        a frame later, and indents it as it likes (a brace it closed may end up beside
        another, `}}`, where `expected` has them on two lines)."""
        text = "".join(expected.split())
        self.page.wait_for_function(
            f"text => ({_EDITOR_TEXT})().replace(/\\s+/g, '') === text",
            arg=text,
            timeout=20_000,
        )

    def type_query(self, lines: list[str]) -> None:
        """Type the operation as a person would, a line at a time, without indentation or
        closing braces: the editor indents, and a line ending in `{` is typed with its `}`
        (which overtypes the one the editor may have closed), the cursor put back between them.
        A line `}` steps past such a brace."""
        page = self.page
        self.editor().click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        for index, line in enumerate(lines):
            if line == "}":
                page.keyboard.press("Escape")
                page.keyboard.press("ArrowDown")
                page.keyboard.press("End")
            elif line.endswith("{"):
                page.keyboard.type(line + "}")
                page.keyboard.press("Escape")
                page.keyboard.press("ArrowLeft")
            else:
                page.keyboard.type(line)
            if index < len(lines) - 1 and lines[index + 1] != "}":
                # A new line as typed text: Enter would accept an open autocompletion instead.
                page.keyboard.insert_text("\n")
        page.keyboard.press("Escape")  # close the autocompletion list, if open

    def run(self, query: str) -> Any:
        """Type `query` (one line) and run it with the ▶ button; the result pane's locator."""
        self.type_query([query])
        self.wait_for_editor_words(query)
        return self.run_typed()

    def run_typed(self) -> Any:
        # GraphiQL reads the operation's name from the editor 100 ms after the last key; the tab
        # shows it when it has.
        named = re.match(r"(?:query|mutation|subscription)\s+(\w+)", self.editor_text())
        title = named[1] if named else "<untitled>"
        patient_expect()(self.page.locator(".graphiql-tab-active")).to_have_text(title)
        self.page.locator("button.graphiql-execute-button").click()
        return self.page.locator(".graphiql-response .monaco-editor")

    def set_headers(self, headers: dict[str, str]) -> None:
        """Put `headers` in GraphiQL's Headers pane as JSON (pasted, as a person pastes a
        token), and wait until the pane shows them."""
        page = self.page
        page.get_by_text("Headers", exact=True).click()
        pane = page.locator(".graphiql-editor-tool .monaco-editor:visible")
        pane.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(json.dumps(headers))
        page.keyboard.press("Escape")
        shown = pane.locator(".view-lines")
        patient_expect()(shown).to_have_text(json.dumps(headers).replace(" ", "\u00a0"))

    def open_plan_pane(self) -> Any:
        self.page.get_by_label("Show Query plan").click()
        pane = self.page.locator(".plan-pane")
        patient_expect()(pane).to_be_visible()
        return pane

    def widen_plugin_pane(self, to_x: int) -> None:
        """Drag the bar between the plugin pane and the editors, as a person widening it."""
        page = self.page
        bar = page.locator(".graphiql-horizontal-drag-bar").first.bounding_box()
        assert bar is not None
        middle_y = bar["y"] + bar["height"] / 2
        page.mouse.move(bar["x"] + bar["width"] / 2, middle_y)
        page.mouse.down()
        page.mouse.move(to_x, middle_y, steps=8)
        page.mouse.up()
        page.mouse.move(to_x / 2, bar["y"] + bar["height"] - 20)  # off the editors' scrollbars

    def check_stayed_local(self, site: GraphiQLSite, *, expected_problems: int = 0) -> None:
        external = [url for url in self.requested if not is_local(url)]
        assert external == [], f"the page tried to reach other origins: {external}"
        assert len(self.problems) == expected_problems, self.problems
        assets = {p.rsplit("/", 1)[1] for p in site.paths if p.startswith(STATIC_URL_PATH + "/")}
        # The page, its lazy chunks and Monaco's three workers, all from VERSIONS.txt.
        assert assets <= set(VERSIONS.files)
        assert {"graphiql.css", "graphiql.js"} <= assets
        workers = {name.split("-", 1)[0] for name in assets if ".worker-" in name}
        assert workers == {"editor.worker", "json.worker", "graphql.worker"}


def patient_expect() -> Any:
    from playwright.sync_api import expect

    # Patient on a loaded machine (two cores shared with the rest of the suite): Monaco's
    # first start and the lazy chunks can take seconds there.
    expect.set_options(timeout=15_000)
    return expect


ORDER_LINES = [
    "query OrderWithCustomer {",
    'order(id: "1") {',
    "id",
    "status",
    "customer {",
    "name",
    "email",
]
ORDER_QUERY = """\
query OrderWithCustomer {
  order(id: "1") {
    id
    status
    customer {
      name
      email
    }
  }
}"""
ORDERS_FETCH = (
    'query OrderWithCustomer__orders__0 { order(id: "1") { id status customer { __typename id } } }'
)
CUSTOMERS_FETCH = (
    "query OrderWithCustomer__customers__1($representations: [_Any!]!) "
    "{ _entities(representations: $representations) { ... on Customer { name email } } }"
)


def graphiql_site(*, router_exposes: bool, page_asks: bool) -> tuple[GraphiQLSite, FakeSubgraphs]:
    fake = FakeSubgraphs()
    fake.on(
        "customers",
        'query { customer(id: "1") { name } }',
        {},
        {"data": {"customer": {"name": "Alice"}}},
    )
    fake.on(
        "orders",
        ORDERS_FETCH,
        {},
        {
            "data": {
                "order": {
                    "id": "1",
                    "status": "PAID",
                    "customer": {"__typename": "Customer", "id": "7"},
                }
            }
        },
    )
    fake.on(
        "customers",
        CUSTOMERS_FETCH,
        {"representations": [{"__typename": "Customer", "id": "7"}]},
        {"data": {"_entities": [{"name": "Alice", "email": "alice@example.com"}]}},
    )
    router = Router.from_sdl(SUPERGRAPH, fake)
    app = RouterApp(
        router,
        Config(introspection=True, sandbox=True, expose_query_plan=router_exposes),
        identify=as_staff,
    )
    return GraphiQLSite(app, page_asks_for_plans=page_asks), fake
