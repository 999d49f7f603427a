"""The executor over fake subgraphs (exact request → canned answer) and misbehaving HTTP ones."""

from __future__ import annotations

from typing import Any

import pytest

from router.compose import compose_subgraphs, read_subgraph
from router.config import parse_config
from router.execute.headers import subgraph_headers
from router.execute.transport import HttpTransport, SubgraphFetchError, headers_key
from router.router import Router
from router.supergraph.load import load_supergraph
from subgraph_kit.caller import CUSTOMER_ID_HEADER
from tests.support.auth import CLAIM_HEADERS, STAFF_IDENTITY, SignedInRouter, signed_in_router
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.faulty import faulty_server
from tests.support.paths import CASES, REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
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
    response = await signed_in_router(SUPERGRAPH, fake).execute(ORDERS_QUERY)
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
    response = await signed_in_router(SUPERGRAPH, fake).execute(ORDERS_QUERY)
    assert response["errors"] == [
        {
            "message": "name is stale",
            "path": ["orders", "edges", 1, "node", "customer", "name"],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "customers"},
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
    response = await signed_in_router(SUPERGRAPH, fake).execute(
        '{ order(id: "1") { id customer { name } } }'
    )
    # Customer.name and Order.customer are non-null: the order becomes null (it is nullable).
    assert response["data"] == {"order": None}
    codes = [e["extensions"]["code"] for e in response["errors"]]
    assert codes[0] == "SUBREQUEST_MALFORMED_RESPONSE"
    assert "0 entities for 1 representations" in response["errors"][0]["message"]


async def test_an_entity_answered_null_nulls_its_object_without_an_error() -> None:
    """`_entities: [null]` is the subgraph saying it has no such entity: Customer.name and
    Order.customer are non-null, so the order becomes null, silently, as Apollo Gateway and
    Hive Gateway answer (and the audit expects)."""
    fake = FakeSubgraphs()
    fake.on("orders", ORDERS_FETCH, {}, orders_answer("1", "2"))
    fake.on(
        "customers", NAMES_FETCH, reps("1", "2"), {"data": {"_entities": [None, {"name": "Bob"}]}}
    )
    response = await signed_in_router(SUPERGRAPH, fake).execute(ORDERS_QUERY)
    # the edge and node are non-null too: the null reaches Query.orders, still with no error
    assert response["data"] == {"orders": None} and "errors" not in response
    # Shown (not as an error) where Apollo Router and Gateway show it.
    assert response["extensions"] == {
        "valueCompletion": [
            {
                "message": "Cannot return null for non-nullable field Customer.name.",
                "path": ["orders", "edges", 0, "node", "customer", "name"],
                "extensions": {"code": "INVALID_GRAPHQL"},
            }
        ]
    }
    fake.on(
        "orders",
        'query { order(id: "1") { id customer { __typename id } } }',
        {},
        {"data": {"order": {"id": "1", "customer": {"__typename": "Customer", "id": "1"}}}},
    )
    fake.on("customers", NAMES_FETCH, reps("1"), {"data": {"_entities": [None]}})
    response = await signed_in_router(SUPERGRAPH, fake).execute(
        '{ order(id: "1") { id customer { name } } }'
    )
    assert response["data"] == {"order": None} and "errors" not in response


async def test_a_root_field_missing_from_the_answer_is_an_error_not_a_silent_null() -> None:
    fake = FakeSubgraphs()
    fake.on("customers", 'query { customer(id: "1") { email } }', {}, {"data": {}})
    response = await signed_in_router(SUPERGRAPH, fake).execute('{ customer(id: "1") { email } }')
    assert response["data"] == {"customer": None}
    (error,) = response["errors"]
    assert error["path"] == ["customer"]
    assert error["extensions"] == {
        "code": "SUBREQUEST_MALFORMED_RESPONSE",
        "serviceName": "customers",
    }
    assert "no `customer` field" in error["message"]


async def test_a_missing_field_the_subgraph_explains_gets_only_its_error() -> None:
    fake = FakeSubgraphs()
    explained = {"message": "customers are read-only today", "path": ["customer"]}
    fake.on(
        "customers",
        'query { customer(id: "1") { email } }',
        {},
        {"data": None, "errors": [explained]},
    )
    response = await signed_in_router(SUPERGRAPH, fake).execute('{ customer(id: "1") { email } }')
    assert response["data"] == {"customer": None}
    assert [e["message"] for e in response["errors"]] == ["customers are read-only today"]


@pytest.mark.parametrize("extensions", [None, {}, {"code": 7}, ["not", "an", "object"]])
async def test_a_subgraph_error_without_a_code_gets_one(extensions: object) -> None:
    """Every error a client gets is coded, shown or redacted (DOWNSTREAM_SERVICE_ERROR, as
    Apollo Gateway and Hive Gateway code them)."""
    error: dict[str, object] = {"message": "db password=hunter2 failed", "path": ["customer"]}
    if extensions is not None:
        error["extensions"] = extensions
    for shown in (True, False):
        fake = FakeSubgraphs()
        fake.on(
            "customers",
            'query { customer(id: "1") { email } }',
            {},
            {"data": None, "errors": [error]},
        )
        router = signed_in_router(
            SUPERGRAPH, fake, show_subgraph_errors=lambda _, shown=shown: shown
        )
        response = await router.execute('{ customer(id: "1") { email } }')
        (answered,) = response["errors"]
        assert answered["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR"
        assert answered["extensions"]["serviceName"] == "customers"
        assert ("hunter2" in answered["message"]) is shown


async def test_a_field_left_out_by_include_is_not_missing() -> None:
    query = (
        'query($x: Boolean!) { a: customer(id: "1") @include(if: $x) { email } '
        'b: customer(id: "2") { email } }'
    )
    fake = FakeSubgraphs()
    fake.on("customers", query, {"x": False}, {"data": {"b": {"email": "b@example.com"}}})
    response = await signed_in_router(SUPERGRAPH, fake).execute(query, {"x": False})
    assert response == {"data": {"b": {"email": "b@example.com"}}}


async def test_an_entity_answer_without_entities_is_an_error() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "orders",
        'query { order(id: "1") { id customer { __typename id } } }',
        {},
        {"data": {"order": {"id": "1", "customer": {"__typename": "Customer", "id": "1"}}}},
    )
    fake.on("customers", NAMES_FETCH, reps("1"), {"data": {}})
    response = await signed_in_router(SUPERGRAPH, fake).execute(
        '{ order(id: "1") { id customer { name } } }'
    )
    assert response["data"] == {"order": None}
    (error,) = response["errors"]  # the shaper adds no second error for the same place
    assert error["extensions"]["code"] == "SUBREQUEST_MALFORMED_RESPONSE"
    assert error["path"] == ["order", "customer"]


async def test_an_entity_missing_a_requested_field_names_the_subgraph() -> None:
    fake = FakeSubgraphs()
    fake.on("orders", ORDERS_FETCH, {}, orders_answer("1", "2"))
    fake.on("customers", NAMES_FETCH, reps("1", "2"), {"data": {"_entities": [{"name": "A"}, {}]}})
    response = await signed_in_router(SUPERGRAPH, fake).execute(ORDERS_QUERY)
    # one error, the subgraph's fault (the shaper adds no "Cannot return null" for that place)
    (error,) = response["errors"]
    assert error["extensions"] == {
        "code": "SUBREQUEST_MALFORMED_RESPONSE",
        "serviceName": "customers",
    }
    assert error["path"] == ["orders", "edges", 1, "node", "customer"]
    assert "no `name` field in entity 1" in error["message"]


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
    response = await signed_in_router(SUPERGRAPH, fake).execute(query)
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
        router = signed_in_router(SUPERGRAPH, transport)
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
    router = signed_in_router(SUPERGRAPH, fake, plan_cache_size=2)
    for _ in range(3):
        assert await router.execute('{ customer(id: "2") { name } }') == {
            "data": {"customer": {"name": "Bob"}}
        }
    assert (router.cache_misses, router.cache_hits) == (1, 2)
    for n in range(3):  # more distinct operations than the cache holds: the oldest go
        router.prepare(f'{{ c{n}: customer(id: "{n}") {{ name }} }}')
    assert len(router.preparation._cache) == 2


async def test_condition_nodes_skip_fetches_whose_fields_are_excluded() -> None:
    fake = FakeSubgraphs()
    orders_fetch = (
        'query($withCustomer: Boolean!) { order(id: "1") { id customer @include(if: $withCustomer) '
        "{ __typename id } } }"
    )
    fake.on("orders", orders_fetch, {"withCustomer": False}, {"data": {"order": {"id": "1"}}})
    query = 'query($withCustomer: Boolean!) { order(id: "1") { id customer @include(if: $withCustomer) { name } } }'
    response = await signed_in_router(SUPERGRAPH, fake).execute(query, {"withCustomer": False})
    assert response == {"data": {"order": {"id": "1"}}}
    assert [service for service, _ in fake.calls] == ["orders"]  # no _entities call at all


def test_supergraphs_linking_unsupported_features_are_refused() -> None:
    from router.errors import SupergraphError

    with_auth = SUPERGRAPH.replace(
        '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)',
        '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)\n'
        '  @link(url: "https://specs.apollo.dev/audit/v0.1", for: SECURITY)',
    )
    with pytest.raises(SupergraphError, match=r"audit/v0\.1 for SECURITY"):
        Router.from_sdl(with_auth)
    with pytest.raises(SupergraphError, match="no @link to the join spec"):
        Router.from_sdl("type Query { a: Int }")


def test_progressive_override_follows_the_labels() -> None:
    from router.compose import compose_subgraphs, read_subgraph

    legacy = read_subgraph(
        "legacy",
        "http://legacy",
        """
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        type Query { accounts: [Account!]! }
        type Account @key(fields: "id") { id: ID! plan: String! }""",
    )
    billing = read_subgraph(
        "billing",
        "http://billing",
        """
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
        type Account @key(fields: "id") { id: ID! plan: String! @override(from: "legacy", label: "percent(30)") }""",
    )
    router = Router.from_sdl(compose_subgraphs([legacy, billing]))
    services = {
        labels: {
            f.service for f in router.prepare("{ accounts { plan } }", labels=labels).plan.fetches
        }
        for labels in (frozenset(), frozenset({"percent(30)"}))
    }
    assert services == {frozenset(): {"legacy"}, frozenset({"percent(30)"}): {"legacy", "billing"}}
    rolled = [router.request_labels() for _ in range(2000)]
    share = sum("percent(30)" in labels for labels in rolled) / len(rolled)
    assert 0.22 < share < 0.38


BOTH_QUERY = '{ a: order(id: "1") { customer { name } } b: order(id: "2") { customer { email } } }'
BOTH_FETCH = (
    'query { a: order(id: "1") { customer { __typename id } } '
    'b: order(id: "2") { customer { __typename id } } }'
)
BATCHED_FETCH = """\
query ($_representations0: [_Any!]!, $_representations1: [_Any!]!) {
  _0: _entities(representations: $_representations0) {
    ... on Customer {
      name
    }
  }
  _1: _entities(representations: $_representations1) {
    ... on Customer {
      email
    }
  }
}"""


def both_orders_fake() -> FakeSubgraphs:
    """Subgraphs answering BOTH_QUERY's fetches, batched (BATCHED_FETCH) or one by one."""
    fake = FakeSubgraphs()
    both = {
        "data": {
            "a": {"customer": {"__typename": "Customer", "id": "1"}},
            "b": {"customer": {"__typename": "Customer", "id": "2"}},
        }
    }
    fake.on("orders", BOTH_FETCH, {}, both)
    rep = {"__typename": "Customer", "id": "1"}, {"__typename": "Customer", "id": "2"}
    fake.on(
        "customers",
        BATCHED_FETCH,
        {"_representations0": [rep[0]], "_representations1": [rep[1]]},
        {
            "data": {"_0": [{"name": "Alice"}], "_1": [None]},
            "errors": [{"message": "no email", "path": ["_1", 0, "email"]}],
        },
    )
    for n, field in ((0, "name"), (1, "email")):
        fake.on(
            "customers",
            f"query($representations: [_Any!]!) {{ _entities(representations: $representations) "
            f"{{ ... on Customer {{ {field} }} }} }}",
            {"representations": [rep[n]]},
            {
                "data": {"_entities": [{"name": "Alice"} if n == 0 else None]},
                **(
                    {"errors": [{"message": "no email", "path": ["_entities", 0, "email"]}]}
                    if n == 1
                    else {}
                ),
            },
        )
    return fake


@pytest.mark.parametrize("batch", [True, False])
async def test_entity_fetches_ready_together_go_as_one_request(batch: bool) -> None:
    fake = both_orders_fake()
    router = signed_in_router(SUPERGRAPH, fake, batch_entities=batch)
    response = await router.execute(BOTH_QUERY)
    assert [service for service, _ in fake.calls] == (
        ["orders", "customers"] if batch else ["orders", "customers", "customers"]
    )
    # email is nullable (an access-controlled field): only it is null
    assert response["data"] == {
        "a": {"customer": {"name": "Alice"}},
        "b": {"customer": {"email": None}},
    }
    # the error under the second alias is the second fetch's, at its client path
    assert [(e["message"], e["path"]) for e in response["errors"]] == [
        ("no email", ["b", "customer", "email"])
    ]


async def test_forwarded_headers_are_made_once_per_request_and_subgraph() -> None:
    """router.yaml's header rules run once per request for each subgraph: every fetch there
    and the in-flight de-duplication key use the same headers (customers is asked twice)."""
    made: list[str] = []
    config = parse_config(CLAIM_HEADERS)

    def counted(service: str, incoming: Any, claims: Any) -> dict[str, str]:
        made.append(service)
        return subgraph_headers(config, service, incoming, claims)

    fake = both_orders_fake()
    router = SignedInRouter(load_supergraph(SUPERGRAPH), fake, subgraph_headers=counted)
    await router.execute(BOTH_QUERY, headers={"x-request-id": "r1"})
    assert [service for service, _ in fake.calls] == ["orders", "customers", "customers"]
    assert sorted(made) == ["customers", "orders"]
    sent = [headers for service, headers in fake.headers if service == "customers"]
    assert sent[0] is not None and sent[0] is sent[1]
    assert sent[0]["x-request-id"] == "r1"
    assert sent[0][CUSTOMER_ID_HEADER] == STAFF_IDENTITY.claims["sub"]
    assert headers_key(sent[0]) == tuple(sorted(dict(sent[0]).items()))

    # made by the caller (the inbound de-duplication key): not made again for the fetches
    made.clear()
    forwarded = router.forwarded({"x-request-id": "r2"}, STAFF_IDENTITY)
    assert sorted(made) == ["customers", "orders"]
    fake.headers.clear()
    await router.execute(BOTH_QUERY, headers={"x-request-id": "r2"}, forwarded=forwarded)
    assert sorted(made) == ["customers", "orders"]
    assert [headers is forwarded[service] for service, headers in fake.headers] == [True] * 3


# --- operations the planner once got wrong (issue #11), answered over fake subgraphs --------


def compose(**subgraphs: str) -> str:
    """A supergraph of the given subgraphs (name → SDL), each routed to `http://<name>`."""
    return compose_subgraphs(
        [read_subgraph(name, f"http://{name}", sdl) for name, sdl in subgraphs.items()]
    )


FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
CHAT_REPS = (
    "query($representations: [_Any!]!) { _entities(representations: $representations) "
    "{ ... on Chat { account { __typename } } } }"
)


async def test_a_selection_emptied_by_literal_skip_include_answers_an_empty_object() -> None:
    sdl = compose(
        chats=FED
        + 'type Query { chat: Chat } type Chat @key(fields: "id") { id: ID! text: String }',
        accounts=FED
        + 'type Chat @key(fields: "id") { id: ID! account: Account! } '
        + "type Account { id: ID! name: String }",
    )
    fake = FakeSubgraphs()
    fake.on(
        "chats",
        "query { chat { text __typename id } }",
        {},
        {"data": {"chat": {"text": "hi", "__typename": "Chat", "id": "c1"}}},
    )
    fake.on(
        "accounts",
        CHAT_REPS,
        {"representations": [{"__typename": "Chat", "id": "c1"}]},
        {"data": {"_entities": [{"account": {"__typename": "Account"}}]}},
    )
    response = await Router.from_sdl(sdl, fake).execute(
        "{ chat { text account { id @skip(if: true) name @include(if: false) } } }"
    )
    assert response == {"data": {"chat": {"text": "hi", "account": {}}}}


ENTITIES = "query($representations: [_Any!]!) { _entities(representations: $representations) "


async def test_a_client_alias_on_a_key_name_gets_its_own_field_not_the_key() -> None:
    sdl = compose(
        users=FED
        + 'type Query { randomUser: User } type User @key(fields: "id") { id: ID! rid: ID }',
        nicknames=FED + 'type User @key(fields: "id") { id: ID! nickname: String }',
    )
    fake = FakeSubgraphs()
    fake.on(
        "users",
        "query { randomUser { __typename id__internal: id id: rid } }",
        {},
        {"data": {"randomUser": {"__typename": "User", "id__internal": "u1", "id": "r1"}}},
    )
    fake.on(
        "nicknames",
        ENTITIES + "{ ... on User { nickname } } }",
        {"representations": [{"__typename": "User", "id": "u1"}]},
        {"data": {"_entities": [{"nickname": "Al"}]}},
    )
    response = await Router.from_sdl(sdl, fake).execute("{ randomUser { nickname id: rid } }")
    assert response == {"data": {"randomUser": {"nickname": "Al", "id": "r1"}}}


async def test_a_client_alias_on_a_required_name_gets_its_own_field() -> None:
    shareable = FED.replace('["@key"]', '["@key", "@shareable", "@external", "@requires"]')
    sdl = compose(
        entities=shareable
        + 'type Query { entity: Entity } type Entity @key(fields: "id") { id: ID! data: Data } '
        + "type Data @shareable { foo: String! qux: String! }",
        requirers=shareable
        + 'type Entity @key(fields: "id") { id: ID! data: Data @external '
        + 'requirer: String! @requires(fields: "data { foo }") } '
        + "type Data @shareable { foo: String! }",
    )
    fake = FakeSubgraphs()
    fake.on(
        "entities",
        "query { entity { __typename id data { foo__internal: foo foo: qux } } }",
        {},
        {
            "data": {
                "entity": {
                    "__typename": "Entity",
                    "id": "e1",
                    "data": {"foo__internal": "FOO", "foo": "QUX"},
                }
            }
        },
    )
    fake.on(
        "requirers",
        ENTITIES + "{ ... on Entity { requirer } } }",
        {"representations": [{"__typename": "Entity", "id": "e1", "data": {"foo": "FOO"}}]},
        {"data": {"_entities": [{"requirer": "needs FOO"}]}},
    )
    response = await Router.from_sdl(sdl, fake).execute("{ entity { requirer data { foo: qux } } }")
    assert response == {"data": {"entity": {"requirer": "needs FOO", "data": {"foo": "QUX"}}}}


async def test_a_type_condition_the_subgraph_relates_otherwise_is_sent_as_its_objects() -> None:
    # `ImagePost implements Post` only in a; in b it implements AnotherPost alone, so b refuses
    # `... on Post` inside `AnotherPost`: the condition goes as the objects it stands for there.
    case = CASES / "plan" / "type-condition-unknown-in-subgraph" / "subgraphs"
    sdl = compose(**{f.stem: f.read_text() for f in sorted(case.glob("*.graphql"))})
    fake = FakeSubgraphs()
    fake.on(
        "b",
        "query { anotherFeed { __typename id ... on ImagePost { createdAt } } }",
        {},
        {"data": {"anotherFeed": [{"__typename": "ImagePost", "id": "i1", "createdAt": "today"}]}},
    )
    response = await Router.from_sdl(sdl, fake).execute(
        "{ anotherFeed { id ... on Post { createdAt ... on TextPost { body } } } }"
    )
    assert response == {"data": {"anotherFeed": [{"id": "i1", "createdAt": "today"}]}}


def case_supergraph(name: str) -> str:
    """The supergraph of the plan case `tests/cases/plan/<name>` (its subgraphs composed)."""
    case = CASES / "plan" / name / "subgraphs"
    return compose(**{f.stem: f.read_text() for f in sorted(case.glob("*.graphql"))})


async def test_an_impossible_nested_type_condition_answers_an_empty_object() -> None:
    # No Account is a Chat: `... on Node { ... on Chat { … } }` inside Account selects nothing.
    fake = FakeSubgraphs()
    fake.on(
        "accounts",
        "query { account { __typename } }",
        {},
        {"data": {"account": {"__typename": "Account"}}},
    )
    response = await Router.from_sdl(
        case_supergraph("impossible-nested-type-condition"), fake
    ).execute("{ account { ... on Node { ... on Chat { text } } } }")
    assert response == {"data": {"account": {}}}


async def test_provides_on_an_interface_field_gets_the_rest_through_the_parent_key() -> None:
    # books provides Dog.name below `book.animals`, not Cat.name nor the animals' ids (external
    # there): those come with `animals` again from the animals subgraph, through Book's key.
    fake = FakeSubgraphs()
    fake.on(
        "books",
        "query { book { animals { __typename ... on Dog { name } } __typename id } }",
        {},
        {
            "data": {
                "book": {
                    "animals": [{"__typename": "Dog", "name": "Fido"}, {"__typename": "Cat"}],
                    "__typename": "Book",
                    "id": "b1",
                }
            }
        },
    )
    fake.on(
        "animals",
        ENTITIES + "{ ... on Book { animals { __typename id ... on Cat { name } } } } }",
        {"representations": [{"__typename": "Book", "id": "b1"}]},
        {
            "data": {
                "_entities": [
                    {
                        "animals": [
                            {"__typename": "Dog", "id": "d1"},
                            {"__typename": "Cat", "id": "c1", "name": "Tom"},
                        ]
                    }
                ]
            }
        },
    )
    response = await Router.from_sdl(case_supergraph("provides-on-interface-field"), fake).execute(
        "{ book { animals { id ... on Dog { name } ... on Cat { name } } } }"
    )
    animals = [{"id": "d1", "name": "Fido"}, {"id": "c1", "name": "Tom"}]
    assert response == {"data": {"book": {"animals": animals}}}


async def test_a_variable_default_with_an_at_sign_reaches_the_subgraph_whole() -> None:
    sdl = compose(echo=FED + "type Query { echo(text: String): String }")
    fake = FakeSubgraphs()
    query = 'query($text: String = "hello @world") { echo(text: $text) }'
    fake.on("echo", query, {"text": "hello @world"}, {"data": {"echo": "hello @world"}})
    response = await Router.from_sdl(sdl, fake).execute(query)
    assert response == {"data": {"echo": "hello @world"}}


async def test_a_root_field_under_a_fragment_with_the_same_directive_is_sent_valid() -> None:
    # `@include` twice on one field is invalid: the fragment's stays on a fragment around it.
    query = (
        'query($a: Boolean!, $b: Boolean!) { ... @include(if: $a) { order(id: "1") '
        "@include(if: $b) { id } } }"
    )
    fake = FakeSubgraphs()
    fake.on(
        "orders",
        'query($a: Boolean!, $b: Boolean!) { ... @include(if: $a) { order(id: "1") '
        "@include(if: $b) { id } } }",
        {"a": True, "b": True},
        {"data": {"order": {"id": "1"}}},
    )
    response = await signed_in_router(SUPERGRAPH, fake).execute(query, {"a": True, "b": True})
    assert response == {"data": {"order": {"id": "1"}}}


async def test_a_field_under_a_skipped_fragment_is_skipped_in_the_entity_fetch_too() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "products",
        "query { product { price __typename id } }",
        {},
        {"data": {"product": {"price": 1.5, "__typename": "Product", "id": "p1"}}},
    )
    fake.on(
        "flags",
        "query($representations: [_Any!]!, $s: Boolean!) { _entities(representations: "
        "$representations) { ... on Product { include ... @skip(if: $s) { neverCalled } } } }",
        {"representations": [{"__typename": "Product", "id": "p1"}], "s": True},
        {"data": {"_entities": [{"include": True}]}},
    )
    response = await Router.from_sdl(
        case_supergraph("fragment-condition-over-entity-jump"), fake
    ).execute(
        "query($s: Boolean!) { product { price include ... @skip(if: $s) { neverCalled } } }",
        {"s": True},
    )
    assert response == {"data": {"product": {"price": 1.5, "include": True}}}


