"""Reads of a SQLite file through the standard `sqlite3` module, without SQLAlchemy's execution
machinery: the statement compiled once, run on one connection, its rows typed as SQLAlchemy
would type them.

A one-row SELECT costs about 9 µs through `sqlite3` and about 100 µs through SQLAlchemy Core
on a synchronous engine (pool checkout, execution context, result metadata, the rollback on
return); for a one-row lookup that is the largest part of what the service does. So a statement
a service reads with again and again (the repositories' module-level `_BY_IDS`, built once with
`bindparam`s) is compiled by SQLAlchemy once, for SQLite, and from its second use on:

- its SQL is SQLAlchemy's, an expanding `IN` list spelled with as many `?` as it has values;
- its parameters are the caller's, in SQLAlchemy's order, with the statement's own literal values
  (a `.limit(1)`) and each type's bind processor;
- each row is a named tuple (`row.id`, `row[0]`) whose values went through each column type's
  result processor (SQLite's `DateTime` text back to a `datetime`).

The connection is in autocommit: each SELECT sees the latest commit, of this process or any
other (WAL), and never holds a transaction open. It is used by one caller at a time (reads run
on the event loop, one after the other). Statements built per call, and what this module does not
spell (an empty `IN` list, tuples, literal-execute parameters), return None from `rows`: the
caller runs them through SQLAlchemy as before. `listeners` hear each SQL text sent, as
SQLAlchemy's `before_cursor_execute` would.
"""

from __future__ import annotations

import re
import sqlite3
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["SqliteReader"]

_EXPANDED = re.compile(r"__\[POSTCOMPILE_(\w+)\]")


@dataclass(slots=True)
class _Plan:
    """A compiled SELECT: its SQL in pieces around the expanding lists, how to fill it."""

    pieces: list[str]  # SQL text between expanding lists (len = lists + 1)
    lists: list[str]  # the expanding parameters' names, in the order they appear
    names: list[tuple[str, bool]]  # every parameter in order: (name, expanding)
    defaults: dict[str, Any]  # values the statement carries itself
    binds: dict[str, Any]  # bind processors by name (callables: tuples are not planned)
    row: Callable[..., Any]  # the named tuple of the result's columns
    results: Sequence[tuple[int, Callable[[Any], Any]]]  # result processors by column
    texts: dict[tuple[int, ...], str] = field(default_factory=dict)  # SQL by list lengths

    def text(self, lengths: tuple[int, ...]) -> str:
        found = self.texts.get(lengths)
        if found is None:
            parts = [self.pieces[0]]
            for length, piece in zip(lengths, self.pieces[1:], strict=True):
                parts += [", ".join("?" * length), piece]
            found = self.texts[lengths] = "".join(parts)
        return found


class SqliteReader:
    """SELECTs on the SQLite file at `path`, for statements compiled by `dialect` (see the
    module's docstring); `pragmas` are run once on its connection."""

    def __init__(self, path: str, dialect: Dialect, pragmas: Sequence[str] = ()) -> None:
        self._path = path
        self._dialect = dialect
        self._pragmas = pragmas
        self._conn: sqlite3.Connection | None = None
        self._seen: dict[int, weakref.ref[Executable]] = {}
        self._plans: dict[int, tuple[weakref.ref[Executable], _Plan | None]] = {}
        self.listeners: list[Callable[[str], None]] = []
        """Called with each SQL text before it is sent."""

    def rows(self, statement: Executable, params: Mapping[str, Any] | None) -> list[Any] | None:
        """The rows of `statement` with `params`, or None when SQLAlchemy must run it."""
        plan = self._plan(statement)
        if plan is None:
            return None
        given = params or {}
        lengths = []
        values: list[Any] = []
        for name, expanding in plan.names:
            value = given[name] if name in given else plan.defaults[name]
            bind = plan.binds.get(name)
            if expanding:
                if not value:
                    return None  # SQLAlchemy spells an empty IN its own way
                lengths.append(len(value))
                values += value if bind is None else [bind(v) for v in value]
            else:
                values.append(value if bind is None else bind(value))
        sql = plan.text(tuple(lengths))
        for listener in self.listeners:
            listener(sql)
        found = self._connection().execute(sql, values).fetchall()
        row, results = plan.row, plan.results
        if not results:
            return [row(*values) for values in found]
        typed = []
        for values in found:
            items = list(values)
            for index, process in results:
                items[index] = process(items[index])
            typed.append(row(*items))
        return typed

    def close(self) -> None:
        """Close the connection (a later read opens another)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # One caller at a time (the event loop), though maybe another thread than the one
            # that opened it (tests run several loops).
            conn = sqlite3.connect(
                self._path, timeout=30, isolation_level=None, check_same_thread=False
            )
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    def _plan(self, statement: Executable) -> _Plan | None:
        key = id(statement)
        known = self._plans.get(key)
        if known is not None and known[0]() is statement:
            return known[1]
        seen = self._seen.get(key)
        if seen is None or seen() is not statement:  # first sight: maybe built for one call
            self._seen[key] = weakref.ref(statement, _forgetting(self._seen, key))
            return None
        del self._seen[key]
        plan = _compile(statement, self._dialect)
        self._plans[key] = (weakref.ref(statement, _forgetting(self._plans, key)), plan)
        return plan


def _forgetting(table: dict[int, Any], key: int) -> Callable[[object], None]:
    """A weakref callback that drops `key` from `table` once its statement is gone."""

    def forget(_: object) -> None:
        table.pop(key, None)

    return forget


def _compile(statement: Executable, dialect: Dialect) -> _Plan | None:
    """The plan of a SELECT this module can run, else None."""
    if not getattr(statement, "is_select", False):
        return None
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    if (
        not isinstance(compiled, SQLCompiler)
        or compiled.literal_execute_params
        or compiled.positiontup is None
    ):
        return None
    binds = {bind.key: bind for bind in compiled.binds.values()}
    names: list[tuple[str, bool]] = []
    defaults: dict[str, Any] = {}
    for name in compiled.positiontup:
        bind = compiled.binds.get(name)
        bind = binds.get(name) if bind is None else bind
        if bind is None or getattr(bind.type, "_is_tuple_type", False) or bind.callable:
            return None
        names.append((name, bind.expanding))
        if not bind.required:
            defaults[name] = bind.value
    pieces = _EXPANDED.split(compiled.string)
    lists = pieces[1::2]
    if [name for name, expanding in names if expanding] != lists:
        return None  # an expanding list written twice, or out of order: SQLAlchemy's to do
    keys = [column.keyname for column in compiled._result_columns]
    try:
        row = namedtuple("Row", keys)  # type: ignore[misc]
    except ValueError:  # a key that is no identifier, or one twice
        return None
    results = [
        (index, process)
        for index, column in enumerate(compiled._result_columns)
        if (process := column.type._cached_result_processor(dialect, None)) is not None
    ]
    return _Plan(
        pieces=pieces[0::2],
        lists=lists,
        names=names,
        defaults=defaults,
        binds=dict(compiled._bind_processors),
        row=row,
        results=results,
    )
