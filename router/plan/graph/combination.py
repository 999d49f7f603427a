"""The best combination: for a selection set at a node of the query graph, where each
selection is resolved (here, or behind which key edges) at the lowest cost.

`Solver.solve(graph, type, selections, provided)` answers a `Solution`: the selections resolved
in the current fetch (`Local`, `LocalFragment`), the entity jumps (`Jump`: one key edge; a
route of several edges is nested jumps) with the fields each target resolves, and the
`remainder` that no route from here reaches (the caller tries from higher up, or from another
root subgraph). Fields that cannot be resolved here are grouped by target subgraph: every
covering set of targets is costed (fewest fetches, then the shortest chain of dependent
fetches) and the cheapest kept; required fields (`@requires`) of a target are solved in the
current context and make its fetch depend on the fetches that get them. Solutions are memoised
per (subgraph, type, selections, provided) and every solve costs a step of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from router.operation.ir import Field, InlineFragment, Selection
from router.plan.graph.jumps import EntityJumps
from router.plan.graph.naming import (
    Names,
    response_names,
    with_selections,
)
from router.plan.graph.query_graph import QueryGraph
from router.plan.graph.solution import (
    Item,
    Jump,
    Local,
    LocalFragment,
    Solution,
    costed,
    no_remainder,
)
from router.plan.graph.walk import (
    Walk,
    provided_child,
    provided_field,
    provided_for_type,
)


@dataclass(slots=True)
class _Parts:
    """A solution under construction: its items, the selections pending an entity jump and
    those no route reaches, each with the position of the client selection it came from, so
    that jumps are emitted where their first selection was, as the client ordered them."""

    items: list[Item] = field(default_factory=list)
    pending: list[Selection] = field(default_factory=list)
    remainder: list[Selection] = field(default_factory=list)
    placed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)

    def mark(self, position: int) -> None:
        """Everything added since the last mark came from the selection at `position`."""
        self.placed.extend([position] * (len(self.items) - len(self.placed)))
        self.waiting.extend([position] * (len(self.pending) - len(self.waiting)))
        self.left.extend([position] * (len(self.remainder) - len(self.left)))

    def add_jumps(self, jumps: list[Jump], unreachable: list[Selection], last: int) -> None:
        """The jumps for the pending selections, each placed at its first selection, and the
        pending selections no jump reaches."""
        pending, waiting = self.pending, self.waiting
        for jump in jumps:
            self.items.append(jump)
            self.placed.append(
                min(
                    (waiting[i] for i, p in enumerate(pending) if p in jump.selections),
                    default=last,
                )
            )
        for selection in unreachable:
            self.remainder.append(selection)
            self.left.append(
                next((waiting[i] for i, p in enumerate(pending) if p is selection), last)
            )

    def ordered(self) -> tuple[tuple[Item, ...], tuple[Selection, ...]]:
        """Items and remainder in the client's order (a stable sort by position)."""
        items = sorted(range(len(self.items)), key=lambda i: self.placed[i])
        remainder = sorted(range(len(self.remainder)), key=lambda i: self.left[i])
        return (
            tuple(self.items[i] for i in items),
            tuple(self.remainder[i] for i in remainder),
        )


