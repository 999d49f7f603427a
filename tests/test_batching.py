"""Combining entity fetches into one request, and splitting the answer back (pure parts)."""

from __future__ import annotations

from router.execute.batching import batched_operation, split_answer
from router.plan.nodes import Fetch


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
