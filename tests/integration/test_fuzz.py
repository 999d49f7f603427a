"""Fuzzing the router: generated and mutated requests through the real ASGI app.

The router (`RouterApp`, router.yaml defaults with its JWT settings; every request carries a
staff token, so every field is reached) runs in front of the real customers and orders services
in the same process, on fresh SQLite files made for this module (mutations write to them).
Hypothesis and hypothesis-graphql generate requests from the router's API schema:
valid queries and mutations, documents with one schema violation, documents mutated at the
character and token level (edits, truncation, duplicated fragments, huge aliases), random
bytes, random variables, random `operationName`s and random JSON envelopes.

Every answer must be one a client can act on: an HTTP status below 500, a JSON body, and an
`extensions.code` on every entry of `errors` (in a batch, of every answer's `errors`).

The example budget is fixed and the runs are derandomized (no example database), so CI sees the
same examples every time. `FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/test_fuzz.py` searches
deeper (each test, that many examples).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from graphql import GraphQLSchema
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, nodes, queries

import customer_subgraph
import order_subgraph
from router.execute.inprocess import in_process
from router.server.app import RouterApp, build_router
from router.supergraph.load import load_supergraph
from tests.support.auth import jwt_config, staff_bearer
from tests.support.paths import REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
API_SCHEMA: GraphQLSchema = load_supergraph(SUPERGRAPH).api_schema

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the router under test --------------------------------------------------------------------


class Served:
    """The router app and both services on one private event loop, so that synchronous
    hypothesis tests can send requests through httpx's ASGI transport."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.client: httpx.AsyncClient = self.loop.run_until_complete(self._start(folder))

    async def _start(self, folder: Path) -> httpx.AsyncClient:
        customers = customer_subgraph.create_app(
            customer_subgraph.Settings(database_url=f"sqlite:///{folder}/customers.sqlite3")
        )
        orders = order_subgraph.create_app(
            order_subgraph.Settings(database_url=f"sqlite:///{folder}/orders.sqlite3"),
            customers_transport=httpx.ASGITransport(app=customers),
        )
        transport = await self.stack.enter_async_context(
            in_process({"customers": customers, "orders": orders})
        )
        config = jwt_config()  # the committed router.yaml's JWT and claim headers
        app = RouterApp(build_router(SUPERGRAPH, config, transport=transport), config)
        manager = await self.stack.enter_async_context(LifespanManager(app))
        self.app = manager.app
        # an exception escaping the app is what uvicorn answers with a plain-text 500: let it
        # fail the test with its traceback
        asgi = httpx.ASGITransport(app=manager.app, raise_app_exceptions=True)
        # a staff token on every request, so that every field and mutation is reached
        return await self.stack.enter_async_context(
            httpx.AsyncClient(
                transport=asgi, base_url="http://router", timeout=30, headers=staff_bearer()
            )
        )

    def raw(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        """Call the app as a server would, with a scope httpx could not send (any header bytes,
        any query-string bytes): the status and the body it answered."""
        return self.loop.run_until_complete(self._raw(scope, body))

    async def _raw(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], payload

    def request(self, method: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        path = "/graphql"
        if method == "GET":
            return self.loop.run_until_complete(
                self.client.get(path, params=json.loads(content), headers=headers)
            )
        return self.loop.run_until_complete(
            self.client.request(method, path, content=content, headers=headers)
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.stack.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("fuzz"))
    try:
        yield served
    finally:
        served.close()


JSON_HEADERS = {"content-type": "application/json"}


def assert_answerable(response: httpx.Response, sent: Any) -> None:
    """Status below 500, a JSON body, and a code on every error."""
    where = f"sent {sent!r:.2000}\ngot {response.status_code} {response.text[:2000]!r}"
    assert response.status_code < 500, where
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"the body is not JSON: {where}")
    answers = body if isinstance(body, list) else [body]
    for answer in answers:
        assert isinstance(answer, dict), where
        errors = answer.get("errors", [])
        assert isinstance(errors, list), where
        for error in errors:
            code = error.get("extensions", {}).get("code") if isinstance(error, dict) else None
            assert isinstance(code, str) and code, f"an error without extensions.code: {where}"


def post(served: Served, payload: Any) -> None:
    content = json.dumps(payload).encode()
    assert_answerable(served.request("POST", content, JSON_HEADERS), payload)


# --- strategies ---------------------------------------------------------------------------------

DECIMALS = st.one_of(
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(str),
    st.sampled_from(["1.005", "NaN", "Infinity", "-0", "1e400", "", "12,50", "0x10"]),
    st.text(max_size=10),
).map(nodes.String)
SCALARS = {
    "Decimal": DECIMALS,
    "DateTime": st.datetimes().map(lambda d: d.isoformat()).map(nodes.String),
}

VALID_QUERIES = queries(API_SCHEMA, custom_scalars=SCALARS)
VALID_MUTATIONS = mutations(API_SCHEMA, custom_scalars=SCALARS)
INVALID_OPERATIONS = from_schema(API_SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE)
DOCUMENTS = st.one_of(VALID_QUERIES, VALID_MUTATIONS).map(str)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
VARIABLES = st.none() | st.dictionaries(
    st.sampled_from(["id", "first", "input", "after", "status", "x"]) | st.text(max_size=8),
    JSON_VALUES,
    max_size=4,
)
OPERATION_NAMES = (
    st.none() | st.sampled_from(["Q", "M", "", "IntrospectionQuery"]) | st.text(max_size=12)
)

TOKENS = [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "!",
    "=",
    "@",
    "|",
    "&",
    "...",
    '"',
    '"""',
    "#",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "Query",
    "Customer",
    "Order",
    "__typename",
    "__schema",
    "__type",
    "customer",
    "orders",
    "edges",
    "node",
    "id",
    "first",
    "null",
    "true",
    "1",
    "-1",
    "1e9999",
    "\\u0000",
    "\x00",
    "\ud800",
    "é",
    "\u202e",
    "@skip(if: true)",
    "@include(if: $x)",
    "@defer",
    "$id: ID!",
    "...on Customer",
    "\n",
    " ",
]


@st.composite
def mutated(draw: st.DrawFn, documents: st.SearchStrategy[str] = DOCUMENTS) -> str:
    """A valid document with a few random edits: characters or tokens inserted, deleted or
    replaced, a truncation, or a duplicated span."""
    text = draw(documents)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]))
        piece = draw(st.sampled_from(TOKENS) | st.text(max_size=3))
        if kind == "insert":
            text = text[:at] + piece + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif kind == "replace":
            text = text[:at] + piece + text[at + len(piece) :]
        elif kind == "truncate":
            text = text[:at]
        else:
            end = draw(st.integers(at, len(text)))
            text = text[:end] + text[at:end] * draw(st.integers(1, 3)) + text[end:]
    return text