class Solver:
    """The cheapest `Solution` for a selection set at a node of one query graph, within one walk's
    labels and budget; `solve` memoises every answer (see the module docstring)."""

    def __init__(self, graph: QueryGraph, walk: Walk) -> None:
        self.qg = graph
        self.walk = walk
        self.jumps = EntityJumps(graph, walk, self.solve)
        self._memo: dict[
            tuple[
                str, str, tuple[Selection, ...], tuple[Selection, ...] | None, Names, frozenset[str]
            ],
            Solution,
        ] = {}
        self._active: set[tuple[str, str, tuple[Selection, ...], tuple[Selection, ...] | None]] = (
            set()
        )

    # --- one selection set --------------------------------------------------------------

    def solve(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        names: Names | None = None,
        candidates: frozenset[str] | None = None,
    ) -> Solution:
        """`names`: the client's selections at this object (`selections` when None), whose
        response names the fields the planner adds must not take."""
        if names is None:
            names = selections
        if candidates is None:
            candidates = frozenset({graph})
        key = (graph, type_name, selections, provided, names, candidates)
        found = self._memo.get(key)
        if found is not None:
            return found
        guard = (graph, type_name, selections, provided)
        if guard in self._active:  # a route back to where this question is being answered
            return Solution((), selections, 0, 0)
        self.walk.budget.step()
        self._active.add(guard)
        try:
            found = self._solve(graph, type_name, selections, provided, names, candidates)
        finally:
            self._active.discard(guard)
        self._memo[key] = found
        return found

    def _solve(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        names: Names,
        candidates: frozenset[str],
    ) -> Solution:
        interface_object = self.qg.is_interface_object(type_name, graph)
        abstract = self.qg.kind(type_name) in ("interface", "union") and not interface_object
        parts = _Parts()
        spliced = _spliced(selections, type_name, self.qg)
        for position, selection in enumerate(spliced):
            parts.mark(position - 1)
            self._select(
                graph,
                type_name,
                selection,
                provided,
                names,
                candidates,
                parts,
                interface_object=interface_object,
                abstract=abstract,
            )
        last = len(spliced) - 1
        parts.mark(last)
        if parts.pending:
            pending = tuple(parts.pending)
            jumps, unreachable = self.jumps.combine(graph, type_name, pending, provided, names)
            parts.add_jumps(jumps, unreachable, last)
        items, remainder = parts.ordered()
        solution = costed(items, remainder)
        if solution.remainder and abstract and not self.qg.possible_types(type_name):
            if solution.local or solution.fetches:
                # No object is a `type_name`: what no subgraph reaches here selects nothing.
                # The rest is asked, and the subgraph's own answer for the object (null or its
                # error) stands. Nothing but such selections still fails planning.
                return no_remainder(solution)
        return solution

    def _select(
        self,
        graph: str,
        type_name: str,
        selection: Selection,
        provided: tuple[Selection, ...] | None,
        names: Names,
        candidates: frozenset[str],
        parts: _Parts,
        *,
        interface_object: bool,
        abstract: bool,
    ) -> None:
        """One client selection: resolved here (a field, a fragment), or left pending for an
        entity jump."""
        items, pending, remainder = parts.items, parts.pending, parts.remainder
        if isinstance(selection, InlineFragment):
            if interface_object and selection.type_condition not in (None, type_name):
                pending.append(selection)  # the concrete type is known elsewhere
                return
            if not self._union_member_safe(type_name, selection, candidates):
                return
            self._fragment(graph, type_name, selection, provided, names, items, remainder)
            return
        if selection.name == "__typename":
            if interface_object:
                pending.append(selection)
            else:
                items.append(Local(selection, "String", 0, None))
            return
        if abstract:
            self._abstract_field(
                graph, type_name, selection, provided, names, items, pending, candidates
            )
            return
        edge = self.walk.resolving(graph, type_name, selection.name)
        is_provided = provided_field(provided, selection.name)
        if is_provided or (
            edge is not None
            and (
                not edge.requires or self.walk.satisfies(graph, type_name, edge.requires, provided)
            )
        ):
            self._local(
                graph,
                type_name,
                selection,
                provided,
                is_provided,
                items,
                pending,
                candidates,
                names,
            )
        else:
            pending.append(selection)

    def _local(
        self,
        graph: str,
        type_name: str,
        selection: Field,
        provided: tuple[Selection, ...] | None,
        is_provided: bool,
        items: list[Item],
        pending: list[Selection],
        candidates: frozenset[str],
        names: Names,
    ) -> None:
        edge = self.qg.field_edge(graph, type_name, selection.name)
        model = self.qg.sg.field(type_name, selection.name)
        assert model is not None
        child_type = edge.child if edge is not None else model.type_name
        if selection.selections is None:
            items.append(Local(selection, child_type, model.list_depth, None))
            return
        child_provided = provided_child(provided, selection.name)
        if not is_provided and edge is not None and edge.provides:
            child_provided = (child_provided or ()) + edge.provides
        below = self._child_candidates(graph, type_name, selection.name, child_type, candidates)
        # every client field at this response path shares the object: its names are theirs
        same = response_names(names).get(selection.response_name, [selection])
        below_names = tuple(s for f in same for s in (f.selections or ()))
        child = self.solve(
            graph, child_type, selection.selections, child_provided, below_names, below
        )
        if child.remainder:
            pending.append(selection.with_selections(child.remainder))
            child = no_remainder(child)
        items.append(Local(selection, child_type, model.list_depth, child))

    def _child_candidates(
        self,
        graph: str,
        type_name: str,
        field_name: str,
        child_type: str,
        candidates: frozenset[str],
    ) -> frozenset[str]:
        """The subgraphs that could resolve the position below `type.field`: an entity restarts
        the set (any subgraph with its key could be asked); otherwise the candidates above that
        also resolve the field."""
        if self.qg.kind(child_type) == "object":
            keyed = {e.target for e in self.qg.key_edges(child_type)}
            if keyed:
                return frozenset(keyed | {graph})
        resolving = set(self.qg.resolving_graphs(type_name, field_name, self.walk.labels))
        return frozenset((candidates or {graph}) & resolving) or frozenset({graph})

    def _union_member_safe(
        self, type_name: str, fragment: InlineFragment, candidates: frozenset[str]
    ) -> bool:
        """Below a shareable path several subgraphs could resolve, only the union members all
        of them have are asked for (federation-gateway-audit: partial-union-complex)."""
        condition = fragment.type_condition
        if self.qg.kind(type_name) != "union" or condition is None:
            return True
        if self.qg.kind(condition) != "object":
            return True
        return all(condition in self.qg.possible_types(type_name, g) for g in candidates)

    def _abstract_field(
        self,
        graph: str,
        type_name: str,
        selection: Field,
        provided: tuple[Selection, ...] | None,
        names: Names,
        items: list[Item],
        pending: list[Selection],
        candidates: frozenset[str],
    ) -> None:
        """A field on an interface: resolved for the interface here, jumped at the interface
        level, or split into one fragment per implementation this subgraph has."""
        if provided_field(provided, selection.name) or self.walk.interface_local(
            graph, type_name, selection.name
        ):
            self._local(
                graph,
                type_name,
                selection,
                provided,
                provided_field(provided, selection.name),
                items,
                pending,
                candidates,
                names,
            )
            return
        routes = self.walk.routes(graph, type_name, provided)
        if any(
            self.walk.resolving(t, type_name, selection.name) is not None for t in routes
        ) or not self.qg.possible_types(type_name, graph):
            pending.append(selection)
            return
        split = []
        for object_type in self.qg.possible_types(type_name, graph):
            if self.qg.sg.field(object_type, selection.name) is None:
                continue
            inner = self.solve(
                graph, object_type, (selection,), provided_for_type(provided, object_type), names
            )
            split.append((object_type, inner))
        if split and all(inner.remainder == (selection,) for _, inner in split):
            pending.append(selection)  # no implementation's part is here: ask for it as it is
            return
        for object_type, inner in split:
            fragment = InlineFragment(object_type, (selection,))
            items.append(LocalFragment(fragment, object_type, no_remainder(inner)))
            if inner.remainder:
                pending.append(InlineFragment(object_type, inner.remainder))

    def _fragment(
        self,
        graph: str,
        type_name: str,
        fragment: InlineFragment,
        provided: tuple[Selection, ...] | None,
        names: Names,
        items: list[Item],
        remainder: list[Selection],
    ) -> None:
        """A type condition kept only where the subgraph knows it: otherwise split into the
        object types it knows that can match, or dropped when none can."""
        condition = fragment.type_condition or type_name
        here = (
            set(self.qg.possible_types(type_name, graph))
            if self.qg.kind(type_name) != "object"
            else {type_name}
        )
        wanted = set(self.qg.possible_types(condition))
        known = self.qg.has_type(graph, condition) and (
            self.qg.is_interface_object(condition, graph)
            or (
                # verbatim only where the subgraph relates it to these objects as the
                # supergraph does
                bool(here & wanted)
                and here & set(self.qg.possible_types(condition, graph)) == here & wanted
            )
        )
        if condition == type_name or known:
            targets = [(condition, fragment)]
            if (
                condition != type_name
                and self.qg.kind(type_name) == "object"
                and type_name in wanted
                and not self.qg.is_interface_object(condition, graph)
            ):
                # At an object the runtime type is known: an abstract condition that holds for
                # it narrows nothing; the fields inside are the object's (its own, its key
                # edges), under the fragment's directives alone, as Apollo sends it.
                targets = [(type_name, _retyped(fragment, None))]
        else:
            targets = [
                (t, _retyped(fragment, t))
                for t in sorted(here & wanted)
                if self.qg.has_type(graph, t)
            ]
        for target, kept in targets:
            inner = self.solve(
                graph, target, kept.selections, provided_for_type(provided, target), names
            )
            items.append(LocalFragment(kept, target, no_remainder(inner)))
            if inner.remainder:
                remainder.append(with_selections(kept, inner.remainder))


# --- helpers -----------------------------------------------------------------------------


def _spliced(
    selections: tuple[Selection, ...], type_name: str, graph: QueryGraph
) -> list[Selection]:
    """Fragments without directives whose condition always holds here are spliced in."""
    result: list[Selection] = []
    for selection in selections:
        if (
            isinstance(selection, InlineFragment)
            and not selection.directives
            and (
                selection.type_condition in (None, type_name)
                or (
                    graph.kind(type_name) == "object"
                    and type_name in graph.possible_types(selection.type_condition or type_name)
                )
            )
        ):
            result.extend(_spliced(selection.selections, type_name, graph))
        else:
            result.append(selection)
    return result


def _retyped(fragment: InlineFragment, type_name: str | None) -> InlineFragment:
    return InlineFragment(
        type_name, fragment.selections, fragment.directives, fragment.variables, fragment.conditions
    )
