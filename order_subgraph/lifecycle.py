"""An order's life as a small state model: its statuses and the moves allowed between them.

    PENDING ──> PAID ──> SHIPPED ──> DELIVERED
       │          │
       └──────────┴──> CANCELLED

DELIVERED and CANCELLED are final. A move to the status an order is already in changes nothing
(a retried mutation is answered, not refused); any other move not drawn above is refused.
A customer pays for or cancels their own order; shipping and delivering are the shop's moves
(`BY_STAFF`).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an order is in its life. PENDING and PAID orders may still be CANCELLED."""

    PENDING = "PENDING"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


NEXT: dict[Status, tuple[Status, ...]] = {
    Status.PENDING: (Status.PAID, Status.CANCELLED),
    Status.PAID: (Status.SHIPPED, Status.CANCELLED),
    Status.SHIPPED: (Status.DELIVERED,),
    Status.DELIVERED: (),
    Status.CANCELLED: (),
}
"""The statuses each status may move to."""

BY_STAFF = frozenset({Status.SHIPPED, Status.DELIVERED})
"""The statuses only staff may move an order to: the shop ships and delivers, not the customer."""


def sources(to: Status) -> tuple[Status, ...]:
    """The statuses an order may move to `to` from."""
    return tuple(status for status, allowed in NEXT.items() if to in allowed)


def refusal(order_id: object, current: Status, to: Status) -> str:
    """Why an order in `current` cannot move to `to`, and what it could move to instead."""
    allowed = NEXT[current]
    instead = " or ".join(s.value for s in allowed) if allowed else "nothing: it is final"
    return (
        f"order {order_id} is {current.value} and cannot become {to.value}; it may become {instead}"
    )
