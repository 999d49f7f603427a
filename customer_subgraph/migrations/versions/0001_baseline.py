"""Baseline: the customers table as the release before migrations made it at start-up.

Revision ID: 0001
Revises: (none)

A frozen copy of the tables, not an import of customer_subgraph.db: later revisions change the
models, never this. On a database that release made, the missing columns and indexes are added
and the rows kept (see subgraph_kit.migrations.create_baseline).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, func

from subgraph_kit.migrations import create_baseline

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def tables() -> MetaData:
    metadata = MetaData()
    customers = Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(200), nullable=False),
        Column("email", String(320), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("idempotency_key", String(255), nullable=True),
        Column("idempotency_fingerprint", String(64), nullable=True),
    )
    Index("uq_customers_email", func.lower(customers.c.email), unique=True)
    Index("uq_customers_idempotency_key", customers.c.idempotency_key, unique=True)
    return metadata


def upgrade() -> None:
    create_baseline(tables())


def downgrade() -> None:
    op.drop_table("customers")