NAMES = st.text(string.ascii_letters + "_", min_size=1, max_size=6)
INNERMOST_SELECTION = re.compile(r"(?<=[_0-9A-Za-z)])\s*(\{[^{}]*\})")
"""An innermost selection set: braces after a name or arguments (an input object's braces
follow a colon)."""


@st.composite
def emptied(draw: st.DrawFn) -> str:
    """A valid document with one innermost selection set emptied: `total { }`."""
    text = draw(DOCUMENTS)
    spans = [m.span(1) for m in INNERMOST_SELECTION.finditer(text)]
    assume(spans)
    start, end = draw(st.sampled_from(spans))
    return text[:start] + "{ }" + text[end:]


@st.composite
def fragment_games(draw: st.DrawFn) -> str:
    """Fragments defined twice, cycles, spreads of unknown fragments, spreads on wrong types,
    and chains where each fragment spreads the previous one several times."""
    kind = draw(st.sampled_from(["duplicate", "cycle", "unknown", "wrong_type", "chain"]))
    if kind == "duplicate":
        return "query { ...F } fragment F on Query { __typename } fragment F on Query { customers { totalCount } }"
    if kind == "cycle":
        return "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    if kind == "unknown":
        return f"query {{ ...{draw(NAMES)} }}"
    if kind == "wrong_type":
        return 'query { customer(id: "1") { ...F } } fragment F on Order { id }'
    depth = draw(st.integers(1, 12))
    width = draw(st.integers(1, 3))
    spreads = " ".join(["...F{}"] * width)
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [
        f"fragment F{i} on Query {{ {spreads.format(*[i - 1] * width)} }}"
        for i in range(1, depth + 1)
    ]
    return f"query {{ ...F{depth} }} " + " ".join(fragments)


@st.composite
def huge_aliases(draw: st.DrawFn) -> str:
    """Many aliases, very long alias names, or the same alias on different fields."""
    count = draw(st.integers(1, 400))
    length = draw(st.sampled_from([1, 100, 10_000, 100_000]))
    kind = draw(st.sampled_from(["many", "long", "conflict"]))
    if kind == "many":
        return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"
    if kind == "long":
        return "{ " + "a" * length + ': customer(id: "1") { id } }'
    return '{ x: customer(id: "1") { id } x: order(id: "1") { id } }'


# --- the tests ----------------------------------------------------------------------------------


