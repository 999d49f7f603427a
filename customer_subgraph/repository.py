"""Reads and writes customers. Each function takes the service's Database (subgraph_kit.database):
a read is one statement, a write one short transaction.

Resolvers may run concurrently within one request, so nothing here shares a connection or a
session between calls. `create` with an idempotency key answers the customer already stored
under that key, if any, instead of a second one (subgraph_kit.idempotency).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from customer_subgraph.db import customers
from subgraph_kit.database import Database
from subgraph_kit.db import as_utc
from subgraph_kit.idempotency import fingerprint, stored_row


class EmailTaken(Exception):
    """Another customer already uses this email address (compared without case)."""


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """One row of the customers table."""

    id: int
    name: str
    email: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A customer to insert: what createCustomer was asked for, once checked and cleaned."""

    name: str
    email: str
    idempotency_key: str | None = None

    @property
    def fingerprint(self) -> str:
        """What a retry under the same idempotency key must match."""
        return fingerprint(self.name, self.email)


# The hot reads, built once: building a statement costs more than running it on SQLite.
_BY_IDS = select(customers).where(customers.c.id.in_(bindparam("ids", expanding=True)))


def _record(row: Any) -> CustomerRecord:
    return CustomerRecord(
        id=row.id,
        name=row.name,
        email=row.email,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


async def get_by_ids(database: Database, ids: Iterable[int]) -> dict[int, CustomerRecord]:
    """The customers with these ids, in one query; unknown ids are simply absent."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await database.rows(_BY_IDS, {"ids": wanted})
    return {row.id: _record(row) for row in rows}


async def list_page(
    database: Database, *, limit: int, after_id: int | None
) -> list[CustomerRecord]:
    """Up to `limit` customers in id order, starting after `after_id`."""
    query = select(customers).order_by(customers.c.id).limit(limit)
    if after_id is not None:
        query = query.where(customers.c.id > after_id)
    return [_record(row) for row in await database.rows(query)]


async def count(database: Database) -> int:
    return int(await database.scalar(select(func.count()).select_from(customers)))


async def email_in_use(database: Database, email: str, *, except_id: int | None = None) -> bool:
    query = select(customers.c.id).where(func.lower(customers.c.email) == email.lower())
    if except_id is not None:
        query = query.where(customers.c.id != except_id)
    return await database.first(query.limit(1)) is not None


async def find_by_idempotency_key(
    database: Database, customer: NewCustomer
) -> CustomerRecord | None:
    """The customer created earlier under `customer`'s idempotency key; None when there is none
    (or `customer` has no key). Raises KeyReused when it was created from other input."""
    row = await stored_row(database, customers, customer.idempotency_key, customer.fingerprint)
    return None if row is None else _record(row)


async def create(database: Database, customer: NewCustomer) -> CustomerRecord:
    """Insert a customer; raises EmailTaken when the unique email index refuses it.

    When the unique index refuses the idempotency key instead (the same create, retried, was
    committed first), the customer stored under the key is returned; KeyReused when that one was
    created from other input.
    """
    now = datetime.now(UTC)
    keyed = customer.idempotency_key is not None
    statement = (
        insert(customers)
        .values(
            name=customer.name,
            email=customer.email,
            created_at=now,
            updated_at=now,
            idempotency_key=customer.idempotency_key,
            idempotency_fingerprint=customer.fingerprint if keyed else None,
        )
        .returning(*customers.c)
    )
    try:
        return _record(await database.transaction(lambda conn: conn.execute(statement).one()))
    except IntegrityError as exc:
        if (existing := await find_by_idempotency_key(database, customer)) is not None:
            return existing
        raise EmailTaken(customer.email) from exc


async def update_fields(
    database: Database, customer_id: int, changes: dict[str, str]
) -> CustomerRecord | None:
    """Apply `changes` (column name → value); None when no such customer exists."""
    statement = (
        update(customers)
        .where(customers.c.id == customer_id)
        .values(**changes, updated_at=datetime.now(UTC))
        .returning(*customers.c)
    )
    try:
        row = await database.transaction(lambda conn: conn.execute(statement).first())
    except IntegrityError as exc:
        raise EmailTaken(changes.get("email", "")) from exc
    return _record(row) if row is not None else None


async def seed(database: Database, people: Sequence[tuple[str, str]]) -> int:
    """Insert the demo customers into an empty table; returns how many were inserted."""

    def insert_if_empty(conn: Connection) -> int:
        if conn.execute(select(customers.c.id).limit(1)).first() is not None:
            return 0
        now = datetime.now(UTC)
        rows = [
            {"name": name, "email": email, "created_at": now, "updated_at": now}
            for name, email in people
        ]
        conn.execute(insert(customers), rows)
        return len(rows)

    return await database.transaction(insert_if_empty)
