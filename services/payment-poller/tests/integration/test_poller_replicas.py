"""Several replicas and crashes: each change is published exactly once and nothing is lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from docs import synced

from conftest import World
from payment_poller.bootstrap import Assembled
from qbsync_common.contract import events

pytestmark = pytest.mark.integration

RECEIVED = "qbsync.payment.received.v1"


class Crash(BaseException):
    """Stands in for SIGKILL: nothing after the crash point runs, no cleanup, no rollback hook."""


def crash_at(point: str) -> object:
    def hook(reached: str) -> None:
        if reached == point:
            raise Crash(point)

    return hook


async def test_two_replicas_never_publish_the_same_payment_twice(world: World) -> None:
    a, b = await world.poller(), await world.poller()
    invoices = [await world.books.invoice("100.00") for _ in range(3)]
    for invoice in invoices:
        await synced(world, a, invoice)
    for round_ in range(4):
        for invoice in invoices:
            await world.books.user_pays(invoice_id=invoice.Id, amount="10.00")
        # Both replicas race for the same due tenant, several times.
        for _ in range(3):
            await world.sql(
                "UPDATE {s}.poll_schedule SET next_poll_at = now() WHERE tenant_id = :t"
            )
            claimed = await asyncio.gather(a.poller.run_due(), b.poller.run_due())
            assert sorted(claimed) in ([0, 1], [0, 0]), round_
    received = await world.events(RECEIVED)
    assert len(received) == 12
    per_payment = Counter((e["qbo_payment_id"], e["invoice_id"]) for e in received)
    assert set(per_payment.values()) == {1}
    ids = [e.id for e in await world.outbox()]
    assert len(ids) == len(set(ids))
    replicas = {r["replica"] for r in await world.runs()}
    assert replicas <= {"replica-0", "replica-1"}


async def test_crash_mid_poll_loses_nothing_and_duplicates_nothing(world: World) -> None:
    crashing = await world.poller(poll_lease_s=60)
    crashing.poller.crash = crash_at("poll-before-commit")  # type: ignore[assignment]
    invoice = await world.books.invoice("100.00")
    await synced(world, crashing, invoice)
    await world.books.user_pays(invoice_id=invoice.Id, amount="25.00")
    with pytest.raises(Crash):
        await world.poll_now(crashing)
    assert await world.outbox() == []
    [schedule] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert schedule["claimed_by"] == "replica-0"  # the dead replica still "holds" the tenant

    survivor = await world.poller(poll_lease_s=60)
    assert await survivor.poller.run_due() == 0  # the claim has not lapsed yet
    # The lease runs out: moved in the database rather than slept through, so a slow machine
    # cannot lapse it before the assertion above (it once did with a 0.5 s lease).
    await world.sql(
        "UPDATE {s}.poll_schedule SET claim_expires_at = now() - interval '1 second',"
        " next_poll_at = now() - interval '1 second' WHERE tenant_id = :t"
    )
    assert await survivor.poller.run_due() == 1  # due again once the claim lapsed
    [event] = await world.events(RECEIVED)
    assert event["amount_applied"] == "25.00"
    assert (await world.runs())[-1]["replica"] == "replica-1"


async def test_a_replica_whose_claim_lapsed_cannot_commit(world: World) -> None:
    slow = await world.poller(poll_lease_s=0.3)
    fast = await world.poller(poll_lease_s=0.3)
    invoice = await world.books.invoice("100.00")
    await synced(world, slow, invoice)
    await world.books.user_pays(invoice_id=invoice.Id, amount="60.00")
    stale = await _claim(world, slow)
    await asyncio.sleep(0.4)
    assert await fast.poller.run_due() == 1
    await slow.poller.poll(stale)  # finishes its work after losing the claim
    assert len(await world.events(RECEIVED)) == 1
    outcomes = [r["outcome"] for r in await world.runs()]
    assert sorted(outcomes) == ["claim-lost", "ok"]


async def test_a_poll_longer_than_its_lease_keeps_its_claim(world: World) -> None:
    lease = 1.5
    slow = await world.poller(poll_lease_s=lease)
    other = await world.poller(poll_lease_s=lease)
    invoice = await world.books.invoice("100.00")
    await synced(world, slow, invoice)
    await world.books.user_pays(invoice_id=invoice.Id, amount="40.00")
    # QBO answers slowly: the poll's CDC call alone outlasts the lease several times over.
    async with httpx.AsyncClient() as http:
        answer = await http.put(
            f"{world.emulator_url}/_emulator/companies/{world.realm_id}/faults",
            json={"latency_ms": 6000},
        )
    answer.raise_for_status()
    await world.sql("UPDATE {s}.poll_schedule SET next_poll_at = now() WHERE tenant_id = :t")
    polling = asyncio.create_task(slow.poller.run_due())
    await asyncio.sleep(2 * lease)  # the lease taken at the claim has run out by now...
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    [started] = await world.runs()
    # ...but it was renewed: still ours, and nobody else can take the tenant.
    assert row["claimed_by"] == "replica-0"
    assert row["claim_expires_at"] > started["started_at"] + timedelta(seconds=lease)
    assert await other.poller.run_due() == 0
    assert await polling == 1

    [run] = await world.runs()
    assert (run["replica"], run["outcome"]) == ("replica-0", "ok")
    [received] = await world.events(RECEIVED)
    assert received["amount_applied"] == "40.00"
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert (row["claim_token"], row["claim_expires_at"]) == (None, None)


async def _claim(world: World, p: Assembled):  # type: ignore[no-untyped-def]
    await world.sql("UPDATE {s}.poll_schedule SET next_poll_at = now() WHERE tenant_id = :t")
    async with p.parts.sessions() as s, s.begin():
        [claim] = await p.repo.schedule.claim_due(s, p.poller.replica, p.poller.settings.lease, 1)
    return claim


async def test_a_webhook_during_a_poll_is_not_lost(world: World) -> None:
    p = await world.poller(default_poll_interval_s=3600)
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    running = await _claim(world, p)  # a poll is under way...
    await world.books.user_pays(invoice_id=invoice.Id, amount="5.00")
    await world.deliver(  # ...when the webhook for a new payment arrives
        p,
        events.QboEntitiesChanged(
            realm_id=world.realm_id,
            entities=[
                events.EntityChange(
                    name="Payment", id="1", operation="Create", last_updated=datetime.now(UTC)
                )
            ],
        ),
    )
    await p.poller.poll(running)
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert row["pending_trigger"] == "webhook"
    assert row["next_poll_at"] < datetime.now(UTC) + timedelta(seconds=5)
    await asyncio.sleep(0.3)
    assert await p.poller.run_due() == 1
    assert [r["trigger"] for r in await world.runs()] == ["schedule", "webhook"]
    assert len(await world.events(RECEIVED)) == 1