@FUZZ
@given(document=VALID_QUERIES, variables=VARIABLES, operation_name=OPERATION_NAMES)
def test_valid_queries_are_answered(
    served: Served, document: str, variables: Any, operation_name: str | None
) -> None:
    post(served, {"query": document})
    post(served, {"query": document, "variables": variables, "operationName": operation_name})


WITH_VARIABLES = [
    "query Q($id: ID!, $first: Int! = 5) { customer(id: $id) { name orders(first: $first) { totalCount } } }",
    "query Q($status: OrderStatus, $after: String) { orders(status: $status, after: $after) { edges { node { id status } } } }",
    "mutation M($input: CreateOrderInput!) { createOrder(input: $input) { id total { amount } customer { name } } }",
    "mutation M($input: CreateCustomerInput!) { createCustomer(input: $input) { id email } }",
    "mutation M($id: ID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { id name } }",
    "query Q($skip: Boolean!, $n: Int) { customers(first: $n) @skip(if: $skip) { totalCount } }",
]
ITEM = st.fixed_dictionaries(
    {
        "sku": JSON_VALUES,
        "quantity": st.integers() | JSON_VALUES,
        "unitPrice": DECIMALS.map(lambda n: n.value) | JSON_VALUES,
    }
)
SHAPED_VARIABLES = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["1", "2", "999", "", "-1", "1e3"]) | JSON_VALUES,
        "first": st.integers() | JSON_VALUES,
        "n": st.integers() | JSON_VALUES,
        "status": st.sampled_from(["PAID", "paid", "NOPE"]) | JSON_VALUES,
        "after": st.text(max_size=12) | JSON_VALUES,
        "skip": st.booleans() | JSON_VALUES,
        "input": st.fixed_dictionaries(
            {},
            optional={
                "customerId": st.sampled_from(["1", "2", "999"]) | JSON_VALUES,
                "items": st.lists(ITEM, max_size=3) | JSON_VALUES,
                "currency": st.sampled_from(["USD", "EUR", ""]) | JSON_VALUES,
                "name": st.text(max_size=10) | JSON_VALUES,
                "email": st.emails() | st.text(max_size=10) | JSON_VALUES,
            },
        )
        | JSON_VALUES,
    },
)


@FUZZ
@given(
    document=st.sampled_from(WITH_VARIABLES),
    variables=SHAPED_VARIABLES | VARIABLES,
    operation_name=st.sampled_from([None, "Q", "M"]) | OPERATION_NAMES,
)
def test_operations_with_variables_are_answered_for_any_variables(
    served: Served, document: str, variables: Any, operation_name: str | None
) -> None:
    post(served, {"query": document, "variables": variables, "operationName": operation_name})


@FUZZ
@given(document=VALID_MUTATIONS)
def test_valid_mutations_are_answered(served: Served, document: str) -> None:
    post(served, {"query": document})


@FUZZ
@given(document=INVALID_OPERATIONS)
def test_operations_with_a_schema_violation_are_refused_with_a_code(
    served: Served, document: str
) -> None:
    post(served, {"query": document})


@FUZZ
@given(
    document=st.one_of(mutated(), fragment_games(), huge_aliases()),
    variables=VARIABLES,
    operation_name=OPERATION_NAMES,
)
def test_mutated_documents_are_answered(
    served: Served, document: str, variables: Any, operation_name: str | None
) -> None:
    post(served, {"query": document, "variables": variables, "operationName": operation_name})


@FUZZ
@given(
    document=emptied()
    | st.sampled_from(["{ }", "query { }", 'mutation { cancelOrder(id: "1") { total { } } }'])
)
def test_an_empty_selection_set_is_refused(served: Served, document: str) -> None:
    """The grammar has no empty selection set (`SelectionSet : { Selection+ }`): the document
    is refused as a whole, before anything runs."""
    response = served.request("POST", json.dumps({"query": document}).encode(), JSON_HEADERS)
    assert_answerable(response, document)
    body = response.json()
    assert response.status_code == 400 and "data" not in body, (document, response.text)
    assert body["errors"][0]["extensions"]["code"] in (
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
    )


ENVELOPES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "query": st.none() | st.text(max_size=30) | DOCUMENTS | JSON_VALUES,
            "variables": JSON_VALUES,
            "operationName": JSON_VALUES,
            "extensions": JSON_VALUES
            | st.fixed_dictionaries(
                {
                    "persistedQuery": st.fixed_dictionaries(
                        {"version": JSON_VALUES, "sha256Hash": JSON_VALUES}
                    )
                }
            ),
        },
    ),
    st.lists(st.fixed_dictionaries({"query": DOCUMENTS}), max_size=3),
)


