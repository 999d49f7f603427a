"""The reference gateways the benchmarks run beside our router: Hive Gateway (with and without
Hive Router's Rust query planner) and Apollo Gateway, pinned, npm-installed into
bench/.cache/npm/<gateway>/ (once; again when a pin changes), and the command that starts each,
and our router, on a supergraph file and a port."""

from __future__ import annotations

from pathlib import Path

from bench.harness.common import NPM_DIR, VENV_PYTHON
from bench.harness.node import npm_install

# Pinned versions (the newest releases when this was written; the public benchmark pins
# @graphql-hive/gateway 2.7.2, @apollo/gateway 2.14.0, @apollo/server 5.5.1, graphql 16.14.0).
PACKAGES: dict[str, dict[str, str]] = {
    "hive-gateway": {
        "@graphql-hive/gateway": "2.15.1",
        "@graphql-hive/router-runtime": "1.4.23",  # Hive Router's Rust query planner
        "graphql": "16.14.0",
    },
    "apollo-gateway": {
        "@apollo/gateway": "2.14.4",
        "@apollo/server": "5.5.1",
        "graphql": "16.14.0",
    },
}
HIVE_DIR = NPM_DIR / "hive-gateway"
"""Hive Gateway's install; its config files are written here, so their imports find it."""
APOLLO_DIR = NPM_DIR / "apollo-gateway"

APOLLO_RUN_SCRIPT = """\
// Written by bench/harness/references.py: Apollo Gateway + Apollo Server on a supergraph file.
// node run.mjs SUPERGRAPH_FILE PORT
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphFile, port] = process.argv.slice(2);
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraphFile, "utf8") });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(`apollo gateway ready at ${url}`);
"""


def ensure_gateways(node: str) -> dict[str, str]:
    """npm-install each gateway's pinned packages into its own folder (skipped when current)
    and write Apollo's run script; the versions installed, by package."""
    versions: dict[str, str] = {}
    for name, pins in PACKAGES.items():
        npm_install(node, NPM_DIR / name, pins)
        versions.update(pins)
    (APOLLO_DIR / "run.mjs").write_text(APOLLO_RUN_SCRIPT)
    return versions


def router_command(config: Path, supergraph: Path, port: int, *extra: str) -> list[str]:
    """`python -m router serve` with this router.yaml and supergraph on 127.0.0.1:`port`, at
    `--log-level warning`: its access line per request (written at info) has no counterpart in
    the peers' default logging, which writes nothing per request."""
    return [
        str(VENV_PYTHON),
        *("-m", "router", "serve"),
        *("--config", str(config)),
        *("--supergraph", str(supergraph)),
        *("--port", str(port)),
        *("--log-level", "warning"),
        *extra,
    ]


def hive_command(node: str, supergraph: Path, config: Path, port: int, *extra: str) -> list[str]:
    """Hive Gateway's CLI (one worker) with a gateway config file written into HIVE_DIR."""
    bin_js = (HIVE_DIR / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js").resolve()
    return [
        *(node, str(bin_js), "supergraph", str(supergraph)),
        *("--config-path", str(config)),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--fork", "1"),
        *extra,
    ]


def apollo_command(node: str, supergraph: Path, port: int) -> list[str]:
    """Apollo Gateway in Apollo Server (the run script ensure_gateways wrote); answers on `/`."""
    return [node, str(APOLLO_DIR / "run.mjs"), str(supergraph), str(port)]
