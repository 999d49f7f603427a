"""subgraph_kit.prepared: an operation the schema has checked once is executed by graphql-core
directly, and answers exactly as Strawberry's own path does (data, errors, their codes); what
cannot be prepared (parse and validation errors, the limits, NUL, a subscription, an ambiguous
document) is left to Strawberry's path."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from subgraph_kit import Forbidden, federated_schema
from subgraph_kit.schema import MAX_DEPTH, MAX_TOKENS
from subgraph_kit.service import ContextGraphQL
from tests.support.auth import STAFF_HEADERS
from tests.support.faulty import serve_in_thread


@strawberry.enum
class Kind(enum.Enum):
    BOOK = "book"
    PEN = "pen"


@strawberry.type
class Size:
    width: int
    unit: str | None = None


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    kind: Kind = Kind.BOOK
    count: int = 1
    note: str | None = None
    size: Size | None = None

    @strawberry.field
    def secret(self, info: Info) -> str | None:
        if info.context.get("staff"):
            return f"secret of {self.id}"
        raise Forbidden("only staff may read a secret")

    @strawberry.field
    def broken(self) -> str | None:
        raise RuntimeError("database password is hunter2")

    @strawberry.field
    def child(self) -> Item:
        return Item(id=strawberry.ID(f"{self.id}.1"), name="child")


@strawberry.type
class Query:
    @strawberry.field
    async def item(self, info: Info, id: strawberry.ID) -> Item | None:
        info.context.setdefault("resolved", []).append(id)
        size = Size(width=int(id), unit="cm" if id != "5" else None)
        return None if id == "0" else Item(id=id, name=f"Item {id}", note=f"note {id}", size=size)

    @strawberry.field
    def items(self) -> list[Item | None]:
        odd = [Item(id=strawberry.ID("n"), name=None), Item(id=strawberry.ID("c"), name="c")]  # type: ignore[arg-type]
        odd[1].count = "many"  # type: ignore[assignment]  # an int field that does not coerce
        odd[0].size = Size(width=None)  # type: ignore[arg-type]  # a null in a non-null
        odd[1].size = Size(width=3, unit="mm")
        return [Item(id=strawberry.ID("1"), name="one", kind=Kind.PEN), None, *odd]

    @strawberry.field
    def echo(self, text: str) -> str:
        return text


@strawberry.type
class Mutation:
    @strawberry.mutation
    def rename(self, info: Info, id: strawberry.ID, name: str) -> Item:
        info.context.setdefault("renamed", []).append(name)
        return Item(id=id, name=name)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 1


schema = federated_schema(query=Query, mutation=Mutation, subscription=Subscription)


class Hooks(SchemaExtension):
    """Counts the operations that went through Strawberry's extension machinery."""

    runs = 0

    def on_operation(self) -> Any:
        Hooks.runs += 1
        yield


def strawberry_path(query: str, variables: dict[str, Any] | None, context: Any) -> Any:
    """The same operation through Strawberry's execute (the path before subgraph_kit.prepared)."""
    return strawberry.federation.Schema.execute(schema, query, variables, context)


def answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    return result.data, [error.formatted for error in result.errors or []]


CASES = [
    ("query($id: ID!) { item(id: $id) { id name } }", {"id": "7"}, {}),
    ("query($id: ID!) { item(id: $id) { id name } }", {"id": "0"}, {}),
    ("query($id: ID!) { item(id: $id) { id secret } }", {"id": "7"}, {}),
    ("query($id: ID!) { item(id: $id) { id secret } }", {"id": "7"}, {"staff": True}),
    ("{ item(id: 3) { id broken } }", None, {}),
    ("query($id: ID!) { item(id: $id) { id } }", {"id": 7.5}, {}),  # does not coerce
    ("query($id: ID!) { item(id: $id) { id } }", None, {}),  # missing variable
    ('mutation { rename(id: 1, name: "new") { id name } }', None, {}),
    ("{ items { id name kind count note } }", None, {}),  # a null in a non-null, a bad int
    ("{ items { __typename ... on Item { i: id k: kind } id } }", None, {}),
    ("{ item(id: 4) { note kind child { id name note } name } }", None, {}),
    ("query($s: Boolean!) { item(id: 4) { id name @skip(if: $s) } }", {"s": True}, {}),
    ("{ item(id: 4) { size { width unit } } }", None, {}),
    ("{ item(id: 5) { size { unit w: width } } }", None, {}),  # a null leaf: graphql-core's
    ("{ items { size { width unit } } }", None, {}),
    ("{ items { size { __typename width } } }", None, {}),
]


