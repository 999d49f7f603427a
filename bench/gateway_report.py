"""What bench/gateways.py prints: the versions measured, the result table (one `Row` a gateway
at a setting, our router's req/s over each other gateway's) and what its columns mean, whether
the subgraphs were fast enough, the notes."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from bench.harness.common import ROOT, VENV_PYTHON, run, say
from bench.harness.processes import GATEWAY_CPU, LOAD_CPU
from bench.harness.references import PACKAGES
from bench.harness.runner import Measured
from bench.harness.table import markdown_table
from bench.harness.wrk import WrkResult

SUBGRAPH_ADVANTAGE = 5.0  # the subgraphs must answer at least this many times faster


@dataclass
class Row:
    """One line of the table: a variant and its figures."""

    gateway: str
    dedupe: str
    group: str
    measured: Measured = field(default_factory=Measured)

    @property
    def result(self) -> WrkResult | None:
        return self.measured.result


def describe_environment(node: str | None, wrk: str) -> list[str]:
    """The versions measured: our commit, the gateways' pins and Node, wrk."""
    wrk_version = run([wrk, "-v"], timeout=10).stdout.splitlines()
    commit = run(["git", "rev-parse", "--short", "HEAD"], timeout=10, cwd=ROOT).stdout.strip()
    dirty = run(["git", "status", "--porcelain", "router"], timeout=10, cwd=ROOT).stdout.strip()
    python = run([str(VENV_PYTHON), "--version"], timeout=10).stdout.strip()
    versions = {**PACKAGES["hive-gateway"], **PACKAGES["apollo-gateway"]}
    node_version = run([node, "--version"], timeout=10).stdout.strip() if node else "not needed"
    return [
        f"router {commit}{' + uncommitted changes in router/' if dirty else ''} ({python})",
        f"@graphql-hive/gateway {versions['@graphql-hive/gateway']} (+ router-runtime "
        f"{versions['@graphql-hive/router-runtime']}), "
        f"@apollo/gateway {versions['@apollo/gateway']}, @apollo/server "
        f"{versions['@apollo/server']}, graphql {versions['graphql']}, node {node_version}",
        f"{wrk_version[0].split(' Copyright')[0] if wrk_version else 'wrk'}",
    ]


def _fetches(measured: Measured) -> str:
    alone = "—" if measured.plan_fetches is None else str(measured.plan_fetches)
    load = "—" if measured.fetches is None else f"{measured.fetches:.2f}"
    return "—" if measured.plan_fetches is None and measured.fetches is None else f"{alone}, {load}"


def _our_row(routers: list[Row], row: Row) -> Row | None:
    """Our router's row to compare `row` with: same setting, else same group, else any."""
    for candidate in routers:
        if candidate.dedupe == row.dedupe:
            return candidate
    for candidate in routers:
        if candidate.group == row.group:
            return candidate
    return routers[0] if routers else None


HEADER = ["gateway", "dedupe", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "CPU %",
          "CPU ms/req", "fetches/req alone, load", "peak RSS MB", "router ÷ this",
          "checks"]  # fmt: skip


def cpu_ms(row: Row) -> float | None:
    """The row's CPU milliseconds per request under load (None when not measured)."""
    result, measured = row.result, row.measured
    if not result or not result.rps or measured.cpu_pct is None:
        return None
    return measured.cpu_pct * 10 / result.rps


def _ratio(row: Row, reference: Row | None) -> str:
    """The last column: our router's req/s over this row's (the floor: our router's CPU per
    request over the floor's; workers: this row's req/s over one worker's)."""
    result = row.result
    if row.gateway in ("router", "subgraphs (direct)") or not result or reference is None:
        return "—"
    assert reference.result is not None
    if row.gateway == "floor":
        ours, floor = cpu_ms(reference), cpu_ms(row)
        return f"router CPU {ours / floor:.2f}x" if ours and floor else "—"
    if row.gateway.startswith("router ×"):  # workers: this over one worker
        return f"scales {result.rps / reference.result.rps:.2f}x"
    return f"{reference.result.rps / result.rps:.2f}x" if result.rps else "—"


def format_table(rows: list[Row], subgraphs: Row | None) -> str:
    """The result table in Markdown: one line a row, then the subgraphs measured directly; each
    other gateway's req/s set against our router's at its setting (`_our_row`)."""
    routers = [r for r in rows if r.gateway == "router" and r.result]
    lines = []
    for row in [*rows, *([subgraphs] if subgraphs else [])]:
        result, measured = row.result, row.measured
        ratio = _ratio(row, _our_row(routers, row))
        per_request = cpu_ms(row)
        figures = ["—"] * 5
        if result:
            latencies = (f"{ms:.2f}" for ms in (result.p50, result.p90, result.p99))
            figures = [f"{result.rps:,.0f}", *latencies, str(result.errors)]
        cells = [
            row.gateway,
            row.dedupe,
            *figures,
            f"{measured.cpu_pct:.0f}" if measured.cpu_pct is not None else "—",
            f"{per_request:.2f}" if per_request is not None else "—",
            _fetches(measured),
            f"{measured.rss_mb:.0f}" if measured.rss_mb is not None else "—",
            ratio,
            measured.checks or "—",
        ]
        lines.append(cells)
    return markdown_table(HEADER, lines, right=range(2, 12))


def report(
    args: argparse.Namespace,
    environment: list[str],
    rows: list[Row],
    subgraphs: Row | None,
    notes: list[str],
) -> None:
    """The table, what its columns mean, whether the subgraphs were fast enough, the notes."""
    say("")
    for line in environment:
        say(line)
    say(
        f"wrk -t1 -c{args.connections}, warm-up {args.warmup:g} s, measured {args.duration:g} s; "
        f"gateway pinned to CPU {GATEWAY_CPU}; wrk + subgraphs on CPU {LOAD_CPU}"
    )
    say("")
    say(format_table(rows, subgraphs))
    say("")
    say(
        "errors = non-2xx + socket errors + 200 answers of another size or with GraphQL errors\n"
        "CPU % = the gateway's CPU time over the measurement (100 = its whole core)\n"
        "CPU ms/req = that CPU time per request answered\n"
        "fetches/req = subgraph requests for one request alone, and per request under load\n"
        "  (approximate in short runs: requests in flight at the window's edges)\n"
        "router ÷ this = our req/s over this gateway's, with the same setting (the floor:\n"
        "  our router's CPU per request with de-duplication off over the floor's)\n"
        "checks = answer deep-equal to the expected JSON, before/after the load"
    )
    measured = [r.result.rps for r in rows if r.result]
    direct = subgraphs.result if subgraphs else None
    if direct is not None and measured:
        fastest = max(measured)
        advantage = direct.rps / fastest
        verdict = "ok" if advantage >= SUBGRAPH_ADVANTAGE else "TOO SLOW: results are suspect"
        say(
            f"subgraphs direct {direct.rps:,.0f} req/s = {advantage:.1f}x the fastest gateway "
            f"({fastest:,.0f} req/s); needed >= {SUBGRAPH_ADVANTAGE:g}x: {verdict}"
        )
    for row in rows:
        if row.measured.note:
            say(f"note: {row.gateway} ({row.dedupe}): {row.measured.note}")
    for note in notes:
        say(f"note: {note}")
