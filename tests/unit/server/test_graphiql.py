"""GraphiQL served by the router: the bundled assets, the page, and a real headless Chromium
running queries through it against the real `RouterApp` over HTTP.

The browser tests drive the system Chromium (Debian: `apt-get install chromium`) with Playwright
for Python (`pip install playwright`; never `playwright install`, which downloads browsers).
Either missing skips them locally and fails them when CI or REQUIRE_BROWSER is set.

`GraphiQLSite` serves `graphiql_html()` itself (so a test can have the page ask for plans from a
router that refuses them) and hands every other request, the assets too, to a real `RouterApp`,
whose
`expose_query_plan` setting decides whether it answers `Apollo-Expose-Query-Plan: true` with
`extensions.apolloQueryPlan` or refuses it (`QUERY_PLAN_NOT_EXPOSED`).

The plan test saves a screenshot of the plan pane to `.artifacts/graphiql-plan.png` (git-ignored;
`GRAPHIQL_SCREENSHOT` overrides the path) and prints where.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

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
from tests.support.graphiql import (
    ORDER_LINES,
    ORDER_QUERY,
    SUPERGRAPH,
    VERSIONS,
    Visit,
    as_staff,
    graphiql_site,
    patient_expect,
    serve,
)
from tests.support.paths import REPO

ROOT = REPO
RECIPE = ROOT / "tools" / "graphiql"


QUERY = '{ customer(id: "1") { name } }'
SCREENSHOT = Path(os.environ.get("GRAPHIQL_SCREENSHOT", ROOT / ".artifacts" / "graphiql-plan.png"))
GRAPHIQL_VERSION = VERSIONS.packages["graphiql"]
PLAN_HEADER = QUERY_PLAN_HEADER.lower()

# --- the assets and the page ------------------------------------------------------------------


def test_bundle_matches_versions_txt() -> None:
    on_disk = {p.name for p in STATIC_DIR.iterdir()} - {"VERSIONS.txt"}
    assert set(VERSIONS.files) == on_disk
    for name, (source, digest) in VERSIONS.files.items():
        assert re.fullmatch(r"(@?[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+|src/[\w.-]+|build\.mjs", source), (
            name
        )
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    total = sum((STATIC_DIR / name).stat().st_size for name in on_disk)
    assert total < 12 * 1024 * 1024, f"the bundle grew to {total} bytes"
    # GraphiQL at its current major (5), on the React it supports.
    assert GRAPHIQL_VERSION.split(".")[0] == "5"
    assert VERSIONS.packages["react"] == VERSIONS.packages["react-dom"]


def test_bundle_was_built_from_the_committed_recipe() -> None:
    """Changing tools/graphiql/ without running its build (which rewrites VERSIONS.txt) fails."""
    recipe = {"build.mjs", "package.json", "package-lock.json"} | {
        f"src/{p.name}" for p in (RECIPE / "src").iterdir()
    }
    assert set(VERSIONS.inputs) == recipe
    for path, digest in VERSIONS.inputs.items():
        assert hashlib.sha256((RECIPE / path).read_bytes()).hexdigest() == digest, path
    locked = json.loads((RECIPE / "package-lock.json").read_text())["packages"]
    for name, version in VERSIONS.packages.items():
        assert locked[f"node_modules/{name}"]["version"] == version, name
    declared = json.loads((RECIPE / "package.json").read_text())["dependencies"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in declared.values()), "exact versions"


def _asset(prefix: str) -> str:
    return next(name for name in VERSIONS.files if name.startswith(prefix))


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("graphiql.js", "text/javascript; charset=utf-8"),
        ("graphiql.css", "text/css; charset=utf-8"),
        (_asset("graphql.worker-"), "text/javascript; charset=utf-8"),
        (_asset("graphiql-"), "text/javascript; charset=utf-8"),
        ("LICENSES.txt", "text/plain; charset=utf-8"),
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
        "static/graphiql.js",
        "./graphiql.js",
        "/graphiql.js",
        "..%2F__init__.py",
        "graphiql.js/",
        "GRAPHIQL.JS",
        "graphiql.js.map",
        "graphiql.js?v=1",
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
    tag = re.fullmatch(rf"{STATIC_URL_PATH}/graphiql\.css\?v=([0-9a-f]{{12}})", sources[0])
    assert tag is not None
    assert sources == [
        f"{STATIC_URL_PATH}/graphiql.css?v={tag[1]}",
        f"{STATIC_URL_PATH}/graphiql.js?v={tag[1]}",
    ]
    # The page runs no inline script: its one other <script> is a JSON data block.
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == [
        ' type="application/json" id="graphiql-config"',
        f' type="module" src="{sources[1]}"',
    ]
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "script-src 'self';" in csp[1] and "worker-src 'self';" in csp[1]
    assert "unsafe-eval" not in csp[1] and "sha256-" not in csp[1]
    config = json.loads(page.split('id="graphiql-config">', 1)[1].split("</script>", 1)[0])
    assert config["endpoint"] == "/graphql" and config["planHeader"] == QUERY_PLAN_HEADER


def test_page_escapes_what_it_embeds() -> None:
    page = graphiql_html('/x"</script><script>alert(1)</script>')
    assert page.count("</script>") == 2  # the settings and the bundle
    assert "alert(1)</script>" not in page
    config = json.loads(page.split('id="graphiql-config">', 1)[1].split("</script>", 1)[0])
    assert config["endpoint"] == '/x"</script><script>alert(1)</script>'
    # An absolute endpoint is the one other origin the page may talk to (and its WebSocket).
    assert "connect-src 'self' https://api.example.com wss://api.example.com;" in graphiql_html(
        "https://api.example.com/graphql"
    )
    assert "connect-src 'self' http://h:4000 ws://h:4000;" in graphiql_html("http://h:4000/gql")


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0, gzip", True),
        ("gzip;q=nonsense", False),
    ],
)
async def test_router_serves_the_assets_gzipped_when_accepted(
    accept_encoding: str, gzipped: bool
) -> None:
    import httpx

    app = RouterApp(
        Router.from_sdl(SUPERGRAPH, FakeSubgraphs()),
        Config(introspection=True, sandbox=True),
        identify=as_staff,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        response = await client.get(
            f"{STATIC_URL_PATH}/graphiql.js?v=1", headers={"accept-encoding": accept_encoding}
        )
        missing = await client.get(
            f"{STATIC_URL_PATH}/nope.js", headers={"accept-encoding": "gzip"}
        )
    original = (STATIC_DIR / "graphiql.js").read_bytes()
    assert response.status_code == 200 and response.headers["vary"] == "accept-encoding"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    if gzipped:
        assert response.headers["content-encoding"] == "gzip"
        assert int(response.headers["content-length"]) < len(original) / 2
    else:
        assert "content-encoding" not in response.headers
        assert int(response.headers["content-length"]) == len(original)
    assert response.content == original  # httpx undoes the gzip
    assert missing.status_code == 404


# --- GraphiQL in a real browser ---------------------------------------------------------------


def test_graphiql_draws_the_plan_of_an_order_with_its_customer(browser: Any) -> None:
    expect = patient_expect()
    site, fake = graphiql_site(router_exposes=True, page_asks=True)
    visit = Visit(browser)
    page = visit.page
    try:
        with serve(site) as base:
            visit.open(base)
            # GraphiQL at the version VERSIONS.txt records, in the page and in its logo.
            assert page.locator("html").get_attribute("data-graphiql-version") == GRAPHIQL_VERSION
            expect(page.locator(".graphiql-logo .graphiql-version")).to_have_text(GRAPHIQL_VERSION)
            pane = visit.open_plan_pane()
            expect(pane).to_have_attribute("data-state", "empty")
            visit.type_query(ORDER_LINES)
            visit.wait_for_editor_words(ORDER_QUERY)
            result = visit.run_typed()
            expect(result).to_contain_text('"alice@example.com"', timeout=20_000)
            expect(result).to_contain_text('"PAID"')
            expect(result).not_to_contain_text("apolloQueryPlan")  # the plan is in its pane
            expect(pane).to_have_attribute("data-state", "plan", timeout=10_000)

            # The picture: a Sequence of a Fetch from orders, then a Flatten over
            # order.customer with an entity Fetch from customers.
            graph = pane.locator(".plan-graph")
            sequence = graph.locator(":scope > [data-kind=Sequence]")
            expect(sequence).to_have_count(1)
            steps = sequence.locator(":scope > .plan-children > .plan-child > .plan-node")
            expect(steps).to_have_count(2)
            first, second = steps.nth(0), steps.nth(1)
            expect(first).to_have_attribute("data-kind", "Fetch")
            expect(first).to_have_attribute("data-service", "orders")
            expect(first.locator(".plan-service")).to_have_text("orders")
            expect(first.locator(".plan-operation")).to_contain_text('order(id: "1")')
            expect(first.locator(".plan-operation")).to_contain_text("__typename")
            expect(second).to_have_attribute("data-kind", "Flatten")
            expect(second).to_have_attribute("data-path", "order.customer")
            inner = second.locator("[data-kind=Fetch]")
            expect(inner).to_have_attribute("data-service", "customers")
            expect(inner.locator(".plan-requires")).to_contain_text(
                "... on Customer { __typename id }"
            )
            expect(inner.locator(".plan-operation")).to_contain_text("... on Customer")
            expect(inner.locator(".plan-operation")).to_contain_text("email")
            assert [
                k
                for k in graph.locator("[data-kind]").evaluate_all(
                    "nodes => nodes.map(n => n.dataset.kind)"
                )
            ] == ["Sequence", "Fetch", "Flatten", "Fetch"]

            visit.widen_plugin_pane(640)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            print(f"GraphiQL plan screenshot: {SCREENSHOT}")

            # The text view is Apollo's format, as the router prints the plan.
            pane.get_by_role("button", name="Text").click()
            printed = site.app.router.prepare(ORDER_QUERY, None, count=False).plan.print()
            expect(pane.locator(".plan-text")).to_have_text(printed)
            pane.get_by_role("button", name="Picture").click()
            expect(pane.locator(".plan-graph [data-kind=Flatten]")).to_be_visible()
    finally:
        page.close()
    visit.check_stayed_local(site)
    # The schema came without asking for a plan; the operation, run with the pane open, asked.
    assert [h.get(PLAN_HEADER) for h in site.posts] == [None, "true"]
    assert [service for service, _ in fake.calls] == ["orders", "customers"]


BRANCHED_LINES = [
    "query OrderAndCustomer($withCustomer: Boolean!) {",
    'customer(id: "2") {',
    "name",
    "}",
    'order(id: "1") {',
    "id",
    "customer @include(if: $withCustomer) {",
    "email",
]


def test_graphiql_draws_parallel_and_conditional_steps(browser: Any) -> None:
    expect = patient_expect()
    site, fake = graphiql_site(router_exposes=True, page_asks=True)
    fake.on(
        "customers",
        'query OrderAndCustomer__customers__0 { customer(id: "2") { name } }',
        {},
        {"data": {"customer": {"name": "Bob"}}},
    )
    fake.on(
        "orders",
        "query OrderAndCustomer__orders__1($withCustomer: Boolean!) "
        '{ order(id: "1") { id customer @include(if: $withCustomer) { __typename id } } }',
        {"withCustomer": True},
        {"data": {"order": {"id": "1", "customer": {"__typename": "Customer", "id": "7"}}}},
    )
    fake.on(
        "customers",
        "query OrderAndCustomer__customers__2($representations: [_Any!]!) "
        "{ _entities(representations: $representations) { ... on Customer { email } } }",
        {"representations": [{"__typename": "Customer", "id": "7"}]},
        {"data": {"_entities": [{"email": "alice@example.com"}]}},
    )
    visit = Visit(browser)
    page = visit.page
    try:
        with serve(site) as base:
            visit.open(base)
            pane = visit.open_plan_pane()
            visit.type_query(BRANCHED_LINES)
            visit.wait_for_editor_words(
                'query OrderAndCustomer($withCustomer: Boolean!) { customer(id: "2") { name } '
                'order(id: "1") { id customer @include(if: $withCustomer) { email } } }'
            )
            page.get_by_text("Variables", exact=True).click()
            page.locator(".graphiql-editor-tool .monaco-editor").first.click()
            page.keyboard.type('{"withCustomer": true')  # the editor closes the brace
            result = visit.run_typed()
            expect(result).to_contain_text('"Bob"', timeout=20_000)
            expect(result).to_contain_text('"alice@example.com"')
            expect(pane).to_have_attribute("data-state", "plan", timeout=10_000)
            graph = pane.locator(".plan-graph")
            kinds = graph.locator("[data-kind]").evaluate_all(
                "nodes => nodes.map(n => n.dataset.kind + (n.dataset.service ? ':' + "
                "n.dataset.service : '') + (n.dataset.path ? ' ' + n.dataset.path : ''))"
            )
            assert kinds == [
                "Parallel",
                "Fetch:customers",
                "Sequence",
                "Fetch:orders",
                "Include",
                "Flatten order.customer",
                "Fetch:customers",
            ]
            include = graph.locator("[data-kind=Include]")
            expect(include.locator(":scope > .plan-node-header")).to_contain_text("$withCustomer")
            # Parallel branches stand side by side (where the pane is wide enough).
            visit.widen_plugin_pane(800)
            branches = graph.locator("[data-kind=Parallel] > .plan-children > .plan-child")
            expect(branches).to_have_count(2)
            left, right = (branches.nth(i).bounding_box() for i in range(2))
            assert left is not None and right is not None
            assert right["x"] > left["x"] + left["width"] and right["y"] == left["y"]
            shot = SCREENSHOT.with_name(SCREENSHOT.stem + "-branches.png")
            page.screenshot(path=str(shot))
            print(f"GraphiQL plan screenshot: {shot}")
    finally:
        page.close()
    visit.check_stayed_local(site)
    assert [h.get(PLAN_HEADER) for h in site.posts] == [None, "true"]
    assert sorted(service for service, _ in fake.calls) == ["customers", "customers", "orders"]


def test_results_carry_no_plan_until_the_pane_asks(browser: Any) -> None:
    expect = patient_expect()
    site, fake = graphiql_site(router_exposes=True, page_asks=True)
    visit = Visit(browser)
    try:
        with serve(site) as base:
            visit.open(base)
            result = visit.run(
                'query OrderWithCustomer { order(id: "1") { id status customer { name email } } }'
            )
            expect(result).to_contain_text('"alice@example.com"', timeout=20_000)
            # Opening the pane plans the last operation again, without running it.
            pane = visit.open_plan_pane()
            expect(pane).to_have_attribute("data-state", "plan", timeout=10_000)
            expect(pane.locator("[data-kind=Flatten] [data-kind=Fetch]")).to_have_attribute(
                "data-service", "customers"
            )
            # Closed again, the pane asks for nothing.
            visit.page.get_by_label("Hide Query plan").click()
            result = visit.run(QUERY)
            expect(result).to_contain_text('"Alice"', timeout=20_000)
            expect(result).not_to_contain_text("OrderWithCustomer")
    finally:
        visit.page.close()
    visit.check_stayed_local(site)
    assert [h.get(PLAN_HEADER) for h in site.posts] == [None, None, "dry-run", None]
    # The dry run fetched nothing.
    assert [service for service, _ in fake.calls] == ["orders", "customers", "customers"]


def test_graphiql_loads_the_schema(browser: Any) -> None:
    expect = patient_expect()
    site, _ = graphiql_site(router_exposes=True, page_asks=True)
    visit = Visit(browser)
    try:
        with serve(site) as base:
            visit.open(base)
            visit.page.get_by_label("Show Documentation Explorer").click()
            docs = visit.page.locator(".graphiql-doc-explorer")
            expect(docs).to_contain_text("Query", timeout=10_000)
            expect(docs).not_to_contain_text("Error fetching schema")
            # Autocompletion comes from the schema too (Monaco's suggestion list).
            visit.editor().click()
            visit.page.keyboard.press("Control+A")
            visit.page.keyboard.type("{ cust")
            expect(visit.page.locator(".suggest-widget")).to_contain_text("customer")
    finally:
        visit.page.close()
    visit.check_stayed_local(site)


@pytest.mark.parametrize("page_asks", [True, False], ids=["router-refuses", "page-does-not-ask"])
def test_graphiql_works_when_the_router_hides_plans(browser: Any, page_asks: bool) -> None:
    expect = patient_expect()
    site, fake = graphiql_site(router_exposes=False, page_asks=page_asks)
    visit = Visit(browser)
    try:
        with serve(site) as base:
            visit.open(base)
            pane = visit.open_plan_pane()
            for _ in range(2):
                result = visit.run(QUERY)
                expect(result).to_contain_text('"Alice"', timeout=20_000)
                expect(result).not_to_contain_text("QUERY_PLAN_NOT_EXPOSED")
            expect(pane).to_have_attribute("data-state", "off")
            expect(pane.locator(".plan-message")).to_contain_text("does not expose query plans")
    finally:
        visit.page.close()
    # Chromium logs the refused request (a 403) to the console.
    visit.check_stayed_local(site, expected_problems=1 if page_asks else 0)
    assert all("status of 403" in problem for problem in visit.problems)
    # Refused once, the page stops asking: the refused request is run again without the header.
    asked = [h.get(PLAN_HEADER) for h in site.posts]
    assert asked == ([None, "true", None, None] if page_asks else [None, None, None])
    assert [service for service, _ in fake.calls] == ["customers", "customers"]
