"""The customers service as an ASGI app: the database is opened, migrated and seeded at start."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from customer_subgraph import repository
from customer_subgraph.migrations import MIGRATIONS
from customer_subgraph.schema import make_context, schema
from customer_subgraph.seed import DEMO_CUSTOMERS
from customer_subgraph.settings import Settings
from subgraph_kit.database import Database
from subgraph_kit.db import create_engine
from subgraph_kit.migrations import prepare
from subgraph_kit.service import service_app

logger = logging.getLogger("customer_subgraph")


def create_app(settings: Settings) -> Starlette:
    """`/graphql` and `/health`; once started, `app.state.database` is the service's Database
    and `app.state.engine` its asyncio engine."""
    state: dict[str, Database] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        database = Database(engine)

        async def seed() -> None:
            if inserted := await repository.seed(database, DEMO_CUSTOMERS):
                logger.info("seeded %d demo customers", inserted)

        await prepare(
            engine, MIGRATIONS, migrate=settings.migrate, seed=seed if settings.seed else None
        )
        state["database"] = app.state.database = database
        app.state.engine = engine
        try:
            yield
        finally:
            await database.dispose()

    return service_app(
        schema,
        context=lambda caller: make_context(state["database"], caller),
        engine=lambda: state["database"].engine,
        lifespan=lifespan,
    )
