"""The plumbing's promises, in one process against the real broker and database: effects once,
results through the outbox, retries with growing delays, parking with reasons, duplicates absorbed."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import plumbing_app
import pytest
from harness import Harness, wait_until
from prometheus_client.parser import text_string_to_metric_families

from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.logs import JsonFormatter
from qbsync_common.runtime import ServiceRuntime

pytestmark = pytest.mark.integration


@pytest.fixture
async def running(harness: Harness) -> AsyncIterator[ServiceRuntime]:
    runtime = plumbing_app.build(harness.settings(), harness.schema, harness.queue)
    task = asyncio.create_task(runtime.run())
    await wait_until(runtime.broker_ready, 15, "consumer ready")
    yield runtime
    runtime.request_stop()
    await asyncio.wait_for(task, 30)


async def test_event_commits_once_and_its_result_is_published(
    harness: Harness, running: ServiceRuntime
) -> None:
    [event_id] = await harness.publish_partners(["Acme"])

    async def done() -> bool:
        return len(harness.results) == 1 and (await harness.effects_by_event()) == {event_id: 1}

    await wait_until(done, 10, "effect and result")
    result = json.loads(harness.results[0].body)
    assert result["type"] == "qbsync.partner.synced.v1"
    assert result["data"]["operation_id"] == event_id
    assert harness.results[0].message_id == result["id"]

    # B2: the same event id three more times (fresh deliveries, redelivered=false): no new effect.
    body = plumbing_app.partner_event(harness.tenant, "p0", "Acme")
    same = json.loads(body)
    same["id"] = event_id
    for _ in range(3):
        await harness.publish(json.dumps(same).encode(), message_id=event_id)
    duplicates = running.metrics.events_consumed.labels(
        running.metrics.service, harness.queue, "qbsync.partner.upserted.v1", "duplicate"
    )

    async def absorbed() -> bool:
        return duplicates._value.get() == 3

    await wait_until(absorbed, 10, "three duplicates acknowledged")
    assert await harness.effects_by_event() == {event_id: 1}
    assert len(harness.results) == 1
    assert await harness.fetch("SELECT * FROM {s}.outbox") == []


async def test_transient_failures_retry_with_growing_delays_without_blocking_others(
    harness: Harness, running: ServiceRuntime
) -> None:
    [flaky] = await harness.publish_partners(["flaky-2"])
    others = await harness.publish_partners([f"ok-{i}" for i in range(5)])

    async def others_done() -> bool:
        effects = await harness.effects_by_event()
        return all(effects.get(i) == 1 for i in others)

    await wait_until(others_done, 5, "innocent events")
    assert flaky not in await harness.effects_by_event(), "others finished before the retries did"

    async def flaky_done() -> bool:
        return (await harness.effects_by_event()).get(flaky) == 1

    await wait_until(flaky_done, 15, "flaky event after retries")
    rows = await harness.fetch(
        "SELECT attempt, at FROM {s}.attempts WHERE event_id=$1 ORDER BY attempt", flaky
    )
    assert [r["attempt"] for r in rows] == [1, 2, 3]
    first_gap = (rows[1]["at"] - rows[0]["at"]).total_seconds()
    second_gap = (rows[2]["at"] - rows[1]["at"]).total_seconds()
    assert first_gap >= 0.15  # tier 200 ms, jitter shortens by at most 20 %
    assert second_gap >= 0.3  # tier 400 ms
    assert second_gap > first_gap


async def test_bad_messages_are_parked_with_reasons_and_the_consumer_keeps_going(
    harness: Harness, running: ServiceRuntime
) -> None:
    await harness.publish(b"{not json", message_id="malformed-1")
    unknown = json.loads(plumbing_app.partner_event(harness.tenant, "u1", "x"))
    unknown["type"] = "qbsync.no.such.event.v1"
    await harness.publish(json.dumps(unknown).encode(), message_id="unknown-1")
    invalid = json.loads(plumbing_app.partner_event(harness.tenant, "i1", "x"))
    del invalid["data"]["partner_id"]
    await harness.publish(json.dumps(invalid).encode(), message_id="invalid-1")
    # RELIABILITY §8 B1's 10 MB body (our shared test broker has no size limit, unlike the one
    # deploy/rabbitmq configures): refused by its size, without parsing it.
    huge = json.loads(plumbing_app.partner_event(harness.tenant, "h1", "x"))
    huge["data"]["name"] = "x" * (10 * 1024 * 1024)
    await harness.publish(json.dumps(huge).encode(), message_id="huge-1")
    [poison] = await harness.publish_partners(["poison"])
    [good] = await harness.publish_partners(["after-the-bad-ones"])

    async def good_done() -> bool:
        return (await harness.effects_by_event()).get(good) == 1

    await wait_until(good_done, 10, "the good event")
    parked: dict[str, str] = {}

    async def all_parked() -> bool:
        for message in await harness.parked():
            parked[message.message_id or ""] = str(
                (message.headers or {}).get("x-qbsync-park-reason")
            )
        return len(parked) == 5

    await wait_until(all_parked, 10, "five parked messages")
    assert parked["malformed-1"].startswith("malformed-json")
    assert parked["unknown-1"].startswith("unknown-type")
    assert parked["invalid-1"].startswith("invalid-data")
    assert "partner_id" in parked["invalid-1"]
    assert parked["huge-1"].startswith("too-large")
    assert f"has {len(json.dumps(huge)):,} bytes" in parked["huge-1"]
    assert parked[poison].startswith("permanent")
    assert "poison-pill" in parked[poison]
    assert poison not in await harness.effects_by_event()


async def test_retries_are_exhausted_into_the_parking_lot(
    harness: Harness, running: ServiceRuntime
) -> None:
    [hopeless] = await harness.publish_partners(["flaky-99"])
    reasons: list[str] = []

    async def parked() -> bool:
        reasons.extend(
            str((m.headers or {}).get("x-qbsync-park-reason")) for m in await harness.parked()
        )
        return bool(reasons)

    await wait_until(parked, 15, "exhausted event parked")
    assert reasons[0].startswith("retries-exhausted after 4")
    attempts = await harness.fetch("SELECT attempt FROM {s}.attempts WHERE event_id=$1", hopeless)
    assert sorted(r["attempt"] for r in attempts) == [1, 2, 3, 4]


async def test_outbox_backlog_is_exported_while_rows_wait(
    harness: Harness, running: ServiceRuntime
) -> None:
    # A row written two minutes ago whose next attempt is an hour away: the relay leaves it
    # pending, as it does a row the broker refused.
    await harness.fetch(
        """INSERT INTO {s}.outbox
               (event_id, exchange, routing_key, body, headers, created_at, next_attempt_at)
           VALUES ('backlog-1', 'qbsync.results', 'qbsync.partner.synced.v1', '\\x7b7d', '{}',
                   now() - interval '2 minutes', now() + interval '1 hour')"""
    )
    service = running.metrics.service

    def exported(name: str) -> float | None:
        body, _ = running.metrics.render()
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name == name and sample.labels == {"service": service}:
                    return sample.value
        return None

    async def counted() -> bool:
        return exported("qbsync_outbox_pending_rows") == 1

    await wait_until(counted, 20, "the pending row in /metrics")
    age = exported("qbsync_outbox_oldest_pending_age_seconds")
    assert age is not None and age >= 120

    await harness.fetch("DELETE FROM {s}.outbox WHERE event_id = 'backlog-1'")

    async def drained() -> bool:
        return exported("qbsync_outbox_pending_rows") == 0

    await wait_until(drained, 20, "the backlog back to zero")
    assert exported("qbsync_outbox_oldest_pending_age_seconds") == 0


async def test_a_known_event_type_without_a_handler_is_parked_not_implemented(
    harness: Harness, running: ServiceRuntime
) -> None:
    # A contract event the test app has no handler for (it handles partner.upserted only).
    event = new_event(
        events.PartnerDeactivated(kind="vendor", partner_id="v1", version=3),
        tenant_id=harness.tenant,
        source="plumbing-test",
    )
    await harness.publish(encode(event), message_id=event.id)
    [good] = await harness.publish_partners(["after-the-unhandled-one"])

    async def good_done() -> bool:
        return (await harness.effects_by_event()).get(good) == 1

    await wait_until(good_done, 10, "the handled event")
    parked: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def is_parked() -> bool:
        parked.extend(await harness.parked())
        return bool(parked)

    await wait_until(is_parked, 10, "the unhandled event parked")
    [message] = parked
    assert message.message_id == event.id
    reason = str((message.headers or {}).get("x-qbsync-park-reason"))
    assert reason == "not-implemented: no handler for qbsync.partner.deactivated.v1"
    assert event.id not in await harness.effects_by_event()


class _JsonLines(logging.Handler):
    """Formats each record as it is emitted, in the emitting task, as production logging does:
    the ids live in that task's context, not on the record."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter("plumbing-test"))
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def consumer_log() -> Iterator[_JsonLines]:
    logger = logging.getLogger("qbsync_common.messaging.consumer")
    handler, level = _JsonLines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_log_lines_of_a_delivery_carry_its_trace_tenant_and_event_ids(
    harness: Harness, running: ServiceRuntime, consumer_log: _JsonLines
) -> None:
    trace_id = uuid.uuid4().hex
    headers = {
        "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01",
        "tenantid": harness.tenant,
    }

    def body(name: str) -> bytes:
        return plumbing_app.partner_event(harness.tenant, f"p-{name}", name)

    flaky, poison = body("flaky-1"), body("poison")
    invalid = json.loads(body("invalid"))
    del invalid["data"]["partner_id"]
    unhandled = encode(
        new_event(
            events.PartnerDeactivated(kind="vendor", partner_id="v1", version=3),
            tenant_id=harness.tenant,
            source="plumbing-test",
        )
    )
    sent = {
        # Each path that logs: a retry, a permanent failure, an event failing the contract, a
        # body that is not even JSON (its ids come from the message's properties) and no handler.
        json.loads(flaky)["id"]: flaky,
        json.loads(poison)["id"]: poison,
        invalid["id"]: json.dumps(invalid).encode(),
        f"malformed-{uuid.uuid4().hex[:8]}": b"{not json",
        json.loads(unhandled)["id"]: unhandled,
    }
    for event_id, payload in sent.items():
        await harness.publish(payload, message_id=event_id, headers=headers)

    async def settled() -> bool:
        return (await harness.effects_by_event()).get(json.loads(flaky)["id"]) == 1 and all(
            any(event_id in line["msg"] for line in consumer_log.lines) for event_id in sent
        )

    await wait_until(settled, 15, "every delivery handled and logged")
    ours = [line for line in consumer_log.lines if any(e in line["msg"] for e in sent)]
    for line in ours:
        [event_id] = [e for e in sent if e in line["msg"]]
        ids = (line["event_id"], line["tenant_id"], line["trace_id"])
        assert ids == (event_id, harness.tenant, trace_id), line
    assert {e for e in sent if any(e in line["msg"] for line in ours)} == set(sent)
