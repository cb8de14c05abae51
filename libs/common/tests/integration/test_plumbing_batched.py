"""A `Batched` handler keeps every promise of the one-by-one path: effects once, results through
the outbox, duplicates absorbed, and one bad event neither parks nor delays its batch neighbours."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import plumbing_app
import pytest
from harness import Harness, wait_until

from qbsync_common.runtime import ServiceRuntime

pytestmark = pytest.mark.integration


@asynccontextmanager
async def batched_app(harness: Harness) -> AsyncIterator[ServiceRuntime]:
    runtime = plumbing_app.build(
        harness.settings(prefetch=64), harness.schema, harness.queue, batched=True
    )
    task = asyncio.create_task(runtime.run())
    await wait_until(runtime.broker_ready, 15, "consumer ready")
    yield runtime
    runtime.request_stop()
    await asyncio.wait_for(task, 30)


@pytest.fixture
async def running(harness: Harness) -> AsyncIterator[ServiceRuntime]:
    async with batched_app(harness) as runtime:
        yield runtime


def outcome_count(runtime: ServiceRuntime, queue: str, outcome: str) -> float:
    counter = runtime.metrics.events_consumed.labels(
        runtime.metrics.service, queue, plumbing_app.PARTNER_UPSERTED, outcome
    )
    return float(counter._value.get())


async def test_a_backlog_commits_in_batches_each_event_once(harness: Harness) -> None:
    # A backlog waiting when the service starts: it arrives as fast as prefetch allows.
    ids = await harness.publish_partners([f"partner-{i}" for i in range(150)])

    async def done() -> bool:
        return len(harness.results) >= 150

    async with batched_app(harness) as running:
        await wait_until(done, 20, "150 results")
        assert outcome_count(running, harness.queue, "ack") == 150
    effects = await harness.effects_by_event()
    assert effects == dict.fromkeys(ids, 1)
    results = sorted(json.loads(m.body)["data"]["operation_id"] for m in harness.results)
    assert results == sorted(ids)
    # Batched for real: far fewer transactions than events (the inbox rows of one batch share
    # their transaction id).
    [row] = await harness.fetch("SELECT count(DISTINCT xmin::text) AS txns FROM {s}.inbox")
    assert row["txns"] < 150 / 4
    assert await harness.fetch("SELECT * FROM {s}.outbox") == []


async def test_duplicates_inside_a_batch_and_of_done_events_run_once(
    harness: Harness, running: ServiceRuntime
) -> None:
    [first] = await harness.publish_partners(["Acme"])

    async def first_done() -> bool:
        return len(harness.results) == 1

    await wait_until(first_done, 10, "the first event")
    body = plumbing_app.partner_event(harness.tenant, "p9", "Globex")
    fresh = json.loads(body)["id"]
    done_again = json.loads(plumbing_app.partner_event(harness.tenant, "p0", "Acme"))
    done_again["id"] = first
    # One burst: a fresh event three times and an already-processed one twice; fresh
    # deliveries all, so they travel together in one batch.
    await asyncio.gather(
        *(harness.publish(body, message_id=fresh) for _ in range(3)),
        *(harness.publish(json.dumps(done_again).encode(), message_id=first) for _ in range(2)),
    )

    async def settled() -> bool:
        return outcome_count(running, harness.queue, "duplicate") == 4

    await wait_until(settled, 10, "four duplicates acknowledged")
    assert await harness.effects_by_event() == {first: 1, fresh: 1}
    assert sorted(json.loads(m.body)["data"]["operation_id"] for m in harness.results) == sorted(
        [first, fresh]
    )


async def test_a_bad_event_fails_alone_its_neighbours_commit(
    harness: Harness, running: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    names = ["ok-0", "poison", "ok-1", "flaky-1", "ok-2"]
    bodies = [plumbing_app.partner_event(harness.tenant, f"p{i}", n) for i, n in enumerate(names)]
    ids = {n: json.loads(b)["id"] for n, b in zip(names, bodies, strict=True)}
    # Published together so that they share a batch (the log line below proves they did).
    await asyncio.gather(
        *(harness.publish(b, message_id=ids[n]) for n, b in zip(names, bodies, strict=True))
    )

    async def done() -> bool:
        effects = await harness.effects_by_event()
        return all(effects.get(ids[n]) == 1 for n in names if n != "poison")

    await wait_until(done, 20, "the good events and the flaky one after its retry")
    effects = await harness.effects_by_event()
    assert ids["poison"] not in effects
    assert all(n == 1 for n in effects.values())
    parked = await harness.parked()
    assert [json.loads(m.body)["id"] for m in parked] == [ids["poison"]]
    assert "poison-pill" in str((parked[0].headers or {}).get("x-qbsync-park-reason"))
    assert outcome_count(running, harness.queue, "retry") == 1
    assert any("one by one now" in r.getMessage() for r in caplog.records)
