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
    counts = {k: status[k] for k in ("state", "batched", "handed_over", "batch_calls")}
    assert counts == {"state": "done", "batched": 39, "handed_over": 1, "batch_calls": 2}
    assert status["takeovers"] == 0 and status["finished_at"] >= status["started_at"]
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


async def _initech_and_an_unrelated_partner(harness: Harness) -> str:
    """A QBO customer close to (not the same as) an unlinked upstream client, and one far off."""
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    made = await harness.qbo_api(
        "POST",
        "customer",
        json={"DisplayName": "Initech LLC", "PrimaryEmailAddr": {"Address": "ap@initech.example"}},
    )
    await harness.upsert("c-initech", "Initech L.L.C.", email="ap@initech.example")
    await harness.upsert("c-unrelated", "Completely Different Name")
    await harness.result("c-initech")
    await harness.result("c-unrelated")
    initech: str = made.json()["Customer"]["Id"]
    return initech


async def test_automatch_auto_applies_at_or_above_the_threshold_when_the_tenant_allows_it(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    initech = await _initech_and_an_unrelated_partner(harness)
    harness.tenant_settings.set(
        harness.tenant,
        TenantSettings(sync_clients=False, automatch_threshold=0.8, automatch_auto_apply=True),
    )
    base = f"/v1/tenants/{harness.tenant}"
    summary = (await api.post(f"{base}/automatch/client")).json()
    assert summary["auto_applied"] == 1 and summary["auto_apply"] is True
    applied = (
        await api.get(f"{base}/automatch/proposals", params={"state": "auto-applied"})
    ).json()
    assert [(p["partner_id"], p["qbo_id"]) for p in applied] == [("c-initech", initech)]
    linked = (await api.get(f"{base}/partners/client/c-initech")).json()
    assert linked["partner"]["sync_key"] == initech
    unrelated = (await api.get(f"{base}/partners/client/c-unrelated")).json()
    assert unrelated["partner"]["sync_key"] is None


async def test_automatch_leaves_every_proposal_for_review_when_the_tenant_does_not_allow_it(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    initech = await _initech_and_an_unrelated_partner(harness)
    # The same threshold the proposal clears; auto-apply is off (the default).
    harness.tenant_settings.set(
        harness.tenant, TenantSettings(sync_clients=False, automatch_threshold=0.8)
    )
    base = f"/v1/tenants/{harness.tenant}"
    summary = (await api.post(f"{base}/automatch/client")).json()
    assert summary["auto_applied"] == 0 and summary["auto_apply"] is False
    proposed = (await api.get(f"{base}/automatch/proposals", params={"state": "proposed"})).json()
    [proposal] = [p for p in proposed if p["partner_id"] == "c-initech"]
    assert proposal["qbo_id"] == initech and proposal["score"] >= 0.8
    assert (
        await api.get(f"{base}/automatch/proposals", params={"state": "auto-applied"})
    ).json() == []
    waiting = (await api.get(f"{base}/partners/client/c-initech")).json()
    assert waiting["partner"]["sync_key"] is None


async def test_status_filters_unlink_and_resync_all_or_by_status(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    await harness.upsert("c-fine", "Filter Fine")
    await harness.upsert("c-cur", "Filter Currency", currency="USD")
    await harness.upsert("c-unl", "Filter Unlinked")
    for pid in ("c-fine", "c-cur", "c-unl"):
        await harness.result(pid)
    await harness.upsert("c-cur", "Filter Currency", currency="EUR", version=2)
    [_, failed] = await harness.result("c-cur", count=2)
    assert failed["data"]["reason_code"] == "currency-change-refused"
    base = f"/v1/tenants/{harness.tenant}"
    [unl_first] = harness.results_for("c-unl")
    unlinked = await api.delete(f"{base}/partners/client/c-unl/link")
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["sync_key"] is None and unlinked.json()["status"] == "pending"

    async def ids(status: str) -> list[str]:
        rows = (await api.get(f"{base}/partners", params={"status": status})).json()
        return sorted(p["partner_id"] for p in rows)

    assert await ids("failed") == ["c-cur"]
    assert await ids("pending") == ["c-unl"]
    assert await ids("synced") == ["c-fine"]

    only_failed = await api.post(f"{base}/resync", params={"status": "failed"})
    assert only_failed.status_code == 202 and only_failed.json() == {"queued": 1}
    await harness.result("c-cur", count=3)
    assert len(harness.results_for("c-fine")) == 1  # not queued

    everything = await api.post(f"{base}/resync")
    assert everything.status_code == 202 and everything.json() == {"queued": 3}
    await harness.result("c-fine", count=2)
    await harness.result("c-cur", count=4)
    [_, relinked] = await harness.result("c-unl", count=2)
    # The unlinked partner found its record again by name.
    assert relinked["type"] == "qbsync.partner.synced.v1", str(relinked["data"])
    assert relinked["data"]["sync_key"] == unl_first["data"]["sync_key"]
    assert await ids("pending") == []


async def test_link_to_a_hand_made_record_then_resync_overwrites_it_and_409_if_taken(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    await harness.upsert("c-owner", "Already Linked Co")
    [owner] = await harness.result("c-owner")
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    await harness.upsert("c-new", "Link Target Ltd", email="ap@target.example")
    await harness.result("c-new")  # skipped: unlinked for now
    harness.tenant_settings.set(harness.tenant, TenantSettings())
    made = await harness.qbo_api(
        "POST",
        "customer",
        json={"DisplayName": "Link Target Ltd", "PrimaryEmailAddr": {"Address": "x@old.example"}},
    )
    target = made.json()["Customer"]["Id"]
    base = f"/v1/tenants/{harness.tenant}/partners/client/c-new"

    taken = await api.put(f"{base}/link", json={"qbo_id": owner["data"]["sync_key"]})
    assert taken.status_code == 409 and "c-owner" in taken.json()["detail"]

    linked = await api.put(f"{base}/link", json={"qbo_id": target})
    assert linked.status_code == 200, linked.text
    assert linked.json()["sync_key"] == target and linked.json()["qbo_name"] == "Link Target Ltd"
    [_, synced] = await harness.result("c-new", count=2)
    assert synced["type"] == "qbsync.partner.synced.v1", str(synced["data"])
    assert synced["data"]["sync_key"] == target
    [record] = await harness.qbo_named("Link Target Ltd")
    assert record["PrimaryEmailAddr"]["Address"] == "ap@target.example"  # upstream wins
    detail = (await api.get(base)).json()
    assert {"linked", "updated"} <= {h["action"] for h in detail["history"]}


async def test_unlinked_vendors_are_listed(harness: Harness, api: httpx.AsyncClient) -> None:
    await harness.upsert("v-linked", "Linked Supplier", kind="vendor")
    [linked] = await harness.result("v-linked")
    made = await harness.qbo_api("POST", "vendor", json={"DisplayName": "Hand Supplier"})
    hand = made.json()["Vendor"]
    listed = await api.get(f"/v1/tenants/{harness.tenant}/qbo/vendor/unlinked")
    assert listed.status_code == 200
    by_id = {r["qbo_id"]: r for r in listed.json()}
    assert by_id[hand["Id"]]["display_name"] == "Hand Supplier"
    assert linked["data"]["sync_key"] not in by_id
    customers = await api.get(f"/v1/tenants/{harness.tenant}/qbo/client/unlinked")
    assert hand["Id"] not in {r["qbo_id"] for r in customers.json()}


async def test_a_rejected_proposal_links_nothing_and_stays_rejected(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    await harness.qbo_api(
        "POST",
        "customer",
        json={"DisplayName": "Hooli Incorporated", "PrimaryEmailAddr": {"Address": "ap@hooli.xyz"}},
    )
    await harness.upsert("c-hooli", "Hooli Inc", email="ap@hooli.xyz")
    await harness.result("c-hooli")
    base = f"/v1/tenants/{harness.tenant}"
    await api.post(f"{base}/automatch/client")
    [proposal] = (await api.get(f"{base}/automatch/proposals", params={"state": "proposed"})).json()
    rejected = await api.post(f"{base}/automatch/proposals/{proposal['id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    detail = (await api.get(f"{base}/partners/client/c-hooli")).json()
    assert detail["partner"]["sync_key"] is None
    # Running automatch again does not put a rejected pair back into the queue.
    await api.post(f"{base}/automatch/client")
    again = (await api.get(f"{base}/automatch/proposals", params={"state": "proposed"})).json()
    assert again == []
    [still] = (await api.get(f"{base}/automatch/proposals", params={"state": "rejected"})).json()
    assert still["id"] == proposal["id"]
    missing = await api.post(f"{base}/automatch/proposals/999999999/reject")
    assert missing.status_code == 404


async def test_automatch_counts_email_domain_and_address_as_evidence(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    made = await harness.qbo_api(
        "POST",
        "customer",
        json={
            "DisplayName": "Umbrella Holdings",
            "PrimaryEmailAddr": {"Address": "ap@umbrella.example"},
            "BillAddr": {"Line1": "42 Raccoon Road", "PostalCode": "12345"},
        },
    )
    umbrella = made.json()["Customer"]["Id"]
    await harness.upsert(
        "c-umb",
        "Umbrella Holding Co",
        email="billing@umbrella.example",
        billing_address={"line1": "42 Raccoon Rd", "postal_code": "12345"},
    )
    await harness.result("c-umb")
    base = f"/v1/tenants/{harness.tenant}"
    await api.post(f"{base}/automatch/client")
    [proposal] = (await api.get(f"{base}/automatch/proposals")).json()
    assert proposal["partner_id"] == "c-umb" and proposal["qbo_id"] == umbrella
    evidence = proposal["evidence"]
    assert evidence["email_domain"] > 0 and evidence["address"] > 0
    assert "email" not in evidence
    assert proposal["score"] > evidence["name"] * 0.75  # the evidence raised the score


async def test_initial_sync_queues_every_partner_not_synced_yet(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    await harness.upsert("c-done", "Initial Done")
    await harness.result("c-done")
    harness.tenant_settings.set(harness.tenant, TenantSettings(sync_clients=False))
    await harness.upsert("c-i1", "Initial One")
    await harness.upsert("c-i2", "Initial Two")
    await harness.result("c-i1")
    await harness.result("c-i2")
    harness.tenant_settings.set(harness.tenant, TenantSettings())
    queued = await api.post(f"/v1/tenants/{harness.tenant}/initial-sync")
    assert queued.status_code == 202 and queued.json() == {"queued": 2}
    for pid, name in (("c-i1", "Initial One"), ("c-i2", "Initial Two")):
        [_, synced] = await harness.result(pid, count=2)
        assert synced["type"] == "qbsync.partner.synced.v1", str(synced["data"])
        assert len(await harness.qbo_named(name)) == 1
    assert len(harness.results_for("c-done")) == 1


async def test_openapi_documents_the_automatch_proposal_and_backfill_schemas(
    running: ServiceUnderTest,
) -> None:
    app = FastAPI()
    app.include_router(operator_router(running.service.actions, OperatorKeys([KEY])))
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    assert {"AutomatchSummary", "ProposalView", "BackfillStatus"} <= set(schemas)
    assert set(schemas["ProposalView"]["properties"]) >= {"score", "evidence", "state", "qbo_id"}

    def response_ref(path: str, method: str) -> str:
        content = doc["paths"][path][method]["responses"]
        ok = content.get("200") or content["202"]
        return str(ok["content"]["application/json"]["schema"])

    base = "/v1/tenants/{tenant_id}"
    assert "AutomatchSummary" in response_ref(f"{base}/automatch/{{kind}}", "post")
    assert "ProposalView" in response_ref(f"{base}/automatch/proposals", "get")
    decide = f"{base}/automatch/proposals/{{proposal_id}}/{{decision}}"
    assert "ProposalView" in response_ref(decide, "post")
    assert "BackfillStatus" in response_ref(f"{base}/backfill", "get")
    assert "BackfillStatus" in response_ref(f"{base}/backfill", "post")
