"""A small HTTP load generator shared by the benchmarks: N concurrent POSTs for a while,
every answer checked; returns requests/s and latency percentiles."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson


@dataclass
class Measured:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 100:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000

    def row(self) -> str:
        p50 = statistics.median(self.latencies) * 1000 if self.latencies else float("nan")
        return (
            f"| {self.name} | {self.rps:,.0f} | {p50:.2f} | {self.percentile(99):.2f} | "
            f"{self.requests} | {self.errors} |"
        )


HEADER = "| scenario | requests/s | p50 ms | p99 ms | requests | errors |\n|---|---:|---:|---:|---:|---:|"


async def _load(
    url: str,
    payload: bytes,
    check: Callable[[Any], bool],
    concurrency: int,
    seconds: float,
    extra: Mapping[str, str] | None = None,
) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"content-type": "application/json", **(extra or {})}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=payload, headers=headers) as response:
                        body = await response.read()
                        ok = response.status == 200 and check(orjson.loads(body))
                except (aiohttp.ClientError, ValueError, KeyError, TypeError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), errors, latencies


async def measure(
    name: str,
    url: str,
    body: dict[str, Any],
    check: Callable[[Any], bool],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    headers: Mapping[str, str] | None = None,
) -> Measured:
    """`headers` go with every request (an Authorization header, say)."""
    payload = orjson.dumps(body)
    sent = {"content-type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=payload, headers=sent) as response,
    ):
        first = orjson.loads(await response.read())
    if not check(first):
        raise SystemExit(f"{name}: wrong answer before load: {orjson.dumps(first)[:500]!r}")
    await _load(url, payload, check, concurrency, warmup, headers)
    started = time.perf_counter()
    requests, errors, latencies = await _load(url, payload, check, concurrency, seconds, headers)
    return Measured(name, requests, errors, time.perf_counter() - started, latencies)
