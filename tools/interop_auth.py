"""Interop check of the authorization features: our composition against Apollo's, and our
supergraph served by Hive Gateway and Apollo Gateway, signed in and not.

    .venv/bin/python tools/interop_auth.py [--port-base 6040]

1. Composes supergraph.yaml's subgraphs with our composer and with `@apollo/composition`
   (tools/compose_parity.py's pinned install and driver), and compares the authorization parts
   of the two supergraphs: the `@link`s of the authenticated / requiresScopes / policy
   features, those directives' definitions, and every application of them (type or field, with
   its arguments). Any difference is printed, and the exit status is 1.
2. Starts our services on fresh SQLite, seeded through their API (bench/differential/own.py),
   serves the development key's JWKS over HTTP, and serves our supergraph with our router
   (router.yaml: that JWKS, the claim headers), Hive Gateway with its default planner and with
   Hive Router's Rust planner (both with their JWT plugin on that JWKS, `genericAuth` enforcing
   the directives, and the token's `sub` and `scope` forwarded as the headers our services
   read), and Apollo Gateway (which has no JWT or authorization of its own). Each is sent one
   query touching a public field, an `@authenticated` one and a `@requiresScopes` one, without a
   token and with a customer's token, and its answer printed.
3. Apollo Gateway refuses a supergraph linking a `for: SECURITY` feature; then Apollo's own
   composed supergraph is tried too, to tell Apollo Gateway's limit from ours.

The npm packages go into the ignored bench/.cache/ (bench/gateways.py's pins for the gateways);
Node 22 or newer must come first on PATH. Not part of CI (it needs npm and the network once).
Ports: --port-base +1 our router, +2 and +3 Hive Gateway, +4 Apollo Gateway, +9 the JWKS,
+21 and +22 the services.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graphql import parse, print_ast  # noqa: E402
from graphql.language import ast  # noqa: E402

from bench.differential import own as own_graph  # noqa: E402
from bench.differential.processes import node_binary  # noqa: E402
from bench.harness.common import BenchError  # noqa: E402
from bench.harness.http import http_call, wait_ready  # noqa: E402
from bench.harness.processes import Children  # noqa: E402
from bench.harness.references import (  # noqa: E402
    APOLLO_DIR,
    HIVE_DIR,
    apollo_command,
    ensure_gateways,
    hive_command,
    router_command,
)
from router.authentication.development import ISSUER, DevelopmentKeys  # noqa: E402
from tools import compose_parity  # noqa: E402

RUN = ROOT / "bench" / ".cache" / "interop-auth"
SUPERGRAPH_YAML = ROOT / "supergraph.yaml"
FEATURES = own_graph.SECURITY_FEATURES
QUERY = "{ customers(first: 2) { edges { node { name email } } } me { name email } }"
"""`customers` is public, `me` @authenticated, `email` @requiresScopes read:email or staff."""
READY_BODY = json.dumps({"query": "{ __typename }"}).encode()

HIVE_CONFIG = """\
// Written by tools/interop_auth.py: Hive Gateway enforcing the authorization directives.
import {{ defineConfig, createRemoteJwksSigningKeyProvider }} from "@graphql-hive/gateway";
{planner_import}
export const gatewayConfig = defineConfig({{
  {planner}
  maskedErrors: false,
  jwt: {{
    signingKeyProviders: [createRemoteJwksSigningKeyProvider({{ jwksUri: "{jwks}" }})],
    tokenVerification: {{ issuer: ["{issuer}"], algorithms: ["ES256"] }},
    reject: {{ missingToken: false, invalidToken: true }},
  }},
  genericAuth: {{
    mode: "protect-granular",
    resolveUserFn: (context) => context.jwt?.payload,
    rejectUnauthenticated: false,
  }},
  propagateHeaders: {{
    fromClientToSubgraphs({{ context }}) {{
      const claims = context.jwt?.payload;
      if (!claims) return {{}};
      return {{ "x-customer-id": String(claims.sub), "x-customer-scopes": claims.scope ?? "" }};
    }},
  }},
}});
"""


# --- 1. the two compositions --------------------------------------------------------------


def compose_ours(ports: dict[str, int]) -> str:
    from router.compose import compose_config

    os.environ["CUSTOMERS_ROUTING_URL"] = f"http://127.0.0.1:{ports['customers']}/graphql"
    os.environ["ORDERS_ROUTING_URL"] = f"http://127.0.0.1:{ports['orders']}/graphql"
    return compose_config(SUPERGRAPH_YAML)


def compose_apollos(node: str, ports: dict[str, int]) -> str:
    """@apollo/composition's supergraph of the same subgraph files, routed to `ports`."""
    from router.compose import load_config

    compose_parity.install(node)
    with tempfile.TemporaryDirectory() as folder:
        case = Path(folder) / "ours"
        (case / "subgraphs").mkdir(parents=True)
        for subgraph in load_config(SUPERGRAPH_YAML).subgraphs:
            assert subgraph.file is not None
            (case / "subgraphs" / f"{subgraph.name}.graphql").write_text(subgraph.file.read_text())
        outcome = compose_parity.compose_with_apollo(node, [case])["ours"]
    if outcome.supergraph is None:
        raise BenchError(f"Apollo's composer refuses our subgraphs: {', '.join(outcome.errors)}")
    sdl = outcome.supergraph
    for name, port in ports.items():
        sdl = sdl.replace(f"http://{name}:4000/graphql", f"http://127.0.0.1:{port}/graphql")
    return sdl


