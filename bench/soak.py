"""Does the router's memory stay flat? Load it for a while and sample its RSS.

    .venv/bin/python bench/soak.py [--minutes 10] [--concurrency 20]

The router (python -m router serve, CPU 0) answers a mix of queries against canned subgraphs
(CPU 1); its resident memory is sampled every 10 s from /proc. Prints the samples and the growth
from the first sample after warm-up to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import _load  # noqa: E402
from bench.router import LARGE, SMALL, canned_system, large_ok, pin, small_ok  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if pin("1"):
        os.sched_setaffinity(0, {1})
    import orjson

    samples: list[tuple[float, float]] = []
    total = errors = 0
    with canned_system("soak", "--log-level", "warning") as (_, router):
        assert router.process is not None
        pid = router.process.pid
        started = time.monotonic()
        end = started + args.minutes * 60
        while time.monotonic() < end:
            for body, check in ((SMALL, small_ok), (LARGE, large_ok)):
                done, failed, _ = await _load(
                    f"{router.url}/graphql", orjson.dumps(body), check, args.concurrency, 5
                )
                total, errors = total + done, errors + failed
            samples.append((time.monotonic() - started, rss_mb(pid)))
            print(
                f"{samples[-1][0]:7.0f} s  RSS {samples[-1][1]:7.1f} MB  requests {total}  errors {errors}",
                flush=True,
            )
    baseline = samples[min(1, len(samples) - 1)][1]  # after the first 10 s of warm-up
    growth = (samples[-1][1] - baseline) / baseline * 100
    print(
        f"\nRSS after warm-up {baseline:.1f} MB, at the end {samples[-1][1]:.1f} MB: growth {growth:+.1f}% "
        f"over {args.minutes:g} min, {total} requests, {errors} errors"
    )


if __name__ == "__main__":
    asyncio.run(main())
