"""subgraph_kit.compiled against graphql-core: random valid queries over each service's schema
(hypothesis-graphql, `_entities` representations of its entity types, every kind of caller),
answered by the real services on their seeded databases, once with the compiled path and once
without it, give the same body (data, errors, their paths and codes). The compiled path must
answer most of them itself, and every one of the bench's operations: else the comparison, and
the speed, would be an accident."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries

import customer_subgraph
import order_subgraph
from subgraph_kit.compiled import CompiledQueries
from subgraph_kit.schema import ServiceSchema
from tests.support.sql import recorded_selects

CUSTOMER_SCHEMA: ServiceSchema = importlib.import_module("customer_subgraph.schema").schema
ORDER_SCHEMA: ServiceSchema = importlib.import_module("order_subgraph.schema").schema

CALLERS: list[dict[str, str]] = [
    {},
    {"x-customer-id": "1"},
    {"x-customer-id": "1", "x-customer-scopes": "read:email"},
    {"x-customer-id": "2", "x-customer-scopes": "read:email"},
    {"x-customer-id": "9", "x-customer-scopes": "read:email"},
    {"x-customer-id": "1", "x-customer-scopes": "staff"},
]
"""Anonymous, customers with and without the email scope (1 and 2 own the seeded orders, 9
owns nothing), and staff: the auth rules' every branch."""

DIFFERENTIAL = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def representation(typenames: list[str]) -> st.SearchStrategy[graphql.ObjectValueNode]:
    """An `_Any` literal: mostly a well-formed representation of an entity (an id that exists,
    one that does not, one that is not a number), sometimes without an id or of another type."""
    ids = st.sampled_from(["1", "2", "3", "4", "5", "99", "x", "-1"])
    typename = st.sampled_from([*typenames, "Nope"])

    def fields(name: str, id_: str | None) -> graphql.ObjectValueNode:
        pairs = [("__typename", name)] + ([] if id_ is None else [("id", id_)])
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=nodes.String(v))
                for k, v in pairs
            ]
        )

    return st.builds(fields, typename, st.none() | ids | ids | ids)


def operations(schema: ServiceSchema, typenames: list[str]) -> st.SearchStrategy[str]:
    """Random valid queries; a third of them on `_entities` alone."""
    scalars = {
        "_Any": representation(typenames),
        "DateTime": st.just(nodes.String("2024-01-01T00:00:00+00:00")),
    }
    every = queries(schema._schema, custom_scalars=scalars)
    entities = queries(schema._schema, fields=["_entities"], custom_scalars=scalars)
    return st.one_of(every, every, entities)


