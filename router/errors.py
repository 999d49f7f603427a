"""Errors the router raises or answers with: one tree, every public exception under RouterError.

    RouterError                      base of everything below
     ├── ConfigError                 router.yaml is wrong; the message names the key
     │                               (router/config/)
     ├── SupergraphConfigError       supergraph.yaml is wrong (router/compose/config.py)
     ├── SubgraphError               a subgraph schema cannot be read (router/compose/subgraph.py)
     ├── CompositionFailed           the subgraphs do not compose (router/compose/composition.py)
     ├── SupergraphError             the supergraph SDL cannot be served (syntax, unknown
     │                               join version, unsupported @link feature for EXECUTION/SECURITY)
     ├── PlanningError               an operation cannot be planned over this supergraph
     │    └── PlanningBudgetExceeded     beyond the planner's steps (router/plan/graph/walk.py)
     ├── SubgraphFetchError          a subgraph could not answer (router/execute/transport.py)
 ├── UpstreamFailed              a subgraph's subscription connection failed or was lost:
 │                               SUBSCRIPTION_UPSTREAM_FAILED (router/execute/subscriptions.py)
 ├── UpstreamRefused             a subgraph answered a subscription with an `error` message
 ├── FellBehind                  a subscriber left its queue full: dropped with
 │                               SUBSCRIPTION_QUEUE_FULL (router/execute/fanout.py)
     ├── HttpClientError             the subgraph client's connection failed
     │    └── ResponseTooLarge           (router/execute/http_client.py)
     ├── LifespanError               an in-process subgraph failed to start or stop
     │                               (router/execute/inprocess.py)
     ├── JwksError                   a JWKS cannot be read (router/authentication/jwks.py)
     ├── GeneratedCodeError          a name that is not a GraphQL name, refused before it is
     │                               written into generated source (router/codegen.py)
     └── RequestError                the client's request is refused: `code` (extensions.code)
          │                          and the HTTP `status` it is answered with
          ├── RequestErrors          several errors refuse it at once
          │    └── ValidationFailed      GraphQL validation (router/prepare.py)
          ├── AuthenticationError    a bad token: 401 UNAUTHENTICATED (router/authentication/)
          ├── CostTooExpensive       demand control (router/request/cost.py)
          └── CostQueryParseFailure

A refused request is answered with its error's `status`, whatever the HTTP method: 400 for a
request that cannot run (parse, validation, limits, planning, demand control, as Apollo Router
answers), 401/403/405/413/415 for what HTTP says, 503 for load shedding, and 200 where the error
is a GraphQL result a client acts on (PERSISTED_QUERY_NOT_FOUND, BAD_USER_INPUT); over
`application/graphql-response+json` a response without `data` is never 200 (GraphQL over HTTP),
so those become 400 there. Errors that reach a client are GraphQL errors (`message`, `path`,
`extensions.code`); subgraph failures become errors with `extensions.serviceName` next to
whatever data could be fetched.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PlanningError",
    "RequestError",
    "RequestErrors",
    "RouterError",
    "SupergraphError",
]


class RouterError(Exception):
    """Base of the router's own errors."""


class SupergraphError(RouterError):
    """The supergraph cannot be loaded; the message says which element and why."""


class PlanningError(RouterError):
    """No query plan can answer this operation over this supergraph."""


class RequestError(RouterError):
    """A request the router refuses before any subgraph is asked, with its code and status."""

    def __init__(self, message: str, code: str, *, status: int = 400, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        """The HTTP status a served router answers this refusal with (GET and POST alike)."""
        self.extensions = extensions

    def to_graphql(self) -> dict[str, Any]:
        """The first (for most, the only) GraphQL error of the refusal."""
        error: dict[str, Any] = {"message": self.message}
        if locations := self.extensions.get("locations"):
            error["locations"] = locations
        error["extensions"] = {
            "code": self.code,
            **{k: v for k, v in self.extensions.items() if k != "locations"},
        }
        return error

    def graphql_errors(self) -> list[dict[str, Any]]:
        """Every GraphQL error of the refusal."""
        return [self.to_graphql()]

    def response(self) -> dict[str, Any]:
        """The GraphQL response that answers the refused request: its errors, no `data`."""
        return {"errors": self.graphql_errors()}


class RequestErrors(RequestError):
    """A refusal with several GraphQL errors (each already JSON), answered together; its code
    is the first one's."""

    def __init__(self, errors: list[dict[str, Any]], *, status: int = 400) -> None:
        super().__init__(errors[0]["message"], errors[0]["extensions"]["code"], status=status)
        self.errors = errors

    def graphql_errors(self) -> list[dict[str, Any]]:
        """Every GraphQL error of the refusal, as given (already JSON)."""
        return self.errors
