"""The customers database: its tables. Engines come from subgraph_kit.db."""

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

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
# Emails are unique regardless of case; the database enforces it, so two concurrent
# createCustomer calls with the same address cannot both succeed.
Index("uq_customers_email", func.lower(customers.c.email), unique=True)
