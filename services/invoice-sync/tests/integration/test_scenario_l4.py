"""RELIABILITY §8 L4 for invoice-sync: invoice versions and their payments arrive shuffled and
redelivered, one after the other or all at once; no payment reaches QBO before its invoice, each
invoice exists once, and what QBO holds is the last version of each invoice."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from pydantic import BaseModel
from world import World, money

from qbsync_common.contract.events import InvoiceStatusChanged
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.messaging.errors import is_transient

pytestmark = pytest.mark.integration


async def test_shuffled_chains_with_redeliveries(new_world: Callable[..., Any]) -> None:
    world: World = await new_world(settings=TenantSettings(export_payments_by_default=True))
    await world.deliver(up.partner_synced(world.customer(f"L4 {world.tenant}")))
    rng = random.Random(4)
    steps: list[tuple[str, BaseModel]] = []
    invoices = []
    for _ in range(8):
        first = up.invoice()
        second = first.model_copy(update={"version": 2})
        pay = up.payment(first.invoice_id, "100.00")
        invoices.append(first)
        chain: tuple[BaseModel, ...] = (first, second, pay)
        steps += [(f"{first.invoice_id}-{n}", event) for n, event in enumerate(chain)]
    steps += rng.sample(steps, 8)  # redeliveries of the same event ids
    rng.shuffle(steps)
    for event_id, event in steps:
        await world.deliver(event, event_id=event_id)

    numbers = Counter(r["DocNumber"] for r in world.records("Invoice"))
    assert sorted(numbers.values()) == [1] * 8
    by_invoice = {r["Id"]: r for r in world.records("Invoice")}
    payments = world.records("Payment")
    assert len(payments) == 8
    for payment in payments:
        # Every payment is linked to an invoice that existed when it was made.
        target = by_invoice[payment["Line"][0]["LinkedTxn"][0]["TxnId"]]
        assert target["MetaData"]["CreateTime"] <= payment["MetaData"]["CreateTime"]
        assert money(target["Balance"]) == Decimal("200.00")


async def deliver_until_done(world: World, event_id: str, event: BaseModel) -> None:
    """One consumer's view of a delivery: transient failures are redelivered, nothing else is."""
    for _ in range(10):
        try:
            await world.deliver(event, event_id=event_id)
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
    raise AssertionError(f"{event_id} never went through")


async def test_concurrent_per_key_events_leave_the_last_version_in_qbo(
    new_world: Callable[..., Any],
) -> None:
    """Per invoice, versions 1 and 2 are drafts and version 3 (the last) is sent, each with its
    own total, plus one payment; all of it, with redeliveries, is delivered at once. QBO must end
    with each invoice once, as version 3 says, and each payment once, linked to it."""
    world: World = await new_world(settings=TenantSettings(export_payments_by_default=True))
    await world.deliver(up.partner_synced(world.customer(f"L4c {world.tenant}")))
    await world.deliver(up.invoice())  # preflight, items and terms before the race
    rng = random.Random(44)
    steps: list[tuple[str, BaseModel]] = []
    last: dict[str, InvoiceStatusChanged] = {}
    for _ in range(8):
        first = up.invoice(status="draft", net_total=Decimal("100.00"), lines=[])
        versions = [
            first,
            first.model_copy(update={"version": 2, "net_total": Decimal("200.00")}),
            first.model_copy(
                update={"version": 3, "status": "sent", "net_total": Decimal("300.00")}
            ),
        ]
        last[str(first.number)] = versions[-1]
        pay = up.payment(first.invoice_id, "120.00")
        chain: list[BaseModel] = [*versions, pay]
        steps += [(f"{first.invoice_id}-{n}", event) for n, event in enumerate(chain)]
    steps += rng.sample(steps, 10)  # redeliveries of the same event ids
    rng.shuffle(steps)
    await asyncio.gather(*(deliver_until_done(world, eid, event) for eid, event in steps))

    invoices = [r for r in world.records("Invoice") if r["DocNumber"] in last]
    assert sorted(r["DocNumber"] for r in invoices) == sorted(last)
    for qbo in invoices:
        assert money(qbo["TotalAmt"]) == last[qbo["DocNumber"]].net_total
        assert money(qbo["Balance"]) == Decimal("180.00")
        row = await world.document("invoice", last[qbo["DocNumber"]].invoice_id)
        assert (row["status"], row["version"], row["sync_key"]) == ("synced", 3, qbo["Id"])
    payments = world.records("Payment")
    assert len(payments) == 8
    linked = Counter(p["Line"][0]["LinkedTxn"][0]["TxnId"] for p in payments)
    assert linked == Counter({r["Id"]: 1 for r in invoices})
