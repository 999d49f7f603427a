"""`@defer` within `traffic_shaping.router.timeout` (router/server/deferred.py): over real HTTP,
the router served by uvicorn in front of a fake subgraph that holds what the test says until
the test is done. A Primary not made in time is a 504 GATEWAY_TIMEOUT, as any request past
the timeout; deferred parts not done in time end the answer with one last payload carrying
GATEWAY_TIMEOUT, rather than holding the response (and the router's work) open forever."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics
from tests.support.auth import jwt_config, staff_bearer
from tests.support.faulty import serve_in_thread
from tests.support.paths import REPO
from tests.support.recording_subgraph import read_body
from tests.support.streaming import WAIT, Reader

APOLLO_CLIENT = {
    "accept": "multipart/mixed;deferSpec=20220824,application/json",
    "content-type": "application/json",
    **staff_bearer(),
}
ORDER = {"id": "1", "status": "PAID", "customer": {"__typename": "Customer", "id": "7"}}
DEFERRED = 'query Q { order(id: "1") { id ... @defer(label: "c") { customer { name } } } }'


class Holding:
    """Both services: the order (whatever fields are asked, its whole object) and the
    customer's entities; the requests `hold` names (`_entities` or every one) wait until the
    test ends (`done`)."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.done = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_body(receive) or b"{}")
        entities = "_entities" in body["query"]
        if self.hold == "all" or (entities and self.hold == "_entities"):
            while not self.done.is_set():  # noqa: ASYNC110 (set from the test's thread)
                await asyncio.sleep(0.01)
        if entities:
            answer: Any = {"data": {"_entities": [{"name": "Ada"}]}}
        else:
            answer = {"data": {"order": ORDER}}
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})


@contextlib.contextmanager
def served(subgraph: Holding) -> Iterator[str]:
    """The router with a 2 s timeout, served in front of `subgraph`; its /graphql URL."""
    with serve_in_thread(subgraph) as url:
        sdl = (REPO / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", f"{url}/customers")
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{url}/orders")
        config = jwt_config("traffic_shaping: { router: { timeout: 2s } }")
        metrics = Metrics()
        app = RouterApp(build_router(sdl, config, metrics), config, metrics=metrics)
        try:
            with serve_in_thread(app) as router_url:
                yield f"{router_url}/graphql"
        finally:
            subgraph.done.set()


async def test_deferred_parts_not_done_by_the_timeout_end_the_answer_coded() -> None:
    subgraph = Holding("_entities")
    with served(subgraph) as url:
        async with (
            httpx.AsyncClient(timeout=WAIT) as client,
            client.stream("POST", url, json={"query": DEFERRED}, headers=APOLLO_CLIENT) as response,
        ):
            parts = await Reader(response, b"\r\n---").parts()
            assert not subgraph.done.is_set()  # the part was still held when the answer ended
    assert response.status_code == 200
    assert parts == [
        {"data": {"order": {"id": "1"}}, "hasNext": True},
        {
            "hasNext": False,
            "incremental": [
                {
                    "path": [],
                    "errors": [
                        {
                            "message": "Your request has been timed out",
                            "extensions": {"code": "GATEWAY_TIMEOUT"},
                        }
                    ],
                }
            ],
        },
        "END",
    ]


async def test_a_primary_not_made_by_the_timeout_is_a_504() -> None:
    subgraph = Holding("all")
    with served(subgraph) as url:
        async with httpx.AsyncClient(timeout=WAIT) as client:
            response = await client.post(url, json={"query": DEFERRED}, headers=APOLLO_CLIENT)
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"]["code"] == "GATEWAY_TIMEOUT"
