"""One server measured under load: started pinned to its CPU, waited for, its answer checked
against the expected JSON, a wrk warm-up and measurement (its CPU time, peak RSS and, when a
counter is given, the subgraph requests it made), its answer checked again, stopped.

    measured = measure_server(Server("router", build), load, children, count_requests)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.common import LOGS, RUN, BenchError, say
from bench.harness.http import check_answer, wait_ready
from bench.harness.processes import (
    GATEWAY_CPU,
    LOAD_CPU,
    Children,
    allowed_cpus,
    can_pin,
    free_port,
    pin,
    port_is_free,
)
from bench.harness.usage import PeakRss, cpu_busy, cpu_seconds
from bench.harness.wrk import LOAD_LUA, WrkResult, run_wrk

OTHERS_BUSY_LIMIT = 15.0  # % of the server's CPU used by others before a run: warn above

Build = Callable[[int], tuple[list[str], dict[str, str], str]]
"""port -> (command, extra environment, GraphQL path)."""


@dataclass
class Server:
    """What to measure: its name in logs, how to start it on a port, the CPUs it may use."""

    name: str
    build: Build
    cpus: str = GATEWAY_CPU
    slug: str = ""
    """Its logs' file names (default: from `name`)."""


@dataclass
class Load:
    """The request every connection sends, what its answer must be, and for how long."""

    body: bytes
    body_file: Path
    expected: Any
    connections: int
    warmup: float
    duration: float


@dataclass
class Measured:
    """One server's figures; `checks` is ok/ok when its answer was right before and after."""

    result: WrkResult | None = None
    plan_fetches: int | None = None
    """Subgraph requests for one request alone."""
    fetches: float | None = None
    """Subgraph requests per request under load."""
    cpu_pct: float | None = None
    """The server's CPU use during the measurement (100 = one core)."""
    rss_mb: float | None = None
    checks: str = ""
    note: str = ""


def measure_server(
    server: Server, load: Load, children: Children, count_requests: Callable[[], int]
) -> Measured:
    """Start `server`, measure it under `load`, stop it; failures are recorded, not raised."""
    measured = Measured()
    port = free_port()
    while not port_is_free(port):
        port = free_port()
    cmd, env, path = server.build(port)
    slug = server.slug or re.sub(r"[^a-z0-9]+", "-", server.name.lower()).strip("-")
    log = LOGS / f"{slug}.log"
    say(f"\n== {server.name}: {' '.join(cmd[:3])} ... (log {log})")
    if can_pin() and server.cpus == GATEWAY_CPU:
        busy = cpu_busy([int(GATEWAY_CPU)])[int(GATEWAY_CPU)]
        if busy > OTHERS_BUSY_LIMIT:
            measured.note = (
                f"CPU {GATEWAY_CPU} was {busy:.0f}% busy with other processes just before: "
                f"this row is not reliable"
            )
            say(f"   warning: {measured.note}")
    proc = children.start([*pin(server.cpus), *cmd], log=log, env=env)
    monitor = PeakRss(proc.pid)
    try:
        started = time.monotonic()
        wait_ready(proc, port, path, load.body, log)
        say(f"   ready in {time.monotonic() - started:.1f} s, on CPU {allowed_cpus(proc.pid)}")
        before = count_requests()
        ok, why, size = check_answer(port, path, load.body, load.expected)
        measured.plan_fetches = count_requests() - before
        if not ok:
            measured.checks, measured.note = "WRONG", f"wrong answer before load: {why}"
            say(f"   {measured.note}")
            return measured
        lua = RUN / f"load-{slug}.lua"
        lua.write_text(LOAD_LUA.format(body_file=load.body_file, size=size))
        url = f"http://127.0.0.1:{port}{path}"
        monitor.start()
        warm = run_wrk(children, url, lua, load.connections, load.warmup, LOAD_CPU)
        say(f"   warm-up {load.warmup:g} s: {warm.rps:,.0f} req/s")
        before, cpu_before, clock = count_requests(), cpu_seconds(proc.pid), time.monotonic()
        result = run_wrk(children, url, lua, load.connections, load.duration, LOAD_CPU)
        measured.cpu_pct = 100 * (cpu_seconds(proc.pid) - cpu_before) / (time.monotonic() - clock)
        after = count_requests()
        monitor.stop()
        measured.result, measured.rss_mb = result, monitor.peak_mb
        measured.fetches = (after - before) / result.requests if result.requests else None
        (LOGS / f"{slug}.wrk.txt").write_text(result.output)
        say(
            f"   {result.rps:,.0f} req/s, p50 {result.p50:.2f} ms, p99 {result.p99:.2f} ms, "
            f"errors {result.errors}, CPU {measured.cpu_pct:.0f}%, "
            f"peak RSS {measured.rss_mb:.0f} MB"
        )
        _check_after(measured, proc.poll(), port, path, load)
    except BenchError as exc:
        measured.checks, measured.note = "FAILED", str(exc).splitlines()[0]
        say(f"   failed: {exc}")
    finally:
        if monitor.is_alive():
            monitor.stop()
        children.stop(proc)
    return measured


def _check_after(
    measured: Measured, returncode: int | None, port: int, path: str, load: Load
) -> None:
    """The answer again after the load (the server must still be up), and a note when the
    server could not use its whole CPU."""
    if returncode is not None:
        measured.checks, measured.note = "DIED", f"exited with {returncode} during the load"
        return
    ok_after, why_after, _ = check_answer(port, path, load.body, load.expected)
    measured.checks = "ok/ok" if ok_after else "ok/WRONG"
    assert measured.result is not None and measured.cpu_pct is not None
    if not ok_after:
        measured.note = f"wrong answer after load: {why_after}"
    elif measured.cpu_pct < 90 and measured.result.errors == 0:
        measured.note = measured.note or (
            f"the gateway used only {measured.cpu_pct:.0f}% of its CPU: something else limited it"
        )
