"""RELIABILITY §8 F8 against invoice-sync: QBO answers 500s, HTML 503s, commits then drops the
response, and throttles; redelivered until done, every invoice exists exactly once in QBO and only
transient errors were ever raised (nothing permanent would have reached the parking lot)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from world import World

from qbo_client import QBOError

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
