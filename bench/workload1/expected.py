"""The answer every gateway must give to the benchmark's query, computed without any gateway.

The supergraph's API schema is executed directly with graphql-core, with resolvers that state
what the four upstream subgraphs give for each field once a gateway has joined them:

- `users` and `User.name`/`username`: the accounts records;
- `User.reviews`: the first two reviews, for every user (the reviews subgraph's `User` entity);
- `Review.author`: always user 1, "urigo" (username provided by the reviews subgraph, name from
  accounts);
- `Product.name`/`price`/`weight`: the catalogue; `inStock`: the inventory;
  `shippingEstimate`: null (upstream's inventory ignores the price and weight it is sent);
- `Product.reviews`: the reviews of that upc; `topProducts`: the first five products.

    .venv/bin/python -m bench.workload1.expected   # prints the expected JSON and its size
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphql import build_schema, graphql_sync

from bench.workload1.data import IN_STOCK, PRODUCTS, REVIEWS, USERS

HERE = Path(__file__).resolve().parent
QUERY = (HERE / "query.graphql").read_text()

API = """
type Query {
  me: User
  user(id: ID!): User
  users: [User]
  topProducts(first: Int = 5): [Product]
}
type User { id: ID! name: String username: String birthday: Int reviews: [Review] }
type Review { id: ID! body: String product: Product author: User }
type Product {
  upc: String! weight: Int price: Int inStock: Boolean shippingEstimate: Int name: String
  reviews: [Review]
}
"""

Obj = dict[str, Any]


def _user(record: Obj) -> Obj:
    return {**record, "reviews": lambda info: [_review(r) for r in REVIEWS[:2]]}


def _review(record: Obj) -> Obj:
    return {
        "id": record["id"],
        "body": record["body"],
        "product": lambda info: _product(
            next(p for p in PRODUCTS if p["upc"] == record["product"])
        ),
        "author": lambda info: _user(USERS[0]),
    }


def _product(record: Obj) -> Obj:
    return {
        **record,
        "inStock": IN_STOCK[record["upc"]],
        "shippingEstimate": None,
        "reviews": lambda info: [_review(r) for r in REVIEWS if r["product"] == record["upc"]],
    }


def expected_response(query: str = QUERY) -> Obj:
    """`{"data": ...}` for the query, as a correct gateway answers it over this workload."""

    def top_products(info: Any, first: int | None = 5) -> list[Obj]:
        return [_product(p) for p in PRODUCTS[: first or 0]]

    root = {
        "users": lambda info: [_user(u) for u in USERS],
        "me": lambda info: _user(USERS[0]),
        "topProducts": top_products,
    }
    result = graphql_sync(build_schema(API), query, root_value=root)
    if result.errors:
        raise RuntimeError(f"the expected answer failed: {result.errors}")
    return {"data": result.data}


if __name__ == "__main__":
    text = json.dumps(expected_response(), separators=(",", ":"))
    print(text)
    print(f"{len(text)} bytes", flush=True)
