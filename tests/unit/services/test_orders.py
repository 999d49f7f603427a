"""The orders service on SQLite and PostgreSQL, with the real customers service over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.auth import router_headers
from tests.support.faulty import faulty_server
from tests.support.orders import CREATE, order_input, orders_service, stored_rows
from tests.support.services import GraphQLClient, ServiceProcess, error_codes, free_port
from tests.support.sql import recorded_selects


async def test_seeded_order_with_items_and_exact_money(orders_client: GraphQLClient) -> None:
    query = """{ order(id: 1) { id status customer { id } total { amount currency }
                 items { sku quantity unitPrice { amount } subtotal { amount } } createdAt } }"""
    order = (await orders_client.data(query))["order"]
    assert order["status"] == "DELIVERED"
    assert order["customer"] == {"id": "1"}
    assert order["items"] == [
        {
            "sku": "KEYBOARD-01",
            "quantity": 1,
            "unitPrice": {"amount": "49.99"},
            "subtotal": {"amount": "49.99"},
        },
        {
            "sku": "MOUSE-02",
            "quantity": 2,
            "unitPrice": {"amount": "19.50"},
            "subtotal": {"amount": "39.00"},
        },
    ]
    assert order["total"] == {"amount": "88.99", "currency": "USD"}
    assert (await orders_client.data("{ order(id: 999) { id } }"))["order"] is None


async def test_orders_filter_and_paginate_newest_first(orders_client: GraphQLClient) -> None:
    page = """query($c: ID, $s: OrderStatus, $after: String) {
      orders(customerId: $c, status: $s, first: 2, after: $after) {
        totalCount edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }"""
    first = (await orders_client.data(page, {"c": "1"}))["orders"]
    assert [e["node"]["id"] for e in first["edges"]] == ["5", "2"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await orders_client.data(page, {"c": "1", "after": first["pageInfo"]["endCursor"]}))[
        "orders"
    ]
    assert [e["node"]["id"] for e in second["edges"]] == ["1"]
    assert second["pageInfo"]["hasNextPage"] is False
    pending = (await orders_client.data(page, {"s": "PENDING"}))["orders"]
    assert [e["node"]["id"] for e in pending["edges"]] == ["5", "3"]
    assert pending["totalCount"] == 2


async def test_create_order_sums_money_exactly(orders_client: GraphQLClient) -> None:
    before = await stored_rows(orders_client)
    order = (await orders_client.data(CREATE, {"input": order_input("2")}))["createOrder"]
    assert order["status"] == "PENDING"
    assert order["customer"] == {"id": "2"}
    # 3 × 0.10 + 0.20 is 0.5000000000000001 in floats; money here is exact.
    assert order["total"] == {"amount": "0.50", "currency": "USD"}
    assert [i["subtotal"]["amount"] for i in order["items"]] == ["0.30", "0.20"]
    assert Decimal(order["total"]["amount"]) == Decimal("0.50")
    assert await stored_rows(orders_client) == (before[0] + 1, before[1] + 2)
    again = await orders_client.data(
        "query($id: ID!) { order(id: $id) { total { amount } } }", {"id": order["id"]}
    )
    assert again["order"]["total"]["amount"] == "0.50"


async def test_create_order_for_unknown_customer_writes_nothing(
    orders_client: GraphQLClient,
) -> None:
    before = await stored_rows(orders_client)
    body = await orders_client(CREATE, {"input": order_input("4242")})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "input.customerId"
    assert "4242" in body["errors"][0]["message"]
    assert body["data"] == {"createOrder": None}
    assert await stored_rows(orders_client) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customerId": "  "}, "input.customerId"),
        ({"items": []}, "input.items"),
        ({"items": [{"sku": "A", "quantity": 0, "unitPrice": "1.00"}]}, "input.items[0].quantity"),
        ({"items": [{"sku": "A", "quantity": -2, "unitPrice": "1.00"}]}, "input.items[0].quantity"),
        (
            {"items": [{"sku": "A", "quantity": 1, "unitPrice": "1.005"}]},
            "input.items[0].unitPrice",
        ),
        ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "-1"}]}, "input.items[0].unitPrice"),
        ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "NaN"}]}, "input.items[0].unitPrice"),
        ({"items": [{"sku": " ", "quantity": 1, "unitPrice": "1"}]}, "input.items[0].sku"),
        ({"currency": "usd"}, "input.currency"),
    ],
)
async def test_invalid_order_input_is_refused_before_any_call(
    database_url: str, overrides: dict[str, Any], field: str
) -> None:
    # The customers URL points at a closed port: a BAD_USER_INPUT (not SERVICE_UNAVAILABLE)
    # shows the input was checked before the customers service would have been asked.
    closed = f"http://127.0.0.1:{free_port()}/graphql"
    async with orders_service(database_url, closed) as client:
        before = await stored_rows(client)
        body = await client(CREATE, {"input": {**order_input(), **overrides}})
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field
        assert await stored_rows(client) == before


async def test_missing_customer_id_is_the_callers_own_customer(
    orders_client: GraphQLClient,
) -> None:
    items = {"items": order_input()["items"]}
    orders_client.http.headers.update(router_headers("2"))
    order = (await orders_client.data(CREATE, {"input": items}))["createOrder"]
    assert order["customer"] == {"id": "2"}
    # a request with no customer at all (none the router forwarded) names what is missing
    for name in router_headers("2"):
        del orders_client.http.headers[name]
    body = await orders_client(CREATE, {"input": items})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "customerId" in body["errors"][0]["message"]


async def test_customers_service_down_writes_nothing(database_url: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/graphql"
    async with orders_service(database_url, closed) as client:
        before = await stored_rows(client)
        body = await client(CREATE, {"input": order_input()})
        assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
        assert body["errors"][0]["extensions"]["serviceName"] == "customers"
        assert "could not be reached" in body["errors"][0]["message"]
        assert await stored_rows(client) == before


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("500", "HTTP 500"),
        ("garbage", "not a GraphQL response"),
        ("errors", "db down"),
        ("slow", "in time"),
    ],
)
async def test_customers_service_misbehaving_writes_nothing(
    database_url: str, mode: str, says: str
) -> None:
    with faulty_server(mode) as url:
        async with orders_service(database_url, url, wait=0.5) as client:
            before = await stored_rows(client)
            body = await client(CREATE, {"input": order_input()})
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"], body
            assert says in body["errors"][0]["message"]
            assert await stored_rows(client) == before
            # the service stays up and answers the next request
            assert (await client.data("{ order(id: 1) { id } }"))["order"] == {"id": "1"}


async def test_cancel_order_rules(orders_client: GraphQLClient) -> None:
    cancel = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"
    # order 3 is PENDING, 4 PAID: both may be cancelled; cancelling twice changes nothing.
    assert (await orders_client.data(cancel, {"id": "3"}))["cancelOrder"]["status"] == "CANCELLED"
    assert (await orders_client.data(cancel, {"id": "3"}))["cancelOrder"]["status"] == "CANCELLED"
    assert (await orders_client.data(cancel, {"id": "4"}))["cancelOrder"]["status"] == "CANCELLED"
    # order 2 is SHIPPED and 1 DELIVERED: refused, status unchanged.
    for order_id, status in [("2", "SHIPPED"), ("1", "DELIVERED")]:
        body = await orders_client(cancel, {"id": order_id})
        assert error_codes(body) == ["CONFLICT"]
        assert status in body["errors"][0]["message"]
        still = await orders_client.data(
            "query($id: ID!) { order(id: $id) { status } }", {"id": order_id}
        )
        assert still["order"]["status"] == status
    assert error_codes(await orders_client(cancel, {"id": "999"})) == ["NOT_FOUND"]


async def test_one_failed_mutation_does_not_hide_the_others(orders_client: GraphQLClient) -> None:
    body = await orders_client(
        "mutation { a: cancelOrder(id: 3) { status } b: cancelOrder(id: 2) { status } }"
    )
    assert body["data"] == {"a": {"status": "CANCELLED"}, "b": None}
    assert error_codes(body) == ["CONFLICT"]


async def test_entities_of_100_orders_is_one_select_per_type(orders_client: GraphQLClient) -> None:
    ids = [str(1 + i % 7) for i in range(100)]  # 1..5 exist, 6 and 7 do not
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Order { id status total { amount } items { sku } } } }"""
    database = orders_client.app.state.database  # type: ignore[attr-defined]
    with recorded_selects(database) as selects:
        entities = (
            await orders_client.data(query, {"r": [{"__typename": "Order", "id": i} for i in ids]})
        )["_entities"]
    assert len(selects) == 2, selects
    assert "FROM orders" in selects[0] and "FROM order_items" in selects[1]
    assert [e["id"] if e else None for e in entities] == [i if int(i) <= 5 else None for i in ids]
    assert entities[0]["items"] == [{"sku": "KEYBOARD-01"}, {"sku": "MOUSE-02"}]
    assert entities[2]["total"] == {"amount": "29.97"}


async def test_entities_of_100_customers_with_orders_batch(orders_client: GraphQLClient) -> None:
    ids = [str(1 + i % 4) for i in range(100)]  # customers 1 and 2 have orders, 3 and 4 none
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Customer { id orders(first: 2) { totalCount edges { node { id } } pageInfo { hasNextPage } } } } }"""
    database = orders_client.app.state.database  # type: ignore[attr-defined]
    with recorded_selects(database) as selects:
        entities = (
            await orders_client.data(
                query, {"r": [{"__typename": "Customer", "id": i} for i in ids]}
            )
        )["_entities"]
    # one query for the pages (row_number() per customer), one for the counts
    assert len(selects) == 2, selects
    expected = {
        "1": {
            "totalCount": 3,
            "edges": [{"node": {"id": "5"}}, {"node": {"id": "2"}}],
            "pageInfo": {"hasNextPage": True},
        },
        "2": {
            "totalCount": 2,
            "edges": [{"node": {"id": "4"}}, {"node": {"id": "3"}}],
            "pageInfo": {"hasNextPage": False},
        },
        "3": {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False}},
        "4": {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False}},
    }
    assert entities == [{"id": i, "orders": expected[i]} for i in ids]


async def test_too_deep_query_is_refused(orders_client: GraphQLClient) -> None:
    nested = "id"
    for _ in range(8):
        nested = f"orders {{ edges {{ node {{ customer {{ {nested} }} }} }} }}"
    body = await orders_client(f"{{ order(id: 1) {{ customer {{ {nested} }} }} }}")
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "depth" in body["errors"][0]["message"]


@pytest.mark.parametrize("price", [12.5, 12, "12.5x"])
async def test_a_price_that_is_not_a_decimal_string_is_refused(
    orders_client: GraphQLClient, price: object
) -> None:
    """Money is exact: a JSON number may have been rounded by a float before it arrived."""
    before = await stored_rows(orders_client)
    item = {"sku": "A", "quantity": 1, "unitPrice": price}
    body = await orders_client(CREATE, {"input": {**order_input(), "items": [item]}})
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert "unitPrice" in body["errors"][0]["message"]
    assert await stored_rows(orders_client) == before


@pytest.mark.parametrize("price", ["12.5", "12"])
async def test_a_price_written_as_a_number_literal_is_refused(
    orders_client: GraphQLClient, price: str
) -> None:
    before = await stored_rows(orders_client)
    item = f'{{sku: "A", quantity: 1, unitPrice: {price}}}'
    mutation = f'mutation {{ createOrder(input: {{customerId: "1", items: [{item}]}}) {{ id }} }}'
    body = await orders_client(mutation, {})
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    assert await stored_rows(orders_client) == before


ADVANCE = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { id status } }"


async def test_advance_order_moves_an_order_through_its_life(orders_client: GraphQLClient) -> None:
    # order 3 is PENDING: paid, shipped, delivered; each move answered with the order as it is
    for to in ("PAID", "PAID", "SHIPPED", "DELIVERED"):  # the second PAID changes nothing
        moved = await orders_client.data(ADVANCE, {"id": "3", "to": to})
        assert moved["advanceOrder"] == {"id": "3", "status": to}
    refused = await orders_client(ADVANCE, {"id": "3", "to": "CANCELLED"})
    assert error_codes(refused) == ["CONFLICT"]
    assert refused["errors"][0]["extensions"]["field"] == "to"
    assert (
        "is DELIVERED and cannot become CANCELLED; it may become nothing"
        in (refused["errors"][0]["message"])
    )
    # order 5 is PENDING: it may not skip to DELIVERED, and the message says what it may become
    skipped = await orders_client(ADVANCE, {"id": "5", "to": "DELIVERED"})
    assert error_codes(skipped) == ["CONFLICT"]
    assert "it may become PAID or CANCELLED" in skipped["errors"][0]["message"]
    still = await orders_client.data('{ order(id: "5") { status } }')
    assert still == {"order": {"status": "PENDING"}}
    assert error_codes(await orders_client(ADVANCE, {"id": "999", "to": "PAID"})) == ["NOT_FOUND"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_only_the_customer_or_staff_may_advance_an_order(
    database_url: str, customers_process: Any
) -> None:
    url = f"{customers_process.url}/graphql"
    for headers, code in [(router_headers("1"), "FORBIDDEN"), ({}, "FORBIDDEN")]:
        async with orders_service(database_url, url, headers=headers) as client:
            body = await client(ADVANCE, {"id": "3", "to": "PAID"})  # Bob's order
            assert error_codes(body) == [code]
    async with orders_service(database_url, url, headers=router_headers("2")) as bob:
        assert (await bob.data(ADVANCE, {"id": "3", "to": "PAID"}))["advanceOrder"][
            "status"
        ] == "PAID"


async def test_only_staff_ship_and_deliver(
    database_url: str, customers_process: ServiceProcess
) -> None:
    # order 5 is customer 1's and PENDING: they may pay for it, not ship or deliver it
    customers = f"{customers_process.url}/graphql"
    async with orders_service(database_url, customers, headers=router_headers("1")) as alice:
        assert (await alice.data(ADVANCE, {"id": "5", "to": "PAID"}))["advanceOrder"][
            "status"
        ] == "PAID"
        shipped = await alice(ADVANCE, {"id": "5", "to": "SHIPPED"})
        assert error_codes(shipped) == ["FORBIDDEN"]
        assert shipped["errors"][0]["extensions"]["field"] == "to"
        assert (await alice.data('{ order(id: "5") { status } }')) == {"order": {"status": "PAID"}}
