"""Our query plans against Apollo's query planner: fetches per plan, and the longest chain of
fetches that wait for each other.

    .venv/bin/python -m bench.plans --audit AUDIT_DIR [--port 4410] [--suite ID ...] [--out FILE]

For every federation-gateway-audit suite and every query in its tests, and for the benchmark
workload (bench/workload1: its supergraph.yaml composed by our composer, and its query), the
query is planned by our router (`Router.from_sdl(sdl).prepare(query).plan`) and by
`@apollo/query-planner` (run by Node from bench/.cache/apollo-planner/, where npm installs the
pinned packages once). The audit's suites come from `npm start -- serve --port PORT`, started in
AUDIT_DIR (a checkout with its npm dependencies installed) and stopped at the end: it serves
`/<id>/supergraph` and `/<id>/tests`.

Both plans are counted from their JSON (Apollo's serialised shape, which ours follows):
fetches = the Fetch nodes (both branches of a condition counted); chain = fetches that must run
one after the other (Sequence adds, Parallel and Condition take the longest); requests = the
subgraph requests the plan sends at most: Apollo's, one per Fetch node (Apollo Gateway sends
each alone); ours, with the entity fetches that start together to one subgraph sent as one
request, as our router does by default (`traffic_shaping.all.batch_entity_fetches`; counted by
`router.execute.batching.requests`). One table per suite, `MORE` where ours sends more requests
than Apollo's, `fewer` where it sends fewer, `longer chain` where it sends as many but more of
its fetches wait for each other; then a summary per suite (with how many of our plans print
exactly as Apollo's) and the suites where ours sends more requests in all. `--out` also writes
the tables as Markdown. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.common import CACHE, LOGS, WORKLOAD, BenchError, say
from bench.harness.node import ensure_node, npm_beside, npm_install
from bench.harness.processes import Children
from router.compose import compose_config
from router.execute.batching import requests
from router.router import Router

PLANNER_DIR = CACHE / "apollo-planner"
PINS = {
    "@apollo/query-planner": "2.14.4",
    "@apollo/federation-internals": "2.14.4",
    "@apollo/composition": "2.14.4",
    "graphql": "16.14.0",
}
SERVE_TIMEOUT = 180.0

PLANNER_SCRIPT = """\
// Written by bench/plans.py. stdin: {"supergraph": SDL, "operations": [TEXT, ...]};
// stdout: one {"plan": <Apollo's QueryPlan JSON>, "text": <prettyFormatQueryPlan>} or
// {"error": MESSAGE} per operation.
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { QueryPlanner, prettyFormatQueryPlan } from "@apollo/query-planner";
import { Supergraph, operationFromDocument } from "@apollo/federation-internals";

const input = JSON.parse(readFileSync(0, "utf8"));
let planner, api;
try {
  const supergraph = Supergraph.build(input.supergraph);
  planner = new QueryPlanner(supergraph);
  api = supergraph.schema.toAPISchema();
} catch (e) {
  console.log(JSON.stringify(input.operations.map(() => ({ error: `supergraph: ${e}` }))));
  process.exit(0);
}
const out = input.operations.map((text) => {
  try {
    const operation = operationFromDocument(api, parse(text), { validate: true });
    const plan = planner.buildQueryPlan(operation);
    return { plan, text: prettyFormatQueryPlan(plan) };
  } catch (e) {
    return { error: String(e) };
  }
});
console.log(JSON.stringify(out));
"""


@dataclass(frozen=True, slots=True)
class Count:
    """One plan's size: its Fetch nodes, the longest chain of dependent fetches, and the
    subgraph requests it sends (None: one per Fetch node)."""

    fetches: int
    chain: int
    batched: int | None = None

    @property
    def requests(self) -> int:
        return self.fetches if self.batched is None else self.batched


@dataclass(frozen=True, slots=True)
class Planned:
    """One planner's plan of one query: counted and printed, or why there is none."""

    count: Count | str
    """The counts, or the planner's error."""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    query: str
    ours: Count | str
    apollo: Count | str
    texts: tuple[str, str] = ("", "")
    """Both plans as text (ours, Apollo's)."""


def count(node: dict[str, Any] | None) -> Count:
    """Fetches and chain of a plan node in Apollo's JSON shape (QueryPlan's `node`)."""
    if node is None:
        return Count(0, 0)
    kind = node["kind"]
    if kind == "Fetch":
        return Count(1, 1)
    if kind == "Flatten":
        return count(node["node"])
    if kind in ("Sequence", "Parallel"):
        parts = [count(child) for child in node["nodes"]]
        chains = [p.chain for p in parts] or [0]
        chain = sum(chains) if kind == "Sequence" else max(chains)
        return Count(sum(p.fetches for p in parts), chain)
    if kind == "Condition":
        parts = [count(node.get("ifClause")), count(node.get("elseClause"))]
        return Count(sum(p.fetches for p in parts), max(p.chain for p in parts))
    if kind == "Subscription":
        primary, rest = count(node["primary"]), count(node.get("rest"))
        return Count(primary.fetches + rest.fetches, primary.chain + rest.chain)
    if kind == "Defer":
        primary = count(node["primary"].get("node"))
        deferred = [count(d.get("node")) for d in node["deferred"]]
        return Count(
            primary.fetches + sum(d.fetches for d in deferred),
            primary.chain + max((d.chain for d in deferred), default=0),
        )
    raise BenchError(f"unknown plan node kind {kind!r}")


