"""A least-recently-used cache bounded in bytes as well as in entries.

The weight of an entry is an estimate its owner gives (a prepared operation: its document's
length and its fields; a persisted query: its text), so the budget holds whatever mix of small
and large entries arrives. Evicted entries are counted, so the owner can make sure what they
leave behind is collected (see `router/server/factory.py`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Safe to share between the event loop and the router's preparation thread."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self._lock = threading.Lock()
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self.evicted = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value under `key`, made the most recently used; None when it is not kept."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def peek(self, key: K) -> V | None:
        """The value, without making it recently used."""
        found = self._entries.get(key)
        return None if found is None else found[0]

    def put(self, key: K, value: V, weight: int) -> None:
        """Keep `value` unless it alone is over the budget (then it is not kept at all)."""
        if weight > self.max_bytes:
            return
        with self._lock:
            self._put(key, value, weight)

    def _put(self, key: K, value: V, weight: int) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._entries[key] = (value, weight)
        self.bytes += weight
        while self.bytes > self.max_bytes or len(self._entries) > self.max_entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped
            self.evicted += 1