@pytest.mark.parametrize(("query", "variables", "context"), CASES)
async def test_a_prepared_operation_answers_as_strawberrys_path(
    query: str, variables: dict[str, Any] | None, context: dict[str, Any]
) -> None:
    expected = answer(await strawberry_path(query, variables, dict(context)))
    first = answer(await schema.execute(query, variables, dict(context)))
    second = answer(await schema.execute(query, variables, dict(context)))
    assert schema.prepared.get(query, None) is not None
    assert first == expected
    assert second == expected
    assert all("code" in error["extensions"] for error in expected[1])


def test_plain_leaves_are_the_attribute_fields_of_scalar_or_enum_type() -> None:
    plain = schema.prepared_execution.plain
    assert {"id", "name", "kind", "count", "note"} <= {f for t, f in plain if t == "Item"}
    assert ("Item", "secret") not in plain and ("Item", "child") not in plain
    assert ("Query", "echo") not in plain
    assert {("Item", "size"), ("Size", "width"), ("Size", "unit")} <= set(plain)


async def test_a_prepared_operation_skips_strawberrys_extensions() -> None:
    counted = federated_schema(query=Query, mutation=Mutation)
    counted.extensions = (*counted.extensions, Hooks)
    query = "query($id: ID!) { item(id: $id) { id name } }"
    await strawberry.federation.Schema.execute(counted, query, {"id": "1"}, {})
    assert Hooks.runs == 1  # Strawberry's path runs the hooks
    for _ in range(3):
        context: dict[str, Any] = {}
        result = await counted.execute(query, {"id": "1"}, context)
        assert result.errors is None and result.data == {"item": {"id": "1", "name": "Item 1"}}
        assert context["resolved"] == ["1"]
    assert Hooks.runs == 1  # prepared from the first request on


def deep(levels: int) -> str:
    return "{ item(id: 1) { " + "child { " * levels + "id" + " }" * levels + " } }"


NOT_PREPARED = [
    "{ item(id: 1) { id ",  # syntax error
    "{ item(id: 1) { nope } }",  # validation error
    deep(MAX_DEPTH + 1),  # the depth limit
    "{ " + " ".join(f"a{i}: echo(text: {i})" for i in range(MAX_TOKENS)) + " }",  # tokens
    '{ echo(text: "a\\u0000b") }',  # NUL spelled in the text
    "query A { echo(text: 1) } query B { echo(text: 2) }",  # which one: Strawberry decides
    "subscription { ticks }",
]


@pytest.mark.parametrize("query", NOT_PREPARED, ids=range(len(NOT_PREPARED)))
async def test_what_cannot_be_prepared_is_answered_by_strawberry(query: str) -> None:
    expected = answer(await strawberry_path(query, None, {}))
    assert schema.prepared.get(query, None) is None
    assert answer(await schema.execute(query, None, {})) == expected
    assert expected[1], "each of these is refused"
    assert all("code" in error["extensions"] for error in expected[1])


async def test_a_variable_holding_nul_is_refused_as_before() -> None:
    query = "query($t: String!) { echo(text: $t) }"
    assert schema.prepared.get(query, None) is not None
    result = await schema.execute(query, {"t": "a\x00b"}, {})
    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [
        {"code": "BAD_USER_INPUT", "field": "text"}
    ]
    fine = await schema.execute(query, {"t": "ab"}, {})
    assert fine.data == {"echo": "ab"} and fine.errors is None


