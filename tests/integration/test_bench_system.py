"""bench/system.py runs end to end as its docstring says (a very short run: what is checked is
that every part starts as committed, with the committed router.yaml's sign-in, and that every
answer of every scenario was right, not how fast). It stopped at start-up for a whole release
once the router began to require a JWKS, with no test to say so."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.services import ROOT

SCENARIO = re.compile(
    r"^\| (?P<name>[^|]+) \| [\d,]+ \| [\d.]+ \| [^|]+ \| (?P<n>\d+) \| (?P<e>\d+) \|$"
)


def test_the_whole_system_benchmark_runs_and_every_answer_is_right() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "bench/system.py",
            *("--duration", "0.3", "--warmup", "0", "--concurrency", "1", "--no-postgres"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [m for line in done.stdout.splitlines() if (m := SCENARIO.match(line))]
    names = {m["name"] for m in rows}
    assert "seed (Flask, in memory): order, then its customer, c=1" in names
    for query in ("order with its customer", "page of 50 orders", "createOrder"):
        assert f"SQLite, router: {query}, c=1" in names
        assert f"SQLite, services directly: {query}, c=1" in names
    assert all(int(m["n"]) > 0 and int(m["e"]) == 0 for m in rows), done.stdout
    assert "| SQLite | order with its customer |" in done.stdout
