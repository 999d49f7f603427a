"""Operation → QueryPlan over an explicit query graph, in four named phases:

walk               the query graph's questions (walk.py: what a node resolves, which key
                   conditions it satisfies, which subgraphs it reaches), memoised
best combination   per root field, the root subgraph and the entity jumps that cost the
                   fewest fetches, then the shortest chain of dependent fetches
                   (combination.py), within the planning budget
fetch graph        the chosen solutions as fetch groups with their dependencies, sibling
                   fetches to one subgraph at one point merged (fetch_graph.py)
query plan         Sequence / Parallel / Flatten / Condition / Fetch nodes (build.py); a
                   subscription's plan split into its Primary fetch and the Rest
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from router.errors import PlanningError
from router.operation.ir import Field, InlineFragment, Selection, print_selections
from router.operation.normalize import Operation
from router.plan.graph.combination import Solver
from router.plan.graph.fetch_graph import FetchGraph
from router.plan.graph.query_graph import QueryGraph
from router.plan.graph.query_plan import build_query_plan
from router.plan.graph.shared_roots import share_root_field
from router.plan.graph.solution import Local, Solution
from router.plan.graph.walk import Budget, Walk
from router.plan.nodes import QueryPlan
from router.supergraph.model import Supergraph

INTROSPECTION_ROOT_FIELDS = ("__schema", "__type")
"""Root fields the router answers from the API schema itself, never planned."""
ONE_ROOT_FETCH = ("mutation", "subscription")
"""Operation kinds whose root field is answered by one root fetch, never shared across
subgraphs: a mutation's runs once, a subscription's is the one stream its events come from."""


class GraphQueryPlanner:
    """Plans operations over one supergraph's query graph (built once). Pure: no I/O."""

    def __init__(self, supergraph: Supergraph, max_steps: int = 200_000) -> None:
        self.supergraph = supergraph
        self.graph = QueryGraph(supergraph)
        self.max_steps = max_steps
        """The planning budget: questions asked and selection sets solved, per operation."""

    def plan(self, operation: Operation, labels: frozenset[str] = frozenset()) -> QueryPlan:
        """The query plan for `operation` under the progressive override `labels`. Raises
        `PlanningError` when a field cannot be planned (`PlanningBudgetExceeded` past
        `max_steps`)."""
        walk = Walk(self.graph, labels, Budget(self.max_steps))
        roots = find_best_combination(Solver(self.graph, walk), operation)
        fetch_graph = build_fetch_graph(self.graph, operation, roots)
        return build_query_plan(self.supergraph, operation, fetch_graph.roots)


@dataclass(frozen=True, slots=True)
class RootPart:
    """Part of a root field resolved by one subgraph's root fetch."""

    graph: str
    solution: Solution
    wrappers: tuple[InlineFragment, ...] = ()
    """The @skip/@include fragments around the root field in the operation."""


