"""The seed's system for bench/system.py: its two Flask services (`../shared/seeds/`, in memory),
run from a temporary folder with Flask's own server as their `app.run` does, and asked as their
clients had to ask them (GET the order, then GET its customer). The seed itself is never changed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import httpx
import orjson

from bench.services import Ports

Step = Callable[[aiohttp.ClientSession], Awaitable[bool]]
"""One user request (one or more HTTP calls); True when every answer was right."""


def seed_rest(order_service: str, customer_service: str) -> Step:
    """The seed's clients: GET the order, then GET its customer."""

    async def order(session: aiohttp.ClientSession) -> bool:
        async with session.get(f"{order_service}/orders/1") as response:
            found = orjson.loads(await response.read())
        async with session.get(f"{customer_service}/customers/{found['customer_id']}") as response:
            customer = orjson.loads(await response.read())
        return response.status == 200 and customer["name"] == "Alice"

    return order


def seed_sources(seeds: Path) -> dict[str, str]:
    """The seed's two services, `{"order_service": source, "customer_service": source}`, from
    the first file under `seeds` whose code block holds both."""
    for path in sorted(p for p in seeds.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
            parts = re.split(r"^# (\w+)\.py\s*$", block, flags=re.MULTILINE)
            sources = dict(zip(parts[1::2], parts[2::2], strict=True))
            if {"order_service", "customer_service"} <= sources.keys():
                return sources
    raise SystemExit(f"no seed with order_service.py and customer_service.py under {seeds}")


@contextlib.contextmanager
def seed_services(seeds: Path, ports: Ports) -> Iterator[tuple[str, str]]:
    """The seed's Flask services from a temporary folder (the seed itself is never changed),
    each on its own port with Flask's server; one order created, as its clients would."""
    folder = Path(tempfile.mkdtemp(prefix="bench-seed-"))
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for module, source in seed_sources(seeds).items():
            (folder / f"{module}.py").write_text(source)
        for module in ("order_service", "customer_service"):
            port = ports.take()
            command = [sys.executable, "-m", "flask", "--app", module, "run"]
            command += ["--port", str(port), "--no-reload", "--no-debugger"]
            processes.append(
                subprocess.Popen(
                    command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            wait_for_port(port)
            urls.append(f"http://127.0.0.1:{port}")
        order = {"customer_id": 1, "items": [{"sku": "PEN", "quantity": 2}]}
        created = httpx.post(f"{urls[0]}/orders", json=order)
        assert created.status_code == 201, created.text
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")
