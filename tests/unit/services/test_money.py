"""Money inputs over real HTTP, as a client sends them: through the router (a real `serve`
process in production posture) to the real services. An amount is a decimal string; a JSON
number is refused with BAD_USER_INPUT and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from router.compose import compose_config
from tests.support.auth import STAFF_HEADERS, jwt_yaml, staff_bearer
from tests.support.paths import REPO
from tests.support.services import ServiceProcess, start_services

ROOT = REPO
CREATE = """mutation($input: CreateOrderInput!) {
  createOrder(input: $input) { id total { amount currency } items { unitPrice { amount } } } }"""
COUNT = '{ customer(id: "3") { orders { totalCount } } }'


@pytest.fixture(scope="module")
def graph(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """The router's and the orders service's GraphQL URLs, each a process of its own."""
    folder = tmp_path_factory.mktemp("money")
    customers, orders = start_services(folder)
    with pytest.MonkeyPatch.context() as env:  # supergraph.yaml reads its routing URLs so
        env.setenv("CUSTOMERS_ROUTING_URL", f"{customers.url}/graphql")
        env.setenv("ORDERS_ROUTING_URL", f"{orders.url}/graphql")
        (folder / "supergraph.graphql").write_text(compose_config(ROOT / "supergraph.yaml"))
    (folder / "router.yaml").write_text(jwt_yaml())  # staff tokens, verified by the router
    router = ServiceProcess(
        "router",
        [
            "--config",
            str(folder / "router.yaml"),
            "--supergraph",
            str(folder / "supergraph.graphql"),
        ],
        subcommand=["serve"],
    ).start()
    try:
        yield f"{router.url}/graphql", f"{orders.url}/graphql"
    finally:
        router.stop()
        orders.stop()
        customers.stop()


def post(
    url: str, query: str, variables: dict[str, Any] | None = None, service: bool = False
) -> Any:
    """As staff: a bearer token to the router, or to a `service` the headers the router
    inserts for one."""
    headers = STAFF_HEADERS if service else staff_bearer()
    response = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )
    return response.json()


def order(price: object) -> dict[str, Any]:
    return {
        "input": {"customerId": "3", "items": [{"sku": "M", "quantity": 3, "unitPrice": price}]}
    }


def order_count(router_url: str) -> int:
    return int(post(router_url, COUNT)["data"]["customer"]["orders"]["totalCount"])


@pytest.mark.parametrize("price", [12.5, 12, 0.1])
@pytest.mark.parametrize("via", ["router", "orders service"])
def test_a_price_sent_as_a_json_number_is_refused(
    graph: tuple[str, str], via: str, price: float
) -> None:
    router_url, orders_url = graph
    before = order_count(router_url)
    body = (
        post(router_url, CREATE, order(price))
        if via == "router"
        else post(orders_url, CREATE, order(price), service=True)
    )
    if via == "router":  # the router asked the service, which refused: the field is null
        assert body["data"] == {"createOrder": None}
    else:  # the variables do not coerce: a request error, no data at all (the spec's)
        assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "unitPrice" in error["message"] and "string" in error["message"]
    assert order_count(router_url) == before  # nothing was written


def test_a_price_sent_as_a_decimal_string_is_exact(graph: tuple[str, str]) -> None:
    router_url, _ = graph
    before = order_count(router_url)
    body = post(router_url, CREATE, order("0.10"))
    assert "errors" not in body, body
    created = body["data"]["createOrder"]
    # 3 × 0.10 is 0.30 exactly (as floats it would be 0.30000000000000004)
    assert created["total"] == {"amount": "0.30", "currency": "USD"}
    assert created["items"] == [{"unitPrice": {"amount": "0.10"}}]
    assert order_count(router_url) == before + 1
