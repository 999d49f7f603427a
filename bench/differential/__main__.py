"""The command: see bench/differential/__init__.py."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.differential import literals as literal_values  # noqa: E402
from bench.differential import own as own_graph  # noqa: E402
from bench.differential.compare import (  # noqa: E402
    AGREE,
    CONTESTED,
    MISMATCH,
    REFERENCES_WRONG,
    Answer,
    classify,
)
from bench.differential.evidence import Judgement, judge  # noqa: E402
from bench.differential.processes import (  # noqa: E402
    RUN,
    Gateway,
    ensure_packages,
    node_binary,
    start_audit,
    start_gateway,
)
from bench.differential.proxy import RecordingProxy, Route  # noqa: E402
from bench.differential.rename import map_back, rename_aliases  # noqa: E402
from bench.differential.report import SuiteResult, summary  # noqa: E402
from bench.differential.shape import determined, violations  # noqa: E402
from bench.differential.shrink import shrink  # noqa: E402
from bench.differential.subgraphs import dropped_root_values, root_owners  # noqa: E402
from bench.harness.common import BenchError, say  # noqa: E402
from bench.harness.http import http_call  # noqa: E402
from bench.harness.processes import Children  # noqa: E402

PORT_BASE = 4300  # the audit's serve; gateways on base+1..3, their proxies on base+11..13
GATEWAY_NAMES = ("router", "hive", "apollo")
GATEWAY_PATHS = {"router": "/graphql", "hive": "/graphql", "apollo": "/"}
SKIPPED_SUITES = {"mutations"}
REQUEST_TIMEOUT = 30.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.differential", description=__doc__)
    parser.add_argument("--audit", type=Path, help="federation-gateway-audit checkout")
    parser.add_argument(
        "--own",
        action="store_true",
        help="our own supergraph.graphql in front of our services (SQLite, seeded), not the audit",
    )
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--count", type=int, default=20, help="operations per suite")
    parser.add_argument("--suites", default="", help="comma-separated suite ids (default: all)")
    parser.add_argument("--out", type=Path, default=RUN / "differential.jsonl")
    parser.add_argument("--max-selections", type=int, default=14)
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument(
        "--shrink", type=int, default=2, help="mismatches shrunk per suite (0: none)"
    )
    parser.add_argument(
        "--port-base",
        type=int,
        default=PORT_BASE,
        help="the audit's serve on this port, gateways on +1..+3, their proxies on +11..+13",
    )
    args = parser.parse_args(argv)
    if not args.own and args.audit is None:
        parser.error("--audit is needed (or --own, for our own graph)")
    return args


class Run:
    """One differential run: the gateways, their proxies and the output file."""

    def __init__(
        self,
        args: argparse.Namespace,
        children: Children,
        node: str,
        route: Route | None = None,
        signed_in: own_graph.SignIn | None = None,
    ) -> None:
        self.args = args
        self.children = children
        self.node = node
        self.serve_port = args.port_base
        self.signed_in = signed_in
        """--own: every operation is sent with this token (own.py says how each gateway uses it)."""
        extra = signed_in.router_config() if signed_in is not None else ""
        self.gateways = tuple(
            Gateway(name, args.port_base + 1 + i, GATEWAY_PATHS[name], extra)
            for i, name in enumerate(GATEWAY_NAMES)
        )
        self.proxy_ports = {g.name: args.port_base + 11 + i for i, g in enumerate(self.gateways)}
        upstream: int | Route = self.serve_port if route is None else route
        claims = signed_in.claim_headers if signed_in is not None else {}
        self.proxies = {
            name: RecordingProxy(port, upstream, *_claims_for(name, claims))
            for name, port in self.proxy_ports.items()
        }
        self.pool = ThreadPoolExecutor(max_workers=len(self.gateways))
        self.procs: dict[str, Any] = {}
        self.owners: dict[str, str] = {}  # the suite's root fields -> their one subgraph's path

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()
        self.pool.shutdown(wait=False)

    # -- one request -----------------------------------------------------------------------

    def send(
        self, gateway: Gateway, query: str, variables: dict[str, Any], name: str | None
    ) -> Answer:
        payload: dict[str, Any] = {"query": query, "variables": variables}
        if name is not None:
            payload["operationName"] = name
        try:
            status, raw = http_call(
                gateway.port,
                "POST",
                gateway.path,
                json.dumps(payload).encode(),
                REQUEST_TIMEOUT,
                self.signed_in.authorization if self.signed_in is not None else None,
            )
        except OSError as exc:
            return Answer(0, None, f"{type(exc).__name__}: {exc}")
        try:
            body = json.loads(raw)
        except ValueError:
            return Answer(status, raw.decode(errors="replace")[:2000], f"HTTP {status}, not JSON")
        if status >= 500 and not isinstance(body, dict):
            return Answer(status, body, f"HTTP {status}")
        return Answer(status, body)

    def send_all(
        self, query: str, variables: dict[str, Any], name: str | None
    ) -> tuple[dict[str, Answer], dict[str, list[Any]]]:
        for proxy in self.proxies.values():
            proxy.take()
        futures = {
            g.name: self.pool.submit(self.send, g, query, variables, name) for g in self.gateways
        }
        answers = {n: f.result() for n, f in futures.items()}
        exchanges = {n: [e.as_json() for e in self.proxies[n].take()] for n in answers}
        return answers, exchanges

    # -- one suite -------------------------------------------------------------------------

    def suite(self, suite: str, out: TextIO) -> SuiteResult:
        """One audit suite: its supergraph and test queries from the audit's serve."""
        _, raw = http_call(self.serve_port, "GET", f"/{suite}/supergraph")
        sdl = raw.decode()
        status_tests, raw_tests = http_call(self.serve_port, "GET", f"/{suite}/tests")
        tests = json.loads(raw_tests) if status_tests == 200 else []
        proxied = {
            gateway.name: re.sub(
                r'(@join__graph\([^)]*url:\s*")https?://[^/"]+',
                rf"\g<1>http://127.0.0.1:{self.proxy_ports[gateway.name]}",
                sdl,
            )
            for gateway in self.gateways
        }
        return self.operations(suite, sdl, proxied, [t["query"] for t in tests], [], out)

    def own(self, answers: list[Any], out: TextIO) -> SuiteResult:
        """Our own supergraph in front of our services (`answers`: the seed's, for literals)."""
        sdl = own_graph.SUPERGRAPH.read_text()
        proxied = {
            g.name: own_graph.proxied_supergraph(sdl, self.proxy_ports[g.name])
            for g in self.gateways
        }
        proxied["apollo"] = own_graph.without_authorization(proxied["apollo"])
        return self.operations("own", sdl, proxied, [], answers, out)

    def operations(
        self,
        suite: str,
        sdl: str,
        proxied: dict[str, str],
        queries: list[str],
        answers: list[Any],
        out: TextIO,
    ) -> SuiteResult:
        """--count random operations over `sdl`'s API schema, each gateway on its `proxied`
        supergraph; argument literals from `queries` (and their answers) and `answers`."""
        from graphql import GraphQLSchema

        from router.errors import SupergraphError
        from router.supergraph.load import load_supergraph
        from tests.support.operations import RandomChooser, random_operation

        result = SuiteResult(suite)
        try:
            supergraph = load_supergraph(sdl)
        except SupergraphError as exc:
            result.note = f"skipped: our router refuses the supergraph ({exc})"
            return result
        schema: GraphQLSchema = supergraph.api_schema
        paths = {
            g: urlsplit(graph.url).path
            for g, graph in load_supergraph(proxied["router"]).graphs.items()
        }
        self.owners = root_owners(supergraph, paths)
        files = {}
        for gateway in self.gateways:
            files[gateway.name] = RUN / "supergraphs" / f"{suite}-{gateway.name}.graphql"
            files[gateway.name].parent.mkdir(parents=True, exist_ok=True)
            files[gateway.name].write_text(proxied[gateway.name])
        (RUN / "supergraphs" / f"{suite}.graphql").write_text(sdl)
        procs = {}
        try:
            for gateway in self.gateways:
                procs[gateway.name] = start_gateway(
                    self.children, gateway, self.node, files[gateway.name], suite
                )
            found = literal_values.from_queries(schema, queries)
            bodies = [self.send(self.gateways[2], q, {}, None).body for q in queries]
            literals = literal_values.from_answers(schema, bodies + answers, found)
            for index in range(self.args.count):
                choose = RandomChooser(f"{self.args.seed}:{suite}:{index}")
                operation = random_operation(
                    schema,
                    choose,
                    literals,
                    max_depth=self.args.max_depth,
                    max_selections=choose.integer(1, self.args.max_selections),
                )
                self.one(suite, index, schema, operation, result, out)
                for gateway in self.gateways:
                    if procs[gateway.name].poll() is not None:
                        say(f"  {gateway.name} exited on {suite} #{index}: restarting")
                        procs[gateway.name] = start_gateway(
                            self.children, gateway, self.node, files[gateway.name], suite
                        )
        finally:
            for proc in procs.values():
                self.children.stop(proc)
        return result

    def one(
        self,
        suite: str,
        index: int,
        schema: Any,
        operation: Any,
        result: SuiteResult,
        out: TextIO,
    ) -> None:
        answers, exchanges = self.send_all(
            operation.query, operation.variables, operation.operation_name
        )
        first, side = classify(answers["router"], answers["hive"], answers["apollo"])
        result.first_verdicts[first] += 1
        for name, requests in exchanges.items():
            result.subgraph_requests[name] += len(requests)
        if first == AGREE:
            result.verdicts[first] += 1
            return
        judgement, evidence = self.evidence(schema, operation, answers, exchanges, first)
        verdict = judgement.verdict
        result.verdicts[verdict] += 1
        record: dict[str, Any] = {
            "suite": suite,
            "seed": self.args.seed,
            "index": index,
            "verdict": verdict,
            "first_verdict": first,
            "sides_with": side,
            **judgement.as_json(),
            "evidence": evidence,
            "query": operation.query,
            "variables": operation.variables,
            "operationName": operation.operation_name,
            "answers": {n: a.as_json() for n, a in answers.items()},
            "subgraph_requests": exchanges,
            "supergraph": str(RUN / "supergraphs" / f"{suite}.graphql"),
        }
        if verdict == CONTESTED:
            result.sides[side or "neither"] += 1
            result.contested.append((index, side or "neither", judgement.supports, judgement.why))
        if verdict == REFERENCES_WRONG:
            result.references_wrong.append(
                f"- {suite} #{index}: `{' '.join(operation.query.split())}` "
                f"{json.dumps(operation.variables)}\n  - ours: {_brief(record['answers']['router'])}"
                f"\n  - references: {_brief(record['answers']['apollo'])}\n  - {judgement.why}"
            )
        if verdict == MISMATCH and result.shrunk < self.args.shrink:
            result.shrunk += 1

            def still_fails(query: str, variables: dict[str, Any]) -> bool:
                got, _ = self.send_all(query, variables, None)
                return classify(got["router"], got["hive"], got["apollo"])[0] == MISMATCH

            small, small_vars, tries = shrink(
                schema, _anonymous(operation.query), operation.variables, still_fails, budget=40
            )
            final, sent = self.send_all(small, small_vars, None)
            record["shrunk"] = {
                "query": small,
                "variables": small_vars,
                "tries": tries,
                "answers": {n: a.as_json() for n, a in final.items()},
                "subgraph_requests": sent,
            }
        if verdict == MISMATCH:
            shown = record.get("shrunk", record)
            result.mismatches.append(
                f"- {suite} #{index}: `{' '.join(shown['query'].split())}` "
                f"{json.dumps(shown['variables'])}\n  - ours: {_brief(shown['answers']['router'])}"
                f"\n  - references: {_brief(shown['answers']['apollo'])}"
                f"\n  - evidence: {judgement.why}"
            )
        out.write(json.dumps(record) + "\n")
        out.flush()

    def evidence(
        self,
        schema: Any,
        operation: Any,
        answers: dict[str, Answer],
        exchanges: dict[str, list[Any]],
        first: str,
    ) -> tuple[Judgement, dict[str, Any]]:
        """The alias-renamed operation sent to the three gateways, the shapes checked, judged."""
        shape = {
            n: violations(schema, operation.query, operation.variables, a.body)
            for n, a in answers.items()
            if a.transport is None
        }
        original = {n: a.key() for n, a in answers.items()}
        fixed = determined(schema, operation.query, operation.variables)
        expected = None if fixed is None else Answer(200, {"data": fixed}).key()
        everyone = [e for sent in exchanges.values() for e in sent]
        dropped = {
            n: dropped_root_values(
                schema, operation.query, operation.variables, a.body, everyone, self.owners
            )
            for n, a in answers.items()
        }
        evidence: dict[str, Any] = {
            "shape": {n: v for n, v in shape.items() if v},
            "determined": fixed,
            "dropped": {n: v for n, v in dropped.items() if v},
        }
        renaming = rename_aliases(operation.query)
        if renaming is None:
            evidence["renamed"] = None
            return judge(first, original, None, frozenset(), shape, expected, dropped), evidence
        got, _ = self.send_all(renaming.query, operation.variables, operation.operation_name)
        renamed = {n: _mapped_back(a, renaming.back).key() for n, a in got.items()}
        unstable: set[str] = set()
        if any(renamed[n] != original[n] for n in original):
            again, _ = self.send_all(operation.query, operation.variables, operation.operation_name)
            unstable = {n for n, a in again.items() if a.key() != original[n]}
        # a renamed answer that is no GraphQL response (time-out, refused) is no evidence either
        unstable |= {n for n, a in got.items() if a.transport is not None}
        evidence["renamed"] = {
            "query": renaming.query,
            "answers": {n: a.as_json() for n, a in got.items()},
            "changed": sorted(n for n in original if renamed[n] != original[n]),
            "unstable": sorted(unstable),
        }
        judgement = judge(first, original, renamed, frozenset(unstable), shape, expected, dropped)
        return judgement, evidence


