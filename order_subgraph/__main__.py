"""`python -m order_subgraph`: serve the subgraph, print its SDL with --print-schema, or
`migrate` its database."""

from __future__ import annotations

from order_subgraph.app import create_app
from order_subgraph.migrations import MIGRATIONS
from order_subgraph.schema import schema
from order_subgraph.settings import parse_args
from subgraph_kit.service import service_main

main = service_main(parse_args, create_app, schema, MIGRATIONS)

if __name__ == "__main__":
    main(None)
