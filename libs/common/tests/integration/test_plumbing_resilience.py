"""Broker and database faults around a running service (RELIABILITY §8 F3, F6, B3) and one trace
across publish → consume → database → publish."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import plumbing_app
import pytest
from harness import Harness, wait_until
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import new_event
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.telemetry import inject_headers, setup_tracing

pytestmark = pytest.mark.integration


@pytest.fixture
async def running(harness: Harness) -> AsyncIterator[ServiceRuntime]:
    runtime = plumbing_app.build(harness.settings(), harness.schema, harness.queue)
    task = asyncio.create_task(runtime.run())
    await wait_until(runtime.broker_ready, 15, "consumer ready")
    yield runtime
    runtime.request_stop()
    await asyncio.wait_for(task, 30)


async def _consumers(harness: Harness) -> int:
    connection = await aio_pika.connect(harness.broker_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(harness.queue, passive=True)
        return int(queue.declaration_result.consumer_count or 0)


async def test_f3_consumers_come_back_after_the_broker_drops_the_connection(
    harness: Harness, running: ServiceRuntime
) -> None:
    first = await harness.publish_partners(["before-1", "before-2"])
    await wait_until(lambda: _all_done(harness, first), 10, "events before the connection loss")
    # Broker-side close of exactly this service's connection (named after the service).
    listing = await asyncio.to_thread(
        subprocess.run,
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
    )
    pids = [line.split("\t")[0] for line in listing.stdout.splitlines() if harness.queue in line]
    assert pids, "the service's connection is not visible to the broker"
    for pid in pids:
        await asyncio.to_thread(
            subprocess.run,
            ["rabbitmqctl", "-q", "close_connection", pid, "qbsync F3 test"],
            check=True,
            capture_output=True,
        )

    async def back() -> bool:
        return await running.broker_ready() and await _consumers(harness) == 1

    await wait_until(back, 30, "consumer back on the queue within 30 s")
    after = await harness.publish_partners(["after-1", "after-2"])
    await wait_until(lambda: _all_done(harness, after), 10, "events after reconnect")
    effects = await harness.effects_by_event()
    assert all(effects[e] == 1 for e in first + after)


async def test_f6_database_connections_killed_mid_run_lose_and_duplicate_nothing(
    harness: Harness, running: ServiceRuntime
) -> None:
    event_ids = await harness.publish_partners([f"p-{i}" for i in range(60)])
    admin = await asyncpg.connect(harness.dsn)
    try:
        for _ in range(5):
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = $1 AND pid <> pg_backend_pid()",
                harness.queue,
            )
            await asyncio.sleep(0.3)
    finally:
        await admin.close()
    await wait_until(lambda: _all_done(harness, event_ids), 60, "every event after DB faults")
    effects = await harness.effects_by_event()
    assert {e: effects[e] for e in event_ids} == dict.fromkeys(event_ids, 1)

    async def results_complete() -> bool:
        ids = {json.loads(m.body)["data"]["operation_id"] for m in harness.results}
        return ids >= set(event_ids)

    await wait_until(results_complete, 30, "every result relayed")


async def test_b3_unroutable_event_is_an_error_and_stays_pending(
    harness: Harness, running: ServiceRuntime, broker_url: str
) -> None:
    exchange = f"b3-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, auto_delete=False)
        from qbsync_common.contract import events
        from qbsync_common.outbox import Outbox
        from qbsync_common.tables import plumbing_tables

        metadata, _, _ = plumbing_app.tables(harness.schema)
        outbox = Outbox(plumbing_tables(metadata))
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        engine = create_async_engine(harness.database_url)
        event = new_event(
            events.PartnerDeactivated(kind="vendor", partner_id="v1", version=3),
            tenant_id=harness.tenant,
            source="b3-test",
        )
        async with async_sessionmaker(engine)() as session, session.begin():
            await outbox.enqueue(session, event, exchange=exchange)
        await engine.dispose()

        async def refused() -> bool:
            rows = await harness.fetch("SELECT attempts, last_error FROM {s}.outbox")
            return bool(rows) and rows[0]["attempts"] >= 1

        await wait_until(refused, 10, "the relay's attempt")
        [row] = await harness.fetch("SELECT event_id, attempts, last_error FROM {s}.outbox")
        assert row["event_id"] == event.id
        assert "NO_ROUTE" in row["last_error"] or "unroutable" in row["last_error"].lower()
        await channel.exchange_delete(exchange)


async def test_rows_after_a_refused_row_of_their_aggregate_wait_for_it(
    harness: Harness, running: ServiceRuntime, broker_url: str
) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from qbsync_common.contract import events
    from qbsync_common.messaging.topology import RESULTS_EXCHANGE
    from qbsync_common.outbox import AGGREGATE_HEADER, Outbox
    from qbsync_common.tables import plumbing_tables

    def deactivated(partner_id: str, version: int) -> Envelope:
        return new_event(
            events.PartnerDeactivated(kind="vendor", partner_id=partner_id, version=version),
            tenant_id=harness.tenant,
            source="order-test",
            subject=f"vendor/{partner_id}",
        )

    metadata, _, _ = plumbing_app.tables(harness.schema)
    outbox = Outbox(plumbing_tables(metadata))
    engine = create_async_engine(harness.database_url)
    sessions = async_sessionmaker(engine)
    # An exchange nothing is bound to yet: the broker refuses the first event of vendor/v1.
    exchange = f"order-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        refused_to = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC)
        first = deactivated("v1", 1)
        async with sessions() as session, session.begin():
            await outbox.enqueue(session, first, exchange=exchange)

        async def refused() -> bool:
            rows = await harness.fetch("SELECT attempts FROM {s}.outbox")
            return bool(rows) and rows[0]["attempts"] >= 1

        await wait_until(refused, 10, "the relay's refused attempt")
        later, other = deactivated("v1", 2), deactivated("v2", 1)
        async with sessions() as session, session.begin():
            await outbox.enqueue_many(session, [later, other], exchange=RESULTS_EXCHANGE)

        await wait_until(lambda: _published(harness, other.id), 10, "another aggregate's event")
        # vendor/v1's second event was written before the other one and is due, yet it waits.
        assert not await _published(harness, later.id)
        pending = await harness.fetch("SELECT event_id FROM {s}.outbox ORDER BY seq")
        assert [r["event_id"] for r in pending] == [first.id, later.id]

        # The route appears; the refused event goes out on its next attempt, then the later one.
        sink = await channel.declare_queue(exclusive=True)
        await sink.bind(refused_to, "#")
        await wait_until(lambda: _published(harness, later.id), 30, "the held-back event")
        message = await sink.get(no_ack=True, fail=False)
        assert message is not None and message.message_id == first.id
        assert AGGREGATE_HEADER not in (message.headers or {})
        assert await harness.fetch("SELECT * FROM {s}.outbox") == []
        await channel.exchange_delete(exchange)
    await engine.dispose()


async def _published(harness: Harness, event_id: str) -> bool:
    return any(m.message_id == event_id for m in harness.results)


async def test_one_trace_spans_publish_consume_database_and_the_published_result(
    harness: Harness,
) -> None:
    exporter = InMemorySpanExporter()
    setup_tracing(harness.settings(), exporter=exporter)
    runtime = plumbing_app.build(harness.settings(), harness.schema, harness.queue)
    task = asyncio.create_task(runtime.run())
    try:
        await wait_until(runtime.broker_ready, 15, "consumer ready")
        tracer = trace.get_tracer("upstream-app")
        with tracer.start_as_current_span("send qbsync.events") as upstream:
            body = plumbing_app.partner_event(harness.tenant, "t1", "Traced Ltd")
            headers = inject_headers({})
            connection = await aio_pika.connect(harness.broker_url)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                await channel.default_exchange.publish(
                    aio_pika.Message(body, headers=headers, message_id=json.loads(body)["id"]),
                    harness.queue,
                )
        trace_id = upstream.get_span_context().trace_id
        await wait_until(lambda: _results(harness, 1), 10, "the result")
    finally:
        runtime.request_stop()
        await asyncio.wait_for(task, 30)
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    exporter.shutdown()  # the global provider outlives this test; stop collecting into it
    names = [s.name for s in spans]
    assert f"process {harness.queue}" in names
    assert any(s.attributes and "db.statement" in s.attributes for s in spans) or any(
        n.split()[0] in {"INSERT", "SELECT", "connect"} for n in names
    ), names
    assert "send qbsync.results" in names
    result_header = harness.results[0].headers or {}
    traceparent = result_header.get("traceparent")
    assert isinstance(traceparent, str | bytes)
    text = traceparent.decode() if isinstance(traceparent, bytes) else traceparent
    assert text.split("-")[1] == format(trace_id, "032x")


async def _all_done(harness: Harness, event_ids: list[str]) -> bool:
    effects = await harness.effects_by_event()
    return all(effects.get(e) == 1 for e in event_ids)


async def _results(harness: Harness, n: int) -> bool:
    return len(harness.results) >= n
