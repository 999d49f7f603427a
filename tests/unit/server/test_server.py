"""The router's HTTP surface: POST/GET /graphql, errors with codes, /health; and the real
`python -m router serve` process in front of the real services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from router.router import Router
from router.server.app import RouterApp
from tests.support.auth import bearer, dev_keys
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.paths import REPO
from tests.support.services import ServiceProcess

ROOT = REPO
SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    fake = FakeSubgraphs()
    fake.on(
        "customers",
        'query { customer(id: "1") { name } }',
        {},
        {"data": {"customer": {"name": "Alice"}}},
    )
    app = RouterApp(Router.from_sdl(SUPERGRAPH, fake), max_body=10_000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://router"
    ) as http:
        yield http


async def test_post_and_get(client: httpx.AsyncClient) -> None:
    query = '{ customer(id: "1") { name } }'
    posted = await client.post("/graphql", json={"query": query})
    assert (posted.status_code, posted.json()) == (200, {"data": {"customer": {"name": "Alice"}}})
    got = await client.get(
        "/graphql", params={"query": query}, headers={"apollo-require-preflight": "true"}
    )
    assert (got.status_code, got.json()) == (200, {"data": {"customer": {"name": "Alice"}}})


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "BAD_REQUEST"),
        (b"[]", 400, "BATCHING_NOT_ENABLED"),
        (b'{"variables": {}}', 400, "BAD_REQUEST"),
        (b'{"query": "{ customer(id: 1) { name }", "variables": []}', 400, "BAD_REQUEST"),
        (b'{"query": "{ customer(id: 1) { name "}', 400, "GRAPHQL_PARSE_FAILED"),
        (b'{"query": "{ customer(id: 1) { nope } }"}', 400, "GRAPHQL_VALIDATION_FAILED"),
        (b'{"query": "query($id: ID!) { customer(id: $id) { name } }"}', 200, "BAD_USER_INPUT"),
    ],
)
async def test_bad_requests_get_graphql_errors_with_codes(
    client: httpx.AsyncClient, body: bytes, status: int, code: str
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }", "pad": "x" * 20_000})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_mutation_over_get_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { cancelOrder(id: "1") { id } }'},
        headers={"apollo-require-preflight": "true"},
    )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_health_and_unknown_paths(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "UP"}
    assert (await client.get("/nope")).status_code == 404


async def test_router_process_serves_the_real_services(tmp_path: Path) -> None:
    customers = ServiceProcess(
        "customer_subgraph", ["--database-url", f"sqlite:///{tmp_path}/c.sqlite3"]
    ).start()
    orders = ServiceProcess(
        "order_subgraph",
        [
            "--database-url",
            f"sqlite:///{tmp_path}/o.sqlite3",
            "--customers-url",
            f"{customers.url}/graphql",
        ],
    ).start()
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(
        SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{customers.url}/graphql").replace(
            "http://127.0.0.1:4002/graphql", f"{orders.url}/graphql"
        )
    )
    router = ServiceProcess(
        "router",
        ["--config", "router.yaml", "--supergraph", str(supergraph)],
        subcommand=["serve"],
        env={"ROUTER_JWKS_URL": dev_keys().jwks_file.resolve().as_uri()},
    )
    try:
        router.start()
        async with httpx.AsyncClient(base_url=router.url) as http:
            response = await http.post(  # order 2 is Alice's, and so is the token
                "/graphql",
                json={"query": '{ order(id: "2") { id customer { name } } }'},
                headers=bearer("1"),
            )
        assert response.json() == {"data": {"order": {"id": "2", "customer": {"name": "Alice"}}}}
    finally:
        router.stop()
        orders.stop()
        customers.stop()
