"""Input every store can keep: strings with U+0000 are refused before any resolver runs.

PostgreSQL's `text` cannot hold the NUL character (the driver fails the statement, which a
client would see as INTERNAL_SERVER_ERROR); SQLite can. So that both stores answer alike, an
operation whose arguments hold a string with NUL, inline or through a variable, is answered
with one BAD_USER_INPUT error naming the argument (`extensions.field`, e.g.
`input.items[0].sku`) and executes nothing.

Amounts of money are exact: `EXACT_DECIMAL` takes a Decimal only as a string ("12.50"); a JSON
number such as 12.5 is refused (BAD_USER_INPUT), as a float may have rounded it already.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import strawberry
from graphql import (
    ArgumentNode,
    DocumentNode,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from subgraph_kit.errors import BadUserInput

NUL = "\x00"


class RefuseNulCharacters(SchemaExtension):
    """Answer BAD_USER_INPUT, without executing, when an argument's string contains U+0000."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        variables = context.variables or {}
        # The document is walked only when NUL can be in it: a literal NUL is the escape
        # `\u0000` in the text (the lexer refuses a raw one), a variable's is in its value.
        maybe = "\\u" in (context.query or "") or may_hold_nul(variables)
        where = _nul_argument(document, variables) if maybe and document else None
        if where is not None:
            error = BadUserInput(
                f"{where} must not contain the NUL character (U+0000)", field=where
            )
            context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def may_hold_nul(variables: Mapping[str, Any]) -> bool:
    """Whether a variable's value may hold NUL: JSON-encoded, NUL can only be the escape
    `\\u0000` (one C call, where walking 100 entity representations in Python is not)."""
    try:
        return b"\\u0000" in orjson.dumps(variables)
    except TypeError:  # not JSON (values given in process): walk them
        return _in_value(variables, "$") is not None


def _nul_argument(document: DocumentNode, variables: Mapping[str, Any]) -> str | None:
    """The path of the first argument value holding NUL (`arg.field[2]`), or None."""
    finder = _ArgumentFinder(variables)
    visit(document, finder)
    return finder.found


class _ArgumentFinder(Visitor):
    def __init__(self, variables: Mapping[str, Any]) -> None:
        super().__init__()
        self.variables = variables
        self.found: str | None = None

    def enter_argument(self, node: ArgumentNode, *_: object) -> object:
        self.found = _in_node(node.value, node.name.value, self.variables)
        return self.BREAK if self.found is not None else self.SKIP


def _in_node(node: ValueNode, path: str, variables: Mapping[str, Any]) -> str | None:
    if isinstance(node, StringValueNode):
        return path if NUL in node.value else None
    if isinstance(node, VariableNode):
        return _in_value(variables.get(node.name.value), path)
    if isinstance(node, ListValueNode):
        for i, item in enumerate(node.values):
            if (found := _in_node(item, f"{path}[{i}]", variables)) is not None:
                return found
    if isinstance(node, ObjectValueNode):
        for field in node.fields:
            if found := _in_node(field.value, f"{path}.{field.name.value}", variables):
                return found
    return None


def _in_value(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _in_value(item, f"{path}[{i}]")) is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            if (found := _in_value(item, f"{path}.{key}")) is not None:
                return found
    return None


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
