"""Both demo services as one fake subgraph that holds its entity fetches (`_entities`) until
a test lets them go, and the router served over HTTP in front of it (`served`): so a test can
see what a client gets of a deferred query before its deferred part is ready, by the order
things happen in, never by time. Its answers are canned per fetch the router's plans make
for operations named `Q` (ANSWERS; entity names from NAMES)."""

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

ORDER = 'query Q__orders__0 { order(id: "1") { id status } }'
ORDER_ID = 'query Q__orders__0 { order(id: "1") { id } }'
ORDER_WHOLE = 'query Q__orders__0 { order(id: "1") { id status customer { __typename id } } }'
ORDER_STATUS_CUSTOMER = 'query Q__orders__0 { order(id: "1") { status customer { id } } }'
CUSTOMER_KEY = 'query Q__orders__0 { order(id: "1") { customer { __typename id } } }'
NAME = (
    "query Q__customers__1($representations: [_Any!]!) { _entities(representations:"
    " $representations) { ... on Customer { name } } }"
)
NAME_WHOLE = NAME
ORDER_STATUS_CUSTOMER_ID = 'query Q__orders__0 { order(id: "1") { id status customer { id } } }'
ORDER_ALL = 'query Q__orders__0 { order(id: "1") { id status customer { id __typename } } }'
ORDERS = "query Q__orders__0 { orders(first: 2) { edges { node { id } } } }"
ORDERS_CUSTOMERS = (
    "query Q__orders__0 { orders(first: 2) { edges { node { customer { __typename id } } } } }"
)
EDGES = [{"node": {"id": "1"}}, {"node": {"id": "2"}}]
CUSTOMER_EDGES = [
    {"node": {"customer": {"__typename": "Customer", "id": "7"}}},
    {"node": {"customer": {"__typename": "Customer", "id": "8"}}},
]
ANSWERS: dict[str, Any] = {
    ORDER: {"data": {"order": {"id": "1", "status": "PAID"}}},
    ORDER_ID: {"data": {"order": {"id": "1"}}},
    ORDER_WHOLE: {
        "data": {
            "order": {
                "id": "1",
                "status": "PAID",
                "customer": {"__typename": "Customer", "id": "7"},
            }
        }
    },
    ORDER_STATUS_CUSTOMER: {"data": {"order": {"status": "PAID", "customer": {"id": "7"}}}},
    ORDER_STATUS_CUSTOMER_ID: {
        "data": {"order": {"id": "1", "status": "PAID", "customer": {"id": "7"}}}
    },
    ORDER_ALL: {
        "data": {
            "order": {
                "id": "1",
                "status": "PAID",
                "customer": {"id": "7", "__typename": "Customer"},
            }
        }
    },
    CUSTOMER_KEY: {"data": {"order": {"customer": {"__typename": "Customer", "id": "7"}}}},
    ORDERS: {"data": {"orders": {"edges": EDGES}}},
    ORDERS_CUSTOMERS: {"data": {"orders": {"edges": CUSTOMER_EDGES}}},
}
NAMES = {"7": "Ada", "8": "Bo"}


class HeldSubgraph:
    """Both services in one ASGI app: answers from ANSWERS (entities from NAMES), records the
    queries, and holds every `_entities` request until `release` is set."""

    def __init__(self, *, failing_names: bool = False) -> None:
        self.release = threading.Event()
        self.release.set()
        self.failing_names = failing_names
        self.queries: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        query = body.get("query")
        self.queries.append(query)
        if "_entities" in query:
            while not self.release.is_set():  # noqa: ASYNC110 (set from the test's thread)
                await asyncio.sleep(0.005)
            if self.failing_names:
                answer: Any = {"data": None, "errors": [{"message": "customers are down"}]}
            else:
                representations = body["variables"]["representations"]
                answer = {
                    "data": {"_entities": [{"name": NAMES[r["id"]]} for r in representations]}
                }
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
