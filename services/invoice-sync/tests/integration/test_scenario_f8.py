"""RELIABILITY §8 F8 against invoice-sync: QBO answers 500s, HTML 503s, commits then drops the
response, and throttles; redelivered until done, every invoice exists exactly once in QBO and only
transient errors were ever raised (nothing permanent would have reached the parking lot)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import upstream as up
from world import TOKEN, World

from qbo_client import (
    InMemoryRateLimiter,
    QBOError,
    ServiceError,
    ThrottledError,
    TransportError,
)
from qbsync_common.messaging.errors import is_transient
from qbsync_dev.request_log import RequestLog

pytestmark = pytest.mark.integration

INVOICES = 30


async def test_faulty_qbo_never_duplicates_and_loses_nothing(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(qbo_timeout=5.0)
    await world.deliver(up.partner_synced(world.customer(f"F8 {world.tenant}")))
    await world.deliver(up.invoice())  # preflight, items and terms before the storm
    world.faults(
        error_rate=0.15, error_status=500, drop_after_commit_rate=0.1, html_503=False, seed=8
    )
    invoices = [up.invoice(net_total=Decimal("310.00")) for _ in range(INVOICES)]
    attempts: Counter[str] = Counter()
    permanent: list[QBOError] = []
    for event in invoices:
        event_id = f"evt-{event.invoice_id}"  # a redelivery keeps the event id
        for _ in range(12):
            attempts[event.invoice_id] += 1
            try:
                await world.deliver(event, event_id=event_id)
                break
            except QBOError as exc:
                if not exc.transient:  # would be parked instead of retried
                    permanent.append(exc)
        else:
            raise AssertionError(f"{event.invoice_id} never went through")
    world.faults()

    assert permanent == []
    numbers = Counter(r["DocNumber"] for r in world.records("Invoice"))
    assert all(numbers[e.number] == 1 for e in invoices)
    synced = await world.results("qbsync.document.synced.v1")
    assert len(synced) == INVOICES + 1
    assert sum(attempts.values()) > INVOICES  # the faults did happen
    assert world.stats()["injected_faults"] > 0


def throttle_burst(world: World) -> None:
    """QBO answers 429 to everything until the burst is lifted: one request per minute, and one
    request (ours, whatever QBO answers) already spent in the window."""
    world.limits(per_minute=1)
    httpx.get(
        f"{world.emulator}/v3/company/{world.realm}/preferences",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
    )


async def test_html_503s_and_429_bursts_only_delay_and_refusals_fail_with_a_reason(
    new_world: Callable[..., Any],
) -> None:
    """Each delivery is retried as the consumer would (qbsync_common's is_transient decides retry
    or parking lot). HTML 503s, 500s with dropped answers and 429 bursts are all retried until
    done; QBO's permanent 4xx refusals (a number another partner already uses) are not retried
    and not parked: the document fails with its reason and upstream is told (ARCHITECTURE §3)."""
    world: World = await new_world(qbo_timeout=5.0)
    await world.deliver(up.partner_synced(world.customer(f"F8b {world.tenant}")))
    await world.deliver(up.invoice())  # preflight, items and terms before the storm
    other = world.customer(f"Other {world.tenant}")
    taken = [f"TAKEN-{n}" for n in range(3)]
    for number in taken:
        world.qbo(
            "POST",
            "invoice",
            json={
                "CustomerRef": {"value": other},
                "DocNumber": number,
                "Line": [
                    {
                        "Amount": 1,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": world.item_id("Services")}},
                    }
                ],
            },
        )
    good = [up.invoice(net_total=Decimal("310.00")) for _ in range(18)]
    refused = [up.invoice(number=number) for number in taken]
    events = good + refused
    random.Random(8).shuffle(events)

    errors: Counter[str] = Counter()
    parked: list[str] = []
    for index, event in enumerate(events):
        phase = index % 3
        if phase == 0:
            world.faults(error_rate=0.4, error_status=503, html_503=True, seed=index)
        elif phase == 1:
            world.faults(error_rate=0.3, error_status=500, drop_after_commit_rate=0.2, seed=index)
        else:
            world.faults()
            throttle_burst(world)
        event_id = f"evt-{event.invoice_id}"
        for attempt in range(15):
            if phase == 2 and attempt == 2:
                world.limits()  # the burst is over
            try:
                await world.deliver(event, event_id=event_id)
                break
            except Exception as exc:
                errors[type(exc).__name__] += 1
                if not is_transient(exc):
                    parked.append(f"{event.invoice_id}: {exc}")
                    break
        else:
            raise AssertionError(f"{event.invoice_id} never went through")
        world.limits()
    world.faults()

    assert parked == []
    assert errors[ThrottledError.__name__] >= 2 * (len(events) // 3)  # each burst was felt
    assert errors[ServiceError.__name__] > 0  # 500s and HTML 503s
    assert errors[TransportError.__name__] > 0  # answers dropped after QBO committed
    numbers = Counter(r["DocNumber"] for r in world.records("Invoice"))
    assert all(numbers[e.number] == 1 for e in good)
    assert all(numbers[n] == 1 for n in taken)  # only the other partner's
    synced = {e["data"]["document_id"] for e in await world.results("qbsync.document.synced.v1")}
    assert {e.invoice_id for e in good} <= synced
    failed = await world.results("qbsync.document.sync_failed.v1")
    assert sorted(f["data"]["document_id"] for f in failed) == sorted(e.invoice_id for e in refused)
    for result in failed:
        assert result["data"]["reason_code"] == "qbo-validation"
        assert "already used in QuickBooks by another partner" in result["data"]["message"]


THROTTLED_INVOICES = 5


@pytest.mark.slow
async def test_a_429_backs_the_realm_off_for_a_minute_and_every_invoice_syncs_once(
    new_world: Callable[..., Any],
) -> None:
    """F8 with the real client limiter: after a 429 no request reaches QBO for 60 s, although
    the deliveries it refused are retried at once (as eager redeliveries would be) and QBO would
    take them again a moment later; then each invoice is created exactly once."""
    log = RequestLog()
    world: World = await new_world(
        qbo_timeout=5.0, limiter=InMemoryRateLimiter(), transport=log, max_wait=90.0
    )
    await world.deliver(up.partner_synced(world.customer(f"F8c {world.tenant}")))
    await world.deliver(up.invoice())  # preflight, items and terms before the throttling
    throttle_burst(world)
    invoices = [up.invoice() for _ in range(THROTTLED_INVOICES)]
    throttled: Counter[str] = Counter()

    async def deliver_until_done(event: Any) -> None:
        event_id = f"evt-{event.invoice_id}"  # a redelivery keeps the event id
        for _ in range(5):
            try:
                await world.deliver(event, event_id=event_id)
                return
            except ThrottledError:
                throttled[event.invoice_id] += 1
        raise AssertionError(f"{event.invoice_id} never went through")

    async def lift_after_the_first_429() -> None:
        # Only our limiter keeps requests out from here on: QBO would accept them again.
        await log.throttled.wait()
        world.limits()

    started = time.monotonic()
    await asyncio.gather(lift_after_the_first_429(), *(deliver_until_done(e) for e in invoices))

    assert time.monotonic() - started >= 60  # the back-off was sat out
    throttled_at = log.throttled_at()
    assert 1 <= len(throttled_at) == world.stats()["throttled"]
    assert sum(throttled.values()) == len(throttled_at)
    # Nothing but requests already admitted may leave until the minute after each 429 is over.
    early = log.sent_during_backoff(60.0)
    assert early == [], f"requests {early} s after a 429"
    numbers = Counter(r["DocNumber"] for r in world.records("Invoice"))
    assert all(numbers[e.number] == 1 for e in invoices)
    synced = Counter(
        e["data"]["document_id"] for e in await world.results("qbsync.document.synced.v1")
    )
    assert all(synced[e.invoice_id] == 1 for e in invoices)
