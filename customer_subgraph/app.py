"""The ASGI application: `/graphql` (Strawberry, GraphiQL for browsers) and `/health`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from customer_subgraph import repository
from customer_subgraph.db import create_engine, create_schema
from customer_subgraph.schema import Context, make_context, schema
from customer_subgraph.seed import DEMO_CUSTOMERS
from customer_subgraph.settings import Settings

logger = logging.getLogger("customer_subgraph")


class CustomerGraphQL(GraphQL[Context, None]):
    def __init__(self, engine_of: Any) -> None:
        super().__init__(schema)
        self._engine_of = engine_of

    async def get_context(self, request: Any, response: Any) -> Context:
        return make_context(self._engine_of())


def create_app(settings: Settings) -> Starlette:
    """Build the service; the database is opened, migrated and seeded at start-up."""
    state: dict[str, AsyncEngine] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        await create_schema(engine)
        if settings.seed and (inserted := await repository.seed(engine, DEMO_CUSTOMERS)):
            logger.info("seeded %d demo customers", inserted)
        state["engine"] = app.state.engine = engine
        try:
            yield
        finally:
            await engine.dispose()

    async def health(request: Request) -> Response:
        try:
            async with state["engine"].connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # the database is what this service needs to be healthy
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    graphql = CustomerGraphQL(lambda: state["engine"])
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
