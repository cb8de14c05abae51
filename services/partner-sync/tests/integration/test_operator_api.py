"""Operator API over HTTP (ASGI): auth, listing with filters, history, resync, keys and links,
unlinked QBO records, automatch into a review queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from partner_harness import Harness, ServiceUnderTest, wait_until

from partner_sync.entrypoints.operator_api import operator_router
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.operator_auth import OperatorKeys

pytestmark = pytest.mark.integration

KEY = "operator-key-for-tests"


@pytest.fixture
async def api(running: ServiceUnderTest) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(operator_router(running.service.actions, OperatorKeys([KEY])))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://ops", headers={"X-API-Key": KEY}
    ) as client:
        yield client


async def test_listing_filters_history_and_auth(harness: Harness, api: httpx.AsyncClient) -> None:
    await harness.upsert("c-ok", "Listed Ok")
    await harness.upsert("c-inactive", "Listed Inactive", active=False)
    await harness.result("c-ok")
    await harness.result("c-inactive")
    base = f"/v1/tenants/{harness.tenant}"
    assert (await api.get(f"{base}/partners", headers={"X-API-Key": "wrong"})).status_code == 401
    synced = (await api.get(f"{base}/partners", params={"status": "synced"})).json()
    skipped = (await api.get(f"{base}/partners", params={"status": "skipped"})).json()
    assert [p["partner_id"] for p in synced] == ["c-ok"]
    assert [p["partner_id"] for p in skipped] == ["c-inactive"]
    detail = (await api.get(f"{base}/partners/client/c-ok")).json()
    [entry] = detail["history"]
    assert entry["action"] == "created" and entry["request_id"] and entry["intuit_tid"]
    assert detail["partner"]["sync_key"] == entry["qbo_id"]
    assert (await api.get(f"{base}/partners/client/nope")).status_code == 404


async def test_clear_key_set_key_verified_and_resync(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    await harness.upsert("c-link", "Link Me")
    [first] = await harness.result("c-link")
    key = first["data"]["sync_key"]
    base = f"/v1/tenants/{harness.tenant}/partners/client/c-link"
    cleared = (await api.delete(f"{base}/sync-key")).json()
    assert cleared["sync_key"] is None and cleared["status"] == "pending"
    assert (await api.put(f"{base}/link", json={"qbo_id": "987654"})).status_code == 404
    other = await harness.qbo_api("POST", "customer", json={"DisplayName": "Hand Made"})
    other_id = other.json()["Customer"]["Id"]
    linked = await api.put(f"{base}/sync-key", json={"qbo_id": other_id})
    assert linked.status_code == 200 and linked.json()["sync_key"] == other_id
    # Linking queues a resync: upstream's data would overwrite the hand-made record, but the
    # old (now unlinked) record still holds the name, so QBO refuses and we say why.
    results = await harness.result("c-link", count=2)
    assert results[1]["type"] == "qbsync.partner.sync_failed.v1"
    assert results[1]["data"]["reason_code"] == "name-conflict"
    row = await harness.partner_row("c-link")
    assert row is not None and row["sync_key"] == other_id
    # The old record is now unlinked and listed as such.
    unlinked = (await api.get(f"/v1/tenants/{harness.tenant}/qbo/client/unlinked")).json()
    assert key in {r["qbo_id"] for r in unlinked}
    assert other_id not in {r["qbo_id"] for r in unlinked}
    assert (await api.post(f"{base}/resync")).status_code == 202
    await harness.result("c-link", count=3)


async def test_automatch_proposes_and_applies_accepted_links(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    made = await harness.qbo_api(
        "POST",
        "customer",
        json={
            "DisplayName": "Globex Corporation",
            "PrimaryEmailAddr": {"Address": "ap@globex.example"},
        },
    )
    globex = made.json()["Customer"]["Id"]
    await harness.upsert("c-globex", "Globex Corp.", email="ap@globex.example")
    await harness.result("c-globex")  # skipped: clients are off, so it stays unlinked
    base = f"/v1/tenants/{harness.tenant}"
    summary = (await api.post(f"{base}/automatch/client")).json()
    assert summary["proposed"] >= 1 and summary["auto_applied"] == 0
    proposals = (await api.get(f"{base}/automatch/proposals", params={"state": "proposed"})).json()
    [proposal] = [p for p in proposals if p["partner_id"] == "c-globex"]
    assert proposal["qbo_id"] == globex and 0.6 <= proposal["score"] < 1.0
    assert proposal["evidence"]["email"] > 0
    accepted = await api.post(f"{base}/automatch/proposals/{proposal['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    detail = (await api.get(f"{base}/partners/client/c-globex")).json()
    assert detail["partner"]["sync_key"] == globex


async def test_backfill_creates_through_batches_and_hands_the_rest_to_the_normal_path(
    harness: Harness, api: httpx.AsyncClient, running: ServiceUnderTest
) -> None:
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    await harness.qbo_api("POST", "customer", json={"DisplayName": "Bulk Partner 7"})
    for i in range(40):
        await harness.upsert(f"bulk-{i}", f"Bulk Partner {i}")
    for i in range(40):
        await harness.result(f"bulk-{i}")  # skipped: clients were off when they arrived
    harness.tenant_settings.set(harness.tenant, TenantSettings())
    await running.service.directory.names(harness.tenant)
    before = running.transport.total_calls
    base = f"/v1/tenants/{harness.tenant}"
    assert (await api.post(f"{base}/backfill")).status_code == 202

    async def done() -> bool:
        state: str = (await api.get(f"{base}/backfill")).json()["state"]
        return state != "running"

    await wait_until(done, 30, "the backfill")
    status = (await api.get(f"{base}/backfill")).json()
    assert status == {"state": "done", "batched": 39, "handed_over": 1, "batch_calls": 2}
    for i in range(40):
        results = await harness.result(f"bulk-{i}", count=2)
        assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    # 39 creates in 2 batch calls; "Bulk Partner 7" exists in QBO and went the normal way,
    # where adopting it cost one read (it already matched, so no update).
    assert running.transport.total_calls - before == 3
    [adopted] = harness.results_for("bulk-7", "synced.v1")
    assert adopted["data"]["adopted"] is True
    customers = await harness.qbo_records("Customer")
    for i in range(40):
        assert len([c for c in customers if c["DisplayName"] == f"Bulk Partner {i}"]) == 1


async def test_automatch_auto_applies_at_or_above_the_tenants_threshold(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    made = await harness.qbo_api(
        "POST",
        "customer",
        json={"DisplayName": "Initech LLC", "PrimaryEmailAddr": {"Address": "ap@initech.example"}},
    )
    initech = made.json()["Customer"]["Id"]
    await harness.upsert("c-initech", "Initech L.L.C.", email="ap@initech.example")
    await harness.upsert("c-unrelated", "Completely Different Name")
    await harness.result("c-initech")
    await harness.result("c-unrelated")
    harness.tenant_settings.set(
        harness.tenant, TenantSettings(sync_clients=False, automatch_threshold=0.8)
    )
    base = f"/v1/tenants/{harness.tenant}"
    summary = (await api.post(f"{base}/automatch/client")).json()
    assert summary["auto_applied"] == 1
    applied = (
        await api.get(f"{base}/automatch/proposals", params={"state": "auto-applied"})
    ).json()
    assert [(p["partner_id"], p["qbo_id"]) for p in applied] == [("c-initech", initech)]
    unrelated = (await api.get(f"{base}/partners/client/c-unrelated")).json()
    assert unrelated["partner"]["sync_key"] is None
