"""The request phase's budget: hostile documents are refused with their codes, without being
expanded, and a refusal is remembered; good documents with repeated fragments prepare small."""

from __future__ import annotations

from typing import Any

import pytest

from router.errors import RequestError
from router.operation.normalize import normalize
from router.request.document import parse_document
from router.request.limits import Limits
from router.request.rules import count_document
from router.router import Router
from tests.support.paths import REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()


def _bomb(levels: int, on: str = "Query", base: str = "__typename") -> str:
    fragments = [f"fragment F0 on {on} {{ {base} }}"] + [
        f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return "\n".join(fragments)


@pytest.fixture
def router() -> Router:
    return Router.from_sdl(SUPERGRAPH)


def _code(router: Router, query: str) -> str:
    with pytest.raises(RequestError) as caught:
        router.prepare(query)
    return caught.value.code


def test_counts_follow_the_expansion_without_expanding() -> None:
    document = parse_document("{ ...F30 }\n" + _bomb(30), Limits())
    (counts,) = count_document(document).values()
    assert counts.root_fields == 2**30
    assert counts.selections == 2**30
    assert counts.depth == 1


def test_a_spread_bomb_is_refused_before_validation(router: Router) -> None:
    assert _code(router, "{ ...F30 }\n" + _bomb(30)) == "MAX_RECURSIVE_SELECTIONS_EXCEEDED"
    nested = '{ customer(id: "1") { ...F30 } }\n' + _bomb(30, "Customer", "id name")
    assert _code(router, nested) == "MAX_RECURSIVE_SELECTIONS_EXCEEDED"


def test_a_refusal_is_remembered_by_digest(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    query = "{ ...F30 }\n" + _bomb(30)
    first = _code(router, query)

    def not_again(*_: object) -> None:
        raise AssertionError("a remembered refusal was prepared again")

    monkeypatch.setattr(router.preparation, "_prepare", not_again)
    assert _code(router, query) == first
    rejected = router.preparation._rejected
    assert len(rejected) == 1
    assert all(len(key[0]) == 16 for key in rejected._entries)  # a digest, not the text


def test_a_bomb_within_budget_normalises_to_one_fragment_per_level(router: Router) -> None:
    query = '{ customer(id: "1") { ...F14 } }\n' + _bomb(14, "Customer", "id name")
    prepared = router.prepare(query)
    selections = prepared.operation.selections[0].selections
    levels = 0
    while selections and selections[0].__class__.__name__ == "InlineFragment":
        assert len(selections) == 1
        selections = selections[0].selections
        levels += 1
    assert levels == 15
    assert [s.name for s in selections] == ["id", "name"]  # type: ignore[union-attr]
    assert prepared.plan.node.operation == 'query { customer(id: "1") { id name } }'  # type: ignore[union-attr]


def test_fields_merge_per_response_key_in_first_place() -> None:
    document = parse_document(
        '{ customer(id: "1") { name } order(id: 1) { id } customer(id: "1") { email name } }',
        Limits(),
    )
    operation = normalize(document, None)
    assert [s.name for s in operation.selections] == ["customer", "order"]  # type: ignore[union-attr]
    assert [s.name for s in operation.selections[0].selections] == ["name", "email"]  # type: ignore[union-attr]


def test_fields_with_other_directives_stay_apart() -> None:
    document = parse_document(
        "query($a: Boolean!) { order(id: 1) { id } order(id: 1) @include(if: $a) { status } }",
        Limits(),
    )
    assert len(normalize(document, None).selections) == 2


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ order(id: 1) { total { } } }", "GRAPHQL_VALIDATION_FAILED"),
        ("#" + "x" * 300_000 + "\n{ __typename }", "MAX_SOURCE_LENGTH_LIMIT"),
        ("{ " + "__typename " * 15_001 + "}", "MAX_TOKENS_LIMIT"),
        (
            "{ order(id: 1) { " + " ".join(f"a{i}: id" for i in range(201)) + " } }",
            "MAX_ALIASES_LIMIT",
        ),
        (
            "{ order(id: 1) { "
            + "customer { orders { edges { node { " * 25
            + "id"
            + " } } } }" * 25
            + " } }",
            "MAX_DEPTH_LIMIT",
        ),
        ("{ order(id: 1 { id } }", "GRAPHQL_PARSE_FAILED"),
        (
            "{ order(id: 1) { id " + " ".join("... @defer { status }" for _ in range(17)) + " } }",
            "MAX_DEFERRED_FRAGMENTS_LIMIT",
        ),
        (  # counted with the spreads expanded: 2^5 deferred fragments in a short document
            "{ order(id: 1) { ...F5 } }\n"
            "fragment F0 on Order { ... @defer { status } }\n"
            + "\n".join(
                f"fragment F{i} on Order {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 6)
            ),
            "MAX_DEFERRED_FRAGMENTS_LIMIT",
        ),
    ],
)
def test_over_budget_documents_get_their_codes(router: Router, query: str, code: str) -> None:
    assert _code(router, query) == code


