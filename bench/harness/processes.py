"""Child processes of a benchmark: each in its own session and recorded, all stopped on exit
(also on Ctrl-C, and those a run killed hard left behind are stopped by the next); ports for
servers; pinning to CPUs with taskset.

    children = Children(RUN / "children.json"); children.reap_leftovers()
    proc = children.start(cmd, log=LOGS / "x.log"); ...; children.stop_all()
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.harness.common import ROOT, read_text, say

GATEWAY_CPU, LOAD_CPU = "0", "1"
"""The CPU the measured server runs on, and the one for the load generator and the subgraphs."""


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
            current = cmdline(pid)
            # recorded before or after `taskset -c N` exec'd the command
            if cmdline and current and (current == cmdline or cmdline.endswith(" " + current)):
                say(f"stopping pid {pid} left over by an earlier run: {cmdline[:80]}")
                stop_group(pid, grace=3.0)
        self.registry.unlink(missing_ok=True)

    def _save(self) -> None:
        entries = [{"pid": p.pid, "cmdline": cmdline(p.pid)} for p in self.procs]
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
        stop_group(proc.pid, grace, proc)
        with self.lock:
            if proc in self.procs:
                self.procs.remove(proc)
            self._save()

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, grace=3.0)
        self.registry.unlink(missing_ok=True)


def cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


def group_members(pgid: int) -> list[int]:
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


def stop_group(pid: int, grace: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group `pid` leads (one of ours), SIGKILL what is left after `grace`.

    A group id is not reused while any member lives, so signalling it only while members are
    seen never reaches another process.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc is not None:
            proc.poll()  # reap a dead leader so it is not counted as a member
        if not group_members(pid):
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()
            if not group_members(pid):
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
    for line in read_text(Path(f"/proc/{pid}/status")).splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"


def pin(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if can_pin() else []


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
