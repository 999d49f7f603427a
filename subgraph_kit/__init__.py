"""The chassis both domain services are built on: nothing about customers or orders, only how
a subgraph of this platform behaves.

Apollo error codes on every error (`errors`), cursor pagination and the shared `PageInfo`
(`pagination`), SQLite/PostgreSQL engines (`db`), each service's Alembic migrations run behind a
lock (`migrations`), idempotency keys for creates (`idempotency`), string input every store can
keep (`inputs`), the federation schema with its parser and validation caches and request limits
(`schema`), and the service's ASGI app, settings, CLI and `migrate` command (`service`). The
services import this package, never each other.
"""

from __future__ import annotations

from subgraph_kit.errors import (
    BadUserInput,
    Conflict,
    NotFound,
    ServiceUnavailable,
    UserError,
)
from subgraph_kit.pagination import Cursors, PageInfo, check_page_size
from subgraph_kit.schema import federated_schema
from subgraph_kit.service import ServiceSettings, service_app, service_main

__all__ = [
    "BadUserInput",
    "Conflict",
    "Cursors",
    "NotFound",
    "PageInfo",
    "ServiceSettings",
    "ServiceUnavailable",
    "UserError",
    "check_page_size",
    "federated_schema",
    "service_app",
    "service_main",
]