@FUZZ
@given(envelope=ENVELOPES, method=st.sampled_from(["POST", "GET"]))
def test_random_request_envelopes_are_answered(served: Served, envelope: Any, method: str) -> None:
    if method == "GET":
        if not isinstance(envelope, dict):
            return
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in envelope.items()}
        sent = json.dumps(params).encode()
        response = served.request("GET", sent, {"apollo-require-preflight": "true"})
        assert_answerable(response, params)
        return
    post(served, envelope)


@FUZZ
@given(
    body=st.binary(max_size=300)
    | st.text(max_size=200).map(str.encode)
    | DOCUMENTS.map(lambda d: json.dumps({"query": d}).encode()).flatmap(
        lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut])
    ),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "application/graphql",
            "application/xml",
        ]
    ),
)
def test_random_bytes_are_answered(served: Served, body: bytes, content_type: str) -> None:
    response = served.request("POST", body, {"content-type": content_type})
    assert_answerable(response, body)


# What uvicorn's HTTP parsers let through: header values of any byte but CR, LF and NUL
# (obs-text, 0x80-0xFF, included), query strings of visible ASCII and high bytes. "ascii" keeps
# to the bytes every client sends.
OCTETS = {
    "ascii": (bytes(range(32, 127)), bytes(b for b in range(33, 127) if b != ord("#"))),
    "any": (
        bytes(b for b in range(1, 256) if b not in b"\r\n"),
        bytes(b for b in range(33, 256) if b not in b"#\x7f"),
    ),
}
RAW_HEADER_VALUES = [b"Bearer \xff", b"\xc3\x28", b"\xed\xa0\x80"]
RAW_QUERY_STRINGS = [
    b"query=\xff",
    b"query=%ff",
    b"query=%C3%28",
    b"query={__typename}&variables=%ff",
    b"query=%",
]


def from_alphabet(alphabet: bytes, max_size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=max_size).map(
        lambda raw: bytes(alphabet[b % len(alphabet)] for b in raw)
    )


@st.composite
def raw_requests(draw: st.DrawFn, octets: str) -> tuple[dict[str, Any], bytes]:
    """An ASGI scope and body as uvicorn hands them over from the wire."""
    header_alphabet, url_alphabet = OCTETS[octets]
    values = from_alphabet(header_alphabet, 20) | st.sampled_from(
        [
            v
            for v in [*RAW_HEADER_VALUES, b"application/json", b"text/html", b"true"]
            if all(b in header_alphabet for b in v)
        ]
    )
    names = st.sampled_from(
        [
            b"authorization",
            b"content-type",
            b"accept",
            b"origin",
            b"x-request-id",
            b"apollo-require-preflight",
        ]
    )
    query_strings = from_alphabet(url_alphabet, 40) | DOCUMENTS.map(
        lambda d: b"query=" + d.encode()
    )
    if octets == "any":
        query_strings |= st.sampled_from(RAW_QUERY_STRINGS)
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    path = draw(st.sampled_from(["/graphql", "/", "/health", "/metrics", "/nowhere"]))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": draw(query_strings),
        "headers": draw(st.lists(st.tuples(names, values), max_size=5)),
        "server": ("127.0.0.1", 4000),
        "client": ("127.0.0.1", 50000),
    }
    body = draw(st.binary(max_size=40) | DOCUMENTS.map(lambda d: json.dumps({"query": d}).encode()))
    return scope, body


@pytest.mark.parametrize(
    "octets",
    [
        "ascii",
        "any",
    ],
)
@FUZZ
@given(data=st.data())
def test_any_header_and_query_string_bytes_are_answered(
    served: Served, octets: str, data: st.DataObject
) -> None:
    """Header values and query strings arrive as bytes, not necessarily UTF-8."""
    scope, body = data.draw(raw_requests(octets))
    status, payload = served.raw(scope, body)
    sent = {k: scope[k] for k in ("method", "path", "headers", "query_string")}
    where = f"sent {sent!r} body {body!r:.200}\ngot {status} {payload[:500]!r}"
    assert status < 500, where
    if scope["path"] == "/metrics" or payload.startswith(b"<") or scope["method"] == "OPTIONS":
        return  # Prometheus text, GraphiQL's page, a CORS preflight's empty body
    try:
        answer = json.loads(payload)
    except ValueError:
        pytest.fail(f"the body is not JSON: {where}")
    for entry in answer if isinstance(answer, list) else [answer]:
        for error in entry.get("errors", []):
            assert error.get("extensions", {}).get("code"), where
