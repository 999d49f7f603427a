"""bench/plans.py's counting of a plan (Apollo's JSON shape): fetches, and the longest chain of
fetches that wait for each other; and its flags, on plans of our own planner."""

from __future__ import annotations

from bench.plans import Count, Row, count, flag, more_in_all, ours
from router.compose import compose_subgraphs, read_subgraph
from router.router import Router
from tests.support.paths import CASES, REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()


def _fetch() -> dict[str, object]:
    return {"kind": "Fetch", "serviceName": "s", "operation": "{ a }"}


def test_sequences_add_up_chains_parallels_and_conditions_take_the_longest() -> None:
    flatten = {"kind": "Flatten", "path": ["a"], "node": _fetch()}
    parallel = {
        "kind": "Parallel",
        "nodes": [flatten, {"kind": "Sequence", "nodes": [_fetch()] * 2}],
    }
    skip = {"kind": "Condition", "condition": "v", "elseClause": _fetch()}
    plan = {"kind": "Sequence", "nodes": [_fetch(), parallel, skip]}
    assert count(plan) == Count(fetches=5, chain=1 + 2 + 1)
    assert count(None) == Count(0, 0)


def test_our_plans_are_counted_from_their_json() -> None:
    router = Router.from_sdl(SUPERGRAPH)
    plan = router.prepare(
        '{ order(id: "1") { id customer { name orders(first: 1) { totalCount } } } }'
    ).plan
    # orders (the order, its customer's key and orders) → customers (name)
    assert count(plan.to_json()["node"]) == Count(2, 2)


def test_flags() -> None:
    assert flag(Row("q", Count(3, 2), Count(2, 2))) == "MORE"
    assert flag(Row("q", Count(2, 2), Count(3, 2))) == "fewer"
    assert flag(Row("q", Count(2, 2), Count(2, 1))) == "longer chain"
    assert flag(Row("q", Count(2, 1), Count(2, 1))) == ""
    assert flag(Row("q", "no plan", Count(2, 1))) == "error"


def test_ours_is_compared_by_the_requests_it_sends_with_entity_batching() -> None:
    # two entity fetches to one subgraph, side by side: three Fetch nodes, two requests
    batched = Row("q", Count(3, 2, batched=2), Count(2, 2))
    assert flag(batched) == ""
    assert flag(Row("q", Count(3, 2, batched=3), Count(2, 2))) == "MORE"
    results = {"even": [batched], "more": [Row("q", Count(3, 2, batched=3), Count(2, 2))]}
    assert more_in_all(results) == ["more (3 vs 2)"]


def test_our_plans_count_their_batched_requests() -> None:
    case = CASES / "plan" / "requires-one-field-with-two-arguments"
    subgraphs = [
        read_subgraph(f.stem, f"http://{f.stem}", f.read_text())
        for f in sorted((case / "subgraphs").glob("*.graphql"))
    ]
    (planned,) = ours(compose_subgraphs(subgraphs), [(case / "operation.graphql").read_text()])
    assert planned.count == Count(fetches=3, chain=2, batched=2)
