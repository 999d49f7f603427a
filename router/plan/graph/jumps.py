"""Entity jumps for the best combination: the selections a fetch cannot resolve itself,
grouped by the subgraph a key edge reaches, each covering set of targets costed and the
cheapest kept (`EntityJumps.combine`). What a target resolves, and the `@requires` fields it
needs, are solved by the `Solver` this serves, through the `Solve` it is handed."""

from __future__ import annotations

import itertools
from typing import Protocol

from router.operation.ir import Field, InlineFragment, Selection
from router.plan.graph.naming import Names, alias_arguments, argument_paths, avoid_names
from router.plan.graph.query_graph import KeyEdge, QueryGraph
from router.plan.graph.solution import (
    TYPENAME,
    Jump,
    Solution,
    costed,
    leftover,
    without_leftover,
)
from router.plan.graph.walk import Walk

MAX_TARGETS_ENUMERATED = 8
"""Beyond this many candidate subgraphs for one selection set, targets are chosen greedily."""


class Solve(Protocol):
    """`Solver.solve`: how a selection set at a node is resolved."""

    def __call__(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        names: Names | None = None,
        candidates: frozenset[str] | None = None,
    ) -> Solution: ...


class EntityJumps:
    """The jumps behind key edges for what one fetch cannot resolve."""

    def __init__(self, graph: QueryGraph, walk: Walk, solve: Solve) -> None:
        self.qg = graph
        self.walk = walk
        self.solve = solve

    def combine(
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
            left = leftover(jump)
            unreachable.extend(left)
            if left is not jump.selections:  # a jump whose requirements are out of reach: none
                kept.append(without_leftover(jump))
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
        solution = costed(tuple(jumps), ())
        left = sum(len(leftover(j)) for j in jumps)
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
            return Jump(edge, selections, costed((inner,), leftover(inner)), key=key)
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