def authorization_parts(sdl: str) -> dict[str, list[str]]:
    """The authorization features' links, directive definitions and applications, printed."""
    links, definitions, applications = [], [], []
    for definition in parse(sdl).definitions:
        if isinstance(definition, ast.SchemaDefinitionNode):
            for directive in definition.directives or ():
                printed = print_ast(directive)
                if directive.name.value == "link" and any(f"/{f}/" in printed for f in FEATURES):
                    links.append(printed)
        elif isinstance(definition, ast.DirectiveDefinitionNode):
            if definition.name.value in FEATURES:
                definitions.append(print_ast(definition))
        elif isinstance(definition, ast.TypeDefinitionNode):
            name = definition.name.value
            applications += _applied(name, definition.directives)
            for field in getattr(definition, "fields", None) or ():
                applications += _applied(f"{name}.{field.name.value}", field.directives)
    return {
        "links": sorted(links),
        "definitions": sorted(definitions),
        "applications": sorted(applications),
    }


def _applied(where: str, directives: Any) -> list[str]:
    return [f"{where} {print_ast(d)}" for d in directives or () if d.name.value in FEATURES]


def compare(ours: str, apollos: str) -> bool:
    mine, theirs = authorization_parts(ours), authorization_parts(apollos)
    same = True
    for part in mine:
        if mine[part] == theirs[part]:
            print(f"  {part}: the same ({len(mine[part])})")
            for line in mine[part]:
                print(f"    {line}")
            continue
        same = False
        print(f"  {part}: DIFFERENT")
        for line in sorted(set(mine[part]) - set(theirs[part])):
            print(f"    only ours:   {line}")
        for line in sorted(set(theirs[part]) - set(mine[part])):
            print(f"    only Apollo: {line}")
    return same


# --- 2. serving -----------------------------------------------------------------------------


