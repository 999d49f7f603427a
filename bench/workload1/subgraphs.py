"""The public benchmark's four subgraphs (accounts, inventory, products, reviews), served fast.

    .venv/bin/python -m bench.workload1.subgraphs [--host 127.0.0.1] [--port 4200]

One process, one port, one path per subgraph as upstream serves them: POST /accounts,
/inventory, /products, /reviews (GraphQL over HTTP, JSON). Also GET /health, GET /stats
(requests answered per subgraph) and GET /bodies (every distinct request seen, with its count).

Built on uvloop and httptools directly. Each answer is computed once: the first request with a
given body is run with graphql-core against that subgraph's schema (its SDL file here plus
federation's `_entities` and `_service`), and the complete HTTP response is kept in a dict keyed
by (path, exact body). Every later identical request is one dict lookup and one write, so a
gateway in front of this server measures itself, not its subgraphs.

The resolvers reproduce what the upstream Rust subgraphs answer, quirks included:
- reviews: every review's `author` is user 1 with username "urigo" (`@provides`), and every
  `User` entity (whatever its id) has the first two reviews; a `User` entity's own username is
  "user" (never asked for by a gateway: it is `@external` there).
- inventory: the `Product` entity resolver takes only the `upc` and ignores the `price` and
  `weight` sent for `@requires`, so `shippingEstimate` is always null.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httptools
import uvloop
from graphql import (
    GraphQLError,
    GraphQLSchema,
    GraphQLUnionType,
    ObjectTypeDefinitionNode,
    build_schema,
    execute_sync,
    parse,
    validate,
)

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.workload1.data import IN_STOCK, PRODUCTS, REVIEWS, USERS

HERE = Path(__file__).resolve().parent
SUBGRAPHS = ("accounts", "inventory", "products", "reviews")
CACHE_LIMIT = 10_000
Obj = dict[str, Any]

# What a federation library adds to a subgraph's schema, declared so graphql-core can build it.
FEDERATION = """
scalar _Any
scalar link__Import
scalar FieldSet
directive @link(url: String!, import: [link__Import]) repeatable on SCHEMA
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @external on FIELD_DEFINITION | OBJECT
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @shareable repeatable on FIELD_DEFINITION | OBJECT
type _Service { sdl: String! }
"""


# --- resolvers ---------------------------------------------------------------------------------
# Objects are dicts; a callable value is a field resolver (graphql-core's default resolver calls
# it with `info` and the field's arguments).


def _account(user: Obj) -> Obj:
    return {"__typename": "User", **user}


def _accounts() -> tuple[Obj, Callable[[Obj], Obj | None]]:
    by_id = {user["id"]: user for user in USERS}

    def entity(rep: Obj) -> Obj | None:
        user = by_id.get(str(rep.get("id")))
        return _account(user) if user else None

    root = {
        "me": lambda info: _account(USERS[0]),
        "user": lambda info, id: _account(by_id[id]) if id in by_id else None,
        "users": lambda info: [_account(user) for user in USERS],
    }
    return root, entity


def _products() -> tuple[Obj, Callable[[Obj], Obj | None]]:
    by_upc = {product["upc"]: product for product in PRODUCTS}

    def product(item: Obj) -> Obj:
        return {"__typename": "Product", **item}

    def entity(rep: Obj) -> Obj | None:
        item = by_upc.get(str(rep.get("upc")))
        return product(item) if item else None

    def top_products(info: Any, first: int | None = 5) -> list[Obj]:
        return [product(item) for item in PRODUCTS[: max(5 if first is None else first, 0)]]

    root = {"topProducts": top_products}
    return root, entity


def _inventory() -> tuple[Obj, Callable[[Obj], Obj | None]]:
    def shipping_estimate(price: int | None, weight: int | None) -> int | None:
        if price is None:
            return None
        if price > 1000:
            return 0
        return None if weight is None else weight // 2

    def entity(rep: Obj) -> Obj | None:
        upc = str(rep.get("upc"))
        if upc not in IN_STOCK:
            return None
        # As upstream: the stored record has no price or weight (they are external), and the
        # resolver reads those, not the representation's, so the estimate is always null.
        price, weight = None, None
        return {
            "__typename": "Product",
            "upc": upc,
            "inStock": IN_STOCK[upc],
            "price": price,
            "weight": weight,
            "shippingEstimate": shipping_estimate(price, weight),
        }

    return {}, entity


def _reviews() -> tuple[Obj, Callable[[Obj], Obj | None]]:
    by_id = {review["id"]: review for review in REVIEWS}

    def review(item: Obj) -> Obj:
        return {
            "__typename": "Review",
            "id": item["id"],
            "body": item["body"],
            "product": product(item["product"]),
            "author": lambda info: user("1", "urigo"),
        }

    def user(user_id: str, username: str) -> Obj:
        return {
            "__typename": "User",
            "id": user_id,
            "username": username,
            "reviews": lambda info: [review(item) for item in REVIEWS[:2]],
        }

    def product(upc: str) -> Obj:
        return {
            "__typename": "Product",
            "upc": upc,
            "reviews": lambda info: [review(item) for item in REVIEWS if item["product"] == upc],
        }

    def entity(rep: Obj) -> Obj | None:
        typename = rep.get("__typename")
        if typename == "Review":
            item = by_id.get(str(rep.get("id")))
            return review(item) if item else None
        if typename == "User":
            return user(str(rep.get("id")), "user")
        if typename == "Product":
            return product(str(rep.get("upc")))
        return None

    return {}, entity


RESOLVERS = {
    "accounts": _accounts,
    "inventory": _inventory,
    "products": _products,
    "reviews": _reviews,
}


# --- one subgraph --------------------------------------------------------------------------------


def sdl_of(name: str) -> str:
    return (HERE / f"{name}.graphql").read_text()


class Subgraph:
    """One subgraph's executable schema; `respond(body)` computes a complete HTTP response."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sdl = sdl_of(name)
        document = parse(self.sdl)
        objects = [d for d in document.definitions if isinstance(d, ObjectTypeDefinitionNode)]
        entities = [
            o.name.value for o in objects if any(d.name.value == "key" for d in o.directives or ())
        ]
        has_query = any(o.name.value == "Query" for o in objects)
        query = "extend type Query" if has_query else "type Query"
        self.schema: GraphQLSchema = build_schema(
            self.sdl
            + FEDERATION
            + f"union _Entity = {' | '.join(entities)}\n"
            + f"{query} {{ _entities(representations: [_Any!]!): [_Entity]! _service: _Service! }}\n"
        )
        union = self.schema.get_type("_Entity")
        assert isinstance(union, GraphQLUnionType)
        union.resolve_type = lambda value, info, type_: value["__typename"]
        root, entity = RESOLVERS[name]()
        self.root: Obj = {
            **root,
            "_service": {"sdl": self.sdl},
            "_entities": lambda info, representations: [entity(rep) for rep in representations],
        }

    def execute(self, body: bytes) -> tuple[bytes, Obj]:
        try:
            request = json.loads(body)
            if not isinstance(request, dict) or not isinstance(request.get("query"), str):
                raise ValueError("expected a JSON object with a query string")
        except ValueError as exc:
            return b"400 Bad Request", {"errors": [{"message": f"bad request: {exc}"}]}
        try:
            document = parse(request["query"])
        except GraphQLError as error:
            return b"200 OK", {"errors": [error.formatted]}
        errors = validate(self.schema, document)
        if errors:
            return b"200 OK", {"errors": [error.formatted for error in errors]}
        result = execute_sync(
            self.schema,
            document,
            root_value=self.root,
            variable_values=request.get("variables"),
            operation_name=request.get("operationName"),
        )
        payload: Obj = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        return b"200 OK", payload

    def respond(self, body: bytes) -> bytes:
        status, payload = self.execute(body)
        return http_response(status, json.dumps(payload, separators=(",", ":")).encode())


