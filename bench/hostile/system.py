"""The system under attack: the real services and a served router, its CPU and RSS read from
/proc, and /health polled from another process."""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.workload2 import pin, seed_orders  # noqa: E402
from tests.support.auth import jwt_yaml, staff_bearer  # noqa: E402
from tests.support.services import ServiceProcess  # noqa: E402

AUTH = staff_bearer()
"""Every request to the router is a staff member's (nothing removed by authorization: the
whole operation reaches planning and the services), unless a case says otherwise."""

REFUSAL_BUDGET_MS = 50.0
HOST = "127.0.0.1"

# --- measuring the router -----------------------------------------------------------------


def cpu_ms(pid: int) -> float:
    """CPU time the process has used so far (all its threads), in ms."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e6


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def poll_health(port: int, commands: Connection) -> None:
    """In its own process: GET /health every 100 ms on a new connection; on "dump", send the
    (answered, polled) counts since the last dump."""
    answered = polled = 0
    request = f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    while True:
        started = time.monotonic()
        if commands.poll():
            command = commands.recv()
            if command == "stop":
                return
            commands.send((answered, polled))
            answered = polled = 0
        polled += 1
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.settimeout(max(0.01, 1 - (time.monotonic() - started)))
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    answered += 1
        except OSError:
            pass
        time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


class HealthPoller:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.commands, remote = context.Pipe()
        self.process = context.Process(target=poll_health, args=(port, remote), daemon=True)
        self.process.start()

    def counts(self) -> tuple[int, int]:
        """(answered, polled) since the last call."""
        self.commands.send("dump")
        return self.commands.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.commands.send("stop")
        self.process.join(5)


# --- the system -----------------------------------------------------------------------------


class System:
    """The two services and the router, started; the router can be killed and started again."""

    def __init__(self, folder: Path) -> None:
        self.customers = ServiceProcess(
            "customer_subgraph",
            ["--database-url", f"sqlite:///{folder}/c.sqlite3", "--log-level", "warning"],
            prefix=pin("1"),
        ).start()
        self.orders = ServiceProcess(
            "order_subgraph",
            [
                *("--database-url", f"sqlite:///{folder}/o.sqlite3"),
                *("--customers-url", f"{self.customers.url}/graphql"),
                *("--log-level", "warning"),
            ],
            prefix=pin("1"),
        ).start()
        seed_orders(f"{self.orders.url}/graphql")
        sdl = (ROOT / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4001/graphql", f"{self.customers.url}/graphql")
        sdl = sdl.replace("http://127.0.0.1:4002/graphql", f"{self.orders.url}/graphql")
        (folder / "supergraph.graphql").write_text(sdl)
        (folder / "router.yaml").write_text(jwt_yaml())  # JWT and claim headers, else defaults
        self.router = ServiceProcess(
            "router",
            [
                *("--supergraph", str(folder / "supergraph.graphql")),
                *("--config", str(folder / "router.yaml")),
                *("--log-level", "warning"),
            ],
            subcommand=["serve"],
            prefix=pin("0"),
        ).start()

    @property
    def pid(self) -> int:
        assert self.router.process is not None
        return self.router.process.pid

    @property
    def url(self) -> str:
        return f"{self.router.url}/graphql"

    def healthy(self, seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.router.url}/health", timeout=1).status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def restart_router(self) -> None:
        process = self.router.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.router.process = None
        self.router.stop()  # closes its output file
        self.router.start()

    def stop(self) -> None:
        for service in (self.router, self.orders, self.customers):
            with contextlib.suppress(Exception):
                service.stop()


# --- what a case returns ---------------------------------------------------------------------


@dataclass
class Outcome:
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: int = 0
    note: str = ""
    timed_out: bool = False

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, status: int | str, body: bytes | None) -> None:
        self.requests += 1
        self.statuses[str(status)] += 1
        code, message = error_code(body)
        self.codes[code] += 1
        self.messages.setdefault(code, message)


def error_code(body: bytes | None) -> tuple[str, str]:
    """The first error's code (or what the body is instead) and its message, shortened."""
    if not body:
        return "—", ""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "(not JSON)", body[:40].decode(errors="replace")
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not errors:
        return ("(data)" if isinstance(answer, dict) and "data" in answer else "—"), ""
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = first.get("extensions", {}).get("code")
    message = str(first.get("message", ""))
    return (str(code) if code else "(no code)"), message[:70] + ("…" if len(message) > 70 else "")
