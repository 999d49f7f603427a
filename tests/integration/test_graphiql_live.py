"""GraphiQL with live data, in a real headless Chromium: a subscription run from the page and a
deferred query whose parts the page shows as they arrive.

The subscription test runs the real customers and orders services (processes on seeded SQLite
files) behind the router served as an operator serves it (`python -m router serve` with GraphiQL
and JWT authentication on). The page sends the Headers pane's token in graphql-transport-ws's
`connection_init` (tools/graphiql/src/fetcher.js); an order created through the router over HTTP
reaches the page with its customer's name, which only the customers service knows.

The deferred test puts a subgraph that holds its entity fetches until the test lets them go
(tests/support/held_subgraph.py) behind a router served with GraphiQL: the page shows the
primary part while the deferred fetch is still held, then the merged answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth import bearer, jwt_yaml, staff_bearer
from tests.support.graphiql import Visit, patient_expect
from tests.support.held_subgraph import ORDER, ORDER_WHOLE, HeldSubgraph, served
from tests.support.live import open_subscriptions
from tests.support.paths import REPO
from tests.support.services import ServiceProcess, start_services

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
BOB = "2"
"""The seeded customer 2 (customer_subgraph/seed.py)."""
GRAPHIQL_ON = """
supergraph:
  introspection: true
sandbox:
  enabled: true
"""
CREATE = """mutation($c: ID!, $sku: String!) { createOrder(input: {customerId: $c,
    items: [{sku: $sku, quantity: 1, unitPrice: "2.00"}]}) { id } }"""
BOBS_ORDERS = [
    "subscription BobsOrders {",
    f'orderCreated(customerId: "{BOB}") {{',
    "id",
    "customer {",
    "name",
]


class LiveSystem:
    """The router process in front of the real services."""

    def __init__(self, router: ServiceProcess, orders: ServiceProcess) -> None:
        self.url = router.url
        self.orders = orders

    def create_order(self, headers: dict[str, str], customer: str, sku: str) -> str:
        """An order for `customer` placed through the router over HTTP; its id."""
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": CREATE, "variables": {"c": customer, "sku": sku}},
            headers=headers,
            timeout=30,
        )
        body = response.json()
        assert "errors" not in body, body
        return str(body["data"]["createOrder"]["id"])

    def wait_for_subscriptions(self, count: int) -> None:
        """Until the orders service has `count` subscriptions open: the router subscribed
        upstream, so an order created now is one the subscription is there to see. (In a
        thread of its own: Playwright's sync API runs an event loop in this one.)"""
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, open_subscriptions(self.orders.url, count)).result()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSystem]:
    folder = tmp_path_factory.mktemp("graphiql-live")
    customers, orders = start_services(folder)
    supergraph = folder / "supergraph.graphql"
    supergraph.write_text(
        SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{customers.url}/graphql").replace(
            "http://127.0.0.1:4002/graphql", f"{orders.url}/graphql"
        )
    )
    config = Path(folder / "router.yaml")
    config.write_text(GRAPHIQL_ON + jwt_yaml())
    router = ServiceProcess(
        "router",
        ["--config", str(config), "--supergraph", str(supergraph), "--no-reload"],
        subcommand=["serve"],
    )
    try:
        router.start()
        yield LiveSystem(router, orders)
    finally:
        router.stop()
        orders.stop()
        customers.stop()


