"""What authorization costs per request with a cached plan (router/authz/), in process.

    .venv/bin/python -m bench.authz [--requests 20000] [--rounds 5]

The order with its customer (`order(id:) { … customer { name email } }`) through the router
over the project's supergraph, its subgraphs answered in process by bench/canned_subgraph.py's
answers (no HTTP: the router's own time only). Three routers, interleaved in rounds:

    plain       the supergraph as committed (no authorization directives)
    allowed     the same with `@requiresScopes(scopes: [["read:email"]])` on Customer.email and
                `@authenticated` on Query.order, asked by a requester holding both: the
                grant, the restriction lookup, nothing removed
    removed     the same asked by an authenticated requester without the scope: email removed
                (its restricted plan cached), its error reported; email being non-null, the
                customer and then the order answer null, so less is shaped

Prints microseconds per request (median of the rounds) and each against `plain`. No asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Mapping
from pathlib import Path

from bench.canned_subgraph import answer
from router.authz import Identity
from router.router import Router
from router.types import JSONObject

ROOT = Path(__file__).resolve().parents[1]
QUERY = (
    'query OrderWithCustomer { order(id: "1") { id status total { amount currency } '
    "customer { name email } } }"
)
LINKS = (
    '  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)\n'
    '  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)\n'
)
DEFINITIONS = (
    "directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\n"
    "directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | "
    "OBJECT | INTERFACE | SCALAR | ENUM\n"
    "scalar requiresScopes__Scope\n"
    "enum link__Purpose { SECURITY EXECUTION }\n"
)


def with_directives(sdl: str) -> str:
    """The supergraph with authorization directives, as Apollo's composer writes them."""
    join = '  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)\n'
    email = "  email: String! @join__field(graph: CUSTOMERS)\n"
    order = "  order(id: ID!): Order @join__field(graph: ORDERS)"
    for needed in (join, email, order):
        assert needed in sdl, f"supergraph.graphql changed: {needed!r} not found"
    if "enum link__Purpose" in sdl:
        definitions = DEFINITIONS.replace("enum link__Purpose { SECURITY EXECUTION }\n", "")
    else:
        definitions = DEFINITIONS
    return (
        sdl.replace(join, join + LINKS)
        .replace(email, email.rstrip("\n") + ' @requiresScopes(scopes: [["read:email"]])\n')
        .replace(order, order + " @authenticated")
        + "\n"
        + definitions
    )


class Canned:
    """The canned subgraphs' answers, without HTTP."""

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        return answer(service, body, 1)

    async def close(self) -> None:
        return None


async def per_request(router: Router, identity: Identity, requests: int) -> float:
    """Microseconds per request."""
    for _ in range(200):  # warm: plan, restriction, shaping code
        await router.execute(QUERY, identity=identity)
    started = time.perf_counter()
    for _ in range(requests):
        await router.execute(QUERY, identity=identity)
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    sdl = (ROOT / "supergraph.graphql").read_text()
    plain = Router.from_sdl(sdl, Canned())
    guarded = Router.from_sdl(with_directives(sdl), Canned())
    reader = Identity.from_claims({"sub": "1", "scope": "read:email"})
    other = Identity.from_claims({"sub": "2"})
    logger = __import__("logging").getLogger("router.authz")
    logger.disabled = True  # errors.log would print one line per request
    checks = {
        "plain": await plain.execute(QUERY),
        "allowed": await guarded.execute(QUERY, identity=reader),
        "removed": await guarded.execute(QUERY, identity=other),
    }
    assert checks["plain"] == checks["allowed"], checks
    assert checks["removed"]["errors"][0]["path"] == ["order", "customer", "email"], checks
    runs: dict[str, list[float]] = {"plain": [], "allowed": [], "removed": []}
    for _ in range(rounds):
        runs["plain"].append(await per_request(plain, Identity(), requests))
        runs["allowed"].append(await per_request(guarded, reader, requests))
        runs["removed"].append(await per_request(guarded, other, requests))
    base = statistics.median(runs["plain"])
    print(f"{requests} requests x {rounds} rounds, median us/request (each round's in brackets)")
    for name, values in runs.items():
        median = statistics.median(values)
        spread = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {name:8} {median:7.1f}  ({(median - base) / base * 100:+.1f}%)  [{spread}]")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
