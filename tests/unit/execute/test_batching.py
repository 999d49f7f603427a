"""Combining entity fetches into one request, splitting the answer back, and counting the
requests a plan sends with batching."""

from __future__ import annotations

from router.execute.batching import batched_operation, requests, split_answer
from router.plan.nodes import Condition, Fetch, Flatten, Parallel, Sequence
from tests.support.oracle import Harness, oracle_cases


def entity_fetch(operation: str, name: str | None = "Op__s__1") -> Fetch:
    return Fetch("s", "S", operation, "query", (), (), operation_name=name)


ENTITIES = (
    "query Op__s__1($representations: [_Any!]!, $lang: String) "
    "{ _entities(representations: $representations) { ... on T { name(lang: $lang) } } }"
)


def test_fetches_share_client_variables_and_get_their_own_representations() -> None:
    text = batched_operation((entity_fetch(ENTITIES), entity_fetch(ENTITIES)))
    assert text is not None
    assert text.startswith(
        "query Op__s__1__batch($_representations0: [_Any!]!, $lang: String, "
        "$_representations1: [_Any!]!) {"
    )
    assert "_1: _entities(representations: $_representations1)" in text


def test_what_cannot_be_combined_is_refused() -> None:
    root = entity_fetch("query Op__s__0 { things { id } }")
    clash = entity_fetch(ENTITIES.replace("$lang", "$_representations9"))
    other_type = entity_fetch(ENTITIES.replace("$lang: String", "$lang: Int"))
    assert batched_operation((entity_fetch(ENTITIES), root)) is None
    assert batched_operation((entity_fetch(ENTITIES), clash)) is None
    assert batched_operation((entity_fetch(ENTITIES), other_type)) is None


def test_answers_split_by_alias_and_errors_follow_their_fetch() -> None:
    parts = split_answer(
        {
            "data": {"_0": [{"a": 1}], "_1": [None, {"b": 2}]},
            "errors": [
                {"message": "one", "path": ["_1", 0, "b"]},
                {"message": "everyone's"},
            ],
        },
        2,
    )
    assert parts == [
        {"data": {"_entities": [{"a": 1}]}, "errors": [{"message": "everyone's"}]},
        {
            "data": {"_entities": [None, {"b": 2}]},
            "errors": [
                {"message": "one", "path": ["_entities", 0, "b"]},
                {"message": "everyone's"},
            ],
        },
    ]
    # a request that failed as a whole: every fetch gets no data and the errors
    failed = split_answer({"data": None, "errors": [{"message": "down"}]}, 2)
    assert failed == [{"data": None, "errors": [{"message": "down"}]}] * 2


# --- how many requests a plan sends ----------------------------------------------------------


def test_entity_fetches_starting_together_to_one_subgraph_count_as_one_request() -> None:
    a, b = entity_fetch(ENTITIES), Fetch("t", "T", ENTITIES, "query", (), ())
    root = entity_fetch("query Op__s__0 { things { id } }")

    def at(fetch: Fetch) -> Flatten:
        return Flatten(("things", "@"), fetch)

    # start: the root fetch; then a, a (and b) together, the second a of the inner Sequence
    # after them, and the last a after the Parallel
    inner = Sequence((at(a), at(a)))
    plan = Sequence((root, Parallel((at(a), inner, at(b))), at(a)))
    assert requests(plan) == 6 - 1
    # a Condition's branch starts on its own; both branches are counted, as Apollo's fetches are
    condition = Condition("v", Parallel((at(a), at(a))), at(a))
    assert requests(Parallel((at(a), condition))) == 4 - 1
    # what cannot be combined is sent alone
    other_type = entity_fetch(ENTITIES.replace("$lang: String", "$lang: Int"))
    assert requests(Parallel((at(a), at(other_type)))) == 2
    assert requests(Parallel((root, root))) == 2  # root fetches are never batched
    assert requests(None) == 0


def test_a_field_required_with_two_arguments_is_two_fetches_in_one_request() -> None:
    """tests/cases/plan/requires-one-field-with-two-arguments through the oracle's fakes, which
    refuse a representation whose required `cost(unit:)` has another argument's value."""
    (case,) = [
        c for c in oracle_cases() if c.name.endswith("/requires-one-field-with-two-arguments")
    ]
    harness = Harness.start(case)
    try:
        query = "{ items { sku title feeInCents feeInDollars } }"
        plan = harness.router.prepare(query).plan
        assert len(plan.fetches) == 3 and requests(plan.node) == 2
        assert harness.mismatch(query) is None
        assert [service for service, _, _ in harness.transport.calls] == ["catalog", "delivery"]
    finally:
        harness.close()
