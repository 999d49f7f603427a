"""`python -m order_subgraph`: serve the subgraph, or print its SDL with --print-schema."""

from __future__ import annotations

from order_subgraph.app import create_app
from order_subgraph.schema import schema
from order_subgraph.settings import parse_args
from subgraph_kit.service import service_main

main = service_main(parse_args, create_app, schema)

if __name__ == "__main__":
    main(None)
