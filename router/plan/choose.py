"""Which planner the router builds: the one on an explicit query graph (graph/, the default), or
the greedy walk it replaces (planner.py, `ROUTER_PLANNER=greedy`), kept for one release so a
plan can be compared with the old one's while the new one settles."""

from __future__ import annotations

import os
from typing import Protocol

from router.operation.normalize import Operation
from router.plan.nodes import QueryPlan
from router.supergraph.model import Supergraph


class Planner(Protocol):
    def plan(self, operation: Operation, labels: frozenset[str] = ...) -> QueryPlan: ...


def planner_for(supergraph: Supergraph, max_steps: int) -> Planner:
    """The query-graph planner; `ROUTER_PLANNER=greedy` the greedy one."""
    if os.environ.get("ROUTER_PLANNER") == "greedy":
        from router.plan.planner import QueryPlanner

        return QueryPlanner(supergraph, max_steps)
    from router.plan.graph import GraphQueryPlanner

    return GraphQueryPlanner(supergraph, max_steps)
