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

import itertools
from dataclasses import dataclass
from typing import Union

from router.operation.ir import Field, InlineFragment, Selection
from router.plan.graph.naming import (
    Names,
    alias_arguments,
    argument_paths,
    avoid_names,
    response_names,
    with_selections,
)
from router.plan.graph.query_graph import KeyEdge, QueryGraph
from router.plan.graph.walk import (
    Walk,
    provided_child,
    provided_field,
    provided_for_type,
)

TYPENAME = Field("__typename")
MAX_TARGETS_ENUMERATED = 8
"""Beyond this many candidate subgraphs for one selection set, targets are chosen greedily."""


@dataclass(frozen=True, slots=True)
class Local:
    """A field resolved by the current fetch; `child` is how its sub-selections are."""

    field: Field
    child_type: str
    list_depth: int
    child: Solution | None
    provides: bool = False


@dataclass(frozen=True, slots=True)
class LocalFragment:
    """`... on T @directives { … }` kept in the current fetch."""

    fragment: InlineFragment
    type_name: str
    inner: Solution


@dataclass(frozen=True, slots=True)
class Jump:
    """Follow `edge` from the current fetch: `solution` is resolved by the target's
    `_entities`, with `requires` added to the representation (obtained as `requires_solution`
    says, in the current context)."""

    edge: KeyEdge
    selections: tuple[Selection, ...]
    solution: Solution
    requires: tuple[Selection, ...] = ()
    requires_solution: Solution | None = None
    key: tuple[Selection, ...] = ()
    """The key fields as the current fetch selects them (aliased where a client field has
    their response name)."""
    key_here: bool = True
    """The current fetch selects the key itself; else `requires_solution` obtains it too."""


Item = Union[Local, LocalFragment, Jump]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Solution:
    items: tuple[Item, ...]
    remainder: tuple[Selection, ...]
    fetches: int
    depth: int
    local: int = 0
    """Fields the current fetch resolves itself (a tie-break: more is better)."""


