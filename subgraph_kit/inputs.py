"""Input every store can keep: strings with U+0000 are refused before any resolver runs.

PostgreSQL's `text` cannot hold the NUL character (the driver fails the statement, which a
client would see as INTERNAL_SERVER_ERROR); SQLite can. So that both stores answer alike, an
operation whose string literals or variable values contain NUL is answered with one
BAD_USER_INPUT error and executes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

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
