"""The customers database: its tables. Engines come from subgraph_kit.db.

A create's idempotency key is unique (the index lets any number of customers have none); see
subgraph_kit.idempotency.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
)

from subgraph_kit.idempotency import FINGERPRINT_LENGTH, MAX_KEY_LENGTH

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # added after the first release: nullable, so start-up can add them to an existing table
    Column("idempotency_key", String(MAX_KEY_LENGTH), nullable=True),
    Column("idempotency_fingerprint", String(FINGERPRINT_LENGTH), nullable=True),
)
# Emails are unique regardless of case; the database enforces it, so two concurrent
# createCustomer calls with the same address cannot both succeed.
Index("uq_customers_email", func.lower(customers.c.email), unique=True)
Index("uq_customers_idempotency_key", customers.c.idempotency_key, unique=True)
