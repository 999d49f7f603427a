"""nginx for tests: Debian's package, run in the foreground on a config written to a temp dir.

The http-context part is deploy/nginx/pyfederation.conf.template, rendered with the ports of
the test's processes; around it go the lines a test needs (its own pid file, logs and temp
folders, so it touches nothing of the machine's nginx).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "pyfederation.conf.template"


def find_nginx() -> str | None:
    """The nginx binary (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render(values: Mapping[str, str]) -> str:
    """deploy/nginx's template with its placeholders in braces filled in, as the nginx image's
    envsubst does (nginx's own `$host` stays); a placeholder without a value fails."""

    def value(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"{TEMPLATE.name} needs a value for {match.group(1)}")
        return values[match.group(1)]

    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)\}", value, TEMPLATE.read_text())


class Nginx:
    """One nginx master (two workers) on `http`, the http-context configuration."""

    def __init__(self, binary: str, folder: Path, http: str, ports: list[int]) -> None:
        self.binary = binary
        self.folder = folder
        self.ports = ports  # every port it listens on: start() waits for each
        self.process: subprocess.Popen[bytes] | None = None
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        temp = "\n".join(
            f"    {name}_temp_path {folder / name};"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.config = folder / "nginx.conf"
        self.config.write_text(
            f"daemon off;\n"
            f"worker_processes 2;\n"
            f"pid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n"
            f"    log_format upstreams '$status|$request_method|$upstream_addr|"
            f"$upstream_status|$request_time';\n"
            f"    access_log {folder / 'access.log'} upstreams;\n"
            f"{temp}\n"
            f"{http}\n"
            f"}}\n"
        )

    def start(self, timeout: float = 10.0) -> Nginx:
        check = subprocess.run(
            [self.binary, "-t", "-p", str(self.folder), "-c", str(self.config), "-e", "stderr"],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.folder), "-c", str(self.config), "-e", "stderr"],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "stderr.log").open("wb"),
        )
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while not _listening(port):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not start: {self.errors()}")
                time.sleep(0.05)
        return self

    def errors(self) -> str:
        """What nginx logged as warnings and errors (a refused upstream, a 502's reason)."""
        found = [self.folder / "error.log", self.folder / "stderr.log"]
        return "".join(f.read_text() for f in found if f.exists())

    def answered(self) -> list[str]:
        """The access log, a line a request: `status|method|upstreams|their statuses|seconds`
        (a request passed to a second server lists both, `a, b`)."""
        log = self.folder / "access.log"
        return log.read_text().splitlines() if log.exists() else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # nginx's fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False
