"""The models of router.yaml's serving sections, Apollo Router's names: supergraph, sandbox,
cors, limits, demand_control, server, traffic_shaping, include_subgraph_errors, csrf, apq,
persisted_queries, batching, progressive_override, plugins, telemetry, subscription. Defaults are
`Config()`'s, so the schema shows what the router runs with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from router.config.settings import Config
from router.config.types import (
    Count,
    Duration,
    Flag,
    Int,
    NonNegativeInt,
    NonNegativeNumber,
    Section,
    Size,
    problem,
)
from router.execute.masking import CLIENT_CODES
from router.request.cost import DemandControlSettings

_D = Config()
_COST = DemandControlSettings()


class Supergraph(Section):
    """`supergraph`: where the router listens, its GraphQL path, introspection, and the supergraph
    file it serves."""

    listen: str = f"{_D.listen_host}:{_D.listen_port}"
    """HOST:PORT to serve on."""
    path: str = _D.path
    """The GraphQL endpoint's path."""
    introspection: Flag = _D.introspection
    """Answer introspection queries (off in production, as Apollo Router)."""
    file: str | None = None
    """The supergraph SDL file, relative to this file."""

    @field_validator("listen")
    @classmethod
    def _host_port(cls, listen: str) -> str:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise problem(f"must be HOST:PORT, got {listen!r}")
        return listen


class Sandbox(Section):
    """`sandbox`: GraphiQL for browsers (off by default)."""

    enabled: Flag = _D.sandbox
    """GraphiQL for browsers on GET of the GraphQL path; needs supergraph.introspection."""


class Cors(Section):
    """`cors`: the browser origins that may call the router, whether with credentials, and the
    request headers they may send; `allow_any_origin` is `origins: ['*']`."""

    origins: list[str] = []
    """Origins allowed to call the router from a browser; "*" is any origin."""
    allow_any_origin: Flag = False
    allow_credentials: Flag = _D.cors_allow_credentials
    allow_headers: list[str] = list(_D.cors_allow_headers)

    @model_validator(mode="after")
    def _credentials_need_origins(self) -> Cors:
        if self.allow_credentials and (self.allow_any_origin or "*" in self.origins):
            # Browsers refuse `Access-Control-Allow-Origin: *` on credentialed requests, and
            # reflecting every origin instead would let any site read answers made with the
            # user's cookies.
            raise problem(
                "true cannot be combined with any origin (cors.origins: ['*'] or "
                "cors.allow_any_origin: true); list the origins",
                key="allow_credentials",
            )
        return self


class SubgraphLimit(Section):
    """The limits on one subgraph's answers."""

    http_max_response_size: Size = _D.subgraph_max_response_bytes
    """A subgraph answer larger than this is not read further and the fetch fails."""


class SubgraphLimits(Section):
    """`limits.subgraph`: the `all` limits, and per subgraph name limits that replace them."""

    all: SubgraphLimit = SubgraphLimit()
    subgraphs: dict[str, SubgraphLimit] = {}


class Limits(Section):
    """`limits`: what one request may ask before it runs (depth, aliases, root fields, tokens,
    planning steps) and the sizes of requests, their heads and responses."""

    max_depth: Int = _D.max_depth
    """Field levels, root fields included."""
    max_aliases: Int = _D.max_aliases
    max_deferred_fragments: Int = _D.max_deferred_fragments
    """Fragments with `@defer` (spreads expanded): each is a part planned and fetched apart."""
    max_root_fields: Int = _D.max_root_fields
    parser_max_tokens: Int = _D.parser_max_tokens
    parser_max_source_length: Int = _D.parser_max_source_length
    max_recursive_selections: Int = _D.max_recursive_selections
    max_planning_steps: Int = _D.max_planning_steps
    http_max_request_bytes: Int = _D.http_max_request_bytes
    http_max_response_bytes: Size = _D.http_max_response_bytes
    """The largest response body sent; a larger one is replaced by RESPONSE_TOO_LARGE."""
    http1_max_request_headers: Count = _D.http1_max_request_headers
    http1_max_request_buf_size: Size = _D.http1_max_request_buf_size
    """Bytes of a request's head (request line and headers)."""
    subgraph: SubgraphLimits = SubgraphLimits()


