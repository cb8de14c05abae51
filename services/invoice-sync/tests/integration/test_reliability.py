"""Exactly one QBO document whatever happens: redelivery, concurrent duplicates, a crash between
the QBO create and our commit, a dropped response, throttling and 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from world import World

from invoice_sync.service_layer import documents
from invoice_sync.service_layer.synced import record_synced
from qbo_client import QBOError

pytestmark = pytest.mark.integration


async def failure_of(step: Awaitable[object]) -> BaseException | None:
    try:
        await step
    except Exception as exc:
        return exc
    return None


async def ready(new_world: Callable[..., Any], **kwargs: Any) -> World:
    world: World = await new_world(**kwargs)
    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    return world


async def test_redelivery_and_later_versions_never_touch_the_document(
    new_world: Callable[..., Any],
) -> None:
    world = await ready(new_world)
    event = up.invoice()
    event_id = await world.deliver(event)
    await world.deliver(event, event_id=event_id)  # the same event again: absorbed by the inbox
    newer = event.model_copy(update={"version": 2, "net_total": Decimal("999.00")})
    await world.deliver(newer)

    assert len(world.records("Invoice")) == 1
    assert len(await world.results("qbsync.document.synced.v1")) == 1
    [skipped] = await world.results("qbsync.document.skipped.v1")
    assert skipped["data"]["reason_code"] == "already-synced"
    assert skipped["data"]["version"] == 2
    row = await world.document("invoice", event.invoice_id)
    assert row["status"] == "synced"
    assert row["expected_total"] == Decimal("300.00")


async def test_concurrent_duplicates_make_one_document(new_world: Callable[..., Any]) -> None:
    world = await ready(new_world)
    event = up.invoice()
    # Five deliveries of the same snapshot under different event ids, all at once.
    await asyncio.gather(*(world.deliver(event) for _ in range(5)))

    assert len(world.records("Invoice")) == 1
    assert len(await world.results("qbsync.document.synced.v1")) == 1
    skipped = await world.results("qbsync.document.skipped.v1")
    assert [s["data"]["reason_code"] for s in skipped] == ["already-synced"] * 4


async def test_concurrent_invoices_create_each_item_once(new_world: Callable[..., Any]) -> None:
    world = await ready(new_world)
    events = [
        up.invoice(lines=[up.line("Brand new service", "50")], net_total=Decimal(50))
        for _ in range(6)
    ]
    await asyncio.gather(*(world.deliver(e) for e in events))

    assert len(world.records("Invoice")) == 6
    assert [i["Name"] for i in world.records("Item")].count("Brand new service") == 1


async def test_concurrent_invoices_create_their_new_term_once(
    new_world: Callable[..., Any],
) -> None:
    world = await ready(new_world)
    terms = {"name": "Net 17", "due_days": 17}
    events = [up.invoice(payment_terms=terms) for _ in range(6)]
    await asyncio.gather(*(world.deliver(e) for e in events))

    [term] = [t for t in world.records("Term") if t["Name"] == "Net 17"]
    invoices = world.records("Invoice")
    assert len(invoices) == 6
    assert {i["SalesTermRef"]["value"] for i in invoices} == {term["Id"]}


async def test_crash_between_create_and_commit_leaves_one_document(
    new_world: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await ready(new_world)
    event = up.invoice()
    real = record_synced

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("process killed after QBO answered, before our commit")

    monkeypatch.setattr(documents, "record_synced", crash)
    with pytest.raises(RuntimeError):
        await world.deliver(event, event_id="evt-crash-1")
    assert len(world.records("Invoice")) == 1
    row = await world.document("invoice", event.invoice_id)
    assert row["status"] == "creating"  # the intent was committed before QBO was called
    assert await world.results() == []  # nothing was reported: the final transaction rolled back

    monkeypatch.setattr(documents, "record_synced", real)
    await world.deliver(event, event_id="evt-crash-1")  # the broker redelivers the same event

    assert len(world.records("Invoice")) == 1
    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["adopted"] is False  # found as ours by its PrivateNote marker
    assert synced["data"]["sync_key"] == world.records("Invoice")[0]["Id"]


async def test_dropped_response_is_resolved_by_replaying_the_requestid(
    new_world: Callable[..., Any],
) -> None:
    world = await ready(new_world, qbo_timeout=5.0)
    await world.deliver(up.invoice())  # items and terms exist now: the next write is the invoice
    event = up.invoice(number="DROP-1")
    world.faults(drop_after_commit_rate=1.0)
    with pytest.raises(QBOError) as raised:
        await world.deliver(event)
    assert raised.value.transient
    world.faults()
    assert len([i for i in world.records("Invoice") if i["DocNumber"] == "DROP-1"]) == 1

    await world.deliver(event)

    assert len([i for i in world.records("Invoice") if i["DocNumber"] == "DROP-1"]) == 1
    synced = await world.results("qbsync.document.synced.v1")
    assert [s["data"]["doc_number"] for s in synced] == [synced[0]["data"]["doc_number"], "DROP-1"]


async def test_5xx_and_throttling_lose_nothing(new_world: Callable[..., Any]) -> None:
    world = await ready(new_world)
    event = up.invoice()
    world.faults(error_rate=1.0, error_status=503)
    with pytest.raises(QBOError) as server_error:
        await world.deliver(event)
    assert server_error.value.transient
    world.faults()
    world.limits(per_minute=1)
    errors = [await failure_of(world.deliver(event)) for _ in range(3)]
    # The first call may still fit in the minute; then QBO answers 429.
    assert any(isinstance(e, QBOError) and e.transient for e in errors)
    assert world.records("Invoice") == []
    world.limits()

    await world.deliver(event)

    assert len(world.records("Invoice")) == 1
    assert len(await world.results("qbsync.document.synced.v1")) == 1


async def test_steady_state_costs_one_qbo_call_per_invoice(new_world: Callable[..., Any]) -> None:
    world = await ready(new_world)
    await world.deliver(up.invoice())  # warm-up: preflight, items
    before = world.stats()["total"]
    for _ in range(10):
        await world.deliver(up.invoice())
    calls = world.stats()["total"] - before
    assert len(world.records("Invoice")) == 11
    assert calls / 10 <= 1.2


@pytest.mark.parametrize("failure_meanwhile", [False, True], ids=["alone", "failure-meanwhile"])
async def test_crash_while_resuming_a_waiting_document_is_resumed_by_the_redelivery(
    new_world: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, failure_meanwhile: bool
) -> None:
    """partner.synced resumes a waiting invoice; the process dies after the create's intent
    committed ("creating") and before the final commit, which puts the waiting row back. The
    redelivered partner.synced must finish that document (found as ours in QBO), not skip it,
    even when a failure of the same partner (a later version's) is handled in between: that
    failure must not drop the waiting row the redelivery needs."""
    world = await ready(new_world)
    event = up.invoice(partner_id="c-5", partner=up.partner("c-5"))
    await world.deliver(event)
    assert (await world.document("invoice", event.invoice_id))["status"] == "waiting_partner"
    key = world.customer(f"C5 {world.tenant}")
    real = record_synced

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("process killed after QBO answered, before our commit")

    monkeypatch.setattr(documents, "record_synced", crash)
    with pytest.raises(RuntimeError):
        await world.deliver(up.partner_synced(key, partner_id="c-5"), event_id="evt-resume-1")
    assert (await world.document("invoice", event.invoice_id))["status"] == "creating"

    monkeypatch.setattr(documents, "record_synced", real)
    if failure_meanwhile:
        await world.deliver(
            up.partner_failed("c-5", "name-conflict", "A vendor has that name.", version=2)
        )
        assert await world.results("qbsync.document.sync_failed.v1") == []
    await world.deliver(up.partner_synced(key, partner_id="c-5"), event_id="evt-resume-1")

    assert (await world.document("invoice", event.invoice_id))["status"] == "synced"
    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["document_id"] == event.invoice_id
    assert len(world.records("Invoice")) == 1
