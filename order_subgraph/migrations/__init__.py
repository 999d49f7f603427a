"""The orders database's migrations (Alembic): `env.py` runs them through subgraph_kit's
runner, `versions/` holds one script per revision, the first being the schema of the release
before migrations. `python -m order_subgraph migrate` runs them; so does start-up."""

from __future__ import annotations

from order_subgraph.db import metadata
from subgraph_kit.migrations import Migrations

MIGRATIONS = Migrations("order_subgraph", metadata, "alembic_version_orders")

__all__ = ["MIGRATIONS"]
