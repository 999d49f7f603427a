"""The customers service's settings: flags over `CUSTOMERS_*` environment variables."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from subgraph_kit.service import ServiceSettings, common_settings, service_parser


@dataclass(frozen=True)
class Settings(ServiceSettings):
    """How and where the customers service runs."""

    port: int = 4001
    database_url: str = "sqlite:///.data/customers.sqlite3"


def build_parser(environ: Mapping[str, str] = os.environ) -> argparse.ArgumentParser:
    """The service's flags, each defaulting to its `CUSTOMERS_*` environment variable."""
    return service_parser("customer_subgraph", "CUSTOMERS", Settings(), environ)


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[Settings, bool]:
    """The settings, and whether the caller asked only to print the schema."""
    args = build_parser(environ).parse_args(argv)
    return Settings(**common_settings(args)), args.print_schema
