"""The demo data set: a few orders of Alice (customer 1) and Bob (customer 2)."""

from __future__ import annotations

from collections.abc import Sequence

from order_subgraph.repository import ItemRecord, Status

DEMO_ORDERS: tuple[tuple[str, Status, Sequence[ItemRecord]], ...] = (
    ("1", Status.DELIVERED, (ItemRecord("KEYBOARD-01", 1, 4999), ItemRecord("MOUSE-02", 2, 1950))),
    ("1", Status.SHIPPED, (ItemRecord("MONITOR-27", 1, 22900),)),
    ("2", Status.PENDING, (ItemRecord("CABLE-USB-C", 3, 999),)),
    ("2", Status.PAID, (ItemRecord("DESK-LAMP", 1, 3450), ItemRecord("BULB-E27", 4, 425))),
    ("1", Status.PENDING, (ItemRecord("NOTEBOOK-A5", 5, 350),)),
)
