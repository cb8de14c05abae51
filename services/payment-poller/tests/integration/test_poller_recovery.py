"""Recovery rules: documents found again by number, tenants offline or needing re-authorization."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from docs import synced

from conftest import World
from payment_poller.adapters.qbo import ENTITIES
from qbsync_common.contract import events
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.tenant_settings import StaticTenantSettings

pytestmark = pytest.mark.integration

RECEIVED = "qbsync.payment.received.v1"
REVERSED = "qbsync.payment.reversed.v1"
RECREATE = "qbsync.document.recreate_requested.v1"
REKEYED = "qbsync.document.rekeyed.v1"


async def test_missing_invoice_found_by_number_or_recreated(world: World) -> None:
    p = await world.poller()
    moved = await world.books.invoice("100.00", number="R-100")
    lost = await world.books.invoice("50.00", number="R-200")
    moved_id = await synced(world, p, moved)
    lost_id = await synced(world, p, lost)
    await world.books.s.delete(moved, request_id=f"del-{moved.Id}")
    await world.books.s.delete(lost, request_id=f"del-{lost.Id}")
    again = await world.books.invoice("100.00", number="R-100")  # re-entered by a user
    await world.poll_now(p)
    keys = {
        r["document_id"]: (r["qbo_id"], r["status"])
        for r in await world.sql("SELECT * FROM {s}.documents WHERE tenant_id = :t")
    }
    assert keys[moved_id] == (again.Id, "synced")
    assert keys[lost_id] == (lost.Id, "missing")
    [recreate] = await world.events(RECREATE)
    assert recreate == {
        "document_kind": "invoice",
        "document_id": lost_id,
        "missing_sync_key": lost.Id,
        "reason": "not-found-in-qbo",
    }
    # invoice-sync and upstream learn the new key from the same commit.
    [rekeyed] = await world.events(REKEYED)
    assert rekeyed == {
        "document_kind": "invoice",
        "document_id": moved_id,
        "old_sync_key": moved.Id,
        "new_sync_key": again.Id,
        "found_by": "number",
    }
    # Payments on the re-keyed invoice are matched under its new key.
    await world.books.user_pays(invoice_id=again.Id, amount="10.00")
    await world.poll_now(p)
    await world.poll_now(p)
    [received] = await world.events(RECEIVED)
    assert received["invoice_id"] == moved_id
    assert received["qbo_invoice_id"] == again.Id
    assert len(await world.events(RECREATE)) == 1
    assert len(await world.events(REKEYED)) == 1


async def test_reauthorization_skips_then_catches_up_after_31_days(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    early = await world.books.payment([("Invoice", invoice.Id or "", "30.00")], total="30.00")
    await world.poll_now(p)
    assert len(await world.events(RECEIVED)) == 1

    await world.deliver(
        p,
        events.TenantReauthorizationRequired(
            realm_id=world.realm_id, reason="invalid-grant", detected_at=datetime.now(UTC)
        ),
    )
    # While offline: the early payment is deleted, a new one is recorded.
    await world.books.s.delete(early, request_id=f"del-{early.Id}")
    late = await world.books.payment([("Invoice", invoice.Id or "", "45.00")], total="45.00")
    assert await world.poll_now(p) == 0  # skipped: nobody polls a tenant needing re-auth
    # 31 days pass before the tenant reconnects: CDC cannot look back that far.
    await world.sql(
        "UPDATE {s}.poll_schedule SET cursor = :c WHERE tenant_id = :t",
        c=datetime.now(UTC) - timedelta(days=31),
    )
    await world.deliver(
        p, events.TenantConnectionRecovered(realm_id=world.realm_id, recovered_at=datetime.now(UTC))
    )
    assert await p.poller.run_due() == 1
    runs = await world.runs()
    assert runs[-1]["trigger"] == "catch-up"
    assert runs[-1]["mode"] == "query"
    received = await world.events(RECEIVED)
    assert [e["qbo_payment_id"] for e in received] == [early.Id, late.Id]
    assert Decimal(received[1]["remaining_balance"]) == Decimal("55.00")
    [reversed_] = await world.events(REVERSED)
    assert (reversed_["qbo_payment_id"], reversed_["reversal"]) == (early.Id, "deleted")
    [status] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert status["state"] == "connected"
    assert status["cursor"] > datetime.now(UTC) - timedelta(minutes=1)


async def test_connection_events_and_settings_drive_the_schedule(world: World) -> None:
    p = await world.poller()
    source = p.handlers.tenant_settings
    assert isinstance(source, StaticTenantSettings)
    source.set(world.tenant, TenantSettings(payment_poll_interval_seconds=450))
    connected_at = datetime.now(UTC)
    await world.deliver(
        p, events.TenantConnected(realm_id=world.realm_id, connected_at=connected_at)
    )

    async def schedule() -> Any:
        [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
        return row

    row = await schedule()
    assert (row["state"], row["realm_id"], row["interval_s"]) == ("connected", world.realm_id, 450)
    assert row["cursor"] == connected_at
    assert await p.poller.run_due() == 1  # polled at once after connecting
    assert (await world.runs())[-1]["trigger"] == "connected"
    row = await schedule()
    # The next poll is one interval after this one started (it took less than a second).
    period = row["next_poll_at"] - row["last_success_at"]
    assert timedelta(seconds=449) < period <= timedelta(seconds=450)

    def changed(version: int, interval: int) -> events.TenantSettingsChanged:
        return events.TenantSettingsChanged(
            version=version, settings={"payment_poll_interval_seconds": interval}
        )

    await world.deliver(p, changed(3, 300))
    await world.deliver(p, changed(2, 1000))  # older: ignored
    row = await schedule()
    assert row["interval_s"] == 300
    assert row["next_poll_at"] - row["last_success_at"] <= timedelta(seconds=301)

    await world.deliver(
        p,
        events.TenantDisconnected(
            realm_id=world.realm_id, disconnected_at=datetime.now(UTC), initiated_by="tenant"
        ),
    )
    assert await world.poll_now(p) == 0
    assert (await schedule())["state"] == "disconnected"


async def test_a_tenant_first_seen_through_a_document_gets_its_realm_and_settings(
    world: World,
) -> None:
    p = await world.poller(default_poll_interval_s=900)
    source = p.handlers.tenant_settings
    assert isinstance(source, StaticTenantSettings)
    source.set(world.tenant, TenantSettings(payment_poll_interval_seconds=600))
    await synced(world, p, await world.books.invoice("10.00"))
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert (row["realm_id"], row["interval_s"]) == (None, 900)  # no connection event seen

    assert await world.poll_now(p) == 1
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert (row["realm_id"], row["interval_s"]) == (world.realm_id, 600)
    # The next poll already follows the tenant's own interval.
    assert row["next_poll_at"] - row["last_success_at"] <= timedelta(seconds=600)
    assert (await world.runs())[-1]["outcome"] == "ok"


async def test_a_webhook_for_an_unknown_tenant_schedules_it(world: World) -> None:
    p = await world.poller(default_poll_interval_s=900)
    source = p.handlers.tenant_settings
    assert isinstance(source, StaticTenantSettings)
    source.set(world.tenant, TenantSettings(payment_poll_interval_seconds=300))
    changed_at = datetime.now(UTC) - timedelta(minutes=20)
    await world.deliver(
        p,
        events.QboEntitiesChanged(
            realm_id=world.realm_id,
            entities=[
                events.EntityChange(
                    name="Payment", id="77", operation="Create", last_updated=changed_at
                )
            ],
        ),
    )
    registry = p.parts.metrics.registry
    assert registry.get_sample_value("qbsync_poller_unknown_tenant_webhooks_total") == 1.0
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert (row["state"], row["pending_trigger"], row["cursor"]) == (
        "connected",
        "webhook",
        changed_at,
    )
    assert await world.poll_now(p) == 1
    [run] = await world.runs()
    assert (run["trigger"], run["outcome"]) == ("webhook", "ok")
    # The poll read from the webhook's change on, not from "now".
    assert run["window_from"] <= changed_at
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert (row["realm_id"], row["interval_s"]) == (world.realm_id, 300)

    # A second webhook for the now known tenant is an ordinary trigger.
    await world.deliver(
        p,
        events.QboEntitiesChanged(
            realm_id=world.realm_id,
            entities=[
                events.EntityChange(
                    name="Payment", id="78", operation="Create", last_updated=datetime.now(UTC)
                )
            ],
        ),
    )
    assert registry.get_sample_value("qbsync_poller_unknown_tenant_webhooks_total") == 1.0


async def stats(world: World) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{world.emulator_url}/_emulator/companies/{world.realm_id}/stats")
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


async def test_query_mode_finds_deleted_documents_and_payments_in_batches(world: World) -> None:
    p = await world.poller()
    moved = await world.books.invoice("100.00", number="Q-100")
    lost = await world.books.invoice("50.00", number="Q-200")
    kept = await world.books.invoice("70.00")
    bill = await world.books.bill("40.00")
    moved_id = await synced(world, p, moved)
    lost_id = await synced(world, p, lost)
    await synced(world, p, kept)
    lost_bill_id = await synced(world, p, bill, kind="bill")
    pays = [
        await world.books.payment([("Invoice", kept.Id or "", "10.00")], total="10.00")
        for _ in range(3)
    ]
    await world.poll_now(p)
    assert len(await world.events(RECEIVED)) == 3

    # Offline for 31 days; meanwhile documents and payments are deleted in QBO.
    await world.sql(
        "UPDATE {s}.poll_schedule SET state = 'needs_reauthorization' WHERE tenant_id = :t"
    )
    for doc in (moved, lost, bill):
        await world.books.s.delete(doc, request_id=f"del-{doc.Id}")
    for pay in pays[:2]:
        await world.books.s.delete(pay, request_id=f"del-{pay.Id}")
    again = await world.books.invoice("100.00", number="Q-100")
    await world.sql(
        "UPDATE {s}.poll_schedule SET cursor = :c WHERE tenant_id = :t",
        c=datetime.now(UTC) - timedelta(days=31),
    )
    before = await stats(world)
    await world.deliver(
        p, events.TenantConnectionRecovered(realm_id=world.realm_id, recovered_at=datetime.now(UTC))
    )
    assert await p.poller.run_due() == 1
    assert (await world.runs())[-1]["mode"] == "query"

    keys = {
        r["document_id"]: (r["qbo_id"], r["status"])
        for r in await world.sql("SELECT * FROM {s}.documents WHERE tenant_id = :t")
    }
    assert keys[moved_id] == (again.Id, "synced")
    assert keys[lost_id] == (lost.Id, "missing")
    assert keys[lost_bill_id] == (bill.Id, "missing")
    assert sorted((e["document_kind"], e["document_id"]) for e in await world.events(RECREATE)) == [
        ("bill", lost_bill_id),
        ("invoice", lost_id),
    ]
    assert {e["qbo_payment_id"] for e in await world.events(REVERSED)} == {
        pays[0].Id,
        pays[1].Id,
    }
    # Existence is asked with batched queries, never one GET per tracked object.
    calls = _calls_between(before, await stats(world))
    assert {key for key in calls if key[0] == "GET"} <= {("GET", "cdc")}, calls
    # The client's COUNT for the checkpoint, the fallback queries of the window, one existence
    # query each for payments, invoices and bills, and one by-number query per deleted document.
    queries = calls.get(("POST", "query"), 0)
    assert queries <= 1 + len(ENTITIES) + 3 + 3, calls


def _calls_between(before: dict[str, Any], after: dict[str, Any]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for snapshot, sign in ((after, 1), (before, -1)):
        for c in snapshot["calls"]:
            key = (c["method"], c["endpoint"])
            counts[key] = counts.get(key, 0) + sign * c["count"]
    return {k: n for k, n in counts.items() if n}


async def test_recovery_by_number_needs_the_same_customer(world: World) -> None:
    p = await world.poller()
    mine, other = await world.books.customer(), await world.books.other_customer()
    number_a, number_b = f"C-{uuid.uuid4().hex[:6]}", f"C-{uuid.uuid4().hex[:6]}"
    a = await world.books.invoice("100.00", number=number_a)
    b = await world.books.invoice("60.00", number=number_b)
    a_id = await synced(world, p, a)
    b_id = await synced(world, p, b)
    await world.poll_now(p)  # the poll sees both invoices, with their customer
    partners = {
        r["document_id"]: r["partner_qbo_id"]
        for r in await world.sql("SELECT * FROM {s}.documents WHERE tenant_id = :t")
    }
    assert partners == {a_id: mine, b_id: mine}

    await world.books.s.delete(a, request_id=f"del-{a.Id}")
    await world.books.s.delete(b, request_id=f"del-{b.Id}")
    # Someone else's invoice under a's number is not a's; b's is re-entered, next to a
    # same-numbered invoice of another customer.
    await world.books.invoice("100.00", number=number_a, customer=other)
    await world.books.invoice("60.00", number=number_b, customer=other)
    b_again = await world.books.invoice_with_duplicate_number("60.00", number_b)
    await world.poll_now(p)
    keys = {
        r["document_id"]: (r["qbo_id"], r["status"])
        for r in await world.sql("SELECT * FROM {s}.documents WHERE tenant_id = :t")
    }
    assert keys[a_id] == (a.Id, "missing")
    assert keys[b_id] == (b_again.Id, "synced")
    assert [e["document_id"] for e in await world.events(RECREATE)] == [a_id]
