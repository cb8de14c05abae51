"""RELIABILITY §8 L4 for invoice-sync: invoice versions and their payments arrive shuffled and
redelivered; no payment reaches QBO before its invoice, and each invoice exists once."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from pydantic import BaseModel
from world import World, money

from qbsync_common.contract.tenant_settings import TenantSettings

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
