"""Errors a client can see, each with Apollo's `extensions.code`.

    GraphQLError
     └── UserError                 a problem with the request; the message says what to change
          ├── BadUserInput         BAD_USER_INPUT: an argument is invalid (extensions.field)
          ├── NotFound             NOT_FOUND: the object named by an id does not exist
          ├── Conflict             CONFLICT: the request clashes with stored data
          ├── Forbidden            FORBIDDEN: the caller may not read or change this object
          └── ServiceUnavailable   SERVICE_UNAVAILABLE: a service this one depends on failed

`ErrorCodes` gives the errors Strawberry raises without a code one too: GRAPHQL_PARSE_FAILED,
GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT for variables that do not coerce, and
INTERNAL_SERVER_ERROR, with the message hidden, for an unexpected exception in a resolver.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

logger = logging.getLogger(__name__)


class UserError(GraphQLError):
    """Base of the errors resolvers raise on purpose."""

    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        extensions: dict[str, object] = {"code": self.code}
        if field is not None:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


class BadUserInput(UserError):
    code = "BAD_USER_INPUT"


class NotFound(UserError):
    code = "NOT_FOUND"


class Conflict(UserError):
    code = "CONFLICT"


class Forbidden(UserError):
    code = "FORBIDDEN"


class ServiceUnavailable(UserError):
    code = "SERVICE_UNAVAILABLE"


def error_code(error: GraphQLError) -> tuple[str, str]:
    """The code for an error that has none yet, and the message to show with it."""
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED", error.message
    if error.path is None:
        # Before execution: validation rules, limits, or variables that failed to coerce
        # (graphql-core words all of the latter "Variable '$name' ...").
        if error.message.startswith("Variable '$"):
            return "BAD_USER_INPUT", error.message
        return "GRAPHQL_VALIDATION_FAILED", error.message
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        return "INTERNAL_SERVER_ERROR", "Internal server error"
    return "INTERNAL_SERVER_ERROR", error.message


class ErrorCodes(SchemaExtension):
    """Give every error in a response an `extensions.code`, and hide internal messages."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as escaped:
            # With ParserCache a syntax error escapes the parsing hook, and is answered as is.
            give_code(escaped)
            raise
        context = self.execution_context
        errors = context.result.errors if context.result is not None else None
        for error in errors or context.pre_execution_errors or ():
            give_code(error)


def give_code(error: GraphQLError) -> None:
    """Give `error` its `extensions.code` (see `error_code`) unless it has one; an unexpected
    error's message is hidden and its traceback logged."""
    if error.extensions and "code" in error.extensions:
        return
    code, message = error_code(error)
    if message != error.message:
        logger.error("unexpected error at %s", error.path, exc_info=error.original_error)
        error.message = message
    error.extensions = {**(error.extensions or {}), "code": code}


class QuietSchema(strawberry.federation.Schema):
    """A federation schema that leaves error logging to ErrorCodes: only unexpected errors are
    logged (with their traceback); a client's mistakes are answered, not logged."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None
