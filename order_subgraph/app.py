"""The ASGI application: `/graphql` (Strawberry, GraphiQL for browsers) and `/health`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from order_subgraph import repository
from order_subgraph.customers_client import CustomersClient
from order_subgraph.db import create_engine, create_schema
from order_subgraph.schema import Context, make_context, schema
from order_subgraph.seed import DEMO_ORDERS
from order_subgraph.settings import Settings

logger = logging.getLogger("order_subgraph")


class OrderGraphQL(GraphQL[Context, None]):
    def __init__(self, context_factory: Callable[[], Context]) -> None:
        super().__init__(schema)
        self._context_factory = context_factory

    async def get_context(self, request: Any, response: Any) -> Context:
        return self._context_factory()


def create_app(
    settings: Settings, *, customers_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """Build the service; the database is opened, migrated and seeded at start-up.

    `customers_transport` lets a caller route the customers client elsewhere than the network
    (an in-process customers app, say); by default it speaks HTTP to `settings.customers_url`.
    """
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        await create_schema(engine)
        if settings.seed and (inserted := await repository.seed(engine, DEMO_ORDERS)):
            logger.info("seeded %d demo orders", inserted)
        customers = CustomersClient(
            settings.customers_url,
            timeout=settings.customers_timeout,
            transport=customers_transport,
        )
        state.update(engine=engine, customers=customers)
        app.state.engine = engine
        try:
            yield
        finally:
            await customers.aclose()
            await engine.dispose()

    async def health(request: Request) -> Response:
        try:
            async with state["engine"].connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # the database is what this service needs to be healthy
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    graphql = OrderGraphQL(lambda: make_context(state["engine"], state["customers"]))
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
