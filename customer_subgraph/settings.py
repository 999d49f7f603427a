"""The customers service's settings: flags over `CUSTOMERS_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from subgraph_kit.service import ServiceSettings, common_settings, service_parser


@dataclass(frozen=True)
class Settings(ServiceSettings):
    """How and where the customers service runs."""

    port: int = 4001
    database_url: str = "sqlite:///.data/customers.sqlite3"


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[Settings, bool]:
    """The settings, and whether the caller asked only to print the schema."""
    args = service_parser("customer_subgraph", "CUSTOMERS", Settings(), environ).parse_args(argv)
    return Settings(**common_settings(args)), args.print_schema
