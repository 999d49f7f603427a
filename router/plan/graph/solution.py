"""What the search for the best combination answers: a `Solution` per selection set, made of
`Local` fields and fragments the current fetch resolves and `Jump`s behind key edges, with its
cost (fetches, the chain of dependent fetches) computed by `costed`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from router.operation.ir import Field, InlineFragment, Selection
from router.plan.graph.query_graph import KeyEdge

TYPENAME = Field("__typename")


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
    """How a selection set is resolved from one node: its items, what no route reaches
    (`remainder`), and its cost."""

    items: tuple[Item, ...]
    remainder: tuple[Selection, ...]
    fetches: int
    depth: int
    local: int = 0
    """Fields the current fetch resolves itself (a tie-break: more is better)."""


def costed(items: tuple[Item, ...], remainder: tuple[Selection, ...]) -> Solution:
    """The solution of `items`, costed: fetches it adds, the depth of its chain of dependent
    fetches, and the fields resolved locally."""
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


def leftover(jump: Jump) -> tuple[Selection, ...]:
    """What a jump's target cannot resolve: all of it when its requirements are out of reach."""
    if jump.requires_solution is not None and jump.requires_solution.remainder:
        return jump.selections
    return jump.solution.remainder


def without_leftover(jump: Jump) -> Jump:
    """The jump with its target's unresolved selections dropped (they are asked elsewhere)."""
    return Jump(
        jump.edge,
        jump.selections,
        no_remainder(jump.solution),
        jump.requires,
        jump.requires_solution,
        jump.key,
        jump.key_here,
    )


def no_remainder(solution: Solution) -> Solution:
    """The solution without its remainder (the caller resolves that elsewhere)."""
    if not solution.remainder:
        return solution
    return Solution(solution.items, (), solution.fetches, solution.depth, solution.local)