class StaticEstimated(Section):
    """`demand_control.strategy.static_estimated`: the cost estimated from the operation and the
    schema's `@cost` and `@listSize`, before any fetch."""

    list_size: NonNegativeInt = _COST.list_size
    """The size assumed for a list whose size is not known."""
    max: NonNegativeNumber = _COST.max
    """The highest estimated cost allowed."""


class CostStrategy(Section):
    """`demand_control.strategy`: how cost is estimated (`static_estimated`, the one strategy)."""

    static_estimated: StaticEstimated = StaticEstimated()


class DemandControl(Section):
    """`demand_control`: each operation's estimated cost; `enforce` refuses one above the maximum,
    `measure` only records the estimates."""

    enabled: Flag = _COST.enabled
    mode: Literal["measure", "enforce"] = _COST.mode
    strategy: CostStrategy = CostStrategy()


class ServerHttp(Section):
    """`server.http`: deadlines for a connection's request head and body, and for an idle keep-alive
    connection."""

    header_read_timeout: Annotated[Duration, Field(gt=0)] = _D.header_read_timeout
    body_read_timeout: Annotated[Duration, Field(gt=0)] = _D.body_read_timeout
    """A request body must be whole this long after its head."""
    keep_alive_timeout: Annotated[Duration, Field(gt=0)] = _D.keep_alive_timeout


class Shutdown(Section):
    """`server.shutdown`: the drain on SIGTERM (router/server/drain.py)."""

    delay: Annotated[Duration, Field(ge=0)] = _D.shutdown_delay
    """On SIGTERM, keep listening this long, readiness 503, before closing."""
    timeout: Annotated[Duration, Field(ge=0)] = _D.shutdown_timeout
    """On SIGTERM, wait at most this long for the requests in flight."""


class Server(Section):
    """`server`: connection deadlines and the drain on SIGTERM, read at start-up only (a hot reload
    does not change them)."""

    http: ServerHttp = ServerHttp()
    shutdown: Shutdown = Shutdown()


class RouterShaping(Section):
    """`traffic_shaping.router`: client requests: their timeout, how many run at once, and the
    sharing of identical ones."""

    deduplicate_requests: Flag = _D.deduplicate_requests
    """Identical client queries in flight at once share one execution."""
    concurrency_limit: Count | None = _D.concurrency_limit
    """GraphQL requests in flight at once; beyond it 503 (no limit by default)."""
    timeout: Duration = _D.router_timeout
    """A whole GraphQL request is answered by then, or gets 504."""


class AllSubgraphsShaping(Section):
    """`traffic_shaping.all`: every subgraph's fetches: their timeout, the sharing of identical
    queries in flight, and the batching of entity fetches."""

    timeout: Duration = _D.timeout
    deduplicate_query: Flag = _D.deduplicate_query
    batch_entity_fetches: Flag = _D.batch_entity_fetches
    """Entity fetches to one subgraph that are ready together go as one request."""


class SubgraphShaping(Section):
    """`traffic_shaping.subgraphs.NAME`: that subgraph's fetch timeout, instead of `all`'s."""

    timeout: Duration


class TrafficShaping(Section):
    """`traffic_shaping`: timeouts, limits and de-duplication, for client requests (`router`) and
    for subgraph fetches (`all`, `subgraphs`)."""

    router: RouterShaping = RouterShaping()
    all: AllSubgraphsShaping = AllSubgraphsShaping()
    subgraphs: dict[str, SubgraphShaping] = {}


class ErrorEntry(Section):
    """Errors redacted, with what passes; keys left out come from `all` (for a subgraph)."""

    redact_message: Flag = True
    allow_extensions_keys: list[str] | None = None
    client_codes: list[str] | None = Field(None, examples=[sorted(CLIENT_CODES)])
    """Codes whose message passes unredacted."""


def _entry_kind(value: Any) -> str:
    """The tag of an include_subgraph_errors entry; tags start with `~`, which errors.py
    leaves out of a problem's path (they are no keys of the file)."""
    return "~object" if isinstance(value, dict) else "~flag"


