"""A deferred query's time to its first part against its time to the whole, and the same query
without @defer, through the served router over the real services.

    .venv/bin/python -m bench.defer [--requests 200] [--delays 0,50]

The real services on seeded SQLite and `python -m router serve` (bench/live_system.py); for
each of `--delays` (milliseconds) a system whose customers service answers through
bench/delay_proxy.py holding each request that long (0: no proxy), a slow subgraph the
deferred fragment waits for. Each query is asked `--requests` times with @defer (Accept:
`multipart/mixed;deferSpec=20220824`, the parts read with httpx streaming as they arrive, each
stamped) and as often without it (plain JSON), one request at a time, in turns:

    order     one order, `... @defer { customer { name email } }`
    page      20 orders, each one's customer deferred (20 incremental items)

Printed per delay and query: the deferred answer's time to its first part and to its last,
the query without @defer's time to its answer (p50 and p99, ms). Every answer is checked: the
parts merged are the answer without @defer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness.common import BenchError  # noqa: E402
from bench.harness.stats import percentile  # noqa: E402
from bench.live_system import AUTH, live_system  # noqa: E402
from tests.support.streaming import Reader  # noqa: E402

INCREMENTAL = {
    **AUTH,
    "accept": "multipart/mixed;deferSpec=20220824, application/json",
    "content-type": "application/json",
}
PLAIN = {**AUTH, "accept": "application/json", "content-type": "application/json"}
DELIMITER = b"\r\n---"
"""The router's @defer parts' delimiter (boundary "-")."""

FIELDS = "id status total { amount currency }"
CUSTOMER = "customer { name email }"
QUERIES = {
    "order": f'query Order {{ order(id: "7") {{ {FIELDS} ... @defer(label: "customer") {{ {CUSTOMER} }} }} }}',
    "page": f"query Page {{ orders(first: 20) {{ edges {{ node {{ {FIELDS} "
    f'... @defer(label: "customer") {{ {CUSTOMER} }} }} }} }} }}',
}


def without_defer(query: str) -> str:
    """The query with its deferred fragment inlined: `... @defer(label: "customer") { X }`
    becomes `X`."""
    marker = '... @defer(label: "customer") { '
    start = query.index(marker)
    end = query.index(" }", start + len(marker))
    return query[:start] + query[start + len(marker) : end] + query[end + 2 :]


def merged(parts: list[Any]) -> dict[str, Any]:
    """The answer the parts of an incremental delivery add up to: the first part's data with
    every incremental item's data merged in at its path; raises ValueError when they do not
    make a whole answer (no first part, errors, `hasNext` still true at the end)."""
    if not parts or "data" not in parts[0]:
        raise ValueError(f"no primary part: {parts[:1]}")
    data = parts[0]["data"]
    for part in parts[1:]:
        for item in part.get("incremental", []):
            if item.get("errors"):
                raise ValueError(f"a deferred item failed: {item['errors']}")
            target = data
            for step in item["path"]:
                target = target[step]
            deep_update(target, item["data"])
    if parts[-1].get("hasNext") is not False:
        raise ValueError("the last part says more is coming")
    return {"data": data}


def deep_update(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_update(target[key], value)
        else:
            target[key] = value


@dataclass
class Timings:
    """One query's timings, seconds from each request's start."""

    first: list[float] = field(default_factory=list)
    """@defer: the first part read whole."""
    last: list[float] = field(default_factory=list)
    """@defer: the last part (`hasNext: false`) read whole."""
    plain: list[float] = field(default_factory=list)
    """Without @defer: the whole answer read."""


async def deferred(client: httpx.AsyncClient, url: str, query: str) -> tuple[float, float, Any]:
    """Seconds to the first part and to the last, and the answer the parts make."""
    started = time.perf_counter()
    async with client.stream("POST", url, json={"query": query}, headers=INCREMENTAL) as response:
        if not response.headers.get("content-type", "").startswith("multipart/mixed"):
            raise BenchError(f"not an incremental answer: {response.headers}")
        reader = Reader(response, DELIMITER)
        parts = await reader.parts(1)
        first = time.perf_counter() - started
        while parts[-1].get("hasNext"):
            more = await reader.parts(1)
            if not more:
                break
            parts += more
        last = time.perf_counter() - started
        await reader.parts()  # the closing delimiter
    return first, last, merged(parts)


async def plain(client: httpx.AsyncClient, url: str, query: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.post(url, json={"query": query}, headers=PLAIN)
    body = response.json()
    return time.perf_counter() - started, body


async def measure(url: str, requests: int, warmup: int = 10) -> dict[str, Timings]:
    """Each query with and without @defer, in turns, `requests` times after `warmup`."""
    found = {name: Timings() for name in QUERIES}
    async with httpx.AsyncClient(timeout=30) as client:
        for round_ in range(warmup + requests):
            for name, query in QUERIES.items():
                first, last, answer = await deferred(client, url, query)
                took, whole = await plain(client, url, without_defer(query))
                if "errors" in whole or answer != whole:
                    raise BenchError(f"{name}: the parts make {answer}, not {whole}")
                if round_ >= warmup:
                    found[name].first.append(first)
                    found[name].last.append(last)
                    found[name].plain.append(took)
    return found


def row(delay: float, name: str, timings: Timings) -> str:
    def cell(values: list[float]) -> str:
        return f"{percentile(values, 50) * 1000:.1f} / {percentile(values, 99) * 1000:.1f}"

    return (
        f"| {delay:g} | {name} | {cell(timings.first)} | {cell(timings.last)} | "
        f"{cell(timings.plain)} |"
    )


async def run(requests: int, delays: list[float]) -> None:
    rows = []
    placement = ""
    for delay in delays:
        async with live_system("defer", customers_delay_ms=delay) as system:
            placement = system.placement
            found = await measure(f"{system.url}/graphql", requests)
        rows += [row(delay, name, timings) for name, timings in found.items()]
    print(
        f"\n{requests} requests per query and mode, one at a time, in turns; {placement}\n"
        "ms, p50 / p99, from the request's start\n"
    )
    print(
        "| customers delay ms | query | @defer: first part | @defer: last part |"
        " without @defer: answer |"
    )
    print("|---:|---|---:|---:|---:|")
    print("\n".join(rows))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="per query and mode")
    parser.add_argument("--delays", default="0,50", help="customers service delays, ms")
    args = parser.parse_args()
    try:
        asyncio.run(run(args.requests, [float(d) for d in args.delays.split(",")]))
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
