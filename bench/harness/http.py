"""HTTP to the servers a benchmark starts: one request, waiting until one answers, and checking
an answer against the expected JSON (the first difference, as a JSON path)."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.harness.common import BenchError, read_text, tail

READY_TIMEOUT = 90.0


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request to 127.0.0.1:`port` (JSON when there is a body): its status and body."""
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


def wait_ready(
    proc: subprocess.Popen[bytes],
    port: int,
    path: str,
    body: bytes | None,
    log: Path,
    method: str = "POST",
    timeout: float = READY_TIMEOUT,
) -> None:
    """Until the process answers `method path` with HTTP 200 (it must stay up meanwhile);
    BenchError with the end of its `log` when it exits or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"exited with {proc.returncode}:\n{tail(read_text(log))}")
        try:
            status, raw = http_call(port, method, path, body, timeout=10)
            if status == 200:
                return
            last = f"HTTP {status}: {raw[:200]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise BenchError(
        f"no HTTP 200 on port {port} after {timeout:.0f} s ({last}):\n{tail(read_text(log))}"
    )
