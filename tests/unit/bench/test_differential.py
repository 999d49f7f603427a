"""The differential harness's pure parts (bench/differential): verdicts, shrinking, literals.

The harness itself needs the fetched audit and npm packages (`python -m bench.differential`);
these tests cover what decides its output: how three answers are classified, that a shrunk
operation is smaller, valid and still shows the failure, and which argument values it draws.
"""

from __future__ import annotations

from typing import Any

from graphql import build_schema, parse, validate

from bench.differential.compare import AGREE, CONTESTED, MISMATCH, Answer, classify
from bench.differential.literals import from_answers, from_queries
from bench.differential.shrink import shrink

SCHEMA = build_schema(
    """
    interface Node { id: ID! }
    type User implements Node { id: ID! name: String friends(first: Int): [User!]! }
    type Post implements Node { id: ID! title: String author: User }
    type Query { node(id: ID!): Node user(id: ID!): User posts(limit: Int = 2): [Post!]! }
    """
)


def answer(data: Any, *messages: str) -> Answer:
    body: dict[str, Any] = {"data": data}
    if messages:
        body["errors"] = [{"message": m} for m in messages]
    return Answer(200, body)


def test_answers_compare_by_data_and_whether_errors_exist() -> None:
    ok = answer({"a": 1})
    assert classify(ok, answer({"a": 1}), answer({"a": 1})) == (AGREE, None)
    worded = answer({"a": None}, "ours"), answer({"a": None}, "hive's"), answer({"a": None}, "x")
    assert classify(*worded) == (AGREE, None)
    assert classify(answer({"a": None}), answer({"a": None}, "e"), answer({"a": None}, "e")) == (
        MISMATCH,
        None,
    )
    assert classify(answer({"a": 2}), ok, ok) == (MISMATCH, None)
    assert classify(ok, ok, answer({"a": 2})) == (CONTESTED, "hive")
    assert classify(ok, answer({"a": 2}), ok) == (CONTESTED, "apollo")
    assert classify(ok, answer({"a": 2}), answer({"a": 3})) == (CONTESTED, "neither")
    refused = Answer(0, None, "ConnectionRefusedError")
    assert classify(refused, refused, refused) == (AGREE, None)
    assert classify(refused, ok, ok) == (MISMATCH, None)


def test_shrinking_keeps_what_fails_and_drops_the_rest() -> None:
    query = """
    query Q($id: ID!, $c: Boolean!, $unused: Int) {
      a: user(id: $id) { name friends(first: $unused) @include(if: $c) { id } }
      posts { ...P title }
      ... on Query { node(id: "1") { id ... on Post { title author { name } } } }
    }
    fragment P on Post { id author { id } }
    """
    variables = {"id": "7", "c": True, "unused": 3}

    def still_fails(candidate: str, _: dict[str, Any]) -> bool:
        return "author" in candidate and "title" in candidate

    small, small_variables, tries = shrink(SCHEMA, query, variables, still_fails)
    assert validate(SCHEMA, parse(small)) == []
    assert still_fails(small, small_variables)
    assert 0 < tries <= 80
    assert small_variables == {}
    # greedy, in document order: the first operation that fails with any one node less
    expected = 'query Q { node(id: "1") { ... on Post { title author { name } } } }'
    assert small.split() == expected.split(), small


def test_literals_come_from_the_queries_and_the_answers_keys() -> None:
    found = from_queries(SCHEMA, ['{ user(id: "u1") { name } posts(limit: 5) { id } }', "{ nope }"])
    assert found["Query.user.id"] == ["u1"]
    assert found["Query.posts.limit"] == [5]
    assert found["ID"] == ["u1"] and found["Int"] == [5]
    merged = from_answers(
        SCHEMA, [{"data": {"posts": [{"id": "p9", "author": {"id": "u2"}}]}}], found
    )
    assert merged["Query.node.id"] == ["p9", "u2"]
    assert merged["Query.user.id"] == ["u1", "p9", "u2"]
    assert "p9" in merged["ID"]
