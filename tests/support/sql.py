"""Counting the SQL statements a service sends, to prove batching."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

from subgraph_kit.database import Database


@contextlib.contextmanager
def recorded_selects(database: Database) -> Iterator[list[str]]:
    """Every SELECT statement the database executes inside the block, in order."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    for engine in database.sync_engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in database.sync_engines:
            event.remove(engine, "before_cursor_execute", record)