def _claims_for(gateway: str, claims: dict[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """What a gateway's proxy passes on of its headers and adds: our router's claim headers
    pass; for the references, which forward none, the proxy adds them."""
    if gateway == "router":
        return tuple(claims), {}
    return (), claims


def _mapped_back(answer: Answer, back: Any) -> Answer:
    if answer.transport is not None or not isinstance(answer.body, dict):
        return answer
    return Answer(answer.status, {**answer.body, "data": map_back(answer.body.get("data"), back)})


def _brief(answer: dict[str, Any], limit: int = 300) -> str:
    text = json.dumps(answer["body"]) if answer["transport"] is None else answer["transport"]
    return text if len(text) <= limit else text[:limit] + " …"


def _anonymous(query: str) -> str:
    """The operation without its name (a shrunk operation is sent without operationName)."""
    return re.sub(r"\b(query|mutation)\s+(Generated|Op)\b", r"\1", query)


def _said(result: SuiteResult) -> SuiteResult:
    v = result.verdicts
    say(
        f"{result.suite}: {sum(v.values())} ops, {v[AGREE]} agree, {v[MISMATCH]} MISMATCH, "
        f"{v[REFERENCES_WRONG]} references-wrong, {v[CONTESTED]} contested "
        f"{dict(result.sides)} {result.note}"
    )
    return result


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the run as Ctrl-C does: children stopped, summary kept


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    started = time.monotonic()
    node = node_binary()
    ensure_packages(node)
    RUN.mkdir(parents=True, exist_ok=True)
    children = Children(RUN / "children.json")
    children.reap_leftovers()
    run: Run | None = None
    results: list[SuiteResult] = []
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.own:
            say(f"starting our services on ports {args.port_base + 21}, {args.port_base + 22} ...")
            graph = own_graph.start(children, RUN, args.port_base)
            answers = own_graph.seed(graph)
            signed_in = own_graph.sign_in(RUN, answers)
            say(f"signed in as customer {signed_in.subject} with {' '.join(own_graph.SCOPES)}")
            run = Run(args, children, node, graph.route, signed_in)
            with args.out.open("w") as out:
                results.append(_said(run.own(answers, out)))
        else:
            say(f"starting the audit's serve on port {args.port_base} ...")
            start_audit(children, node, args.audit.resolve(), args.port_base)
            _, raw = http_call(args.port_base, "GET", "/supergraphs")
            available = [re.sub(r".*/([^/]+)/supergraph$", r"\1", u) for u in json.loads(raw)]
            wanted = [s for s in args.suites.split(",") if s] or available
            unknown = sorted(set(wanted) - set(available))
            if unknown:
                raise BenchError(f"unknown suites {unknown}; the audit has {sorted(available)}")
            suites = [s for s in wanted if s not in SKIPPED_SUITES]
            run = Run(args, children, node)
            with args.out.open("w") as out:
                for suite in suites:
                    results.append(_said(run.suite(suite, out)))
    except BenchError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        if run is not None:
            run.close()
        children.stop_all()
    title = (
        f"seed {args.seed}, {args.count} operations per suite, max {args.max_selections} "
        f"selections, {time.monotonic() - started:.0f} s"
    )
    text = summary(results, title)
    summary_file = args.out.with_name(args.out.name + ".summary.md")
    summary_file.write_text(text)
    say(text)
    say(f"records: {args.out}; summary: {summary_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
