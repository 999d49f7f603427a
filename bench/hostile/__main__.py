"""Run every case against a fresh system and print the table (`python -m bench.hostile`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.hostile.cases import CASES, Case  # noqa: E402
from bench.hostile.requests import POLL_COST_MS, PORT, counted  # noqa: E402
from bench.hostile.system import (  # noqa: E402
    AUTH,
    REFUSAL_BUDGET_MS,
    HealthPoller,
    Outcome,
    System,
    cpu_ms,
    rss_mb,
)
from bench.workload2 import pin  # noqa: E402


@dataclass
class Row:
    case: Case
    outcome: Outcome
    cpu: float
    rss_before: float
    rss: float
    health: tuple[int, int]
    restarted: bool


def table(rows: list[Row]) -> str:
    lines = [
        "| case | HTTP status | error code | router CPU ms | RSS MB before → after | /health ok | "
        f"refused ≤ {REFUSAL_BUDGET_MS:g} ms CPU | note |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        outcome = row.outcome
        per = row.cpu / outcome.requests if outcome.requests > 1 else row.cpu
        cpu = f"{row.cpu:,.0f}" if outcome.requests <= 1 else f"{row.cpu:,.0f} ({per:,.1f} each)"
        if outcome.timed_out:
            cpu = f"≥ {row.cpu:,.0f} (no answer)"
        refused = "—"
        if row.case.document:
            answered_data = "(data)" in outcome.codes
            refused = (
                "yes"
                if per <= REFUSAL_BUDGET_MS and not outcome.timed_out and not answered_data
                else "**no**"
            )
        note = outcome.note
        said = [
            f"{code}: “{message}”"
            for code, message in outcome.messages.items()
            if message and code != "(data)"
        ]
        if said:
            note = "; ".join([*said, *([note] if note else [])])
        if row.restarted:
            note = (note + "; " if note else "") + "**router killed and restarted**"
        lines.append(
            f"| {row.case.name} | {counted(outcome.statuses)} | {counted(outcome.codes)} | {cpu} "
            f"| {row.rss_before:,.0f} → {row.rss:,.0f} | {row.health[0]}/{row.health[1]} "
            f"| {refused} | {note} |"
        )
    return "\n".join(lines)


async def run_case(
    case: Case, system: System, poller: HealthPoller, args: argparse.Namespace
) -> Row:
    pid = system.pid
    poller.counts()  # forget the polls before this case
    before = cpu_ms(pid)
    rss_before = rss_mb(pid)
    outcome = Outcome()
    async with httpx.AsyncClient(timeout=args.timeout, headers=AUTH) as client:
        try:
            # each request has the client timeout; the case as a whole a generous bound
            await asyncio.wait_for(case.run(system, client, args, outcome), 1200)
        except (TimeoutError, httpx.TimeoutException):
            outcome.timed_out = True
            outcome.add(f"no answer in {args.timeout:g} s", None)
        except httpx.HTTPError as exc:
            outcome.add(type(exc).__name__, None)
    try:
        spent, rss = cpu_ms(pid) - before, rss_mb(pid)
    except OSError:  # the router died
        spent, rss = float("nan"), float("nan")
        outcome.note = (outcome.note + "; " if outcome.note else "") + "router process died"
    health = poller.counts()
    # less the /health polls' own cost, measured at idle
    spent = max(0.0, spent - health[0] * POLL_COST_MS[0])
    restarted = False
    if outcome.timed_out or not system.healthy():
        system.restart_router()
        restarted = True
    return Row(case, outcome, spent, rss_before, rss, health, restarted)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=sys.modules["bench.hostile"].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="client timeout per request (s)"
    )
    parser.add_argument("--slowloris-seconds", type=float, default=20.0)
    parser.add_argument(
        "--only", nargs="*", help="run only the cases whose name contains one of these"
    )
    args = parser.parse_args()
    if pin("1"):
        os.sched_setaffinity(0, {1})
    folder = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    system = System(folder)
    PORT[0] = system.router.port
    poller = HealthPoller(system.router.port)
    poller.counts()
    idle = cpu_ms(system.pid)
    await asyncio.sleep(5)
    polls = poller.counts()[0]
    POLL_COST_MS[0] = (cpu_ms(system.pid) - idle) / max(1, polls)
    print(
        f"one /health poll costs the router {POLL_COST_MS[0]:.2f} ms of CPU at idle",
        file=sys.stderr,
    )
    rows: list[Row] = []
    try:
        for case in CASES:
            if args.only and not any(word.lower() in case.name.lower() for word in args.only):
                continue
            print(f"… {case.name}", file=sys.stderr, flush=True)
            rows.append(await run_case(case, system, poller, args))
    finally:
        poller.stop()
        system.stop()
    print(
        f"\nrouter: python -m router serve (router.yaml defaults, JWT with a development key; requests carry a staff token), real services on SQLite; "
        f"client timeout {args.timeout:g} s; /health polled every 100 ms from another process, "
        "each poll answered within 1 s or missed; "
        f"CPU is the router's, less {POLL_COST_MS[0]:.2f} ms per answered poll (their cost at idle)\n"
    )
    print(table(rows))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
