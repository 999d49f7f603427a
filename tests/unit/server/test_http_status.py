"""The HTTP status of a refused request is its error's (router/errors.py): the same over GET and
POST, and never 200 without `data` over application/graphql-response+json; GET answers every
validation error, as POST does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from router.config import parse_config
from router.server.app import RouterApp, build_router
from tests.support import paths
from tests.support.fake_subgraphs import FakeSubgraphs

SUPERGRAPH = (paths.CASES / "compose" / "context-valid" / "apollo_supergraph.graphql").read_text()
"""`Order.price` takes a @fromContext argument, so a query for it cannot be planned."""
CONFIG = (
    "limits: { max_aliases: 1 }\nsupergraph: { introspection: false }\napq: { enabled: true }\n"
)
PREFLIGHT = {"apollo-require-preflight": "true"}
MISSING = hashlib.sha256(b"{ users { id } }").hexdigest()

CASES = [
    # (request, code of its first error, status)
    ({"query": "{ users { id "}, "GRAPHQL_PARSE_FAILED", 400),
    ({"query": "{ users { nope also } }"}, "GRAPHQL_VALIDATION_FAILED", 400),
    ({"query": "{ users { orders { price } } }"}, "QUERY_PLANNING_FAILED", 400),
    ({"query": "{ a: users { id } b: users { id } }"}, "MAX_ALIASES_LIMIT", 400),
    (
        {"query": "{ users { orders { id } } } query Q { users { orders { id } } }"},
        "GRAPHQL_VALIDATION_FAILED",
        400,
    ),
    ({"query": "{ __schema { types { name } } }"}, "INTROSPECTION_DISABLED", 400),
    (
        {"query": "query($x: Boolean!) { users @include(if: $x) { id } }"},
        "BAD_USER_INPUT",
        200,
    ),
    (
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": MISSING}}},
        "PERSISTED_QUERY_NOT_FOUND",
        200,
    ),
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    fake = FakeSubgraphs()  # asked nothing: every request here is refused
    config = parse_config(CONFIG)
    app = RouterApp(build_router(SUPERGRAPH, config, transport=fake), config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://router"
    ) as http:
        yield http


async def ask(
    client: httpx.AsyncClient, method: str, request: dict[str, object], accept: str
) -> httpx.Response:
    headers = {**PREFLIGHT, "accept": accept}
    if method == "POST":
        return await client.post("/graphql", json=request, headers=headers)
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in request.items()}
    return await client.get("/graphql", params=params, headers=headers)


def first_code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


@pytest.mark.parametrize(("request_", "code", "status"), CASES)
async def test_a_refusal_has_its_errors_status_over_get_and_post(
    client: httpx.AsyncClient, request_: dict[str, object], code: str | None, status: int
) -> None:
    posted = await ask(client, "POST", request_, "application/json")
    got = await ask(client, "GET", request_, "application/json")
    assert (posted.status_code, first_code(posted)) == (status, code)
    assert (got.status_code, first_code(got)) == (status, code)
    assert got.json() == posted.json()


@pytest.mark.parametrize(("request_", "code", "status"), CASES)
async def test_no_data_is_never_200_over_graphql_response_json(
    client: httpx.AsyncClient, request_: dict[str, object], code: str | None, status: int
) -> None:
    for method in ("POST", "GET"):
        response = await ask(client, method, request_, "application/graphql-response+json")
        assert first_code(response) == code
        if "data" in response.json():
            assert response.status_code == status == 200
        else:  # GraphQL over HTTP: a response without data is a 4xx or 5xx
            assert response.status_code == (status if status != 200 else 400)


async def test_get_answers_every_validation_error(client: httpx.AsyncClient) -> None:
    request = {"query": "{ users { nope also } }"}
    posted = await ask(client, "POST", request, "application/json")
    got = await ask(client, "GET", request, "application/json")
    messages = [e["message"] for e in got.json()["errors"]]
    assert len(messages) == 2 and "nope" in messages[0] and "also" in messages[1]
    assert got.json() == posted.json()
