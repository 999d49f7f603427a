"""Reads and writes orders. Each function takes the service's Database (subgraph_kit.database):
a read is one statement per query it names, a write one short transaction.

The batch readers (`get_by_ids`, `items_for_orders`, `pages_for_customers`, `counts_for_customers`)
answer a whole DataLoader batch in one SQL query. `create` with an idempotency key answers the
order already stored under that key, if any, instead of a second one (subgraph_kit.idempotency).

The writes publish domain events when they commit (subgraph_kit.events): `ORDER_CREATED`, keyed
by the customer, and `ORDER_STATUS_CHANGED`, keyed by the order, each carrying the order's row
as committed (`event_data`, read back with `from_event`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from order_subgraph.db import order_items, orders
from order_subgraph.lifecycle import Status, sources
from subgraph_kit.database import Database
from subgraph_kit.db import as_utc
from subgraph_kit.events import Event, Publish
from subgraph_kit.idempotency import fingerprint, stored_row

__all__ = ["Status"]  # re-exported: the repository's callers name statuses through it

ORDER_CREATED = "orderCreated"
ORDER_STATUS_CHANGED = "orderStatusChanged"


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One line of an order."""

    sku: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One row of the orders table (its items are read separately, when asked for)."""

    id: int
    customer_id: str
    status: Status
    currency: str
    total_cents: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order to insert: what createOrder was asked for, once checked and cleaned."""

    customer_id: str
    currency: str
    items: tuple[ItemRecord, ...]
    status: Status = Status.PENDING
    idempotency_key: str | None = None

    @property
    def fingerprint(self) -> str:
        """What a retry under the same idempotency key must match (the status is not input)."""
        lines = [[item.sku, item.quantity, item.unit_price_cents] for item in self.items]
        return fingerprint(self.customer_id, self.currency, lines)


@dataclass(frozen=True, slots=True)
class PageKey:
    """Which page of one customer's orders a resolver wants."""

    customer_id: str
    status: Status | None
    limit: int
    after_id: int | None