# --- the two planners ------------------------------------------------------------------------


def ours(sdl: str, queries: list[str]) -> list[Planned]:
    router = Router.from_sdl(sdl)
    try:
        results: list[Planned] = []
        for query in queries:
            try:
                plan = router.prepare(query).plan
            except Exception as exc:  # reported in the table
                results.append(Planned(f"{type(exc).__name__}: {exc}"))
                continue
            counted = count(plan.to_json().get("node"))
            counted = Count(counted.fetches, counted.chain, requests(plan.node))
            results.append(Planned(counted, plan.print()))
        return results
    finally:
        asyncio.run(router.close())


def apollo(node: str, sdl: str, queries: list[str]) -> list[Planned]:
    done = subprocess.run(
        [node, str(PLANNER_DIR / "plan.mjs")],
        input=json.dumps({"supergraph": sdl, "operations": queries}),
        capture_output=True,
        text=True,
        cwd=PLANNER_DIR,
        timeout=600,
    )
    if done.returncode != 0:
        raise BenchError(
            f"Apollo's planner failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    answers = json.loads(done.stdout)
    return [
        Planned(a["error"]) if "error" in a else Planned(count(a["plan"].get("node")), a["text"])
        for a in answers
    ]


def ensure_planner(node: str) -> None:
    """npm-install the pinned packages into bench/.cache/apollo-planner (skipped when current)
    and write the planner script there."""
    npm_install(node, PLANNER_DIR, PINS)
    (PLANNER_DIR / "plan.mjs").write_text(PLANNER_SCRIPT)


# --- the audit's suites ----------------------------------------------------------------------


class AuditServer:
    """`npm start -- serve --port PORT` in the audit checkout, in its own process group."""

    def __init__(self, audit: Path, port: int, node: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        npm, env = npm_beside(node, "to serve the audit's suites")
        self.log = LOGS / "audit-serve.log"
        self.children = Children(CACHE / "run" / "plans-children.json")
        self.proc = self.children.start(
            [npm, "start", "--", "serve", "--port", str(port)], log=self.log, env=env, cwd=audit
        )

    def wait_ready(self) -> list[str]:
        """The suites' ids, once the server answers `/tests`."""
        deadline = time.monotonic() + SERVE_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"the audit's server exited ({self.proc.returncode}): see {self.log.name}"
                )
            try:
                endpoints = self.get("/tests")
                return [url.rstrip("/").split("/")[-2] for url in endpoints]
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"the audit's server did not answer {self.base}/tests within "
                        f"{SERVE_TIMEOUT:.0f} s: see {self.log.name}"
                    ) from None
                time.sleep(1)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            body = response.read().decode()
        return json.loads(body) if path.endswith("/tests") else body

    def stop(self) -> None:
        self.children.stop_all()


# --- tables ----------------------------------------------------------------------------------


def compare(node: str, sdl: str, queries: list[str]) -> list[Row]:
    return [
        Row(q, o.count, a.count, (o.text, a.text))
        for q, o, a in zip(queries, ours(sdl, queries), apollo(node, sdl, queries), strict=True)
    ]


def flag(row: Row) -> str:
    if isinstance(row.ours, str) or isinstance(row.apollo, str):
        return "error" if isinstance(row.ours, str) else "Apollo error"
    if row.ours.requests != row.apollo.requests:
        return "MORE" if row.ours.requests > row.apollo.requests else "fewer"
    return "longer chain" if row.ours.chain > row.apollo.chain else ""


