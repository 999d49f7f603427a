"""What the router's GraphiQL costs a browser: bytes loaded, time to an editor, time to a plan.

    .venv/bin/python -m bench.graphiql [--rounds 5] [--no-gzip]

Serves the page as tests/unit/server/test_graphiql.py does (tests/support/graphiql.py) (the real `RouterApp` over HTTP, canned
subgraphs) and drives the system Chromium headless, each round in a fresh browser context (an
empty cache). Prints, per round and as the median: milliseconds from navigation to GraphiQL's
editor in GraphQL mode with the schema loaded, and from the ▶ click on the order-with-customer
query (Query plan pane open) to its plan drawn; and the bytes the page fetched from
`/graphiql/static/`, uncompressed and as the router sends them gzipped (to a browser that
accepts gzip, as Chromium does). No asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from bench.harness.common import BenchError
from bench.harness.tools import require
from router.server.graphiql import STATIC_DIR, STATIC_URL_PATH, static_file_gzip
from tests.support.graphiql import LAUNCH_ARGS, ORDER_LINES, Visit, graphiql_site, serve


class _Fresh:
    """A browser whose every page opens in a new context: nothing cached between rounds."""

    def __init__(self, browser: Any, headers: dict[str, str]) -> None:
        self.browser = browser
        self.headers = headers

    def new_page(self, **options: Any) -> Any:
        return self.browser.new_context(extra_http_headers=self.headers, **options).new_page()


def one_round(browser: Any, base: str, gzip: bool) -> tuple[float, float, list[str]]:
    visit = Visit(_Fresh(browser, {} if gzip else {"accept-encoding": "identity"}))
    page = visit.page
    started = time.perf_counter()
    visit.open(base)
    ready = time.perf_counter() - started
    pane = visit.open_plan_pane()
    visit.type_query(ORDER_LINES)
    page.locator(".graphiql-tab-active").filter(has_text="OrderWithCustomer").wait_for()
    clicked = time.perf_counter()
    page.locator("button.graphiql-execute-button").click()
    pane.locator(".plan-graph [data-kind=Flatten] [data-kind=Fetch]").wait_for()
    planned = time.perf_counter() - clicked
    assets = [
        url.split(STATIC_URL_PATH + "/", 1)[1].split("?", 1)[0]
        for url in visit.requested
        if STATIC_URL_PATH + "/" in url
    ]
    page.context.close()
    return ready * 1000, planned * 1000, assets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--no-gzip", action="store_true", help="the browser asks for uncompressed assets"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    site, _ = graphiql_site(router_exposes=True, page_asks=True)
    readies: list[float] = []
    plans: list[float] = []
    with serve(site) as base, sync_playwright() as playwright:
        chromium = require("chromium", "the browser this benchmark drives")
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=LAUNCH_ARGS
        )
        try:
            for number in range(1, args.rounds + 1):
                ready, planned, assets = one_round(browser, base, not args.no_gzip)
                readies.append(ready)
                plans.append(planned)
                print(
                    f"round {number}: editor ready {ready:7.0f} ms   plan drawn {planned:5.0f} ms"
                )
        finally:
            browser.close()
    loaded = sorted(set(assets))
    raw = sum((STATIC_DIR / name).stat().st_size for name in loaded)
    zipped = sum(len(static_file_gzip(name) or b"") for name in loaded)
    bundle = sum(p.stat().st_size for p in STATIC_DIR.iterdir())
    print(
        f"median: editor ready {statistics.median(readies):.0f} ms, "
        f"plan drawn {statistics.median(plans):.0f} ms ({args.rounds} rounds, empty cache)"
    )
    print(
        f"fetched {len(loaded)} files from {STATIC_URL_PATH}/: {raw / 1e6:.2f} MB as served, "
        f"{zipped / 1e6:.2f} MB as the router gzips it; the whole bundle is {bundle / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:  # a program missing: what to install
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