async def test_a_named_operation_of_several_is_prepared_and_an_operation_type_is_checked() -> None:
    query = 'query A { echo(text: "a") } mutation B { rename(id: 1, name: "b") { name } }'
    context: dict[str, Any] = {}
    result = await schema.execute(query, None, context, operation_name="B")
    assert result.data == {"rename": {"name": "b"}} and context["renamed"] == ["b"]
    assert schema.prepared.get(query, "B") is not None
    only_queries = {OperationType.QUERY}
    refused: dict[str, Any] = {}
    with pytest.raises(InvalidOperationTypeError):
        await schema.execute(
            query, None, refused, operation_name="B", allowed_operation_types=only_queries
        )
    assert "renamed" not in refused


# --- over HTTP: the view answers a plain POST itself, everything else as Strawberry's view ---


class Viewed(ContextGraphQL):
    """The service's view, counting the requests that reached Strawberry's own steps."""

    def __init__(self, direct: bool) -> None:
        super().__init__(schema, lambda caller: {"staff": caller.staff})
        self.direct = direct
        self.strawberry_steps = 0

    async def get_context(self, request: Any, response: Any) -> Any:
        self.strawberry_steps += 1
        return await super().get_context(request, response)

    async def _answer_post(self, request: Any) -> Any:
        return await super()._answer_post(request) if self.direct else None


JSON = {"content-type": "application/json"}
REQUESTS: list[tuple[str, dict[str, str], bytes]] = [
    ("POST", JSON, b'{"query": "{ item(id: 2) { id name } }"}'),
    ("POST", JSON | STAFF_HEADERS, b'{"query": "{ item(id: 2) { secret } }"}'),
    ("POST", JSON, b'{"query": "{ item(id: 2) { secret broken } }"}'),
    ("POST", JSON, b'{"query": "mutation { rename(id: 1, name: \\"x\\") { name } }"}'),
    ("POST", JSON, b'{"query": "query($t: String!) { echo(text: $t) }", "variables": {"t": 5}}'),
    ("POST", JSON, b'{"query": "{ item(id: 1) { nope } }"}'),
    ("POST", JSON, b'{"query": "{ item(id: 1) { id "}'),
    ("POST", JSON, b'{"query": "{ item(id: 1) { id } }", "variables": [1]}'),
    ("POST", JSON, b'{"query": 7}'),
    ("POST", JSON, b'[{"query": "{ echo(text: 1) }"}]'),
    ("POST", JSON, b"{not json"),
    ("POST", JSON, b'{"variables": {}}'),
    ("POST", {"content-type": "text/plain"}, b'{"query": "{ echo(text: 1) }"}'),
    ("POST", JSON | {"accept": "text/event-stream"}, b'{"query": "subscription { ticks }"}'),
    ("GET", {}, b""),
]


def served(view: Viewed) -> Any:
    return serve_in_thread(Starlette(routes=[Route("/graphql", view, methods=["GET", "POST"])]))


async def test_the_view_answers_every_request_as_strawberrys_view() -> None:
    direct, plain = Viewed(direct=True), Viewed(direct=False)
    with served(direct) as direct_url, served(plain) as plain_url:
        async with httpx.AsyncClient() as http:
            for method, headers, body in REQUESTS:
                got = [
                    await http.request(method, f"{url}/graphql", headers=headers, content=body)
                    for url in (direct_url, plain_url)
                ]
                mine, theirs = (
                    (r.status_code, r.headers.get("content-type"), r.content) for r in got
                )
                assert mine == theirs, (method, headers, body)
    assert plain.strawberry_steps == len(REQUESTS)
    assert direct.strawberry_steps == plain.strawberry_steps - 5  # the first five: directly
