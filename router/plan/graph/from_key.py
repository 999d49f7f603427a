"""A selection set planned from an entity's key rather than from the root: what a deferred
fragment on an entity fetches (router/defer_keys.py), as Apollo's planner plans it.

The objects are already in data fetched before (a Primary's, or an enclosing deferred part's)
with their `__typename` and a key; each key edge of the type is tried, its target subgraph
resolving the selections from the representation (and jumping on through further keys and
`@requires` as any entity fetch does), and the cheapest kept: no selection left out of reach,
then the fewest fetches, the shortest chain, the most resolved by the first fetch. The plan
starts with `Flatten(path) { Fetch(…) }` over the objects at the path.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.operation.ir import Selection
from router.operation.normalize import Operation
from router.plan.graph.combination import Solver
from router.plan.graph.fetch_graph import FetchGraph
from router.plan.graph.planner import GraphQueryPlanner
from router.plan.graph.query_graph import KeyEdge
from router.plan.graph.query_plan import build_query_plan
from router.plan.graph.solution import TYPENAME
from router.plan.graph.walk import Budget, Walk
from router.plan.nodes import QueryPlan

__all__ = ["FromKey", "plan_from_key"]


@dataclass(frozen=True, slots=True)
class FromKey:
    """A plan that starts from representations: the subgraph it enters and the key it sends."""

    plan: QueryPlan
    graph: str
    key: tuple[Selection, ...]
    """The key's fields (without `__typename`), which the data before must hold."""


def plan_from_key(
    planner: GraphQueryPlanner,
    operation: Operation,
    type_name: str,
    selections: tuple[Selection, ...],
    path: tuple[str, ...],
    labels: frozenset[str] = frozenset(),
    graph: str | None = None,
) -> FromKey | None:
    """`selections` at the `type_name` objects at response `path` (`@` for list items),
    planned from their key; None when no key edge of the type resolves them all (or none
    into `graph`, when given). `operation` names the fetches and declares their variables.
    Raises PlanningError (or PlanningBudgetExceeded) as `GraphQueryPlanner.plan` does."""
    qg = planner.graph
    walk = Walk(qg, labels, Budget(planner.max_steps))
    solver = Solver(qg, walk)
    best = None
    for edge in qg.key_edges(type_name):
        if edge.interface_object or (graph is not None and edge.target != graph):
            continue
        key = edge.key.selections
        solution = solver.solve(edge.target, type_name, selections, (TYPENAME, *key))
        if solution.remainder:
            continue
        cost = (solution.fetches, solution.depth, -solution.local, edge.target)
        if best is None or cost < best[0]:
            best = (cost, edge, solution)
    if best is None:
        return None
    _, chosen, solution = best
    assert isinstance(chosen, KeyEdge)
    fetch_graph = FetchGraph(qg, "query")
    fetch_graph.add_entity_root(chosen.target, type_name, chosen.key.selections, solution, path)
    plan = build_query_plan(planner.supergraph, operation, fetch_graph.roots)
    return FromKey(plan, chosen.target, chosen.key.selections)
