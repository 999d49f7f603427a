"""The orders service as an ASGI app: the database is opened, migrated and seeded at start, and
the client for the customers service is opened."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from order_subgraph import repository
from order_subgraph.customers_client import CustomersClient
from order_subgraph.migrations import MIGRATIONS
from order_subgraph.schema import make_context, schema
from order_subgraph.seed import DEMO_ORDERS
from order_subgraph.settings import Settings
from subgraph_kit.database import Database
from subgraph_kit.db import create_engine
from subgraph_kit.events import event_bus
from subgraph_kit.migrations import prepare
from subgraph_kit.service import service_app

logger = logging.getLogger("order_subgraph")

EVENTS_CHANNEL = "order_events"
"""The PostgreSQL channel the orders service's domain events travel on (subgraph_kit.events)."""


def create_app(
    settings: Settings, *, customers_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """`/graphql` (over WebSocket too, for subscriptions) and `/health`; once started,
    `app.state.database` is the service's Database (its `events`, the domain events' bus the
    subscriptions follow: NOTIFY on `EVENTS_CHANNEL` for PostgreSQL) and `app.state.engine` its
    asyncio engine.

    `customers_transport` lets a caller route the customers client elsewhere than the network
    (an in-process customers app, say); by default it speaks HTTP to `settings.customers_url`.
    """
    state: dict[str, Any] = {}
    events = event_bus(settings.database_url, EVENTS_CHANNEL)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        database = Database(engine, events)

        async def seed() -> None:
            if inserted := await repository.seed(database, DEMO_ORDERS):
                logger.info("seeded %d demo orders", inserted)

        await prepare(
            engine, MIGRATIONS, migrate=settings.migrate, seed=seed if settings.seed else None
        )
        customers = CustomersClient(
            settings.customers_url,
            timeout=settings.customers_timeout,
            transport=customers_transport,
        )
        state.update(database=database, customers=customers)
        app.state.database = database
        app.state.engine = engine
        try:
            await events.start()
            yield
        finally:
            await events.close()
            await customers.aclose()
            await database.dispose()

    return service_app(
        schema,
        context=lambda caller: make_context(state["database"], state["customers"], caller),
        engine=lambda: state["database"].engine,
        lifespan=lifespan,
        subscriptions=lambda: events.subscriptions,
    )
