"""Programs a benchmark needs from the system (wrk, taskset, Chromium): looked up, never
installed. A missing one is a BenchError that says how to install it; the benchmark then exits 2."""

from __future__ import annotations

import shutil

from bench.harness.common import BenchError

HOW_TO_INSTALL = {
    "wrk": "Debian/Ubuntu: sudo apt-get install wrk; macOS: brew install wrk",
    "taskset": "Debian/Ubuntu: sudo apt-get install util-linux",
    "chromium": "Debian: sudo apt-get install chromium",
    "node": "Node.js from https://nodejs.org or your distribution (Debian: apt-get install nodejs)",
    "npm": "npm comes with Node.js (Debian: apt-get install npm)",
}


class MissingTool(BenchError):
    """A program the benchmark needs is not on PATH."""


def require(program: str, purpose: str) -> str:
    """The path of `program` on PATH, or MissingTool saying what it is for and how to install it."""
    found = shutil.which(program)
    if found is None:
        hint = HOW_TO_INSTALL.get(program, "install it with your system's package manager")
        raise MissingTool(
            f"{program} is missing ({purpose}): install it ({hint}) and run again; "
            "this benchmark installs no system packages"
        )
    return found
