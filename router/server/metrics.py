"""Prometheus metrics for the router (text format on `/metrics`): requests, errors and latency
per operation, latency and failures per subgraph, plan cache hits and misses, subscriptions open
and the events delivered to their clients, per transport (`websocket`, `sse`, `multipart`).

With `serve --workers N` the workers share one port but not memory: the parent sets
PROMETHEUS_MULTIPROC_DIR and each worker's values live in files there (prometheus_client's
multiprocess mode), so `/metrics` from any worker is the sum over all of them. The bounds
below are then per worker.

Label values a client chooses are bounded, since each distinct value is a series kept for the
life of the process: the `operation` label is the client's `operationName` only for an
operation the router ran (parsed, validated and planned; else `unknown`), and after
MAX_OPERATIONS distinct names every new one is counted as `other`. Error codes are bounded the
same way (MAX_CODES).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MAX_OPERATIONS = 1000
MAX_CODES = 200
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The router's Prometheus series, in a registry of its own: `answered` and `fetched` count,
    `render` writes the text format (see the module docstring for the bounds on labels)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "router_http_requests",
            "GraphQL requests answered",
            ["operation", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "router_graphql_errors",
            "GraphQL errors in responses, by extensions.code",
            ["code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "router_request_duration_seconds",
            "Time to answer a request",
            ["operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.subgraph_duration = Histogram(
            "router_subgraph_request_duration_seconds",
            "Time a subgraph took to answer",
            ["subgraph", "outcome"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.plan_cache = Counter(
            "router_query_plan_cache",
            "Query plan cache lookups",
            ["result"],
            registry=self.registry,
        )
        self.subscriptions_open = Gauge(
            "router_subscriptions_open",
            "Client subscriptions open now",
            ["transport"],
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.subscription_events = Counter(
            "router_subscription_events",
            "Subscription events delivered to clients",
            ["transport"],
            registry=self.registry,
        )
        self._fetch_series: dict[tuple[str, bool], Any] = {}
        """Labelled children looked up once (`labels()` costs a lock and a tuple per call)."""
        self._event_series: dict[str, Any] = {}
        self._answer_series: dict[tuple[str, int], tuple[Any, Any]] = {}
        """(requests, duration) children per bounded operation name and status."""
        self._operations = _Bounded(MAX_OPERATIONS, ("anonymous", "unknown", "batch"))
        self._codes = _Bounded(MAX_CODES, ("UNKNOWN",))

    def fetched(self, service: str, seconds: float, ok: bool) -> None:
        """Observe one subgraph fetch's duration, labelled by subgraph and outcome (`success` or
        `failure`)."""
        series = self._fetch_series.get((service, ok))
        if series is None:
            series = self._fetch_series[(service, ok)] = self.subgraph_duration.labels(
                service, "success" if ok else "failure"
            )
        series.observe(seconds)

    def subscribed(self, transport: str, change: int) -> None:
        """One subscription more (`change` 1) or fewer (-1) open over `transport`."""
        self.subscriptions_open.labels(transport).inc(change)

    def delivered(self, transport: str) -> None:
        """One subscription event delivered over `transport`."""
        series = self._event_series.get(transport)
        if series is None:
            series = self._event_series[transport] = self.subscription_events.labels(transport)
        series.inc()

    def answered(
        self,
        operation: str | None,
        status: int,
        seconds: float,
        codes: list[Any],
        *,
        known: bool = True,
    ) -> None:
        """Count one answer; `known` says whether the router ran the operation (so whether its
        name can be a label)."""
        name = self._operations.label((operation or "anonymous") if known else "unknown")
        series = self._answer_series.get((name, status))
        if series is None:  # bounded: names by MAX_OPERATIONS, statuses by HTTP
            series = (self.requests.labels(name, str(status)), self.duration.labels(name))
            self._answer_series[(name, status)] = series
        series[0].inc()
        series[1].observe(seconds)
        for code in codes:
            self.errors.labels(
                self._codes.label(code if isinstance(code, str) else "UNKNOWN")
            ).inc()

    def render(self, cache_hits: int, cache_misses: int) -> bytes:
        # The router counts its cache; mirror the totals here so they survive hot reloads.
        """The text format for `/metrics`, the plan cache counter first brought up to the router's
        totals; with PROMETHEUS_MULTIPROC_DIR set, every worker's values summed."""
        for result, total in (("hit", cache_hits), ("miss", cache_misses)):
            counter = self.plan_cache.labels(result)
            increment = total - counter._value.get()
            if increment > 0:
                counter.inc(increment)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # every worker's values, summed
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)


class _Bounded:
    """Label values: the first `limit` distinct ones as they are, later new ones `other`."""

    def __init__(self, limit: int, fixed: tuple[str, ...]) -> None:
        self.limit = limit
        self.seen: set[str] = set(fixed)

    def label(self, value: str) -> str:
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(value)
        return value
