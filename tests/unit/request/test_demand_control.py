"""Demand control: the static estimated cost of operations (Apollo's numbers for Apollo's
examples), its enforcement before any fetch, the byte caps on subgraph and client responses,
and default limits that refuse what the services refuse."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graphql import parse, validate

from order_subgraph.schema import schema as orders_schema
from router.config import Config, ConfigError, parse_config
from router.execute.http_client import Endpoint, ResponseTooLarge, post
from router.execute.transport import HttpTransport, SubgraphFetchError
from router.operation.normalize import select_operation
from router.request import cost as cost_module
from router.request.cost import CostTooExpensive, DemandControl, DemandControlSettings, estimate
from router.request.cost_schema import CostSchema
from router.request.limits import Limits
from router.request.rules import count_document, over_budget
from router.supergraph.load import load_supergraph
from subgraph_kit.schema import LIMIT_RULES
from tests.support.auth import jwt_yaml, staff_bearer
from tests.support.paths import REPO
from tests.unit.execute.test_http_client import Seen, raw_server, read_request
from tests.unit.server.test_serving import JSON_POST, NAME_QUERY, codes, serving

ROOT = REPO

# Apollo's documentation example (routing/security/demand-control), plus a few fields to cover
# sized fields, nested lists, arguments with weights and a mutation.
BOOKS = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@cost", "@listSize"])
{ query: Query mutation: Mutation }

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet,
  type: String, external: Boolean, override: String, usedOverridden: Boolean,
  overrideLabel: String) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false)
  repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
directive @cost(weight: Int!)
  on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION

scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { BOOKS @join__graph(name: "books", url: "http://127.0.0.1:1/graphql") }

type Query @join__type(graph: BOOKS) {
  book(id: ID): Book
  bestsellers: [Book] @listSize(assumedSize: 5)
  newestAdditions(after: ID, limit: Int!): [Book] @listSize(slicingArguments: ["limit"])
  shelf(first: Int = 7): Shelf @listSize(slicingArguments: ["first"], sizedFields: ["books"])
  everything: [Book]
}
type Mutation @join__type(graph: BOOKS) {
  addBook(input: BookInput): Book
}
input BookInput @join__type(graph: BOOKS) {
  title: String
  tags: [String] @cost(weight: 2)
}
type Book @join__type(graph: BOOKS) {
  title: String
  author: Author
  publisher: Publisher
}
type Author @join__type(graph: BOOKS) {
  name: String
  books: [Book]
  rating: Int @cost(weight: 3)
}
type Publisher @join__type(graph: BOOKS) {
  name: String
  address: Address
}
type Address @join__type(graph: BOOKS) @cost(weight: 5) {
  zipCode: Int!
}
type Shelf @join__type(graph: BOOKS) {
  books: [Book]
}
"""
BOOK_FIELDS = "title author { name } publisher { name address { zipCode } }"
SCHEMA = CostSchema.from_supergraph(load_supergraph(BOOKS))


def cost(
    query: str,
    variables: dict[str, Any] | None = None,
    schema: CostSchema = SCHEMA,
    list_size: int = 10,
) -> float:
    document = parse(query)
    return estimate(schema, document, select_operation(document, None), variables or {}, list_size)


def test_apollos_examples_cost_what_apollos_documentation_says() -> None:
    # 1 book + 1 author + 1 publisher + 5 for the @cost(weight: 5) Address
    assert cost(f"query BookQuery {{ book(id: 1) {{ {BOOK_FIELDS} }} }}") == 8
    # @listSize(assumedSize: 5): 5 × 8
    assert cost(f"{{ bestsellers {{ {BOOK_FIELDS} }} }}") == 40
    # @listSize(slicingArguments: ["limit"]): limit × 8
    assert cost(f"{{ newestAdditions(limit: 3) {{ {BOOK_FIELDS} }} }}") == 24
    assert cost(f"{{ newestAdditions(limit: 7) {{ {BOOK_FIELDS} }} }}") == 56


def test_slicing_arguments_from_variables_defaults_and_sized_fields() -> None:
    query = f"query Q($n: Int!) {{ newestAdditions(limit: $n) {{ {BOOK_FIELDS} }} }}"
    assert cost(query, {"n": 2}) == 16
    assert cost(query, {"n": 50}) == 400
    # shelf(first:) sizes its `books` field; the default `first: 7` counts when none is given
    assert cost("{ shelf(first: 3) { books { title author { name } } } }") == 1 + 3 * 2
    assert cost("{ shelf { books { title author { name } } } }") == 1 + 7 * 2
    assert cost("query Q($f: Int) { shelf(first: $f) { books { title } } }", {"f": 40}) == 41