async def test_a_field_under_nested_abstract_conditions_is_fetched() -> None:
    # `... on AnotherPost { ... on ImagePost { createdAt } }` below `feed: [Post]` from a, which
    # has no AnotherPost: its ImagePosts still get createdAt (from b).
    fake = FakeSubgraphs()
    fake.on(
        "a",
        "query { feed { __typename id ... on ImagePost { __typename id } } }",
        {},
        {"data": {"feed": [{"__typename": "ImagePost", "id": "i1"}]}},
    )
    fake.on(
        "b",
        ENTITIES + "{ ... on ImagePost { createdAt } } }",
        {"representations": [{"__typename": "ImagePost", "id": "i1"}]},
        {"data": {"_entities": [{"createdAt": "today"}]}},
    )
    response = await Router.from_sdl(
        case_supergraph("nested-condition-unknown-in-subgraph"), fake
    ).execute("{ feed { id ... on AnotherPost { ... on ImagePost { createdAt } } } }")
    assert response == {"data": {"feed": [{"id": "i1", "createdAt": "today"}]}}


async def test_a_field_asked_twice_under_other_conditions_is_fetched_when_either_holds() -> None:
    query = (
        'query($a: Boolean!, $b: Boolean!) { order(id: "1") { x: id @skip(if: $a) '
        "x: id @skip(if: $b) } }"
    )
    fake = FakeSubgraphs()
    fake.on("orders", query, {"a": True, "b": False}, {"data": {"order": {"x": "1"}}})
    response = await signed_in_router(SUPERGRAPH, fake).execute(query, {"a": True, "b": False})
    assert response == {"data": {"order": {"x": "1"}}}


