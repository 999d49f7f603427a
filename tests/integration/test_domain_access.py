"""Who may see and do what in the domain, end to end in the real system: both services as
processes (SQLite), `python -m router serve --config router.yaml` (the committed file) verifying
development-key tokens against a JWKS served over HTTP; and the services' own ownership checks
when reached without the router.

Scopes and authentication are the router's (`@authenticated`, `@requiresScopes` in the
services' schemas); whose object is whose is the services' (they trust the router's
`x-customer-id` / `x-customer-scopes`, never a client's).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from router.authentication.development import DevelopmentKeys
from router.config import ConfigError, load_config
from tests.support.auth import (
    DevJwks,
    bearer,
    router_headers,
    staff_bearer,
)
from tests.support.faulty import serve_in_thread
from tests.support.paths import REPO
from tests.support.services import GraphQLClient, ServiceProcess, error_codes, start_services

ROOT = REPO
SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()

ALICE = "1"  # the seeded customers: Alice owns orders 1, 2 and 5, Bob (2) owns 3 and 4
BOB = "2"


class System:
    def __init__(self, url: str, jwks: DevJwks) -> None:
        self.url = url
        self.jwks = jwks

    def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    folder = tmp_path_factory.mktemp("domain")
    customers, orders = start_services(folder)
    supergraph = folder / "supergraph.graphql"
    supergraph.write_text(
        SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{customers.url}/graphql").replace(
            "http://127.0.0.1:4002/graphql", f"{orders.url}/graphql"
        )
    )
    jwks = DevJwks()
    with serve_in_thread(jwks) as idp:
        router = ServiceProcess(
            "router",
            ["--config", "router.yaml", "--supergraph", str(supergraph)],
            subcommand=["serve"],
            env={"ROUTER_JWKS_URL": f"{idp}/jwks.json"},
        )
        try:
            router.start()
            yield System(router.url, jwks)
        finally:
            router.stop()
            orders.stop()
            customers.stop()


def codes_at(body: Any) -> dict[tuple[str | int, ...], str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body.get("errors", [])}


ME = "{ me { id name email orders { totalCount edges { node { id customer { id } } } } } }"


def test_a_customer_token_sees_me_with_its_orders(system: System) -> None:
    body = system.post(ME, **bearer(ALICE))
    assert "errors" not in body, body
    me = body["data"]["me"]
    assert (me["id"], me["name"], me["email"]) == (ALICE, "Alice", "alice@example.com")
    assert {e["node"]["customer"]["id"] for e in me["orders"]["edges"]} == {ALICE}
    assert {e["node"]["id"] for e in me["orders"]["edges"]} >= {"1", "2", "5"}
    assert system.jwks.requests >= 1  # the router read the keys from the JWKS over HTTP


def test_a_customer_is_refused_another_customers_email_and_orders(system: System) -> None:
    query = f"""{{ customer(id: "{BOB}") {{ name email orders {{ totalCount edges {{ node {{ id }} }} }} }}
                 orders(customerId: "{BOB}") {{ totalCount }}
                 order(id: "3") {{ id total {{ amount }} }} }}"""
    response = httpx.post(
        f"{system.url}/graphql", json={"query": query}, headers=bearer(ALICE), timeout=30
    )
    body = response.json()
    assert body["data"] == {
        "customer": {"name": "Bob", "email": None, "orders": None},
        "orders": None,
        "order": None,
    }
    assert codes_at(body) == {
        ("customer", "email"): "FORBIDDEN",
        ("customer", "orders"): "FORBIDDEN",
        ("orders",): "FORBIDDEN",
        ("order",): "FORBIDDEN",
    }
    # nothing of Bob's beyond his public name: not his email, not his orders' ids or amounts
    assert "bob@example.com" not in response.text
    assert "34.50" not in response.text and '"4"' not in response.text


def test_a_token_without_the_email_scope_is_stopped_at_the_router(system: System) -> None:
    body = system.post(f'{{ customer(id: "{ALICE}") {{ name email }} }}', **bearer(ALICE, ()))
    assert body["data"] == {"customer": {"name": "Alice", "email": None}}
    assert codes_at(body) == {("customer", "email"): "UNAUTHORIZED_FIELD_OR_TYPE"}


CREATE = """mutation($input: CreateOrderInput!) {
  createOrder(input: $input) { id customer { id name } total { amount } } }"""
ITEMS = [{"sku": "DOMAIN-1", "quantity": 2, "unitPrice": "1.25"}]
BOBS_COUNT = f'{{ orders(customerId: "{BOB}") {{ totalCount }} }}'


def test_a_customer_creates_orders_only_for_itself(system: System) -> None:
    mine = system.post(CREATE, {"input": {"items": ITEMS}}, **bearer(ALICE))
    assert "errors" not in mine, mine
    assert mine["data"]["createOrder"]["customer"] == {"id": ALICE, "name": "Alice"}
    assert mine["data"]["createOrder"]["total"] == {"amount": "2.50"}
    named = system.post(CREATE, {"input": {"customerId": ALICE, "items": ITEMS}}, **bearer(ALICE))
    assert named["data"]["createOrder"]["customer"]["id"] == ALICE
    before = system.post(BOBS_COUNT, **staff_bearer())["data"]["orders"]["totalCount"]
    refused = system.post(CREATE, {"input": {"customerId": BOB, "items": ITEMS}}, **bearer(ALICE))
    assert refused["data"] == {"createOrder": None}
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["field"] == "input.customerId"
    after = system.post(BOBS_COUNT, **staff_bearer())["data"]["orders"]["totalCount"]
    assert after == before  # nothing written for Bob


def test_a_customer_cannot_cancel_or_change_another_customers_things(system: System) -> None:
    cancel = system.post('mutation { cancelOrder(id: "3") { status } }', **bearer(ALICE))
    update = system.post(
        f'mutation {{ updateCustomer(id: "{BOB}", input: {{name: "Mallory"}}) {{ name }} }}',
        **bearer(ALICE),
    )
    assert error_codes(cancel) == ["FORBIDDEN"] and error_codes(update) == ["FORBIDDEN"]
    bob = system.post(
        f'{{ customer(id: "{BOB}") {{ name }} order(id: "3") {{ status }} }}', **staff_bearer()
    )
    assert bob["data"] == {"customer": {"name": "Bob"}, "order": {"status": "PENDING"}}


def test_a_staff_token_can_do_more(system: System) -> None:
    query = f"""{{ customer(id: "{BOB}") {{ email orders {{ totalCount }} }}
                 orders(first: 50) {{ edges {{ node {{ customer {{ id }} }} }} }} }}"""
    body = system.post(query, **staff_bearer())
    assert "errors" not in body, body
    assert body["data"]["customer"]["email"] == "bob@example.com"
    assert body["data"]["customer"]["orders"]["totalCount"] >= 2
    owners = {e["node"]["customer"]["id"] for e in body["data"]["orders"]["edges"]}
    assert {ALICE, BOB} <= owners  # every customer's orders
    created = system.post(CREATE, {"input": {"customerId": BOB, "items": ITEMS}}, **staff_bearer())
    assert created["data"]["createOrder"]["customer"] == {"id": BOB, "name": "Bob"}
    # staff with no customerId: staff is no customer, so there is no one to place it for
    nobody = system.post(CREATE, {"input": {"items": ITEMS}}, **staff_bearer())
    assert error_codes(nobody) == ["BAD_USER_INPUT"]


def test_anonymous_requests_get_the_public_fields(system: System) -> None:
    public = system.post("{ customers(first: 3) { edges { node { id name } } } }")
    assert [e["node"]["name"] for e in public["data"]["customers"]["edges"]] == [
        "Alice",
        "Bob",
        "Carol",
    ]
    signup = system.post(
        'mutation { createCustomer(input: {name: "Dora", email: "dora@example.com"}) { name } }'
    )
    assert signup == {"data": {"createCustomer": {"name": "Dora"}}}
    protected = system.post('{ customer(id: "1") { name email orders { totalCount } } me { id } }')
    assert protected["data"] == {
        "customer": {"name": "Alice", "email": None, "orders": None},
        "me": None,
    }
    assert set(codes_at(protected).values()) == {"UNAUTHORIZED_FIELD_OR_TYPE"}
    refused = system.post(CREATE, {"input": {"customerId": ALICE, "items": ITEMS}})
    assert refused["data"] == {"createOrder": None}
    assert error_codes(refused) == ["UNAUTHORIZED_FIELD_OR_TYPE"]


def test_a_client_cannot_claim_to_be_a_customer_by_header(system: System) -> None:
    forged = {"x-customer-id": ALICE, "x-customer-scopes": "staff read:email"}
    anonymous = system.post(f'{{ customer(id: "{ALICE}") {{ email }} }}', **forged)
    assert codes_at(anonymous) == {("customer", "email"): "UNAUTHORIZED_FIELD_OR_TYPE"}
    # signed in as Bob, claiming Alice and staff by header: still only Bob
    as_bob = system.post(
        f'{{ customer(id: "{ALICE}") {{ email }} me {{ id }} }}', **forged, **bearer(BOB)
    )
    assert as_bob["data"] == {"customer": {"email": None}, "me": {"id": BOB}}
    assert codes_at(as_bob) == {("customer", "email"): "FORBIDDEN"}


def test_a_token_from_another_key_is_401_unauthenticated(system: System, tmp_path: Path) -> None:
    forged = DevelopmentKeys(tmp_path / "other-keys").token(ALICE, ["staff"])  # same kid
    response = httpx.post(
        f"{system.url}/graphql",
        json={"query": "{ me { id } }"},
        headers={"authorization": f"Bearer {forged}"},
        timeout=30,
    )
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


def test_the_committed_router_yaml_needs_its_jwks_url() -> None:
    with pytest.raises(ConfigError, match="ROUTER_JWKS_URL"):
        load_config(ROOT / "router.yaml", environ={})


# --- the services without the router ----------------------------------------------------------


async def test_a_service_reached_without_router_headers_shows_nothing_owned(
    customers: GraphQLClient, orders_client: GraphQLClient
) -> None:
    for client in (customers, orders_client):
        for name in list(client.http.headers):
            if name.startswith("x-customer"):
                del client.http.headers[name]
    email = await customers('{ customer(id: "1") { name email } }')
    assert email["data"] == {"customer": {"name": "Alice", "email": None}}
    assert error_codes(email) == ["FORBIDDEN"]
    assert (await customers("{ me { id } }"))["data"] == {"me": None}
    entities = await orders_client(
        "query($r: [_Any!]!) { _entities(representations: $r) "
        "{ ... on Customer { orders { totalCount } } ... on Order { id } } }",
        {"r": [{"__typename": "Customer", "id": "1"}, {"__typename": "Order", "id": "1"}]},
    )
    assert entities["data"] == {"_entities": [{"orders": None}, None]}
    assert error_codes(entities) == ["FORBIDDEN", "FORBIDDEN"]
    listed = await orders_client("{ orders { totalCount } }")
    assert error_codes(listed) == ["FORBIDDEN"]


async def test_a_service_answers_the_customer_the_router_names(
    customers: GraphQLClient, orders_client: GraphQLClient
) -> None:
    customers.http.headers.update(router_headers(BOB, ()))
    orders_client.http.headers.update(router_headers(BOB, ()))
    assert await customers.data("{ me { id name email } }") == {
        "me": {"id": BOB, "name": "Bob", "email": "bob@example.com"}
    }
    mine = await orders_client.data("{ orders { edges { node { id } } } }")
    assert [e["node"]["id"] for e in mine["orders"]["edges"]] == ["4", "3"]
