"""The orders service's settings: flags over `ORDERS_*` environment variables."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from subgraph_kit.service import ServiceSettings, common_settings, service_parser


@dataclass(frozen=True)
class Settings(ServiceSettings):
    """How and where the orders service runs, and how it reaches the customers service."""

    port: int = 4002
    database_url: str = "sqlite:///.data/orders.sqlite3"
    customers_url: str = "http://127.0.0.1:4001/graphql"
    customers_timeout: float = 5.0


def build_parser(environ: Mapping[str, str] = os.environ) -> argparse.ArgumentParser:
    """The service's flags, each defaulting to its `ORDERS_*` environment variable."""
    defaults = Settings()
    parser = service_parser("order_subgraph", "ORDERS", defaults, environ)
    parser.add_argument(
        "--customers-url",
        default=environ.get("ORDERS_CUSTOMERS_URL", defaults.customers_url),
        help="GraphQL endpoint of the customers service, asked before an order is created "
        f"(ORDERS_CUSTOMERS_URL; default: {defaults.customers_url})",
    )
    parser.add_argument(
        "--customers-timeout",
        type=float,
        default=float(environ.get("ORDERS_CUSTOMERS_TIMEOUT", defaults.customers_timeout)),
        help="seconds to wait for the customers service "
        f"(ORDERS_CUSTOMERS_TIMEOUT; default: {defaults.customers_timeout:g})",
    )
    return parser


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[Settings, bool]:
    """The settings, and whether the caller asked only to print the schema."""
    args = build_parser(environ).parse_args(argv)
    settings = Settings(
        **common_settings(args),
        customers_url=args.customers_url,
        customers_timeout=args.customers_timeout,
    )
    return settings, args.print_schema
