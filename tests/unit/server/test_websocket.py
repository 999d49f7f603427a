"""graphql-transport-ws on the router's GraphQL path (router/server/websocket.py), on a real
uvicorn server (the serve command's DrainingServer, with its closing hook) and a real client
(`websockets`), in front of a fake `Router.subscribe` (tests/support/subscriber.py) that scripts
events and refusals, so what is tested is the protocol: the ack, ping/pong, next/complete, an
error before the first event, the close codes, the limits, a client's complete, and the close
with 1001 on shutdown and on a hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from router.router import Router
from tests.support.auth import jwt_yaml, token
from tests.support.subscriber import FAST, FOREVER, REFUSED, TWO, FakeSubscriber, served

WAIT = 10.0


@contextlib.asynccontextmanager
async def opened(
    url: str, headers: dict[str, str] | None = None, init: dict[str, Any] | None = None
) -> AsyncIterator[ClientConnection]:
    """An acknowledged connection."""
    async with connect(
        url,
        subprotocols=["graphql-transport-ws"],
        additional_headers=headers or {},  # type: ignore[list-item]
    ) as ws:
        await send(ws, {"type": "connection_init", "payload": init or {}})
        assert await receive(ws) == {"type": "connection_ack"}
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))


async def subscribe(ws: ClientConnection, id_: str, query: str) -> None:
    await send(ws, {"id": id_, "type": "subscribe", "payload": {"query": query}})


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    """The close code and reason, once the server has closed."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


async def test_ack_ping_pong_next_and_complete_with_the_init_headers_over_the_upgrades() -> None:
    async with (
        served() as (url, fake, _, _),
        opened(url, {"x-a": "upgrade", "x-b": "upgrade"}, {"headers": {"X-B": "init"}}) as ws,
    ):
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await subscribe(ws, "1", TWO)
        assert [await receive(ws) for _ in range(3)] == [
            {"id": "1", "type": "next", "payload": {"data": {"n": 1}}},
            {"id": "1", "type": "next", "payload": {"data": {"n": 2}}},
            {"id": "1", "type": "complete"},
        ]
    [(query, _, headers, _)] = fake.calls
    assert (query, headers["x-a"], headers["x-b"]) == (TWO, "upgrade", "init")


async def test_a_refusal_before_the_first_event_is_one_error_message() -> None:
    async with served() as (url, _, _, _), opened(url) as ws:
        await subscribe(ws, "r", REFUSED)
        message = await receive(ws)
        assert (message["type"], message["id"]) == ("error", "r")
        assert [e["extensions"]["code"] for e in message["payload"]] == [
            "GRAPHQL_VALIDATION_FAILED"
        ]
        await send(ws, {"type": "ping"})  # the connection stays open
        assert await receive(ws) == {"type": "pong"}


async def test_a_duplicate_id_closes_with_4409() -> None:
    async with served() as (url, _, _, _), opened(url) as ws:
        await subscribe(ws, "1", FOREVER)
        assert (await receive(ws))["type"] == "next"
        await subscribe(ws, "1", FOREVER)
        assert (await closed_with(ws))[0] == 4409


