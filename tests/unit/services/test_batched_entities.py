"""subgraph_kit's `_entities`: a type with `resolve_references` is asked once per request for all
of its representations, in order; other types are resolved one at a time as Strawberry does;
an error reaches only the items it belongs to."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from strawberry.types import Info

from subgraph_kit import federated_schema

calls: list[list[dict[str, Any]]] = []


@strawberry.federation.type(keys=["id"])
class Book:
    id: strawberry.ID
    title: str

    @classmethod
    async def resolve_references(
        cls, info: Info, representations: list[dict[str, Any]]
    ) -> list[object]:
        calls.append(representations)
        answers: list[object] = []
        for r in representations:
            if r["id"] == "boom":
                answers.append(ValueError("no such shelf"))
            elif r["id"].isdigit():
                answers.append(cls(id=strawberry.ID(r["id"]), title=f"Book {r['id']}"))
            else:
                answers.append(None)
        return answers


@strawberry.federation.type(keys=["id"])
class Pen:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Pen:
        return cls(id=id)


@strawberry.federation.type(keys=["id"])
class Broken:
    id: strawberry.ID

    @classmethod
    async def resolve_references(
        cls, info: Info, representations: list[dict[str, Any]]
    ) -> list[object]:
        return []  # one answer short for every representation


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


@strawberry.type
class Mutation:
    @strawberry.mutation
    def noop(self) -> bool:
        return True


schema = federated_schema(query=Query, mutation=Mutation, types=[Book, Pen, Broken])
QUERY = """query($r: [_Any!]!) { _entities(representations: $r) {
    ... on Book { id title } ... on Pen { id } ... on Broken { id } } }"""


@pytest.fixture(autouse=True)
def _no_calls() -> None:
    calls.clear()


async def entities(*representations: dict[str, Any]) -> Any:
    return await schema.execute(QUERY, {"r": list(representations)})


async def test_one_call_per_type_answers_in_request_order() -> None:
    result = await entities(
        {"__typename": "Book", "id": "1"},
        {"__typename": "Pen", "id": "p"},
        {"__typename": "Book", "id": "x"},
        {"__typename": "Book", "id": "2"},
    )
    assert result.errors is None
    assert result.data == {
        "_entities": [
            {"id": "1", "title": "Book 1"},
            {"id": "p"},
            None,
            {"id": "2", "title": "Book 2"},
        ]
    }
    # all three books in one call, each without its __typename
    assert calls == [[{"id": "1"}, {"id": "x"}, {"id": "2"}]]


async def test_an_error_is_its_own_items() -> None:
    result = await entities(
        {"__typename": "Book", "id": "1"},
        {"__typename": "Book", "id": "boom"},
        {"__typename": "Broken", "id": "b"},
        {"__typename": "Broken", "id": "c"},
    )
    assert result.data == {"_entities": [{"id": "1", "title": "Book 1"}, None, None, None]}
    assert result.errors is not None
    paths = sorted(tuple(e.path or ()) for e in result.errors)
    assert paths == [("_entities", 1), ("_entities", 2), ("_entities", 3)]
    # unexpected exceptions: logged, and answered without their message
    assert {e.extensions["code"] for e in result.errors if e.extensions} == {
        "INTERNAL_SERVER_ERROR"
    }


async def test_without_batched_types_strawberry_resolves_as_before() -> None:
    result = await entities({"__typename": "Pen", "id": "a"}, {"__typename": "Pen", "id": "b"})
    assert result.errors is None
    assert result.data == {"_entities": [{"id": "a"}, {"id": "b"}]}
    assert calls == []
