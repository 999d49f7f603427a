"""Idempotency keys for creates: a retried create returns what the first one created.

A client that sends a create and loses the answer (a crash, a timeout, a dropped connection)
cannot tell whether the write happened. With an `idempotencyKey` on the input it simply sends
the same input again: the service stores the key with the row it creates, under a UNIQUE index,
and a create whose key is already stored answers the stored row instead of writing a second one,
on any replica and after any restart. The key is the client's; any string of 1 to 255 printable
characters (a UUID is the usual choice).

The row also stores a fingerprint of the cleaned input the key was first used with; the same key
with other input is refused with CONFLICT, since it can only be a client's mistake.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Table, select

from subgraph_kit.database import Database
from subgraph_kit.errors import BadUserInput, Conflict

MAX_KEY_LENGTH = 255
FINGERPRINT_LENGTH = 64  # a SHA-256 digest in hex


class KeyReused(Exception):
    """The idempotency key is stored with a row that was created from other input."""


def clean_idempotency_key(value: str | None, *, field: str) -> str | None:
    """The key as given (never trimmed: it is opaque), or None; BadUserInput when unusable."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise BadUserInput(
            f"idempotencyKey must have 1 to {MAX_KEY_LENGTH} characters, got {len(value)}",
            field=field,
        )
    if not value.isprintable():
        raise BadUserInput(
            "idempotencyKey may contain only printable characters (a UUID is a good key)",
            field=field,
        )
    return value


def fingerprint(*parts: object) -> str:
    """A digest of a create's cleaned input (JSON-serialisable parts, compared in order)."""
    canonical = json.dumps(parts, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_reused(what: str, *, field: str) -> Conflict:
    """The CONFLICT answered when a key comes back with other input than it was first used with."""
    return Conflict(
        f"idempotencyKey was already used for another {what} with different input; send the "
        f"first input again to get that {what} back, or use a new key for a new {what}",
        field=field,
    )


async def stored_row(database: Database, table: Table, key: str | None, fingerprint: str) -> Any:
    """The row of `table` created earlier under `key`; None when there is none (or no key).
    Raises KeyReused when it was created from other input (another fingerprint)."""
    if key is None:
        return None
    row = await database.first(select(table).where(table.c.idempotency_key == key))
    if row is None:
        return None
    if row.idempotency_fingerprint != fingerprint:
        raise KeyReused(key)
    return row
