"""The query planner: an operation over a supergraph → a `QueryPlan`.

graph/       `GraphQueryPlanner`: the plan searched on an explicit query graph (its own
             table of contents: walk → best combination → fetch graph → plan)
groups.py    fetch groups, what will become one Fetch each, while the planner builds them
builder.py   a mutable selection set that merges into one fetch, then freezes to IR
aliasing.py  aliases for fields that cannot share a response name in one subgraph operation
build.py     fetch groups → Sequence / Parallel / Flatten / Condition / Fetch nodes (and a
             subscription's plan split into its Primary fetch and Rest)
nodes.py     the plan's nodes, printed in Apollo's text and serialised in Apollo's JSON
text.py      selections printed as graphql-js prints them (the text inside Fetch nodes)
providers.py which fetch of a plan reaches the data at a path; fetches given their ids
"""

from router.plan.graph import GraphQueryPlanner
from router.plan.nodes import (
    Condition,
    Defer,
    DeferredNode,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    QueryPlan,
    Sequence,
    Subscription,
    node_json,
    print_plan,
)

__all__ = [
    "Condition",
    "Defer",
    "DeferredNode",
    "Fetch",
    "Flatten",
    "GraphQueryPlanner",
    "Parallel",
    "PlanNode",
    "QueryPlan",
    "Sequence",
    "Subscription",
    "node_json",
    "print_plan",
]
