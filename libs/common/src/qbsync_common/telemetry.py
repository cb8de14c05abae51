"""OpenTelemetry tracing: provider setup, W3C context in AMQP headers, instrumentation."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from sqlalchemy.ext.asyncio import AsyncEngine

from qbsync_common.redaction import REDACTED, is_sensitive_key, redact_text
from qbsync_common.settings import ServiceSettings

log = logging.getLogger(__name__)

# The SDK refuses to replace a global provider, and tests set tracing up many times in one process:
# we keep the one provider we installed and add exporters to it.
_lock = threading.Lock()
_provider: TracerProvider | None = None
_otlp_endpoints: set[str] = set()
_instrumented_engines: weakref.WeakSet[Any] = weakref.WeakSet()
_httpx_instrumentor = HTTPXClientInstrumentor()
# Headers use W3C even before setup_tracing ran or if a library replaced the global propagator:
# the AMQP header format is part of our contract (CloudEvents `traceparent` extension).
_W3C = TraceContextTextMapPropagator()

# Headers whose values may never be captured on a span, whatever OTEL_* environment variables say.
_SENSITIVE_HEADERS = [
    ".*authorization.*",
    ".*cookie.*",
    ".*token.*",
    ".*secret.*",
    ".*api[-_]?key.*",
]


class RedactingSpanExporter(SpanExporter):
    """Scrubs credentials from span names, attributes and events before another exporter sees them.

    Instrumentations record URLs (OAuth callbacks carry `?code=`), SQL text and exception messages;
    scrubbing at export covers them all at once instead of trusting every hook (RELIABILITY §8 S4).
    """

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([_redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _redacted_attributes(
    attributes: Mapping[str, AttributeValue] | None,
) -> dict[str, AttributeValue]:
    return {key: _redacted_attribute(key, value) for key, value in (attributes or {}).items()}


def _redacted_attribute(key: str, value: AttributeValue) -> AttributeValue:
    if is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [redact_text(str(v)) for v in value]
    return value


def _redacted(span: ReadableSpan) -> ReadableSpan:
    return ReadableSpan(
        name=redact_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_redacted_attributes(span.attributes),
        events=[
            Event(event.name, _redacted_attributes(event.attributes), event.timestamp)
            for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def setup_tracing(
    settings: ServiceSettings, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install (once) the global tracer provider and add the configured exporters to it.

    OTLP/HTTP with batching when `settings.otel_endpoint` is set; `exporter` (tests pass an
    InMemorySpanExporter) is attached with a synchronous processor so spans are visible at once.
    """
    global _provider
    with _lock:
        if _provider is None:
            trace.set_tracer_provider(
                TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
            )
            installed = trace.get_tracer_provider()
            if not isinstance(installed, TracerProvider):
                # Unreachable unless something installed a non-SDK provider before us.
                raise RuntimeError(f"global tracer provider is {type(installed).__name__}")
            # If something else installed an SDK provider first, we add our exporters to it.
            _provider = installed
            propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator()]))
        provider = _provider
        endpoint = settings.otel_endpoint
        if endpoint and endpoint not in _otlp_endpoints:
            _otlp_endpoints.add(endpoint)
            otlp = OTLPSpanExporter(endpoint=_traces_url(endpoint))
            provider.add_span_processor(BatchSpanProcessor(RedactingSpanExporter(otlp)))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(exporter)))
    return provider


def _traces_url(endpoint: str) -> str:
    """The collector's base URL (http://collector:4318) or its full traces URL, as configured."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def inject_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Write traceparent/tracestate of the current context into `headers` (and return it)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    headers.update(carrier)
    return headers


def extract_context(headers: Mapping[str, Any] | None) -> Context:
    """The remote context carried by AMQP headers; values may arrive as bytes or str."""
    carrier: dict[str, str] = {}
    for key, value in (headers or {}).items():
        if isinstance(value, bytes | bytearray):
            carrier[key.lower()] = bytes(value).decode("latin-1")
        elif isinstance(value, str):
            carrier[key.lower()] = value
    return _W3C.extract(carrier)


def tracer(name: str) -> Tracer:
    return trace.get_tracer(name)


def instrument_fastapi(app: FastAPI) -> None:
    """Server spans for every request; header capture always sanitises credentials."""
    if getattr(app, "_is_instrumented_by_opentelemetry", False):
        return
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls="/livez$,/readyz$,/metrics$",
        http_capture_headers_sanitize_fields=_SENSITIVE_HEADERS,
    )


def instrument_httpx() -> None:
    """Client spans for every httpx request in the process (idempotent)."""
    if not _httpx_instrumentor.is_instrumented_by_opentelemetry:
        _httpx_instrumentor.instrument()


def instrument_sqlalchemy(engine: AsyncEngine) -> None:
    """Spans for the statements of this engine (idempotent per engine)."""
    sync_engine = engine.sync_engine
    with _lock:
        if sync_engine in _instrumented_engines:
            return
        _instrumented_engines.add(sync_engine)
    # EngineTracer instruments one engine; the instrumentor's `instrument()` would also patch every
    # future `create_engine` globally and can only run once per process.
    from opentelemetry import metrics
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    name = "opentelemetry.instrumentation.sqlalchemy"
    usage = metrics.get_meter(name).create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    EngineTracer(trace.get_tracer(name), sync_engine, usage)  # type: ignore[no-untyped-call]


def shutdown_tracing() -> None:
    """Flush pending spans (the process is about to exit)."""
    if _provider is not None:
        _provider.force_flush(5_000)
