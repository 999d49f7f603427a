"""`RouterYaml`: the whole of router.yaml, one typed model per section (Apollo Router's names).
Its JSON Schema (`fedrouter config-schema`) is what editors check router.yaml against."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from router.config.auth import Authentication, Authorization
from router.config.headers import Headers
from router.config.sections import (
    Apq,
    Batching,
    Cors,
    Csrf,
    DemandControl,
    IncludeSubgraphErrors,
    Limits,
    PersistedQueries,
    Plugins,
    ProgressiveOverride,
    Sandbox,
    Server,
    Subscription,
    Supergraph,
    Telemetry,
    TrafficShaping,
)
from router.config.types import Section, problem

__all__ = ["RouterYaml", "json_schema"]


class RouterYaml(Section):
    """The router's configuration (router.yaml), in Apollo Router's sections."""

    supergraph: Supergraph = Supergraph()
    sandbox: Sandbox = Sandbox()
    headers: Headers = Headers()
    """Rules for the headers each subgraph request carries."""
    authentication: Authentication = Authentication()
    """JWTs verified at the router."""
    authorization: Authorization = Authorization()
    cors: Cors = Cors()
    limits: Limits = Limits()
    demand_control: DemandControl = DemandControl()
    """Estimated operation cost, refused above a maximum."""
    server: Server = Server()
    """Connection timeouts and the drain on SIGTERM (read at start-up only)."""
    traffic_shaping: TrafficShaping = TrafficShaping()
    include_subgraph_errors: IncludeSubgraphErrors = IncludeSubgraphErrors()
    """What of a subgraph's errors reaches clients (redacted by default)."""
    csrf: Csrf = Csrf()
    apq: Apq = Apq()
    """Automatic persisted queries."""
    persisted_queries: PersistedQueries = PersistedQueries()
    batching: Batching = Batching()
    progressive_override: ProgressiveOverride = ProgressiveOverride()
    """Labels of `@override(label:)` that are on."""
    plugins: Plugins = Plugins.model_validate({})
    telemetry: Telemetry = Telemetry()
    subscription: Subscription = Subscription()
    """Subscriptions from clients: WebSocket, SSE and multipart HTTP."""

    @model_validator(mode="after")
    def _sandbox_needs_introspection(self) -> RouterYaml:
        if self.sandbox.enabled and not self.supergraph.introspection:
            raise problem(
                "needs supergraph.introspection: true (GraphiQL reads the schema by introspection)",
                key="sandbox.enabled",
            )
        return self


def json_schema() -> dict[str, Any]:
    """router.yaml's JSON Schema (draft 2020-12), keys as written in the file."""
    schema = RouterYaml.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
