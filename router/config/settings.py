"""`Config`: what the router runs with, resolved from router.yaml (router/config/resolve.py)
or built directly (tests, benchmarks); every default here is the default of its router.yaml key.
`dev_mode()` lays development defaults over one."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from router.authentication.settings import JwtSettings
from router.authz.settings import AuthorizationSettings
from router.execute.headers import HeaderRule
from router.execute.masking import SHOW_ALL, SubgraphErrors
from router.request.cost import DemandControlSettings

__all__ = ["Config", "dev_mode"]


@dataclass(frozen=True)
class Config:
    """The router's settings, one flat record (router.yaml's sections: model.py)."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 4000
    path: str = "/graphql"
    introspection: bool = False
    sandbox: bool = False
    """GraphiQL for browsers on GET of the GraphQL path (router.yaml `sandbox.enabled`)."""
    supergraph_file: Path | None = None
    header_rules: dict[str, tuple[HeaderRule, ...]] = field(default_factory=dict)
    """'*' for all subgraphs, else per subgraph name (applied after '*')."""
    jwt: JwtSettings | None = None
    """authentication.router.jwt: tokens verified at the router (router/authentication/)."""
    cors_origins: tuple[str, ...] = ()
    cors_allow_credentials: bool = False
    cors_allow_headers: tuple[str, ...] = (
        "content-type",
        "apollo-require-preflight",
        "x-apollo-operation-name",
    )
    max_depth: int = 13
    """Field levels, root fields included: the services' Strawberry limit of 12 counts the
    levels below the root fields, so both refuse the same operations."""
    max_aliases: int = 30
    max_deferred_fragments: int = 16
    max_root_fields: int = 100
    parser_max_tokens: int = 5_000
    """The services refuse documents over 5,000 tokens (subgraph_kit/schema.py), and what the
    router sends them is rarely shorter than what it was sent."""
    parser_max_source_length: int = 262_144
    max_recursive_selections: int = 100_000
    max_planning_steps: int = 200_000
    http_max_request_bytes: int = 2_000_000
    http_max_response_bytes: int = 20_000_000
    """The largest response body the router sends; a larger one is replaced by a
    RESPONSE_TOO_LARGE error."""
    subgraph_max_response_bytes: int = 10 * 1024 * 1024
    """`limits.subgraph.all.http_max_response_size` (Apollo's key): a subgraph answer larger
    than this is not read further; its connection is closed and the fetch fails."""
    subgraph_max_response_bytes_for: dict[str, int] = field(default_factory=dict)
    demand_control: DemandControlSettings = field(default_factory=DemandControlSettings)
    http1_max_request_headers: int = 100
    http1_max_request_buf_size: int = 400 * 1024
    """Bytes of a request's head (request line and headers), as Apollo Router's hyper buffer."""
    header_read_timeout: float = 10.0
    body_read_timeout: float = 30.0
    """A request body must be whole this long after its head (ours; Apollo has none)."""
    keep_alive_timeout: float = 5.0
    shutdown_delay: float = 0.0
    """On SIGTERM, keep listening this long, readiness 503, before closing (a preStop sleep)."""
    shutdown_timeout: float = 30.0
    """On SIGTERM, wait at most this long for the connections in flight to finish."""
    router_timeout: float = 30.0
    """A whole GraphQL request (batch included) is answered by then, or gets 504."""
    concurrency_limit: int | None = None
    """GraphQL requests in flight at once; beyond it 503 REQUEST_CONCURRENCY_LIMITED (Apollo
    Router's traffic_shaping.router.concurrency_limit; no limit by default, as there)."""
    timeout: float = 30.0
    subgraph_timeouts: dict[str, float] = field(default_factory=dict)
    deduplicate_query: bool = True
    batch_entity_fetches: bool = True
    """Entity fetches to one subgraph that are ready together go as one request (aliased
    `_entities` fields), queries only; on by default, as Hive Gateway batches. On
    bench/gateways.py's workload one answer takes 7 subgraph requests instead of 13 (Hive
    Gateway + Rust planner: 7), and under load with subgraph de-duplication 1.9 instead of 2.6.
    `false` sends each fetch alone (Apollo Router's default)."""
    deduplicate_requests: bool = True
    """Identical client queries in flight at once share one execution (Hive Gateway's inbound
    de-duplication); only requests whose forwarded headers are the same."""
    subgraph_errors: SubgraphErrors = field(default_factory=SubgraphErrors)
    """include_subgraph_errors: redacted by default (masking.py)."""
    csrf_enabled: bool = True
    csrf_required_headers: tuple[str, ...] = ("x-apollo-operation-name", "apollo-require-preflight")
    apq_enabled: bool = True
    persisted_queries_enabled: bool = False
    safelist_file: Path | None = None
    require_id: bool = False
    batching_enabled: bool = False
    batching_max_size: int = 10
    override_labels: frozenset[str] = frozenset()
    expose_query_plan: bool = False
    metrics_enabled: bool = True
    metrics_path: str = "/metrics"
    tracing_enabled: bool = False
    service_name: str = "router"
    otlp_endpoint: str | None = None
    authorization: AuthorizationSettings = field(default_factory=AuthorizationSettings)
    subscription_enabled: bool = True
    """Subscriptions from clients (graphql-transport-ws, GraphQL over SSE, Apollo's multipart
    HTTP) on the GraphQL path; on by default, as Hive Gateway serves them. Off: a WebSocket
    upgrade gets 400 SUBSCRIPTION_DISABLED."""
    subscription_max_per_connection: int = 32
    """Subscriptions one WebSocket connection may hold open at once (an app multiplexes its live
    components over one connection); beyond it an `error` message SUBSCRIPTION_MAX_LIMIT."""
    subscription_max_total: int = 1_000
    """Subscriptions open at once in this process, every transport counted; beyond it
    SUBSCRIPTION_MAX_LIMIT (Apollo Router's `subscription.max_opened_subscriptions`)."""
    subscription_ping_interval: float = 5.0
    """Seconds between heartbeats on an open subscription transport: a WebSocket `ping`, an SSE
    comment line, a multipart `{}` part (Apollo Router's 5 s); 0 sends none."""
    subscription_deduplication: bool = True
    """Identical subscriptions share one upstream subscription, and one requester's identical
    ones each event's completion (Apollo Router's `subscription.enable_deduplication`)."""
    subscription_queue_capacity: int = 128
    """Unread events one subscriber may hold (Apollo Router's `subscription.queue_capacity`); one
    that falls that far behind is dropped with SUBSCRIPTION_QUEUE_FULL, the others unaffected.
    Never less than `subscription_max_events_per_batch`: a completed batch arrives at once."""
    subscription_max_events_per_batch: int = 32
    """Events of one upstream subscription queued together that are completed together: each
    entity fetch one subgraph request for all of them."""
    subscription_init_timeout: float = 10.0
    """Seconds a WebSocket client has to send `connection_init` before the router closes with
    4408. graphql-ws's default is 3 s; 10 leaves room for a client that fetches a token first
    on a slow mobile network."""


def dev_mode(config: Config) -> Config:
    """Development defaults over `config`: introspection, GraphiQL, subgraph errors passed
    through and query plans exposed (Apollo Router's `--dev`)."""
    return dataclasses.replace(
        config,
        introspection=True,
        sandbox=True,
        subgraph_errors=SHOW_ALL,
        expose_query_plan=True,
    )