Inclusion = Annotated[
    Annotated[Flag, Tag("~flag")] | Annotated[ErrorEntry, Tag("~object")],
    Discriminator(_entry_kind),
]
"""true (everything passes), false (redacted) or an `ErrorEntry`."""


class IncludeSubgraphErrors(Section):
    """`include_subgraph_errors`: what of subgraphs' errors reaches clients: `all`, and entries per
    subgraph name (an object entry's keys left out come from `all`)."""

    all: Inclusion = False
    subgraphs: dict[str, Inclusion] = {}


class Csrf(Section):
    """`csrf`: a GET, or a POST a browser could send without a preflight, must carry one of
    `required_headers`; `unsafe_disabled` turns the check off."""

    unsafe_disabled: Flag = not _D.csrf_enabled
    required_headers: list[str] = list(_D.csrf_required_headers)


class Apq(Section):
    """`apq`: automatic persisted queries: a document sent once with its text may then be sent as
    its SHA-256 hash alone."""

    enabled: Flag = _D.apq_enabled


class PersistedQueries(Section):
    """`persisted_queries`: a safelist (Apollo's manifest): only its operations run, by id or,
    unless `require_id`, by their exact text."""

    enabled: Flag = _D.persisted_queries_enabled
    safelist: str | None = None
    """The safelist file (Apollo's manifest), relative to this file."""
    require_id: Flag = _D.require_id


class Batching(Section):
    """`batching`: several GraphQL requests in one HTTP request (a JSON list of at most `max_size`);
    off by default."""

    enabled: Flag = _D.batching_enabled
    max_size: Int = _D.batching_max_size


class ProgressiveOverride(Section):
    """`progressive_override`: the `@override(label:)` labels that are on."""

    labels: list[str] = []


class Plugins(Section):
    """`plugins`: Apollo Router's plugin keys this router knows
    (`experimental.expose_query_plan`)."""

    expose_query_plan: Flag = Field(_D.expose_query_plan, alias="experimental.expose_query_plan")
    """Answer the query plan when a request asks for it."""


class Prometheus(Section):
    """`telemetry.metrics.prometheus`: the metrics in Prometheus's text format on `path`."""

    enabled: Flag = _D.metrics_enabled
    path: str = _D.metrics_path


class Metrics(Section):
    """`telemetry.metrics`: the router's metrics."""

    prometheus: Prometheus = Prometheus()


class Tracing(Section):
    """`telemetry.tracing`: OpenTelemetry spans, exported over OTLP/HTTP to `otlp_endpoint` (unset:
    the exporter's own default)."""

    enabled: Flag = _D.tracing_enabled
    service_name: str = _D.service_name
    otlp_endpoint: str | None = _D.otlp_endpoint


class Telemetry(Section):
    """`telemetry`: metrics and tracing."""

    metrics: Metrics = Metrics()
    tracing: Tracing = Tracing()


class Subscription(Section):
    """`subscription`: subscriptions from clients on the GraphQL path, over graphql-transport-ws
    (WebSocket), GraphQL over SSE and Apollo's multipart HTTP: on or off, how many may be open,
    the heartbeat, and how long a WebSocket client has to send `connection_init`."""

    enabled: Flag = _D.subscription_enabled
    max_per_connection: Count = _D.subscription_max_per_connection
    """Subscriptions one WebSocket connection may hold open at once."""
    max_total: Count = _D.subscription_max_total
    """Subscriptions open at once in this process, every transport counted."""
    ping_interval_seconds: Annotated[Duration, Field(ge=0)] = _D.subscription_ping_interval
    """Seconds between heartbeats (WebSocket ping, SSE comment, multipart `{}`); 0: none."""
    connection_init_timeout_seconds: Annotated[Duration, Field(gt=0)] = _D.subscription_init_timeout
    """A WebSocket client that has not sent `connection_init` by then is closed with 4408."""
    enable_deduplication: Flag = _D.subscription_deduplication
    """Identical subscriptions share one subscription to their subgraph (Apollo Router's)."""
    queue_capacity: Count = _D.subscription_queue_capacity
    """Unread events one subscriber may hold; beyond, it is dropped: SUBSCRIPTION_QUEUE_FULL."""
    max_events_per_batch: Count = _D.subscription_max_events_per_batch
    """Events queued together completed together: one request per entity fetch for all."""
