"""Operator API over HTTP (ASGI) against the real database and emulator: list, resync, clear,
delete in QBO, set a key by hand, mark paid, remove from the queue, unsync a payment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import upstream as up
from fastapi import FastAPI
from world import World

from invoice_sync.entrypoints.operator_api import operator_router
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.operator_auth import OperatorKeys

pytestmark = pytest.mark.integration

KEY = {"X-API-Key": "operator-key"}


@pytest.fixture
async def world(new_world: Callable[..., Any]) -> World:
    world: World = await new_world(settings=TenantSettings(export_payments_by_default=True))
    await world.deliver(up.partner_synced(world.customer(f"Acme {world.tenant}")))
    return world


@pytest.fixture
async def api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(operator_router(world.ctx, OperatorKeys(["operator-key"])))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://ops/v1/tenants/{world.tenant}"
    ) as client:
        yield client


async def test_listing_needs_a_key_and_filters(world: World, api: httpx.AsyncClient) -> None:
    await world.deliver(up.invoice())
    await world.deliver(up.invoice(pro_forma=True))
    assert (await api.get("/documents")).status_code == 401

    synced = (await api.get("/documents", params={"status": "synced"}, headers=KEY)).json()
    skipped = (await api.get("/documents", params={"reason": "pro-forma"}, headers=KEY)).json()
    assert [d["status"] for d in synced] == ["synced"]
    assert synced[0]["expected_total"] == "300.00"  # exact decimal string, never a float
    assert [d["reason_code"] for d in skipped] == ["pro-forma"]


async def test_a_later_change_of_a_synced_invoice_is_listed_as_skipped_already_synced(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice()
    await world.deliver(event)
    [created] = world.records("Invoice")
    await world.deliver(event.model_copy(update={"version": 2, "net_total": Decimal("999.00")}))

    listed = (await api.get("/documents", params={"reason": "already-synced"}, headers=KEY)).json()
    assert [(d["document_id"], d["status"]) for d in listed] == [(event.invoice_id, "synced")]
    assert listed[0]["sync_key"] == created["Id"]
    body = (await api.get(f"/documents/invoice/{event.invoice_id}", headers=KEY)).json()
    assert [(h["outcome"], h["reason_code"]) for h in body["history"]] == [
        ("created", None),
        ("skipped", "already-synced"),
    ]
    [still] = world.records("Invoice")
    assert (still["Id"], still["SyncToken"]) == (created["Id"], created["SyncToken"])


async def test_failed_document_is_resynced_after_the_fix(
    world: World, api: httpx.AsyncClient
) -> None:
    world.settings.set(world.tenant, TenantSettings(income_account_id="31337"))
    event = up.invoice()
    await world.deliver(event)
    assert (await world.document("invoice", event.invoice_id))["status"] == "failed"

    world.settings.set(world.tenant, TenantSettings())
    response = await api.post(f"/documents/invoice/{event.invoice_id}/resync", headers=KEY)

    assert response.status_code == 200
    assert response.json()["status"] == "synced"
    assert [h["outcome"] for h in response.json()["history"]][-2:] == ["operator:resync", "created"]
    assert len(world.records("Invoice")) == 1


async def test_delete_in_qbo_then_resync_creates_a_new_document(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice()
    await world.deliver(event)
    first = (await world.document("invoice", event.invoice_id))["sync_key"]
    refused = await api.post(f"/documents/invoice/{event.invoice_id}/resync", headers=KEY)
    assert refused.status_code == 409

    deleted = await api.post(f"/documents/invoice/{event.invoice_id}/delete-in-qbo", headers=KEY)
    assert deleted.json()["status"] == "cleared"
    assert deleted.json()["sync_key"] is None
    resynced = await api.post(f"/documents/invoice/{event.invoice_id}/resync", headers=KEY)

    second = resynced.json()["sync_key"]
    assert second not in (None, first)
    live = [r for r in world.records("Invoice") if r.get("status") != "Deleted" and "Line" in r]
    assert [r["Id"] for r in live] == [second]


async def test_set_key_by_hand_adopts_the_qbo_document(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice(partner_id="c-2")  # waits: c-2 was never synced
    await world.deliver(event)
    customer = world.customer(f"Other {world.tenant}")
    made = world.qbo(
        "POST",
        "invoice",
        json={
            "CustomerRef": {"value": customer},
            "Line": [
                {
                    "Amount": 300,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": world.item_id("Services")}},
                }
            ],
        },
    )["Invoice"]

    response = await api.put(
        f"/documents/invoice/{event.invoice_id}/key", json={"sync_key": made["Id"]}, headers=KEY
    )

    assert response.json()["status"] == "synced"
    assert response.json()["sync_key"] == made["Id"]
    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["adopted"] is True


async def test_mark_paid_stops_payment_export(world: World, api: httpx.AsyncClient) -> None:
    event = up.invoice()
    await world.deliver(event)
    marked = await api.post(f"/documents/invoice/{event.invoice_id}/mark-paid", headers=KEY)
    assert marked.json()["marked_paid"] is True

    pay = up.payment(event.invoice_id, "300.00")
    await world.deliver(pay)
    assert world.records("Payment") == []
    assert (await world.payment(pay.payment_id))["status"] == "not_exported"


async def test_mark_paid_tells_the_poller_once_through_the_outbox(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice()
    await world.deliver(event)
    key = (await world.document("invoice", event.invoice_id))["sync_key"]

    first = await api.post(f"/documents/invoice/{event.invoice_id}/mark-paid", headers=KEY)
    again = await api.post(f"/documents/invoice/{event.invoice_id}/mark-paid", headers=KEY)

    assert (first.status_code, again.status_code) == (200, 200)
    [marked] = await world.results("qbsync.document.marked_paid.v1")
    assert marked["tenantid"] == world.tenant
    data = marked["data"]
    assert (data["document_kind"], data["document_id"], data["sync_key"]) == (
        "invoice",
        event.invoice_id,
        key,
    )
    history = [h for h in again.json()["history"] if h["outcome"] == "operator:mark-paid"]
    assert [h["operation_id"] for h in history] == [data["operation_id"]]
    assert datetime.fromisoformat(data["marked_at"]).tzinfo is not None


async def test_mark_paid_of_an_invoice_not_in_qbo_yet_has_no_sync_key(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice(partner_id="c-8")  # waits: c-8 was never synced
    await world.deliver(event)

    await api.post(f"/documents/invoice/{event.invoice_id}/mark-paid", headers=KEY)

    [marked] = await world.results("qbsync.document.marked_paid.v1")
    assert (marked["data"]["document_id"], marked["data"]["sync_key"]) == (event.invoice_id, None)


async def test_mark_paid_of_an_unknown_invoice_is_404_and_tells_nobody(
    world: World, api: httpx.AsyncClient
) -> None:
    response = await api.post("/documents/invoice/inv-nope/mark-paid", headers=KEY)
    assert response.status_code == 404
    assert await world.results("qbsync.document.marked_paid.v1") == []


async def test_remove_from_queue_reports_skipped(world: World, api: httpx.AsyncClient) -> None:
    event = up.invoice(partner_id="c-3")
    await world.deliver(event)
    response = await api.post(f"/documents/invoice/{event.invoice_id}/remove", headers=KEY)

    assert response.json()["status"] == "skipped"
    [skipped] = await world.results("qbsync.document.skipped.v1")
    assert skipped["data"]["reason_code"] == "removed-by-operator"


async def test_unsync_payment_deletes_it_in_qbo(world: World, api: httpx.AsyncClient) -> None:
    event = up.invoice()
    await world.deliver(event)
    pay = up.payment(event.invoice_id, "100.00")
    await world.deliver(pay)
    [payment] = world.records("Payment")

    response = await api.post(f"/payments/{pay.payment_id}/unsync", headers=KEY)

    assert response.status_code == 200
    assert response.json()["status"] == "unsynced"
    gone = world.record("Payment", payment["Id"])
    assert gone["deleted"] is True


async def test_history_links_event_operation_requestid_intuit_tid_and_qbo_record(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice()
    event_id = await world.deliver(event)

    body = (await api.get(f"/documents/invoice/{event.invoice_id}", headers=KEY)).json()
    [entry] = body["history"]
    assert entry["outcome"] == "created"
    assert entry["event_id"] == event_id
    assert entry["operation_id"] == body["operation_id"]
    assert entry["request_id"] == body["request_id"]
    assert entry["request_id"]
    [qbo] = world.records("Invoice")
    assert (entry["sync_key"], entry["sync_token"]) == (qbo["Id"], qbo["SyncToken"])
    # The emulator stamps every answer with a fresh intuit_tid, as QBO does.
    assert entry["intuit_tid"]
    assert body["intuit_tid"] == entry["intuit_tid"]


async def test_refused_create_keeps_its_requestid_and_intuit_tid_in_history(
    world: World, api: httpx.AsyncClient
) -> None:
    other = world.customer(f"Other {world.tenant}")
    world.qbo(
        "POST",
        "invoice",
        json={
            "CustomerRef": {"value": other},
            "DocNumber": "TAKEN-1",
            "Line": [
                {
                    "Amount": 5,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": world.item_id("Services")}},
                }
            ],
        },
    )
    event = up.invoice(number="TAKEN-1")
    event_id = await world.deliver(event)

    body = (await api.get(f"/documents/invoice/{event.invoice_id}", headers=KEY)).json()
    assert body["status"] == "failed"
    [entry] = body["history"]
    assert entry["outcome"] == "failed"
    assert entry["event_id"] == event_id
    assert entry["reason_code"] == "qbo-validation"
    assert entry["request_id"] and entry["request_id"] == body["request_id"]
    assert entry["intuit_tid"]
    assert entry["sync_key"] is None


async def test_clear_key_forgets_the_qbo_document_without_touching_it(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice()
    await world.deliver(event)
    first = (await world.document("invoice", event.invoice_id))["sync_key"]

    cleared = await api.post(f"/documents/invoice/{event.invoice_id}/clear-key", headers=KEY)

    assert cleared.status_code == 200
    body = cleared.json()
    assert (body["status"], body["sync_key"]) == ("cleared", None)
    assert body["history"][-1]["outcome"] == "operator:clear-key"
    assert body["history"][-1]["sync_key"] == first
    [still] = world.records("Invoice")
    assert still["Id"] == first
    # The next sync finds the same number for the same partner in QBO and adopts it.
    resynced = (await api.post(f"/documents/invoice/{event.invoice_id}/resync", headers=KEY)).json()
    assert (resynced["status"], resynced["sync_key"], resynced["adopted"]) == (
        "synced",
        first,
        True,
    )
    assert len(world.records("Invoice")) == 1


async def test_clear_key_of_an_unknown_document_is_404(api: httpx.AsyncClient) -> None:
    response = await api.post("/documents/invoice/inv-nope/clear-key", headers=KEY)
    assert response.status_code == 404


async def test_payment_waiting_for_an_invoice_marked_paid_is_never_exported(
    world: World, api: httpx.AsyncClient
) -> None:
    event = up.invoice(partner_id="c-9")  # waits: c-9 is not synced yet
    await world.deliver(event)
    pay = up.payment(event.invoice_id, "300.00")
    await world.deliver(pay)
    assert (await world.payment(pay.payment_id))["status"] == "waiting_invoice"

    marked = await api.post(f"/documents/invoice/{event.invoice_id}/mark-paid", headers=KEY)
    assert marked.json()["marked_paid"] is True
    await world.deliver(up.partner_synced(world.customer(f"C9 {world.tenant}"), partner_id="c-9"))

    assert (await world.document("invoice", event.invoice_id))["status"] == "synced"
    row = await world.payment(pay.payment_id)
    assert (row["status"], row["message"]) == (
        "not_exported",
        "The invoice was marked paid by an operator.",
    )
    assert world.records("Payment") == []
    assert await world.results("qbsync.payment.exported.v1") == []
