"""Run the whole system on this machine: compose the supergraph from supergraph.yaml, start the
customers and orders services and the router, wait until each is healthy, print where they are,
and stop everything on Ctrl-C. (`python -m router dev` will take this over.)"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS_PORT = int(os.environ.get("CUSTOMERS_PORT", 4001))
ORDERS_PORT = int(os.environ.get("ORDERS_PORT", 4002))
ROUTER_PORT = int(os.environ.get("ROUTER_PORT", 4000))


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)
    return False


def main() -> int:
    for name, port, variable in [
        ("customers", CUSTOMERS_PORT, "CUSTOMERS_PORT"),
        ("orders", ORDERS_PORT, "ORDERS_PORT"),
        ("router", ROUTER_PORT, "ROUTER_PORT"),
    ]:
        if port_taken(port):
            print(
                f"error: port {port} for the {name} is taken; stop what uses it or set {variable}",
                file=sys.stderr,
            )
            return 1
    customers_url = f"http://127.0.0.1:{CUSTOMERS_PORT}/graphql"
    orders_url = f"http://127.0.0.1:{ORDERS_PORT}/graphql"
    env = {
        **os.environ,
        "ORDERS_CUSTOMERS_URL": customers_url,
        "CUSTOMERS_ROUTING_URL": customers_url,
        "ORDERS_ROUTING_URL": orders_url,
    }
    supergraph = ROOT / ".data" / "supergraph.graphql"
    supergraph.parent.mkdir(exist_ok=True)
    print("composing the supergraph from supergraph.yaml ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "router",
            "compose",
            "--config",
            "supergraph.yaml",
            "--output",
            str(supergraph),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    commands = [
        ("customers", CUSTOMERS_PORT, ["-m", "customer_subgraph", "--port", str(CUSTOMERS_PORT)]),
        ("orders", ORDERS_PORT, ["-m", "order_subgraph", "--port", str(ORDERS_PORT)]),
        (
            "router",
            ROUTER_PORT,
            ["-m", "router", "serve", "--supergraph", str(supergraph), "--port", str(ROUTER_PORT)],
        ),
    ]
    processes: list[tuple[str, int, subprocess.Popen[bytes]]] = []
    try:
        for name, port, args in commands:
            process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)
            processes.append((name, port, process))
            print(f"waiting for {name} on port {port} ...", flush=True)
            deadline = time.monotonic() + 60
            while not healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    print(f"error: the {name} did not start", file=sys.stderr)
                    return 1
                time.sleep(0.2)
        print("\nThe system is up (seeded demo data in .data/):")
        print(f"  router     GraphQL:  http://127.0.0.1:{ROUTER_PORT}/graphql  (one endpoint)")
        print(f"  customers  GraphiQL: {customers_url}")
        print(f"  orders     GraphiQL: {orders_url}")
        print(
            f"Try: curl -s http://127.0.0.1:{ROUTER_PORT}/graphql "
            "-H 'content-type: application/json' "
            '-d \'{"query": "{ order(id: 1) { id total { amount } customer { name } } }"}\''
        )
        print("Press Ctrl-C to stop.", flush=True)
        while all(process.poll() is None for _, _, process in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for _, _, process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for _, _, process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
