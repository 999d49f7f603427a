"""`resolve()`: a validated `RouterYaml` read into the flat `Config` the router runs with
(paths made relative to router.yaml's folder, header names lower-cased, patterns compiled, the
policy evaluator imported)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from router.config.auth import authorization_settings, jwt_settings
from router.config.headers import header_rules
from router.config.model import RouterYaml
from router.config.sections import ErrorEntry, IncludeSubgraphErrors, Limits, TrafficShaping
from router.config.settings import Config
from router.execute.masking import ErrorInclusion, SubgraphErrors
from router.request.cost import DemandControlSettings

__all__ = ["resolve"]


def resolve(model: RouterYaml, base: Path) -> Config:
    """The settings `model` describes; relative file names are read from `base`."""
    supergraph, cors = model.supergraph, model.cors
    host, _, port = supergraph.listen.rpartition(":")
    origins = tuple(cors.origins)
    if cors.allow_any_origin:
        origins = ("*", *origins)
    static = model.demand_control.strategy.static_estimated
    http, shutdown = model.server.http, model.server.shutdown
    persisted = model.persisted_queries
    prometheus, tracing = model.telemetry.metrics.prometheus, model.telemetry.tracing
    subscription = model.subscription
    return Config(
        listen_host=host,
        listen_port=int(port),
        path=supergraph.path,
        introspection=supergraph.introspection,
        sandbox=model.sandbox.enabled,
        supergraph_file=base / supergraph.file if supergraph.file is not None else None,
        header_rules=header_rules(model.headers),
        jwt=jwt_settings(model.authentication),
        cors_origins=origins,
        cors_allow_credentials=cors.allow_credentials,
        cors_allow_headers=tuple(h.lower() for h in cors.allow_headers),
        **_limits(model.limits),
        demand_control=DemandControlSettings(
            model.demand_control.enabled, model.demand_control.mode, static.list_size, static.max
        ),
        header_read_timeout=http.header_read_timeout,
        body_read_timeout=http.body_read_timeout,
        keep_alive_timeout=http.keep_alive_timeout,
        shutdown_delay=shutdown.delay,
        shutdown_timeout=shutdown.timeout,
        **_traffic_shaping(model.traffic_shaping),
        subgraph_errors=_subgraph_errors(model.include_subgraph_errors),
        csrf_enabled=not model.csrf.unsafe_disabled,
        csrf_required_headers=tuple(h.lower() for h in model.csrf.required_headers),
        apq_enabled=model.apq.enabled,
        persisted_queries_enabled=persisted.enabled,
        safelist_file=base / persisted.safelist if persisted.safelist is not None else None,
        require_id=persisted.require_id,
        batching_enabled=model.batching.enabled,
        batching_max_size=model.batching.max_size,
        override_labels=frozenset(model.progressive_override.labels),
        expose_query_plan=model.plugins.expose_query_plan,
        metrics_enabled=prometheus.enabled,
        metrics_path=prometheus.path,
        tracing_enabled=tracing.enabled,
        service_name=tracing.service_name,
        otlp_endpoint=tracing.otlp_endpoint,
        authorization=authorization_settings(model.authorization),
        subscription_enabled=subscription.enabled,
        subscription_max_per_connection=subscription.max_per_connection,
        subscription_max_total=subscription.max_total,
        subscription_ping_interval=subscription.ping_interval_seconds,
        subscription_init_timeout=subscription.connection_init_timeout_seconds,
        subscription_deduplication=subscription.enable_deduplication,
        subscription_queue_capacity=subscription.queue_capacity,
        subscription_max_events_per_batch=subscription.max_events_per_batch,
    )


def _limits(limits: Limits) -> dict[str, Any]:
    return {
        "max_depth": limits.max_depth,
        "max_aliases": limits.max_aliases,
        "max_deferred_fragments": limits.max_deferred_fragments,
        "max_root_fields": limits.max_root_fields,
        "parser_max_tokens": limits.parser_max_tokens,
        "parser_max_source_length": limits.parser_max_source_length,
        "max_recursive_selections": limits.max_recursive_selections,
        "max_planning_steps": limits.max_planning_steps,
        "http_max_request_bytes": limits.http_max_request_bytes,
        "http_max_response_bytes": limits.http_max_response_bytes,
        "http1_max_request_headers": limits.http1_max_request_headers,
        "http1_max_request_buf_size": limits.http1_max_request_buf_size,
        "subgraph_max_response_bytes": limits.subgraph.all.http_max_response_size,
        "subgraph_max_response_bytes_for": {
            name: each.http_max_response_size for name, each in limits.subgraph.subgraphs.items()
        },
    }


def _traffic_shaping(shaping: TrafficShaping) -> dict[str, Any]:
    return {
        "router_timeout": shaping.router.timeout,
        "concurrency_limit": shaping.router.concurrency_limit,
        "deduplicate_requests": shaping.router.deduplicate_requests,
        "timeout": shaping.all.timeout,
        "deduplicate_query": shaping.all.deduplicate_query,
        "batch_entity_fetches": shaping.all.batch_entity_fetches,
        "subgraph_timeouts": {name: each.timeout for name, each in shaping.subgraphs.items()},
    }


def _subgraph_errors(errors: IncludeSubgraphErrors) -> SubgraphErrors:
    every = _inclusion(errors.all, ErrorInclusion())
    return SubgraphErrors(
        every, {name: _inclusion(entry, every) for name, entry in errors.subgraphs.items()}
    )


def _inclusion(entry: bool | ErrorEntry, inherited: ErrorInclusion) -> ErrorInclusion:
    """One include_subgraph_errors entry; an object's unset keys come from `inherited`."""
    if isinstance(entry, bool):
        return ErrorInclusion(include=True) if entry else ErrorInclusion()
    keys: dict[str, Any] = {"include": False}
    if "redact_message" in entry.model_fields_set:
        keys["redact_message"] = entry.redact_message
    if entry.allow_extensions_keys is not None:
        keys["allow_extensions_keys"] = frozenset(entry.allow_extensions_keys)
    if entry.client_codes is not None:
        keys["client_codes"] = frozenset(entry.client_codes)
    return dataclasses.replace(inherited, **keys)
