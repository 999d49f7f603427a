"""What authentication and authorization cost the served router per request, over HTTP.

    .venv/bin/python -m bench.authz_served [--requests 200] [--rounds 40]

Two `python -m router serve` processes over the same canned subgraphs (bench/router.py's
`canned_system`, JWT with a development key's JWKS and the claim headers in both):

    plain   `authorization.directives.enabled: false`, requests without a token (anonymous:
            no verification, nothing to authorize)
    auth    authorization enforced, every request with a customer's token holding
            `read:email` (verified once, then from the verified-token cache; the plan and the
            grant's restriction cached)

Each sends the order with its customer (bench/authz.py's QUERY), one request at a time over one
keep-alive connection, the two routers in turns, `--requests` per turn. Measured: each router
process's CPU time per request (/proc/PID/task/*/schedstat, nanoseconds, all threads), so the
load generator and the neighbours' load stay out of it. Prints CPU µs per request and auth's
share above plain (also paired round by round). No asserts beyond checking the answers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.authz import QUERY  # noqa: E402
from bench.hostile.system import cpu_ms  # noqa: E402
from bench.router import canned_system  # noqa: E402
from tests.support.auth import bearer  # noqa: E402

OFF = "authorization: { directives: { enabled: false } }\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    token = bearer("2", ("read:email",))  # order 1's customer is 2 in the canned answers
    with (
        canned_system("authz-plain", "--log-level", "warning", config=OFF) as (_, plain),
        canned_system("authz-auth", "--log-level", "warning") as (_, auth),
    ):
        routers = {"plain": (plain, {}), "auth": (auth, token)}
        clients = {
            name: httpx.Client(base_url=r.url, timeout=30) for name, (r, _) in routers.items()
        }
        answers = {
            name: clients[name].post("/graphql", json={"query": QUERY}, headers=h).json()
            for name, (_, h) in routers.items()
        }
        if answers["plain"] != answers["auth"] or "errors" in answers["auth"]:
            raise SystemExit(f"the two routers answer differently: {answers}")
        per_request: dict[str, list[float]] = {name: [] for name in routers}
        for round_ in range(args.rounds + 1):  # the first round warms up
            for name, (router, headers) in routers.items():
                assert router.process is not None
                before = cpu_ms(router.process.pid)
                for _ in range(args.requests):
                    response = clients[name].post(
                        "/graphql", json={"query": QUERY}, headers=headers
                    )
                    if response.status_code != 200:
                        raise SystemExit(f"{name}: HTTP {response.status_code}: {response.text}")
                used = cpu_ms(router.process.pid) - before
                if round_:
                    per_request[name].append(used / args.requests * 1000)
        for client in clients.values():
            client.close()
    print(
        f"{args.requests} requests x {args.rounds} rounds, one at a time over HTTP: "
        "router CPU us per request (all its threads)"
    )
    base = statistics.median(per_request["plain"])
    for name, values in per_request.items():
        median = statistics.median(values)
        print(
            f"  {name:6} median {median:6.1f} ({(median - base) / base * 100:+5.1f}%)"
            f"   fastest {min(values):6.1f}"
        )
    # each round's auth against the plain round just before it: the neighbours' load changes
    # slower than a round, so a pair shares it
    pairs = [a / p for p, a in zip(per_request["plain"], per_request["auth"], strict=True)]
    print(f"  auth / plain, paired by round: median {(statistics.median(pairs) - 1) * 100:+.1f}%")


if __name__ == "__main__":
    main()
