"""The floor under a gateway on workload 1: a server that only makes the router's subgraph calls,
parses their answers and writes the expected answer, with nothing of a gateway in between.

    .venv/bin/python -m bench.floor --supergraph FILE --port P

At start-up it runs the benchmark's query once through an in-process `Router` (the production
defaults: entity fetches batched) whose transport records each subgraph request: its subgraph,
its body, and how many requests had been answered when it was sent. Requests sent while the same
number had been answered form one stage (the plan's parallel fetches); the stages follow each
other. Then it serves POST /graphql (uvicorn with uvloop and httptools, as `router serve` does):
for each request, each stage's requests are sent in parallel with the router's own HTTP client
(router/execute/http_client.py), every answer is parsed with orjson, and, once the last stage is
in, the expected answer (bench/workload1/expected.py) is serialised with orjson and written.

What is left out is everything a gateway does besides its I/O: parsing and validating the request,
planning (cached anyway), building representations, merging entity answers, shaping. So its CPU
per request is what the router's could come down to; bench/gateways.py runs it beside the
gateways (`--only floor`, in the "off" group: it shares nothing) and prints the router's CPU per
request as a multiple of it.

Grouping by answered-count is exact for this workload's plan (a sequence of parallel stages);
for a plan whose branches run at their own pace it would wait more than the router does, so the
floor could only be higher.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script as well as with -m

from bench.workload1.expected import QUERY, expected_response  # noqa: E402
from router.execute.http_client import Endpoint, post  # noqa: E402
from router.execute.transport import JSON_HEADERS, HttpTransport  # noqa: E402
from router.router import Router  # noqa: E402
from router.types import JSONObject  # noqa: E402


@dataclass(frozen=True)
class Call:
    """One recorded subgraph request."""

    service: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass
class Recording:
    """A transport that sends through `inner` and records each request with the number of
    requests answered before it was sent."""

    inner: HttpTransport
    calls: list[tuple[int, Call]] = field(default_factory=list)
    answered: int = 0

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        """Record the request, then send it."""
        sent = {**JSON_HEADERS, **(headers or {})}
        self.calls.append((self.answered, Call(service, orjson.dumps(body), tuple(sent.items()))))
        try:
            return await self.inner.send(service, body, headers)
        finally:
            self.answered += 1

    async def close(self) -> None:
        """Close the inner transport."""
        await self.inner.close()

    def stages(self) -> list[list[Call]]:
        """The recorded calls grouped into stages: each stage's calls were sent together."""
        grouped: dict[int, list[Call]] = {}
        for answered, call in self.calls:
            grouped.setdefault(answered, []).append(call)
        return [grouped[key] for key in sorted(grouped)]


async def record(sdl: str, urls: dict[str, str]) -> list[list[Call]]:
    """The stages of subgraph requests the router makes for the workload's query, checked to give
    the expected answer."""
    transport = Recording(HttpTransport(urls, deduplicate=False))
    router = Router.from_sdl(sdl, transport, batch_entities=True)
    try:
        answer = await router.execute(QUERY)
    finally:
        await router.close()
    if answer != expected_response():
        raise SystemExit("the router's answer to the workload's query is not the expected one")
    return transport.stages()


class Floor:
    """The ASGI app: per POST, the recorded stages sent and parsed, then the expected answer."""

    def __init__(self, stages: list[list[Call]], urls: dict[str, str]) -> None:
        self.endpoints = {name: Endpoint(url, 100) for name, url in urls.items()}
        self.stages = stages
        self.answer: Any = expected_response()
        self.requests = sum(len(stage) for stage in stages)

    async def _call(self, call: Call) -> Any:
        status, payload = await post(
            self.endpoints[call.service], call.body, call.headers, retry_if_closed=True
        )
        if status != 200:
            raise RuntimeError(f"{call.service} answered {status}")
        return orjson.loads(payload)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] == "GET":  # readiness
            await self._send(send, 200, b'{"status":"pass"}')
            return
        while (await receive()).get("more_body"):
            pass  # the query is the workload's: its body is not read further
        for stage in self.stages:
            if len(stage) == 1:
                await self._call(stage[0])
            else:
                await asyncio.gather(*(self._call(call) for call in stage))
        await self._send(send, 200, orjson.dumps(self.answer))

    async def _send(self, send: Any, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def urls_of(sdl: str) -> dict[str, str]:
    """The subgraphs' URLs from the supergraph, by name."""
    router = Router.from_sdl(sdl)
    return {graph.name: graph.url for graph in router.supergraph.graphs.values()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--supergraph", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    sdl = args.supergraph.read_text()
    urls = urls_of(sdl)
    stages = asyncio.run(record(sdl, urls))
    app = Floor(stages, urls)
    sizes = " + ".join(str(len(stage)) for stage in stages)
    print(f"floor: {app.requests} subgraph requests per answer, in stages of {sizes}", flush=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
