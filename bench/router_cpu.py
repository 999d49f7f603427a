"""The router's own CPU per request, in one process, over canned subgraph answers.

    .venv/bin/python -m bench.router_cpu [--case w1,orders] [--orders 1000] [--requests 200]
                                         [--rounds 5] [--profile FILE]

The router (`build_router` with router.yaml's defaults, de-duplication off) is served as an ASGI
app (`RouterApp`) called directly with an in-memory POST: the request phase, planning (cached),
execution, shaping and serialising run as under `router serve`; uvicorn and the sockets do not.
Its transport answers each subgraph request from bytes computed once per distinct body, and
decodes them with orjson per request as the HTTP transport does, so what is measured is the
router's own work over the subgraphs' answers. Cases:

- `w1`: bench/gateways.py's workload (bench/workload1: its query and four subgraphs, answered
  in process by bench/workload1/subgraphs.py's resolvers), checked against its expected answer;
- `orders`: bench/canned_subgraph.py's orders page of `--orders` orders, each with its customer
  (the 1,000-orders case), with `name` and `email` from the customers' entity fetch.

Each round runs `--requests` requests one after another and takes the process CPU time
(`time.process_time`); the table shows the median and the minimum over `--rounds` rounds in CPU
milliseconds per request, and per KB of answer. `--profile FILE` also writes a pyinstrument
profile of one more round (as text, to FILE.CASE.txt). CPU-bound and sequential: on a shared machine, compare A and B
interleaved (run it under another checkout with PYTHONPATH=THAT_CHECKOUT).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from bench.canned_subgraph import answer as canned_answer
from bench.workload1.expected import QUERY, expected_response
from router.authz import AuthorizationSettings
from router.compose import compose_config
from router.config import Config
from router.server.app import RouterApp, build_router
from router.server.factory import tune_gc
from router.types import JSONObject

ROOT = Path(__file__).resolve().parents[1]
ORDERS_QUERY = (
    "{ orders(first: %d) { edges { node { id status total { amount currency } "
    "items { sku quantity } customer { name email } } } } }"
)


class CannedTransport:
    """Subgraph answers from bytes made once per (service, body) by `make`, decoded per call."""

    def __init__(self, make: Callable[[str, bytes], bytes]) -> None:
        self._make = make
        self._answers: dict[tuple[str, bytes], bytes] = {}
        self.calls = 0

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        """The canned answer to `body`, freshly decoded (the executor merges into it)."""
        self.calls += 1
        data = orjson.dumps(body)
        key = (service, data)
        payload = self._answers.get(key)
        if payload is None:
            payload = self._answers[key] = self._make(service, data)
        decoded: JSONObject = orjson.loads(payload)
        return decoded

    async def close(self) -> None:
        """Nothing to close."""


def workload1_answers() -> Callable[[str, bytes], bytes]:
    """bench/workload1's four subgraphs, answering in process."""
    from bench.workload1.subgraphs import SUBGRAPHS, Subgraph

    subgraphs = {name: Subgraph(name) for name in SUBGRAPHS}

    def make(service: str, body: bytes) -> bytes:
        _, payload = subgraphs[service].execute(body)
        return orjson.dumps(payload)

    return make


def orders_answers(orders: int) -> Callable[[str, bytes], bytes]:
    """bench/canned_subgraph.py's customers and orders, with a page of `orders`."""
    return lambda service, body: orjson.dumps(canned_answer(service, orjson.loads(body), orders))


class Case:
    """One benchmark case: a router app over canned subgraphs, and the request it is sent."""

    def __init__(self, name: str, sdl: str, make: Callable[[str, bytes], bytes], query: str):
        self.name = name
        self.transport = CannedTransport(make)
        config = Config(
            deduplicate_query=False,
            deduplicate_requests=False,
            authorization=AuthorizationSettings(enabled=False),  # the orders' @authenticated
        )
        self.app = RouterApp(build_router(sdl, config, transport=self.transport), config)
        self.body = orjson.dumps({"query": query})
        self.last: bytes = b""

    async def request(self) -> bytes:
        """One POST /graphql through the ASGI app; the answer's bytes."""
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "query_string": b"",
            "headers": [
                (b"content-type", b"application/json"),
                (b"accept", b"application/json"),
                (b"content-length", str(len(self.body)).encode()),
            ],
        }
        chunks: list[bytes] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        self.last = b"".join(chunks)
        return self.last

    async def round(self, requests: int) -> float:
        """CPU seconds of `requests` requests in a row."""
        started = time.process_time()
        for _ in range(requests):
            await self.request()
        return time.process_time() - started


def cases(selected: list[str], orders: int) -> list[Case]:
    """The selected cases, built (supergraphs composed in process)."""
    built = []
    if "w1" in selected:
        sdl = compose_config(ROOT / "bench" / "workload1" / "supergraph.yaml")
        built.append(Case("w1", sdl, workload1_answers(), QUERY))
    if "orders" in selected:
        sdl = (ROOT / "supergraph.graphql").read_text()
        built.append(Case(f"orders ×{orders}", sdl, orders_answers(orders), ORDERS_QUERY % orders))
    return built


async def check(case: Case, orders: int) -> None:
    """The answer is the expected one (w1) or a full page with customers (orders)."""
    answer = orjson.loads(await case.request())
    if case.name == "w1":
        if answer != expected_response():
            raise SystemExit("w1: the router's answer is not the expected one")
        return
    edges = answer.get("data", {}).get("orders", {}).get("edges", [])
    customer = edges[-1]["node"]["customer"] if edges else {}
    if len(edges) != orders or customer.get("name") is None or answer.get("errors"):
        raise SystemExit(f"{case.name}: unexpected answer {str(answer)[:300]}")


def write(path: str, text: str) -> Path:
    """`text` written to `path`."""
    Path(path).write_text(text)
    return Path(path)


async def run(args: argparse.Namespace) -> None:
    selected = [c.strip() for c in args.case.split(",") if c.strip()]
    print(
        "| case | answer KB | subgraph calls | CPU ms/request median | min | CPU ms/KB (median) |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    built = cases(selected, args.orders)
    tune_gc()  # as `router serve` does, once its router is built
    for case in built:
        await check(case, args.orders)
        calls_before = case.transport.calls
        await case.round(max(args.requests // 4, 5))  # warm-up
        calls = (case.transport.calls - calls_before) / max(args.requests // 4, 5)
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                await case.round(args.requests)
            written = write(f"{args.profile}.{case.name.split()[0]}.txt", profiler.output_text())
            print(f"profile written to {written}")
        times = [await case.round(args.requests) / args.requests * 1000 for _ in range(args.rounds)]
        kb = len(case.last) / 1024
        median = statistics.median(times)
        print(
            f"| {case.name} | {kb:,.1f} | {calls:g} | {median:.3f} | {min(times):.3f} "
            f"| {median / kb:.4f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", default="w1,orders", help="w1, orders or both (default)")
    parser.add_argument("--orders", type=int, default=1000, help="orders in the page (1000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per round (200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--profile", help="write a pyinstrument profile to FILE.CASE.txt")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(run(args))
    except ImportError:
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
