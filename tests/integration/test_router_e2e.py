"""End to end: the real customers and orders services behind the router, with the committed
supergraph, over HTTP (separate processes) and in process (the apps called directly)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import customer_subgraph
import order_subgraph
from router.authz import Identity
from router.execute.inprocess import in_process
from router.execute.transport import HttpTransport, SubgraphTransport
from router.router import Router
from router.types import JSONObject
from tests.support.auth import STAFF_IDENTITY, identity, signed_in_router
from tests.support.paths import REPO
from tests.support.services import start_services

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()


class Recording:
    """Wraps a transport and records every request, to count subgraph calls."""

    def __init__(self, inner: SubgraphTransport) -> None:
        self.inner = inner
        self.calls: list[tuple[str, JSONObject]] = []

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        self.calls.append((service, body))
        return await self.inner.send(service, body, headers)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Both services as real processes on seeded SQLite files: name → GraphQL URL."""
    folder = tmp_path_factory.mktemp("e2e")
    customers, orders = start_services(folder)
    try:
        yield {"customers": f"{customers.url}/graphql", "orders": f"{orders.url}/graphql"}
    finally:
        orders.stop()
        customers.stop()


@contextlib.asynccontextmanager
async def router_over(
    transport_kind: str, services: dict[str, str], tmp_path: Path, who: Identity = STAFF_IDENTITY
) -> AsyncIterator[tuple[Router, Recording]]:
    """The router for requests by `who` (staff unless a test says whose token it is)."""
    if transport_kind == "http":
        recording = Recording(HttpTransport(services))
        router = signed_in_router(SUPERGRAPH, recording, who)
        try:
            yield router, recording
        finally:
            await router.close()
        return
    customers_app = customer_subgraph.create_app(
        customer_subgraph.Settings(database_url=f"sqlite:///{tmp_path}/c.sqlite3")
    )
    orders_app = order_subgraph.create_app(
        order_subgraph.Settings(database_url=f"sqlite:///{tmp_path}/o.sqlite3"),
        # the orders service's own customer check goes to the in-process app too
        customers_transport=httpx.ASGITransport(app=customers_app),
    )
    apps = {"customers": customers_app, "orders": orders_app}
    async with in_process(apps) as transport:
        recording = Recording(transport)
        yield signed_in_router(SUPERGRAPH, recording, who), recording


TRANSPORTS = ["http", "in-process"]


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_an_order_with_its_customer(
    kind: str, services: dict[str, str], tmp_path: Path
) -> None:
    # order 1 is Alice's: her own token reads it, her email with it
    async with router_over(kind, services, tmp_path, identity("1")) as (router, recording):
        response = await router.execute(
            "query($id: ID!) { order(id: $id) { id status total { amount currency } customer { name email } } }",
            {"id": "1"},
        )
    assert response == {
        "data": {
            "order": {
                "id": "1",
                "status": "DELIVERED",
                "total": {"amount": "88.99", "currency": "USD"},
                "customer": {"name": "Alice", "email": "alice@example.com"},
            }
        }
    }
    assert [service for service, _ in recording.calls] == ["orders", "customers"]


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_customer_with_their_orders(
    kind: str, services: dict[str, str], tmp_path: Path
) -> None:
    async with router_over(kind, services, tmp_path, identity("2")) as (router, _):
        response = await router.execute(
            '{ customer(id: "2") { name orders(first: 5) { totalCount edges { node { id status } } } } }'
        )
    assert response == {
        "data": {
            "customer": {
                "name": "Bob",
                "orders": {
                    "totalCount": 2,
                    "edges": [
                        {"node": {"id": "4", "status": "PAID"}},
                        {"node": {"id": "3", "status": "PENDING"}},
                    ],
                },
            }
        }
    }


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_orders_each_with_customer_is_one_deduplicated_entities_call(
    kind: str, services: dict[str, str], tmp_path: Path
) -> None:
    async with router_over(kind, services, tmp_path) as (router, recording):
        response = await router.execute(
            "{ orders(first: 5) { edges { node { id customer { id name } } } } }"
        )
    nodes = [edge["node"] for edge in response["data"]["orders"]["edges"]]
    assert [(n["id"], n["customer"]["name"]) for n in nodes] == [
        ("5", "Alice"),
        ("4", "Bob"),
        ("3", "Bob"),
        ("2", "Alice"),
        ("1", "Alice"),
    ]
    entity_calls = [body for service, body in recording.calls if service == "customers"]
    assert len(entity_calls) == 1
    representations = entity_calls[0]["variables"]["representations"]
    assert representations == [
        {"__typename": "Customer", "id": "1"},
        {"__typename": "Customer", "id": "2"},
    ]


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_mutation_through_the_router(
    kind: str, services: dict[str, str], tmp_path: Path
) -> None:
    async with router_over(kind, services, tmp_path, identity("2")) as (router, _):
        created = await router.execute(
            'mutation { createOrder(input: {items: [{sku: "E2E", quantity: 3, unitPrice: "0.10"}]}) '
            "{ total { amount } customer { name } } }"
        )
    async with router_over(kind, services, tmp_path) as (router, _):  # staff: for anyone
        refused = await router.execute(
            'mutation { createOrder(input: {customerId: "404", items: [{sku: "X", quantity: 1, unitPrice: "1"}]}) { id } }'
        )
    assert created == {
        "data": {"createOrder": {"total": {"amount": "0.30"}, "customer": {"name": "Bob"}}}
    }
    assert refused["data"] == {"createOrder": None}
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["serviceName"] == "orders"
    assert error["path"] == ["createOrder"]


async def test_in_process_lifespan_runs_and_stops(tmp_path: Path) -> None:
    app = customer_subgraph.create_app(
        customer_subgraph.Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3")
    )
    async with in_process({"customers": app}) as transport:
        answer: Any = await transport.send("customers", {"query": '{ customer(id: "1") { name } }'})
        assert answer == {"data": {"customer": {"name": "Alice"}}}
    assert (tmp_path / "x.sqlite3").exists()