def test_graphiql_runs_a_subscription_and_shows_each_order_with_its_customer(
    browser: Any, system: LiveSystem
) -> None:
    expect = patient_expect()
    bobs_token = bearer(BOB)
    visit = Visit(browser)
    page = visit.page
    try:
        visit.open(system.url)
        visit.set_headers({"Authorization": bobs_token["authorization"]})
        visit.type_query(BOBS_ORDERS)
        visit.wait_for_editor_words(
            f'subscription BobsOrders {{ orderCreated(customerId: "{BOB}") '
            "{ id customer { name } } }"
        )
        result = visit.run_typed()
        system.wait_for_subscriptions(1)
        expect(page.locator("button.graphiql-execute-button")).to_have_attribute(
            "aria-label", re.compile("^Stop query")
        )

        first = system.create_order(bobs_token, BOB, "GRAPHIQL-1")
        shown = {"data": {"orderCreated": {"id": first, "customer": {"name": "Bob"}}}}
        expect(result).to_contain_text(f'"id": "{first}"', timeout=30_000)
        assert _result_json(visit) == shown

        # Another customer's order is not Bob's: the subscription stays quiet for it.
        alices = system.create_order(staff_bearer(), "1", "GRAPHIQL-NOT-BOBS")
        second = system.create_order(bobs_token, BOB, "GRAPHIQL-2")
        expect(result).to_contain_text(f'"id": "{second}"', timeout=30_000)
        assert _result_json(visit) == {
            "data": {"orderCreated": {"id": second, "customer": {"name": "Bob"}}}
        }
        assert alices not in _result_text(visit)

        # Stopping it in the page closes the router's upstream subscription too.
        page.locator("button.graphiql-execute-button").click()
        system.wait_for_subscriptions(0)
    finally:
        page.close()
    # One WebSocket, to the router's own /graphql, closed with the subscription it carried.
    assert visit.websockets == [(f"{system.url.replace('http://', 'ws://')}/graphql", True)]
    assert visit.problems == []


def _result_text(visit: Visit) -> str:
    text: str = visit.page.evaluate(
        """() => [...document.querySelectorAll('.graphiql-response .view-line')]
            .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
            .map(line => line.textContent.replace(/\\u00a0/g, ' '))
            .join('\\n')"""
    )
    return text


def _result_json(visit: Visit) -> Any:
    return json.loads(_result_text(visit))


DEFERRED_LINES = [
    "query Q {",
    'order(id: "1") {',
    "id",
    "status",
    '... @defer(label: "customer") {',
    "customer {",
    "name",
]
DEFERRED = (
    'query Q { order(id: "1") { id status ... @defer(label: "customer") { customer { name } } } }'
)


def test_graphiql_shows_the_primary_part_before_the_deferred_part_arrives(browser: Any) -> None:
    expect = patient_expect()
    subgraph = HeldSubgraph()
    visit = Visit(browser)
    page = visit.page
    try:
        with served(subgraph, GRAPHIQL_ON) as url:
            visit.open(url.removesuffix("/graphql"))
            visit.set_headers({"Authorization": staff_bearer()["authorization"]})
            visit.type_query(DEFERRED_LINES)
            visit.wait_for_editor_words(DEFERRED)
            subgraph.release.clear()  # the customer's name is held at the subgraph
            result = visit.run_typed()
            expect(result).to_contain_text('"PAID"', timeout=30_000)
            assert _result_json(visit) == {"data": {"order": {"id": "1", "status": "PAID"}}}
            assert not subgraph.release.is_set()  # shown while the deferred fetch is held
            subgraph.release.set()
            expect(result).to_contain_text('"Ada"', timeout=30_000)
            assert _result_json(visit) == {
                "data": {"order": {"id": "1", "status": "PAID", "customer": {"name": "Ada"}}}
            }
            # The answer ended (its last part said hasNext: false): ▶ runs again, not ■ stops.
            expect(page.locator("button.graphiql-execute-button")).to_have_attribute(
                "aria-label", re.compile("^Execute query")
            )
    finally:
        page.close()
    # The router deferred the customer: the primary fetch asked nothing of it.
    assert ORDER in subgraph.queries and ORDER_WHOLE not in subgraph.queries
    # meros (the toolkit's multipart reader) cancels the body once it has read the closing
    # delimiter; when Chromium has not yet seen the body end, it calls that request aborted.
    # Nothing else may go wrong.
    aborted = f"failed: POST {url}: net::ERR_ABORTED"
    assert [p for p in visit.problems if p != aborted] == []
    assert visit.problems.count(aborted) <= 1