async def test_no_connection_init_in_time_closes_with_4408() -> None:
    async with (
        served() as (url, _, _, _),
        connect(url, subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
    ):
        assert (await closed_with(ws))[0] == 4408


async def test_protocol_errors_close_with_their_codes() -> None:
    async with served() as (url, _, _, _):
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await subscribe(ws, "1", TWO)  # before the ack
            assert (await closed_with(ws))[0] == 4401
        async with opened(url) as ws:
            await send(ws, {"type": "connection_init"})
            assert (await closed_with(ws))[0] == 4429
        async with opened(url) as ws:
            await send(ws, {"type": "nonsense"})
            assert (await closed_with(ws))[0] == 4400


async def test_the_limits_per_connection_and_in_total_answer_subscription_max_limit() -> None:
    config = FAST.replace("}", ", max_per_connection: 2, max_total: 3 }")
    async with served(config) as (url, _, app, _), opened(url) as first, opened(url) as second:
        for id_ in ("1", "2"):
            await subscribe(first, id_, FOREVER)
            assert (await receive(first))["type"] == "next"
        await subscribe(first, "3", FOREVER)
        refused = await receive(first)
        assert (refused["type"], refused["id"]) == ("error", "3")
        assert refused["payload"][0]["extensions"]["code"] == "SUBSCRIPTION_MAX_LIMIT"
        await subscribe(second, "1", FOREVER)
        assert (await receive(second))["type"] == "next"
        await subscribe(second, "2", FOREVER)  # 3 open in all
        refused = await receive(second)
        assert refused["payload"][0]["extensions"]["code"] == "SUBSCRIPTION_MAX_LIMIT"
        assert app.subscriptions.open == 3


async def test_a_client_complete_closes_the_iterator_and_frees_its_place() -> None:
    config = FAST.replace("}", ", max_per_connection: 1 }")
    async with served(config) as (url, fake, app, _), opened(url) as ws:
        await subscribe(ws, "1", FOREVER)
        assert (await receive(ws))["type"] == "next"
        await send(ws, {"id": "1", "type": "complete"})
        for _ in range(200):
            if fake.closed:
                break
            await asyncio.sleep(0.01)
        assert fake.closed == [FOREVER]
        assert app.subscriptions.open == 0
        await subscribe(ws, "1", TWO)  # the id and the place are free again
        assert (await receive(ws))["payload"] == {"data": {"n": 1}}


async def test_the_router_pings_every_interval() -> None:
    config = "subscription: { ping_interval_seconds: 100ms }"
    async with served(config) as (url, _, _, _), opened(url) as ws:
        assert await receive(ws) == {"type": "ping"}
        assert await receive(ws) == {"type": "ping"}


async def test_shutdown_closes_open_connections_with_1001() -> None:
    async with served() as (url, fake, _, server), opened(url) as ws:
        await subscribe(ws, "1", FOREVER)
        assert (await receive(ws))["type"] == "next"
        server.should_exit = True  # what uvicorn's SIGTERM handler does
        assert await closed_with(ws) == (1001, "SUBSCRIPTION_SHUTDOWN")
        assert fake.closed == [FOREVER]


async def test_a_supergraph_reload_closes_open_connections_with_1001(tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text("type Query { a: Int }")
    fresh = FakeSubscriber()
    async with (
        served(
            supergraph_file=supergraph,
            reload_interval=0.05,
            router_factory=lambda sdl, config: cast(Router, fresh),
        ) as (url, fake, app, _),
        opened(url) as ws,
    ):
        await subscribe(ws, "1", FOREVER)
        assert (await receive(ws))["type"] == "next"
        await asyncio.sleep(0.1)  # the watcher has read the first version
        supergraph.write_text("type Query { b: Int }")
        assert await closed_with(ws) == (1001, "SUBSCRIPTION_SCHEMA_RELOAD")
        assert fake.closed == [FOREVER]
        assert app.router is cast(Router, fresh)
        async with opened(url) as again:  # a new connection subscribes on the new router
            await subscribe(again, "1", TWO)
            assert (await receive(again))["payload"] == {"data": {"n": 1}}
        assert fresh.calls[0][0] == TWO


async def test_the_jwt_in_connection_init_is_the_connections_identity() -> None:
    config = jwt_yaml() + "authorization: { require_authentication: true }\n" + FAST
    bearer = f"Bearer {token('7')}"
    async with served(config) as (url, fake, _, _):
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await send(ws, {"type": "connection_init", "payload": {}})
            assert await closed_with(ws) == (4403, "Forbidden: AUTH_ERROR")
        async with opened(url, init={"headers": {"Authorization": bearer}}) as ws:
            await subscribe(ws, "1", TWO)
            assert (await receive(ws))["payload"] == {"data": {"n": 1}}
    [(_, _, headers, identity)] = fake.calls
    assert identity.authenticated and identity.claims["sub"] == "7"
    assert headers["authorization"] == bearer


async def test_a_browser_upgrade_from_another_origin_is_refused_with_csrf_error() -> None:
    # Browsers send their cookies with an upgrade (the JWT `cookie` source reads them) and no
    # preflight guards it: only the router's own pages, and origins cors.origins lists, may.
    config = FAST + "\ncors: { origins: [https://app.example] }\n"
    async with served(config) as (url, _, _, _):
        own = url.replace("ws://", "http://").removesuffix("/graphql")
        for origin in (own, "https://app.example"):
            async with opened(url, {"origin": origin}) as ws:
                await send(ws, {"type": "ping"})
                assert await receive(ws) == {"type": "pong"}
        with pytest.raises(InvalidStatus) as refused:
            async with opened(url, {"origin": "https://evil.example"}):
                pass
        response = refused.value.response
        assert response.status_code == 403
        assert json.loads(response.body)["errors"][0]["extensions"]["code"] == "CSRF_ERROR"


async def test_workers_close_open_connections_with_1001_on_sigterm(tmp_path: Path) -> None:
    """`serve --workers 2`: uvicorn's worker servers would close WebSockets with 1012; each
    worker's app closes its subscriptions first, with the same code as one process does."""
    from tests.support.paths import REPO
    from tests.support.services import ServiceProcess
    from tests.support.ws_subgraph import Seen, acknowledged, subgraph

    async def orders(ws: ServerConnection, seen: Seen) -> None:
        subscribed = await acknowledged(ws, seen)
        event = {"data": {"orderCreated": {"id": "9"}}}
        await ws.send(json.dumps({"id": subscribed["id"], "type": "next", "payload": event}))

    async with subgraph(orders) as (url, seen):
        supergraph = tmp_path / "supergraph.graphql"
        text = (REPO / "supergraph.graphql").read_text()
        supergraph.write_text(text.replace("http://127.0.0.1:4002/graphql", url))
        config = tmp_path / "router.yaml"
        config.write_text(jwt_yaml())
        arguments = ["--supergraph", str(supergraph), "--config", str(config), "--workers", "2"]
        router = ServiceProcess("router", arguments, subcommand=["serve"])
        await asyncio.to_thread(router.start)
        try:
            assert router.process is not None
            ws_url = router.url.replace("http://", "ws://") + "/graphql"
            staff = {"headers": {"Authorization": f"Bearer {token('staff-1', ('staff',))}"}}
            async with opened(ws_url, init=staff) as ws:
                await subscribe(ws, "1", "subscription { orderCreated { id } }")
                assert await receive(ws) == {
                    "id": "1",
                    "type": "next",
                    "payload": {"data": {"orderCreated": {"id": "9"}}},
                }
                router.process.send_signal(signal.SIGTERM)
                assert await closed_with(ws) == (1001, "SUBSCRIPTION_SHUTDOWN")
            await asyncio.wait_for(seen.closed.wait(), WAIT)  # the upstream is completed too
            assert seen.messages[-1] == {"id": seen.messages[1]["id"], "type": "complete"}
        finally:
            await asyncio.to_thread(router.stop)
