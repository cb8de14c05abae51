"""Invoices an operator marked paid in invoice-sync (document.marked_paid): their QBO payments are
not reported, those of other invoices still are, and what was reported before the mark stands."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from docs import synced

from conftest import World
from payment_poller.bootstrap import Assembled
from qbo_client import Payment
from qbsync_common.contract import events

pytestmark = pytest.mark.integration

RECEIVED = "qbsync.payment.received.v1"
CHANGED = "qbsync.payment.changed.v1"
REVERSED = "qbsync.payment.reversed.v1"


async def marked_paid(w: World, p: Assembled, document_id: str, sync_key: str | None) -> None:
    """Deliver document.marked_paid as invoice-sync's mark-paid action emits it."""
    await w.deliver(
        p,
        events.DocumentMarkedPaid(
            document_kind="invoice",
            document_id=document_id,
            sync_key=sync_key,
            marked_at=datetime.now(UTC),
            operation_id=f"op-mark-{document_id}",
        ),
    )


async def test_payment_on_a_marked_invoice_publishes_nothing_on_an_unmarked_one_it_does(
    world: World,
) -> None:
    p = await world.poller()
    marked = await world.books.invoice("100.00")
    plain = await world.books.invoice("80.00")
    marked_id = await synced(world, p, marked)
    plain_id = await synced(world, p, plain)
    await marked_paid(world, p, marked_id, marked.Id)

    await world.books.user_pays(invoice_id=marked.Id, amount="100.00")
    await world.books.user_pays(invoice_id=plain.Id, amount="30.00")
    await world.poll_now(p)

    [received] = await world.events(RECEIVED)
    assert (received["invoice_id"], Decimal(received["amount_applied"])) == (
        plain_id,
        Decimal("30.00"),
    )
    # Its balance is still followed (a later unmark or recovery would need it).
    [row] = await world.sql(
        "SELECT balance FROM {s}.documents WHERE tenant_id = :t AND document_id = :d",
        d=marked_id,
    )
    assert Decimal(row["balance"]) == Decimal("0")
    [run] = await world.runs()
    assert (run["outcome"], run["payments_seen"], run["events_published"]) == ("ok", 2, 1)


async def test_mark_before_the_invoice_is_synced_still_applies(world: World) -> None:
    """invoice-sync lets an operator mark an invoice still waiting for its partner: the mark comes
    without a key and before document.synced."""
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    document_id = "invoice-marked-early"
    await marked_paid(world, p, document_id, None)
    await marked_paid(world, p, document_id, None)  # a redelivery changes nothing
    await world.deliver(
        p,
        events.DocumentSynced(
            document_kind="invoice",
            document_id=document_id,
            version=1,
            sync_key=invoice.Id or "",
            sync_token=invoice.SyncToken or "0",
            doc_number=invoice.DocNumber,
            total=Decimal("100.00"),
            balance=Decimal("100.00"),
            currency="USD",
            adopted=False,
            operation_id="op-early",
        ),
    )

    await world.books.user_pays(invoice_id=invoice.Id, amount="40.00")
    await world.poll_now(p)

    assert await world.events(RECEIVED) == []
    [mark] = await world.sql("SELECT * FROM {s}.marked_paid WHERE tenant_id = :t")
    assert (mark["document_id"], mark["sync_key"], mark["operation_id"]) == (
        document_id,
        None,
        f"op-mark-{document_id}",
    )


async def test_a_payment_reported_before_the_mark_is_not_followed_after_it(world: World) -> None:
    """What was published before the mark stands (no retraction); its later edits and voids
    are not reported either, since upstream considers the invoice settled by the operator."""
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    document_id = await synced(world, p, invoice)
    pay = await world.books.payment([("Invoice", invoice.Id or "", "50.00")], total="50.00")
    await world.poll_now(p)
    [received] = await world.events(RECEIVED)
    assert received["invoice_id"] == document_id

    await marked_paid(world, p, document_id, invoice.Id)
    edited = await world.books.s.update(
        Payment.model_validate(
            {
                **pay.to_payload(),
                "TotalAmt": Decimal("70.00"),
                "Line": [
                    {
                        "Amount": Decimal("70.00"),
                        "LinkedTxn": [{"TxnId": invoice.Id, "TxnType": "Invoice"}],
                    }
                ],
            }
        ),
        request_id="edit-" + (pay.Id or ""),
    )
    await world.poll_now(p)
    await world.books.s.void(edited, request_id="void-" + (pay.Id or ""))
    await world.poll_now(p)

    assert len(await world.events(RECEIVED)) == 1
    assert await world.events(CHANGED) == []
    assert await world.events(REVERSED) == []