def serve_jwks(port: int, document: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start(
    children: Children, name: str, cmd: list[str], port: int, path: str, cwd: Path, **env: str
) -> str | None:
    """Start a gateway until it answers; None, or why it did not start (its log's end)."""
    log = RUN / "logs" / f"{name}.log"
    proc = children.start(cmd, log=log, env={"NODE_ENV": "production", **env}, cwd=cwd)
    try:
        wait_ready(proc, port, path, READY_BODY, log)
    except BenchError as exc:
        children.stop(proc)
        return str(exc)
    return None


def ask(port: int, path: str, token: str | None) -> str:
    headers = {"authorization": f"Bearer {token}"} if token else None
    status, raw = http_call(port, "POST", path, json.dumps({"query": QUERY}).encode(), 30, headers)
    try:
        body = json.dumps(json.loads(raw), separators=(",", ":"))
    except ValueError:
        body = raw.decode(errors="replace")
    return f"HTTP {status} {body[:700]}"


def refusal(reason: str) -> str:
    codes = sorted({c for c in ("UNSUPPORTED_LINKED_FEATURE",) if c in reason})
    lines = [line.strip() for line in reason.splitlines() if "Error" in line or "feature" in line]
    return ", ".join(codes) or (lines[0][:300] if lines else reason[-300:])


def _gateways(
    node: str, base: int, supergraph: Path, jwks: str
) -> list[tuple[str, list[str], int, str, Path]]:
    """Each gateway to serve our supergraph: its name, command, port, GraphQL path and folder.
    Ours runs with the committed router.yaml (its JWKS from ROUTER_JWKS_URL); Hive Gateway with
    each planner enforces the directives with the same JWKS."""
    ours = router_command(ROOT / "router.yaml", supergraph, base + 1, "--no-reload")
    gateways = [("our router", ours, base + 1, "/graphql", ROOT)]
    for offset, (label, rust) in enumerate((("default", False), ("rust", True)), start=2):
        config_file = HIVE_DIR / f"interop-auth-{label}.config.mjs"
        config_file.write_text(
            HIVE_CONFIG.format(
                planner_import='import { unifiedGraphHandler } from "@graphql-hive/router-runtime";'
                if rust
                else "",
                planner="unifiedGraphHandler," if rust else "",
                jwks=jwks,
                issuer=ISSUER,
            )
        )
        hive = hive_command(node, supergraph, config_file, base + offset)
        gateways.append(
            (f"Hive Gateway ({label} planner)", hive, base + offset, "/graphql", HIVE_DIR)
        )
    apollo = apollo_command(node, supergraph, base + 4)
    gateways.append(("Apollo Gateway", apollo, base + 4, "/", APOLLO_DIR))
    return gateways


def serve_and_ask(
    children: Children, node: str, base: int, ours: str, apollos: str, token: str, jwks: str
) -> None:
    files = {"ours": RUN / "supergraph-ours.graphql", "apollo": RUN / "supergraph-apollo.graphql"}
    files["ours"].write_text(ours)
    files["apollo"].write_text(apollos)
    gateways = _gateways(node, base, files["ours"], jwks)
    for name, cmd, port, path, cwd in gateways:
        print(f"\n{name} on our supergraph:")
        slug = "-".join(name.lower().replace("(", "").replace(")", "").split())
        failed = start(children, slug, cmd, port, path, cwd, ROUTER_JWKS_URL=jwks)
        if failed is not None:
            print(f"  refused to start: {refusal(failed)}")
            continue
        print(f"  no token:       {ask(port, path, None)}")
        print(f"  customer token: {ask(port, path, token)}")
    print("\nApollo Gateway on Apollo's own composition of the same subgraphs:")
    own = apollo_command(node, files["apollo"], base + 4)
    failed = start(children, "apollo-own", own, base + 4, "/", APOLLO_DIR)
    if failed is not None:
        print(
            f"  refused to start: {refusal(failed)} (Apollo Gateway's limit: authorization "
            "is Apollo Router's, not the gateway's)"
        )
    else:
        print(f"  no token:       {ask(base + 4, '/', None)}")
        print(f"  customer token: {ask(base + 4, '/', token)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/interop_auth.py", description=__doc__)
    parser.add_argument("--port-base", type=int, default=6040)
    args = parser.parse_args(argv)
    base = args.port_base
    node = node_binary()
    ensure_gateways(node)
    RUN.mkdir(parents=True, exist_ok=True)
    children = Children(RUN / "children.json")
    children.reap_leftovers()
    jwks_server = None
    try:
        graph = own_graph.start(children, RUN, base)
        ports = dict(graph.ports)
        answers = own_graph.seed(graph)
        signed_in = own_graph.sign_in(RUN, answers)
        print("1. The authorization parts of the two supergraphs (ours, Apollo's):")
        ours, apollos = compose_ours(ports), compose_apollos(node, ports)
        same = compare(ours, apollos)
        print(f"   {'the same' if same else 'DIFFERENT'}")
        jwks_server = serve_jwks(base + 9, signed_in.jwks_file.read_bytes())
        jwks = f"http://127.0.0.1:{base + 9}/jwks.json"
        token = DevelopmentKeys(RUN / "own" / "dev-keys").token(signed_in.subject, ["read:email"])
        print(f"\n2. {QUERY}\n   customer {signed_in.subject}'s token has the scope read:email")
        serve_and_ask(children, node, base, ours, apollos, token, jwks)
    except BenchError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        if jwks_server is not None:
            jwks_server.shutdown()
        children.stop_all()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