def test_nested_lists_multiply_and_the_default_list_size_applies() -> None:
    # everything: no @listSize → list_size; author.books likewise
    query = "{ everything { author { books { author { name } } } } }"
    assert cost(query, list_size=10) == 10 * (1 + 1 + 10 * (1 + 1))
    assert cost(query, list_size=3) == 3 * (1 + 1 + 3 * (1 + 1))
    # a field's own @cost replaces the default weight (leaf 0, here 3)
    assert cost("{ book { author { rating } } }") == 1 + 1 + 3


def test_skip_include_mutations_and_weighted_arguments() -> None:
    query = "query Q($yes: Boolean!) { book { author @include(if: $yes) { name } } }"
    assert cost(query, {"yes": True}) == 2
    assert cost(query, {"yes": False}) == 1
    assert cost("{ book { author @skip(if: true) { name } } }") == 1
    # a mutation costs 10; the input object 1; the weighted list 2 plus 2 per item
    assert cost('mutation { addBook(input: {title: "x"}) { title } }') == 10 + 1 + 1
    mutation = "mutation M($in: BookInput) { addBook(input: $in) { title } }"
    assert cost(mutation, {"in": {"title": "x", "tags": ["a", "b"]}}) == 10 + 1 + (1 + 6)


def test_fragments_are_scored_once_each_so_a_spread_bomb_is_cheap_to_score() -> None:
    # F0 costs 1 (author); F(i) spreads F(i-1) twice: 2**40 once expanded, which only a
    # per-fragment memo can compute.
    fragments = ["fragment F0 on Book { title author { name } }"]
    fragments += [f"fragment F{i} on Book {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 41)]
    query = "{ book { ...F40 } }\n" + "\n".join(fragments)
    assert cost(query) == 1 + 2**40
    # the same fragment under a sized parent is scored with that parent's size
    sized = "{ shelf(first: 4) { ...S } everything { ...S2 } }"
    sized += " fragment S on Shelf { books { title } } fragment S2 on Book { author { name } }"
    assert cost(sized) == (1 + 4 * 1) + 10 * (1 + 1)


def test_renamed_imports_and_namespaced_directives_are_read() -> None:
    renamed = BOOKS.replace(
        'import: ["@cost", "@listSize"]',
        'import: [{ name: "@cost", as: "@weight" }, { name: "@listSize", as: "@size" }]',
    )
    renamed = renamed.replace("@cost(", "@weight(").replace("@listSize(", "@size(")
    renamed = renamed.replace("directive @weight(weight", "directive @weight(weight")
    schema = CostSchema.from_supergraph(load_supergraph(renamed))
    assert cost(f"{{ bestsellers {{ {BOOK_FIELDS} }} }}", schema=schema) == 40
    # without a cost link, nothing is read: Address costs 1, lists the default size
    plain = BOOKS.replace(
        '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@cost", "@listSize"])', ""
    )
    schema = CostSchema.from_supergraph(load_supergraph(plain))
    assert cost(f"{{ bestsellers {{ {BOOK_FIELDS} }} }}", schema=schema) == 10 * 4


# --- our supergraph: the reproduced attack and the legitimate operations ------------------------

SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()
COPY = (
    "customers { edges { node { orders { edges { node { customer { orders { edges { node "
    "{ id } } } } } } } } } }"
)
ATTACK = "{" + " ".join(f"a{i}: {COPY}" for i in range(25)) + "}"


def test_the_attack_costs_more_than_the_default_max_and_real_operations_far_less() -> None:
    schema = CostSchema.from_supergraph(load_supergraph(SUPERGRAPH))
    maximum = Config().demand_control.max
    assert cost(ATTACK, schema=schema) > maximum
    legitimate = [
        'query { order(id: "1") { id status total { amount currency } customer { name email } } }',
        "query { orders(first: 50) { edges { node { id status total { amount } customer "
        "{ name } } } } }",
        "query { customers(first: 100) { edges { node { id name email createdAt orders(first: 20)"
        " { totalCount edges { node { id status total { amount currency } items { sku quantity "
        "subtotal { amount } } } } } } } pageInfo { hasNextPage endCursor } } }",
        'mutation { createOrder(input: {customerId: "1", items: [{sku: "A", quantity: 1, '
        'unitPrice: "1.00"}]}) { id total { amount } customer { name } } }',
    ]
    assert [cost(query, schema=schema) for query in legitimate] == [3, 201, 46_302, 15]
    assert max(cost(q, schema=schema) for q in legitimate) < maximum / 2
    # `first` sizes the connections: the same query with smaller pages costs less
    small_pages = legitimate[2].replace("first: 100", "first: 10").replace("first: 20", "first: 2")
    # connection 1 + pageInfo 1 + 10 × (edge, node, orders + 2 × (edge, node, total + 10 items × 2))
    assert cost(small_pages, schema=schema) == 2 + 10 * (3 + 2 * (3 + 10 * 2))


async def test_the_attack_is_refused_before_any_subgraph_is_asked() -> None:
    # by a signed-in staff member, whom authorization removes nothing from
    async with serving(jwt_yaml()) as (client, subgraph, _):
        refused = await client.post(
            "/graphql", json={"query": ATTACK}, headers=JSON_POST | staff_bearer()
        )
        assert refused.status_code == 400
        body = refused.json()
        assert "data" not in body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
        assert error["extensions"]["cost.max"] == Config().demand_control.max
        assert error["extensions"]["cost.estimated"] > error["extensions"]["cost.max"]
        assert error["message"].startswith("query estimated cost ")
        assert subgraph.requests == []  # nothing was fetched
        allowed = await client.post("/graphql", json={"query": NAME_QUERY}, headers=JSON_POST)
        assert allowed.json() == {"data": {"customer": {"name": "Alice"}}}
        assert len(subgraph.requests) == 1


async def test_measure_mode_and_a_configured_max() -> None:
    async with serving("demand_control: { mode: measure }") as (client, subgraph, app):
        answer = await client.post("/graphql", json={"query": ATTACK}, headers=JSON_POST)
        assert "COST_ESTIMATED_TOO_EXPENSIVE" not in codes(answer)
        assert subgraph.requests  # measured, not refused
        assert app.router.demand_control.estimated[-1] > Config().demand_control.max
    config = "demand_control: { strategy: { static_estimated: { max: 0, list_size: 1 } } }"
    async with serving(config) as (client, subgraph, _):
        refused = await client.post("/graphql", json={"query": NAME_QUERY}, headers=JSON_POST)
        assert codes(refused) == ["COST_ESTIMATED_TOO_EXPENSIVE"]
        assert refused.json()["errors"][0]["extensions"]["cost.estimated"] == 1.0
        assert subgraph.requests == []
    async with serving("demand_control: { enabled: false }") as (client, subgraph, _):
        answer = await client.post("/graphql", json={"query": ATTACK}, headers=JSON_POST)
        assert "COST_ESTIMATED_TOO_EXPENSIVE" not in codes(answer)


def test_demand_control_config_is_read_in_apollos_shape_and_checked() -> None:
    config = parse_config(
        "demand_control:\n  enabled: true\n  mode: measure\n"
        "  strategy: { static_estimated: { list_size: 25, max: 1000 } }\n"
    )
    assert config.demand_control.mode == "measure"
    assert (config.demand_control.list_size, config.demand_control.max) == (25, 1000.0)
    with pytest.raises(ConfigError, match=r"demand_control\.mode"):
        parse_config("demand_control: { mode: strict }")
    with pytest.raises(ConfigError, match=r"demand_control\.strategy\.static_estimated\.maximum"):
        parse_config("demand_control: { strategy: { static_estimated: { maximum: 5 } } }")
    sizes = parse_config(
        "limits: { http_max_response_bytes: 1MB, subgraph: { all: { http_max_response_size:"
        " 10MiB }, subgraphs: { orders: { http_max_response_size: 512kb } } } }"
    )
    assert sizes.http_max_response_bytes == 1_000_000
    assert sizes.subgraph_max_response_bytes == 10 * 1024 * 1024
    assert sizes.subgraph_max_response_bytes_for == {"orders": 512_000}
    with pytest.raises(ConfigError, match="http_max_response_size: must be a size"):
        parse_config("limits: { subgraph: { all: { http_max_response_size: lots } } }")


# --- defaults that refuse what the services refuse -------------------------------------------


def _nested(levels: int) -> str:
    """An operation on the orders service `levels` field levels deep (root field = 1)."""
    chain = ["orders", "edges", "node", "customer"]
    fields = [chain[i % 4] for i in range(levels - 1)]
    leaf = {"orders": "totalCount", "edges": "cursor", "node": "id", "customer": "id"}
    query = leaf[fields[-1]] if fields else ""
    for name in reversed(fields):
        query = f"{name} {{ {query} }}"
    return "{ " + (query or "__typename") + " }"


def test_the_default_depth_and_alias_limits_are_the_services_own() -> None:
    config = Config()
    limits = Limits(config.max_depth, config.max_aliases)

    def router_refuses(query: str) -> bool:
        (counts,) = count_document(parse(query)).values()
        return bool(over_budget(counts, limits))

    def service_refuses(query: str) -> bool:
        document = parse(query)
        assert not validate(orders_schema._schema, document), query  # valid apart from limits
        return bool(validate(orders_schema._schema, document, LIMIT_RULES))

    outcomes = {n: (router_refuses(_nested(n)), service_refuses(_nested(n))) for n in (11, 13, 14)}
    assert outcomes == {11: (False, False), 13: (False, False), 14: (True, True)}
    for count in (30, 31):
        query = "{ " + " ".join(f"a{i}: orders {{ totalCount }}" for i in range(count)) + " }"
        assert router_refuses(query) == service_refuses(query) == (count > 30)


# --- byte caps --------------------------------------------------------------------------------

TWENTY_MB = 20 * 1024 * 1024


def sends_twenty_megabytes(chunked: bool, outcome: dict[str, Any]) -> Any:
    """A subgraph that answers 20 MB in 64 KiB writes; `outcome` says how far it got."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        await read_request(reader, seen)
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {TWENTY_MB}"
        writer.write(f"HTTP/1.1 200 OK\r\n{framing}\r\n\r\n".encode())
        piece = b'{"data": "' + b"x" * (64 * 1024 - 12) + b'"}'
        outcome["written"] = 0
        try:
            while outcome["written"] < TWENTY_MB:
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                writer.write(data)
                await writer.drain()
                outcome["written"] += len(piece)
            outcome["finished"] = True
        except ConnectionError:
            outcome["finished"] = False  # the client closed the connection on us

    return handler


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_a_subgraph_answer_over_the_cap_is_not_read_and_its_connection_is_closed(
    chunked: bool,
) -> None:
    outcome: dict[str, Any] = {}
    async with raw_server(sends_twenty_megabytes(chunked, outcome)) as (endpoint, _):
        capped = Endpoint(endpoint.url, limit=2, max_response_bytes=1_000_000)
        with pytest.raises(ResponseTooLarge, match="larger than 1000000 bytes"):
            async with asyncio.timeout(10):
                await post(capped, b"{}", [], retry_if_closed=True)
        for _ in range(500):  # the server notices when its next write fails
            if "finished" in outcome:
                break
            await asyncio.sleep(0.01)
        capped.pool.close()
    assert outcome["finished"] is False
    assert outcome["written"] < TWENTY_MB / 2


async def test_the_transport_turns_an_oversized_answer_into_a_fetch_error() -> None:
    outcome: dict[str, Any] = {}
    async with raw_server(sends_twenty_megabytes(True, outcome)) as (endpoint, _):
        transport = HttpTransport(
            {"orders": endpoint.url, "customers": endpoint.url},
            max_response_bytes=TWENTY_MB * 2,
            max_response_bytes_for={"orders": 500_000},
        )
        with pytest.raises(SubgraphFetchError) as failure:
            await transport.send("orders", {"query": "{ __typename }"})
        await transport.close()
    assert failure.value.code == "SUBREQUEST_HTTP_ERROR"
    assert "larger than 500000 bytes" in failure.value.message
    assert transport.max_response_bytes == {"orders": 500_000, "customers": TWENTY_MB * 2}


async def test_a_client_response_over_the_cap_is_replaced_by_an_error() -> None:
    async with serving("limits: { http_max_response_bytes: 30 }") as (client, _, _app):
        answer = await client.post("/graphql", json={"query": NAME_QUERY}, headers=JSON_POST)
        assert answer.json()["data"] is None
        assert codes(answer) == ["RESPONSE_TOO_LARGE"]
    async with serving("limits: { http_max_response_bytes: 1kb }") as (client, _, _app):
        answer = await client.post("/graphql", json={"query": NAME_QUERY}, headers=JSON_POST)
        assert answer.json() == {"data": {"customer": {"name": "Alice"}}}


def test_an_operation_without_variables_is_estimated_once_and_refused_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    estimates: list[str] = []
    real = cost_module.estimate

    def counted(*args: Any) -> float:
        estimates.append(args[2].operation.value)
        return real(*args)

    monkeypatch.setattr(cost_module, "estimate", counted)
    control = DemandControl(SCHEMA, DemandControlSettings(max=10.0))
    cheap, dear = (
        parse("{ book(id: 1) { title } }"),
        parse("{ everything { " + BOOK_FIELDS + " } }"),
    )
    with_variables = parse("query ($n: Int!) { newestAdditions(limit: $n) { title } }")
    for _ in range(3):
        control.check(cheap, select_operation(cheap, None), {})
        with pytest.raises(CostTooExpensive):
            control.check(dear, select_operation(dear, None), {})
        control.check(with_variables, select_operation(with_variables, None), {"n": 1})
    assert len(estimates) == 2 + 3  # each without variables once, the other per request
    assert len(control.estimated) == 9  # every check recorded, cached or not
