"""Run the services for tests: in process (ASGI, lifespan included) or as real uvicorn processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GraphQLClient:
    """POSTs GraphQL to one endpoint and returns the decoded JSON body."""

    def __init__(self, http: httpx.AsyncClient, path: str = "/graphql") -> None:
        self.http = http
        self.path = path

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(self.path, json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


def error_codes(body: Any) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


@contextlib.asynccontextmanager
async def in_process(app: Starlette) -> AsyncIterator[GraphQLClient]:
    """The app with its lifespan run, reached through httpx's ASGI transport."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http)


class ServiceProcess:
    """`python -m <module>` on a free port, started and stopped like an operator would."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
        subcommand: Sequence[str] = (),
    ):
        self.module = module
        self.subcommand = list(subcommand)  # e.g. ["serve"], before the --port flag
        self.prefix = list(prefix)  # e.g. ["taskset", "-c", "0"]
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.output: IO[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        command = [
            *self.prefix,
            sys.executable,
            "-m",
            self.module,
            *self.subcommand,
            "--port",
            str(self.port),
            *self.args,
        ]
        # a file, not a pipe: nobody reads a running service's output, and a full pipe would
        # block it at its next log line
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.output, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.output.seek(0)
                output = self.output.read().decode()
                raise RuntimeError(f"{self.module} exited at start-up:\n{output}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.module} did not become healthy in {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.output is not None:
            self.output.close()
            self.output = None

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        """A client of this process sending `headers` with every request (for a service: what
        the router forwards, tests/support/auth.py's `router_headers`)."""
        return httpx.AsyncClient(base_url=self.url, timeout=30, headers=headers)


def start_services(folder: Path) -> tuple[ServiceProcess, ServiceProcess]:
    """The customers and orders services as real processes on seeded SQLite files in `folder`,
    the orders service asking this customers service (the caller stops both)."""
    customers = ServiceProcess(
        "customer_subgraph", ["--database-url", f"sqlite:///{folder}/c.sqlite3"]
    ).start()
    orders = ServiceProcess(
        "order_subgraph",
        [
            "--database-url",
            f"sqlite:///{folder}/o.sqlite3",
            "--customers-url",
            f"{customers.url}/graphql",
        ],
    ).start()
    return customers, orders