# The hot reads, built once: building a statement costs more than running it on SQLite.
_BY_IDS = select(orders).where(orders.c.id.in_(bindparam("ids", expanding=True)))
_ITEMS_OF = (
    select(order_items)
    .where(order_items.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(order_items.c.order_id, order_items.c.position)
)


@functools.cache
def _page_query(by_customer: bool, by_status: bool, after: bool) -> Select[Any]:
    """A page of orders, newest first, for `list_page`; one statement per combination of filters,
    filled by the bind parameters customer_id, status, after_id and limit."""
    query = select(orders).order_by(orders.c.id.desc()).limit(bindparam("limit"))
    if by_customer:
        query = query.where(orders.c.customer_id == bindparam("customer_id"))
    if by_status:
        query = query.where(orders.c.status == bindparam("status"))
    if after:  # newest first: the next page has smaller ids
        query = query.where(orders.c.id < bindparam("after_id"))
    return query


def _record(row: Any) -> OrderRecord:
    return OrderRecord(
        id=row.id,
        customer_id=row.customer_id,
        status=Status(row.status),
        currency=row.currency,
        total_cents=row.total_cents,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def event_data(record: OrderRecord) -> dict[str, Any]:
    """An order's row as an event carries it (JSON)."""
    return {
        "id": record.id,
        "customer_id": record.customer_id,
        "status": record.status.value,
        "currency": record.currency,
        "total_cents": record.total_cents,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


def from_event(event: Event) -> OrderRecord:
    """The order's row an ORDER_CREATED or ORDER_STATUS_CHANGED event carries."""
    data = event.data
    return OrderRecord(
        id=int(data["id"]),
        customer_id=str(data["customer_id"]),
        status=Status(data["status"]),
        currency=str(data["currency"]),
        total_cents=int(data["total_cents"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
    )


def _filtered(query: Select[Any], status: Status | None, after_id: int | None) -> Select[Any]:
    if status is not None:
        query = query.where(orders.c.status == status.value)
    if after_id is not None:  # newest first: the next page has smaller ids
        query = query.where(orders.c.id < after_id)
    return query


async def get_by_ids(database: Database, ids: Iterable[int]) -> dict[int, OrderRecord]:
    """The orders with these ids, in one query; unknown ids are simply absent."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await database.rows(_BY_IDS, {"ids": wanted})
    return {row.id: _record(row) for row in rows}


async def items_for_orders(
    database: Database, order_ids: Iterable[int]
) -> dict[int, list[ItemRecord]]:
    """The items of each order, in the order they were given, in one query."""
    wanted = sorted(set(order_ids))
    found: dict[int, list[ItemRecord]] = defaultdict(list)
    if not wanted:
        return found
    for row in await database.rows(_ITEMS_OF, {"ids": wanted}):
        found[row.order_id].append(ItemRecord(row.sku, row.quantity, row.unit_price_cents))
    return found


async def list_page(
    database: Database,
    *,
    customer_id: str | None,
    status: Status | None,
    limit: int,
    after_id: int | None,
) -> list[OrderRecord]:
    """Up to `limit` orders, newest first, starting after `after_id`."""
    query = _page_query(customer_id is not None, status is not None, after_id is not None)
    params = {
        "customer_id": customer_id,
        "status": status.value if status is not None else None,
        "after_id": after_id,
        "limit": limit,
    }
    return [_record(row) for row in await database.rows(query, params)]


async def count(database: Database, *, customer_id: str | None, status: Status | None) -> int:
    query = _filtered(select(func.count()).select_from(orders), status, None)
    if customer_id is not None:
        query = query.where(orders.c.customer_id == customer_id)
    return int(await database.scalar(query))


async def pages_for_customers(
    database: Database, keys: Sequence[PageKey]
) -> dict[PageKey, list[OrderRecord]]:
    """A page of orders for each key, one query per distinct (status, limit, after) — usually one.

    `row_number()` over each customer's orders, newest first, cuts every page in SQL.
    """
    groups: dict[tuple[Status | None, int, int | None], set[str]] = defaultdict(set)
    for key in keys:
        groups[(key.status, key.limit, key.after_id)].add(key.customer_id)
    pages: dict[PageKey, list[OrderRecord]] = {}
    for (status, limit, after_id), customer_ids in groups.items():
        rank = func.row_number().over(
            partition_by=orders.c.customer_id, order_by=orders.c.id.desc()
        )
        ranked = _filtered(
            select(orders, rank.label("rank")).where(
                orders.c.customer_id.in_(sorted(customer_ids))
            ),
            status,
            after_id,
        ).subquery()
        query = select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.id.desc())
        by_customer: dict[str, list[OrderRecord]] = defaultdict(list)
        for row in await database.rows(query):
            by_customer[row.customer_id].append(_record(row))
        for customer_id in customer_ids:
            pages[PageKey(customer_id, status, limit, after_id)] = by_customer[customer_id]
    return pages


async def counts_for_customers(
    database: Database, keys: Sequence[tuple[str, Status | None]]
) -> dict[tuple[str, Status | None], int]:
    """How many orders each (customer, status) has, one query per distinct status."""
    groups: dict[Status | None, set[str]] = defaultdict(set)
    for customer_id, status in keys:
        groups[status].add(customer_id)
    counts: dict[tuple[str, Status | None], int] = {}
    for status, customer_ids in groups.items():
        query = _filtered(
            select(orders.c.customer_id, func.count())
            .where(orders.c.customer_id.in_(sorted(customer_ids)))
            .group_by(orders.c.customer_id),
            status,
            None,
        )
        found = {row[0]: int(row[1]) for row in await database.rows(query)}
        for customer_id in customer_ids:
            counts[(customer_id, status)] = found.get(customer_id, 0)
    return counts


async def find_by_idempotency_key(database: Database, order: NewOrder) -> OrderRecord | None:
    """The order created earlier under `order`'s idempotency key; None when there is none (or
    `order` has no key). Raises KeyReused when that order was created from other input."""
    row = await stored_row(database, orders, order.idempotency_key, order.fingerprint)
    return None if row is None else _record(row)


async def create(database: Database, order: NewOrder) -> OrderRecord:
    """Insert an order and its items in one transaction: all of it is written, or none.

    When the unique index refuses the idempotency key (the same create, retried, was committed
    first by another request or replica), nothing is written and the order stored under the key
    is returned instead; KeyReused when that one was created from other input. ORDER_CREATED
    is published for an order inserted, not for one found under its key.
    """
    try:
        return await database.publishing(lambda conn, publish: _insert(conn, order, publish))
    except IntegrityError:
        if (existing := await find_by_idempotency_key(database, order)) is None:
            raise
        return existing


def _insert(conn: Connection, order: NewOrder, publish: Publish) -> OrderRecord:
    """The order's row and its items' rows; the order as stored."""
    now = datetime.now(UTC)
    total = sum(item.quantity * item.unit_price_cents for item in order.items)
    row = conn.execute(
        insert(orders)
        .values(
            customer_id=order.customer_id,
            status=order.status.value,
            currency=order.currency,
            total_cents=total,
            created_at=now,
            updated_at=now,
            idempotency_key=order.idempotency_key,
            idempotency_fingerprint=(
                order.fingerprint if order.idempotency_key is not None else None
            ),
        )
        .returning(*orders.c)
    ).one()
    record = _record(row)
    # staged before the items are written: should they fail, the rollback takes the event too
    publish(Event(ORDER_CREATED, record.customer_id, event_data(record)))
    conn.execute(
        insert(order_items),
        [
            {
                "order_id": row.id,
                "position": position,
                "sku": item.sku,
                "quantity": item.quantity,
                "unit_price_cents": item.unit_price_cents,
            }
            for position, item in enumerate(order.items)
        ],
    )
    return record


async def set_status(
    database: Database, order_id: int, status: Status
) -> tuple[OrderRecord | None, bool]:
    """Move an order to `status` if its life allows it from where it is (order_subgraph.lifecycle),
    atomically; ORDER_STATUS_CHANGED is published when it moved.

    Returns the order as it now is (None when there is no such order) and whether it changed.
    """
    statement = (
        update(orders)
        .where(orders.c.id == order_id, orders.c.status.in_([s.value for s in sources(status)]))
        .values(status=status.value, updated_at=datetime.now(UTC))
        .returning(*orders.c)
    )

    def move(conn: Connection, publish: Publish) -> tuple[OrderRecord | None, bool]:
        row = conn.execute(statement).first()
        if row is not None:
            record = _record(row)
            publish(Event(ORDER_STATUS_CHANGED, str(record.id), event_data(record)))
            return record, True
        current = conn.execute(select(orders).where(orders.c.id == order_id)).first()
        return (_record(current) if current is not None else None), False

    return await database.publishing(move)


async def seed(database: Database, demo: Sequence[tuple[str, Status, Sequence[ItemRecord]]]) -> int:
    """Insert the demo orders into an empty table; returns how many were inserted."""
    if await database.first(select(orders.c.id).limit(1)) is not None:
        return 0
    for customer_id, status, items in demo:
        await create(database, NewOrder(customer_id, "USD", tuple(items), status))
    return len(demo)
