"""Where in a plan the data at a path comes from (`provider`: the fetch whose answer reaches the
objects there), and a plan with some fetches carrying their ids (`with_ids`, Apollo's `id` of
a fetch that a deferred part depends on)."""

from __future__ import annotations

from dataclasses import replace

from router.operation.ir import Field, Selection
from router.plan.nodes import Condition, Fetch, Flatten, Parallel, PlanNode, QueryPlan, Sequence

__all__ = ["provider", "with_ids"]


def provider(plan: QueryPlan, flat_path: tuple[str, ...]) -> Fetch | None:
    """The last fetch of `plan` whose data reaches the objects at `flat_path` (its own path
    the longest prefix of it)."""
    best: tuple[int, Fetch] | None = None
    for path, fetch in _fetches(plan.node, ()):
        if flat_path[: len(path)] != path:
            continue
        rest = tuple(k for k in flat_path[len(path) :] if k != "@")
        if _reaches(fetch.selections, rest) and (best is None or len(path) >= best[0]):
            best = (len(path), fetch)
    return best[1] if best else None


def _fetches(node: object, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Fetch]]:
    if isinstance(node, Fetch):
        return [(path, node)]
    if isinstance(node, Flatten):
        return [(node.path, node.node)]
    if isinstance(node, (Sequence, Parallel)):
        return [found for child in node.nodes for found in _fetches(child, path)]
    if isinstance(node, Condition):
        return _fetches(node.then, path) + _fetches(node.otherwise, path)
    return []


def _reaches(selections: tuple[Selection, ...], rest: tuple[str, ...]) -> bool:
    if not rest:
        return True
    for item in selections:
        if isinstance(item, Field):
            if item.response_name == rest[0] and item.selections is not None:
                if _reaches(item.selections, rest[1:]):
                    return True
        elif _reaches(item.selections, rest):
            return True
    return False


def with_ids(node: PlanNode | None, ids: dict[int, str]) -> PlanNode | None:
    """`node` with the fetches named in `ids` (by id()) carrying their plan id, for display."""
    if node is None or not ids:
        return node
    if isinstance(node, Fetch):
        return replace(node, id=ids[id(node)]) if id(node) in ids else node
    if isinstance(node, Flatten):
        fetch = with_ids(node.node, ids)
        assert isinstance(fetch, Fetch)
        return replace(node, node=fetch)
    if isinstance(node, (Sequence, Parallel)):
        return replace(node, nodes=tuple(with_ids(n, ids) for n in node.nodes))  # type: ignore[misc]
    return replace(node, then=with_ids(node.then, ids), otherwise=with_ids(node.otherwise, ids))
