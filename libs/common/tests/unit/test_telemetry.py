"""Tracing: one trace across an AMQP header hop, idempotent setup, instrumentation, no secrets."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from qbsync_common.health import create_ops_app, serve
from qbsync_common.metrics import ServiceMetrics
from qbsync_common.settings import ServiceSettings
from qbsync_common.telemetry import (
    extract_context,
    inject_headers,
    instrument_fastapi,
    instrument_httpx,
    instrument_sqlalchemy,
    setup_tracing,
    shutdown_tracing,
    tracer,
)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    setup_tracing(ServiceSettings(service_name="telemetry-test"), exporter=spans)
    yield spans
    # The provider is process-wide; a stopped exporter drops whatever later tests produce.
    spans.shutdown()


def everything(span: ReadableSpan) -> str:
    """All text a span would carry to a collector."""
    parts = [span.name, repr(dict(span.attributes or {}))]
    parts += [f"{e.name} {dict(e.attributes or {})!r}" for e in span.events]
    return " ".join(parts)


def test_setup_installs_one_global_provider_and_adds_exporters(
    exporter: InMemorySpanExporter,
) -> None:
    second = InMemorySpanExporter()
    provider = setup_tracing(ServiceSettings(service_name="telemetry-test"), exporter=second)
    # One provider per process: whoever set it up first named it; later calls only add exporters.
    name = provider.resource.attributes["service.name"]
    assert provider is setup_tracing(ServiceSettings(service_name="other"))
    assert trace.get_tracer_provider() is provider
    assert provider.resource.attributes["service.name"] == name
    with tracer("qbsync.test").start_as_current_span("both exporters see me"):
        pass
    shutdown_tracing()
    assert [s.name for s in exporter.get_finished_spans()] == ["both exporters see me"]
    assert [s.name for s in second.get_finished_spans()] == ["both exporters see me"]
    second.shutdown()


def test_one_trace_across_a_publish_consume_header_hop(exporter: InMemorySpanExporter) -> None:
    # Publisher side: the current span's context goes into the message headers.
    with tracer("publisher").start_as_current_span("send qbsync.events", kind=SpanKind.PRODUCER):
        headers = inject_headers({"tenantid": "t-1"})
        sent = trace.get_current_span().get_span_context()
    assert headers["tenantid"] == "t-1"
    assert headers["traceparent"].startswith("00-")
    # AMQP delivers header values as bytes (pamqp long strings): the consumer sees those.
    delivered = {key: value.encode() for key, value in headers.items()}

    # Consumer side: a separate tracer provider stands for another process.
    other_process = TracerProvider()
    consumer_spans = InMemorySpanExporter()
    other_process.add_span_processor(SimpleSpanProcessor(consumer_spans))
    parent = extract_context(delivered)
    consumer = other_process.get_tracer("consumer")
    with (
        consumer.start_as_current_span("process q", context=parent, kind=SpanKind.CONSUMER),
        consumer.start_as_current_span("INSERT"),
    ):
        onward = inject_headers({})

    [db_span, process_span] = consumer_spans.get_finished_spans()
    assert process_span.context.trace_id == sent.trace_id
    assert process_span.parent is not None
    assert process_span.parent.span_id == sent.span_id
    assert process_span.parent.is_remote
    assert db_span.context.trace_id == sent.trace_id
    assert db_span.parent is not None
    assert db_span.parent.span_id == process_span.context.span_id
    # The result event the consumer publishes continues the same trace.
    assert onward["traceparent"].split("-")[1] == format(sent.trace_id, "032x")
    assert onward["traceparent"].split("-")[2] == format(db_span.context.span_id, "016x")


def test_missing_or_garbage_headers_give_a_fresh_root() -> None:
    for headers in (None, {}, {"traceparent": b"not-a-traceparent"}, {"traceparent": 42}):
        context = extract_context(headers)
        assert not trace.get_current_span(context).get_span_context().is_valid
    assert "traceparent" not in inject_headers({})  # no current span: nothing to carry


def test_exported_spans_are_scrubbed_of_credentials(exporter: InMemorySpanExporter) -> None:
    secret = uuid.uuid4().hex
    with tracer("qbsync.test").start_as_current_span(f"GET /cb?code={secret}") as span:
        span.set_attribute("http.url", f"https://app.test/cb?code={secret}&state=s1")
        span.set_attribute("http.request.header.authorization", [f"Bearer {secret}"])
        span.set_attribute("db.statement", "SELECT 1")
        span.set_attribute("qbsync.attempt", 2)
        span.record_exception(RuntimeError(f'{{"access_token": "{secret}"}}'))
    [exported] = [s for s in exporter.get_finished_spans() if s.name.startswith("GET /cb")]
    assert secret not in everything(exported)
    attributes = exported.attributes or {}
    assert attributes["http.url"] == "https://app.test/cb?code=[REDACTED]&state=s1"
    assert attributes["http.request.header.authorization"] == "[REDACTED]"
    assert attributes["db.statement"] == "SELECT 1"
    assert attributes["qbsync.attempt"] == 2
    assert exported.events[0].name == "exception"
    # Identity survives scrubbing, so the trace still links up.
    assert exported.context == span.get_span_context()


async def test_fastapi_and_httpx_spans_carry_no_tokens(exporter: InMemorySpanExporter) -> None:
    secret = uuid.uuid4().hex
    app: FastAPI = create_ops_app(
        ServiceSettings(service_name="telemetry-test"),
        ServiceMetrics("telemetry-test"),
        {},
        title="test",
    )

    @app.get("/oauth/callback")
    async def callback(code: str, state: str) -> dict[str, str]:
        return {"state": state}

    instrument_fastapi(app)
    instrument_fastapi(app)  # idempotent: still one server span per request
    instrument_httpx()
    instrument_httpx()
    server = await serve(app, ServiceSettings(service_name="telemetry-test", http_port=0))
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                f"http://127.0.0.1:{server.port}/oauth/callback",
                params={"code": secret, "state": "s-1", "access_token": secret},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert response.json() == {"state": "s-1"}
            await client.get(f"http://127.0.0.1:{server.port}/livez")
    finally:
        await server.stop()

    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    clients = [s for s in spans if s.kind == SpanKind.CLIENT and s.name == "GET"]
    assert [s.name for s in servers] == ["GET /oauth/callback"]  # probes are not traced
    assert len(clients) == 2
    # The server span continues the client's trace (httpx injected traceparent).
    assert servers[0].context.trace_id in {c.context.trace_id for c in clients}
    for span in spans:
        assert secret not in everything(span)
    assert any("code=[REDACTED]" in everything(c) for c in clients)


@pytest.mark.integration
async def test_sqlalchemy_statements_are_traced_once(
    exporter: InMemorySpanExporter, database_url: str
) -> None:
    engine = create_async_engine(database_url)
    instrument_sqlalchemy(engine)
    instrument_sqlalchemy(engine)  # idempotent: a second call must not double the spans
    marker = f"qbsync_{uuid.uuid4().hex[:8]}"
    try:
        with tracer("qbsync.test").start_as_current_span("handler") as parent:
            async with engine.connect() as conn:
                await conn.execute(text(f"SELECT 1 AS {marker}"))
    finally:
        await engine.dispose()
    statements = [
        s
        for s in exporter.get_finished_spans()
        if marker in str((s.attributes or {}).get("db.statement", ""))
    ]
    assert len(statements) == 1
    assert statements[0].context.trace_id == parent.get_span_context().trace_id


_EXPORTING_PROCESS = """
import sys
from opentelemetry import trace
from qbsync_common.settings import ServiceSettings
from qbsync_common.telemetry import setup_tracing, shutdown_tracing, tracer

setup_tracing(ServiceSettings(service_name="otlp-probe", otel_endpoint=sys.argv[1]))
with tracer("probe").start_as_current_span("qbsync-otlp-probe") as span:
    span.set_attribute("http.url", "https://x.test/cb?code=" + sys.argv[2])
shutdown_tracing()
"""


async def test_otlp_export_reaches_the_collector_without_secrets() -> None:
    # A separate process: an OTLP processor added here would outlive the test and keep
    # exporting every later test's spans to a closed port.
    received: list[bytes] = []
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=200, media_type="application/x-protobuf")

    secret = uuid.uuid4().hex
    server = await serve(collector, ServiceSettings(service_name="collector", http_port=0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _EXPORTING_PROCESS,
            f"http://127.0.0.1:{server.port}",
            secret,
            env=env,
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        await server.stop()
    body = b"".join(received)
    assert b"qbsync-otlp-probe" in body
    assert b"otlp-probe" in body  # resource service.name
    assert b"code=[REDACTED]" in body
    assert secret.encode() not in body