def find_best_combination(solver: Solver, operation: Operation) -> list[RootPart]:
    """Each root field from the subgraph where it costs least; what that subgraph cannot reach
    comes from the next subgraph that has the root field too (shared root fields)."""
    qg = solver.qg
    root_type = qg.root_types[operation.kind]
    parts: list[RootPart] = []
    wrapped = list(root_fields(operation.selections))
    fields = tuple(f for f, _ in wrapped)
    for index, (root_field, wrappers) in enumerate(wrapped):
        # The same response name asked again later (under other directives, say) is best
        # answered by the same root fetch: prefer a subgraph that can answer those too.
        again = [
            f
            for f, _ in wrapped[index + 1 :]
            if f.response_name == root_field.response_name and f.name == root_field.name
        ]
        remaining: tuple[Selection, ...] = (root_field,)
        tried: set[str] = set()
        while remaining:
            candidates = [
                g
                for g in qg.resolving_graphs(root_type, root_field.name, solver.walk.labels)
                if g not in tried
            ]
            if not candidates:
                if tried:
                    raise PlanningError(
                        f"no subgraph can resolve the rest of {root_type}.{root_field.name}: "
                        f"{print_selections(remaining)}"
                    )
                raise PlanningError(f"no subgraph resolves {root_type}.{root_field.name}")
            used = {p.graph for p in parts}
            if operation.kind == "mutation":
                used = {parts[-1].graph} if parts else set()
            options = []
            for graph in candidates:
                solution = solver.solve(graph, root_type, remaining, None, fields)
                new_fetch = 0 if graph in used else 1
                elsewhere = 0  # what the later occurrences cost beyond this root fetch
                for later in again:
                    theirs = solver.solve(graph, root_type, (later,), None, fields)
                    elsewhere += theirs.fetches + (1 if theirs.remainder else 0)
                cost = (
                    len(solution.remainder),
                    solution.fetches + new_fetch + elsewhere,
                    solution.depth,
                    -solution.local,
                    graph,
                )
                options.append((cost, graph, solution))
            _, graph, solution = min(options, key=lambda o: o[0])
            tried.add(graph)
            if _split_by_type(solution.remainder, solution, root_type, qg):
                # Another subgraph's answer to the root field may be another object: the parts
                # under type conditions cannot be merged from two root fetches.
                raise PlanningError(
                    f"cannot plan {root_type}.{root_field.name}: "
                    f"{print_selections(solution.remainder)} is out of reach of {graph}"
                )
            if operation.kind in ONE_ROOT_FETCH and solution.remainder:
                raise PlanningError(
                    f"cannot plan {root_type}.{root_field.name}: "
                    f"{print_selections(solution.remainder)} is out of reach of {graph}"
                )
            remaining = solution.remainder
            if operation.kind not in ONE_ROOT_FETCH and not remaining:
                others = [g for g in candidates if g != graph]
                shared = share_root_field(solver, root_type, graph, solution, others, used)
                if shared is not None:
                    solution, other, theirs = shared
                    parts.append(RootPart(graph, solution, wrappers))
                    parts.append(RootPart(other, theirs, wrappers))
                    continue
            parts.append(RootPart(graph, solution, wrappers))
    return parts


def _split_by_type(
    remainder: tuple[Selection, ...], solution: Solution, type_name: str, graph: QueryGraph
) -> bool:
    """Whether the remainder has type-conditioned parts of an object the solution also
    fetches: another subgraph's answer to the root field may be another object, so such parts
    cannot be merged from two root fetches. A condition on the object type itself (`... on
    Viewer @include(if: $c)` at a Viewer) selects no other object: not a split."""
    local = {
        item.field.response_name: item
        for item in solution.items
        if isinstance(item, Local) and item.child is not None
    }
    for selection in remainder:
        if isinstance(selection, InlineFragment):
            condition = selection.type_condition
            same_object = condition == type_name and graph.kind(type_name) == "object"
            if condition is not None and not same_object:
                return True
            if _split_by_type(selection.selections, solution, type_name, graph):
                return True
            continue
        item = local.get(selection.response_name)
        if item is not None and item.child is not None and selection.selections:
            if _split_by_type(selection.selections, item.child, item.child_type, graph):
                return True
    return False


def build_fetch_graph(graph: QueryGraph, operation: Operation, roots: list[RootPart]) -> FetchGraph:
    """The fetch graph of the chosen root parts: one root fetch per subgraph (for a mutation,
    consecutive parts to one subgraph share one, so the root fields run in order)."""
    fetch_graph = FetchGraph(graph, operation.kind)
    root_type = graph.root_types[operation.kind]
    for part in roots:
        fetch_graph.add_root(part.graph, root_type, part.solution, part.wrappers)
    return fetch_graph


def root_fields(
    selections: tuple[Selection, ...], wrappers: tuple[InlineFragment, ...] = ()
) -> Iterator[tuple[Field, tuple[InlineFragment, ...]]]:
    """Root fields in order, each with the fragments with directives around it (fragments on
    the root type are otherwise flattened); router-answered fields (__typename, introspection)
    skipped."""
    for selection in selections:
        if isinstance(selection, Field):
            if selection.name == "__typename" or selection.name in INTROSPECTION_ROOT_FIELDS:
                continue
            yield selection, wrappers
            continue
        around = (*wrappers, selection) if selection.directives else wrappers
        yield from root_fields(selection.selections, around)
