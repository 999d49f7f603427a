"""What JWT authentication costs per request (router/authentication/), in process.

    .venv/bin/python -m bench.authentication [--requests 20000] [--rounds 5]

For each algorithm (RS256, ES256, EdDSA, HS256): a token verified the first time (signature,
time, issuer, audience: what a new token costs) and again (the verified-token cache: what every
later request with the same token costs), against the router's own time for the order with its
customer over canned subgraphs (bench/authz.py's `plain` setup, no HTTP). Prints microseconds
and the share of the router's time. No asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.authz import QUERY, plain_router
from router.authentication import JwksSettings, JwtSettings, JwtVerifier
from tests.support.jwks import AUDIENCE, ISSUER, SigningKey


async def router_us(requests: int) -> float:
    router = plain_router()  # authorization off: the router's own time
    for _ in range(200):
        await router.execute(QUERY)
    started = time.perf_counter()
    for _ in range(requests):
        await router.execute(QUERY)
    return (time.perf_counter() - started) / requests * 1e6


async def verify_us(algorithm: str, requests: int, folder: Path) -> tuple[float, float]:
    """(first verification, cached verification) in microseconds."""
    key = SigningKey.generate(algorithm)
    path = folder / f"{algorithm}.json"
    path.write_text(json.dumps({"keys": [key.public_jwk]}))
    jwks = JwksSettings(path.as_uri(), issuers=(ISSUER,), audiences=(AUDIENCE,))
    verifier = JwtVerifier(JwtSettings((jwks,), cached_tokens=requests + 10))
    await verifier.start()
    try:
        fresh = [{"authorization": f"Bearer {key.token(sub=str(i))}"} for i in range(requests)]
        started = time.perf_counter()
        for headers in fresh:
            await verifier.authenticate(headers)
        first = (time.perf_counter() - started) / requests * 1e6
        same = fresh[0]
        started = time.perf_counter()
        for _ in range(requests):
            await verifier.authenticate(same)
        cached = (time.perf_counter() - started) / requests * 1e6
    finally:
        await verifier.close()
    return first, cached


async def main(requests: int, rounds: int) -> None:
    base = statistics.median([await router_us(requests) for _ in range(rounds)])
    print(f"router, order with its customer: {base:.1f} us/request (median of {rounds})")
    print("algorithm   first verification         cached (same token again)")
    with tempfile.TemporaryDirectory() as tmp:
        for algorithm in ("RS256", "ES256", "EdDSA", "HS256"):
            runs = [await verify_us(algorithm, requests // 10, Path(tmp)) for _ in range(rounds)]
            first = statistics.median(r[0] for r in runs)
            cached = statistics.median(r[1] for r in runs)
            print(
                f"  {algorithm:8} {first:8.1f} us ({first / base * 100:5.1f}%)"
                f"      {cached:6.2f} us ({cached / base * 100:4.2f}%)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