def test_deferred_fragments_within_the_budget_are_planned(router: Router) -> None:
    query = "{ order(id: 1) { id " + " ".join("... @defer { status }" for _ in range(16)) + " } }"
    assert router.try_prepare(query)[1] == {}  # no error response


def test_graphiqls_schema_query_is_within_the_depth_the_services_allow() -> None:
    """GraphiQL's introspection (graphql-js's, 15 levels deep through `ofType`) under the
    default depth of 13: introspection fields count as one level, as Strawberry counts them,
    while the same depth under an ordinary field is still refused."""
    from graphql import get_introspection_query

    router = Router.from_sdl(SUPERGRAPH, introspection=True, limits=Limits(max_depth=13))
    schema_query = get_introspection_query(
        descriptions=True, specified_by_url=True, input_value_deprecation=True
    )
    (counts,) = count_document(parse_document(schema_query, Limits())).values()
    assert counts.depth == 1
    router.prepare(schema_query)  # no RequestError
    deep = "customer { orders { edges { node { " * 3 + "id" + " } } } }" * 3
    assert _code(router, f'{{ __typename customer(id: "1") {{ {deep} }} }}') == "MAX_DEPTH_LIMIT"


def test_introspection_lists_are_still_bounded_in_nesting(router: Router) -> None:
    """What bounds an introspection instead: graphql-core's MaxIntrospectionDepthRule."""
    nested = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert _code(router, nested) == "GRAPHQL_VALIDATION_FAILED"


def test_validation_errors_keep_their_locations(router: Router) -> None:
    response = router.try_prepare("{\n  order(id: 1) { nope }\n}")[1]
    (error,) = response["errors"]
    assert error["locations"] == [{"line": 2, "column": 18}]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_an_empty_selection_set_in_a_mutation_writes_nothing(router: Router) -> None:
    """Refused whole while preparing: no plan, so no fetch can run."""
    query = (
        'mutation { createCustomer(input: {name: "x", email: "x@example.com"}) { id } '
        "cancelOrder(id: 1) { total { } } }"
    )
    assert _code(router, query) == "GRAPHQL_VALIDATION_FAILED"


def test_the_plan_cache_is_bounded_in_bytes() -> None:
    router = Router.from_sdl(SUPERGRAPH, plan_cache_bytes=200_000)
    for i in range(200):
        router.prepare(f"{{ a{i}: order(id: {i}) {{ id total {{ amount }} }} }}")
    assert router.preparation._cache.bytes <= 200_000
    assert 0 < len(router.preparation._cache) < 200
    assert router.plan_cache_evictions == 200 - len(router.preparation._cache)


def test_planning_stops_at_its_budget() -> None:
    query = '{ customer(id: "1") { orders { edges { node { id customer { name } } } } } }'
    assert Router.from_sdl(SUPERGRAPH).prepare(query).plan is not None
    tight = Router.from_sdl(SUPERGRAPH, limits=Limits(max_planning_steps=3))
    with pytest.raises(RequestError) as caught:
        tight.prepare(query)
    assert caught.value.code == "MAX_PLANNING_STEPS_LIMIT"


