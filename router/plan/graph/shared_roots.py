"""Shared root fields: entity jumps replaced by a second root fetch.

When a root field is shared (`@shareable` in several subgraphs), fields the chosen subgraph
would get through entity jumps below it may be resolved directly by another subgraph's root
fetch, which runs in parallel with the first: `viewer { media { … on Book { bTitle } } }` from
b's own `viewer` rather than through `Book`'s key after a's. A jump moves when the other
subgraph resolves the whole path to it and its fields without any fetch of its own; the move is
kept when the plan then makes fewer fetches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from router.operation.ir import Field, InlineFragment, Selection
from router.operation.normalize import merge
from router.plan.graph.combination import Solver
from router.plan.graph.solution import Jump, Local, LocalFragment, Solution, costed

Wrapper = Field | InlineFragment
"""A field or fragment on the way from the root to a jump (its selections ignored)."""


def share_root_field(
    solver: Solver,
    root_type: str,
    graph: str,
    solution: Solution,
    others: list[str],
    used: set[str],
) -> tuple[Solution, str, Solution] | None:
    """(the chosen subgraph's solution without the moved jumps, the other subgraph, its
    solution), when moving jumps to another subgraph's root fetch saves fetches."""
    jumps = list(_root_level_jumps(solution, ()))
    if not jumps:
        return None
    best: tuple[int, Solution, str, Solution] | None = None
    for other in others:
        moved: list[Selection] = []
        dropped: set[int] = set()
        for wrappers, jump in jumps:
            if jump.requires_solution is not None or not jump.key_here:
                continue
            tree = _wrap(wrappers, jump.selections)
            alone = solver.solve(other, root_type, (tree,), None)
            if alone.remainder or alone.fetches:
                continue
            moved.append(tree)
            dropped.add(id(jump))
        if not moved:
            continue
        theirs = solver.solve(other, root_type, merge(moved), None)
        if theirs.remainder or theirs.fetches:
            continue
        ours = _drop(solution, dropped)
        fetches = ours.fetches + theirs.fetches + (0 if other in used else 1)
        if fetches < solution.fetches and (best is None or fetches < best[0]):
            best = (fetches, ours, other, theirs)
    return None if best is None else best[1:]


def _root_level_jumps(
    solution: Solution, wrappers: tuple[Wrapper, ...]
) -> Iterator[tuple[tuple[Wrapper, ...], Jump]]:
    """Jumps reached through the root fetch's own fields and fragments (not through others)."""
    for item in solution.items:
        if isinstance(item, Local):
            if item.child is not None:
                yield from _root_level_jumps(item.child, (*wrappers, item.field))
        elif isinstance(item, LocalFragment):
            yield from _root_level_jumps(item.inner, (*wrappers, item.fragment))
        elif wrappers:
            yield wrappers, item


def _wrap(wrappers: tuple[Wrapper, ...], selections: tuple[Selection, ...]) -> Field:
    inner = selections
    for wrapper in reversed(wrappers):
        if isinstance(wrapper, Field):
            inner = (wrapper.with_selections(inner),)
        else:
            inner = (replace(wrapper, selections=inner),)
    (root,) = inner
    assert isinstance(root, Field)
    return root


def _drop(solution: Solution, dropped: set[int]) -> Solution:
    items = []
    for item in solution.items:
        if isinstance(item, Jump):
            if id(item) in dropped:
                continue
        elif isinstance(item, Local) and item.child is not None:
            item = replace(item, child=_drop(item.child, dropped))
        elif isinstance(item, LocalFragment):
            item = replace(item, inner=_drop(item.inner, dropped))
        items.append(item)
    return costed(tuple(items), solution.remainder)
