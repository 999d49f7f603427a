"""What every benchmark shares: the repository's paths, the cache under bench/.cache, the error
a failed step raises, and printing as the run goes."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
WORKLOAD = BENCH / "workload1"
CACHE = BENCH / ".cache"
"""Ignored by git: npm installs, Node, logs and the run's generated files."""
NPM_DIR = CACHE / "npm"
RUN = CACHE / "run"
LOGS = RUN / "logs"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


class BenchError(Exception):
    """A step failed; the message says which and what to do. Benchmarks exit 2 with it."""


def say(message: str) -> None:
    print(message, flush=True)


def tail(text: str, lines: int = 15) -> str:
    """The last `lines` lines of a log or an output, for an error message."""
    return "\n".join(text.strip().splitlines()[-lines:])


def read_text(path: Path) -> str:
    """The file's text, '' when it cannot be read (a log not written yet)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def run(
    cmd: Sequence[str], timeout: float = 900, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end, its output captured as text."""
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kwargs)
