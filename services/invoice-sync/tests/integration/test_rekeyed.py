"""A document the poller found again by number under a new QBO key (document.rekeyed.v1)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from world import World, money

from invoice_sync.adapters import repository as repo
from qbsync_common.contract.events import DocumentRekeyed
from qbsync_common.contract.tenant_settings import TenantSettings

pytestmark = pytest.mark.integration


def reenter(world: World, qbo_id: str) -> str:
    """A QuickBooks user deletes the invoice and types it in again: same number and customer."""
    record = world.record("Invoice", qbo_id)["record"]
    world.qbo(
        "POST",
        "invoice",
        params={"operation": "delete"},
        json={"Id": record["Id"], "SyncToken": record["SyncToken"]},
    )
    lines = [
        {k: v for k, v in line.items() if k in ("Amount", "DetailType", "SalesItemLineDetail")}
        for line in record["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    ]
    again = world.qbo(
        "POST",
        "invoice",
        json={
            "CustomerRef": record["CustomerRef"],
            "DocNumber": record["DocNumber"],
            "Line": lines,
        },
    )
    return str(again["Invoice"]["Id"])


async def test_rekeyed_document_stores_the_new_key_and_payments_use_it(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(settings=TenantSettings(export_payments_by_default=True))
    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    invoice = up.invoice()
    await world.deliver(invoice)
    old = (await world.document("invoice", invoice.invoice_id))["sync_key"]
    new = reenter(world, old)

    rekeyed = DocumentRekeyed(
        document_kind="invoice",
        document_id=invoice.invoice_id,
        old_sync_key=old,
        new_sync_key=new,
        found_by="number",
    )
    event_id = await world.deliver(rekeyed)
    # Published twice (e.g. a poll after a lost outbox acknowledgement): the key is already new.
    await world.deliver(rekeyed)
    # A stale rekey naming a key the row no longer holds changes nothing.
    await world.deliver(rekeyed.model_copy(update={"new_sync_key": "999999"}))

    row = await world.document("invoice", invoice.invoice_id)
    assert (row["status"], row["sync_key"]) == ("synced", new)
    async with world.sessions() as session:
        history = await repo.history(session, world.tenant, "invoice", invoice.invoice_id)
    [entry] = [h for h in history if h["outcome"] == "rekeyed"]
    assert (entry["sync_key"], entry["event_id"]) == (new, event_id)
    assert old in entry["message"]

    # An upstream payment recorded later goes to the invoice under its new key.
    pay = up.payment(invoice.invoice_id, "100.00")
    await world.deliver(pay)
    [exported] = await world.results("qbsync.payment.exported.v1")
    assert exported["data"]["payment_id"] == pay.payment_id
    [payment] = world.records("Payment")
    assert payment["Line"][0]["LinkedTxn"][0]["TxnId"] == new
    assert money(world.record("Invoice", new)["record"]["Balance"]) == Decimal("200.00")


async def test_rekey_of_an_unknown_document_is_ignored(new_world: Callable[..., Any]) -> None:
    world: World = await new_world(settings=TenantSettings())
    await world.deliver(
        DocumentRekeyed(
            document_kind="bill",
            document_id="vinv-unknown",
            old_sync_key="1",
            new_sync_key="2",
            found_by="number",
        )
    )
    assert await world.results() == []
