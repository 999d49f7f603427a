"""The customers database's migrations (Alembic): `env.py` runs them through subgraph_kit's
runner, `versions/` holds one script per revision, the first being the schema of the release
before migrations. `python -m customer_subgraph migrate` runs them; so does start-up."""

from __future__ import annotations

from customer_subgraph.db import metadata
from subgraph_kit.migrations import Migrations

MIGRATIONS = Migrations("customer_subgraph", metadata, "alembic_version_customers")

__all__ = ["MIGRATIONS"]
