"""Fetch groups → QueryPlan, by dependency level: `Sequence { Parallel { level 0 }, Parallel {
level 1 }, … }`, each fetch in the first level after every fetch it depends on.

The tree that build.py makes starts each fetch as soon as its own parent is done; here fetches
to one subgraph from different branches start together, so an executor that batches the entity
fetches ready at one moment (router.yaml `traffic_shaping.all.batch_entity_fetches`, as Hive
Gateway does) sends one request per subgraph and level. Used where it brings two fetches to one
subgraph into one level that the tree would start apart; mutations keep the tree (their root
fields run in order).
"""

from __future__ import annotations

import itertools
from collections import Counter

from router.errors import PlanningError
from router.operation.normalize import Operation
from router.plan.build import _conditional, _fetch, build_plan
from router.plan.groups import FetchGroup
from router.plan.nodes import Fetch, Flatten, Parallel, PlanNode, QueryPlan, Sequence, Subscription
from router.supergraph.model import Supergraph


def levels(roots: list[FetchGroup]) -> list[list[FetchGroup]]:
    """Groups by level: a root is at 0; a child one level after its parent and after every
    group in its parent's earlier stages (and their descendants)."""
    found: dict[int, int] = {}
    order: list[FetchGroup] = []

    def place(group: FetchGroup, level: int) -> int:
        """Place the group and its subtree; return the deepest level used."""
        found[id(group)] = level
        order.append(group)
        deepest = level
        after = level
        for siblings in group.stages:
            stage_deepest = after
            for child in siblings:
                stage_deepest = max(stage_deepest, place(child, after + 1))
            after = stage_deepest
            deepest = max(deepest, stage_deepest)
        return deepest

    for root in roots:
        place(root, 0)
    result: list[list[FetchGroup]] = [[] for _ in range(1 + max(found.values(), default=-1))]
    for group in order:
        result[found[id(group)]].append(group)
    return result


def gains_from_levels(roots: list[FetchGroup]) -> bool:
    """Whether some level has fetches to one subgraph that the tree would not start together
    (different parents)."""
    for level in levels(roots):
        counts = Counter((g.graph, id(g.parent)) for g in level)
        per_graph = Counter(graph for graph, _ in counts)
        if any(n > 1 for n in per_graph.values()):
            return True
    return False


def build_query_plan(sg: Supergraph, operation: Operation, roots: list[FetchGroup]) -> QueryPlan:
    """The plan by dependency level when that brings fetches to one subgraph together (see the
    module docstring); otherwise, and always for a mutation, `build_plan`'s tree. A
    subscription's is the tree too, split into its Primary fetch and the Rest
    (`subscription_plan`)."""
    if operation.kind == "subscription":
        return subscription_plan(build_plan(sg, operation, roots))
    if operation.kind == "mutation" or not gains_from_levels(roots):
        return build_plan(sg, operation, roots)
    counter = itertools.count()
    fetches = []
    stages: list[PlanNode] = []
    for level in levels(roots):
        nodes: list[PlanNode] = []
        for group in level:
            fetch = _fetch(sg, operation, group, next(counter))
            fetches.append(fetch)
            node: PlanNode = Flatten(group.path, fetch) if group.entity else fetch
            nodes.append(_conditional(group, node))
        stages.append(nodes[0] if len(nodes) == 1 else Parallel(tuple(nodes)))
    top = stages[0] if len(stages) == 1 else Sequence(tuple(stages))
    return QueryPlan(top, tuple(fetches))


def subscription_plan(plan: QueryPlan) -> QueryPlan:
    """A subscription planned as a query on the Subscription type, split as Apollo's planner
    splits it: the root fetch is the Primary (the subscription sent to its subgraph), what
    follows it, in a Sequence, the Rest run over each event; an empty plan stays empty.
    Refused (PlanningError) when the
    plan does not start with its one root fetch (a root field under @skip/@include, which
    Apollo refuses too)."""
    node = plan.node
    if node is None:  # nothing to fetch (authorization removed the root field)
        return plan
    if isinstance(node, Fetch):
        return QueryPlan(Subscription(node), plan.fetches)
    if isinstance(node, Sequence):
        primary, rest = node.nodes[0], node.nodes[1:]
        if isinstance(primary, Fetch) and not any(isinstance(n, Fetch) for n in rest):
            return QueryPlan(Subscription(primary, Sequence(rest)), plan.fetches)
    raise PlanningError(
        "a subscription's plan must start with the one subscription sent to the subgraph that"
        " resolves its root field (a root field under @skip/@include cannot be subscribed to)"
    )