class Served:
    """Both services on a private event loop, reached through httpx's ASGI transport."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.customers, self.orders = self.loop.run_until_complete(self._start(folder))

    async def _start(self, folder: Path) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        customers = customer_subgraph.create_app(
            customer_subgraph.Settings(database_url=f"sqlite:///{folder}/customers.sqlite3")
        )
        orders = order_subgraph.create_app(
            order_subgraph.Settings(database_url=f"sqlite:///{folder}/orders.sqlite3"),
            customers_transport=httpx.ASGITransport(app=customers),
        )
        clients = []
        self.apps = []
        for app in (customers, orders):
            manager = await self.stack.enter_async_context(LifespanManager(app))
            self.apps.append(app)
            transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=True)
            clients.append(
                await self.stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://service")
                )
            )
        return clients[0], clients[1]

    def post(self, client: httpx.AsyncClient, query: str, headers: dict[str, str]) -> Any:
        response = self.loop.run_until_complete(
            client.post("/graphql", json={"query": query}, headers=headers)
        )
        return response.status_code, response.json()

    def close(self) -> None:
        self.loop.run_until_complete(self.stack.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("compiled"))
    yield served
    served.close()


def both_ways(
    served: Served, client: httpx.AsyncClient, schema: ServiceSchema, query: str, caller: Any
) -> tuple[Any, Any, int]:
    """The answer with the compiled path and without it, and how many answers it gave."""
    compiled = schema.compiled
    assert isinstance(compiled, CompiledQueries)
    hits = compiled.hits
    fast = served.post(client, query, caller)
    answered = compiled.hits - hits
    schema.compiled = None
    try:
        reference = served.post(client, query, caller)
    finally:
        schema.compiled = compiled
    return fast, reference, answered


class Tally:
    """How many examples ran and how many the compiled path answered, per service."""

    def __init__(self) -> None:
        self.examples = 0
        self.answered = 0


TALLIES = {"customers": Tally(), "orders": Tally()}


@pytest.mark.parametrize("service", ["customers", "orders"])
def test_compiled_answers_as_graphql_core(served: Served, service: str) -> None:
    schema = CUSTOMER_SCHEMA if service == "customers" else ORDER_SCHEMA
    client = served.customers if service == "customers" else served.orders
    typenames = ["Customer"] if service == "customers" else ["Order", "Customer"]
    tally = TALLIES[service]

    @DIFFERENTIAL
    @given(query=operations(schema, typenames), caller=st.sampled_from(CALLERS))
    def check(query: str, caller: dict[str, str]) -> None:
        fast, reference, answered = both_ways(served, client, schema, query, caller)
        assert json.dumps(fast, sort_keys=False) == json.dumps(reference, sort_keys=False), query
        tally.examples += 1
        tally.answered += answered

    check()
    # Most random queries select something that can be null or denied: the compiled path must
    # still answer a good share of them itself, or this test compared graphql-core to itself.
    assert tally.examples >= 200
    assert tally.answered >= tally.examples // 5, (tally.answered, tally.examples)


BENCH_OPERATIONS = [
    ("customers", "query { customer(id: 2) { __typename id name mail: email createdAt } }"),
    (
        "customers",
        '{ _entities(representations: [{__typename: "Customer", id: "1"}, '
        '{__typename: "Customer", id: "3"}]) { ... on Customer { id name email } } }',
    ),
    ("orders", "{ order(id: 1) { id status total { amount currency } customer { id } } }"),
    (
        "orders",
        "{ order(id: 1) { id status customer { id } items { sku quantity "
        "unitPrice { amount } } } }",
    ),
    (
        "orders",
        '{ _entities(representations: [{__typename: "Order", id: "1"}, '
        '{__typename: "Order", id: "2"}]) { ... on Order { id status total { amount currency } } } }',
    ),
    (
        "orders",
        '{ _entities(representations: [{__typename: "Customer", id: "1"}, '
        '{__typename: "Customer", id: "2"}]) { __typename ... on Customer { id '
        "orders(first: 5) { edges { node { id status } } } } } }",
    ),
    (
        "orders",
        "{ orders(first: 50) { edges { node { id status total { amount currency } "
        "customer { id } } } pageInfo { hasNextPage endCursor } } }",
    ),
]
"""The operations bench/services.py measures (on the seeded demo data), with `__typename` and an
alias, which the random queries seldom ask."""


@pytest.mark.parametrize(("service", "query"), BENCH_OPERATIONS)
def test_the_bench_operations_take_the_compiled_path(
    served: Served, service: str, query: str
) -> None:
    schema = CUSTOMER_SCHEMA if service == "customers" else ORDER_SCHEMA
    client = served.customers if service == "customers" else served.orders
    staff = CALLERS[-1]
    fast, reference, answered = both_ways(served, client, schema, query, staff)
    assert fast == reference
    assert "errors" not in fast[1], fast
    assert answered == 1


def test_a_page_of_orders_per_entity_is_batched_on_the_compiled_path(served: Served) -> None:
    """`Customer.orders` on 100 entities: one SELECT for the pages, one for the counts, not
    one per customer, when the compiled path answers it."""
    query = (
        "{ _entities(representations: ["
        + ", ".join(f'{{__typename: "Customer", id: "{1 + i % 4}"}}' for i in range(100))
        + "]) { ... on Customer { id orders(first: 2) { totalCount edges { node { id } } } } } }"
    )
    compiled = ORDER_SCHEMA.compiled
    assert compiled is not None
    hits = compiled.hits
    with recorded_selects(served.apps[1].state.database) as selects:
        status, body = served.post(served.orders, query, CALLERS[-1])
    assert status == 200 and "errors" not in body, body
    assert compiled.hits == hits + 1
    assert len(selects) == 2, selects
    assert [e["orders"]["totalCount"] for e in body["data"]["_entities"][:4]] == [3, 2, 0, 0]
