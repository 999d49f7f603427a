"""Counting the SQL statements a service sends, to prove batching."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from subgraph_kit.database import Database


@contextlib.contextmanager
def recorded_selects(database: Database) -> Iterator[list[str]]:
    """Every SELECT statement the database executes inside the block, in order."""
    statements: list[str] = []

    def record(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    stop = database.listen(record)
    try:
        yield statements
    finally:
        stop()
