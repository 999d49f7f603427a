"""The chassis both domain services are built on: nothing about customers or orders, only how
a subgraph of this platform behaves.

Apollo error codes on every error (`errors`), cursor pagination and the shared `PageInfo`
(`pagination`), SQLite/PostgreSQL engines (`db`), each service's Alembic migrations run behind a
lock (`migrations`), reads and writes at the least cost each store allows (`database`),
`_entities` answered a type at a time (`entities`), idempotency keys for creates
(`idempotency`), the caller the router forwards (`caller`), string input every store can keep
(`inputs`), domain events published when their transaction commits (`events`), subscriptions
over graphql-transport-ws, closed with a code on shutdown (`live`), the federation schema with
its parser and validation caches and request limits (`schema`), and the service's ASGI app,
settings, CLI and `migrate` command (`service`), served by one process or `--workers N`
(`workers`). The services import this package, never each
other.
"""

from __future__ import annotations

from subgraph_kit.database import Database
from subgraph_kit.errors import (
    BadUserInput,
    Conflict,
    Forbidden,
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
    "Database",
    "Forbidden",
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
