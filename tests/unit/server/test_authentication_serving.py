"""JWT authentication in the served router: a real JWKS server, the router app in front of a
real recording subgraph; what the client gets and what the subgraph received."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from asgi_lifespan import LifespanManager

from router.config import parse_config
from router.server.app import RouterApp, build_router
from tests.support.faulty import serve_in_thread
from tests.support.jwks import AUDIENCE, ISSUER, JwksServer, SigningKey
from tests.support.recording_subgraph import RecordingSubgraph
from tests.unit.server.test_serving import ANSWERS, NAME_QUERY, SUPERGRAPH

RULES = """
headers:
  all:
    request:
      - propagate: { matching: "x-.*" }
      - insert: { name: x-customer-id, from_claim: sub }
"""


@contextlib.asynccontextmanager
async def served(
    idp: JwksServer, extra: str = "", poll: str = "60m"
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingSubgraph]]:
    subgraph = RecordingSubgraph(ANSWERS)
    with serve_in_thread(idp) as idp_url, serve_in_thread(subgraph) as url:
        config = parse_config(
            f"""
authentication:
  router:
    jwt:
      jwks:
        - url: {idp_url}/jwks.json
          issuers: [{ISSUER}]
          audiences: [{AUDIENCE}]
          poll_interval: {poll}
{RULES}
{extra}
"""
        )
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/customers").replace(
            "http://127.0.0.1:4002/graphql", f"{url}/orders"
        )
        app = RouterApp(build_router(sdl, config), config)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                yield client, subgraph


async def ask(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", json={"query": NAME_QUERY}, headers=headers)


async def test_a_good_token_answers_and_its_subject_reaches_the_subgraph() -> None:
    key = SigningKey.generate("RS256")
    async with served(JwksServer([key])) as (client, subgraph):
        spoofed = {"x-customer-id": "someone-else", "x-tenant": "t1"}
        good = await ask(client, {"authorization": f"Bearer {key.token(sub='c1')}", **spoofed})
        anonymous = await ask(client, spoofed)
    assert good.json() == {"data": {"customer": {"name": "Alice"}}}
    assert anonymous.json() == good.json()
    (first, _), (second, _) = subgraph.requests
    assert (first["x-customer-id"], first["x-tenant"]) == ("c1", "t1")
    assert "x-customer-id" not in second and second["x-tenant"] == "t1"


async def test_a_bad_token_is_401_unauthenticated_and_nothing_is_fetched() -> None:
    key, other = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    async with served(JwksServer([key])) as (client, subgraph):
        answers = [
            await ask(client, {"authorization": f"Bearer {bad}"})
            for bad in (other.token(), key.token(exp=1, iat=0), "x.y.z", key.token(iss="e"))
        ]
    for answer in answers:
        assert answer.status_code == 401
        (error,) = answer.json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert subgraph.requests == []


async def test_require_authentication_refuses_anonymous_requests() -> None:
    key = SigningKey.generate("RS256")
    extra = "authorization: { require_authentication: true }"
    async with served(JwksServer([key]), extra) as (client, subgraph):
        anonymous = await ask(client, {})
        good = await ask(client, {"authorization": f"Bearer {key.token()}"})
    assert anonymous.status_code == 401
    assert good.status_code == 200 and len(subgraph.requests) == 1


async def test_keys_rotate_while_requests_flow_without_a_failure() -> None:
    """The IdP adds a new key and signs with it, later drops the old one; clients always send a
    token from the IdP's current key. Every request succeeds."""
    old = SigningKey.generate("RS256")
    idp = JwksServer([old])
    current: dict[str, SigningKey] = {"key": old}
    results: list[int] = []

    async def client_loop(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            token = current["key"].token(sub=f"c{len(results)}")
            answer = await ask(client, {"authorization": f"Bearer {token}"})
            results.append(answer.status_code)
            await asyncio.sleep(0)  # a refused request never waits on I/O: let others run

    async with served(idp, poll="200ms") as (client, _):
        stop = asyncio.Event()
        loops = [asyncio.create_task(client_loop(client, stop)) for _ in range(8)]
        await asyncio.sleep(0.3)
        new = SigningKey.generate("RS256")
        idp.keys = [old, new]  # published ...
        current["key"] = new  # ... and signing at once, before the router's next poll
        await asyncio.sleep(0.3)
        idp.keys = [new]  # the old key retired
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*loops)
    assert len(results) > 50
    assert set(results) == {200}
