"""The processes of a differential run: npm installs, the audit's server and the three gateways.

The reference gateways are bench/harness/references.py's installs (the pinned `PACKAGES`, npm
into bench/.cache/npm/, reinstalled only when a pin changes), run on Node >= 22 (from $NODE or
PATH, else bench/.cache/node as bench/gateways.py installs it). Processes are the harness's
`Children`: each in its own session, all stopped on exit.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness.common import CACHE, ROOT
from bench.harness.http import wait_ready
from bench.harness.node import find_node, npm_beside
from bench.harness.processes import Children
from bench.harness.references import (
    APOLLO_DIR,
    HIVE_DIR,
    apollo_command,
    ensure_gateways,
    hive_command,
    router_command,
)

RUN = CACHE / "differential" / "run"
NODE_MIN = 22

HIVE_CONFIG = """\
// Written by bench/differential: Hive Gateway with Hive Router's Rust query planner.
import { defineConfig } from "@graphql-hive/gateway";
import { unifiedGraphHandler } from "@graphql-hive/router-runtime";

// Error messages unmasked: a person judging a contested answer needs Hive's reason.
export const gatewayConfig = defineConfig({ unifiedGraphHandler, maskedErrors: false });
"""


# Our router with the references' posture, so that only answers are compared: no alias, depth or
# cost limit of its own (the references have none), subgraph error messages shown.
ROUTER_CONFIG = """\
# Written by bench/differential.
limits: { max_depth: 1000, max_aliases: 100000 }
demand_control: { enabled: false }
include_subgraph_errors: { all: true }
"""


def node_binary() -> str:
    """Node >= 22: $NODE, PATH, or the one bench/gateways.py installs into bench/.cache/node."""
    return find_node(NODE_MIN)


def ensure_packages(node: str) -> None:
    """The reference gateways installed (the harness's pins), and Hive's config written."""
    ensure_gateways(node)
    (HIVE_DIR / "differential.config.mjs").write_text(HIVE_CONFIG)


@dataclass(frozen=True, slots=True)
class Gateway:
    """One gateway of the comparison: how to start it and where it answers."""

    name: str  # router | hive | apollo
    port: int
    path: str  # the GraphQL endpoint
    router_config: str = ""
    """More router.yaml for our router (`--own`: its JWT and claim headers)."""

    def command(self, node: str, supergraph: Path) -> tuple[list[str], dict[str, str], Path]:
        if self.name == "router":
            config = RUN / "router.yaml"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(ROUTER_CONFIG + self.router_config)
            cmd = router_command(config, supergraph, self.port, "--no-reload")
            return cmd, {}, ROOT
        if self.name == "hive":
            config = HIVE_DIR / "differential.config.mjs"
            cmd = hive_command(node, supergraph, config, self.port)
            return cmd, {"NODE_ENV": "production"}, HIVE_DIR
        # the harness's Apollo Gateway script (production: no stack traces in errors)
        cmd = apollo_command(node, supergraph, self.port)
        return cmd, {"NODE_ENV": "production"}, APOLLO_DIR


def start_audit(children: Children, node: str, audit: Path, port: int) -> None:
    """`npm start -- serve --port PORT` in the audit checkout, until its first suite answers."""
    npm, env = npm_beside(node, "to run the audit's serve")
    log = RUN / "logs" / "audit-serve.log"
    proc = children.start(
        [npm, "start", "--", "serve", "--port", str(port)], log=log, env=env, cwd=audit
    )
    wait_ready(proc, port, "/supergraphs", None, log, method="GET")


def start_gateway(
    children: Children, gateway: Gateway, node: str, supergraph: Path, suite: str
) -> subprocess.Popen[bytes]:
    cmd, env, cwd = gateway.command(node, supergraph)
    log = RUN / "logs" / f"{suite}-{gateway.name}.log"
    proc = children.start(cmd, log=log, env=env, cwd=cwd)
    body = json.dumps({"query": "{ __typename }"}).encode()
    wait_ready(proc, gateway.port, gateway.path, body, log)
    return proc
