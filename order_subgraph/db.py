"""The orders database: its tables. Engines come from subgraph_kit.db.

Money is stored as integer minor units (cents); the customer is an opaque id owned by the
customers service, so there is no foreign key to it. A create's idempotency key is unique (the
index lets any number of orders have none); see subgraph_kit.idempotency.
"""

from __future__ import annotations

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

from subgraph_kit.idempotency import FINGERPRINT_LENGTH, MAX_KEY_LENGTH

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
    # added after the first release: nullable, so start-up can add them to an existing table
    Column("idempotency_key", String(MAX_KEY_LENGTH), nullable=True),
    Column("idempotency_fingerprint", String(FINGERPRINT_LENGTH), nullable=True),
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
