"""Values the executor computes once per plan node (a compiled projector, the fields an entity
fetch must answer) or per tuple of nodes (a batched operation's text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from router.plan.nodes import Fetch

__all__ = ["PerNodes"]

V = TypeVar("V")


class PerNodes(Generic[V]):
    """Values computed once per plan node, or per tuple of them. Keyed by the nodes' ids: an
    entry holds its nodes, so their ids cannot be reused while it exists. Emptied when it
    reaches 4,096 entries (the plan cache's churn)."""

    def __init__(self, make: Callable[[tuple[Fetch, ...]], V]) -> None:
        self._make = make
        self._entries: dict[tuple[int, ...], tuple[tuple[Fetch, ...], V]] = {}

    def get(self, nodes: tuple[Fetch, ...]) -> V:
        """The value for `nodes`, made on first use."""
        key = tuple(map(id, nodes))
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= 4096:
                self._entries.clear()
            entry = self._entries[key] = (nodes, self._make(nodes))
        return entry[1]
