"""`python -m order_subgraph`: serve the orders subgraph, or print its SDL."""

from __future__ import annotations

import sys

import uvicorn

from order_subgraph.app import create_app
from order_subgraph.schema import schema
from order_subgraph.settings import parse_args


def main(argv: list[str] | None = None) -> None:
    settings, print_schema = parse_args(argv)
    if print_schema:
        sys.stdout.write(schema.as_str() + "\n")
        return
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
