"""Both demo services as one fake subgraph that holds its entity fetches (`_entities`) until
a test lets them go, and the router served over HTTP in front of it (`served`): so a test can
see what a client gets of a deferred query before its deferred part is ready, by the order
things happen in, never by time. Its answers are canned per fetch the router's plans make
for operations named `Q` (ANSWERS; entities from ORDER_ROWS and NAMES; the orders list in
the order `lists` gives, changed between two root fetches as live data can)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics
from tests.support.auth import jwt_config
from tests.support.faulty import serve_in_thread
from tests.support.paths import REPO
from tests.support.recording_subgraph import read_body

ORDER = 'query Q__orders__0 { order(id: "1") { __typename id status } }'
ORDER_KEY = 'query Q__orders__0 { order(id: "1") { __typename id } }'
ORDER_WHOLE = 'query Q__orders__0 { order(id: "1") { id status customer { __typename id } } }'
NAME_WHOLE = (
    "query Q__customers__1($representations: [_Any!]!) { _entities(representations:"
    " $representations) { ... on Customer { name } } }"
)
ORDER_ALL = 'query Q__orders__0 { order(id: "1") { id status customer { id __typename } } }'
ORDERS = "query Q__orders__0 { orders(first: 2) { edges { node { __typename id } } } }"
ORDER_ROWS: dict[str, dict[str, Any]] = {
    "1": {"status": "PAID", "customer": {"__typename": "Customer", "id": "7"}},
    "2": {"status": "NEW", "customer": {"__typename": "Customer", "id": "8"}},
}
ANSWERS: dict[str, Any] = {
    ORDER: {"data": {"order": {"__typename": "Order", "id": "1", "status": "PAID"}}},
    ORDER_KEY: {"data": {"order": {"__typename": "Order", "id": "1"}}},
    ORDER_WHOLE: {"data": {"order": {"id": "1", **ORDER_ROWS["1"]}}},
    ORDER_ALL: {"data": {"order": {"id": "1", **ORDER_ROWS["1"]}}},
}
NAMES = {"7": "Ada", "8": "Bo"}


def edges(ids: list[str]) -> list[dict[str, Any]]:
    """The orders list as the orders service answers it, in this order."""
    return [{"node": {"__typename": "Order", "id": i}} for i in ids]


def entity(query: str, representation: dict[str, Any]) -> dict[str, Any]:
    """An `_entities` answer for one representation: a customer's name, or the order fields
    the fetch selects (`status`, the customer's key)."""
    if representation["__typename"] == "Customer":
        return {"name": NAMES[representation["id"]]}
    selected = query.split("... on Order", 1)[1]
    row = ORDER_ROWS[representation["id"]]
    return {name: value for name, value in row.items() if name in selected}


class HeldSubgraph:
    """Both services in one ASGI app: answers from ANSWERS (entities from NAMES), records the
    queries, and holds every `_entities` request until `release` is set."""

    def __init__(self, *, failing_names: bool = False) -> None:
        self.release = threading.Event()
        self.release.set()
        self.failing_names = failing_names
        self.queries: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.lists = [["1", "2"], ["2", "1"]]
        """The orders list each `orders` root fetch answers, in turn (the last one again):
        the second sees the list changed, as live data can."""

    def root_fetches(self) -> list[str]:
        """The queries that asked a root field (not `_entities`)."""
        return [q for q in self.queries if "_entities" not in q]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        query = body.get("query")
        self.queries.append(query)
        self.bodies.append(body)
        if "_entities" in query:
            while not self.release.is_set():  # noqa: ASYNC110 (set from the test's thread)
                await asyncio.sleep(0.005)
            representations = body["variables"]["representations"]
            if self.failing_names and "Customer" in query:
                answer: Any = {"data": None, "errors": [{"message": "customers are down"}]}
            else:
                answer = {"data": {"_entities": [entity(query, r) for r in representations]}}
        elif query == ORDERS:
            ids = self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]
            answer = {"data": {"orders": {"edges": edges(ids)}}}
        else:
            answer = ANSWERS.get(query, {"errors": [{"message": f"unexpected {query}"}]})
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@contextlib.contextmanager
def served(subgraph: HeldSubgraph, config_text: str = "") -> Iterator[str]:
    """The router served over HTTP in front of `subgraph` (both services), with `config_text`
    (router.yaml sections) added to its settings; its /graphql URL."""
    with serve_in_thread(subgraph) as url:
        sdl = (REPO / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", f"{url}/customers")
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{url}/orders")
        # orders are for signed-in callers: the tests send a staff token
        config = jwt_config("include_subgraph_errors: { all: true }\n" + config_text)
        metrics = Metrics()
        app = RouterApp(build_router(sdl, config, metrics), config, metrics=metrics)
        with serve_in_thread(app) as router_url:
            yield f"{router_url}/graphql"
