"""Errors the router raises or answers with.

    RouterError                     base of everything below
     ├── SupergraphError            the supergraph SDL cannot be served (syntax, unknown
     │                              join version, unsupported @link feature for EXECUTION/SECURITY)
     ├── PlanningError              an operation cannot be planned over this supergraph
     └── RequestError               the client's request is wrong; carries an Apollo code
          (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT, BAD_REQUEST, ...)

Errors that reach a client are GraphQL errors (`message`, `path`, `extensions.code`); subgraph
failures become errors with `extensions.serviceName` next to whatever data could be fetched.
"""

from __future__ import annotations

from typing import Any


class RouterError(Exception):
    """Base of the router's own errors."""


class SupergraphError(RouterError):
    """The supergraph cannot be loaded; the message says which element and why."""


class PlanningError(RouterError):
    """No query plan can answer this operation over this supergraph."""


class RequestError(RouterError):
    """A request the router refuses before any subgraph is asked."""

    def __init__(self, message: str, code: str, *, status: int = 400, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.extensions = extensions

    def to_graphql(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if locations := self.extensions.get("locations"):
            error["locations"] = locations
        error["extensions"] = {
            "code": self.code,
            **{k: v for k, v in self.extensions.items() if k != "locations"},
        }
        return error
