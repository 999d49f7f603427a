"""A router serving an authorization supergraph over HTTP in front of the oracle's generic fake
subgraphs (tests/support/oracle/), each served by uvicorn and recording what it received.

The supergraph is Apollo's composition of `tests/cases/authz/<case>/subgraphs/`
(`apollo_supergraph.graphql`). Tests say who sends a request with an `x-test-claims` header
(JSON claims; absent: anonymous), read by the app's `identify` hook, the seam JWT
authentication uses in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    visit,
)

from router.authz import Identity, IncomingRequest
from router.config import parse_config
from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics
from router.supergraph.load import load_supergraph
from router.supergraph.model import Supergraph
from tests.support import paths
from tests.support.faulty import serve_in_thread
from tests.support.oracle import FakeSubgraph, build_dataset
from tests.support.recording_subgraph import read_body

CASES = paths.CASES / "authz"


def supergraph_sdl(case: str = "shop") -> str:
    return (CASES / case / "apollo_supergraph.graphql").read_text()


class FakeServer:
    """Every fake subgraph under `/<name>`, recording (subgraph, body) per request."""

    def __init__(self, supergraph: Supergraph, seed: int = 6, delay: float = 0.0) -> None:
        self.delay = delay
        """Seconds each answer waits (so concurrent requests overlap)."""
        data = build_dataset(supergraph, seed=seed)
        self.fakes = {
            g.name: FakeSubgraph(supergraph, g.id, data) for g in supergraph.graphs.values()
        }
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        name = scope["path"].strip("/")
        body = json.loads(await read_body(receive) or b"{}")
        self.received.append((name, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        payload = json.dumps(self.fakes[name].answer(body)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def queries(self) -> list[str]:
        return [body["query"] for _, body in self.received]

    def refusals(self) -> list[str]:
        return [r for fake in self.fakes.values() for r in fake.refusals]

    def reset(self) -> None:
        self.received.clear()
        for fake in self.fakes.values():
            fake.refusals.clear()


def identify(request: IncomingRequest) -> Identity:
    claims = request.headers.get("x-test-claims")
    return Identity.from_claims(json.loads(claims)) if claims is not None else Identity()


@contextlib.contextmanager
def fake_subgraphs(case: str = "shop", delay: float = 0.0) -> Iterator[tuple[str, FakeServer]]:
    """The case's supergraph pointing at its fakes, served; yields (sdl, server)."""
    sdl = supergraph_sdl(case)
    server = FakeServer(load_supergraph(sdl), delay=delay)
    with serve_in_thread(server) as url:
        for name in server.fakes:
            sdl = sdl.replace(f"http://{name}/graphql", f"{url}/{name}")
        yield sdl, server


@contextlib.asynccontextmanager
async def router_over(
    sdl: str, config_text: str = ""
) -> AsyncIterator[tuple[httpx.AsyncClient, RouterApp]]:
    config = parse_config(config_text)
    metrics = Metrics()
    app = RouterApp(build_router(sdl, config, metrics), config, metrics=metrics, identify=identify)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            yield client, app


async def ask(
    client: httpx.AsyncClient, query: str, claims: dict[str, Any] | None = None
) -> httpx.Response:
    headers = {"x-test-claims": json.dumps(claims)} if claims is not None else {}
    return await client.post("/graphql", json={"query": query}, headers=headers)


class _Coordinates(Visitor):
    def __init__(self, info: TypeInfo) -> None:
        super().__init__()
        self.info = info
        self.found: set[tuple[str, str]] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.info.get_parent_type()
        if parent is not None:
            self.found.add((parent.name, node.name.value))


def coordinates(schema: GraphQLSchema, document: DocumentNode | str) -> set[tuple[str, str]]:
    """Every (parent type, field) a document selects, as `schema` types them."""
    if isinstance(document, str):
        document = parse(document)
    info = TypeInfo(schema)
    collector = _Coordinates(info)
    visit(document, TypeInfoVisitor(info, collector))
    return collector.found


def return_type(schema: GraphQLSchema, parent: str, field: str) -> str | None:
    owner: Any = schema.get_type(parent)
    definition = getattr(owner, "fields", {}).get(field)
    return get_named_type(definition.type).name if definition is not None else None
