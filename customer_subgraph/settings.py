"""Service settings, read from command-line flags with environment variables as defaults."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4001
DEFAULT_DATABASE_URL = "sqlite:///.data/customers.sqlite3"


@dataclass(frozen=True, slots=True)
class Settings:
    """How and where the customers service runs."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str = DEFAULT_DATABASE_URL
    seed: bool = True
    log_level: str = "info"


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[Settings, bool]:
    """Read settings from flags (`--port`) over env vars (`CUSTOMERS_PORT`) over defaults.

    Returns the settings and whether the caller asked only to print the schema.
    """
    parser = argparse.ArgumentParser(
        prog="python -m customer_subgraph",
        description="Serve the customers subgraph (Strawberry, Federation 2) with uvicorn.",
    )
    parser.add_argument("--host", default=environ.get("CUSTOMERS_HOST", DEFAULT_HOST))
    parser.add_argument(
        "--port", type=int, default=int(environ.get("CUSTOMERS_PORT", DEFAULT_PORT))
    )
    parser.add_argument(
        "--database-url",
        default=environ.get("CUSTOMERS_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="sqlite:///path/to/file.sqlite3 (default) or postgresql://user:pass@host/db",
    )
    parser.add_argument(
        "--no-seed",
        dest="seed",
        action="store_false",
        default=environ.get("CUSTOMERS_SEED", "1") not in ("0", "false", "no"),
        help="do not insert the demo customers into an empty database",
    )
    parser.add_argument("--log-level", default=environ.get("CUSTOMERS_LOG_LEVEL", "info"))
    parser.add_argument(
        "--print-schema", action="store_true", help="print the subgraph SDL and exit"
    )
    args = parser.parse_args(argv)
    settings = Settings(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        seed=args.seed,
        log_level=args.log_level,
    )
    return settings, args.print_schema
