"""What authentication and authorization cost per request with a cached key and a cached plan,
in process (router/authentication/, router/authz/).

    .venv/bin/python -m bench.authz [--requests 5000] [--rounds 9]

The order with its customer (`order(id:) { … customer { name email } }`: `Query.order` is
`@authenticated`, `Customer.email` `@requiresScopes(scopes: [["read:email"], ["staff"]])` in the
committed supergraph) with its subgraphs answered in process by bench/canned_subgraph.py's
answers (no network: the router's own time only). Two levels, each interleaved in rounds:

  Router.execute (the router core):
    plain        authorization disabled (`authorization.directives.enabled: false`)
    allowed      enforced, asked by a customer holding `read:email`: the grant, the
                 restriction lookup, nothing removed
    removed      enforced, asked by a customer without it: email removed (its restricted plan
                 cached) and reported

  RouterApp (the served router's ASGI app, called with a raw HTTP scope: body and headers
  parsed, header rules, JSON out; no socket):
    app plain    no authentication, authorization disabled, anonymous
    app auth     the committed router.yaml's JWT (the development key's JWKS, ES256) and claim
                 headers, a customer's token (verified once, then from the verified-token
                 cache) and authorization enforced: what every signed-in request pays

Prints CPU microseconds per request (this process's CPU time, `time.process_time`: the same
work whatever the neighbours do, unlike wall time; the fastest round and the median) and each against its level's plain row: `app auth` against `app plain` is the
share of the router's time that authentication and authorization take. No asserts beyond
checking that each setup answers as it should.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from bench.canned_subgraph import answer
from router.authentication.development import ISSUER, DevelopmentKeys
from router.authz import AuthorizationSettings, Identity
from router.config import parse_config
from router.router import Router
from router.server.app import RouterApp, build_router
from router.types import JSONObject

ROOT = Path(__file__).resolve().parents[1]
QUERY = (
    'query OrderWithCustomer { order(id: "1") { id status total { amount currency } '
    "customer { name email } } }"
)
CLAIM_HEADERS = """
headers:
  all:
    request:
      - propagate: { named: x-request-id }
      - insert: { name: x-customer-id, from_claim: sub }
      - insert: { name: x-customer-scopes, from_claim: scope }
"""
OFF = "authorization: { directives: { enabled: false } }\n"


class Canned:
    """The canned subgraphs' answers, without HTTP."""

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        return answer(service, body, 1)

    async def close(self) -> None:
        return None


def plain_router() -> Router:
    """The committed supergraph with authorization disabled: the router's own time."""
    sdl = (ROOT / "supergraph.graphql").read_text()
    return Router.from_sdl(sdl, Canned(), authorization=AuthorizationSettings(enabled=False))


async def per_request(run: Callable[[], Awaitable[Any]], requests: int) -> float:
    """CPU microseconds of this process per request (one process doing nothing else: on a
    shared machine its CPU time moves far less with the neighbours' load than wall time)."""
    for _ in range(200):  # warm: plan, restriction, verified token, shaping code
        await run()
    started = time.process_time()
    for _ in range(requests):
        await run()
    return (time.process_time() - started) / requests * 1e6


class AppCaller:
    """Calls a RouterApp as uvicorn would: one POST /graphql with a raw scope."""

    def __init__(self, app: RouterApp, headers: dict[str, str]) -> None:
        self.app = app
        self.body = orjson.dumps({"query": QUERY})
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "server": ("127.0.0.1", 4000),
            "client": ("127.0.0.1", 50000),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self.body)).encode()),
                *((k.encode(), v.encode()) for k, v in headers.items()),
            ],
        }

    async def __call__(self) -> tuple[int, Any]:
        sent: list[dict[str, Any]] = []
        done = False

        async def receive() -> dict[str, Any]:
            nonlocal done
            if done:
                return {"type": "http.disconnect"}
            done = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(dict(self.scope), receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, orjson.loads(body)


async def lifespan(app: RouterApp) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan (the JWKS read); returns its stop."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    await queue.put({"type": "lifespan.startup"})
    await started.wait()

    async def stop() -> None:
        await queue.put({"type": "lifespan.shutdown"})
        await task

    return stop


def report(title: str, runs: dict[str, list[float]], base: str) -> None:
    base_min, base_median = min(runs[base]), statistics.median(runs[base])
    print(title)
    for name, values in runs.items():
        fastest, median = min(values), statistics.median(values)
        print(
            f"  {name:9} fastest {fastest:6.1f} ({(fastest - base_min) / base_min * 100:+5.1f}%)"
            f"   median {median:6.1f} ({(median - base_median) / base_median * 100:+5.1f}%)"
        )


async def main(requests: int, rounds: int) -> None:
    logging.getLogger("router.authz").disabled = True  # errors.log: one line per request
    sdl = (ROOT / "supergraph.graphql").read_text()
    plain = plain_router()
    guarded = Router.from_sdl(sdl, Canned())
    reader = Identity.from_claims({"sub": "2", "iss": ISSUER, "scope": "read:email"})
    other = Identity.from_claims({"sub": "2", "iss": ISSUER})
    checks = {
        "plain": await plain.execute(QUERY),
        "allowed": await guarded.execute(QUERY, identity=reader),
        "removed": await guarded.execute(QUERY, identity=other),
    }
    assert checks["plain"] == checks["allowed"], checks
    assert checks["removed"]["errors"][0]["path"] == ["order", "customer", "email"], checks

    with tempfile.TemporaryDirectory() as folder:
        keys = DevelopmentKeys(Path(folder)).ensure()
        jwt = (
            "authentication: { router: { jwt: { jwks: [ { url: "
            f'"{keys.jwks_file.as_uri()}", issuers: [{ISSUER}] }} ] }} }} }}\n'
        )
        open_config = parse_config(CLAIM_HEADERS + OFF)
        auth_config = parse_config(CLAIM_HEADERS + jwt)
        open_app = RouterApp(build_router(sdl, open_config, transport=Canned()), open_config)
        auth_app = RouterApp(build_router(sdl, auth_config, transport=Canned()), auth_config)
        stops = [await lifespan(open_app), await lifespan(auth_app)]
        token = keys.token("2", ["read:email"])
        anonymous = AppCaller(open_app, {})
        signed_in = AppCaller(auth_app, {"authorization": f"Bearer {token}"})
        assert await anonymous() == await signed_in() == (200, checks["plain"])

        core: dict[str, list[float]] = {"plain": [], "allowed": [], "removed": []}
        app: dict[str, list[float]] = {"app plain": [], "app auth": []}
        for _ in range(rounds):
            core["plain"].append(await per_request(lambda: plain.execute(QUERY), requests))
            core["allowed"].append(
                await per_request(lambda: guarded.execute(QUERY, identity=reader), requests)
            )
            core["removed"].append(
                await per_request(lambda: guarded.execute(QUERY, identity=other), requests)
            )
            app["app plain"].append(await per_request(anonymous, requests))
            app["app auth"].append(await per_request(signed_in, requests))
        for stop in stops:
            await stop()
    print(f"{requests} requests x {rounds} rounds: CPU us/request, fastest round and median")
    report("Router.execute (in process, canned subgraphs):", core, "plain")
    report("RouterApp, raw ASGI POST /graphql (in process, canned subgraphs):", app, "app plain")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
