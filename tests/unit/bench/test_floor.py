"""bench/floor.py: the subgraph requests the router makes, grouped into the stages it sends them
in; and the report's floor column (our router's CPU per request over the floor's)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from bench.floor import Recording
from bench.gateway_report import Row, cpu_ms, format_table
from bench.harness.runner import Measured
from bench.harness.wrk import WrkResult
from router.types import JSONObject


class Slow:
    """A transport whose answers take a few loop turns."""

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        for _ in range(3):
            await asyncio.sleep(0)
        return {"data": {}}

    async def close(self) -> None:
        pass


async def test_requests_sent_together_are_one_stage_and_stages_follow_each_other() -> None:
    recording = Recording(Slow())  # type: ignore[arg-type]
    await recording.send("a", {"query": "1"})
    await asyncio.gather(recording.send("b", {"query": "2"}), recording.send("c", {"query": "3"}))
    await recording.send("d", {"query": "4"}, {"x-test": "yes"})

    stages = recording.stages()

    assert [[call.service for call in stage] for stage in stages] == [["a"], ["b", "c"], ["d"]]
    assert stages[0][0].body == b'{"query":"1"}'
    assert ("x-test", "yes") in stages[2][0].headers
    assert ("content-type", "application/json") in [
        (name.lower(), value) for name, value in stages[0][0].headers
    ]


def _row(gateway: str, dedupe: str, rps: float, cpu_pct: float) -> Row:
    result = WrkResult(rps=rps, requests=int(rps), p50=1.0, p90=1.0, p99=1.0)
    return Row(gateway, dedupe, "off", Measured(result=result, cpu_pct=cpu_pct, checks="ok/ok"))


def test_the_floor_row_sets_our_routers_cpu_per_request_against_its_own() -> None:
    router = _row("router", "off", 250, 100)  # 4 ms a request
    floor = _row("floor", "off (calls only)", 800, 80)  # 1 ms a request

    table = format_table([router, floor], None)

    assert cpu_ms(router) == 4.0 and cpu_ms(floor) == 1.0
    floor_line = next(line for line in table.splitlines() if line.startswith("| floor"))
    assert "router CPU 4.00x" in floor_line
    assert "1.00" in floor_line