def http_response(status: bytes, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


NOT_FOUND = http_response(b"404 Not Found", b'{"errors":[{"message":"not found"}]}')
BAD_REQUEST = http_response(b"400 Bad Request", b'{"errors":[{"message":"bad HTTP request"}]}')
HEALTH = http_response(b"200 OK", b"ok", b"text/plain")


# --- the server --------------------------------------------------------------------------------


class Subgraphs:
    """All four subgraphs behind one port, answering from the response cache."""

    def __init__(self) -> None:
        self.by_path = {f"/{name}".encode(): Subgraph(name) for name in SUBGRAPHS}
        # (path, body) -> [response bytes, times asked]
        self.cache: dict[tuple[bytes, bytes], list[Any]] = {}
        self.uncached = 0

    def answer(self, method: bytes, url: bytes, body: bytes) -> bytes:
        path = url.split(b"?", 1)[0]
        if method == b"POST":
            key = (path, body)
            entry = self.cache.get(key)
            if entry is None:
                subgraph = self.by_path.get(path)
                if subgraph is None:
                    return NOT_FOUND
                entry = [subgraph.respond(body), 0]
                if len(self.cache) < CACHE_LIMIT:
                    self.cache[key] = entry
                else:
                    self.uncached += 1
            entry[1] += 1
            return entry[0]  # type: ignore[no-any-return]
        if path == b"/health":
            return HEALTH
        if path == b"/stats":
            return http_response(b"200 OK", json.dumps(self.stats()).encode())
        if path == b"/bodies":
            return http_response(b"200 OK", json.dumps(self.bodies()).encode())
        return NOT_FOUND

    def stats(self) -> Obj:
        """Requests answered per subgraph (cached ones), and how many distinct bodies."""
        requests = dict.fromkeys(SUBGRAPHS, 0)
        for (path, _), (_, count) in self.cache.items():
            requests[path.decode().lstrip("/")] += count
        return {"requests": requests, "distinct": len(self.cache), "uncached": self.uncached}

    def bodies(self) -> list[Obj]:
        """Every distinct request seen: path, body and how many times it was asked."""
        return [
            {"path": path.decode(), "body": body.decode(), "count": count}
            for (path, body), (_, count) in self.cache.items()
        ]


class Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection, parsed by httptools; answers are written in order."""

    def __init__(self, subgraphs: Subgraphs) -> None:
        self.subgraphs = subgraphs
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(BAD_REQUEST)
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        response = self.subgraphs.answer(self.parser.get_method(), self.url, body)
        assert self.transport is not None
        self.transport.write(response)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    subgraphs = Subgraphs()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(subgraphs), host, port, backlog=1024)
    paths = ", ".join(f"/{name}" for name in SUBGRAPHS)
    print(f"subgraphs ({paths}) on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4200)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
