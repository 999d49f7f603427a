"""Baseline: the orders tables as the release before migrations made them at start-up.

Revision ID: 0001
Revises: (none)

A frozen copy of the tables, not an import of order_subgraph.db: later revisions change the
models, never this. On a database that release made, the missing columns and indexes are added
and the rows kept (see subgraph_kit.migrations.create_baseline).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from subgraph_kit.migrations import create_baseline

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def tables() -> MetaData:
    metadata = MetaData()
    orders = Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String(64), nullable=False),
        Column("status", String(16), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("total_cents", BigInteger, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("idempotency_key", String(255), nullable=True),
        Column("idempotency_fingerprint", String(64), nullable=True),
    )
    Index("ix_orders_customer_id", orders.c.customer_id, orders.c.id)
    Index("uq_orders_idempotency_key", orders.c.idempotency_key, unique=True)
    order_items = Table(
        "order_items",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        Column("position", Integer, nullable=False),
        Column("sku", String(64), nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("unit_price_cents", BigInteger, nullable=False),
    )
    Index("ix_order_items_order_id", order_items.c.order_id, order_items.c.position)
    return metadata


def upgrade() -> None:
    create_baseline(tables())


def downgrade() -> None:
    op.drop_table("order_items")
    op.drop_table("orders")
