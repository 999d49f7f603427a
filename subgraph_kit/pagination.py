"""Cursor pagination: opaque cursors over a primary key, page-size checks and `PageInfo`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import strawberry
from strawberry.federation.schema_directives import ListSize

from subgraph_kit.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20
# assumed_size left out (its default is None) so the SDL does not print `assumedSize: null`
PAGE_SIZE = ListSize(slicing_arguments=["first"], sized_fields=["edges"])  # type: ignore[call-arg]
"""`@listSize` of a connection field: it answers `first` edges (the router's demand control
multiplies the cost of `edges` by it)."""
MAX_PAGE_SIZE = 100


@strawberry.federation.type(shareable=True, description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, cursors: Sequence[str], *, has_next_page: bool, after: str | None) -> PageInfo:
        return cls(
            has_next_page=has_next_page,
            has_previous_page=after is not None,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


class Cursors:
    """Encodes keys of one kind (`customer:12`) as opaque cursors; checks the cursors it gets."""

    def __init__(self, kind: str) -> None:
        self._prefix = f"{kind}:"

    def encode(self, key: int) -> str:
        return base64.urlsafe_b64encode(f"{self._prefix}{key}".encode()).decode()

    def decode(self, cursor: str | None, *, field: str = "after") -> int | None:
        """The key a cursor points at (None for no cursor); a foreign cursor is BAD_USER_INPUT."""
        if cursor is None:
            return None
        try:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
            if text.startswith(self._prefix):
                return int(text[len(self._prefix) :])
        except (binascii.Error, UnicodeError, ValueError):
            pass
        raise BadUserInput(f"`{field}` is not a valid cursor: {cursor!r}", field=field)


def check_page_size(first: int, *, field: str = "first") -> int:
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(
            f"`{field}` must be between 0 and {MAX_PAGE_SIZE}, got {first}", field=field
        )
    return first


def parse_key(value: object) -> int | None:
    """An integer primary key from an ID, or None when `value` cannot be one (nothing matches)."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None
