"""Cursor pagination: opaque cursors over the primary key, and checks on `first`."""

from __future__ import annotations

import base64
import binascii

from customer_subgraph.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_PREFIX = "customer:"


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str, *, field: str = "after") -> int:
    """The key a cursor points at; a cursor this service did not issue is BAD_USER_INPUT."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_PREFIX):
            return int(text[len(_PREFIX) :])
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise BadUserInput(f"`{field}` is not a valid cursor: {cursor!r}", field=field)


def check_page_size(first: int, *, field: str = "first") -> int:
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(
            f"`{field}` must be between 0 and {MAX_PAGE_SIZE}, got {first}", field=field
        )
    return first
