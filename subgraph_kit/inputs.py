"""Input every store can keep: strings with U+0000 are refused before any resolver runs.

PostgreSQL's `text` cannot hold the NUL character (the driver fails the statement, which a
client would see as INTERNAL_SERVER_ERROR); SQLite can. So that both stores answer alike, an
operation whose string literals or variable values contain NUL is answered with one
BAD_USER_INPUT error and executes nothing.

Amounts of money are exact: `ExactDecimal` takes a Decimal only as a string ("12.50"); a JSON
number such as 12.5 is refused (BAD_USER_INPUT), as a float may have rounded it already.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

import strawberry
from graphql import ExecutionResult, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from subgraph_kit.errors import BadUserInput

NUL = "\x00"


class RefuseNulCharacters(SchemaExtension):
    """Answer BAD_USER_INPUT, without executing, when an input string contains U+0000."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if _has_nul(context.variables) or (document is not None and _literal_has_nul(document)):
            error = BadUserInput("string input must not contain the NUL character (U+0000)")
            context.result = ExecutionResult(data=None, errors=[error])
        yield


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class _NulLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: object) -> object:
        if NUL in node.value:
            self.found = True
            return self.BREAK
        return None


def _literal_has_nul(document: object) -> bool:
    finder = _NulLiteral()
    visit(document, finder)  # type: ignore[arg-type]
    return finder.found


def _exact_decimal(value: object) -> Decimal:
    """A Decimal from a string only: a JSON number may already have been rounded by a float."""
    if not isinstance(value, str):
        raise ValueError(f'a Decimal is given as a string, such as "12.50", not {value!r}')
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None


EXACT_DECIMAL = strawberry.scalar(
    name="Decimal",
    description="Decimal (fixed-point)",
    serialize=str,
    parse_value=_exact_decimal,
)
"""Strawberry's Decimal, but input only as strings: `12.5` as a number is refused."""
