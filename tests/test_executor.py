"""The executor over fake subgraphs (exact request → canned answer) and misbehaving HTTP ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.execute.transport import HttpTransport, SubgraphFetchError
from router.router import Router
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.faulty import faulty_server

SUPERGRAPH = (Path(__file__).parents[1] / "supergraph.graphql").read_text()
ORDERS_QUERY = "{ orders(first: 3) { edges { node { id customer { name } } } } }"
ORDERS_FETCH = "query { orders(first: 3) { edges { node { id customer { __typename id } } } } }"
NAMES_FETCH = (
    "query($representations: [_Any!]!) { _entities(representations: $representations) "
    "{ ... on Customer { name } } }"
)


def orders_answer(*customer_ids: str) -> dict[str, object]:
    edges = [
        {"node": {"id": str(n), "customer": {"__typename": "Customer", "id": cid}}}
        for n, cid in enumerate(customer_ids, start=1)
    ]
    return {"data": {"orders": {"edges": edges}}}


def reps(*ids: str) -> dict[str, object]:
    return {"representations": [{"__typename": "Customer", "id": i} for i in ids]}


async def test_entities_are_deduplicated_and_merged_everywhere() -> None:
    fake = FakeSubgraphs()
    fake.on("orders", ORDERS_FETCH, {}, orders_answer("1", "2", "1"))
    fake.on(
        "customers",
        NAMES_FETCH,
        reps("1", "2"),
        {"data": {"_entities": [{"name": "Alice"}, {"name": "Bob"}]}},
    )
    response = await Router.from_sdl(SUPERGRAPH, fake).execute(ORDERS_QUERY)
    assert response == {
        "data": {
            "orders": {
                "edges": [
                    {"node": {"id": "1", "customer": {"name": "Alice"}}},
                    {"node": {"id": "2", "customer": {"name": "Bob"}}},
                    {"node": {"id": "3", "customer": {"name": "Alice"}}},
                ]
            }
        }
    }
    assert [service for service, _ in fake.calls] == ["orders", "customers"]


async def test_entity_error_paths_are_rewritten_to_client_paths() -> None:
    fake = FakeSubgraphs()
    fake.on("orders", ORDERS_FETCH, {}, orders_answer("1", "2"))
    fake.on(
        "customers",
        NAMES_FETCH,
        reps("1", "2"),
        {
            "data": {"_entities": [{"name": "Alice"}, {"name": "Bob"}]},
            "errors": [{"message": "name is stale", "path": ["_entities", 1, "name"]}],
        },
    )
    response = await Router.from_sdl(SUPERGRAPH, fake).execute(ORDERS_QUERY)
    assert response["errors"] == [
        {
            "message": "name is stale",
            "path": ["orders", "edges", 1, "node", "customer", "name"],
            "extensions": {"serviceName": "customers"},
        }
    ]
    assert response["data"]["orders"]["edges"][1]["node"]["customer"] == {"name": "Bob"}


async def test_wrong_number_of_entities_is_an_error_not_a_crash() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "orders",
        'query { order(id: "1") { id customer { __typename id } } }',
        {},
        {"data": {"order": {"id": "1", "customer": {"__typename": "Customer", "id": "1"}}}},
    )
    fake.on("customers", NAMES_FETCH, reps("1"), {"data": {"_entities": []}})
    response = await Router.from_sdl(SUPERGRAPH, fake).execute(
        '{ order(id: "1") { id customer { name } } }'
    )
    # Customer.name and Order.customer are non-null: the order becomes null (it is nullable).
    assert response["data"] == {"order": None}
    codes = [e["extensions"]["code"] for e in response["errors"]]
    assert codes[0] == "SUBREQUEST_MALFORMED_RESPONSE"
    assert "0 entities for 1 representations" in response["errors"][0]["message"]


async def test_a_subgraph_that_is_down_gives_partial_data() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "orders",
        'query { order(id: "1") { id total { amount } } }',
        {},
        {"data": {"order": {"id": "1", "total": {"amount": "9.99"}}}},
    )
    fake.on(
        "customers",
        'query { customer(id: "1") { email } }',
        {},
        SubgraphFetchError("HTTP fetch failed: connection refused"),
    )
    query = '{ order(id: "1") { id total { amount } } customer(id: "1") { email } }'
    response = await Router.from_sdl(SUPERGRAPH, fake).execute(query)
    assert response["data"] == {"order": {"id": "1", "total": {"amount": "9.99"}}, "customer": None}
    (error,) = response["errors"]
    assert error["extensions"] == {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "customers"}
    assert error["path"] == ["customer"]


@pytest.mark.parametrize(
    ("mode", "code", "says"),
    [
        ("500", "SUBREQUEST_HTTP_ERROR", "HTTP fetch failed: 500: boom"),
        ("garbage", "SUBREQUEST_MALFORMED_RESPONSE", "not valid JSON"),
        ("slow", "SUBREQUEST_HTTP_ERROR", "did not answer within"),
    ],
)
async def test_misbehaving_http_subgraph(mode: str, code: str, says: str | None) -> None:
    with faulty_server(mode) as url:
        transport = HttpTransport({"customers": url, "orders": url}, timeout=0.5)
        router = Router.from_sdl(SUPERGRAPH, transport)
        try:
            response = await router.execute('{ customer(id: "1") { name } }')
        finally:
            await router.close()
    assert response["data"] == {"customer": None}
    (error,) = response["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["serviceName"] == "customers"
    if says:
        assert says in error["message"]


async def test_plans_and_shapers_are_cached_per_operation() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "customers",
        'query { customer(id: "2") { name } }',
        {},
        {"data": {"customer": {"name": "Bob"}}},
    )
    router = Router.from_sdl(SUPERGRAPH, fake, plan_cache_size=2)
    for _ in range(3):
        assert await router.execute('{ customer(id: "2") { name } }') == {
            "data": {"customer": {"name": "Bob"}}
        }
    assert (router.cache_misses, router.cache_hits) == (1, 2)
    for n in range(3):  # more distinct operations than the cache holds: the oldest go
        router.prepare(f'{{ c{n}: customer(id: "{n}") {{ name }} }}')
    assert len(router._cache) == 2
