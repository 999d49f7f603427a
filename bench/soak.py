"""Does the router's memory stay flat? Load it for a while and sample its RSS.

    .venv/bin/python bench/soak.py [--minutes 10] [--concurrency 20]
    .venv/bin/python bench/soak.py --distinct 200000 [--sample-every 5000] [--concurrency 20]

The router (python -m router serve, CPU 0) answers a mix of queries against canned subgraphs
(CPU 1); its resident memory is sampled every 10 s from /proc. Prints the samples and the growth
from the first sample after warm-up to the last.

`--distinct N` sends N distinct valid operations instead (each document text different: its
operation name, a literal argument, and a subset of fields vary), so every one misses the
router's caches; RSS is sampled every `--sample-every` operations. It prints the samples and
whether RSS plateaued: the growth over the last third of the run compared with the growth over
the first third (a cache bounded by its budget fills in the first third and stays put).
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

from bench.harness.loadgen import _load  # noqa: E402
from bench.router import AUTH, LARGE, SMALL, canned_system, large_ok, pin, small_ok  # noqa: E402

ORDER_FIELDS = (
    "id",
    "status",
    "total { amount }",
    "total { currency }",
    "items { sku }",
    "items { quantity }",
    "customer { name }",
    "customer { email }",
)


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
    parser.add_argument("--distinct", type=int, help="send this many distinct operations")
    parser.add_argument("--sample-every", type=int, default=2000)
    args = parser.parse_args()
    if pin("1"):
        os.sched_setaffinity(0, {1})
    if args.distinct:
        await distinct(args.distinct, args.sample_every, args.concurrency)
        return
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
                    f"{router.url}/graphql", orjson.dumps(body), check, args.concurrency, 5, AUTH
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


def distinct_operation(n: int) -> bytes:
    """The n-th of many distinct valid operations: its own name, id literal and field subset."""
    import orjson

    fields = [f for bit, f in enumerate(ORDER_FIELDS) if (n % 255 + 1) >> bit & 1]
    query = f'query Distinct{n} {{ order(id: "{n}") {{ {" ".join(fields)} }} }}'
    return orjson.dumps({"query": query})


async def distinct(count: int, sample_every: int, concurrency: int) -> None:
    import aiohttp
    import orjson

    samples: list[tuple[int, float]] = []
    errors = 0
    started = time.monotonic()
    with canned_system("soak-distinct", "--log-level", "warning") as (_, router):
        assert router.process is not None
        pid = router.process.pid
        samples.append((0, rss_mb(pid)))
        print(f"{0:>9} operations  RSS {samples[-1][1]:7.1f} MB", flush=True)
        numbers = iter(range(count))
        done = 0
        headers = {"content-type": "application/json", **AUTH}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal done, errors
                for n in numbers:
                    try:
                        async with session.post(
                            f"{router.url}/graphql", data=distinct_operation(n), headers=headers
                        ) as response:
                            body = orjson.loads(await response.read())
                            errors += response.status != 200 or "errors" in body
                    except (aiohttp.ClientError, ValueError):
                        errors += 1
                    done += 1
                    if done % sample_every == 0 or done == count:
                        samples.append((done, rss_mb(pid)))
                        print(
                            f"{done:>9} operations  RSS {samples[-1][1]:7.1f} MB  errors {errors}  "
                            f"{time.monotonic() - started:6.0f} s",
                            flush=True,
                        )

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(plateau(samples, errors))


def plateau(samples: list[tuple[int, float]], errors: int) -> str:
    """Growth of the first third of the run against the last third's."""
    last = samples[-1][0]

    def rss_at(operations: float) -> float:
        return min(samples, key=lambda s: abs(s[0] - operations))[1]

    first = rss_at(last / 3) - rss_at(0)
    final = rss_at(last) - rss_at(2 * last / 3)
    verdict = "plateaued" if final <= max(2.0, 0.1 * first) else "still growing"
    per_k = (samples[-1][1] - samples[0][1]) / last * 1000 if last else 0.0
    return (
        f"\n{last} distinct operations, {errors} errors: RSS {samples[0][1]:.1f} → {samples[-1][1]:.1f} MB "
        f"({per_k:+.2f} MB per 1,000 operations); first third {first:+.1f} MB, last third {final:+.1f} MB: "
        f"{verdict}"
    )


if __name__ == "__main__":
    asyncio.run(main())
