"""Backfills through QBO's batch endpoint: a tenant's reconnect, documents released by their
partner's sync and an operator's resync of many create ceil(N/30) batch calls, each document
exactly once with the single path's outcomes; a refused item fails alone; a crash or a dropped
answer during a batch ends with each document once after the redelivery."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import upstream as up
from fastapi import FastAPI
from world import World, money

from invoice_sync.entrypoints.operator_api import operator_router
from invoice_sync.service_layer import documents
from invoice_sync.service_layer.synced import record_synced
from qbo_client import QBOError
from qbsync_common.contract.events import TenantConnectionRecovered
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.operator_auth import OperatorKeys

pytestmark = pytest.mark.integration

KEY = {"X-API-Key": "operator-key"}


async def ready(new_world: Callable[..., Any], **kwargs: Any) -> tuple[World, str]:
    world: World = await new_world(**kwargs)
    key = world.customer(f"Acme {world.tenant}")
    await world.deliver(up.partner_synced(key))
    return world, key


def calls(world: World, endpoint: str, method: str = "POST") -> int:
    """QBO calls the emulator answered on one endpoint (any status)."""
    return sum(
        c["count"]
        for c in world.stats()["calls"]
        if c["endpoint"] == endpoint and c["method"] == method
    )


def backlog(count: int, **changes: Any) -> list[Any]:
    """Invoices with distinct totals, so a mix-up between batch items would show."""
    return [
        up.invoice(
            lines=[up.line("Translation", f"{100 + n}.25"), up.line("Proofreading", "0.50")],
            net_total=Decimal(f"{100 + n}.75"),
            **changes,
        )
        for n in range(count)
    ]


async def reconnect(world: World) -> None:
    world.tokens.connected = True
    await world.deliver(
        TenantConnectionRecovered(realm_id=world.realm, recovered_at=datetime.now(UTC)),
        event_id=f"evt-recovered-{world.tenant}",
    )


async def assert_each_synced_once(world: World, events: list[Any]) -> None:
    """One QBO invoice per document, with its total, and one document.synced naming it."""
    invoices = world.records("Invoice")
    by_number = {i["DocNumber"]: i for i in invoices}
    assert len(invoices) == len(by_number) == len(events)
    synced = {
        s["data"]["document_id"]: s["data"]
        for s in await world.results("qbsync.document.synced.v1")
    }
    assert len(await world.results("qbsync.document.synced.v1")) == len(events)
    for event in events:
        qbo = by_number[event.number]
        data = synced[event.invoice_id]
        assert money(qbo["TotalAmt"]) == event.net_total
        assert (data["sync_key"], money(data["total"])) == (qbo["Id"], event.net_total)
        assert data["adopted"] is False
        row = await world.document("invoice", event.invoice_id)
        assert (row["status"], row["sync_key"]) == ("synced", qbo["Id"])
        assert f"qbsync-op:{row['operation_id']}" in qbo["PrivateNote"]


async def test_backlog_after_reconnect_is_created_in_batches_of_thirty(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world)
    world.tokens.connected = False
    events = backlog(45)
    for event in events:
        await world.deliver(event)
    failed = await world.results("qbsync.document.sync_failed.v1")
    assert {f["data"]["reason_code"] for f in failed} == {"tenant-not-connected"}
    assert len(failed) == 45

    await reconnect(world)

    assert calls(world, "batch") == math.ceil(45 / 30)
    assert calls(world, "invoice") == 0  # no invoice went one by one
    await assert_each_synced_once(world, events)
    rows = [await world.document("invoice", e.invoice_id) for e in events]
    # Each batch has its own requestid, the one recorded in the documents' rows and history.
    assert len({r["request_id"] for r in rows}) == 2
    assert all(r["intuit_tid"] for r in rows)
    entries = await _history(world, events[0].invoice_id)
    assert [e["outcome"] for e in entries][-1] == "created"
    assert entries[-1]["request_id"] == rows[0]["request_id"]
    assert entries[-1]["intuit_tid"] == rows[0]["intuit_tid"]


async def _history(world: World, invoice_id: str) -> list[dict[str, Any]]:
    from invoice_sync.adapters import repository as repo

    async with world.sessions() as session:
        return [dict(e) for e in await repo.history(session, world.tenant, "invoice", invoice_id)]


async def test_refused_item_fails_alone_and_duplicates_are_adopted_or_refused_per_item(
    new_world: Callable[..., Any],
) -> None:
    world, key = await ready(new_world)
    await world.deliver(up.invoice(number="WARM-1"))  # the item used below exists now
    other = world.customer(f"Other {world.tenant}")
    line = [
        {
            "Amount": "5",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": world.item_id("Translation")}},
        }
    ]
    # Made in QuickBooks by hand: one of our partner's (adopted), one of another partner's.
    world.qbo(
        "POST", "invoice", json={"CustomerRef": {"value": key}, "DocNumber": "OURS-1", "Line": line}
    )
    world.qbo(
        "POST",
        "invoice",
        json={"CustomerRef": {"value": other}, "DocNumber": "THEIRS-1", "Line": line},
    )
    world.tokens.connected = False
    fine = backlog(3)
    too_long = up.invoice(number="N" * 30)  # QBO takes at most 21 characters
    adopted = up.invoice(number="OURS-1")
    taken = up.invoice(number="THEIRS-1")
    for event in [*fine, too_long, adopted, taken]:
        await world.deliver(event)
    singles = calls(world, "invoice")

    await reconnect(world)

    # One create batch, one batch of look-ups for the two 6140 answers.
    assert calls(world, "batch") == 2
    assert calls(world, "invoice") == singles
    failed = {
        f["data"]["document_id"]: f["data"]
        for f in await world.results("qbsync.document.sync_failed.v1")
        if f["data"]["reason_code"] != "tenant-not-connected"
    }
    assert set(failed) == {too_long.invoice_id, taken.invoice_id}
    assert failed[too_long.invoice_id]["reason_code"] == "qbo-validation"
    assert "21 characters" in failed[too_long.invoice_id]["message"]
    assert (
        "THEIRS-1 is already used in QuickBooks by another partner"
        in (failed[taken.invoice_id]["message"])
    )
    refused = await world.document("invoice", too_long.invoice_id)
    assert (refused["status"], refused["sync_key"]) == ("failed", None)
    assert refused["generation"] == 1  # a later attempt gets a fresh requestid
    synced = {
        s["data"]["document_id"]: s["data"]
        for s in await world.results("qbsync.document.synced.v1")
    }
    released = {d for d, data in synced.items() if data["doc_number"] != "WARM-1"}
    assert released == {e.invoice_id for e in fine} | {adopted.invoice_id}
    assert synced[adopted.invoice_id]["adopted"] is True
    numbers = [i["DocNumber"] for i in world.records("Invoice")]
    assert sorted(numbers) == sorted([*(e.number for e in fine), "OURS-1", "THEIRS-1", "WARM-1"])


async def test_bills_are_looked_up_then_created_in_batches(new_world: Callable[..., Any]) -> None:
    world: World = await new_world()
    vendor = world.vendor(f"Vendor {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    world.tokens.connected = False
    bills = [
        up.invoice(kind="vendor", status="approved", partner_id="v-1", net_total=Decimal(n + 10))
        for n in range(4)
    ]
    bills = [
        b.model_copy(update={"lines": [up.line("Translation", str(b.net_total))]}) for b in bills
    ]
    for bill in bills:
        await world.deliver(bill)

    await reconnect(world)

    assert calls(world, "batch") == 2  # the look-ups (bills always look first), the creates
    assert calls(world, "bill") == 0
    qbo = {b["DocNumber"]: b for b in world.records("Bill")}
    assert {n: money(b["TotalAmt"]) for n, b in qbo.items()} == {
        b.number: b.net_total for b in bills
    }
    synced = await world.results("qbsync.document.synced.v1")
    assert sorted(s["data"]["document_id"] for s in synced) == sorted(b.invoice_id for b in bills)
    assert {s["data"]["document_kind"] for s in synced} == {"bill"}


async def test_partner_sync_releases_its_waiting_documents_in_one_batch(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world)
    await world.deliver(up.invoice())  # warm-up: preflight, items
    events = backlog(12, partner_id="c-5", partner=up.partner("c-5"))
    for event in events:
        await world.deliver(event)
    statuses = [(await world.document("invoice", e.invoice_id))["status"] for e in events]
    assert set(statuses) == {"waiting_partner"}
    key = world.customer(f"C5 {world.tenant}")
    before_batches, before_singles = calls(world, "batch"), calls(world, "invoice")

    await world.deliver(up.partner_synced(key, partner_id="c-5"))

    assert calls(world, "batch") - before_batches == 1
    assert calls(world, "invoice") == before_singles
    released = [i for i in world.records("Invoice") if i["CustomerRef"]["value"] == key]
    assert sorted(i["DocNumber"] for i in released) == sorted(e.number for e in events)
    synced = await world.results("qbsync.document.synced.v1")
    assert len(synced) == 13


async def test_stale_item_id_in_a_batch_is_looked_up_again_per_document(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world)
    await world.deliver(up.invoice())  # caches the id of the item Translation
    events = backlog(3, partner_id="c-5", partner=up.partner("c-5"))
    for event in events:
        await world.deliver(event)
    item = next(i for i in world.records("Item") if i["Name"] == "Translation")
    world.qbo(
        "POST",
        "item",
        json={"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Active": False},
    )
    batches = calls(world, "batch")

    await world.deliver(up.partner_synced(world.customer(f"C5 {world.tenant}"), partner_id="c-5"))

    # QBO refused the cached id in each item; each document then looked the item up alone and
    # found it inactive: a clear failure, nothing created, no retry storm.
    assert calls(world, "batch") - batches == 1
    failed = await world.results("qbsync.document.sync_failed.v1")
    assert sorted(f["data"]["document_id"] for f in failed) == sorted(e.invoice_id for e in events)
    assert {f["data"]["reason_code"] for f in failed} == {"company-not-ready"}
    assert all("'Translation' is inactive" in f["data"]["message"] for f in failed)
    assert len(world.records("Invoice")) == 1


async def test_dropped_batch_answer_ends_with_each_document_once_after_redelivery(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world, qbo_timeout=5.0)
    await world.deliver(up.invoice())  # warm-up: the release below only calls QBO for the batch
    events = backlog(35, partner_id="c-5", partner=up.partner("c-5"))
    for event in events:
        await world.deliver(event)
    key = world.customer(f"C5 {world.tenant}")
    world.faults(drop_after_commit_rate=1.0)
    with pytest.raises(QBOError) as raised:
        await world.deliver(up.partner_synced(key, partner_id="c-5"), event_id="evt-c5")
    assert raised.value.transient
    world.faults()
    # The first batch reached QBO (its answer was lost); nothing was reported yet.
    assert len(world.records("Invoice")) == 1 + 30
    assert len(await world.results("qbsync.document.synced.v1")) == 1
    statuses = [(await world.document("invoice", e.invoice_id))["status"] for e in events]
    assert statuses.count("creating") == 30

    await world.deliver(up.partner_synced(key, partner_id="c-5"), event_id="evt-c5")

    released = [i for i in world.records("Invoice") if i["CustomerRef"]["value"] == key]
    assert sorted(i["DocNumber"] for i in released) == sorted(e.number for e in events)
    synced = await world.results("qbsync.document.synced.v1")
    assert len(synced) == 1 + 35
    assert all(not s["data"]["adopted"] for s in synced)  # found as ours by the marker


async def test_crash_after_a_batch_answered_leaves_each_document_once_after_redelivery(
    new_world: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _ = await ready(new_world)
    world.tokens.connected = False
    events = backlog(40)
    for event in events:
        await world.deliver(event)
    recorded = 0

    async def crash_midway(*args: Any, **kwargs: Any) -> None:
        nonlocal recorded
        recorded += 1
        if recorded == 35:  # in the second batch, after QBO created its documents
            raise RuntimeError("process killed after QBO answered, before our commit")
        await record_synced(*args, **kwargs)

    monkeypatch.setattr(documents, "record_synced", crash_midway)
    with pytest.raises(RuntimeError):
        await reconnect(world)
    assert len(world.records("Invoice")) == 40
    assert len(await world.results("qbsync.document.synced.v1")) == 30  # first batch committed
    monkeypatch.setattr(documents, "record_synced", record_synced)
    creates_before = calls(world, "batch")

    await reconnect(world)  # the broker redelivers the same event

    await assert_each_synced_once(world, events)
    # The ten uncertain documents: one batch of look-ups found them all, no create was sent.
    assert calls(world, "batch") - creates_before == 1


@pytest.fixture
async def api_world(
    new_world: Callable[..., Any],
) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    world, _ = await ready(new_world)
    app = FastAPI()
    app.include_router(operator_router(world.ctx, OperatorKeys(["operator-key"])))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://ops/v1/tenants/{world.tenant}"
    ) as client:
        yield world, client


async def test_operator_resync_of_many_documents_uses_batches(
    api_world: tuple[World, httpx.AsyncClient],
) -> None:
    world, api = api_world
    done = up.invoice()
    await world.deliver(done)
    world.settings.set(world.tenant, TenantSettings(income_account_id="31337"))
    events = backlog(31)
    for event in events:
        await world.deliver(event)
    assert {(await world.document("invoice", e.invoice_id))["status"] for e in events} == {"failed"}
    world.settings.set(world.tenant, TenantSettings())
    before_batches, before_singles = calls(world, "batch"), calls(world, "invoice")
    wanted = [
        {"kind": "invoice", "document_id": d}
        for d in [*(e.invoice_id for e in events), done.invoice_id, "inv-unknown"]
    ]

    response = await api.post("/documents/resync", json={"documents": wanted}, headers=KEY)

    assert response.status_code == 200
    results = response.json()
    assert [r["document_id"] for r in results] == [w["document_id"] for w in wanted]
    assert [r["result"] for r in results] == ["resynced"] * 31 + ["refused", "not-found"]
    assert {r["status"] for r in results[:31]} == {"synced"}
    assert all(isinstance(r["expected_total"], str) for r in results[:31])  # exact decimals
    # 31 documents: a batch of 30, and the last one alone (a batch would not save a call).
    assert calls(world, "batch") - before_batches == 1
    assert calls(world, "invoice") - before_singles == 1
    await assert_each_synced_once(world, [done, *events])
    entries = await _history(world, events[0].invoice_id)
    assert [e["outcome"] for e in entries][-2:] == ["operator:resync", "created"]


async def test_operator_resync_of_many_refuses_bad_input_with_a_clear_error(
    api_world: tuple[World, httpx.AsyncClient],
) -> None:
    _, api = api_world
    empty = await api.post("/documents/resync", json={"documents": []}, headers=KEY)
    wrong_kind = await api.post(
        "/documents/resync",
        json={"documents": [{"kind": "receipt", "document_id": "x"}]},
        headers=KEY,
    )
    assert empty.status_code == wrong_kind.status_code == 422
    assert "documents" in empty.text
    assert "kind" in wrong_kind.text
