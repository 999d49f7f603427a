"""The orders subgraph: a Strawberry Federation 2 service that owns order data.

It defines the `Order` entity (`@key(fields: "id")`) whose `customer` is a reference the router
resolves from the customers service, and adds `orders` to the `Customer` entity. Before writing
an order it asks the customers service, over HTTP, whether the customer exists. An order moves
through the statuses of `lifecycle`; each order placed and each move is a domain event, which
the subscriptions `orderCreated` and `orderStatusChanged` deliver over WebSocket. Run it with
`python -m order_subgraph`.
"""

from __future__ import annotations

from order_subgraph.app import create_app
from order_subgraph.schema import schema
from order_subgraph.settings import Settings

__all__ = ["Settings", "create_app", "schema"]
