"""`build_router`: the Router for a supergraph, configured by router.yaml (its transport,
limits, header rules, tracing, entity batching, demand control and authorization)."""

from __future__ import annotations

from router.config import Config
from router.execute.transport import HttpTransport, SubgraphTransport
from router.request.limits import Limits
from router.router import Router
from router.server.metrics import Metrics
from router.supergraph.load import load_supergraph
from router.telemetry import Tracing

__all__ = ["build_router"]


def build_router(
    sdl: str,
    config: Config,
    metrics: Metrics | None = None,
    transport: SubgraphTransport | None = None,
    tracing: Tracing | None = None,
) -> Router:
    """A Router for this supergraph, configured by router.yaml."""
    from router.execute.headers import subgraph_headers

    supergraph = load_supergraph(sdl)
    transport = transport or HttpTransport(
        {g.name: g.url for g in supergraph.graphs.values()},
        timeout=config.timeout,
        timeouts=config.subgraph_timeouts,
        deduplicate=config.deduplicate_query,
        max_response_bytes=config.subgraph_max_response_bytes,
        max_response_bytes_for=config.subgraph_max_response_bytes_for,
    )
    return Router(
        supergraph,
        transport,
        override_labels=config.override_labels,
        limits=Limits(
            max_depth=config.max_depth,
            max_aliases=config.max_aliases,
            max_deferred_fragments=config.max_deferred_fragments,
            max_root_fields=config.max_root_fields,
            max_tokens=config.parser_max_tokens,
            max_source_length=config.parser_max_source_length,
            max_recursive_selections=config.max_recursive_selections,
            max_planning_steps=config.max_planning_steps,
        ),
        introspection=config.introspection,
        subgraph_headers=(
            lambda service, incoming, claims: subgraph_headers(config, service, incoming, claims)
        )
        if config.header_rules
        else None,
        show_subgraph_errors=config.subgraph_errors,
        on_fetch=metrics.fetched if metrics else None,
        tracing=tracing or _tracing(config),
        batch_entities=config.batch_entity_fetches,
        demand_control=config.demand_control,
        authorization=config.authorization,
        deduplicate_subscriptions=config.subscription_deduplication,
        subscription_queue_capacity=config.subscription_queue_capacity,
        subscription_batch=config.subscription_max_events_per_batch,
    )


_TRACING: dict[tuple[str, str | None], Tracing] = {}


def _tracing(config: Config) -> Tracing:
    """One tracer provider per process and configuration (hot reloads reuse it)."""
    if not config.tracing_enabled:
        return Tracing.off()
    key = (config.service_name, config.otlp_endpoint)
    if key not in _TRACING:
        _TRACING[key] = Tracing.configured(config.service_name, endpoint=config.otlp_endpoint)
    return _TRACING[key]
