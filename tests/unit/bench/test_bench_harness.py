"""bench/harness/: what the benchmarks share. A program a benchmark needs from the system is
looked up, never installed: missing, the benchmark says how to install it and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness.table import markdown_table
from bench.harness.tools import MissingTool, require
from tests.support.paths import REPO

ROOT = REPO


def test_a_missing_program_is_named_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert require("sh", "a shell").endswith("/sh")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match=r"wrk is missing \(the load\).*apt-get install wrk"):
        require("wrk", "the load")


def test_the_gateways_benchmark_without_wrk_exits_2_saying_how_to_install_it(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.gateways", "--quick", "--only", "ours"],
        cwd=ROOT,
        env={**os.environ, "PATH": str(tmp_path)},  # no wrk, no apt-get, no sudo
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "error: wrk is missing" in done.stderr
    assert "apt-get install wrk" in done.stderr
    assert "Traceback" not in done.stderr


def test_result_tables_pad_their_columns_and_align_numbers_right() -> None:
    table = markdown_table(["name", "req/s"], [["router", "4,259"], ["hive", "12"]], right={1})
    assert table.splitlines() == [
        "| name   | req/s |",
        "|--------|------:|",
        "| router | 4,259 |",
        "| hive   |    12 |",
    ]
