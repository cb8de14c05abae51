"""Upstream payments into QBO: the tenant toggle, the per-payment override, linking to the invoice,
partial and over-payments, and payments that wait for their invoice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from sqlalchemy import text
from world import Crashed, World, money

from invoice_sync.service_layer import payments
from qbsync_common.contract.events import TenantConnectionRecovered
from qbsync_common.contract.tenant_settings import TenantSettings

pytestmark = pytest.mark.integration

EXPORT_ON = TenantSettings(export_payments_by_default=True)


async def with_invoice(
    new_world: Callable[..., Any], settings: TenantSettings
) -> tuple[World, str]:
    world: World = await new_world(settings=settings)
    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    event = up.invoice()
    await world.deliver(event)
    return world, event.invoice_id


async def test_export_on_links_the_payment_and_marks_it_ours(new_world: Callable[..., Any]) -> None:
    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    pay = up.payment(invoice_id, "100.00")
    await world.deliver(pay)

    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["payment_id"] == pay.payment_id
    [payment] = world.records("Payment")
    assert payment["Id"] == exported["data"]["sync_key"]
    assert "qbsync-op:" in payment["PrivateNote"]
    undeposited = next(a for a in world.records("Account") if a["Name"] == "Undeposited Funds")
    assert payment["DepositToAccountRef"]["value"] == undeposited["Id"]
    invoice_key = (await world.document("invoice", invoice_id))["sync_key"]
    assert payment["Line"][0]["LinkedTxn"][0]["TxnId"] == invoice_key
    [invoice] = world.records("Invoice")
    assert money(invoice["Balance"]) == Decimal("200.00")


async def test_overpayment_leaves_the_rest_unapplied(new_world: Callable[..., Any]) -> None:
    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    await world.deliver(up.payment(invoice_id, "350.00"))

    [payment] = world.records("Payment")
    assert money(payment["TotalAmt"]) == Decimal("350.00")
    assert money(payment["Line"][0]["Amount"]) == Decimal("300.00")
    assert money(payment["UnappliedAmt"]) == Decimal("50.00")
    assert money(world.records("Invoice")[0]["Balance"]) == Decimal(0)


async def test_export_off_sends_nothing_unless_the_payment_asks(
    new_world: Callable[..., Any],
) -> None:
    world, invoice_id = await with_invoice(new_world, TenantSettings())
    quiet = up.payment(invoice_id, "10.00")
    await world.deliver(quiet)
    assert world.records("Payment") == []
    assert (await world.payment(quiet.payment_id))["status"] == "not_exported"

    loud = up.payment(invoice_id, "20.00", export_to_qbo=True)
    await world.deliver(loud)
    [payment] = world.records("Payment")
    assert money(payment["TotalAmt"]) == Decimal("20.00")


async def test_per_payment_override_can_turn_export_off(new_world: Callable[..., Any]) -> None:
    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    await world.deliver(up.payment(invoice_id, "20.00", export_to_qbo=False))
    assert world.records("Payment") == []
    assert await world.results("qbsync.payment.exported.v1") == []


async def test_payment_waits_for_its_invoice(new_world: Callable[..., Any]) -> None:
    world: World = await new_world(settings=EXPORT_ON)
    event = up.invoice()
    pay = up.payment(event.invoice_id, "300.00")
    await world.deliver(pay)
    assert (await world.payment(pay.payment_id))["status"] == "waiting_invoice"

    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    await world.deliver(event)

    assert (await world.payment(pay.payment_id))["status"] == "exported"
    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["invoice_id"] == event.invoice_id
    assert money(world.records("Invoice")[0]["Balance"]) == Decimal(0)


async def test_a_waiting_payment_cut_off_by_a_crash_goes_with_the_invoice_redelivery(
    new_world: Callable[..., Any],
) -> None:
    # The process dies after QBO took the invoice and the payment that waited for it, before the
    # invoice's transaction commits. The payment's own event was acknowledged when it started
    # waiting: the invoice's redelivery must finish it, once.
    world: World = await new_world(settings=EXPORT_ON)
    event = up.invoice()
    pay = up.payment(event.invoice_id, "300.00")
    await world.deliver(pay)
    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    with pytest.raises(Crashed):
        await world.deliver(event, event_id="invoice-event-1", crash_at="before-commit")
    assert (await world.payment(pay.payment_id))["status"] == "exporting"
    assert len(world.records("Payment")) == 1
    assert await world.results("qbsync.payment.exported.v1") == []

    await world.deliver(event, event_id="invoice-event-1")  # redelivered: it was never acked

    assert (await world.payment(pay.payment_id))["status"] == "exported"
    assert len(world.records("Invoice")) == 1
    [payment] = world.records("Payment")  # found by its marker, not created again
    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["sync_key"] == payment["Id"]
    assert money(world.records("Invoice")[0]["Balance"]) == Decimal(0)


async def test_a_payment_retried_by_a_reconnect_that_died_is_finished_by_its_redelivery(
    new_world: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The payment failed while the tenant was disconnected (its event was acknowledged then).
    # The reconnect re-drives it; the process dies after QBO created the payment, before the
    # payment's transaction commits. The reconnect's redelivery must finish it, once.
    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    world.tokens.connected = False
    pay = up.payment(invoice_id, "40.00")
    await world.deliver(pay)
    assert (await world.payment(pay.payment_id))["status"] == "failed"

    world.tokens.connected = True
    recovered = TenantConnectionRecovered(realm_id=world.realm, recovered_at=datetime.now(UTC))

    async def killed(*args: Any, **kwargs: Any) -> None:
        raise Crashed("process killed after QBO answered, before our commit")

    monkeypatch.setattr(payments.outcomes, "emit", killed)
    with pytest.raises(Crashed):
        await world.deliver(recovered, event_id="evt-recovered-1")
    monkeypatch.undo()
    assert (await world.payment(pay.payment_id))["status"] == "exporting"
    assert len(world.records("Payment")) == 1

    await world.deliver(recovered, event_id="evt-recovered-1")  # never acknowledged

    assert (await world.payment(pay.payment_id))["status"] == "exported"
    [payment] = world.records("Payment")  # found by its marker, not created again
    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["sync_key"] == payment["Id"]


async def test_redelivered_payment_is_exported_once(new_world: Callable[..., Any]) -> None:
    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    pay = up.payment(invoice_id, "30.00")
    await world.deliver(pay)
    await world.deliver(pay)  # a new event id, same payment
    assert len(world.records("Payment")) == 1
    assert len(await world.results("qbsync.payment.exported.v1")) == 1


async def test_vendor_payment_becomes_a_bill_payment(new_world: Callable[..., Any]) -> None:
    world: World = await new_world(settings=EXPORT_ON)
    vendor = world.vendor(f"Vendor {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    bill = up.invoice(kind="vendor", status="approved", partner_id="v-1")
    await world.deliver(bill)
    pay = up.payment(bill.invoice_id, "120.00", invoice_kind="vendor")
    await world.deliver(pay)

    [exported] = await world.results("qbsync.payment.exported.v1")
    [payment] = world.records("BillPayment")
    assert payment["Id"] == exported["data"]["sync_key"]
    assert payment["VendorRef"]["value"] == vendor
    assert payment["PayType"] == "Check"
    assert "qbsync-op:" in payment["PrivateNote"]
    assert money(world.records("Bill")[0]["Balance"]) == Decimal("180.00")


async def test_crash_after_payment_create_does_not_pay_twice(
    new_world: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from invoice_sync.adapters import repository

    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    pay = up.payment(invoice_id, "100.00")
    real = repository.save_payment
    calls = {"n": 0}

    async def crash_on_final_write(session: Any, values: dict[str, Any]) -> None:
        if values.get("status") == "exported" and calls["n"] == 0:
            calls["n"] += 1
            raise RuntimeError("killed after QBO created the payment, before our commit")
        await real(session, values)

    monkeypatch.setattr(repository, "save_payment", crash_on_final_write)
    with pytest.raises(RuntimeError):
        await world.deliver(pay, event_id="evt-pay-crash")
    assert (await world.payment(pay.payment_id))["status"] == "exporting"
    await world.deliver(pay, event_id="evt-pay-crash")

    assert len(world.records("Payment")) == 1
    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["sync_key"] == world.records("Payment")[0]["Id"]
    assert money(world.records("Invoice")[0]["Balance"]) == Decimal("200.00")


async def with_bill(new_world: Callable[..., Any]) -> tuple[World, str]:
    """A synced bill of 300.00 for vendor v-1, with payment export on."""
    world: World = await new_world(settings=EXPORT_ON)
    await world.deliver(up.partner_synced(world.vendor(f"V {world.tenant}"), "v-1", "vendor"))
    bill = up.invoice(kind="vendor", status="approved", partner_id="v-1")
    await world.deliver(bill)
    return world, bill.invoice_id


async def test_bill_overpayment_is_reported_upstream_and_sends_nothing(
    new_world: Callable[..., Any],
) -> None:
    world, bill_id = await with_bill(new_world)
    pay = up.payment(bill_id, "350.00", invoice_kind="vendor")
    await world.deliver(pay)

    [failed] = await world.results("qbsync.payment.export_failed.v1")
    assert failed["data"]["payment_id"] == pay.payment_id
    assert failed["data"]["reason_code"] == "overpayment"
    assert (
        failed["data"]["amount"],
        failed["data"]["open_balance"],
        failed["data"]["currency"],
    ) == ("350.00", "300.00", "USD")
    assert "350.00 USD is 50.00 more than the 300" in failed["data"]["message"]
    assert await world.results("qbsync.payment.exported.v1") == []
    assert world.records("BillPayment") == []
    assert money(world.records("Bill")[0]["Balance"]) == Decimal("300.00")
    row = await world.payment(pay.payment_id)
    assert row["status"] == "failed"
    assert row["message"] == failed["data"]["message"]

    # Corrected upstream: the next version of the same payment goes through.
    await world.deliver(
        up.payment(bill_id, "300.00", invoice_kind="vendor", payment_id=pay.payment_id, version=2)
    )
    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["version"] == 2
    assert money(world.records("Bill")[0]["Balance"]) == Decimal(0)


async def test_payment_on_a_paid_bill_is_reported_never_a_zero_bill_payment(
    new_world: Callable[..., Any],
) -> None:
    world, bill_id = await with_bill(new_world)
    await world.deliver(up.payment(bill_id, "300.00", invoice_kind="vendor"))
    assert len(world.records("BillPayment")) == 1

    late = up.payment(bill_id, "25.00", invoice_kind="vendor")
    await world.deliver(late)

    [failed] = await world.results("qbsync.payment.export_failed.v1")
    assert failed["data"]["payment_id"] == late.payment_id
    assert (failed["data"]["reason_code"], failed["data"]["amount"]) == ("overpayment", "25.00")
    assert failed["data"]["open_balance"] == "0.00"
    assert failed["data"]["message"].startswith(f"Bill {bill_id} owes nothing in QuickBooks")
    assert len(world.records("BillPayment")) == 1
    assert (await world.payment(late.payment_id))["status"] == "failed"


async def test_tenant_deposit_account_is_where_payments_go(new_world: Callable[..., Any]) -> None:
    world, invoice_id = await with_invoice(new_world, EXPORT_ON)
    checking = next(a for a in world.records("Account") if a["AccountType"] == "Bank")
    world.settings.set(
        world.tenant,
        TenantSettings(export_payments_by_default=True, deposit_account_id=checking["Id"]),
    )
    await world.deliver(up.payment(invoice_id, "100.00"))

    [payment] = world.records("Payment")
    assert payment["DepositToAccountRef"]["value"] == checking["Id"]
    undeposited = next(a for a in world.records("Account") if a["Name"] == "Undeposited Funds")
    assert checking["Id"] != undeposited["Id"]


async def test_payment_arriving_while_its_invoice_commits_is_not_left_waiting(
    new_world: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoice's transaction has collected the payments waiting for it and not yet committed
    when the payment comes in: the payment must not see the invoice as unsynced and wait for a
    sync that has already happened."""
    from invoice_sync.adapters import repository

    world: World = await new_world(settings=EXPORT_ON)
    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    event = up.invoice()
    pay = up.payment(event.invoice_id, "100.00")
    real = repository.payments_waiting_for
    racing: list[asyncio.Task[str]] = []

    async def payment_arrives_now(session: Any, tenant_id: str, document_id: str) -> Any:
        waiting = await real(session, tenant_id, document_id)
        if not racing:
            racing.append(asyncio.create_task(world.deliver(pay)))
            # Until the payment either finished or waits for a lock the invoice holds.
            watcher = asyncio.create_task(lock_waiter_appears(world))
            await asyncio.wait({racing[0], watcher}, return_when=asyncio.FIRST_COMPLETED)
            watcher.cancel()
        return waiting

    monkeypatch.setattr(repository, "payments_waiting_for", payment_arrives_now)
    await world.deliver(event)
    await racing[0]

    row = await world.payment(pay.payment_id)
    assert row["status"] == "exported"
    [payment] = world.records("Payment")
    assert payment["Id"] == row["sync_key"]
    assert money(world.records("Invoice")[0]["Balance"]) == Decimal("200.00")


async def lock_waiter_appears(world: World) -> None:
    """Returns once some transaction waits for an advisory lock."""
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    while True:
        async with world.sessions() as session:
            if int((await session.execute(query)).scalar_one()) > 0:
                return
        await asyncio.sleep(0.01)