async def test_a_skipped_requires_field_leaves_the_representation_whole_for_the_others() -> None:
    # cost needs weight, label needs size; one entity fetch gets both: with `cost` skipped its
    # requirement is still selected, so the representation label needs is complete.
    fake = FakeSubgraphs()
    fake.on(
        "catalog",
        "query { products { __typename id weight size } }",
        {},
        {"data": {"products": [{"__typename": "Product", "id": "p1", "weight": 3, "size": "L"}]}},
    )
    fake.on(
        "shipping",
        "query($representations: [_Any!]!, $c: Boolean!) { _entities(representations: "
        "$representations) { ... on Product { ... @skip(if: $c) { cost } label } } }",
        {
            "representations": [{"__typename": "Product", "id": "p1", "weight": 3, "size": "L"}],
            "c": True,
        },
        {"data": {"_entities": [{"label": "large"}]}},
    )
    response = await Router.from_sdl(
        case_supergraph("requires-under-conditional-fragment"), fake
    ).execute("query($c: Boolean!) { products { ... @skip(if: $c) { cost } label } }", {"c": True})
    assert response == {"data": {"products": [{"label": "large"}]}}


async def test_the_typename_of_an_interface_object_is_fetched_whatever_the_conditions() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "presence",
        "query { onlineAccounts { __typename id } }",
        {},
        {"data": {"onlineAccounts": [{"__typename": "Account", "id": "1"}]}},
    )
    fake.on(
        "accounts",
        "query($representations: [_Any!]!, $c: Boolean!) { _entities(representations: "
        "$representations) { ... on Account { __typename ... on Member { id @include(if: $c) } "
        "} } }",
        {"representations": [{"__typename": "Account", "id": "1"}], "c": False},
        {"data": {"_entities": [{"__typename": "Member"}]}},
    )
    response = await Router.from_sdl(
        case_supergraph("interface-object-typename-conditional"), fake
    ).execute(
        "query($c: Boolean!) { onlineAccounts { __typename ... on Member { id @include(if: $c) } } }",
        {"c": False},
    )
    assert response == {"data": {"onlineAccounts": [{"__typename": "Member"}]}}


