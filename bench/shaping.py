"""The router's generated hot loops on their own: projection and shaping, in one process.

    .venv/bin/python -m bench.shaping [--rounds 2000] [--repeat 5]

The large list query of bench/router.py (100 orders with items and customers) is prepared once
over the committed supergraph; its merged data (the canned subgraphs' answers, as the executor
leaves them: keys and `__typename` included) is built once. Then, best of `--repeat`:

- shape: `Shaper.shape` over that data (router/shape/shaper.py's generated functions);
- project: the entity fetch's projector over the 100 orders' customers
  (router/execute/projection.py's generated functions).

Each is printed as microseconds per call. No network, no event loop: a measure of the generated
code itself, so a change to how it is written or compiled shows here first. CPU-bound: on a
shared machine, compare runs taken close together.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.canned_subgraph import order
from bench.router import LARGE
from router.authz import AuthorizationSettings
from router.plan.nodes import Fetch, QueryPlan
from router.router import Router

ROOT = Path(__file__).resolve().parents[1]


def merged_data(orders: int = 100) -> dict[str, Any]:
    """The orders page after the customers' entity fetch merged names and emails into it."""
    edges = []
    for n in range(1, orders + 1):
        node = order(n)
        customer = node["customer"]
        customer.update(name=f"Customer {customer['id']}", email=f"c{customer['id']}@example.com")
        edges.append({"node": node})
    return {"orders": {"edges": edges}}


def entity_fetch(plan: QueryPlan) -> Fetch:
    """The plan's first entity fetch (the customers')."""
    return next(fetch for fetch in plan.fetches if fetch.is_entity_fetch)


def best(call: Callable[[], object], rounds: int, repeat: int) -> float:
    """Best microseconds per call over `repeat` runs of `rounds` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(rounds):
            call()
        times.append((time.perf_counter() - start) / rounds * 1e6)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2000, help="calls per run (2000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is printed (5)")
    args = parser.parse_args(argv)
    router = Router.from_sdl(
        (ROOT / "supergraph.graphql").read_text(),
        authorization=AuthorizationSettings(enabled=False),
    )
    prepared = router.prepare(LARGE["query"])
    data = merged_data()
    shaper = prepared.shaper
    expected = shaper.shape(data, {}, [])
    assert expected is not None and len(expected["orders"]["edges"]) == 100
    project = router.executor.projector(entity_fetch(prepared.plan)).project
    customers = [edge["node"]["customer"] for edge in data["orders"]["edges"]]
    assert project(customers[0]) == {"__typename": "Customer", "id": "2"}

    shape_us = best(lambda: shaper.shape(data, {}, []), args.rounds, args.repeat)
    project_us = best(lambda: [project(c) for c in customers], args.rounds, args.repeat)
    print(f"best of {args.repeat} x {args.rounds} calls")
    print("| generated code | µs per call |")
    print("|---|---:|")
    print(f"| shape: 100 orders with items and customers | {shape_us:,.1f} |")
    print(f"| project: 100 customer representations | {project_us:,.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
