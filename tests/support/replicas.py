"""Processes of a scaled-out deployment: each started, stopped and started again on its port.

Unlike ServiceProcess (services.py), a replica keeps one log across its restarts (a test that
fails shows what every life of it said), starts without waiting (so several start at once), and
is stopped as a supervisor stops it: SIGTERM, then wait for it to exit by itself.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.support.services import ROOT, free_port


class Replica:
    """`python -m MODULE ARGS --port PORT`, ready when `ready_path` answers 200."""

    def __init__(
        self, name: str, module: str, args: Sequence[str], log_dir: Path, ready_path: str
    ) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.port = free_port()
        self.ready_path = ready_path
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_codes: list[int] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def launch(self) -> None:
        with self.log.open("ab") as log:
            log.write(f"--- start {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args, "--port", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                url = f"http://{self.address}{self.ready_path}"
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready in {timeout}s:\n{self.output()}")

    def terminate(self, timeout: float = 40.0) -> float:
        """SIGTERM, then wait until the process has exited; the seconds it took."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"{self.name} did not exit {timeout}s after SIGTERM") from None
        self.exit_codes.append(code)
        self.process = None
        return time.monotonic() - started

    def restart(self) -> tuple[float, float]:
        """Stop (SIGTERM, wait for the exit), start again on the same port, wait until ready;
        the seconds each half took."""
        drained = self.terminate()
        started = time.monotonic()
        self.launch()
        self.wait_ready()
        return drained, time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
