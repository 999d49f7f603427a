"""The raw document: its length and tokens within budget, then parsed."""

from __future__ import annotations

from graphql import DocumentNode, GraphQLError, parse

from router.errors import RequestError
from router.request.limits import Limits

_TOO_MANY_TOKENS = "Document contains more than"


def parse_document(query: str, limits: Limits, *, locations: bool = True) -> DocumentNode:
    """The document, or a RequestError: MAX_SOURCE_LENGTH_LIMIT before any lexing,
    MAX_TOKENS_LIMIT as soon as the lexer passes the limit, GRAPHQL_PARSE_FAILED (located in
    any case). Without `locations` the nodes do not hold the token list and the text."""
    if len(query) > limits.max_source_length:
        raise RequestError(
            f"the document is longer than {limits.max_source_length} characters",
            "MAX_SOURCE_LENGTH_LIMIT",
        )
    try:
        return parse(query, no_location=not locations, max_lexical_tokens=limits.max_tokens)
    except GraphQLError as exc:
        if _TOO_MANY_TOKENS in exc.message:
            raise RequestError(
                f"the operation has more than {limits.max_tokens} tokens", "MAX_TOKENS_LIMIT"
            ) from None
        where = [{"line": loc.line, "column": loc.column} for loc in exc.locations or ()]
        raise RequestError(exc.message, "GRAPHQL_PARSE_FAILED", locations=where or None) from None
