"""Start the services side by side, wait until each is healthy, print where they are, and stop
them all on Ctrl-C. (The router's `python -m router dev` will take this over.)"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SERVICES = [
    ("customers", "customer_subgraph", int(os.environ.get("CUSTOMERS_PORT", 4001))),
    ("orders", "order_subgraph", int(os.environ.get("ORDERS_PORT", 4002))),
]


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)
    return False


def main() -> int:
    for name, _, port in SERVICES:
        if port_taken(port):
            print(
                f"error: port {port} for the {name} service is taken; stop what uses it or "
                f"set {name.upper()}_PORT",
                file=sys.stderr,
            )
            return 1
    env = {**os.environ, "ORDERS_CUSTOMERS_URL": f"http://127.0.0.1:{SERVICES[0][2]}/graphql"}
    processes = [
        (name, port, subprocess.Popen([sys.executable, "-m", module, "--port", str(port)], env=env))
        for name, module, port in SERVICES
    ]
    try:
        for name, port, process in processes:
            print(f"waiting for {name} on port {port} ...", flush=True)
            deadline = time.monotonic() + 60
            while not healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    print(f"error: the {name} service did not start", file=sys.stderr)
                    return 1
                time.sleep(0.2)
        print("\nThe system is up (seeded demo data in .data/):")
        for name, port, _ in processes:
            print(f"  {name:10} GraphiQL: http://127.0.0.1:{port}/graphql")
        print("Press Ctrl-C to stop.", flush=True)
        while all(process.poll() is None for _, _, process in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for _, _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for _, _, process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
