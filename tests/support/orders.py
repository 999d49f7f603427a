"""The orders service for tests: started in process on a database, a createOrder document and
input, and the rows it stored, counted straight from its tables."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select

from order_subgraph import Settings, create_app
from order_subgraph.db import order_items, orders
from tests.support.auth import STAFF_HEADERS
from tests.support.services import GraphQLClient, in_process

CREATE = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) {
    id status customer { id }
    total { amount currency }
    items { sku quantity unitPrice { amount } subtotal { amount } }
  }
}
"""


@contextlib.asynccontextmanager
async def orders_service(
    database_url: str,
    customers_url: str,
    wait: float = 5.0,
    headers: dict[str, str] = STAFF_HEADERS,
) -> AsyncIterator[GraphQLClient]:
    """The service, its client sending `headers` (by default what the router forwards for a
    staff token)."""
    settings = Settings(
        database_url=database_url, customers_url=customers_url, customers_timeout=wait
    )
    app = create_app(settings)
    async with in_process(app) as client:
        client.app = app  # type: ignore[attr-defined]
        client.http.headers.update(headers)
        yield client


async def stored_rows(client: GraphQLClient) -> tuple[int, int]:
    """How many orders and order items the database holds, read straight from the tables."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        n_orders = (await conn.execute(select(func.count()).select_from(orders))).scalar_one()
        n_items = (await conn.execute(select(func.count()).select_from(order_items))).scalar_one()
    return n_orders, n_items


def order_input(customer_id: str = "1", **overrides: Any) -> dict[str, Any]:
    return {
        "customerId": customer_id,
        "items": [
            {"sku": "PEN", "quantity": 3, "unitPrice": "0.10"},
            {"sku": "INK", "quantity": 1, "unitPrice": "0.20"},
        ],
        **overrides,
    }