def table(name: str, rows: list[Row]) -> str:
    lines = [
        f"### {name}",
        "",
        "| # | query | fetches ours | fetches Apollo | requests ours | requests Apollo "
        "| chain ours | chain Apollo | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, row in enumerate(rows, start=1):
        cells = [_cells(row.ours), _cells(row.apollo)]
        lines.append(
            f"| {index} | `{_one_line(row.query)}` | {cells[0][0]} | {cells[1][0]} "
            f"| {cells[0][2]} | {cells[1][2]} | {cells[0][1]} | {cells[1][1]} | {flag(row)} |"
        )
        for who, result in (("ours", row.ours), ("Apollo", row.apollo)):
            if isinstance(result, str):
                lines.append(f"|   | {who}: {_one_line(result, 200)} | | | | | | | |")
    return "\n".join(lines)


def summary(results: dict[str, list[Row]]) -> str:
    lines = [
        "| suite | queries | fetches ours | fetches Apollo | requests ours | requests Apollo "
        "| chain ours | chain Apollo | ours more | ours fewer | ours longer chain | same text "
        "| errors ours / Apollo |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    totals = [0] * 13
    for name, rows in results.items():
        both = [(r.ours, r.apollo) for r in rows]
        counted = [(o, a) for o, a in both if isinstance(o, Count) and isinstance(a, Count)]
        values = [
            len(rows),
            sum(o.fetches for o, _ in counted),
            sum(a.fetches for _, a in counted),
            sum(o.requests for o, _ in counted),
            sum(a.requests for _, a in counted),
            sum(o.chain for o, _ in counted),
            sum(a.chain for _, a in counted),
            sum(flag(r) == "MORE" for r in rows),
            sum(flag(r) == "fewer" for r in rows),
            sum(flag(r) == "longer chain" for r in rows),
            sum(bool(r.texts[0]) and r.texts[0] == r.texts[1] for r in rows),
            sum(isinstance(o, str) for o, _ in both),
            sum(isinstance(a, str) for _, a in both),
        ]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        lines.append(f"| {name} | {_row(values)} |")
    lines.append(f"| **all** | {_row(totals)} |")
    return "\n".join(lines)


def more_in_all(results: dict[str, list[Row]]) -> list[str]:
    """The suites where our plans send more subgraph requests in all than Apollo's (queries
    either planner cannot plan left out of both sums)."""
    found = []
    for name, rows in results.items():
        counted = [
            (r.ours, r.apollo)
            for r in rows
            if isinstance(r.ours, Count) and isinstance(r.apollo, Count)
        ]
        ours_total = sum(o.requests for o, _ in counted)
        apollo_total = sum(a.requests for _, a in counted)
        if ours_total > apollo_total:
            found.append(f"{name} ({ours_total} vs {apollo_total})")
    return found


def _row(values: list[int]) -> str:
    """The summary's cells: the counts, the last two (errors ours, Apollo's) as `a / b`."""
    return " | ".join(map(str, values[:-2])) + f" | {values[-2]} / {values[-1]}"


def more_fetches(results: dict[str, list[Row]]) -> str:
    """Each query where ours sends more requests, or has a longer chain: the query, both plans."""
    parts: list[str] = []
    for name, rows in results.items():
        for index, row in enumerate(rows, start=1):
            if flag(row) in ("MORE", "longer chain"):
                parts.append(
                    f"### {name} #{index}: {flag(row)}\n\n```graphql\n{row.query.strip()}\n```\n\n"
                    f"Ours:\n\n```\n{row.texts[0]}\n```\n\nApollo's:\n\n```\n{row.texts[1]}\n```"
                )
    return "\n\n".join(parts) or "None."


def _cells(result: Count | str) -> tuple[str, str, str]:
    if isinstance(result, str):
        return ("–", "–", "–")
    return (str(result.fetches), str(result.chain), str(result.requests))


def _one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--audit", type=Path, help="a federation-gateway-audit checkout")
    parser.add_argument("--port", type=int, default=4410, help="for the audit's server")
    parser.add_argument("--suite", action="append", help="only these suites (repeatable)")
    parser.add_argument("--no-workload", action="store_true", help="leave bench/workload1 out")
    parser.add_argument("--out", type=Path, help="also write the tables here (Markdown)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    node = ensure_node()
    ensure_planner(node)
    results: dict[str, list[Row]] = {}
    if not args.no_workload:
        query = (WORKLOAD / "query.graphql").read_text()
        results["workload1"] = compare(node, compose_config(WORKLOAD / "supergraph.yaml"), [query])
    if args.audit is not None:
        server = AuditServer(args.audit, args.port, node)
        try:
            suites = server.wait_ready()
            for suite in suites:
                if args.suite and suite not in args.suite:
                    continue
                tests = server.get(f"/{suite}/tests")
                sdl = server.get(f"/{suite}/supergraph")
                results[suite] = compare(node, sdl, [t["query"] for t in tests])
                say(f"{suite}: {len(tests)} queries planned")
        finally:
            server.stop()
    tables = [table(name, rows) for name, rows in results.items()]
    report = (
        "## Summary\n\n"
        + summary(results)
        + "\n\n## Per query\n\n"
        + "\n\n".join(tables)
        + "\n\nSuites where ours sends more requests in all than Apollo's: "
        + (", ".join(more_in_all(results)) or "none")
        + "\n\n## Where ours sends more requests, or has a longer chain\n\n"
        + more_fetches(results)
    )
    say("\n" + report)
    if args.out is not None:
        args.out.write_text(report + "\n")
    more = sum(flag(r) == "MORE" for rows in results.values() for r in rows)
    say(f"\nqueries where our plan sends more requests than Apollo's: {more}")
    say(f"suites where it does in all: {', '.join(more_in_all(results)) or 'none'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, urllib.error.URLError) as exc:
        print(f"bench/plans.py: {exc}", file=sys.stderr)
        sys.exit(1)
