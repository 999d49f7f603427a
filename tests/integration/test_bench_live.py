"""bench/subscriptions.py run end to end in small: 20 subscribers for a second, and every event
reaches every subscriber of it with its customer's name (else the script exits 1). It prints
numbers; nothing here reads them as speed. (bench/defer.py's checks are unit-tested in
tests/unit/bench/test_bench_live.py; a run of it starts two systems, too slow for the suite.)"""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_the_subscriptions_benchmark_delivers_every_event_to_every_subscriber() -> None:
    done = run("bench.subscriptions", "--subscribers", "20", "--duration", "1", "--rate", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "20 subscriptions over 2 WebSocket connections" in done.stdout
    assert "lost 0, duplicated 0, wrong or incomplete 0" in done.stdout
    assert "mutations refused 0" in done.stdout
    # shared upstream subscriptions: one per customer followed and per order followed
    upstream = next(line for line in done.stdout.splitlines() if line.startswith("upstream"))
    assert int(upstream.split(": ")[1].split()[0]) < 20, upstream
