"""The customers subgraph: a Strawberry Federation 2 service that owns customer data.

It defines the `Customer` entity (`@key(fields: "id")`), reads and writes customers in its own
database (SQLite by default, PostgreSQL by URL) and resolves `_entities` in one SQL query per
request through a DataLoader. Run it with `python -m customer_subgraph`.
"""

from __future__ import annotations

from customer_subgraph.app import create_app
from customer_subgraph.schema import schema
from customer_subgraph.settings import Settings

__all__ = ["Settings", "create_app", "schema"]