async def test_nested_conditions_narrow_to_the_objects_both_admit() -> None:
    # In b, ImagePost is an AnotherPost and not a Post; in the supergraph it is both, so
    # `... on Post { ... on AnotherPost { … } }` inside AnotherPost selects its fields.
    fake = FakeSubgraphs()
    fake.on(
        "b",
        "query { anotherFeed { __typename ... on ImagePost { at: createdAt } } }",
        {},
        {"data": {"anotherFeed": [{"__typename": "ImagePost", "at": "today"}]}},
    )
    response = await Router.from_sdl(
        case_supergraph("nested-conditions-narrow-per-object"), fake
    ).execute("{ anotherFeed { ... on Post { ... on AnotherPost { at: createdAt } } } }")
    assert response == {"data": {"anotherFeed": [{"at": "today"}]}}


async def test_a_root_field_asked_twice_goes_to_the_subgraph_that_has_all_of_it() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "b",
        "query($c: Boolean!) { media { id } media @skip(if: $c) { title } }",
        {"c": False},
        {"data": {"media": {"id": "m1", "title": "Dune"}}},
    )
    response = await Router.from_sdl(case_supergraph("root-field-asked-twice"), fake).execute(
        "query($c: Boolean!) { media { id } media @skip(if: $c) { title } }", {"c": False}
    )
    assert response == {"data": {"media": {"id": "m1", "title": "Dune"}}}
    assert [service for service, _ in fake.calls] == ["b"]


async def test_a_skipped_requires_field_split_per_implementation_keeps_the_representation() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "catalog",
        "query { items { __typename ... on Book { __typename id weight size } } }",
        {},
        {"data": {"items": [{"__typename": "Book", "id": "b1", "weight": 3, "size": "L"}]}},
    )
    fake.on(
        "shipping",
        "query($representations: [_Any!]!, $c: Boolean!) { _entities(representations: "
        "$representations) { ... on Book { ... @skip(if: $c) { cost } label } } }",
        {
            "representations": [{"__typename": "Book", "id": "b1", "weight": 3, "size": "L"}],
            "c": True,
        },
        {"data": {"_entities": [{"label": "large"}]}},
    )
    response = await Router.from_sdl(
        case_supergraph("requires-under-conditional-fragment-on-interface"), fake
    ).execute("query($c: Boolean!) { items { ... @skip(if: $c) { cost } label } }", {"c": True})
    assert response == {"data": {"items": [{"label": "large"}]}}
