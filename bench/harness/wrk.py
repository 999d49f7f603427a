"""Load with wrk: a Lua script that POSTs one body and counts answers of another size, or one that
replays recorded requests (`replay`); wrk run pinned to a CPU and its output parsed into a
WrkResult."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness.common import RUN, BenchError, tail
from bench.harness.processes import Children, pin
from bench.harness.tools import require

LOAD_LUA = """\
-- Written by bench/harness/wrk.py: POST the benchmark query; count 200 answers that are not the
-- verified one (another size, or GraphQL errors).
local f = assert(io.open([==[{body_file}]==], "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = f:read("*a")
f:close()
local expected_size = {size}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status == 200 and (#body ~= expected_size or string.find(body, '"errors"', 1, true)) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("BAD_RESPONSES %d\\n", total))
end
"""

REPLAY_LUA = """\
-- Written by bench/harness/wrk.py: replay the subgraph requests the gateways sent, in proportion.
local f = assert(io.open([==[{schedule_file}]==], "rb"))
local lines = {{}}
for line in f:lines() do table.insert(lines, line) end
f:close()
local requests, n = {{}}, 0
function init(args)
  for i = 1, #lines, 2 do
    table.insert(requests, wrk.format("POST", lines[i], {{["Content-Type"] = "application/json"}}, lines[i + 1]))
  end
end
function request()
  n = n % #requests + 1
  return requests[n]
end
"""


@dataclass
class WrkResult:
    rps: float = 0.0
    requests: int = 0
    p50: float = 0.0  # ms
    p90: float = 0.0
    p99: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    bad: int = 0
    output: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.bad


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    result = WrkResult(output=output)
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    if match := re.search(r"(\d+) requests in", output):
        result.requests = int(match.group(1))
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
        setattr(result, f"p{pct}", float(value) * _UNITS_MS[unit])
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result.socket_errors = sum(int(g) for g in match.groups())
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.non_2xx = int(match.group(1))
    if match := re.search(r"BAD_RESPONSES (\d+)", output):
        result.bad = int(match.group(1))
    return result


def run_wrk(
    children: Children, url: str, lua: Path, connections: int, seconds: float, cpu: str
) -> WrkResult:
    duration = max(1, round(seconds))
    cmd = [
        *pin(cpu),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(lua),
        url,
    ]
    proc = children.start(cmd, capture=True)
    try:
        out, _ = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        children.stop(proc)
        raise BenchError(f"wrk did not finish: {' '.join(cmd)}") from None
    children.stop(proc)
    text = out.decode(errors="replace")
    if proc.returncode != 0 or "Requests/sec" not in text:
        raise BenchError(f"wrk failed (exit {proc.returncode}):\n{tail(text)}")
    return parse_wrk(text)


def find_wrk() -> str:
    """wrk on PATH, or MissingTool saying how to install it."""
    return require("wrk", "the load generator")


def replay(
    children: Children,
    url: str,
    recorded: list[tuple[str, str, int]],
    connections: int,
    seconds: float,
    cpu: str,
) -> tuple[WrkResult | None, int]:
    """wrk replaying recorded POSTs (path, body, how often each was sent), in proportion: a 1 s
    warm-up, then `seconds`; and how many distinct bodies were replayed (None, 0: none)."""
    # one line per path and per body in the schedule file (gateways send compact JSON)
    entries = [(path, body, count) for path, body, count in recorded if "\n" not in body and count]
    if not entries:
        return None, 0
    total = sum(count for _, _, count in entries)
    schedule: list[str] = []
    for path, body, count in entries:
        schedule += [path, body] * max(1, round(200 * count / total))
    schedule_file = RUN / "subgraph-requests.txt"
    schedule_file.write_text("\n".join(schedule) + "\n")
    lua = RUN / "subgraphs.lua"
    lua.write_text(REPLAY_LUA.format(schedule_file=schedule_file))
    run_wrk(children, url, lua, connections, 1, cpu)
    return run_wrk(children, url, lua, connections, seconds, cpu), len(entries)