def test_remembered_refusals_do_not_hold_the_documents(router: Router) -> None:
    """20 distinct refused documents of 250,000 characters: what stays is their digests and
    errors, not 5 MB of text (the raised exception's traceback would hold it)."""
    import gc
    import tracemalloc

    answers = []
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20):
            query = f"# {i}\n" + " " * 250_000 + "{ order(id: 1 { id } }"
            try:
                router.prepare(query)
            except RequestError as exc:
                answers.append(exc.to_graphql())
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(router.preparation._rejected) == 20
    assert held < 1_000_000
    again = None
    try:
        router.prepare("# 0\n" + " " * 250_000 + "{ order(id: 1 { id } }")
    except RequestError as exc:
        again = exc.to_graphql()
    assert again == answers[0]
    assert again["extensions"]["code"] == "GRAPHQL_PARSE_FAILED" and again["locations"]


async def test_new_operations_are_prepared_off_the_event_loop(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preparation waits for the event loop to release it: that can only happen if the
    loop is free while an operation is prepared."""
    import asyncio
    import threading

    released = threading.Event()
    seen: dict[str, object] = {}
    real = router.preparation._prepare

    def waiting(*args: Any) -> Any:
        seen["thread"] = threading.current_thread().name
        seen["released"] = released.wait(timeout=30)
        return real(*args)

    monkeypatch.setattr(router.preparation, "_prepare", waiting)
    query = '{ customer(id: "1") { name } }'
    warming = asyncio.ensure_future(router.warm(query))
    await asyncio.sleep(0.05)  # the loop goes on meanwhile (no assertion on time)
    released.set()
    await warming
    assert seen == {"thread": "router-prepare_0", "released": True}
    assert (router.cache_misses, router.cache_hits) == (1, 0)
    router.prepare(query, count=False)  # now a hit, and not counted again
    assert (router.cache_misses, router.cache_hits) == (1, 0)
    await router.warm(query)
    assert router.cache_hits == 1


async def test_requests_sending_one_new_operation_share_its_preparation(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More requests than MAX_PREPARING with the same new operation at once (a burst of one
    new subscription): one preparation, none refused."""
    import asyncio
    import threading

    from router.prepare import MAX_PREPARING

    released = threading.Event()
    prepared: list[str] = []
    real = router.preparation._prepare

    def waiting(*args: Any) -> Any:
        prepared.append(args[0])
        released.wait(timeout=30)
        return real(*args)

    monkeypatch.setattr(router.preparation, "_prepare", waiting)
    query = '{ customer(id: "1") { name } }'
    warming = [asyncio.ensure_future(router.warm(query)) for _ in range(MAX_PREPARING * 2)]
    while not prepared:  # noqa: ASYNC110 (the preparation thread sets it)
        await asyncio.sleep(0.01)
    warming[0].cancel()  # one leaving does not end the others' wait
    released.set()
    results = await asyncio.gather(*warming, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1:] == [None] * (MAX_PREPARING * 2 - 1)
    assert prepared == [query]
    assert (router.cache_misses, router.cache_hits) == (1, MAX_PREPARING * 2 - 1)


async def test_new_operations_waiting_for_preparation_are_bounded(router: Router) -> None:
    from router.prepare import MAX_PREPARING

    router.preparation._preparing = MAX_PREPARING
    with pytest.raises(RequestError) as caught:
        await router.warm("{ __typename }")
    assert (caught.value.code, caught.value.status) == ("REQUEST_CONCURRENCY_LIMITED", 503)


def test_an_expensive_operation_without_variables_is_refused_before_planning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from router.config import Config
    from router.server.app import build_router

    router = build_router(SUPERGRAPH, Config())

    def never(*_: object) -> None:
        raise AssertionError("planned an operation its cost refuses")

    monkeypatch.setattr(router.planner, "plan", never)
    nested = (
        "{ customers(first: 100) { edges { node { orders(first: 100) { edges { node { "
        "customer { orders(first: 100) { edges { node { id } } } } } } } } } } }"
    )
    with pytest.raises(RequestError) as caught:
        router.prepare(nested)
    assert caught.value.code == "COST_ESTIMATED_TOO_EXPENSIVE"
    assert caught.value.extensions["cost.max"] == 100_000
