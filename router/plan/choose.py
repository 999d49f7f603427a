"""Which planner the router builds: the greedy one (planner.py, the default) or the one on an
explicit query graph (graph/, `ROUTER_PLANNER=graph`)."""

from __future__ import annotations

import os
from typing import Protocol

from router.operation.normalize import Operation
from router.plan.nodes import QueryPlan
from router.supergraph.model import Supergraph


class Planner(Protocol):
    def plan(self, operation: Operation, labels: frozenset[str] = ...) -> QueryPlan: ...


def planner_for(supergraph: Supergraph, max_steps: int) -> Planner:
    """`ROUTER_PLANNER=graph` chooses the query-graph planner; anything else the default."""
    if os.environ.get("ROUTER_PLANNER") == "graph":
        from router.plan.graph import GraphQueryPlanner

        return GraphQueryPlanner(supergraph, max_steps)
    from router.plan.planner import QueryPlanner

    return QueryPlanner(supergraph, max_steps)
