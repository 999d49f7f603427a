"""Walking the query graph: which fields a node resolves, which key conditions it satisfies,
and which subgraphs its objects reach through key edges (one hop or several).

Every question is memoised for the planning of one operation (answers depend on the override
labels) and every new question costs one step of the planning budget.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from router.errors import PlanningError
from router.operation.ir import Field, InlineFragment, Selection
from router.plan.graph.query_graph import FieldEdge, KeyEdge, QueryGraph

Route = tuple[KeyEdge, ...]
"""Key edges followed in order; the last one's target is where the fields are resolved."""


class PlanningBudgetExceeded(PlanningError):
    """Planning this operation would take more than the planner's budget of steps."""


class Budget:
    """Steps of work left for one operation; past zero planning stops."""

    __slots__ = ("left", "total")

    def __init__(self, total: int) -> None:
        self.total = total
        self.left = total

    def step(self, cost: int = 1) -> None:
        """Spend `cost` steps; raises `PlanningBudgetExceeded` once more than `total` are spent."""
        self.left -= cost
        if self.left < 0:
            raise PlanningBudgetExceeded(
                f"planning the operation takes more than {self.total} steps"
            )


class Walk:
    """Reachability and condition satisfaction over one query graph, for one set of labels."""

    def __init__(self, graph: QueryGraph, labels: frozenset[str], budget: Budget) -> None:
        self.qg = graph
        self.labels = labels
        self.budget = budget
        self._routes: dict[tuple[str, str], dict[str, Route]] = {}
        self._satisfied: dict[tuple[str, str, tuple[Selection, ...]], bool] = {}
        self._interface_local: dict[tuple[str, str, str], bool] = {}

    # --- field edges --------------------------------------------------------------------

    def resolving(self, graph: str, type_name: str, field_name: str) -> FieldEdge | None:
        """The edge of `type.field` in `graph` if it resolves the field under the walk's labels,
        else None."""
        edge = self.qg.field_edge(graph, type_name, field_name)
        return edge if edge is not None and edge.resolves(self.labels) else None

    def interface_local(self, graph: str, interface: str, field_name: str) -> bool:
        """`graph` resolves the interface's field for every implementation it has."""
        key = (graph, interface, field_name)
        found = self._interface_local.get(key)
        if found is None:
            self.budget.step()
            found = self.resolving(graph, interface, field_name) is not None and all(
                self.resolving(graph, t, field_name) is not None
                for t in self.qg.possible_types(interface, graph)
            )
            self._interface_local[key] = found
        return found

    def knows(
        self, graph: str, type_name: str, field_name: str, provided: tuple[Selection, ...] | None
    ) -> bool:
        """Selectable as a key field: resolved, provided, or declared (overridden but used)."""
        if field_name == "__typename" or provided_field(provided, field_name):
            return True
        edge = self.qg.field_edge(graph, type_name, field_name)
        return edge is not None and (edge.resolves(self.labels) or edge.declared)

    # --- conditions ---------------------------------------------------------------------

    def satisfies(
        self,
        graph: str,
        type_name: str,
        field_set: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None = None,
    ) -> bool:
        """Whether a fetch from `graph` at a `type_name` object can select the field set."""
        if provided is not None:
            return self._satisfies(graph, type_name, field_set, provided)
        key = (graph, type_name, field_set)
        found = self._satisfied.get(key)
        if found is None:
            self.budget.step()
            found = self._satisfied[key] = self._satisfies(graph, type_name, field_set, None)
        return found

    def _satisfies(
        self,
        graph: str,
        type_name: str,
        field_set: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
    ) -> bool:
        for selection in field_set:
            if isinstance(selection, InlineFragment):
                inner = selection.type_condition or type_name
                narrowed = provided_for_type(provided, inner) if provided is not None else None
                if not self._satisfies(graph, inner, selection.selections, narrowed):
                    return False
                continue
            if not self.knows(graph, type_name, selection.name, provided):
                return False
            if selection.selections:
                edge = self.qg.field_edge(graph, type_name, selection.name)
                child = edge.child if edge is not None else type_name
                if not self._satisfies(
                    graph, child, selection.selections, provided_child(provided, selection.name)
                ):
                    return False
        return True

    # --- key edges ----------------------------------------------------------------------

    def first_hops(
        self, source: str, type_name: str, provided: tuple[Selection, ...] | None
    ) -> Iterator[KeyEdge]:
        """Key edges out of (source, type) whose condition the source satisfies."""
        for edge in self.qg.key_edges(type_name):
            if edge.target != source and self.satisfies(
                source, type_name, edge.key.selections, provided
            ):
                yield edge

    def routes(
        self, source: str, type_name: str, provided: tuple[Selection, ...] | None = None
    ) -> dict[str, Route]:
        """The shortest route of key edges from (source, type) to every subgraph it reaches."""
        if provided is None:
            memo = self._routes.get((source, type_name))
            if memo is not None:
                return memo
        self.budget.step()
        found: dict[str, Route] = {}
        queue: deque[tuple[str, Route]] = deque()
        for edge in self.first_hops(source, type_name, provided):
            if edge.target not in found:
                found[edge.target] = (edge,)
                queue.append((edge.target, (edge,)))
        while queue:
            graph, route = queue.popleft()
            for edge in self.first_hops(graph, type_name, None):
                if edge.target != source and edge.target not in found:
                    found[edge.target] = (*route, edge)
                    queue.append((edge.target, (*route, edge)))
        if provided is None:
            self._routes[(source, type_name)] = found
        return found

    def self_route(
        self, graph: str, type_name: str, provided: tuple[Selection, ...] | None
    ) -> Route | None:
        """A key edge back into `graph` itself (to resolve a field whose @requires is met)."""
        for edge in self.qg.key_edges(type_name):
            if edge.target == graph and self.satisfies(
                graph, type_name, edge.key.selections, provided
            ):
                return (edge,)
        return None


def provided_field(provided: tuple[Selection, ...] | None, name: str) -> bool:
    """Whether `provided` (a `@provides` field set) selects a field named `name`, looking into
    fragments without a type condition; false when nothing is provided."""
    return provided is not None and any(
        isinstance(s, Field) and s.name == name for s in _flat(provided)
    )


def provided_child(
    provided: tuple[Selection, ...] | None, name: str
) -> tuple[Selection, ...] | None:
    """What `provided` selects under its fields named `name`, merged; None when nothing is."""
    if provided is None:
        return None
    children: list[Selection] = []
    for selection in _flat(provided):
        if isinstance(selection, Field) and selection.name == name and selection.selections:
            children.extend(selection.selections)
    return tuple(children) or None


def provided_for_type(
    provided: tuple[Selection, ...] | None, type_name: str
) -> tuple[Selection, ...] | None:
    """What is provided for objects of `type_name` (fragments on other types left out)."""
    if provided is None:
        return None
    result: list[Selection] = []
    for selection in provided:
        if isinstance(selection, InlineFragment):
            if selection.type_condition in (None, type_name):
                result.extend(selection.selections)
        else:
            result.append(selection)
    return tuple(result) or None


def _flat(selections: tuple[Selection, ...]) -> Iterator[Selection]:
    for selection in selections:
        if isinstance(selection, InlineFragment) and selection.type_condition is None:
            yield from _flat(selection.selections)
        else:
            yield selection