class Solver:
    def __init__(self, graph: QueryGraph, walk: Walk) -> None:
        self.qg = graph
        self.walk = walk
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
        items: list[Item] = []
        pending: list[Selection] = []
        remainder: list[Selection] = []
        interface_object = self.qg.is_interface_object(type_name, graph)
        abstract = self.qg.kind(type_name) in ("interface", "union") and not interface_object
        placed: list[int] = []
        """The position of the selection each item (and each pending selection) came from:
        jumps are emitted where their first selection was, as the client ordered them."""
        waiting: list[int] = []
        left: list[int] = []
        spliced = _spliced(selections, type_name, self.qg)
        for position, selection in enumerate(spliced):
            placed.extend([position - 1] * (len(items) - len(placed)))
            waiting.extend([position - 1] * (len(pending) - len(waiting)))
            left.extend([position - 1] * (len(remainder) - len(left)))
            if isinstance(selection, InlineFragment):
                if interface_object and selection.type_condition not in (None, type_name):
                    pending.append(selection)  # the concrete type is known elsewhere
                    continue
                if not self._union_member_safe(type_name, selection, candidates):
                    continue
                self._fragment(graph, type_name, selection, provided, names, items, remainder)
                continue
            if selection.name == "__typename":
                if interface_object:
                    pending.append(selection)
                else:
                    items.append(Local(selection, "String", 0, None))
                continue
            if abstract:
                self._abstract_field(
                    graph, type_name, selection, provided, names, items, pending, candidates
                )
                continue
            edge = self.walk.resolving(graph, type_name, selection.name)
            is_provided = provided_field(provided, selection.name)
            if is_provided or (
                edge is not None
                and (
                    not edge.requires
                    or self.walk.satisfies(graph, type_name, edge.requires, provided)
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
        last = len(spliced) - 1
        placed.extend([last] * (len(items) - len(placed)))
        waiting.extend([last] * (len(pending) - len(waiting)))
        left.extend([last] * (len(remainder) - len(left)))
        if pending:
            jumps, unreachable = self._combine(graph, type_name, tuple(pending), provided, names)
            for jump in jumps:
                items.append(jump)
                placed.append(
                    min(
                        (waiting[i] for i, p in enumerate(pending) if p in jump.selections),
                        default=last,
                    )
                )
            for selection in unreachable:
                remainder.append(selection)
                left.append(
                    next((waiting[i] for i, p in enumerate(pending) if p is selection), last)
                )
            order = sorted(range(len(remainder)), key=lambda i: left[i])
            remainder = [remainder[i] for i in order]
            order = sorted(range(len(items)), key=lambda i: placed[i])
            items = [items[i] for i in order]
        solution = _costed(tuple(items), tuple(remainder))
        if solution.remainder and abstract and not self.qg.possible_types(type_name):
            if solution.local or solution.fetches:
                # No object is a `type_name`: what no subgraph reaches here selects nothing.
                # The rest is asked, and the subgraph's own answer for the object (null or its
                # error) stands. Nothing but such selections still fails planning.
                return _no_remainder(solution)
        return solution

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
            child = _no_remainder(child)
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
            items.append(LocalFragment(fragment, object_type, _no_remainder(inner)))
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
            items.append(LocalFragment(kept, target, _no_remainder(inner)))
            if inner.remainder:
                remainder.append(with_selections(kept, inner.remainder))

    # --- entity jumps -------------------------------------------------------------------

    def _combine(
        self,
        graph: str,
        type_name: str,
        pending: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        names: Names,
    ) -> tuple[list[Jump], list[Selection]]:
        """Group the selections this fetch cannot resolve by target subgraph, cheapest first."""
        routes = dict(self.walk.routes(graph, type_name, provided))
        own = self.walk.self_route(graph, type_name, provided)
        if own is not None:
            routes[graph] = own
        if self.qg.kind(type_name) == "object":
            for interface in self.qg.implemented_interfaces(type_name):
                for edge in self.walk.first_hops(graph, interface, provided):
                    if edge.interface_object and edge.target not in routes:
                        routes[edge.target] = (edge,)
        candidates: dict[int, list[str]] = {}
        unreachable: list[Selection] = []
        conditional: dict[str, tuple[KeyEdge, ...]] = {}
        """Key edges whose fields this fetch lacks: they are obtained first (as requirements
        are), for selections no other route reaches."""
        for index, selection in enumerate(pending):
            targets = [t for t in routes if self._resolves(t, routes[t][-1], selection, graph)]
            if not targets:
                for edge in self.qg.key_edges(type_name):
                    if edge.target not in routes and edge.target != graph:
                        if self._resolves(edge.target, edge, selection, graph):
                            conditional.setdefault(edge.target, (edge,))
                            targets.append(edge.target)
            if targets:
                candidates[index] = sorted(
                    set(targets),
                    key=lambda t: (t in conditional, len((routes | conditional)[t]), t),
                )
            else:
                unreachable.append(selection)
        routes.update(conditional)
        if not candidates:
            return [], unreachable
        graphs = sorted({t for ts in candidates.values() for t in ts})
        best: tuple[tuple[int, int, int], list[Jump]] | None = None
        if len(graphs) <= MAX_TARGETS_ENUMERATED:
            for size in range(1, len(graphs) + 1):
                for subset in itertools.combinations(graphs, size):
                    chosen = set(subset)
                    if not all(chosen & set(ts) for ts in candidates.values()):
                        continue
                    self.walk.budget.step()
                    result = self._assign(
                        graph, type_name, pending, provided, names, routes, candidates, chosen
                    )
                    if best is None or result[0] < best[0]:
                        best = result
                if best is not None and size >= 2:
                    break
        if best is None:  # greedy: each selection to its first candidate
            chosen = {ts[0] for ts in candidates.values()}
            best = self._assign(
                graph, type_name, pending, provided, names, routes, candidates, chosen
            )
        kept: list[Jump] = []
        for jump in best[1]:
            left = _leftover(jump)
            unreachable.extend(left)
            if left is not jump.selections:  # a jump whose requirements are out of reach: none
                kept.append(_without_leftover(jump))
        return kept, unreachable

    def _resolves(self, target: str, edge: KeyEdge, selection: Selection, source: str) -> bool:
        entity = edge.type
        if isinstance(selection, InlineFragment) or selection.name == "__typename":
            # concrete types of interface objects: a subgraph with the real interface
            return self.qg.has_type(target, entity) and not self.qg.is_interface_object(
                entity, target
            )
        found = self.walk.resolving(target, entity, selection.name)
        if found is None:
            return False
        if target == source:
            return bool(found.requires)  # back into the same subgraph only for a @requires
        return True

    def _assign(
        self,
        graph: str,
        type_name: str,
        pending: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        names: Names,
        routes: dict[str, tuple[KeyEdge, ...]],
        candidates: dict[int, list[str]],
        chosen: set[str],
    ) -> tuple[tuple[int, int, int], list[Jump]]:
        groups: dict[str, list[Selection]] = {}
        for index, targets in candidates.items():
            target = next(t for t in targets if t in chosen)
            groups.setdefault(target, []).append(pending[index])
        jumps: list[Jump] = []
        for target, selections in sorted(groups.items()):
            # A representation holds one value per required field: selections that need it
            # with other arguments go in a fetch of their own.
            buckets: list[tuple[dict[tuple[str, ...], str], list[Selection]]] = []
            for selection in selections:
                wanted = self._required_arguments(routes[target][-1], selection)
                for arguments, members in buckets:
                    if all(arguments.get(k, v) == v for k, v in wanted.items()):
                        arguments.update(wanted)
                        members.append(selection)
                        break
                else:
                    buckets.append((dict(wanted), [selection]))
            for _, members in buckets:
                jumps.append(
                    self._jump(graph, type_name, routes[target], tuple(members), provided, names)
                )
        solution = _costed(tuple(jumps), ())
        left = sum(len(_leftover(j)) for j in jumps)
        return (left, solution.fetches, solution.depth), jumps

    def _required_arguments(
        self, edge: KeyEdge, selection: Selection
    ) -> dict[tuple[str, ...], str]:
        if isinstance(selection, InlineFragment):
            return {}
        found = self.walk.resolving(edge.target, edge.type, selection.name)
        if found is None or not found.requires:
            return {}
        return argument_paths(found.requires, (edge.type,))

    def _jump(
        self,
        graph: str,
        type_name: str,
        route: tuple[KeyEdge, ...],
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        names: Names,
    ) -> Jump:
        edge = route[0]
        key = avoid_names(edge.key.selections, names)
        representation = (TYPENAME, *key)
        key_here = self.walk.satisfies(graph, type_name, edge.key.selections, provided)
        if len(route) > 1:  # an intermediate subgraph gives the next key
            inner = self._jump(edge.target, type_name, route[1:], selections, representation, names)
            return Jump(edge, selections, _costed((inner,), _leftover(inner)), key=key)
        requires: list[Selection] = []
        for selection in selections:
            if isinstance(selection, Field) and selection.name != "__typename":
                found = self.walk.resolving(edge.target, edge.type, selection.name)
                if found is not None and found.requires:
                    requires.extend(alias_arguments(found.requires))
        required = avoid_names(tuple(requires), names)
        needed = required if key_here else (*key, *required)
        requires_solution = (
            self.solve(graph, type_name, needed, provided, names) if needed else None
        )
        solution = self.solve(
            edge.target, edge.type, selections, (*representation, *required), names
        )
        return Jump(edge, selections, solution, required, requires_solution, key, key_here)


# --- helpers -----------------------------------------------------------------------------


def _costed(items: tuple[Item, ...], remainder: tuple[Selection, ...]) -> Solution:
    fetches = 0
    depth = 0
    local = 0
    for item in items:
        if isinstance(item, Local):
            local += 1
            if item.child is not None:
                fetches += item.child.fetches
                depth = max(depth, item.child.depth)
                local += item.child.local
        elif isinstance(item, LocalFragment):
            fetches += item.inner.fetches
            depth = max(depth, item.inner.depth)
            local += item.inner.local
        else:
            before = 0
            if item.requires_solution is not None:
                fetches += item.requires_solution.fetches
                before = item.requires_solution.depth
            fetches += 1 + item.solution.fetches
            depth = max(depth, before + 1 + item.solution.depth)
    return Solution(items, remainder, fetches, depth, local)


def _leftover(jump: Jump) -> tuple[Selection, ...]:
    """What a jump's target cannot resolve: all of it when its requirements are out of reach."""
    if jump.requires_solution is not None and jump.requires_solution.remainder:
        return jump.selections
    return jump.solution.remainder


def _without_leftover(jump: Jump) -> Jump:
    return Jump(
        jump.edge,
        jump.selections,
        _no_remainder(jump.solution),
        jump.requires,
        jump.requires_solution,
        jump.key,
        jump.key_here,
    )


def _no_remainder(solution: Solution) -> Solution:
    if not solution.remainder:
        return solution
    return Solution(solution.items, (), solution.fetches, solution.depth, solution.local)


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
