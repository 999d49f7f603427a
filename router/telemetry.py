"""OpenTelemetry tracing, when router.yaml turns it on: a span per request (continuing the
client's W3C trace context), spans for parse/validate/plan on a plan-cache miss, one span per
subgraph fetch, and the W3C `traceparent` sent on to every subgraph.

With tracing off, every hook is a no-op costing one attribute check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter


class Tracing:
    """The router's tracing hooks; `Tracing.off()` when not configured."""

    def __init__(self, tracer: trace.Tracer | None) -> None:
        self.tracer = tracer

    @classmethod
    def off(cls) -> Tracing:
        """Tracing that records nothing: every hook is a no-op."""
        return cls(None)

    @classmethod
    def configured(
        cls, service_name: str, exporter: SpanExporter | None = None, *, endpoint: str | None = None
    ) -> Tracing:
        """Spans go to `exporter` (tests) or to an OTLP/HTTP collector at `endpoint`."""
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        return cls(provider.get_tracer("router"))

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded (router.yaml turned tracing on)."""
        return self.tracer is not None

    @contextlib.contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[None]:
        """A child span of the current one around the block, such as parse, plan or one subgraph
        fetch; nothing when tracing is off."""
        if self.tracer is None:
            yield
            return
        with self.tracer.start_as_current_span(name, attributes=attributes):
            yield

    @contextlib.contextmanager
    def request(self, headers: Mapping[str, str], **attributes: Any) -> Iterator[None]:
        """The request's span, a child of the client's trace when it sent `traceparent`."""
        if self.tracer is None:
            yield
            return
        token = otel_context.attach(propagate.extract(dict(headers)))
        try:
            with self.tracer.start_as_current_span(
                "graphql request", kind=trace.SpanKind.SERVER, attributes=attributes
            ):
                yield
        finally:
            otel_context.detach(token)

    def inject(self, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """Add the current trace context (`traceparent`) to a subgraph request's headers."""
        if self.tracer is None:
            return headers
        carrier = dict(headers or {})
        propagate.inject(carrier)
        return carrier
